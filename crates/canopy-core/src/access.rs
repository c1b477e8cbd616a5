//! Who is calling: the caller's account, its organization and its role in it. Every operation
//! starts here; the checks are the "Caller" column of api-facts §2.

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

/// The caller's organization, if it belongs to one.
pub fn membership(tx: &mut dyn Tx, caller: &Caller) -> Result<Option<Member>, OpError> {
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
