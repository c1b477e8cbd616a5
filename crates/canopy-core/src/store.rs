//! The storage contract. Core defines it; `canopy-store` implements it (SQLite and PostgreSQL). Operations run as synchronous closures over a [`Tx`]; the store decides where they
//! run (a writer thread with group commit for SQLite) and makes each closure one transaction.
//!
//! Rules every implementation keeps:
//! - a `write` closure's changes are all applied or none are (a closure returning `Err` leaves
//!   the stored state as it was), and are durable before the future resolves;
//! - writes to the store are serialized: a closure sees every write acknowledged before it ran;
//! - a closure may be run more than once (a retry after a serialization conflict, or SQLite's
//!   second run of a batch with savepoints), so it must not have side effects outside the `Tx`;
//!   only the answer of the run that was committed reaches the caller;
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
    /// Why the store refuses every write until the server restarts, if it does (a failed sync
    /// of its log); health reports it.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// Data access inside one transaction. Keys: organizations, roots, OUs, create-account requests
/// and tags are found by their globally unique ids; accounts by (partition, account id), since
/// the same 12 digits in two partitions are two accounts.
pub trait Tx {
    // --- organizations ---
    fn org_get(&mut self, org_id: &str) -> StoreResult<Option<OrganizationRecord>>;
    fn org_insert(&mut self, org: &OrganizationRecord) -> StoreResult<()>;
    fn org_update(&mut self, org: &OrganizationRecord) -> StoreResult<()>;
    /// Deletes the organization and everything that belongs to it (roots, create-account
    /// statuses, tags of its resources, policies and attachments, handshakes, delegations,
    /// transfers). Accounts and OUs are not deleted here: core detaches the accounts and deletes
    /// the OUs first (walking the tree by parent, so no index of OUs by organization is needed).
    fn org_delete(&mut self, org_id: &str) -> StoreResult<()>;

    // --- roots ---
    fn root_get(&mut self, root_id: &str) -> StoreResult<Option<RootRecord>>;
    fn root_list(&mut self, org_id: &str) -> StoreResult<Vec<RootRecord>>;
    fn root_insert(&mut self, root: &RootRecord) -> StoreResult<()>;
    fn root_update(&mut self, root: &RootRecord) -> StoreResult<()>;

    // --- organizational units ---
    fn ou_get(&mut self, ou_id: &str) -> StoreResult<Option<OuRecord>>;
    /// Assigns `seq`; returns the stored record, or `None`, storing nothing, when the id is
    /// taken or the parent already has an OU of that exact name.
    fn ou_insert(&mut self, ou: &OuRecord) -> StoreResult<Option<OuRecord>>;
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
    /// The same accounts as [`Tx::account_list_by_parent`], in the same order, reduced to
    /// [`AccountChildRecord`].
    fn account_children(&mut self, org_id: &str, parent_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<AccountChildRecord>>;
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
    /// Long-term credentials of one account, or of every account with `None`, ordered by
    /// creation time then access key id.
    fn credential_list_long_term(&mut self, partition: &str, account_id: Option<&str>) -> StoreResult<Vec<CredentialRecord>>;
    /// Deletes one credential (revocation); deleting a key that does not exist does nothing.
    fn credential_delete(&mut self, access_key_id: &str) -> StoreResult<()>;
    fn role_get(&mut self, partition: &str, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>>;
    /// Inserts or replaces the role of that (partition, account, name).
    fn role_put(&mut self, role: &RoleRecord) -> StoreResult<()>;

    // Handshakes are found by their globally unique id; "pending" means not ended and not yet
    // expired at `now_ms` (states derive from the stored timestamps, see `HandshakeRecord`).
    /// Assigns `seq`; returns the stored record. Inserting an existing id is a store error.
    fn handshake_insert(&mut self, handshake: &HandshakeRecord) -> StoreResult<HandshakeRecord>;
    fn handshake_get(&mut self, handshake_id: &str) -> StoreResult<Option<HandshakeRecord>>;
    /// Replaces parties, resources, state, expiry and end time (never id, org, action,
    /// recipient, parent or seq).
    fn handshake_update(&mut self, handshake: &HandshakeRecord) -> StoreResult<()>;
    /// Handshakes sent by an organization, in `seq` order, optionally only those of one action
    /// and/or only the children of one parent handshake.
    fn handshake_list_by_org(
        &mut self,
        org_id: &str,
        action: Option<canopy_api::ActionType>,
        parent_id: Option<&str>,
        after_seq: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<HandshakeRecord>>;
    /// Handshakes addressed to `account_id` or to `email_lower` (the account's address in lower
    /// case) in a partition, in `seq` order.
    fn handshake_list_by_recipient(
        &mut self,
        partition: &str,
        account_id: &str,
        email_lower: &str,
        after_seq: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<HandshakeRecord>>;
    /// Pending handshakes of an organization with this action (and this recipient, if given),
    /// in `seq` order.
    fn handshake_list_pending(
        &mut self,
        org_id: &str,
        action: canopy_api::ActionType,
        recipient: Option<&str>,
        now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<HandshakeRecord>>;
    /// How many handshakes of this action an organization has pending at `now_ms`.
    fn handshake_count_pending(&mut self, org_id: &str, action: canopy_api::ActionType, now_ms: i64) -> StoreResult<u64>;
    /// How many handshakes of this action an organization sent at or after `since_ms` that
    /// were not accepted (the daily invitation quota counts declined and canceled ones).
    fn handshake_count_sent_since(&mut self, org_id: &str, action: canopy_api::ActionType, since_ms: i64) -> StoreResult<u64>;
    /// Deletes the organization's handshakes that ended (or expired) before `cutoff_ms`, with
    /// the tags stored under their ids.
    fn handshake_delete_ended_before(&mut self, org_id: &str, cutoff_ms: i64) -> StoreResult<()>;
    /// Trusted access of `service_principal` in `org_id`, if enabled.
    fn service_access_get(&mut self, org_id: &str, service_principal: &str) -> StoreResult<Option<ServiceAccessRecord>>;
    /// Assigns `seq`; returns the stored record. Inserting an enabled principal again is a store error.
    fn service_access_insert(&mut self, access: &ServiceAccessRecord) -> StoreResult<ServiceAccessRecord>;
    fn service_access_delete(&mut self, org_id: &str, service_principal: &str) -> StoreResult<()>;
    /// Enabled services of an organization, in `seq` order.
    fn service_access_list(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<ServiceAccessRecord>>;
    fn delegated_admin_get(&mut self, org_id: &str, account_id: &str, service_principal: &str) -> StoreResult<Option<DelegatedAdminRecord>>;
    /// Assigns `seq`; returns the stored record. Registering the same (org, account, service)
    /// twice is a store error: core checks first.
    fn delegated_admin_insert(&mut self, admin: &DelegatedAdminRecord) -> StoreResult<DelegatedAdminRecord>;
    fn delegated_admin_delete(&mut self, org_id: &str, account_id: &str, service_principal: &str) -> StoreResult<()>;
    /// Deregisters every delegated administrator of a service (its trusted access was disabled).
    fn delegated_admin_delete_by_service(&mut self, org_id: &str, service_principal: &str) -> StoreResult<()>;
    /// Registrations for one service in `seq` order; with `None`, each account once, as its
    /// first registration, in that registration's `seq` order.
    fn delegated_admin_list(&mut self, org_id: &str, service_principal: Option<&str>, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<DelegatedAdminRecord>>;
    /// The registrations of one account, in `seq` order.
    fn delegated_admin_list_by_account(&mut self, org_id: &str, account_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<DelegatedAdminRecord>>;
    fn delegated_admin_count_by_service(&mut self, org_id: &str, service_principal: &str) -> StoreResult<u64>;
    /// Services an account is delegated administrator of (0: it is none).
    fn delegated_admin_count_by_account(&mut self, org_id: &str, account_id: &str) -> StoreResult<u64>;
    fn resource_policy_get(&mut self, org_id: &str) -> StoreResult<Option<ResourcePolicyRecord>>;
    /// Creates or replaces the organization's resource policy.
    fn resource_policy_put(&mut self, policy: &ResourcePolicyRecord) -> StoreResult<()>;
    fn resource_policy_delete(&mut self, org_id: &str) -> StoreResult<()>;
    // --- GovCloud pairs (scoped by the commercial organization; `org_delete` drops them) ---
    /// Inserting a pair for a request or a GovCloud account that has one is a store error.
    fn govcloud_link_insert(&mut self, link: &GovCloudLinkRecord) -> StoreResult<()>;
    /// The pair made by a create-account request of the organization.
    fn govcloud_link_by_request(&mut self, org_id: &str, create_request_id: &str) -> StoreResult<Option<GovCloudLinkRecord>>;
    /// The pair of a commercial account of the organization.
    fn govcloud_link_by_account(&mut self, org_id: &str, account_id: &str) -> StoreResult<Option<GovCloudLinkRecord>>;

    // --- responsibility transfers (between two organizations; `org_delete` of either side drops them) ---
    /// Assigns `seq`; returns the stored record. Inserting an id that exists is a store error.
    fn transfer_insert(&mut self, transfer: &TransferRecord) -> StoreResult<TransferRecord>;
    fn transfer_get(&mut self, transfer_id: &str) -> StoreResult<Option<TransferRecord>>;
    /// The transfer a TRANSFER_RESPONSIBILITY handshake proposed.
    fn transfer_get_by_handshake(&mut self, handshake_id: &str) -> StoreResult<Option<TransferRecord>>;
    /// Rewrites name, status, end, expiry (ids, parties and `seq` never change).
    fn transfer_update(&mut self, transfer: &TransferRecord) -> StoreResult<()>;
    /// Transfers whose Target (the responsible side, "inbound") is the organization, in `seq` order.
    fn transfer_list_inbound(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<TransferRecord>>;
    /// Transfers whose Source (the side giving the responsibility, "outbound") is the organization, in `seq` order.
    fn transfer_list_outbound(&mut self, org_id: &str, after_seq: Option<i64>, limit: usize) -> StoreResult<Vec<TransferRecord>>;
}
