//! STS on the same port, in its own protocol (awsQuery): `POST /` with a form body
//! `Action=…&Version=2011-06-15&…` and no `X-Amz-Target` (or `GET /?Action=…`, as presigned
//! GetCallerIdentity URLs do); XML answers and AWS's `<ErrorResponse>`. Two actions:
//! GetCallerIdentity and AssumeRole (into a role CreateAccount made).

use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use canopy_core::identity::{is_iam_name, AssumeRoleRequest, IdentityError, NewCredential, MIN_SESSION_SECS};

use crate::auth::{self, AuthAnswer, Identity};
use crate::body::{read_bounded, BodyError};
use crate::observe::{Outcome, RequestId};
use crate::secrets::{new_secret_access_key, new_session_token, token_hash};
use crate::SharedState;

static TEXT_XML: HeaderValue = HeaderValue::from_static("text/xml");
const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// STS's longest session (a role's MaxSessionDuration may be at most 12 hours).
const MAX_DURATION_SECS: i64 = 43_200;

/// Whether a `POST /` without `X-Amz-Target` is an STS (form-encoded) request.
pub(crate) fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// `POST /` (form body) or `GET /?Action=…`: one STS action.
pub(crate) async fn sts(State(state): State<SharedState>, Extension(request_id): Extension<RequestId>, request: Request) -> Response {
    let request_id = request_id.to_hyphenated();
    let (parts, body) = request.into_parts();
    let max = state.config.max_body_bytes;
    let body = match read_bounded(&parts, body, max, state.config.read_timeout, &state.body_budget).await {
        Ok(body) => body,
        Err(e) => {
            // STS's codes for these (awsQuery names carry no "Exception").
            let code = match e {
                BodyError::TooLarge => "RequestEntityTooLarge",
                BodyError::Unreadable => "MalformedInput",
                BodyError::TimedOut(_) => "RequestTimeout",
            };
            let answer = AuthAnswer { status: e.status(), code, message: e.message(max) };
            return error(&request_id, answer, None, None);
        }
    };

    // Parameters: the query's (presigned GET) and the form body's.
    let mut params: Vec<(String, String)> = parts.uri.query().map(form_pairs).unwrap_or_default();
    if is_form(&parts.headers) {
        params.extend(form_pairs(&String::from_utf8_lossy(&body)));
    }
    let action = get(&params, "Action").map(str::to_owned);
    let op: Option<&'static str> = match action.as_deref() {
        Some("GetCallerIdentity") => Some("sts:GetCallerIdentity"),
        Some("AssumeRole") => Some("sts:AssumeRole"),
        _ => None,
    };

    let identity = match auth::authenticate(&state, &parts, &body, auth::STS).await {
        Ok(i) => i,
        Err(f) => return error(&request_id, f.query(), op, None),
    };
    let account = Some(identity.caller.account_id.clone());
    let result = match action.as_deref() {
        Some("GetCallerIdentity") => Ok(get_caller_identity(&identity, &request_id)),
        Some("AssumeRole") => assume_role(&state, &identity, &params, &request_id).await,
        None => Err(AuthAnswer {
            status: StatusCode::BAD_REQUEST,
            code: "MissingAction",
            message: "Missing Action".into(),
        }),
        Some(other) => Err(AuthAnswer {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidAction",
            message: format!("Could not find operation {} for version 2011-06-15", truncate(other)),
        }),
    };
    match result {
        Ok(xml) => {
            let mut response = Response::new(Body::from(xml));
            response.headers_mut().insert(CONTENT_TYPE, TEXT_XML.clone());
            response.extensions_mut().insert(Outcome { operation: op, account, error: None });
            response
        }
        Err(answer) => error(&request_id, answer, op, account),
    }
}

fn get_caller_identity(identity: &Identity, request_id: &str) -> String {
    let p = &identity.principal;
    format!(
        "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
        xml_escape(&p.arn()),
        xml_escape(&p.user_id),
        xml_escape(&p.account_id),
    )
}

fn validation(message: String) -> AuthAnswer {
    AuthAnswer { status: StatusCode::BAD_REQUEST, code: "ValidationError", message }
}

async fn assume_role(
    state: &SharedState,
    identity: &Identity,
    params: &[(String, String)],
    request_id: &str,
) -> Result<String, AuthAnswer> {
    let param = |name: &str| get(params, name);
    let not_null = |field: &str| validation(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"));
    let role_arn = param("RoleArn").ok_or_else(|| not_null("roleArn"))?.to_owned();
    let session_name = param("RoleSessionName").ok_or_else(|| not_null("roleSessionName"))?.to_owned();
    let len = session_name.chars().count();
    if !(2..=64).contains(&len) {
        let bound = if len < 2 { "greater than or equal to 2" } else { "less than or equal to 64" };
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy constraint: Member must have length {bound}",
            truncate(&session_name)
        )));
    }
    if !is_iam_name(&session_name, 2, 64) {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            truncate(&session_name)
        )));
    }
    let duration_secs = match param("DurationSeconds") {
        None => 3600,
        Some(raw) => {
            let Ok(v) = raw.trim().parse::<i64>() else {
                return Err(validation(format!(
                    "1 validation error detected: Value '{}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer",
                    truncate(raw)
                )));
            };
            if v < MIN_SESSION_SECS {
                return Err(validation(format!("1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_SESSION_SECS}")));
            }
            if v > MAX_DURATION_SECS {
                return Err(validation(format!("1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {MAX_DURATION_SECS}")));
            }
            v
        }
    };
    let Some((partition, account_id, role_name)) = parse_role_arn(&role_arn) else {
        return Err(validation(format!("{} is invalid: expected arn:PARTITION:iam::ACCOUNT_ID:role/NAME", truncate(&role_arn))));
    };

    // The credential: generated here, sealed before it reaches the store.
    let access_key_id = state.canopy.env().ids.access_key_id("ASIA");
    let secret = new_secret_access_key();
    let token = new_session_token();
    let new = NewCredential {
        secret_sealed: state.master_key.seal(&access_key_id, &secret),
        access_key_id,
        session_token_sha256: Some(token_hash(&token)),
    };
    let request = AssumeRoleRequest {
        partition: partition.to_owned(),
        account_id: account_id.to_owned(),
        role_name: role_name.to_owned(),
        role_arn: role_arn.clone(),
        session_name,
        duration_secs,
        source_ip: identity.caller.source_ip,
    };
    let assumed = state.canopy.assume_role(&identity.principal, request, new).await.map_err(|e| match e {
        IdentityError::AccessDenied(m) => AuthAnswer { status: StatusCode::FORBIDDEN, code: "AccessDenied", message: m },
        IdentityError::Validation(m) => validation(m),
        IdentityError::Internal(_) => AuthAnswer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure",
            message: "An internal error occurred.".into(),
        },
    })?;
    let expiration = iso8601(assumed.expires_ms);
    Ok(format!(
        "<AssumeRoleResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
        xml_escape(&assumed.principal.user_id),
        xml_escape(&assumed.principal.arn()),
        assumed.access_key_id,
        xml_escape(&secret),
        xml_escape(&token),
    ))
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME` → (partition, account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    let ok = !partition.is_empty()
        && auth::is_account_id(account)
        && is_iam_name(name, 1, 64)
        && arn.len() <= 2048;
    ok.then_some((partition, account, name))
}

/// The awsQuery error document.
fn error(request_id: &str, answer: AuthAnswer, op: Option<&'static str>, account: Option<String>) -> Response {
    let kind = if answer.status.is_server_error() { "Receiver" } else { "Sender" };
    let xml = format!(
        "<ErrorResponse xmlns=\"{XMLNS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        answer.code,
        xml_escape(&answer.message)
    );
    let mut response = Response::new(Body::from(xml));
    *response.status_mut() = answer.status;
    response.headers_mut().insert(CONTENT_TYPE, TEXT_XML.clone());
    response.extensions_mut().insert(Outcome { operation: op, account, error: Some(answer.code) });
    response
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space), undecodable ones kept raw.
fn form_pairs(s: &str) -> Vec<(String, String)> {
    let decode = |v: &str| {
        let v = v.replace('+', " ");
        canopy_sigv4::percent_decode(&v).unwrap_or(v)
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Epoch milliseconds → `2026-11-29T13:00:00Z`.
pub use canopy_core::clock::iso8601;

/// Echoes at most 128 characters of client input.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(128) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"),
            Some(("aws", "111122223333", "OrganizationAccountAccessRole"))
        );
        assert_eq!(parse_role_arn("arn:aws-cn:iam::111122223333:role/path/to/R"), Some(("aws-cn", "111122223333", "R")));
        for bad in ["", "arn:aws:iam::1111:role/R", "arn:aws:sts::111122223333:role/R", "arn:aws:iam::111122223333:user/R", "arn:aws:iam::111122223333:role/"] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn forms_and_xml() {
        assert_eq!(
            form_pairs("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FR&RoleSessionName=a+b&x"),
            vec![
                ("Action".into(), "AssumeRole".into()),
                ("RoleArn".into(), "arn:aws:iam::1:role/R".into()),
                ("RoleSessionName".into(), "a b".into()),
                ("x".into(), "".into())
            ]
        );
        assert_eq!(xml_escape("a<b&\"c'>"), "a&lt;b&amp;&quot;c&apos;&gt;");
        assert_eq!(iso8601(1_795_953_600_000), "2026-11-29T12:00:00Z");
    }
}
