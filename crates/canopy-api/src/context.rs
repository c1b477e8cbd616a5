//! Who is calling, as resolved by the server from the SigV4 credential.

/// The verified (or, in dev auth, assumed) identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's 12-digit AWS account id.
    pub account_id: String,
    /// The partition picked from the signing region: `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// The region from the SigV4 credential scope (any region is accepted).
    pub region: String,
    /// The access key id the request was signed with.
    pub access_key_id: String,
}

/// Everything an operation needs to know about the request besides its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub caller: Caller,
    /// The `x-amzn-RequestId` the server answers with; handy for log correlation.
    pub request_id: String,
}
