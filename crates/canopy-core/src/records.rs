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

/// The part of an account that ListChildren needs: its id, its place in `seq` order, and what
/// decides whether it is listed (reading whole rows was a third of that operation's store time).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountChildRecord {
    pub id: String,
    pub created_ms: i64,
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
    /// What an AssumeRole session was given besides its identity; `None` for long-term keys.
    pub session: Option<SessionFacts>,
}

pub use canopy_api::SessionFacts;

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

/// One party of a handshake, as the wire shows it (ORGANIZATION `o-…`, ACCOUNT, or EMAIL).
#[derive(Debug, Clone, PartialEq)]
pub struct HandshakePartyRecord {
    pub id: String,
    pub party_type: canopy_api::HandshakePartyType,
}

/// One resource of a handshake; resources nest (an ORGANIZATION carries MASTER_EMAIL...).
#[derive(Debug, Clone, PartialEq)]
pub struct HandshakeResourceRecord {
    pub resource_type: canopy_api::HandshakeResourceType,
    pub value: String,
    pub resources: Vec<HandshakeResourceRecord>,
}

/// A handshake of any action (INVITE, ENABLE_ALL_FEATURES, APPROVE_ALL_FEATURES,
/// TRANSFER_RESPONSIBILITY). Parties and resources are what the wire shows, kept whole (the
/// store keeps them as JSON text: they nest and only core reads inside them); the columns core
/// looks handshakes up by are fields of their own. EXPIRED and the 30-day visibility are not
/// stored: they derive from `expires_ms` / `ended_ms` and the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct HandshakeRecord {
    pub id: String,
    pub partition: String,
    /// Computed once when the handshake is made (it carries the sender's management account).
    pub arn: String,
    /// The organization that sent it (deleting the organization deletes its handshakes).
    pub org_id: String,
    pub action: canopy_api::ActionType,
    pub parties: Vec<HandshakePartyRecord>,
    pub resources: Vec<HandshakeResourceRecord>,
    /// Who may accept or decline: a 12-digit account id, or for an EMAIL target the address in
    /// lower case (an address always holds `@`, so the two never collide).
    pub recipient: String,
    /// The ENABLE_ALL_FEATURES handshake a child handshake belongs to.
    pub parent_id: Option<String>,
    /// REQUESTED or OPEN while pending, else the terminal state a party set (ACCEPTED,
    /// DECLINED, CANCELED). Never EXPIRED: that one is derived at read time.
    pub state: canopy_api::HandshakeState,
    pub requested_ms: i64,
    pub expires_ms: i64,
    /// When it reached its terminal state (None while pending).
    pub ended_ms: Option<i64>,
    /// Insertion order, assigned by the store; 0 before insertion.
    pub seq: i64,
}

/// The JSON text the store keeps for parties and resources: `[{"Id":…,"Type":…}]` and
/// `[{"Type":…,"Value":…,"Resources":[…]}]`, the wire's own spelling.
pub mod handshake_json {
    use super::{HandshakePartyRecord, HandshakeResourceRecord};
    use canopy_api::{HandshakePartyType, HandshakeResourceType};
    use serde_json::{json, Value};

    pub fn parties_to_json(parties: &[HandshakePartyRecord]) -> String {
        Value::Array(parties.iter().map(|p| json!({"Id": p.id, "Type": p.party_type.as_str()})).collect()).to_string()
    }

    pub fn parties_from_json(text: &str) -> Result<Vec<HandshakePartyRecord>, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("handshake parties: {e}"))?;
        let items = value.as_array().ok_or("handshake parties: not an array")?;
        items
            .iter()
            .map(|item| {
                let id = item.get("Id").and_then(Value::as_str).ok_or("handshake party without Id")?;
                let ty = item.get("Type").and_then(Value::as_str).ok_or("handshake party without Type")?;
                let party_type = HandshakePartyType::from_wire(ty).ok_or_else(|| format!("unknown handshake party type {ty:?}"))?;
                Ok(HandshakePartyRecord { id: id.to_string(), party_type })
            })
            .collect()
    }

    fn resource_value(r: &HandshakeResourceRecord) -> Value {
        let mut v = json!({"Type": r.resource_type.as_str(), "Value": r.value});
        if !r.resources.is_empty() {
            v["Resources"] = Value::Array(r.resources.iter().map(resource_value).collect());
        }
        v
    }

    pub fn resources_to_json(resources: &[HandshakeResourceRecord]) -> String {
        Value::Array(resources.iter().map(resource_value).collect()).to_string()
    }

    fn resource_from(item: &Value) -> Result<HandshakeResourceRecord, String> {
        let ty = item.get("Type").and_then(Value::as_str).ok_or("handshake resource without Type")?;
        let resource_type =
            HandshakeResourceType::from_wire(ty).ok_or_else(|| format!("unknown handshake resource type {ty:?}"))?;
        let value = item.get("Value").and_then(Value::as_str).unwrap_or_default().to_string();
        let resources = match item.get("Resources").and_then(Value::as_array) {
            Some(children) => children.iter().map(resource_from).collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(HandshakeResourceRecord { resource_type, value, resources })
    }

    pub fn resources_from_json(text: &str) -> Result<Vec<HandshakeResourceRecord>, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("handshake resources: {e}"))?;
        value.as_array().ok_or("handshake resources: not an array")?.iter().map(resource_from).collect()
    }
}
/// Trusted access of an AWS service to the organization (EnableAWSServiceAccess).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccessRecord {
    pub org_id: String,
    pub service_principal: String,
    pub enabled_ms: i64,
    /// Insertion order, assigned by the store; 0 before insertion.
    pub seq: i64,
}

/// A member account registered as delegated administrator of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct DelegatedAdminRecord {
    pub org_id: String,
    pub account_id: String,
    pub service_principal: String,
    pub registered_ms: i64,
    /// Insertion order, assigned by the store; 0 before insertion.
    pub seq: i64,
}

/// The organization's resource-based delegation policy (at most one per organization; its tags
/// live in the tags table under `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePolicyRecord {
    pub org_id: String,
    /// `rp-…`
    pub id: String,
    pub content: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}
/// The GovCloud (US) account that CreateGovCloudAccount made beside a commercial account: a
/// standalone account of the `aws-us-gov` partition, paired with the commercial one. Scoped by
/// the commercial organization whose request made the pair (its create-account status reports
/// the GovCloud id; deleting the organization drops the pairing with its statuses).
#[derive(Debug, Clone, PartialEq)]
pub struct GovCloudLinkRecord {
    pub org_id: String,
    /// The `car-…` request that made the pair.
    pub create_request_id: String,
    /// The commercial (`aws`) account.
    pub account_id: String,
    /// The `aws-us-gov` account.
    pub govcloud_account_id: String,
    pub created_ms: i64,
}

/// A responsibility (billing) transfer between two organizations. The inviting management
/// account takes the responsibility (the transfer's Target, "inbound" for it); the invited
/// organization gives it (Source, "outbound"). The Status is derived (see `ops::transfer`).
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    pub id: String,
    pub transfer_type: canopy_api::ResponsibilityTransferType,
    pub name: String,
    pub source_org_id: String,
    pub source_account_id: String,
    pub source_email: String,
    pub target_org_id: String,
    pub target_account_id: String,
    pub target_email: String,
    /// The TRANSFER_RESPONSIBILITY handshake that proposed it.
    pub handshake_id: String,
    /// What the handshake's answer made of it: REQUESTED (no answer yet), ACCEPTED, DECLINED,
    /// CANCELED, or WITHDRAWN (terminated). EXPIRED is derived from `expires_ms`.
    pub status: canopy_api::ResponsibilityTransferStatus,
    pub start_ms: i64,
    /// Set by TerminateResponsibilityTransfer: the last millisecond of a month.
    pub end_ms: Option<i64>,
    /// When an unanswered invitation expires.
    pub expires_ms: i64,
    pub created_ms: i64,
    /// Insertion order, assigned by the store; 0 before insertion.
    pub seq: i64,
}
