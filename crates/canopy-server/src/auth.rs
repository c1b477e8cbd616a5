//! Who is calling. `dev` auth: SigV4 credentials are parsed (never verified) from the
//! `Authorization` header or a presigned query; the access key id and the scope's region make
//! the caller. Strict auth will verify the signature here and hand back the same `Caller`.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use canopy_api::partition::partition_for_region;
use canopy_api::Caller;
use canopy_sigv4::{parse_authorization_header, parse_presigned_query, ParsedAuth};

/// The region assumed when a request carries no (or malformed) credentials.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Resolves the caller in `dev` auth: a 12-digit access key id *is* the caller's account; any
/// other key, or missing/malformed credentials, is `default_account`. The region comes from the
/// credential scope (default `us-east-1`) and picks the partition.
pub fn resolve_caller(headers: &HeaderMap, query: Option<&str>, default_account: &str) -> Caller {
    let parsed = parsed_auth(headers, query);
    let (access_key_id, region) = match parsed {
        Some(p) => (p.access_key_id, p.region),
        None => (String::new(), DEFAULT_REGION.to_owned()),
    };
    let account_id = if is_account_id(&access_key_id) { access_key_id.clone() } else { default_account.to_owned() };
    let access_key_id = if access_key_id.is_empty() { account_id.clone() } else { access_key_id };
    let partition = partition_for_region(&region).to_string();
    Caller { account_id, partition, region, access_key_id }
}

fn parsed_auth(headers: &HeaderMap, query: Option<&str>) -> Option<ParsedAuth> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return match parse_authorization_header(value) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::debug!(error = %e, "ignoring malformed Authorization header (dev auth)");
                None
            }
        };
    }
    match parse_presigned_query(query?) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "ignoring malformed presigned query (dev auth)");
            None
        }
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}
