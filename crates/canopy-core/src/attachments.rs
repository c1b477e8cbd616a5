//! Policy attachments as the operations see them.
//!
//! The AWS-managed default policy of a type (`p-FullAWSAccess` for SCPs, `p-RCPFullAWSAccess`
//! for RCPs) is attached to every root, OU and account of an organization while the type is
//! enabled in its root, except where it was detached. So it is not stored per target: a stored
//! row of a default policy records that it was *detached* from that target. Creating an OU or an
//! account writes no attachment row and index entry (12-13 % of CreateOrganizationalUnit's rate
//! at 32 connections), and EnablePolicyType writes nothing per target. DisablePolicyType deletes
//! every row of the type, detachments included, so a later enable attaches the default
//! everywhere again, as AWS does.
//!
//! Every read and write of attachments in the operations goes through this module: the `Tx`
//! attachment methods see the stored rows (customer policies' attachments and the defaults'
//! detachments) and would read a detachment as an attachment.

use std::collections::HashSet;

use canopy_api::PolicyType;

use crate::ops::policy::{managed, managed_default, ManagedPolicy, MANAGED_POLICIES};
use crate::records::{PolicyAttachmentRecord, RootRecord};
use crate::store::{OpError, Tx};

/// The type of `policy_id` when it is an AWS-managed default policy (attached implicitly).
pub(crate) fn default_type(policy_id: &str) -> Option<PolicyType> {
    managed(policy_id).map(|m| m.policy_type)
}

/// An implicit attachment of a default policy: position 0, before every stored attachment
/// (stored `seq`s start at 1), where it is after an OU's or account's creation.
fn implicit(org_id: &str, m: &ManagedPolicy, target_id: &str) -> PolicyAttachmentRecord {
    PolicyAttachmentRecord {
        org_id: org_id.to_string(),
        policy_id: m.id.to_string(),
        target_id: target_id.to_string(),
        policy_type: m.policy_type,
        attached_ms: 0,
        seq: 0,
    }
}

/// Whether `policy_id` is attached to `target_id`, a target of the organization; `enabled`: the
/// policy types enabled in its root.
pub(crate) fn is_attached(
    tx: &mut dyn Tx,
    org_id: &str,
    enabled: &[PolicyType],
    policy_id: &str,
    target_id: &str,
) -> Result<bool, OpError> {
    let stored = tx.attachment_get(org_id, policy_id, target_id)?.is_some();
    Ok(match default_type(policy_id) {
        Some(t) => enabled.contains(&t) && !stored,
        None => stored,
    })
}

/// The policies attached to `target_id` (of `filter`'s type, or of every type), in attachment
/// order: the enabled types' defaults first, then the stored attachments; those after
/// `after_seq`, at most `limit`.
pub(crate) fn list_by_target(
    tx: &mut dyn Tx,
    org_id: &str,
    enabled: &[PolicyType],
    target_id: &str,
    filter: Option<PolicyType>,
    after_seq: Option<i64>,
    limit: usize,
) -> Result<Vec<PolicyAttachmentRecord>, OpError> {
    let mut out = Vec::new();
    if after_seq.is_none_or(|a| a < 0) {
        for t in enabled.iter().filter(|t| filter.is_none_or(|f| f == **t)) {
            if let Some(m) = managed_default(*t) {
                if tx.attachment_get(org_id, m.id, target_id)?.is_none() {
                    out.push(implicit(org_id, m, target_id));
                }
            }
        }
    }
    // A target holds at most one detachment per default policy: that many more rows are enough.
    let stored = tx.attachment_list_by_target(org_id, target_id, filter, after_seq, limit + MANAGED_POLICIES.len())?;
    out.extend(stored.into_iter().filter(|a| default_type(&a.policy_id).is_none()));
    out.truncate(limit);
    Ok(out)
}

/// How many policies of type `t` are attached to `target_id`.
pub(crate) fn count_by_target(
    tx: &mut dyn Tx,
    org_id: &str,
    enabled: &[PolicyType],
    target_id: &str,
    t: PolicyType,
) -> Result<u64, OpError> {
    let stored = tx.attachment_count_by_target(org_id, target_id, t)?;
    Ok(match managed_default(t) {
        Some(m) if tx.attachment_get(org_id, m.id, target_id)?.is_some() => stored - 1,
        Some(_) => stored + u64::from(enabled.contains(&t)),
        None => stored,
    })
}

/// Attaches `a.policy_id` to `a.target_id` (which the caller found it is not attached to).
pub(crate) fn attach(tx: &mut dyn Tx, a: &PolicyAttachmentRecord) -> Result<(), OpError> {
    if default_type(&a.policy_id).is_some() {
        tx.attachment_delete(&a.org_id, &a.policy_id, &a.target_id)?;
    } else {
        tx.attachment_insert(a)?;
    }
    Ok(())
}

/// Detaches `a.policy_id` from `a.target_id` (which the caller found it is attached to);
/// `a.attached_ms` is the time of the detachment.
pub(crate) fn detach(tx: &mut dyn Tx, a: &PolicyAttachmentRecord) -> Result<(), OpError> {
    if default_type(&a.policy_id).is_some() {
        tx.attachment_insert(a)?;
    } else {
        tx.attachment_delete(&a.org_id, &a.policy_id, &a.target_id)?;
    }
    Ok(())
}

/// The targets a default policy was detached from.
pub(crate) fn detached_from(tx: &mut dyn Tx, org_id: &str, policy_id: &str) -> Result<HashSet<String>, OpError> {
    debug_assert!(default_type(policy_id).is_some(), "{policy_id} is not a default policy");
    let mut out = HashSet::new();
    let mut after = None;
    loop {
        let page = tx.attachment_list_by_policy(org_id, policy_id, after, 500)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        out.extend(page.into_iter().map(|a| a.target_id));
    }
    Ok(out)
}

/// The attachments of `policy_id` with their positions, the first `limit` after position
/// `after`. A customer policy's are in attachment order (position: its `seq`). A default
/// policy's are its targets: the root (position 0), then the OUs and accounts in creation order
/// (position: the OU's or account's `seq`), accounts not yet created or already purged
/// included, as stored attachments would be.
pub(crate) fn list_by_policy(
    tx: &mut dyn Tx,
    root: &RootRecord,
    policy_id: &str,
    after: Option<i64>,
    limit: usize,
) -> Result<Vec<(i64, PolicyAttachmentRecord)>, OpError> {
    let org_id = root.org_id.as_str();
    let Some(m) = managed(policy_id) else {
        return Ok(tx
            .attachment_list_by_policy(org_id, policy_id, after, limit)?
            .into_iter()
            .map(|a| (a.seq, a))
            .collect());
    };
    if !root.enabled_policy_types.contains(&m.policy_type) {
        return Ok(Vec::new());
    }
    let detached = detached_from(tx, org_id, policy_id)?;
    let is_after = |position: i64| after.is_none_or(|a| position > a);
    let mut targets: Vec<(i64, String)> = Vec::new();
    if is_after(0) {
        targets.push((0, root.id.clone()));
    }
    targets.extend(
        crate::tree::all_ous(tx, &root.id)?.into_iter().filter(|ou| is_after(ou.seq)).map(|ou| (ou.seq, ou.id)),
    );
    // Accounts come in seq order: past the first `limit` that are not detached, none is needed.
    for account in tx.account_list(org_id, after, limit + detached.len())? {
        targets.push((account.seq, account.id));
    }
    targets.sort_unstable_by_key(|t| t.0);
    Ok(targets
        .into_iter()
        .filter(|(_, id)| !detached.contains(id))
        .take(limit)
        .map(|(position, id)| (position, implicit(org_id, m, &id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_managed_policy_is_the_default_of_its_type() {
        // The module reads every stored row of a managed policy as a detachment.
        for m in &MANAGED_POLICIES {
            assert_eq!(managed_default(m.policy_type).map(|d| d.id), Some(m.id));
            assert_eq!(default_type(m.id), Some(m.policy_type));
        }
        assert_eq!(default_type("p-12345678"), None);
    }
}
