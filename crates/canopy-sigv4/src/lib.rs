//! Pure AWS Signature Version 4 handling: no I/O, no async, no clock (the caller passes `now`).
//!
//! Parsing: the credentials a request carries, from the `Authorization` header
//! ([`parse_authorization_header`]) or from presigned query parameters ([`parse_presigned_query`]),
//! into a [`ParsedAuth`]. `dev` auth in the server uses only the parse: the access key id picks
//! the caller, the credential scope picks the region.
//!
//! Verification (strict auth): [`Pending::from_request`] parses a [`SignedRequest`] and checks
//! its time (±15 minutes; a presigned URL until `X-Amz-Expires`), then [`Pending::verify`] with
//! the secret of the access key id rebuilds the canonical request, derives the signing key and
//! compares signatures in constant time, returning a [`Verified`] request (never a bool). The
//! two steps let a server look the secret up asynchronously; [`verify`] does both in one call.

mod parse;
mod verify;

pub use verify::{
    canonical_request, format_request_time, parse_request_time, signature, signing_key, verify, Pending, Scope,
    SigV4Error, SignedRequest, Verified, MAX_PRESIGNED_EXPIRES_SECS, MAX_SKEW_SECS, UNSIGNED_PAYLOAD,
};

pub use parse::{parse_authorization_header, parse_credential, parse_presigned_query, percent_decode};

/// The only signing algorithm AWS uses for SigV4.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every SigV4 credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";

/// Where the credentials were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthSource {
    /// The `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
    Header,
    /// `X-Amz-Algorithm`, `X-Amz-Credential`, … query parameters (a presigned URL).
    Query,
}

/// The credential part `AKID/yyyymmdd/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `yyyymmdd`, eight ASCII digits.
    pub date: String,
    pub region: String,
    pub service: String,
}

/// The SigV4 credentials of one request, syntactically valid but **not verified**.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub access_key_id: String,
    /// Credential scope date, `yyyymmdd`.
    pub date: String,
    /// Credential scope region (any string; clients with a custom endpoint sign with theirs).
    pub region: String,
    /// Credential scope service (`organizations`, `sts`, …).
    pub service: String,
    /// Lower-case header names, in the order given (SigV4 requires them sorted; not checked here).
    pub signed_headers: Vec<String>,
    /// Lower-case hex signature as sent.
    pub signature: String,
    pub source: AuthSource,
    /// `X-Amz-Date` (`yyyymmddThhmmssZ`) for presigned requests; for header auth it is a header
    /// and is not seen by this parser.
    pub request_time: Option<String>,
    /// `X-Amz-Expires` (seconds) for presigned requests, when present.
    pub expires_secs: Option<u64>,
}

/// What is malformed about a request's SigV4 credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unsupported signing algorithm {0:?} (expected AWS4-HMAC-SHA256)")]
    UnsupportedAlgorithm(String),
    #[error("authorization is missing the {0} component")]
    MissingComponent(&'static str),
    #[error("authorization component {0:?} appears more than once")]
    DuplicateComponent(&'static str),
    #[error("malformed authorization component: {0:?}")]
    MalformedComponent(String),
    #[error("credential {0:?} must have the form ACCESS_KEY_ID/yyyymmdd/region/service/aws4_request")]
    MalformedCredential(String),
    #[error("credential has an empty access key id")]
    EmptyAccessKeyId,
    #[error("credential date {0:?} is not yyyymmdd")]
    InvalidDate(String),
    #[error("credential has an empty {0}")]
    EmptyScopeField(&'static str),
    #[error("credential scope must end with aws4_request, not {0:?}")]
    InvalidTerminator(String),
    #[error("SignedHeaders is empty or has an empty or non-lower-case header name: {0:?}")]
    InvalidSignedHeaders(String),
    #[error("signature {0:?} is not a non-empty hex string")]
    InvalidSignature(String),
    #[error("query parameter {0} is not valid percent-encoded UTF-8")]
    InvalidEncoding(&'static str),
    #[error("X-Amz-Date {0:?} is not yyyymmddThhmmssZ")]
    InvalidRequestTime(String),
    #[error("X-Amz-Expires {0:?} is not a number of seconds")]
    InvalidExpires(String),
}
