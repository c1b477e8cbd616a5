//! Stored records. Plain data: rules live in the operation modules, SQL in `canopy-store`.
//! Times are epoch milliseconds. Enums are the wire enums of `canopy-api`.

use canopy_api::{
    AccountJoinedMethod, CreateAccountFailureReason, OrganizationFeatureSet, PolicyType,
};

#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationRecord {
    pub id: String,
    pub partition: String,
    pub management_account_id: String,
    pub feature_set: OrganizationFeatureSet,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RootRecord {
    pub id: String,
    pub org_id: String,
    pub name: String,
    /// Policy types enabled on this root, in the order they were enabled.
    pub enabled_policy_types: Vec<PolicyType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OuRecord {
    pub id: String,
    pub org_id: String,
    pub parent_id: String,
    pub name: String,
    pub created_ms: i64,
    /// Insertion order, assigned by the store; 0 before insertion.
    pub seq: i64,
}

/// An account known to Canopy: a member of an organization (`org_id` set) or standalone.
/// Status and State are not stored: they derive from the closure timestamps and the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub partition: String,
    pub id: String,
    pub name: String,
    pub email: String,
    pub org_id: Option<String>,
    /// Root or OU id; `None` when standalone.
    pub parent_id: Option<String>,
    pub joined_method: Option<AccountJoinedMethod>,
    pub joined_ms: Option<i64>,
    pub created_ms: i64,
    /// When CloseAccount was accepted (PENDING_CLOSURE until `closure_delay` has passed).
    pub close_requested_ms: Option<i64>,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateAccountRecord {
    pub id: String,
    pub org_id: String,
    pub account_name: String,
    pub email: String,
    pub requested_ms: i64,
    /// When the request finishes (requested + configured creation delay). Before it: IN_PROGRESS.
    pub completes_ms: i64,
    /// Set when the request succeeds (the account row is written at request time with this id).
    pub account_id: Option<String>,
    pub failure_reason: Option<CreateAccountFailureReason>,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagRecord {
    pub key: String,
    pub value: String,
}

/// A customer-managed policy. AWS-managed policies (`p-FullAWSAccess`, `p-RCPFullAWSAccess`)
/// are never stored: core synthesizes them for every organization.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    pub id: String,
    pub org_id: String,
    pub policy_type: PolicyType,
    pub name: String,
    pub description: String,
    /// The document exactly as received (size quotas count it as is).
    pub content: String,
    pub created_ms: i64,
    /// Last CreatePolicy/UpdatePolicy that changed the policy.
    pub updated_ms: i64,
    /// Insertion order, assigned by the store; 0 before insertion.
    pub seq: i64,
}

/// A policy directly attached to a root, OU or account. `policy_id` may name an AWS-managed
/// policy; attachments are scoped by organization.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyAttachmentRecord {
    pub org_id: String,
    pub policy_id: String,
    pub target_id: String,
    /// The policy's type, copied so that per-type lists and counts need no join.
    pub policy_type: PolicyType,
    pub attached_ms: i64,
    /// Attachment order, assigned by the store (monotonic; detach + re-attach moves a policy to
    /// the end); 0 before insertion.
    pub seq: i64,
}

/// An access key Canopy issued: long-term (`canopy credentials create`) or temporary (STS
/// AssumeRole, with a session token and an expiry). The secret is never stored in clear.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord {
    pub access_key_id: String,
    pub partition: String,
    pub account_id: String,
    /// The resource part of the principal's ARN: `root`, `user/NAME` or
    /// `assumed-role/ROLE/SESSION` (an `sts` ARN).
    pub principal: String,
    /// GetCallerIdentity's UserId: the account id (root), `AIDA…` (user) or `AROA…:SESSION`.
    pub user_id: String,
    /// The secret access key sealed under the server's master key (AES-256-GCM, nonce first,
    /// base64); only the holder of the master key can recover it.
    pub secret_sealed: String,
    /// SHA-256 (hex) of the session token of temporary credentials.
    pub session_token_sha256: Option<String>,
    /// When temporary credentials stop working.
    pub expires_ms: Option<i64>,
    pub created_ms: i64,
}

/// An IAM role that STS AssumeRole can assume: CreateAccount makes one in every new account,
/// trusting the management account.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRecord {
    pub partition: String,
    pub account_id: String,
    pub name: String,
    /// `AROA…`, the first half of an assumed-role session's UserId.
    pub role_id: String,
    /// The only account whose principals the trust policy admits.
    pub trusted_account_id: String,
    pub created_ms: i64,
}

// ---- section HANDSHAKES: handshakes and EnableAllFeatures ----
// ---- end HANDSHAKES ----
// ---- section DELEGATION: trusted access, delegated administrators and the resource policy ----
// ---- end DELEGATION ----
// ---- section GOVCLOUD: GovCloud accounts, responsibility transfers and caller principals ----
// ---- end GOVCLOUD ----
