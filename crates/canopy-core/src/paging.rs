//! Opaque NextTokens. A token holds the last `seq` served and a digest of that `seq` with the
//! list it belongs to (operation and scope), so a token from another list, a truncated or an
//! edited one is INVALID_NEXT_TOKEN. The digest is not keyed: it makes tokens tamper-evident,
//! not secret (a token made by hand from Canopy's source could only start the caller's own list
//! at another place). A page is fetched with one extra row so that the last page never carries
//! a token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
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

/// Up to `limit + 1` rows after the page's start that `keep` accepts, for a list whose rows are
/// filtered after they are read (a state computed from the clock, an account still being created
/// or purged). The first read asks for `limit + 1` rows, as an unfiltered list does; when `keep`
/// drops some, further reads of [`REFILL_BATCH`] follow until the page is full or the rows run
/// out. A page is then short only at the end of the list, and a filter that matches few rows
/// costs one request instead of one per page of rows it drops.
pub fn collect<T, E>(
    page: &PageRequest,
    mut fetch: impl FnMut(Option<i64>, usize) -> Result<Vec<T>, E>,
    seq_of: impl Fn(&T) -> i64,
    mut keep: impl FnMut(&T) -> bool,
) -> Result<Vec<T>, E> {
    let wanted = page.limit + 1;
    let mut out = Vec::with_capacity(wanted);
    let mut after = page.after_seq;
    let mut batch_size = wanted;
    loop {
        let batch = fetch(after, batch_size)?;
        let exhausted = batch.len() < batch_size;
        for row in batch {
            after = Some(seq_of(&row));
            if keep(&row) {
                out.push(row);
                if out.len() == wanted {
                    return Ok(out);
                }
            }
        }
        if exhausted {
            return Ok(out);
        }
        batch_size = REFILL_BATCH;
    }
}

/// Rows per read after the first, when a filter dropped rows of the page.
const REFILL_BATCH: usize = 100;

const VERSION: u8 = 2;
const DIGEST_BYTES: usize = 16;
/// Version, `seq` (big-endian), digest.
const TOKEN_BYTES: usize = 1 + 8 + DIGEST_BYTES;

fn digest(scope: &str, seq: i64) -> [u8; DIGEST_BYTES] {
    let mut hash = Sha256::new();
    hash.update(b"canopy NextToken v2\0");
    hash.update(scope.as_bytes());
    hash.update([0]);
    hash.update(seq.to_be_bytes());
    let full = hash.finalize();
    let mut out = [0; DIGEST_BYTES];
    out.copy_from_slice(&full[..DIGEST_BYTES]);
    out
}

pub fn encode(scope: &str, seq: i64) -> String {
    let mut raw = [0u8; TOKEN_BYTES];
    raw[0] = VERSION;
    raw[1..9].copy_from_slice(&seq.to_be_bytes());
    raw[9..].copy_from_slice(&digest(scope, seq));
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode(scope: &str, token: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    if raw.len() != TOKEN_BYTES || raw[0] != VERSION {
        return None;
    }
    let seq = i64::from_be_bytes(raw[1..9].try_into().ok()?);
    (seq >= 0 && raw[9..] == digest(scope, seq)).then_some(seq)
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
    fn tokens_are_opaque_and_tamper_evident() {
        let scope = "ListAccounts/o-abcdefghij";
        let t = encode(scope, 42);
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("o-abcdefghij"), "the scope is not readable in the token");
        // Any one changed byte, a cut token or one made for another seq is refused.
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            assert!(start(scope, Some(&URL_SAFE_NO_PAD.encode(&bad)), None).is_err(), "byte {i} flipped");
        }
        assert!(start(scope, Some(&URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1])), None).is_err());
        let mut other_seq = raw.clone();
        other_seq[1..9].copy_from_slice(&0i64.to_be_bytes());
        assert!(start(scope, Some(&URL_SAFE_NO_PAD.encode(&other_seq)), None).is_err());
        // The token of the earlier format, readable and editable, is no longer taken.
        let old = URL_SAFE_NO_PAD.encode(format!("v1|{scope}|0"));
        assert!(start(scope, Some(&old), None).is_err());
    }

    #[test]
    fn collect_refills_a_page_the_filter_thinned() {
        // Rows 1..=500; only multiples of 7 are kept.
        let rows: Vec<i64> = (1..=500).collect();
        let mut reads = 0;
        let mut fetch = |after: Option<i64>, n: usize| -> Result<Vec<i64>, ()> {
            reads += 1;
            Ok(rows.iter().copied().filter(|r| after.is_none_or(|a| *r > a)).take(n).collect())
        };
        let page = PageRequest { after_seq: None, limit: 3 };
        let got = collect(&page, &mut fetch, |r| *r, |r| r % 7 == 0).unwrap();
        assert_eq!(got, vec![7, 14, 21, 28], "limit + 1 kept rows");
        let (served, token) = finish("s", got, 3, |r| *r);
        assert_eq!(served, vec![7, 14, 21]);
        // The next page starts after the last row served, not after the last row read.
        let page = start("s", token.as_deref(), Some(3)).unwrap();
        assert_eq!(collect(&page, &mut fetch, |r| *r, |r| r % 7 == 0).unwrap(), vec![28, 35, 42, 49]);
        // A filter that matches nothing reads to the end in one call, and gives no token.
        let page = PageRequest { after_seq: None, limit: 20 };
        let got = collect(&page, &mut fetch, |r| *r, |_| false).unwrap();
        assert!(got.is_empty());
        assert!(finish("s", got, 20, |r| *r).1.is_none());
        // Nothing dropped: one read of limit + 1 rows, as without the filter.
        reads = 0;
        let page = PageRequest { after_seq: Some(100), limit: 5 };
        let mut fetch = |after: Option<i64>, n: usize| -> Result<Vec<i64>, ()> {
            reads += 1;
            Ok(rows.iter().copied().filter(|r| after.is_none_or(|a| *r > a)).take(n).collect())
        };
        assert_eq!(collect(&page, &mut fetch, |r| *r, |_| true).unwrap(), vec![101, 102, 103, 104, 105, 106]);
        assert_eq!(reads, 1);
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
