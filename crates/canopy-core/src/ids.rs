//! The injected id source. Formats follow what AWS issues (api-facts §4.1): `o-` + 10, `r-` + 4,
//! `ou-<root suffix>-` + 8, 12-digit accounts, `car-` + 32, `p-` + 8.
//!
//! Ids of rows created in bulk (OUs, policies, create-account requests, handshakes,
//! responsibility transfers) start with a sequence number and end with random characters, in
//! the spirit of ULID / UUIDv7: consecutive ids sort together, so the rows a group commit
//! inserts share the rightmost B-tree pages of every index keyed by them (the table's primary
//! key, policy attachments by target, tags by resource) instead of each dirtying a random page.
//! Measured on the SQLite file store (bench/walframes.sh): each further CreateOrganizationalUnit
//! in a group commit adds about 1.1 WAL pages to it instead of 4.6, so a commit is fewer bytes
//! to sync. The random tail keeps ids unguessable enough for an emulator, and callers still
//! check uniqueness. Organization, root and account ids stay fully random: few are created, and
//! users know an account id as 12 random digits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

pub trait IdSource: Send + Sync + 'static {
    fn organization_id(&self) -> String;
    fn root_id(&self) -> String;
    /// `root_id` is `r-xxxx`; OU ids embed its suffix.
    fn ou_id(&self, root_id: &str) -> String;
    fn account_id(&self) -> String;
    fn create_account_request_id(&self) -> String;
    /// A customer policy id: `p-` + 8 lowercase alphanumerics.
    fn policy_id(&self) -> String {
        format!("p-{}", sequenced(LOWER_ALNUM, 8))
    }
    /// An access key id: `prefix` (`AKIA` long-term, `ASIA` temporary) + 16 of `A-Z2-7`.
    fn access_key_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", random_from(UPPER_BASE32, 16))
    }
    /// A handshake id: `h-` + 10 lowercase alphanumerics (the model allows 8 to 32).
    fn handshake_id(&self) -> String {
        format!("h-{}", sequenced(LOWER_ALNUM, 10))
    }
    /// A resource (delegation) policy id: `rp-` + 8 lowercase alphanumerics (the model allows 4 to 128).
    fn resource_policy_id(&self) -> String {
        format!("rp-{}", random_from(LOWER_ALNUM, 8))
    }
    /// A responsibility transfer id: `rt-` + 12 lowercase alphanumerics (the model allows 8 to 32).
    fn responsibility_transfer_id(&self) -> String {
        format!("rt-{}", sequenced(LOWER_ALNUM, 12))
    }
    /// A unique id of an IAM principal: `prefix` (`AROA` role, `AIDA` user) + 17 of `A-Z2-7`.
    fn principal_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", random_from(UPPER_BASE32, 17))
    }
}

const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// In ASCII order, so a sequence written in it sorts as its number does.
const LOWER_ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const LOWER_HEX: &[u8] = b"0123456789abcdef";
/// Leading characters of a sequenced id that carry the sequence: 4 base-36 digits (1.68 million
/// values before it wraps, which only starts a new insertion point) or 8 hex digits.
const SEQUENCE_DIGITS: usize = 4;
const SEQUENCE_HEX_DIGITS: usize = 8;

pub struct RandomIds;

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// The process-wide id sequence. Seeded from the wall clock in seconds, so a restarted server
/// continues after (not among) the ids of its predecessor unless that one ran ahead of the
/// clock; an overlap costs only locality, never uniqueness.
fn next_sequence() -> u64 {
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    NEXT.get_or_init(|| AtomicU64::new(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())))
        .fetch_add(1, Ordering::Relaxed)
}

/// `len` characters of `alphabet`: the next sequence number, then random ones.
fn sequenced(alphabet: &[u8], len: usize) -> String {
    let digits = if alphabet.len() == 16 { SEQUENCE_HEX_DIGITS } else { SEQUENCE_DIGITS };
    let mut id = sequence_digits(next_sequence(), alphabet, digits);
    id.push_str(&random_from(alphabet, len - digits));
    id
}

/// `n` low digits of `seq` in base `alphabet.len()`, most significant first.
fn sequence_digits(mut seq: u64, alphabet: &[u8], n: usize) -> String {
    let base = alphabet.len() as u64;
    let mut out = vec![b'0'; n];
    for slot in out.iter_mut().rev() {
        *slot = alphabet[(seq % base) as usize];
        seq /= base;
    }
    out.into_iter().map(char::from).collect()
}

impl IdSource for RandomIds {
    fn organization_id(&self) -> String {
        format!("o-{}", random_from(LOWER_ALNUM, 10))
    }
    fn root_id(&self) -> String {
        format!("r-{}", random_from(LOWER_ALNUM, 4))
    }
    fn ou_id(&self, root_id: &str) -> String {
        let suffix = root_id.strip_prefix("r-").unwrap_or(root_id);
        format!("ou-{}-{}", suffix, sequenced(LOWER_ALNUM, 8))
    }
    fn account_id(&self) -> String {
        random_from(b"0123456789", 12)
    }
    fn create_account_request_id(&self) -> String {
        format!("car-{}", sequenced(LOWER_HEX, 32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_in(s: &str, alphabet: &[u8]) -> bool {
        s.bytes().all(|b| alphabet.contains(&b))
    }

    #[test]
    fn sequence_digits_sort_as_their_numbers() {
        let encoded: Vec<String> = (0..5000u64).map(|n| sequence_digits(n * 331, LOWER_ALNUM, 4)).collect();
        assert!(encoded.windows(2).all(|w| w[0] < w[1]), "base 36 keeps numeric order");
        assert_eq!(sequence_digits(0, LOWER_ALNUM, 4), "0000");
        assert_eq!(sequence_digits(36 * 36 * 36 * 36 + 35, LOWER_ALNUM, 4), "000z", "wraps to the low digits");
        assert_eq!(sequence_digits(0xabc, LOWER_HEX, 8), "00000abc");
    }

    #[test]
    fn ids_keep_aws_formats() {
        let ids = RandomIds;
        for _ in 0..200 {
            let ou = ids.ou_id("r-ab12");
            let tail = ou.strip_prefix("ou-ab12-").expect("root suffix embedded");
            assert!(tail.len() == 8 && all_in(tail, LOWER_ALNUM), "{ou}");
            let p = ids.policy_id();
            assert!(p.len() == 10 && all_in(&p[2..], LOWER_ALNUM), "{p}");
            let car = ids.create_account_request_id();
            assert!(car.len() == 36 && car.starts_with("car-") && all_in(&car[4..], LOWER_HEX), "{car}");
            let h = ids.handshake_id();
            assert!(h.len() == 12 && all_in(&h[2..], LOWER_ALNUM), "{h}");
            let rt = ids.responsibility_transfer_id();
            assert!(rt.len() == 15 && all_in(&rt[3..], LOWER_ALNUM), "{rt}");
        }
    }

    #[test]
    fn each_id_follows_the_one_before() {
        // Other tests take sequence numbers in parallel, so b follows a closely, not at once.
        let ids = RandomIds;
        let value = |ou: &str| ou[8..12].bytes().fold(0u64, |v, b| v * 36 + LOWER_ALNUM.iter().position(|&c| c == b).unwrap_or(0) as u64);
        let a = ids.ou_id("r-ab12");
        let b = ids.ou_id("r-ab12");
        let ahead = (value(&b) + 36u64.pow(4) - value(&a)) % 36u64.pow(4);
        assert!((1..10_000).contains(&ahead), "{a} then {b}");
    }
}
