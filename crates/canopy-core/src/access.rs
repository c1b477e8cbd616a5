//! Who is calling: the caller's account, its organization and its role in it. Every operation
//! starts here; the checks are the "Caller" column of api-facts §2.

use std::cell::{Cell, RefCell};

use canopy_api::{ApiError, Caller, Operation, PolicyType};
use canopy_policy::delegation::{DelegationPolicy, DelegationRequest};

use crate::records::{AccountRecord, OrganizationRecord};
use crate::store::{OpError, Tx};
use crate::{views, Env};

/// The caller as a member of an organization.
pub struct Member {
    pub account: AccountRecord,
    pub org: OrganizationRecord,
}

impl Member {
    pub fn is_management(&self) -> bool {
        self.org.management_account_id == self.account.id
    }
}

thread_local! {
    /// The caller's membership as `authz::enforce` read it at the start of the transaction
    /// closure running on this thread: the operation's first `membership` call takes it instead
    /// of reading the same two rows again. Cleared when the closure ends ([`Prefetched`]).
    static PREFETCHED: RefCell<Option<(String, String, Option<Member>)>> = const { RefCell::new(None) };
    /// The operation whose closure runs on this thread, for the checks that depend on it
    /// ([`reader`]'s resource-policy grants) without every read operation passing it down.
    static OPERATION: Cell<Option<Operation>> = const { Cell::new(None) };
    /// The running operation's time and closure settings, for [`membership`]: an account its
    /// organization no longer shows (still being created, or purged after its closure) belongs
    /// to no organization in its own calls either.
    static STANDING: Cell<Option<Standing>> = const { Cell::new(None) };
}

/// What [`membership`] needs from the operation's environment to judge the caller's account.
#[derive(Clone, Copy)]
struct Standing {
    now_ms: i64,
    closure_delay_ms: i64,
    retention_ms: i64,
}

/// Clears the prefetched membership, the running operation and its standing when dropped (end
/// of the closure, error or panic alike).
pub struct Prefetched(());

/// Records that `op` runs on this thread, with `env`'s clock and closure settings for
/// [`membership`]. Nothing is prefetched yet: see [`prefetch`].
pub fn begin(op: Operation, env: &Env) -> Prefetched {
    OPERATION.with(|o| o.set(Some(op)));
    let standing = Standing {
        now_ms: env.clock.now_ms(),
        closure_delay_ms: env.config.account_closure_delay_ms,
        retention_ms: env.config.closed_account_retention_ms,
    };
    STANDING.with(|s| s.set(Some(standing)));
    Prefetched(())
}

/// Hands `member` (the membership of `caller`, read in the running transaction) to the
/// operation's first [`membership`] call.
pub fn prefetch(caller: &Caller, member: Option<Member>) {
    PREFETCHED.with(|p| *p.borrow_mut() = Some((caller.partition.clone(), caller.account_id.clone(), member)));
}

impl Drop for Prefetched {
    fn drop(&mut self) {
        PREFETCHED.with(|p| p.borrow_mut().take());
        OPERATION.with(|o| o.set(None));
        STANDING.with(|s| s.set(None));
    }
}

/// The caller's organization, if it belongs to one.
pub fn membership(tx: &mut dyn Tx, caller: &Caller) -> Result<Option<Member>, OpError> {
    if let Some((partition, account, member)) = PREFETCHED.with(|p| p.borrow_mut().take()) {
        if partition == caller.partition && account == caller.account_id {
            return Ok(member);
        }
    }
    let Some(account) = tx.account_get(&caller.partition, &caller.account_id)? else {
        return Ok(None);
    };
    let Some(org_id) = account.org_id.clone() else {
        return Ok(None);
    };
    if let Some(s) = STANDING.with(Cell::get) {
        let lifecycle = views::lifecycle_at(account.created_ms, account.close_requested_ms, s.closure_delay_ms, s.retention_ms, s.now_ms);
        if !views::listed(lifecycle) {
            return Ok(None);
        }
    }
    match tx.org_get(&org_id)? {
        Some(org) => Ok(Some(Member { account, org })),
        None => Ok(None),
    }
}

/// Any account of an organization (DescribeOrganization, DescribeEffectivePolicy...).
pub fn any_member(tx: &mut dyn Tx, caller: &Caller) -> Result<Member, OpError> {
    membership(tx, caller)?.ok_or_else(|| ApiError::not_in_use().into())
}

/// The management account only.
pub fn management(tx: &mut dyn Tx, caller: &Caller) -> Result<Member, OpError> {
    let member = any_member(tx, caller)?;
    if member.is_management() {
        Ok(member)
    } else {
        Err(ApiError::access_denied().into())
    }
}

/// Read operations open to the management account, to the delegated administrators of AWS
/// services (api-facts §2.12: a service delegated administrator gets read-only access to the
/// organization), and to the members the resource (delegation) policy grants the running
/// operation. That grant is evaluated on resource `*`: these reads do not name their resource
/// to the check, so a statement whose `Resource` lists specific ARNs grants none of them
/// (the policy operations, which do, go through [`policy_reader`]).
pub fn reader(tx: &mut dyn Tx, caller: &Caller) -> Result<Member, OpError> {
    let member = any_member(tx, caller)?;
    if member.is_management() || is_service_delegated_admin(tx, &member)? {
        return Ok(member);
    }
    if let Some(op) = OPERATION.with(Cell::get) {
        if let Some(policy) = delegation_policy(tx, &member)? {
            if grants(&policy, &member, &caller.principal_arn, op, "*", None) {
                return Ok(member);
            }
        }
    }
    Err(ApiError::access_denied().into())
}

/// The organization's resource policy, when it names the member's account.
fn delegation_policy(tx: &mut dyn Tx, member: &Member) -> Result<Option<DelegationPolicy>, OpError> {
    Ok(match tx.resource_policy_get(&member.org.id)? {
        // A stored policy was validated when it was put; one that no longer parses grants nothing.
        Some(p) => DelegationPolicy::parse(&p.content, &member.org.partition).ok().filter(|d| d.names_account(&member.account.id)),
        None => None,
    })
}

/// Does `policy` allow the member's principal `principal_arn` (the one that signed)
/// `organizations:<op>` on `resource`? `policy_type` is the request's
/// `organizations:PolicyType` condition key, when it concerns a policy type.
fn grants(policy: &DelegationPolicy, member: &Member, principal_arn: &str, op: Operation, resource: &str, policy_type: Option<PolicyType>) -> bool {
    let mut context = canopy_policy::RequestContext::new();
    context.insert("aws:PrincipalAccount", member.account.id.as_str());
    context.insert("aws:PrincipalOrgID", member.org.id.as_str());
    if let Some(t) = policy_type {
        context.insert("organizations:PolicyType", t.as_str());
    }
    let action = format!("organizations:{}", op.name());
    policy.allows(&DelegationRequest { account_id: &member.account.id, principal_arn, action: &action, resource, context: &context })
}

fn is_service_delegated_admin(tx: &mut dyn Tx, member: &Member) -> Result<bool, OpError> {
    Ok(tx.delegated_admin_count_by_account(&member.org.id, &member.account.id)? > 0)
}

/// What a caller may do with policies and tags (api-facts §2.12): everything (the management
/// account), the reads (a service delegated administrator), and what the organization's
/// resource (delegation) policy grants its account.
pub struct PolicyAccess {
    pub member: Member,
    /// The principal that signed (the resource policy may name it alone).
    principal_arn: String,
    management: bool,
    service_admin: bool,
    delegation: Option<DelegationPolicy>,
}

/// Policy and tag writes: the management account, or a member the resource policy names in an
/// Allow statement (the operation then checks the grant with [`PolicyAccess::check`] once it
/// knows the resources). Anyone else is refused before any lookup.
pub fn policy_writer(tx: &mut dyn Tx, caller: &Caller) -> Result<PolicyAccess, OpError> {
    policy_access(tx, caller, false)
}

/// Policy and tag reads: [`policy_writer`]'s callers plus the service delegated administrators.
pub fn policy_reader(tx: &mut dyn Tx, caller: &Caller) -> Result<PolicyAccess, OpError> {
    policy_access(tx, caller, true)
}

fn policy_access(tx: &mut dyn Tx, caller: &Caller, read: bool) -> Result<PolicyAccess, OpError> {
    let member = any_member(tx, caller)?;
    if member.is_management() {
        return Ok(PolicyAccess { member, principal_arn: caller.principal_arn.clone(), management: true, service_admin: false, delegation: None });
    }
    let service_admin = read && is_service_delegated_admin(tx, &member)?;
    let delegation = delegation_policy(tx, &member)?;
    if !service_admin && delegation.is_none() {
        return Err(ApiError::access_denied().into());
    }
    Ok(PolicyAccess { member, principal_arn: caller.principal_arn.clone(), management: false, service_admin, delegation })
}

impl PolicyAccess {
    /// May the caller run `op` on every one of `resources` (ARNs)? `policy_type` is the
    /// `organizations:PolicyType` condition key of the request, when it concerns a policy type.
    pub fn check(&self, op: Operation, resources: &[&str], policy_type: Option<PolicyType>) -> Result<(), OpError> {
        if self.management || (self.service_admin && is_read_only(op)) {
            return Ok(());
        }
        let Some(policy) = &self.delegation else { return Err(ApiError::access_denied().into()) };
        if resources.iter().all(|resource| grants(policy, &self.member, &self.principal_arn, op, resource, policy_type)) {
            Ok(())
        } else {
            Err(ApiError::access_denied().into())
        }
    }
}

/// The read-only operations a service delegated administrator may call (api-facts §2.12).
fn is_read_only(op: Operation) -> bool {
    let name = op.name();
    name.starts_with("Describe") || name.starts_with("List")
}
