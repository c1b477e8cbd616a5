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
use canopy_core::SessionFacts;

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
    let session = session_facts(params)?;
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
        session,
    };
    let assumed = state.canopy.assume_role(&identity.principal, request, new).await.map_err(|e| match e {
        IdentityError::AccessDenied(m) => AuthAnswer { status: StatusCode::FORBIDDEN, code: "AccessDenied", message: m },
        IdentityError::Validation(m) => validation(m),
        IdentityError::MalformedPolicy(m) => AuthAnswer { status: StatusCode::BAD_REQUEST, code: "MalformedPolicyDocument", message: m },
        IdentityError::PolicyTooLarge(m) => AuthAnswer { status: StatusCode::BAD_REQUEST, code: "PackedPolicyTooLarge", message: m },
        IdentityError::Internal(_) => AuthAnswer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalFailure",
            message: "An internal error occurred.".into(),
        },
    })?;
    let expiration = iso8601(assumed.expires_ms);
    let source_identity = match assumed.principal.session.as_ref().and_then(|s| s.source_identity.as_deref()) {
        Some(s) => format!("    <SourceIdentity>{}</SourceIdentity>\n", xml_escape(s)),
        None => String::new(),
    };
    Ok(format!(
        "<AssumeRoleResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleResult>\n{source_identity}    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</AssumeRoleResponse>\n",
        xml_escape(&assumed.principal.user_id),
        xml_escape(&assumed.principal.arn()),
        assumed.access_key_id,
        xml_escape(&secret),
        xml_escape(&token),
    ))
}

/// AssumeRole's session parameters, with their wire constraints (the STS model's) checked:
/// `Policy`, `Tags.member.N.Key`/`.Value`, `TransitiveTagKeys.member.N`, `SourceIdentity`;
/// `ExternalId` is checked and otherwise ignored (the roles Canopy makes set no condition on
/// it). `PolicyArns` is refused: Canopy has no IAM managed policies to resolve. A `SerialNumber`
/// or `TokenCode` is refused as AWS refuses an unknown MFA device: Canopy has none.
fn session_facts(params: &[(String, String)]) -> Result<SessionFacts, AuthAnswer> {
    let param = |name: &str| get(params, name);
    let too_long = |field: &str, value: &str, bound: &str| {
        validation(format!(
            "1 validation error detected: Value '{}' at '{field}' failed to satisfy constraint: Member must have length {bound}",
            truncate(value)
        ))
    };
    let pattern = |field: &str, value: &str, pattern: &str| {
        validation(format!(
            "1 validation error detected: Value '{}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}",
            truncate(value)
        ))
    };
    let mut facts = SessionFacts::default();

    if let Some(policy) = param("Policy") {
        if policy.is_empty() {
            return Err(too_long("policy", policy, "greater than or equal to 1"));
        }
        if !policy.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | ' '..='\u{ff}')) {
            return Err(pattern("policy", policy, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"));
        }
        facts.policy = Some(policy.to_owned());
    }
    if params.iter().any(|(k, _)| k.starts_with("PolicyArns.")) {
        return Err(AuthAnswer {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidParameterValue",
            message: "PolicyArns is not supported: Canopy has no IAM managed policies to use as session policies. Pass the session policy inline in Policy.".into(),
        });
    }

    // Tags.member.N.Key / .Value, in N order; TransitiveTagKeys.member.N.
    let indexed = |prefix: &str, suffix: &str| -> Vec<(usize, String)> {
        let mut items: Vec<(usize, String)> = params
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.strip_suffix(suffix)?.parse::<usize>().ok()?;
                Some((n, v.clone()))
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items
    };
    let is_tag_char = |c: char| c.is_alphabetic() || c.is_numeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c);
    const TAG_PATTERN: &str = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";
    let keys = indexed("Tags.member.", ".Key");
    let values = indexed("Tags.member.", ".Value");
    if keys.len() > 50 {
        return Err(validation(format!(
            "1 validation error detected: Value '[...]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50 ({} tags)",
            keys.len()
        )));
    }
    for (n, key) in &keys {
        let field = format!("tags.{n}.member.key");
        let len = key.chars().count();
        if len == 0 {
            return Err(too_long(&field, key, "greater than or equal to 1"));
        }
        if len > 128 {
            return Err(too_long(&field, key, "less than or equal to 128"));
        }
        if !key.chars().all(is_tag_char) {
            return Err(pattern(&field, key, TAG_PATTERN));
        }
        let Some((_, value)) = values.iter().find(|(m, _)| m == n) else {
            return Err(validation(format!(
                "1 validation error detected: Value null at 'tags.{n}.member.value' failed to satisfy constraint: Member must not be null"
            )));
        };
        let field = format!("tags.{n}.member.value");
        if value.chars().count() > 256 {
            return Err(too_long(&field, value, "less than or equal to 256"));
        }
        if !value.chars().all(is_tag_char) {
            return Err(pattern(&field, value, TAG_PATTERN));
        }
        if facts.tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(AuthAnswer {
                status: StatusCode::BAD_REQUEST,
                code: "InvalidParameterValue",
                message: format!("Duplicate tag keys found: {key}. Tag keys are case insensitive."),
            });
        }
        facts.tags.push((key.clone(), value.clone()));
    }
    if let Some((n, _)) = values.iter().find(|(n, _)| !keys.iter().any(|(m, _)| m == n)) {
        return Err(validation(format!(
            "1 validation error detected: Value null at 'tags.{n}.member.key' failed to satisfy constraint: Member must not be null"
        )));
    }
    let transitive = indexed("TransitiveTagKeys.member.", "");
    if transitive.len() > 50 {
        return Err(validation(
            "1 validation error detected: Value '[...]' at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50".into(),
        ));
    }
    for (_, key) in transitive {
        if !facts.tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
            return Err(AuthAnswer {
                status: StatusCode::BAD_REQUEST,
                code: "InvalidParameterValue",
                message: format!("The transitive tag key {} is not one of the session tags.", truncate(&key)),
            });
        }
        facts.transitive_tag_keys.push(key);
    }

    if let Some(source) = param("SourceIdentity") {
        let len = source.chars().count();
        if len < 2 {
            return Err(too_long("sourceIdentity", source, "greater than or equal to 2"));
        }
        if len > 256 {
            return Err(too_long("sourceIdentity", source, "less than or equal to 256"));
        }
        if !is_iam_name(source, 2, 256) {
            return Err(pattern("sourceIdentity", source, "[\\w+=,.@-]*"));
        }
        facts.source_identity = Some(source.to_owned());
    }

    if let Some(external) = param("ExternalId") {
        let len = external.chars().count();
        if !(2..=1224).contains(&len) {
            let bound = if len < 2 { "greater than or equal to 2" } else { "less than or equal to 1224" };
            return Err(too_long("externalId", external, bound));
        }
        if !external.chars().all(|c| c.is_alphanumeric() || "_+=,.@:/-".contains(c)) {
            return Err(pattern("externalId", external, "[\\w+=,.@:\\/-]*"));
        }
    }
    if let Some(code) = param("TokenCode") {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(pattern("tokenCode", code, "[\\d]*"));
        }
    }
    if let Some(serial) = param("SerialNumber") {
        let len = serial.chars().count();
        if !(9..=256).contains(&len) {
            let bound = if len < 9 { "greater than or equal to 9" } else { "less than or equal to 256" };
            return Err(too_long("serialNumber", serial, bound));
        }
    }
    if param("SerialNumber").is_some() || param("TokenCode").is_some() {
        return Err(AuthAnswer {
            status: StatusCode::FORBIDDEN,
            code: "AccessDenied",
            message: "MultiFactorAuthentication failed: Canopy has no MFA devices, so no serial number and token code can be verified.".into(),
        });
    }
    Ok(facts)
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

/// Text for an XML element. Characters XML 1.0 does not allow at all (controls other than tab,
/// newline and carriage return; U+FFFE, U+FFFF), which a message may echo from the request,
/// become U+FFFD: escaped as `&#1;` they would still make the document unreadable.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
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
        // Characters XML forbids outright become U+FFFD; tab, newline and CR stay.
        assert_eq!(xml_escape("a\u{1}b\u{0}c\u{ffff}\t\n\r"), "a\u{fffd}b\u{fffd}c\u{fffd}\t\n\r");
        assert_eq!(iso8601(1_795_953_600_000), "2026-11-29T12:00:00Z");
    }
}
