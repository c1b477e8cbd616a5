//! The injected id source. Formats follow what AWS issues (api-facts §4.1): `o-` + 10, `r-` + 4,
//! `ou-<root suffix>-` + 8, 12-digit accounts, `car-` + 32, `p-` + 8.

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
        format!("p-{}", random_from(LOWER_ALNUM, 8))
    }
    /// An access key id: `prefix` (`AKIA` long-term, `ASIA` temporary) + 16 of `A-Z2-7`.
    fn access_key_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", random_from(UPPER_BASE32, 16))
    }
    /// A handshake id: `h-` + 10 lowercase alphanumerics (the model allows 8 to 32).
    fn handshake_id(&self) -> String {
        format!("h-{}", random_from(LOWER_ALNUM, 10))
    }
    /// A resource (delegation) policy id: `rp-` + 8 lowercase alphanumerics (the model allows 4 to 128).
    fn resource_policy_id(&self) -> String {
        format!("rp-{}", random_from(LOWER_ALNUM, 8))
    }
    /// A responsibility transfer id: `rt-` + 12 lowercase alphanumerics (the model allows 8 to 32).
    fn responsibility_transfer_id(&self) -> String {
        format!("rt-{}", random_from(LOWER_ALNUM, 12))
    }
    /// A unique id of an IAM principal: `prefix` (`AROA` role, `AIDA` user) + 17 of `A-Z2-7`.
    fn principal_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", random_from(UPPER_BASE32, 17))
    }
}

const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub struct RandomIds;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
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
        format!("ou-{}-{}", suffix, random_from(LOWER_ALNUM, 8))
    }
    fn account_id(&self) -> String {
        random_from(b"0123456789", 12)
    }
    fn create_account_request_id(&self) -> String {
        format!("car-{}", random_from(b"0123456789abcdef", 32))
    }
}
