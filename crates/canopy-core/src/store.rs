//! The storage contract. Core defines it; `canopy-store` implements it (SQLite now, PostgreSQL
//! later). Operations run as synchronous closures over a [`Tx`]; the store decides where they
//! run (a writer thread with group commit for SQLite) and makes each closure one transaction.
//!
//! Rules every implementation keeps:
//! - a `write` closure's changes are all applied or none are (a closure returning `Err` leaves
//!   the stored state as it was), and are durable before the future resolves;
//! - writes to the store are serialized: a closure sees every write acknowledged before it ran;
//! - a closure may be run more than once (retry after a serialization conflict), so it must not
//!   have side effects outside the `Tx`;
//! - lists are ordered by `seq` (insertion order) and paged with `after_seq` (exclusive);
//! - an update or delete of a row that does not exist does nothing (core checks existence first).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use canopy_api::{ApiError, PolicyType};

use crate::records::*;

/// A failure of the storage layer itself (I/O, a broken database, a lost connection).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

/// Why an operation closure failed: a domain refusal (answered to the client as is) or a
/// storage failure (answered as an opaque ServiceException).
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type StoreResult<T> = Result<T, StoreError>;
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// A type-erased transaction closure; `Canopy::read` / `Canopy::write` are the typed entry points.
pub type TxFn = Box<dyn FnMut(&mut dyn Tx) -> Result<Box<dyn Any + Send>, OpError> + Send + 'static>;

pub trait Store: Send + Sync + 'static {
    /// Runs `f` over a consistent snapshot. Write methods of the `Tx` fail with `Backend`.
    fn read(&self, f: TxFn) -> BoxFuture<Result<Box<dyn Any + Send>, OpError>>;
    /// Runs `f` as one durable transaction.
    fn write(&self, f: TxFn) -> BoxFuture<Result<Box<dyn Any + Send>, OpError>>;
    /// Deletes everything (the dev-mode reset endpoint).
    fn reset(&self) -> BoxFuture<StoreResult<()>>;
    /// A short name for logs: "sqlite-file", "sqlite-memory", "postgres".
    fn kind(&self) -> &'static str;
}

/// Data access inside one transaction. Keys: organizations, roots, OUs, create-account requests
/// and tags are found by their globally unique ids; accounts by (partition, account id), since
/// the same 12 digits in two partitions are two accounts.
pub trait Tx {
    // --- organizations ---
    fn org_get(&mut self, org_id: &str) -> StoreResult<Option<OrganizationRecord>>;
    fn org_insert(&mut self, org: &OrganizationRecord) -> StoreResult<()>;
    fn org_update(&mut self, org: &OrganizationRecord) -> StoreResult<()>;
    /// Deletes the organization and everything that belongs to it (roots, OUs, create-account
    /// statuses, tags of its resources, policies and attachments). Accounts are not deleted here: core detaches them first.
    fn org_delete(&mut self, org_id: &str) -> StoreResult<()>;

    // --- roots ---
    fn root_get(&mut self, root_id: &str) -> StoreResult<Option<RootRecord>>;
    fn root_list(&mut self, org_id: &str) -> StoreResult<Vec<RootRecord>>;
    fn root_insert(&mut self, root: &RootRecord) -> StoreResult<()>;
    fn root_update(&mut self, root: &RootRecord) -> StoreResult<()>;

    // --- organizational units ---
    fn ou_get(&mut self, ou_id: &str) -> StoreResult<Option<OuRecord>>;
    /// Assigns `seq`; returns the stored record.
    fn ou_insert(&mut self, ou: &OuRecord) -> StoreResult<OuRecord>;
    /// Updates name and parent.
    fn ou_update(&mut self, ou: &OuRecord) -> StoreResult<()>;
    fn ou_delete(&mut self, ou_id: &str) -> StoreResult<()>;
    fn ou_list_by_parent(&mut self, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<OuRecord>>;
    /// The OU of that exact name directly under `parent_id`, if any.
    fn ou_find_by_name(&mut self, parent_id: &str, name: &str) -> StoreResult<Option<OuRecord>>;
    fn ou_count(&mut self, org_id: &str) -> StoreResult<u64>;
    fn ou_count_by_parent(&mut self, parent_id: &str) -> StoreResult<u64>;

    // --- accounts (members and standalone accounts alike) ---
    fn account_get(&mut self, partition: &str, account_id: &str) -> StoreResult<Option<AccountRecord>>;
    /// Assigns `seq`; returns the stored record.
    fn account_insert(&mut self, account: &AccountRecord) -> StoreResult<AccountRecord>;
    /// Replaces every field but `seq`.
    fn account_update(&mut self, account: &AccountRecord) -> StoreResult<()>;
    /// Accounts of an organization, in `seq` order.
    fn account_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountRecord>>;
    fn account_list_by_parent(&mut self, org_id: &str, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountRecord>>;
    fn account_count(&mut self, org_id: &str) -> StoreResult<u64>;
    fn account_count_by_parent(&mut self, org_id: &str, parent_id: &str) -> StoreResult<u64>;
    /// An account of `partition` (member or standalone) with this email (exact match,
    /// case-insensitive), if any: account emails are unique across AWS, not per organization.
    fn account_find_by_email(&mut self, partition: &str, email: &str) -> StoreResult<Option<AccountRecord>>;

    // --- create-account requests ---
    fn car_get(&mut self, org_id: &str, car_id: &str) -> StoreResult<Option<CreateAccountRecord>>;
    /// Assigns `seq`; returns the stored record.
    fn car_insert(&mut self, car: &CreateAccountRecord) -> StoreResult<CreateAccountRecord>;
    fn car_update(&mut self, car: &CreateAccountRecord) -> StoreResult<()>;
    /// In `seq` order. The state filter is applied by core (states derive from timestamps).
    fn car_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<CreateAccountRecord>>;

    // --- tags (on roots, OUs, accounts, policies; keyed by resource id within an org) ---
    /// Tags of a resource, ordered by key.
    fn tags_get(&mut self, org_id: &str, resource_id: &str) -> StoreResult<Vec<TagRecord>>;
    /// Inserts or overwrites each given key.
    fn tags_put(&mut self, org_id: &str, resource_id: &str, tags: &[TagRecord]) -> StoreResult<()>;
    fn tags_delete(&mut self, org_id: &str, resource_id: &str, keys: &[String]) -> StoreResult<()>;
    fn tags_delete_all(&mut self, org_id: &str, resource_id: &str) -> StoreResult<()>;

    // --- customer-managed policies (keyed by (org, policy id)) ---
    /// The customer policy `policy_id` of `org_id`, if any.
    fn policy_get(&mut self, org_id: &str, policy_id: &str) -> StoreResult<Option<PolicyRecord>>;
    /// Assigns `seq`; returns the stored record.
    fn policy_insert(&mut self, policy: &PolicyRecord) -> StoreResult<PolicyRecord>;
    /// Updates name, description, content and `updated_ms` (never the type).
    fn policy_update(&mut self, policy: &PolicyRecord) -> StoreResult<()>;
    /// Deletes the policy row only (core deletes its tags and checks it is unattached first).
    fn policy_delete(&mut self, org_id: &str, policy_id: &str) -> StoreResult<()>;
    /// Policies of one type of an organization, in `seq` order.
    fn policy_list(&mut self, org_id: &str, policy_type: PolicyType, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<PolicyRecord>>;
    /// Customer policies of one type in an organization.
    fn policy_count(&mut self, org_id: &str, policy_type: PolicyType) -> StoreResult<u64>;
    /// The policy of that type with exactly this name (case-sensitive), if any.
    fn policy_find_by_name(&mut self, org_id: &str, policy_type: PolicyType, name: &str) -> StoreResult<Option<PolicyRecord>>;

    // --- policy attachments ---
    /// Assigns `seq` (the attachment order); returns the stored record. Attaching the same
    /// (org, policy, target) twice is a store error: core checks first.
    fn attachment_insert(&mut self, attachment: &PolicyAttachmentRecord) -> StoreResult<PolicyAttachmentRecord>;
    fn attachment_get(&mut self, org_id: &str, policy_id: &str, target_id: &str) -> StoreResult<Option<PolicyAttachmentRecord>>;
    fn attachment_delete(&mut self, org_id: &str, policy_id: &str, target_id: &str) -> StoreResult<()>;
    /// Direct attachments of a target, of one type (or every type with `None`), in attachment order.
    fn attachment_list_by_target(
        &mut self,
        org_id: &str,
        target_id: &str,
        policy_type: Option<PolicyType>,
        after_seq: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<PolicyAttachmentRecord>>;
    /// Targets a policy is attached to, in attachment order.
    fn attachment_list_by_policy(&mut self, org_id: &str, policy_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<PolicyAttachmentRecord>>;
    /// Direct attachments of one type on a target.
    fn attachment_count_by_target(&mut self, org_id: &str, target_id: &str, policy_type: PolicyType) -> StoreResult<u64>;
    /// Targets a policy is attached to.
    fn attachment_count_by_policy(&mut self, org_id: &str, policy_id: &str) -> StoreResult<u64>;
    /// Detaches every policy of a type from every target of the organization (DisablePolicyType).
    fn attachment_delete_by_type(&mut self, org_id: &str, policy_type: PolicyType) -> StoreResult<()>;
    /// Detaches everything from a target (its OU was deleted or its account left).
    fn attachment_delete_by_target(&mut self, org_id: &str, target_id: &str) -> StoreResult<()>;

    // --- identity: issued credentials and assumable roles (not scoped to an organization) ---
    fn credential_get(&mut self, access_key_id: &str) -> StoreResult<Option<CredentialRecord>>;
    /// Inserting an access key id that exists is a store error (ids are random; core never reuses one).
    fn credential_insert(&mut self, credential: &CredentialRecord) -> StoreResult<()>;
    /// Long-term credentials (those without a session token).
    fn credential_count_long_term(&mut self) -> StoreResult<u64>;
    /// Deletes temporary credentials that expired before `now_ms`.
    fn credential_delete_expired(&mut self, now_ms: i64) -> StoreResult<()>;
    fn role_get(&mut self, partition: &str, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>>;
    /// Inserts or replaces the role of that (partition, account, name).
    fn role_put(&mut self, role: &RoleRecord) -> StoreResult<()>;

    // ---- section HANDSHAKES: handshakes and EnableAllFeatures ----
    // ---- end HANDSHAKES ----
    // ---- section DELEGATION: trusted access, delegated administrators and the resource policy ----
    // ---- end DELEGATION ----
    // ---- section GOVCLOUD: GovCloud accounts, responsibility transfers and caller principals ----
    // ---- end GOVCLOUD ----
}
