//! Opaque NextTokens. A token names the list it belongs to (operation and scope) and the last
//! `seq` served; a token from another list, or a forged one, is INVALID_NEXT_TOKEN. A page is
//! fetched with one extra row so that the last page never carries a token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use canopy_api::{ApiError, InvalidInputExceptionReason};

/// Rows per page when the caller gives no MaxResults.
pub const DEFAULT_PAGE_SIZE: usize = 20;

pub struct PageRequest {
    pub after_seq: Option<i64>,
    pub limit: usize,
}

/// `scope` identifies the list (e.g. `ListAccounts/o-abc`), so a token cannot be replayed elsewhere.
pub fn start(scope: &str, next_token: Option<&str>, max_results: Option<i32>) -> Result<PageRequest, ApiError> {
    let limit = max_results.map(|m| m.clamp(1, 20) as usize).unwrap_or(DEFAULT_PAGE_SIZE);
    let after_seq = match next_token {
        None => None,
        Some(token) => Some(decode(scope, token).ok_or_else(|| {
            ApiError::invalid_input(
                InvalidInputExceptionReason::InvalidNextToken,
                "The NextToken value is not valid for this request.",
            )
        })?),
    };
    Ok(PageRequest { after_seq, limit })
}

/// Splits `rows` (fetched with `limit + 1`) into the page and its NextToken.
pub fn finish<T>(scope: &str, mut rows: Vec<T>, limit: usize, seq_of: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let last = rows.last().map(&seq_of).unwrap_or(0);
        (rows, Some(encode(scope, last)))
    } else {
        (rows, None)
    }
}

pub fn encode(scope: &str, seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{scope}|{seq}"))
}

fn decode(scope: &str, token: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("v1|")?;
    let (token_scope, seq) = rest.rsplit_once('|')?;
    if token_scope != scope {
        return None;
    }
    seq.parse::<i64>().ok().filter(|s| *s >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_scope_binding() {
        let t = encode("ListAccounts/o-1", 42);
        assert_eq!(start("ListAccounts/o-1", Some(&t), None).unwrap().after_seq, Some(42));
        assert!(start("ListAccounts/o-2", Some(&t), None).is_err());
        assert!(start("ListAccounts/o-1", Some("garbage!"), None).is_err());
    }

    #[test]
    fn last_page_has_no_token() {
        let (rows, token) = finish("s", vec![1, 2, 3], 3, |x| *x as i64);
        assert_eq!(rows.len(), 3);
        assert!(token.is_none());
        let (rows, token) = finish("s", vec![1, 2, 3, 4], 3, |x| *x as i64);
        assert_eq!(rows, vec![1, 2, 3]);
        assert_eq!(start("s", token.as_deref(), None).unwrap().after_seq, Some(3));
    }
}
