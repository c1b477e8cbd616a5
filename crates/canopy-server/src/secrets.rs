//! Secrets at rest. SigV4 verification needs the secret access key itself (it is the HMAC key),
//! so a one-way hash will not do: secrets are sealed with AES-256-GCM under a master key that
//! never enters the database (a key file beside a SQLite database, or a flag/environment
//! variable, which PostgreSQL replicas share). The access key id is the associated data, so a
//! sealed secret copied onto another key's row does not open. Session tokens are only compared,
//! so they are stored as SHA-256 hashes. Nothing here logs a secret: `MasterKey`'s `Debug` is
//! redacted.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// The key that seals issued secrets.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// A master key that is not 64 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("the master key must be 64 hexadecimal digits (32 bytes)")]
pub struct BadMasterKey;

impl MasterKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        MasterKey { cipher: Aes256Gcm::new(&key.into()) }
    }

    /// A fresh random key, and its hex form for a key file.
    pub fn generate() -> (Self, String) {
        let key: [u8; 32] = rand::rng().random();
        (Self::from_bytes(key), hex::encode(key))
    }

    /// Parses 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<Self, BadMasterKey> {
        let bytes = hex::decode(s.trim()).map_err(|_| BadMasterKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| BadMasterKey)?;
        Ok(Self::from_bytes(key))
    }

    /// `base64(nonce || ciphertext+tag)` of `secret`, bound to `access_key_id`.
    pub fn seal(&self, access_key_id: &str, secret: &str) -> String {
        let nonce: [u8; NONCE_LEN] = rand::rng().random();
        let sealed = self
            .cipher
            .encrypt(&nonce.into(), Payload { msg: secret.as_bytes(), aad: access_key_id.as_bytes() })
            .expect("AES-GCM encrypts any secret of a few bytes");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        B64.encode(out)
    }

    /// The secret sealed by [`MasterKey::seal`]; `None` when it was sealed under another key,
    /// for another access key id, or is damaged.
    pub fn open(&self, access_key_id: &str, sealed: &str) -> Option<String> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let plain = self.cipher.decrypt(&nonce.into(), Payload { msg: ciphertext, aad: access_key_id.as_bytes() }).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// A new secret access key: 40 characters of `A-Za-z0-9+/`, like AWS's.
pub fn new_secret_access_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    (0..40).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A new session token: 96 random bytes, base64 (opaque to clients, as AWS's are).
pub fn new_session_token() -> String {
    let mut bytes = [0u8; 96];
    rand::rng().fill(&mut bytes[..]);
    B64.encode(bytes)
}

/// SHA-256 of a session token, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let (key, hex) = MasterKey::generate();
        let secret = new_secret_access_key();
        assert_eq!(secret.len(), 40);
        let sealed = key.seal("AKIAONE", &secret);
        assert!(!sealed.contains(&secret));
        assert_eq!(key.open("AKIAONE", &sealed).as_deref(), Some(secret.as_str()));
        // Bound to its access key id, and to its key.
        assert_eq!(key.open("AKIATWO", &sealed), None);
        let (other, _) = MasterKey::generate();
        assert_eq!(other.open("AKIAONE", &sealed), None);
        // The hex form reloads the same key.
        assert_eq!(MasterKey::from_hex(&hex).unwrap().open("AKIAONE", &sealed).as_deref(), Some(secret.as_str()));
        // Two seals of one secret differ (random nonce); damage is refused.
        assert_ne!(key.seal("AKIAONE", &secret), sealed);
        assert_eq!(key.open("AKIAONE", "not base64!"), None);
        assert_eq!(key.open("AKIAONE", "AAAA"), None);
        assert!(MasterKey::from_hex("abcd").is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_session_token(), new_session_token());
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
