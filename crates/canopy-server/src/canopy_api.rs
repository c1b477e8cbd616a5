//! Canopy's own authorization API (JSON over HTTP):
//!
//! - `POST /canopy/v1/simulate`: one request (or `{"requests": [...]}`) evaluated against the
//!   organization as stored: the SCP layer, the RCP layer and the combined decision, explained.
//! - `POST /canopy/v1/what-if`: proposed changes applied to a copy, probes evaluated for every
//!   affected account before and after; the decisions that flip. Nothing is stored.
//!
//! Callers: the management account of the organization (dev auth: the SigV4 access key id).
//! Errors: `{"error": "<Code>", "message": "..."}` with 400, 403, 404 (500 for storage failures).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use canopy_api::{ApiError, Caller, ErrorCode, PolicyType};
use canopy_core::authz::{
    bulk_options, infer_principal_kind, sim_options, Change, Probe, SimRequest, SimResult, Snapshot,
};
use canopy_core::canopy_policy::{
    AuthzRequest, ContextValue, Decision, Outcome as Decided, Principal, PrincipalKind,
    RequestContext,
};
use serde_json::{json, Map, Value};

use crate::body::read_bounded;
use crate::observe::Outcome;
use crate::{auth, SharedState};

/// Most requests in one simulate batch, and probes in one what-if.
const MAX_BATCH: usize = 1000;
const MAX_PROBES: usize = 100;
const MAX_CHANGES: usize = 100;
const DEFAULT_MAX_FLIPS: usize = 1000;

/// Adds the Canopy API routes.
pub(crate) fn routes(router: Router<SharedState>) -> Router<SharedState> {
    router.route("/canopy/v1/simulate", post(simulate)).route("/canopy/v1/what-if", post(what_if))
}

struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::BAD_REQUEST, code: "InvalidRequest", message: message.into() }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        let code = e.code.as_str();
        let status = match e.code {
            ErrorCode::AccessDeniedException => StatusCode::FORBIDDEN,
            ErrorCode::ServiceException => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::AWSOrganizationsNotInUseException => StatusCode::NOT_FOUND,
            _ if code.ends_with("NotFoundException") => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure { status, code, message: e.message }
    }
}

fn respond(status: StatusCode, body: &Value, operation: &'static str, account: Option<String>, error: Option<&'static str>) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(Outcome { operation: Some(operation), account, error });
    response
}

fn fail(f: Failure, operation: &'static str, account: Option<String>) -> Response {
    let body = json!({"error": f.code, "message": f.message});
    respond(f.status, &body, operation, account, Some(f.code))
}

/// Caller and body: what both endpoints start with. The caller is authenticated exactly as on
/// the AWS endpoints (dev: the access key names the account; strict: a verified signature over
/// this body), so the body is read, bounded, first.
async fn prepare(state: &SharedState, request: Request) -> Result<(Value, Caller), (Failure, Option<String>)> {
    let (parts, body) = request.into_parts();
    let max = state.config.max_body_bytes;
    let body = match read_bounded(&parts, body, max, state.config.read_timeout, &state.body_budget).await {
        Ok(body) => body,
        Err(e) => return Err((Failure { status: e.status(), code: e.code().as_str(), message: e.message(max) }, None)),
    };
    let caller = match auth::authenticate(state, &parts, &body, auth::ORGANIZATIONS).await {
        Ok(identity) => identity.caller,
        Err(failure) => {
            let answer = failure.json();
            return Err((Failure { status: answer.status, code: answer.code, message: answer.message }, None));
        }
    };
    let account = Some(caller.account_id.clone());
    let value: Value = serde_json::from_slice(&body).map_err(|e| (Failure::invalid(format!("the body is not valid JSON: {e}")), account.clone()))?;
    if !value.is_object() {
        return Err((Failure::invalid("the body must be a JSON object"), account));
    }
    Ok((value, caller))
}

/// The snapshot of the caller's organization (`accounts`: only those accounts' paths).
async fn snapshot(state: &SharedState, caller: &Caller, accounts: Option<Vec<String>>) -> Result<Snapshot, Failure> {
    state.canopy.authz_snapshot(caller, accounts).await.map_err(Failure::from)
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn opt_str<'a>(v: &'a Value, field: &str, path: &str) -> Result<Option<&'a str>, Failure> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Failure::invalid(format!("{path}{field} must be a string"))),
    }
}

fn req_str<'a>(v: &'a Value, field: &str, path: &str) -> Result<&'a str, Failure> {
    opt_str(v, field, path)?.filter(|s| !s.is_empty()).ok_or_else(|| Failure::invalid(format!("{path}{field} is required")))
}

fn opt_bool(v: &Value, field: &str) -> Result<bool, Failure> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Failure::invalid(format!("{field} must be true or false"))),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn context(v: &Value, path: &str) -> Result<RequestContext, Failure> {
    let mut ctx = RequestContext::new();
    match v.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, val) in m {
                let bad = || Failure::invalid(format!("{path}context.{k} must be a string, number, boolean or an array of them"));
                let cv = match val {
                    Value::Array(items) => ContextValue::Multi(items.iter().map(scalar).collect::<Option<Vec<_>>>().ok_or_else(bad)?),
                    other => ContextValue::Single(scalar(other).ok_or_else(bad)?),
                };
                ctx.insert(k.as_str(), cv);
            }
        }
        Some(_) => return Err(Failure::invalid(format!("{path}context must be an object of condition keys"))),
    }
    Ok(ctx)
}

fn kind(v: &Value, path: &str) -> Result<Option<PrincipalKind>, Failure> {
    opt_str(v, "principal_type", path)?
        .map(|t| {
            PrincipalKind::parse(t).ok_or_else(|| {
                Failure::invalid(format!(
                    "{path}principal_type {t:?} is not one of IAMUser, AssumedRole, ServiceLinkedRole, AWSService, Root, FederatedUser, Anonymous"
                ))
            })
        })
        .transpose()
}

fn iam(v: &Value, path: &str) -> Result<Option<Decided>, Failure> {
    opt_str(v, "iam_decision", path)?
        .map(|d| match d {
            "Allow" => Ok(Decided::Allow),
            "ImplicitDeny" => Ok(Decided::ImplicitDeny),
            "ExplicitDeny" => Ok(Decided::ExplicitDeny),
            other => Err(Failure::invalid(format!("{path}iam_decision {other:?} is not one of Allow, ImplicitDeny, ExplicitDeny"))),
        })
        .transpose()
}

fn action(v: &Value, path: &str) -> Result<String, Failure> {
    let a = req_str(v, "action", path)?;
    if a != "*" && !a.contains(':') {
        return Err(Failure::invalid(format!("{path}action {a:?} must be service:Action")));
    }
    Ok(a.to_string())
}

fn account_field(v: &Value, field: &str, path: &str, template: bool) -> Result<Option<String>, Failure> {
    let Some(a) = opt_str(v, field, path)? else { return Ok(None) };
    let ok = (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())) || (template && a == "{account}");
    if !ok {
        return Err(Failure::invalid(format!("{path}{field} {a:?} must be a 12-digit account id")));
    }
    Ok(Some(a.to_string()))
}

fn sim_request(v: &Value, path: &str) -> Result<SimRequest, Failure> {
    if !v.is_object() {
        return Err(Failure::invalid(format!("{path} must be an object")));
    }
    let arn = req_str(v, "principal", path)?;
    let kind = match kind(v, path)? {
        Some(k) => k,
        None => infer_principal_kind(arn).ok_or_else(|| {
            Failure::invalid(format!("{path}principal {arn:?}: cannot tell the principal type from it; give principal_type"))
        })?,
    };
    let resource = opt_str(v, "resource", path)?.unwrap_or("*").to_string();
    // Without resource_account, the account the resource ARN names owns it (its RCPs apply).
    let resource_account = account_field(v, "resource_account", path, false)?
        .or_else(|| AuthzRequest::arn_account(&resource).map(str::to_string));
    Ok(SimRequest {
        request: AuthzRequest {
            principal: Principal { arn: arn.to_string(), account: None, kind },
            action: action(v, path)?,
            resource,
            resource_account,
            context: context(v, path)?,
        },
        iam: iam(v, path)?,
    })
}

fn policy_type(v: &Value, path: &str) -> Result<PolicyType, Failure> {
    let t = req_str(v, "policy_type", path)?;
    PolicyType::from_wire(t).ok_or_else(|| Failure::invalid(format!("{path}policy_type {t:?} is not a policy type")))
}

fn content(v: &Value, path: &str) -> Result<String, Failure> {
    match v.get("content") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(o @ Value::Object(_)) => Ok(o.to_string()),
        _ => Err(Failure::invalid(format!("{path}content is required (a JSON document or a string)"))),
    }
}

fn change(v: &Value, path: &str) -> Result<Change, Failure> {
    let s = |f: &str| req_str(v, f, path).map(str::to_string);
    Ok(match req_str(v, "change", path)? {
        "create_policy" => Change::CreatePolicy { reference: s("reference")?, policy_type: policy_type(v, path)?, content: content(v, path)? },
        "update_policy" => Change::UpdatePolicy { policy_id: s("policy_id")?, content: content(v, path)? },
        "attach_policy" => Change::Attach { policy_id: s("policy_id")?, target_id: s("target_id")? },
        "detach_policy" => Change::Detach { policy_id: s("policy_id")?, target_id: s("target_id")? },
        "move_account" => Change::MoveAccount { account_id: s("account_id")?, destination_parent_id: s("destination_parent_id")? },
        "enable_policy_type" => Change::EnablePolicyType { policy_type: policy_type(v, path)? },
        "disable_policy_type" => Change::DisablePolicyType { policy_type: policy_type(v, path)? },
        other => {
            return Err(Failure::invalid(format!(
                "{path}change {other:?} is not one of create_policy, update_policy, attach_policy, detach_policy, move_account, enable_policy_type, disable_policy_type"
            )))
        }
    })
}

fn probe(v: &Value, path: &str) -> Result<Probe, Failure> {
    if !v.is_object() {
        return Err(Failure::invalid(format!("{path} must be an object")));
    }
    Ok(Probe {
        principal: opt_str(v, "principal", path)?.unwrap_or("root").to_string(),
        kind: kind(v, path)?,
        action: action(v, path)?,
        resource: opt_str(v, "resource", path)?.unwrap_or("*").to_string(),
        resource_account: account_field(v, "resource_account", path, true)?,
        context: context(v, path)?,
        iam: iam(v, path)?,
    })
}

fn list<'a>(v: &'a Value, field: &str, max: usize, required: bool) -> Result<&'a [Value], Failure> {
    match v.get(field) {
        Some(Value::Array(a)) if a.len() > max => Err(Failure::invalid(format!("{field} has {} entries (at most {max})", a.len()))),
        Some(Value::Array(a)) if required && a.is_empty() => Err(Failure::invalid(format!("{field} must not be empty"))),
        Some(Value::Array(a)) => Ok(a),
        None if !required => Ok(&[]),
        _ => Err(Failure::invalid(format!("{field} must be an array"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn summary(r: &SimResult) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("decision".into(), json!(r.combined.decision.as_str()));
    if let Some(l) = r.combined.deciding_layer {
        m.insert("deciding_layer".into(), json!(l.as_str()));
    }
    m.insert("blocked_by".into(), json!(r.combined.blocked_by.iter().map(|l| l.as_str()).collect::<Vec<_>>()));
    m
}

fn result_json(r: &SimResult) -> Value {
    let mut m = summary(r);
    m.insert("scp".into(), r.scp.explanation_json());
    m.insert("rcp".into(), r.rcp.explanation_json());
    Value::Object(m)
}

fn changed(before: &Decision, after: &Decision) -> bool {
    before.decision != after.decision || before.reason != after.reason
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// The account a request's log line names when it fails after authentication (dev auth's reading
/// of its credentials; the default account when they do not parse).
fn log_account(state: &crate::AppState, request: &Request) -> String {
    auth::resolve_caller(request.headers(), request.uri().query(), &state.config.default_account)
        .map_or_else(|_| state.config.default_account.clone(), |c| c.account_id)
}

/// `POST /canopy/v1/simulate`.
async fn simulate(State(state): State<SharedState>, request: Request) -> Response {
    const OP: &str = "Simulate";
    let account = log_account(&state, &request);
    let (body, caller) = match prepare(&state, request).await {
        Ok(x) => x,
        Err((f, account)) => return fail(f, OP, account),
    };
    if body.get("probe").is_some() {
        return probe_accounts(&state, body, caller).await;
    }
    let parsed = (|| -> Result<(bool, Vec<SimRequest>, bool), Failure> {
        let detail = opt_bool(&body, "detail")?;
        if body.get("requests").is_some() {
            let items = list(&body, "requests", MAX_BATCH, true)?;
            let reqs = items.iter().enumerate().map(|(i, v)| sim_request(v, &format!("requests[{i}]."))).collect::<Result<_, _>>()?;
            Ok((true, reqs, detail))
        } else {
            Ok((false, vec![sim_request(&body, "")?], detail))
        }
    })();
    let (batch, requests, detail) = match parsed {
        Ok(x) => x,
        Err(f) => return fail(f, OP, Some(account)),
    };
    // Only the paths of the accounts the requests name: independent of the organization's size.
    let mut accounts: Vec<String> = Vec::new();
    for r in &requests {
        accounts.extend(r.request.principal.account().map(str::to_string));
        accounts.extend(r.request.resource_account.clone());
    }
    accounts.sort_unstable();
    accounts.dedup();
    let snapshot = match snapshot(&state, &caller, Some(accounts)).await {
        Ok(s) => s,
        Err(f) => return fail(f, OP, Some(account)),
    };
    let results = tokio::task::spawn_blocking(move || {
        let opts = sim_options(detail);
        requests.iter().map(|r| result_json(&snapshot.evaluate(r, &opts))).collect::<Vec<_>>()
    })
    .await;
    match results {
        Ok(mut results) => {
            let body = if batch { json!({"results": results}) } else { results.pop().unwrap_or(Value::Null) };
            respond(StatusCode::OK, &body, OP, Some(account), None)
        }
        Err(e) => {
            tracing::error!(error = %e, "simulation task failed");
            fail(ApiError::internal().into(), OP, Some(account))
        }
    }
}

/// `POST /canopy/v1/simulate` with `{"probe": {...}, "accounts": [...]}`: one probe for each
/// account (every member account without `accounts`); per account the decision and what
/// decided it, plus counts per decision.
async fn probe_accounts(state: &SharedState, body: Value, caller: Caller) -> Response {
    const OP: &str = "Simulate";
    let account = caller.account_id.clone();
    let parsed = (|| -> Result<_, Failure> {
        let p = probe(body.get("probe").unwrap_or(&Value::Null), "probe.")?;
        let accounts = match body.get("accounts") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or_else(|| Failure::invalid("accounts must be an array of account ids")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(Failure::invalid("accounts must be an array of account ids")),
        };
        Ok((p, accounts))
    })();
    let (p, accounts) = match parsed {
        Ok(x) => x,
        Err(f) => return fail(f, OP, Some(account)),
    };
    // Listed accounts: their paths only, plus any fixed principal or resource account of the probe.
    let scope = accounts.as_ref().map(|ids| {
        let mut all = ids.clone();
        if p.principal.starts_with("arn:") && !p.principal.contains("{account}") {
            all.extend(p.principal.split(':').nth(4).filter(|a| !a.is_empty()).map(str::to_string));
        }
        all.extend(p.resource_account.clone().filter(|a| a != "{account}"));
        all
    });
    let snapshot = match snapshot(state, &caller, scope).await {
        Ok(s) => s,
        Err(f) => return fail(f, OP, Some(account)),
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let task = tokio::task::spawn_blocking(move || {
        let results = snapshot.probe_accounts(&p, accounts.as_deref(), &bulk_options(), threads)?;
        let mut counts = Map::new();
        let rows: Vec<Value> = results
            .iter()
            .map(|(id, r)| {
                let d = r.combined.decision.as_str();
                let n = counts.get(d).and_then(Value::as_u64).unwrap_or(0);
                counts.insert(d.to_string(), json!(n + 1));
                let mut m = summary(r);
                m.insert("account_id".into(), json!(id));
                let deciding = match r.combined.deciding_layer.map(|l| l.as_str()) {
                    Some("SCP") => r.scp.deciding_json(),
                    Some("RCP") => r.rcp.deciding_json(),
                    _ => None,
                };
                if let Some(d) = deciding {
                    m.insert("deciding".into(), d);
                }
                Value::Object(m)
            })
            .collect();
        Ok::<Value, ApiError>(json!({"counts": counts, "results": rows}))
    })
    .await;
    match task {
        Ok(Ok(body)) => respond(StatusCode::OK, &body, OP, Some(account), None),
        Ok(Err(e)) => fail(e.into(), OP, Some(account)),
        Err(e) => {
            tracing::error!(error = %e, "probe task failed");
            fail(ApiError::internal().into(), OP, Some(account))
        }
    }
}

/// `POST /canopy/v1/what-if`.
async fn what_if(State(state): State<SharedState>, request: Request) -> Response {
    const OP: &str = "WhatIf";
    let account = log_account(&state, &request);
    let (body, caller) = match prepare(&state, request).await {
        Ok(x) => x,
        Err((f, account)) => return fail(f, OP, account),
    };
    let parsed = (|| -> Result<_, Failure> {
        let changes = list(&body, "changes", MAX_CHANGES, true)?
            .iter()
            .enumerate()
            .map(|(i, v)| change(v, &format!("changes[{i}].")))
            .collect::<Result<Vec<_>, _>>()?;
        let probes = list(&body, "probes", MAX_PROBES, true)?
            .iter()
            .enumerate()
            .map(|(i, v)| probe(v, &format!("probes[{i}].")))
            .collect::<Result<Vec<_>, _>>()?;
        let max_flips = match body.get("max_flips") {
            None | Some(Value::Null) => DEFAULT_MAX_FLIPS,
            Some(v) => v.as_u64().filter(|n| *n <= 100_000).ok_or_else(|| Failure::invalid("max_flips must be an integer from 0 to 100000"))? as usize,
        };
        Ok((changes, probes, max_flips, opt_bool(&body, "detail")?))
    })();
    let (changes, probes, max_flips, detail) = match parsed {
        Ok(x) => x,
        Err(f) => return fail(f, OP, Some(account)),
    };
    let snapshot = match snapshot(&state, &caller, None).await {
        Ok(s) => s,
        Err(f) => return fail(f, OP, Some(account)),
    };
    let config = state.canopy.env().config.clone();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let task = tokio::task::spawn_blocking(move || {
        let result = snapshot.what_if(&config, &changes, &probes, max_flips, detail, threads)?;
        let flips: Vec<Value> = result
            .flips
            .iter()
            .map(|f| {
                let p = &probes[f.probe];
                let side = |r: &SimResult, other: &SimResult| {
                    let mut m = summary(r);
                    // The explanation of each layer whose answer changed.
                    if changed(&r.scp, &other.scp) {
                        m.insert("scp".into(), r.scp.explanation_json());
                    }
                    if changed(&r.rcp, &other.rcp) {
                        m.insert("rcp".into(), r.rcp.explanation_json());
                    }
                    Value::Object(m)
                };
                json!({
                    "account_id": f.account_id,
                    "probe": f.probe,
                    "principal": f.principal,
                    "action": p.action,
                    "resource": p.resource.replace("{account}", &f.account_id),
                    "before": side(&f.before, &f.after),
                    "after": side(&f.after, &f.before),
                })
            })
            .collect();
        Ok::<Value, ApiError>(json!({
            "affected_accounts": result.affected_accounts,
            "evaluations": result.evaluations,
            "flip_count": result.flip_count,
            "truncated": result.flip_count > result.flips.len(),
            "flips": flips,
        }))
    })
    .await;
    match task {
        Ok(Ok(body)) => respond(StatusCode::OK, &body, OP, Some(account), None),
        Ok(Err(e)) => fail(e.into(), OP, Some(account)),
        Err(e) => {
            tracing::error!(error = %e, "what-if task failed");
            fail(ApiError::internal().into(), OP, Some(account))
        }
    }
}
