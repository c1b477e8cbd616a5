//! Who is calling.
//!
//! `dev` auth: SigV4 credentials are parsed (never verified) from the `Authorization` header or
//! a presigned query; a 12-digit access key id is the caller's account, a live AssumeRole session
//! key (`ASIA…`) is its role's account, anything else is the default account.
//!
//! `strict` auth: the signature is verified (canopy-sigv4) with the secret of an access key
//! Canopy issued; temporary keys must carry their session token and be unexpired. Failures are
//! AWS's errors, in the JSON protocol's or the query protocol's (STS) names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use canopy_api::partition::partition_for_region;
use canopy_api::Caller;
use canopy_core::identity::Principal;
use canopy_core::CredentialRecord;
use canopy_sigv4::{parse_authorization_header, parse_presigned_query, ParseError, ParsedAuth, Pending, SigV4Error, SignedRequest};

use crate::secrets::{token_hash, MasterKey};
use crate::{AppState, AuthMode};

/// The region assumed when a request carries no (or malformed) credentials.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A resolved caller: the account-level `Caller` operations see, and the principal STS reports.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub caller: Caller,
    pub principal: Principal,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    SigV4(SigV4Error),
    /// A temporary key whose session has ended.
    ExpiredToken,
    /// A temporary key without (or with the wrong) session token, or a key of another partition.
    InvalidToken,
    /// The credential is scoped to another service than the endpoint's (`organizations`, `sts`).
    WrongService(&'static str),
    /// The store failed (logged); an opaque internal error.
    Internal,
}

/// How an auth failure is answered: status, error code, message.
pub(crate) struct AuthAnswer {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

/// AWS's message for a signature scoped to another service (with its trailing space).
fn wrong_service(service: &str) -> String {
    format!("Credential should be scoped to correct service: '{service}'. ")
}

impl AuthFailure {
    /// The awsJson1.1 answer (Organizations): `*Exception` codes, all 400 but the missing token.
    pub fn json(&self) -> AuthAnswer {
        let (status, code, message) = match self {
            AuthFailure::SigV4(SigV4Error::Missing) => {
                (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", "Missing Authentication Token".to_owned())
            }
            AuthFailure::SigV4(e @ SigV4Error::Incomplete(_)) => {
                (StatusCode::BAD_REQUEST, "IncompleteSignatureException", e.to_string())
            }
            AuthFailure::SigV4(SigV4Error::UnknownKey) | AuthFailure::InvalidToken => {
                (StatusCode::BAD_REQUEST, "UnrecognizedClientException", INVALID_TOKEN.to_owned())
            }
            AuthFailure::SigV4(e @ (SigV4Error::Mismatch | SigV4Error::Expired(_) | SigV4Error::PayloadHashMismatch)) => {
                (StatusCode::BAD_REQUEST, "InvalidSignatureException", e.to_string())
            }
            AuthFailure::ExpiredToken => (StatusCode::BAD_REQUEST, "ExpiredTokenException", EXPIRED_TOKEN.to_owned()),
            AuthFailure::WrongService(service) => (StatusCode::BAD_REQUEST, "InvalidSignatureException", wrong_service(service)),
            AuthFailure::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", "An internal error occurred.".to_owned())
            }
        };
        AuthAnswer { status, code, message }
    }

    /// The awsQuery answer (STS): short codes, 403 for signature and key problems.
    pub fn query(&self) -> AuthAnswer {
        let (status, code, message) = match self {
            AuthFailure::SigV4(SigV4Error::Missing) => (
                StatusCode::FORBIDDEN,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token".to_owned(),
            ),
            AuthFailure::SigV4(e @ SigV4Error::Incomplete(_)) => (StatusCode::BAD_REQUEST, "IncompleteSignature", e.to_string()),
            AuthFailure::SigV4(SigV4Error::UnknownKey) | AuthFailure::InvalidToken => {
                (StatusCode::FORBIDDEN, "InvalidClientTokenId", INVALID_TOKEN.to_owned())
            }
            AuthFailure::SigV4(e @ (SigV4Error::Mismatch | SigV4Error::Expired(_) | SigV4Error::PayloadHashMismatch)) => {
                (StatusCode::FORBIDDEN, "SignatureDoesNotMatch", e.to_string())
            }
            AuthFailure::ExpiredToken => (StatusCode::BAD_REQUEST, "ExpiredToken", EXPIRED_TOKEN.to_owned()),
            AuthFailure::WrongService(service) => (StatusCode::FORBIDDEN, "SignatureDoesNotMatch", wrong_service(service)),
            AuthFailure::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", "An internal error occurred.".to_owned()),
        };
        AuthAnswer { status, code, message }
    }
}

/// Issued keys already read and opened: strict auth verifies from memory after a key's first use.
/// Only found keys are cached (a key created while the server runs is seen at its first use);
/// temporary keys carry their expiry, checked on every request. A cached key is read again when
/// its entry is older than [`KEY_RECHECK`], so a key revoked by `canopy credentials revoke`
/// (another process, or another replica's database) stops working within that interval without
/// a read on every request. Bounded: cleared when full.
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<String, Arc<OpenedKey>>>,
}

const KEY_CACHE_MAX: usize = 10_000;
/// How long a cached key is trusted before the store is asked again whether it still exists.
pub const KEY_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) struct OpenedKey {
    pub record: CredentialRecord,
    /// The secret in clear (never logged).
    secret: String,
    /// When the record was read from the store.
    read_at: std::time::Instant,
}

impl KeyCache {
    pub fn clear(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    async fn get(&self, state: &AppState, access_key_id: &str) -> Result<Option<Arc<OpenedKey>>, AuthFailure> {
        if let Some(k) = self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(access_key_id) {
            if k.read_at.elapsed() < KEY_RECHECK {
                return Ok(Some(k.clone()));
            }
        }
        let record = state.canopy.credential(access_key_id).await.map_err(|_| AuthFailure::Internal)?;
        let Some(record) = record else {
            // Revoked (or never issued): forget any opened copy.
            self.keys.lock().unwrap_or_else(|e| e.into_inner()).remove(access_key_id);
            return Ok(None);
        };
        let Some(secret) = state.master_key.open(&record.access_key_id, &record.secret_sealed) else {
            // Sealed under another master key (or damaged): the key cannot be verified.
            tracing::warn!(access_key_id, "issued secret does not open with this server's master key");
            return Ok(None);
        };
        let opened = Arc::new(OpenedKey { record, secret, read_at: std::time::Instant::now() });
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= KEY_CACHE_MAX {
            keys.clear();
        }
        keys.insert(access_key_id.to_owned(), opened.clone());
        Ok(Some(opened))
    }
}

/// The signing names of the endpoints: what a strict-auth signature's scope must name.
pub(crate) const ORGANIZATIONS: &str = "organizations";
pub(crate) const STS: &str = "sts";

/// Resolves the caller of a request whose body has been read, in the server's auth mode.
/// `service`: the signing name the endpoint answers to ([`ORGANIZATIONS`], [`STS`]).
pub(crate) async fn authenticate(state: &AppState, parts: &Parts, body: &[u8], service: &'static str) -> Result<Identity, AuthFailure> {
    // Two signatures are ambiguous: which one a proxy checked is anyone's guess.
    if parts.headers.get_all(AUTHORIZATION).iter().nth(1).is_some() {
        return Err(AuthFailure::SigV4(SigV4Error::Incomplete("The request carries more than one Authorization header.".into())));
    }
    let mut identity = match state.config.auth {
        AuthMode::Dev => dev_identity(state, &parts.headers, parts.uri.query()).await,
        AuthMode::Strict => strict_identity(state, parts, body, service).await,
    }?;
    identity.caller.source_ip = parts.extensions.get::<crate::ClientAddr>().map(|a| a.0);
    Ok(identity)
}

async fn strict_identity(state: &AppState, parts: &Parts, body: &[u8], service: &'static str) -> Result<Identity, AuthFailure> {
    let mut headers: Vec<(&str, &str)> =
        parts.headers.iter().filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v))).collect();
    // HTTP/2 carries the host as `:authority` (in the URI), which clients sign as `host`.
    if !parts.headers.contains_key(axum::http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            headers.push(("host", authority.as_str()));
        }
    }
    let request = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let now_ms = state.canopy.env().clock.now_ms();
    let pending = Pending::from_request(&request, now_ms.div_euclid(1000)).map_err(AuthFailure::SigV4)?;
    if pending.service() != service {
        return Err(AuthFailure::WrongService(service));
    }
    let key = state.keys.get(state, pending.access_key_id()).await?.ok_or(AuthFailure::SigV4(SigV4Error::UnknownKey))?;
    let verified = pending.verify(&request, &key.secret).map_err(AuthFailure::SigV4)?;
    let record = &key.record;
    // Keys belong to one partition: a signature for another partition's region is refused.
    let region_partition = partition_for_region(&verified.region);
    if region_partition != record.partition {
        return Err(AuthFailure::InvalidToken);
    }
    match (&record.session_token_sha256, &verified.session_token) {
        (None, None) => {}
        (Some(expected), Some(token)) if *expected == token_hash(token) => {
            if record.expires_ms.is_some_and(|e| e <= now_ms) {
                return Err(AuthFailure::ExpiredToken);
            }
        }
        _ => return Err(AuthFailure::InvalidToken),
    }
    let principal = Principal::of(record);
    Ok(Identity { caller: caller_for(&principal, verified.region, verified.access_key_id), principal })
}

/// The caller a Canopy-issued credential stands for: its account, and the principal inside it
/// (root, IAM user or assumed-role session), which SCP conditions may name.
fn caller_for(principal: &Principal, region: String, access_key_id: String) -> Caller {
    Caller {
        account_id: principal.account_id.clone(),
        partition: principal.partition.clone(),
        region,
        access_key_id,
        principal_arn: principal.arn(),
        principal_type: principal.principal_type(),
        user_id: principal.user_id.clone(),
        token_issued_ms: principal.token_issued_ms,
        session: principal.session.clone(),
        source_ip: None,
    }
}

/// Dev auth: nothing is verified. `ASIA…` keys are looked up, so an AssumeRole session acts as
/// its role's account; a 12-digit key is the account; anything else is the default account.
/// Credentials that are present but do not parse are refused (IncompleteSignature), as AWS
/// refuses them: read as absent, they would run the request as the default account, in another
/// organization than the one the caller named.
pub(crate) async fn dev_identity(state: &AppState, headers: &HeaderMap, query: Option<&str>) -> Result<Identity, AuthFailure> {
    let caller = resolve_caller(headers, query, &state.config.default_account).map_err(|e| AuthFailure::SigV4(e.into()))?;
    let key = &caller.access_key_id;
    // Only session keys are looked up: long-term keys in dev auth are usually placeholders
    // (AKIAIOSFODNN7EXAMPLE) and would cost a store read per request.
    if key.len() == 20 && key.starts_with("ASIA") {
        if let Ok(Some(opened)) = state.keys.get(state, key).await {
            // A session Canopy issued is that session, or nobody: signed for another
            // partition's region, or once it has ended, it is refused as in strict auth rather
            // than read as the default account (which would drop the session's limits).
            let now_ms = state.canopy.env().clock.now_ms();
            let record = &opened.record;
            if record.partition != caller.partition {
                return Err(AuthFailure::InvalidToken);
            }
            if record.expires_ms.is_some_and(|e| e <= now_ms) {
                return Err(AuthFailure::ExpiredToken);
            }
            let principal = Principal::of(record);
            return Ok(Identity { caller: caller_for(&principal, caller.region, caller.access_key_id), principal });
        }
    }
    let principal = Principal::root(&caller.partition, &caller.account_id);
    Ok(Identity { caller, principal })
}

/// Resolves the caller in `dev` auth from the request alone: a 12-digit access key id *is* the
/// caller's account; any other key, or no credentials at all, is `default_account`. The region
/// comes from the credential scope (default `us-east-1`) and picks the partition. Credentials
/// that are present but malformed are an error.
pub fn resolve_caller(headers: &HeaderMap, query: Option<&str>, default_account: &str) -> Result<Caller, ParseError> {
    let (access_key_id, region) = match parsed_auth(headers, query)? {
        Some(p) => (p.access_key_id, p.region),
        None => (String::new(), DEFAULT_REGION.to_owned()),
    };
    let account_id = if is_account_id(&access_key_id) { access_key_id.clone() } else { default_account.to_owned() };
    let access_key_id = if access_key_id.is_empty() { account_id.clone() } else { access_key_id };
    let partition = partition_for_region(&region).to_string();
    Ok(Caller::root(account_id, partition, region, access_key_id))
}

fn parsed_auth(headers: &HeaderMap, query: Option<&str>) -> Result<Option<ParsedAuth>, ParseError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ParseError::MalformedComponent("a character that is not visible ASCII".into()))?;
        return parse_authorization_header(value).map(Some);
    }
    match query {
        Some(query) => parse_presigned_query(query),
        None => Ok(None),
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The master key in use: the configured one, or (dev auth without one) a fresh key for this
/// process, so AssumeRole works; its sessions then only verify in this process.
pub(crate) fn master_key_or_ephemeral(configured: Option<MasterKey>) -> MasterKey {
    configured.unwrap_or_else(|| MasterKey::generate().0)
}
