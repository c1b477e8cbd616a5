//! SCP and RCP document grammar (spec §3.1–3.3).

use crate::error::PolicyError;
use crate::json::Json;
use crate::types::{PolicyType, ValidationOptions};
use std::net::IpAddr;

type R = Result<(), PolicyError>;

fn bad(path: impl Into<String>, problem: impl Into<String>) -> R {
    Err(PolicyError::malformed(path, problem))
}

struct Ctx<'a> {
    rcp: bool,
    legacy: bool,
    /// An IAM identity policy (a session policy), not an SCP: IAM's Version rules and wording.
    identity: bool,
    opts: &'a ValidationOptions,
}

pub(crate) fn validate(t: PolicyType, doc: &Json, opts: &ValidationOptions) -> R {
    let cx = Ctx {
        rcp: t == PolicyType::ResourceControlPolicy,
        legacy: t == PolicyType::ServiceControlPolicy && opts.legacy_scp_grammar,
        identity: false,
        opts,
    };
    validate_with(&cx, doc)
}

/// An IAM identity policy such as STS's session policy: the SCP grammar (which since September
/// 2025 is IAM's), except that `Version` may be absent (IAM then reads the document as
/// 2008-10-17) or either of IAM's two versions.
pub(crate) fn validate_identity(doc: &Json) -> R {
    let opts = ValidationOptions::default();
    let cx = Ctx { rcp: false, legacy: false, identity: true, opts: &opts };
    validate_with(&cx, doc)
}

fn validate_with(cx: &Ctx<'_>, doc: &Json) -> R {
    let opts = cx.opts;
    let Some(top) = doc.as_object() else {
        return bad(
            "",
            format!(
                "the policy must be a JSON object, found {}",
                doc.type_name()
            ),
        );
    };
    let mut version = None;
    let mut statement = None;
    for (k, v) in top {
        match k.as_str() {
            "Version" => version = Some(v),
            "Id" => {
                if v.as_str().is_none() {
                    return bad("Id", format!("must be a string, found {}", v.type_name()));
                }
            }
            "Statement" => statement = Some(v),
            other => {
                return bad(
                    other,
                    "unknown policy element (expected Version, Id, Statement)",
                )
            }
        }
    }
    match version {
        None if opts.lenient_version || cx.identity => {}
        Some(Json::String(s)) if cx.identity && s == "2008-10-17" => {}
        None => {
            return bad(
                "Version",
                "required element is missing (must be \"2012-10-17\")",
            )
        }
        Some(Json::String(s)) if s == "2012-10-17" => {}
        Some(Json::String(s)) if s == "2008-10-17" => {
            return bad(
                "Version",
                "\"2008-10-17\" is not supported; use \"2012-10-17\"",
            )
        }
        Some(v) => {
            return bad(
                "Version",
                format!("must be \"2012-10-17\", found {}", show(v)),
            )
        }
    }
    match statement {
        None => bad("Statement", "required element is missing"),
        Some(Json::Object(_)) => {
            statement_check(cx, "Statement", statement.unwrap_or(&Json::Null))
        }
        Some(Json::Array(items)) => {
            if items.is_empty() {
                return bad("Statement", "must contain at least one statement");
            }
            for (i, s) in items.iter().enumerate() {
                statement_check(cx, &format!("Statement[{i}]"), s)?;
            }
            Ok(())
        }
        Some(v) => bad(
            "Statement",
            format!(
                "must be a statement object or an array of them, found {}",
                v.type_name()
            ),
        ),
    }
}

fn show(v: &Json) -> String {
    match v {
        Json::String(s) => format!("\"{}\"", truncate(s)),
        other => other.type_name().to_string(),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

fn statement_check(cx: &Ctx, p: &str, s: &Json) -> R {
    let Some(obj) = s.as_object() else {
        return bad(
            p,
            format!("a statement must be an object, found {}", s.type_name()),
        );
    };
    let get = |k: &str| obj.iter().find(|(kk, _)| kk == k).map(|(_, v)| v);
    for (k, _) in obj {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return bad(format!("{p}.{k}"), "unknown statement element");
        }
    }
    if let Some(sid) = get("Sid") {
        if sid.as_str().is_none() {
            return bad(
                format!("{p}.Sid"),
                format!("must be a string, found {}", sid.type_name()),
            );
        }
    }
    let deny = match get("Effect") {
        None => return bad(format!("{p}.Effect"), "required element is missing"),
        Some(Json::String(e)) if e == "Deny" => true,
        Some(Json::String(e)) if e == "Allow" => false,
        Some(_) => return bad(format!("{p}.Effect"), "must be \"Allow\" or \"Deny\""),
    };
    // Principal / NotPrincipal.
    if cx.rcp {
        if get("NotPrincipal").is_some() {
            return bad(
                format!("{p}.NotPrincipal"),
                "RCPs do not support NotPrincipal",
            );
        }
        match get("Principal") {
            None => {
                return bad(
                    format!("{p}.Principal"),
                    "RCP statements require Principal \"*\"",
                )
            }
            Some(Json::String(s)) if s == "*" => {}
            Some(_) => {
                return bad(
                    format!("{p}.Principal"),
                    "must be exactly \"*\" in an RCP; restrict principals with conditions",
                )
            }
        }
        if !deny && !cx.opts.aws_managed {
            return bad(
                format!("{p}.Effect"),
                "customer-managed RCPs must use \"Deny\"",
            );
        }
    } else {
        for k in ["Principal", "NotPrincipal"] {
            if get(k).is_some() {
                let kind = if cx.identity { "identity policies" } else { "SCPs" };
                return bad(format!("{p}.{k}"), format!("{kind} do not support {k}"));
            }
        }
    }
    // Action / NotAction.
    let (akey, actions) = match (get("Action"), get("NotAction")) {
        (Some(_), Some(_)) => {
            return bad(
                format!("{p}.NotAction"),
                "a statement cannot have both Action and NotAction",
            )
        }
        (None, None) => {
            return bad(
                format!("{p}.Action"),
                "a statement needs Action or NotAction",
            )
        }
        (Some(a), None) => ("Action", a),
        (None, Some(a)) => ("NotAction", a),
    };
    if akey == "NotAction" {
        if cx.rcp {
            return bad(format!("{p}.NotAction"), "RCPs do not support NotAction");
        }
        if cx.legacy && !deny {
            return bad(
                format!("{p}.NotAction"),
                "NotAction is allowed only in Deny statements (legacy SCP grammar)",
            );
        }
    }
    for (ep, a) in string_list(&format!("{p}.{akey}"), actions)? {
        action_check(cx, &ep, a)?;
    }
    // Resource / NotResource.
    let (rkey, resources) = match (get("Resource"), get("NotResource")) {
        (Some(_), Some(_)) => {
            return bad(
                format!("{p}.NotResource"),
                "a statement cannot have both Resource and NotResource",
            )
        }
        (None, None) => {
            return bad(
                format!("{p}.Resource"),
                "a statement needs Resource or NotResource",
            )
        }
        (Some(r), None) => ("Resource", r),
        (None, Some(r)) => ("NotResource", r),
    };
    if cx.legacy && rkey == "NotResource" {
        return bad(
            format!("{p}.NotResource"),
            "NotResource is not supported (legacy SCP grammar)",
        );
    }
    for (ep, r) in string_list(&format!("{p}.{rkey}"), resources)? {
        resource_check(&ep, r)?;
        if cx.legacy && !deny && r != "*" {
            return bad(
                ep,
                "Allow statements may only use Resource \"*\" (legacy SCP grammar)",
            );
        }
    }
    if let Some(c) = get("Condition") {
        if cx.legacy && !deny {
            return bad(
                format!("{p}.Condition"),
                "Condition is allowed only in Deny statements (legacy SCP grammar)",
            );
        }
        condition_check(&format!("{p}.Condition"), c)?;
    }
    Ok(())
}

/// A string or a non-empty array of strings; returns (path, value) pairs.
fn string_list<'a>(p: &str, v: &'a Json) -> Result<Vec<(String, &'a str)>, PolicyError> {
    match v {
        Json::String(s) => Ok(vec![(p.to_string(), s.as_str())]),
        Json::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::malformed(p, "must not be an empty array"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, it)| match it {
                    Json::String(s) => Ok((format!("{p}[{i}]"), s.as_str())),
                    other => Err(PolicyError::malformed(
                        format!("{p}[{i}]"),
                        format!("must be a string, found {}", other.type_name()),
                    )),
                })
                .collect()
        }
        other => Err(PolicyError::malformed(
            p,
            format!(
                "must be a string or an array of strings, found {}",
                other.type_name()
            ),
        )),
    }
}

fn action_check(cx: &Ctx, p: &str, a: &str) -> R {
    if a == "*" {
        if cx.rcp && !cx.opts.aws_managed {
            return bad(
                p,
                "RCP actions need a service prefix (\"s3:*\"); bare \"*\" is not allowed",
            );
        }
        return Ok(());
    }
    let Some((prefix, name)) = a.split_once(':') else {
        return bad(
            p,
            format!("\"{}\" is not of the form service:action", truncate(a)),
        );
    };
    let prefix_ok = !prefix.is_empty()
        && prefix.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || (!cx.legacy && (c == '*' || c == '?'))
        });
    if !prefix_ok {
        return bad(
            p,
            format!("\"{}\" has an invalid service prefix", truncate(a)),
        );
    }
    // A wildcard in the service part ("*:*", "s*:*") names every service, as bare "*" does.
    if cx.rcp && !cx.opts.aws_managed && prefix.contains(['*', '?']) {
        return bad(
            p,
            format!("\"{}\": RCP actions need a service prefix without wildcards (\"s3:*\")", truncate(a)),
        );
    }
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '_' | '-'));
    if !name_ok {
        return bad(p, format!("\"{}\" has an invalid action name", truncate(a)));
    }
    if cx.legacy {
        let body = &name[..name.len() - 1];
        if body.contains(['*', '?']) {
            return bad(
                p,
                format!(
                    "\"{}\": wildcards are allowed only at the end of an action name (legacy SCP grammar)",
                    truncate(a)
                ),
            );
        }
    }
    Ok(())
}

fn variables_ok(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        match rest[i + 2..].find('}') {
            Some(j) if j > 0 => rest = &rest[i + 2 + j + 1..],
            _ => return false,
        }
    }
    true
}

fn resource_check(p: &str, r: &str) -> R {
    if r == "*" {
        return Ok(());
    }
    if !variables_ok(r) {
        return bad(
            p,
            format!("\"{}\" has an unterminated policy variable", truncate(r)),
        );
    }
    if !r.starts_with("arn:") {
        return bad(p, format!("\"{}\" is not \"*\" or an ARN", truncate(r)));
    }
    let colons = r.matches(':').count();
    if colons < 5 && !r.ends_with('*') {
        return bad(
            p,
            format!(
                "\"{}\" is not a valid ARN (needs arn:partition:service:region:account:resource)",
                truncate(r)
            ),
        );
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Fam {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

fn operator_family(base: &str) -> Option<Fam> {
    const OPS: &[(&str, Fam)] = &[
        ("StringEquals", Fam::String),
        ("StringNotEquals", Fam::String),
        ("StringEqualsIgnoreCase", Fam::String),
        ("StringNotEqualsIgnoreCase", Fam::String),
        ("StringLike", Fam::String),
        ("StringNotLike", Fam::String),
        ("NumericEquals", Fam::Numeric),
        ("NumericNotEquals", Fam::Numeric),
        ("NumericLessThan", Fam::Numeric),
        ("NumericLessThanEquals", Fam::Numeric),
        ("NumericGreaterThan", Fam::Numeric),
        ("NumericGreaterThanEquals", Fam::Numeric),
        ("DateEquals", Fam::Date),
        ("DateNotEquals", Fam::Date),
        ("DateLessThan", Fam::Date),
        ("DateLessThanEquals", Fam::Date),
        ("DateGreaterThan", Fam::Date),
        ("DateGreaterThanEquals", Fam::Date),
        ("Bool", Fam::Bool),
        ("BinaryEquals", Fam::Binary),
        ("IpAddress", Fam::Ip),
        ("NotIpAddress", Fam::Ip),
        ("ArnEquals", Fam::Arn),
        ("ArnLike", Fam::Arn),
        ("ArnNotEquals", Fam::Arn),
        ("ArnNotLike", Fam::Arn),
        ("Null", Fam::Null),
    ];
    OPS.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(base))
        .map(|(_, f)| *f)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
    {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    if s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    {
        Some(&s[..s.len() - suffix.len()])
    } else {
        None
    }
}

fn condition_check(p: &str, c: &Json) -> R {
    let Some(ops) = c.as_object() else {
        return bad(p, format!("must be an object, found {}", c.type_name()));
    };
    if ops.is_empty() {
        return bad(p, "must not be empty");
    }
    for (op, block) in ops {
        let op_path = format!("{p}.{op}");
        let mut base = op.as_str();
        if let Some(rest) =
            strip_prefix_ci(base, "ForAnyValue:").or_else(|| strip_prefix_ci(base, "ForAllValues:"))
        {
            base = rest;
        }
        let mut if_exists = false;
        if let Some(rest) = strip_suffix_ci(base, "IfExists") {
            if operator_family(rest).is_some() {
                base = rest;
                if_exists = true;
            }
        }
        let Some(fam) = operator_family(base) else {
            return bad(op_path, "unknown condition operator");
        };
        if fam == Fam::Null && if_exists {
            return bad(op_path, "Null cannot be combined with IfExists");
        }
        let Some(keys) = block.as_object() else {
            return bad(
                op_path,
                format!(
                    "must be an object of condition keys, found {}",
                    block.type_name()
                ),
            );
        };
        if keys.is_empty() {
            return bad(op_path, "must name at least one condition key");
        }
        for (key, vals) in keys {
            let kp = format!("{op_path}.{key}");
            if key.trim().is_empty() {
                return bad(kp, "condition key must not be empty");
            }
            let values: Vec<(String, &Json)> = match vals {
                Json::Array(items) => {
                    if items.is_empty() {
                        return bad(kp, "must not be an empty array");
                    }
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (format!("{kp}[{i}]"), v))
                        .collect()
                }
                other => vec![(kp.clone(), other)],
            };
            for (vp, v) in values {
                let text = match v {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    Json::Bool(b) => b.to_string(),
                    other => {
                        return bad(
                            vp,
                            format!(
                                "condition values must be strings, found {}",
                                other.type_name()
                            ),
                        )
                    }
                };
                condition_value_check(&vp, fam, &text)?;
            }
        }
    }
    Ok(())
}

fn condition_value_check(p: &str, fam: Fam, v: &str) -> R {
    let has_var = v.contains("${");
    if has_var && !variables_ok(v) {
        return bad(
            p,
            format!("\"{}\" has an unterminated policy variable", truncate(v)),
        );
    }
    let ok = match fam {
        Fam::String => true,
        // What a Resource may name ("*" or an ARN of six fields, or shorter with a trailing
        // "*"), or a policy variable alone: anything else never matches an ARN.
        Fam::Arn => v.starts_with("${") || resource_check(p, v).is_ok(),
        Fam::Numeric => is_number(v),
        Fam::Date => is_date(v),
        Fam::Bool => has_var || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        Fam::Null => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        Fam::Binary => {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        }
        Fam::Ip => is_ip_or_cidr(v),
    };
    if ok {
        Ok(())
    } else {
        let what = match fam {
            Fam::Numeric => "a number",
            Fam::Date => "an ISO 8601 date or epoch seconds",
            Fam::Bool | Fam::Null => "\"true\" or \"false\"",
            Fam::Binary => "a base64 string",
            Fam::Ip => "an IP address or CIDR block",
            Fam::Arn => "\"*\" or an ARN (arn:partition:service:region:account:resource)",
            Fam::String => "a string",
        };
        bad(p, format!("\"{}\" is not {what}", truncate(v)))
    }
}

fn is_number(v: &str) -> bool {
    let s = v.strip_prefix('-').unwrap_or(v);
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// The evaluator's own parser decides: a value it can't read (a month 13, a 30 February, an
/// epoch of more than 18 digits) would make the condition silently never match, so the policy is
/// refused instead (policy-semantics §3.6).
fn is_date(v: &str) -> bool {
    crate::authz::cond::parse_date(v).is_some()
}

fn is_ip_or_cidr(v: &str) -> bool {
    let (addr, prefix) = match v.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    match prefix {
        None => true,
        Some(p) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            !p.is_empty()
                && p.len() <= 3
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u32>().is_ok_and(|n| n <= max)
        }
    }
}
