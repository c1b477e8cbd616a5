//! Runner for one case of the `policy-vectors.json` format (spec §0).

use crate::merge::{effective_policy, EffectiveResult, Level};
use crate::types::{Limits, PolicyType, SizeUnit, ValidationOptions};
use crate::validate;
use serde_json::{json, Map, Value};

fn err(error: &str, reason: impl Into<String>) -> Value {
    json!({"error": error, "reason": reason.into()})
}

/// Evaluate one vector. Kinds: `validation` → `{"valid": true}` or
/// `{"error", "reason"?, "message", "path"?}`; `effective_policy` →
/// `{"effective_policy", "ignored_child_operations"?}`; `effective_policy_validation` →
/// `{"validation_errors": [...], "account_listed_by_ListAccountsWithInvalidEffectivePolicy"}`;
/// `authorization` → `{"decision", "reason", "deciding"?, "allow_path"?, "explanation"}`.
/// Never panics.
pub fn eval_case(case: &Value) -> Value {
    match case.get("kind").and_then(Value::as_str) {
        Some("validation") => eval_validation(case),
        Some("effective_policy") => eval_effective(case, false),
        Some("effective_policy_validation") => eval_effective(case, true),
        Some("authorization") => crate::authz::vectors::eval_authorization(case),
        Some(other) => err("InvalidVector", format!("unknown kind \"{other}\"")),
        None => err("InvalidVector", "the case has no \"kind\""),
    }
}

fn policy_type(case: &Value) -> Result<PolicyType, Value> {
    let s = case
        .get("policy_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    PolicyType::from_wire(s).ok_or_else(|| {
        err(
            "InvalidInputException",
            format!("unknown policy type \"{s}\""),
        )
    })
}

fn content_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn options(case: &Value, t: PolicyType) -> ValidationOptions {
    let mut o = ValidationOptions::default();
    let opt = case.get("options");
    let flag = |k: &str| {
        opt.and_then(|x| x.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || case.get(k).and_then(Value::as_bool).unwrap_or(false)
    };
    o.legacy_scp_grammar = flag("legacy_scp_grammar");
    o.lenient_version = flag("lenient_version");
    o.aws_managed = flag("aws_managed");
    if opt.and_then(|x| x.get("size_unit")).and_then(Value::as_str) == Some("bytes") {
        o.size_unit = SizeUnit::Bytes;
    }
    if let Some(n) = opt.and_then(|x| x.get("max_size")).and_then(Value::as_u64) {
        let l = o.limits.get(t);
        o.limits.set(
            t,
            Limits {
                max_size: n as usize,
                ..l
            },
        );
    }
    o
}

/// A syntactically valid document of `t`, padded with whitespace to `n` characters when
/// possible (used for `content_size_characters` vectors).
fn sized_document(t: PolicyType, n: usize) -> String {
    let base = match t {
        PolicyType::ServiceControlPolicy => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#.to_string()
        }
        PolicyType::ResourceControlPolicy => {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteBucket","Resource":"*"}]}"#.to_string()
        }
        _ => format!("{{\"{}\":{{}}}}", t.root_key().unwrap_or("x")),
    };
    let len = base.chars().count();
    if n <= len {
        return base;
    }
    let mut s = String::with_capacity(n);
    s.push_str(&base[..base.len() - 1]);
    s.extend(std::iter::repeat_n(' ', n - len));
    s.push('}');
    s
}

fn eval_validation(case: &Value) -> Value {
    let t = match policy_type(case) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let content = if let Some(s) = case.get("content_string").and_then(Value::as_str) {
        s.to_string()
    } else if let Some(c) = case.get("content") {
        content_string(c)
    } else if let Some(n) = case.get("content_size_characters").and_then(Value::as_u64) {
        sized_document(t, n.min(10_000_000) as usize)
    } else {
        return err(
            "InvalidVector",
            "a validation case needs content or content_size_characters",
        );
    };
    match validate(t, &content, &options(case, t)) {
        Ok(()) => json!({"valid": true}),
        Err(e) => {
            let mut m = Map::new();
            m.insert("error".into(), json!(e.exception_name()));
            if let Some(r) = e.reason() {
                m.insert("reason".into(), json!(r));
            }
            m.insert("message".into(), json!(e.to_string()));
            if let Some(p) = e.path() {
                m.insert("path".into(), json!(p));
            }
            Value::Object(m)
        }
    }
}

fn eval_effective(case: &Value, validation: bool) -> Value {
    let t = match policy_type(case) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if t.is_authorization() {
        return err(
            "InvalidInputException",
            format!("{t} has no effective policy"),
        );
    }
    let org = case.get("org");
    if let Some(enabled) = org
        .and_then(|o| o.get("enabled_policy_types"))
        .and_then(Value::as_array)
    {
        if !enabled.iter().any(|e| e.as_str() == Some(t.as_str())) {
            return err(
                "EffectivePolicyNotFoundException",
                format!("{t} is not enabled in the root"),
            );
        }
    }
    let policies = case.get("policies").and_then(Value::as_object);
    let attachments = case.get("attachments").and_then(Value::as_object);
    let mut levels = Vec::new();
    for node in org
        .and_then(|o| o.get("path"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = node.get("id").and_then(Value::as_str) else {
            continue;
        };
        let mut ps = Vec::new();
        for pid in attachments
            .and_then(|a| a.get(id))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(pid) = pid.as_str() else { continue };
            let Some(p) = policies.and_then(|p| p.get(pid)) else {
                continue;
            };
            if p.get("type")
                .and_then(Value::as_str)
                .is_some_and(|pt| pt != t.as_str())
            {
                continue;
            }
            let Some(c) = p.get("content") else { continue };
            ps.push((pid.to_string(), content_string(c)));
        }
        levels.push(Level {
            target_id: id.to_string(),
            policies: ps,
        });
    }
    let eff = match effective_policy(t, &levels) {
        EffectiveResult::Found(e) => e,
        EffectiveResult::NotFound => {
            return err(
                "EffectivePolicyNotFoundException",
                "no policy of the type applies to the account",
            )
        }
        EffectiveResult::UnsupportedPolicyType => {
            return err(
                "InvalidInputException",
                format!("{t} has no effective policy"),
            )
        }
    };
    if validation {
        let errors: Vec<Value> = eff
            .validation_errors
            .iter()
            .map(|e| {
                json!({
                    "ErrorCode": e.error_code,
                    "ErrorMessage": e.error_message,
                    "PathToError": e.path_to_error,
                    "ContributingPolicies": e.contributing_policies,
                })
            })
            .collect();
        return json!({
            "validation_errors": errors,
            "account_listed_by_ListAccountsWithInvalidEffectivePolicy": eff.is_invalid(),
        });
    }
    let mut out = Map::new();
    out.insert("effective_policy".into(), eff.document.clone());
    if !eff.ignored_child_operations.is_empty() {
        let ig: Vec<Value> = eff
            .ignored_child_operations
            .iter()
            .map(|i| {
                json!({
                    "policy_id": i.policy_id,
                    "target_id": i.target_id,
                    "path": i.path,
                    "operator": i.operator,
                    "allowed": i.allowed,
                })
            })
            .collect();
        out.insert("ignored_child_operations".into(), Value::Array(ig));
    }
    Value::Object(out)
}

/// Deep equality with case-insensitive object keys, ordered arrays, absent keys absent.
fn eq_ci(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return false;
            }
            x.iter().all(|(k, v)| {
                y.iter()
                    .find(|(k2, _)| k2.to_lowercase() == k.to_lowercase())
                    .is_some_and(|(_, v2)| eq_ci(v, v2))
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| eq_ci(p, q))
        }
        _ => a == b,
    }
}

/// Compare `actual` (from [`eval_case`]) with the case's `expected` using the rules of §0.
/// Returns the list of mismatches (empty = pass).
pub fn compare_case(case: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(exp) = case.get("expected") else {
        return vec!["the case has no expected".into()];
    };
    let kind = case.get("kind").and_then(Value::as_str).unwrap_or("");
    let field = |v: &Value, k: &str| v.get(k).cloned();
    // A case may expect an error of any kind (not found, invalid input...).
    if let Some(e) = exp.get("error") {
        if actual.get("error") != Some(e) {
            out.push(format!("error: expected {e}, got {}", actual));
        }
        if let Some(r) = exp.get("reason") {
            if actual.get("reason") != Some(r) {
                out.push(format!(
                    "reason: expected {r}, got {:?}",
                    field(actual, "reason")
                ));
            }
        }
        if let Some(p) = exp.get("path") {
            if actual.get("path") != Some(p) {
                out.push(format!(
                    "path: expected {p}, got {:?}",
                    field(actual, "path")
                ));
            }
        }
        if let Some(m) = exp.get("message_contains").and_then(Value::as_str) {
            let msg = actual.get("message").and_then(Value::as_str).unwrap_or("");
            if !msg.contains(m) {
                out.push(format!("message: expected to contain {m:?}, got {msg:?}"));
            }
        }
        return out;
    }
    if actual.get("error").is_some() {
        return vec![format!("unexpected error {actual}")];
    }
    match kind {
        "authorization" => out.extend(crate::authz::vectors::compare_authorization(exp, actual)),
        "validation" => {
            if exp.get("valid") != Some(&Value::Bool(true))
                || actual.get("valid") != Some(&Value::Bool(true))
            {
                out.push(format!("expected {exp}, got {actual}"));
            }
        }
        "effective_policy" => {
            let ep = exp.get("effective_policy").unwrap_or(&Value::Null);
            let ap = actual.get("effective_policy").unwrap_or(&Value::Null);
            if !eq_ci(ep, ap) {
                out.push(format!("effective_policy: expected {ep}, got {ap}"));
            }
            let ei = exp
                .get("ignored_child_operations")
                .cloned()
                .unwrap_or(json!([]));
            let ai = actual
                .get("ignored_child_operations")
                .cloned()
                .unwrap_or(json!([]));
            if !eq_ci(&ei, &ai) {
                out.push(format!("ignored_child_operations: expected {ei}, got {ai}"));
            }
        }
        "effective_policy_validation" => {
            let k = "account_listed_by_ListAccountsWithInvalidEffectivePolicy";
            if let Some(l) = exp.get(k) {
                if actual.get(k) != Some(l) {
                    out.push(format!("{k}: expected {l}, got {:?}", actual.get(k)));
                }
            }
            let ee = exp
                .get("validation_errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ae = actual
                .get("validation_errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if ee.len() != ae.len() {
                out.push(format!(
                    "validation_errors: expected {} errors, got {}: {:?}",
                    ee.len(),
                    ae.len(),
                    ae
                ));
            }
            for (e, a) in ee.iter().zip(&ae) {
                for key in ["ErrorCode", "ContributingPolicies"] {
                    if e.get(key).is_some() && e.get(key) != a.get(key) {
                        out.push(format!(
                            "{key}: expected {:?}, got {:?}",
                            e.get(key),
                            a.get(key)
                        ));
                    }
                }
                if let Some(h) = e.get("PathToError_hint").or_else(|| e.get("PathToError")) {
                    if a.get("PathToError") != Some(h) {
                        out.push(format!(
                            "PathToError: expected {h}, got {:?}",
                            a.get("PathToError")
                        ));
                    }
                }
            }
        }
        _ => out.push(format!("kind {kind:?} is not compared here")),
    }
    out
}
