//! Who is calling: the caller's account, its organization and its role in it. Every operation
//! starts here; the checks are the "Caller" column of api-facts §2.

use std::cell::RefCell;

use canopy_api::{ApiError, Caller};

use crate::records::{AccountRecord, OrganizationRecord};
use crate::store::{OpError, Tx};

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
}

/// Clears the prefetched membership when dropped (end of the closure, error or panic alike).
pub struct Prefetched(());

/// Hands `member` (the membership of `caller`, read in the running transaction) to the
/// operation's first [`membership`] call.
pub fn prefetch(caller: &Caller, member: Option<Member>) -> Prefetched {
    PREFETCHED.with(|p| *p.borrow_mut() = Some((caller.partition.clone(), caller.account_id.clone(), member)));
    Prefetched(())
}

/// A guard that prefetches nothing (the check is switched off): operations read as usual.
pub fn prefetch_none() -> Prefetched {
    Prefetched(())
}

impl Drop for Prefetched {
    fn drop(&mut self) {
        PREFETCHED.with(|p| p.borrow_mut().take());
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

/// Read operations open to the management account and delegated administrators. Delegated
/// administrators arrive with the governance work; until then only the management account reads.
pub fn reader(tx: &mut dyn Tx, caller: &Caller) -> Result<Member, OpError> {
    management(tx, caller)
}
