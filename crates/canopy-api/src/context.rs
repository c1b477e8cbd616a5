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
    /// The principal inside the account that signed: `arn:<partition>:iam::<account>:root`,
    /// `…:iam::<account>:user/NAME`, or `arn:<partition>:sts::<account>:assumed-role/ROLE/SESSION`.
    pub principal_arn: String,
    pub principal_type: PrincipalType,
    /// GetCallerIdentity's UserId (`aws:userid`): the account id for the root user, `AIDA…` for
    /// an IAM user, `AROA…:SESSION` for a role session.
    pub user_id: String,
    /// When the temporary credentials signing the request were issued (`aws:TokenIssueTime`,
    /// Unix ms); `None` for long-term keys.
    pub token_issued_ms: Option<i64>,
    /// An AssumeRole session's policy, tags and source identity; `None` for long-term keys.
    pub session: Option<SessionFacts>,
    /// The client's address as the server saw it (`aws:SourceIp` for SCP conditions); `None`
    /// where there is no connection (the CLI's local commands, library use).
    pub source_ip: Option<std::net::IpAddr>,
}

/// An AssumeRole session's session policy, session tags and source identity: they restrict
/// and describe the session's calls (the policy must allow them; the tags are
/// `aws:PrincipalTag/*`, the source identity `aws:SourceIdentity`), and the transitive tags and
/// the source identity carry over to a session it assumes in turn (role chaining).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionFacts {
    /// The inline session policy (AssumeRole's `Policy`), as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Session tags, keys unique without regard to case, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// The keys of `tags` that pass on to a chained session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

impl SessionFacts {
    /// The stored form (a JSON object).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    pub fn from_json(text: &str) -> Result<SessionFacts, String> {
        serde_json::from_str(text).map_err(|e| format!("session facts: {e}"))
    }
}

/// What kind of principal signed a request (SCP conditions such as `aws:PrincipalType` and
/// `aws:PrincipalArn` tell them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    /// The account's root user: dev auth's caller, and keys issued without a user name.
    Root,
    IamUser,
    /// An STS AssumeRole session.
    AssumedRole,
}

impl Caller {
    /// The root user of `account_id`.
    pub fn root(account_id: impl Into<String>, partition: impl Into<String>, region: impl Into<String>, access_key_id: impl Into<String>) -> Caller {
        let (account_id, partition) = (account_id.into(), partition.into());
        Caller {
            principal_arn: format!("arn:{partition}:iam::{account_id}:root"),
            principal_type: PrincipalType::Root,
            user_id: account_id.clone(),
            token_issued_ms: None,
            session: None,
            account_id,
            partition,
            region: region.into(),
            access_key_id: access_key_id.into(),
            source_ip: None,
        }
    }
}

/// Everything an operation needs to know about the request besides its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub caller: Caller,
    /// The `x-amzn-RequestId` the server answers with; handy for log correlation.
    pub request_id: String,
}
