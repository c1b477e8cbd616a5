//! The `authorization` kind of the vector format (spec §0), plus Canopy extensions:
//! `org.id` (organization id, enables derived org keys), `org.principal_path` /
//! `org.resource_path` (explicit paths, `null` = outside the organization) and `options`
//! (`detail`, `derive_keys`, `caller_context_wins`, `rcp_skip_without_resource`,
//! `scp_root_exempt_actions`, `rcp_supported_services`, `scp_exempt_services`).

use super::{
    combine, evaluate_with, AuthzRequest, Outcome, CompiledPolicy, ContextValue, EvalOptions, Layer, LevelPolicies,
    OrgView, PathNode, Principal, PrincipalKind, RequestContext, TargetType,
};
use crate::json::Json;
use crate::types::PolicyType;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

fn err(error: &str, reason: impl Into<String>) -> Value {
    json!({"error": error, "reason": reason.into()})
}

fn s<'a>(v: Option<&'a Value>, k: &str) -> Option<&'a str> {
    v.and_then(|x| x.get(k)).and_then(Value::as_str)
}

fn path(v: &Value) -> Result<Vec<PathNode>, Value> {
    let items = v
        .as_array()
        .ok_or_else(|| err("InvalidVector", "a path must be an array of nodes"))?;
    items
        .iter()
        .map(|n| {
            let id = n.get("id").and_then(Value::as_str).unwrap_or("");
            let t = n
                .get("type")
                .and_then(Value::as_str)
                .and_then(TargetType::parse)
                .ok_or_else(|| err("InvalidVector", format!("path node {id}: bad type")))?;
            Ok(PathNode::new(id, t))
        })
        .collect()
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluate one `authorization` vector. Canopy extension: `"layer": "COMBINED"` evaluates both
/// layers over the same organization and combines them (§3.11) with the optional
/// `request.iam_decision`; the answer is `{decision, deciding_layer?, blocked_by, scp, rcp}`.
pub(crate) fn eval_authorization(case: &Value) -> Value {
    let layer = case.get("layer").and_then(Value::as_str);
    if layer.is_some_and(|l| l.eq_ignore_ascii_case("COMBINED")) {
        let iam = match s(case.get("request"), "iam_decision") {
            None => None,
            Some("Allow") => Some(Outcome::Allow),
            Some("ImplicitDeny") => Some(Outcome::ImplicitDeny),
            Some("ExplicitDeny") => Some(Outcome::ExplicitDeny),
            Some(other) => return err("InvalidVector", format!("unknown iam_decision \"{other}\"")),
        };
        let (scp, rcp) = match (eval_layer(case, Layer::Scp), eval_layer(case, Layer::Rcp)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let c = combine(&scp, &rcp, iam);
        let mut out = json!({
            "decision": c.decision.as_str(),
            "blocked_by": c.blocked_by.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            "scp": scp.to_json(),
            "rcp": rcp.to_json(),
        });
        if let Some(l) = c.deciding_layer {
            out["deciding_layer"] = json!(l.as_str());
        }
        return out;
    }
    let Some(layer) = layer.and_then(Layer::parse) else {
        return err("InvalidVector", "layer must be SCP, RCP or COMBINED");
    };
    match eval_layer(case, layer) {
        Ok(d) => d.to_json(),
        Err(e) => e,
    }
}

fn eval_layer(case: &Value, layer: Layer) -> Result<super::Decision, Value> {
    let org = case.get("org");
    let nodes = match org.and_then(|o| o.get("path")) {
        Some(p) => path(p)?,
        None => Vec::new(),
    };
    let req = case.get("request");
    let pr = req.and_then(|r| r.get("principal"));
    let kind = match s(pr, "type") {
        None => PrincipalKind::AssumedRole,
        Some(t) => match PrincipalKind::parse(t) {
            Some(k) => k,
            None => return Err(err("InvalidVector", format!("unknown principal type \"{t}\""))),
        },
    };
    let principal = Principal {
        arn: s(pr, "arn").unwrap_or("").to_string(),
        account: s(pr, "account").map(str::to_string),
        kind,
    };
    let mut context = RequestContext::new();
    if let Some(c) = req
        .and_then(|r| r.get("context"))
        .and_then(Value::as_object)
    {
        for (k, v) in c {
            let cv = match v {
                Value::Array(a) => ContextValue::Multi(a.iter().map(scalar).collect()),
                other => ContextValue::Single(scalar(other)),
            };
            context.insert(k.as_str(), cv);
        }
    }
    let request = AuthzRequest {
        principal,
        action: s(req, "action").unwrap_or("").to_string(),
        resource: s(req, "resource").unwrap_or("*").to_string(),
        resource_account: s(req, "resource_account").map(str::to_string),
        context,
    };
    let account_node = nodes
        .last()
        .filter(|n| n.target_type == TargetType::Account)
        .map(|n| n.id.clone());
    let same = |a: Option<&str>| a.is_some() && a == account_node.as_deref();
    let explicit = |k: &str| -> Option<Result<Option<Vec<PathNode>>, Value>> {
        let v = org?.get(k)?;
        Some(if v.is_null() {
            Ok(None)
        } else {
            path(v).map(Some)
        })
    };
    let principal_path = match explicit("principal_path") {
        Some(Ok(p)) => p,
        Some(Err(e)) => return Err(e),
        None => same(request.principal.account()).then(|| nodes.clone()),
    };
    let resource_path = match explicit("resource_path") {
        Some(Ok(p)) => p,
        Some(Err(e)) => return Err(e),
        None => same(request.resource_account.as_deref()).then(|| nodes.clone()),
    };
    let view = OrgView {
        org_id: s(org, "id").map(str::to_string),
        management_account: s(org, "management_account").unwrap_or("").to_string(),
        enabled_policy_types: org
            .and_then(|o| o.get("enabled_policy_types"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().and_then(PolicyType::from_wire))
            .collect(),
        principal_path,
        resource_path,
    };
    // Compile the policies attached along the path (each once).
    let policies = case.get("policies").and_then(Value::as_object);
    let attachments = case.get("attachments").and_then(Value::as_object);
    let mut compiled: HashMap<String, Arc<CompiledPolicy>> = HashMap::new();
    let mut levels = Vec::with_capacity(nodes.len());
    for n in &nodes {
        let mut ps = Vec::new();
        for pid in attachments
            .and_then(|a| a.get(&n.id))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let Some(p) = policies.and_then(|p| p.get(pid)) else {
                return Err(err(
                    "InvalidVector",
                    format!("attachment of unknown policy {pid}"),
                ));
            };
            if s(Some(p), "type").is_some_and(|t| t != layer.policy_type().as_str()) {
                continue;
            }
            if let Some(c) = compiled.get(pid) {
                ps.push(c.clone());
                continue;
            }
            let content = p.get("content").unwrap_or(&Value::Null);
            let result = match content {
                Value::String(text) => CompiledPolicy::compile(pid, text),
                other => CompiledPolicy::from_json(pid, &Json::from_value(other)),
            };
            match result {
                Ok(c) => {
                    let c = Arc::new(c);
                    compiled.insert(pid.to_string(), c.clone());
                    ps.push(c);
                }
                Err(e) => {
                    return Err(json!({
                        "error": e.exception_name(),
                        "message": format!("policy {pid}: {e}"),
                    }))
                }
            }
        }
        levels.push(LevelPolicies {
            target_id: n.id.clone(),
            target_type: n.target_type,
            policies: ps,
        });
    }
    let o = case.get("options");
    let flag = |k: &str, d: bool| {
        o.and_then(|x| x.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(d)
    };
    let opts = EvalOptions {
        derive_keys: flag("derive_keys", true),
        caller_context_wins: flag("caller_context_wins", true),
        detail: flag("detail", true),
        explain: flag("explain", true),
        rcp_skip_without_resource: flag("rcp_skip_without_resource", true),
        rcp_supported_services: strings(o.and_then(|x| x.get("rcp_supported_services"))),
        rcp_exempt_actions: strings(o.and_then(|x| x.get("rcp_exempt_actions"))),
        scp_root_exempt_actions: strings(o.and_then(|x| x.get("scp_root_exempt_actions")))
            .unwrap_or_default(),
        scp_exempt_services: strings(o.and_then(|x| x.get("scp_exempt_services"))),
    };
    Ok(evaluate_with(layer, &view, &levels, &request, &opts))
}

/// Compare per spec §0: decision, reason, and `deciding` / `allow_path` when expected.
pub(crate) fn compare_authorization(exp: &Value, actual: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["decision", "reason", "deciding_layer", "blocked_by"] {
        if matches!(k, "deciding_layer" | "blocked_by") && exp.get(k).is_none() {
            continue;
        }
        if exp.get(k) != actual.get(k) {
            out.push(format!(
                "{k}: expected {}, got {}",
                exp.get(k).unwrap_or(&Value::Null),
                actual.get(k).unwrap_or(&Value::Null)
            ));
        }
    }
    let entry_eq = |e: &Value, a: &Value| -> bool {
        let keys = ["target_id", "policy_id", "statement_index"];
        keys.iter().all(|k| e.get(*k) == a.get(*k))
            && e.as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| a.get(k) == Some(v))
    };
    if let Some(d) = exp.get("deciding") {
        let a = actual.get("deciding").unwrap_or(&Value::Null);
        if !entry_eq(d, a) {
            out.push(format!("deciding: expected {d}, got {a}"));
        }
    }
    if let Some(p) = exp.get("allow_path") {
        let a = actual.get("allow_path").unwrap_or(&Value::Null);
        let ok = match (p.as_array(), a.as_array()) {
            (Some(x), Some(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(e, a)| entry_eq(e, a))
            }
            _ => false,
        };
        if !ok {
            out.push(format!("allow_path: expected {p}, got {a}"));
        }
    }
    out
}
