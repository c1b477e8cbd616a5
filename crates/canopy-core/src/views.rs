//! Stored records → wire shapes. States that depend on time are derived here from the stored
//! timestamps and the clock (design invariant: no background jobs).

use canopy_api::{
    Account, AccountState, AccountStatus, CreateAccountState, CreateAccountStatus,
    Organization, OrganizationFeatureSet, OrganizationalUnit, PolicyType, PolicyTypeStatus,
    PolicyTypeSummary, Root, Tag, Timestamp,
};

use crate::arn;
use crate::config::CoreConfig;
use crate::records::*;

/// Where an account is in its closure lifecycle at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Created but CreateAccount has not finished yet: not visible.
    Creating,
    Active,
    PendingClosure,
    Closed,
    /// Closed for longer than the retention window: gone from the organization.
    Purged,
}

pub fn lifecycle(account: &AccountRecord, config: &CoreConfig, now_ms: i64) -> Lifecycle {
    lifecycle_of(account.created_ms, account.close_requested_ms, config, now_ms)
}

fn lifecycle_of(created_ms: i64, close_requested_ms: Option<i64>, config: &CoreConfig, now_ms: i64) -> Lifecycle {
    lifecycle_at(created_ms, close_requested_ms, config.account_closure_delay_ms, config.closed_account_retention_ms, now_ms)
}

/// [`lifecycle`] with the configuration's two closure durations given alone.
pub(crate) fn lifecycle_at(created_ms: i64, close_requested_ms: Option<i64>, closure_delay_ms: i64, retention_ms: i64, now_ms: i64) -> Lifecycle {
    if created_ms > now_ms {
        return Lifecycle::Creating;
    }
    match close_requested_ms {
        None => Lifecycle::Active,
        Some(requested) => {
            let closed_at = requested + closure_delay_ms;
            if now_ms < closed_at {
                Lifecycle::PendingClosure
            } else if now_ms >= closed_at + retention_ms {
                Lifecycle::Purged
            } else {
                Lifecycle::Closed
            }
        }
    }
}

/// Visible in the organization's lists and lookups.
pub fn is_visible(account: &AccountRecord, config: &CoreConfig, now_ms: i64) -> bool {
    listed(lifecycle(account, config, now_ms))
}

/// [`is_visible`] for the reduced row ListChildren reads.
pub fn is_child_visible(child: &AccountChildRecord, config: &CoreConfig, now_ms: i64) -> bool {
    listed(lifecycle_of(child.created_ms, child.close_requested_ms, config, now_ms))
}

/// Whether the organization shows an account in this lifecycle (not while it is being created,
/// nor once it was purged after its closure).
pub(crate) fn listed(lifecycle: Lifecycle) -> bool {
    !matches!(lifecycle, Lifecycle::Creating | Lifecycle::Purged)
}

/// Takes the record by value: its strings move into the answer (a ListAccounts page cloned
/// three per account).
pub fn account(org: &OrganizationRecord, rec: AccountRecord, paths: Option<Vec<String>>, config: &CoreConfig, now_ms: i64) -> Account {
    let (status, state) = match lifecycle(&rec, config, now_ms) {
        Lifecycle::Creating | Lifecycle::Active => (AccountStatus::Active, AccountState::Active),
        Lifecycle::PendingClosure => (AccountStatus::PendingClosure, AccountState::PendingClosure),
        Lifecycle::Closed | Lifecycle::Purged => (AccountStatus::Suspended, AccountState::Closed),
    };
    Account {
        arn: Some(arn::account(&org.partition, &org.management_account_id, &org.id, &rec.id)),
        id: Some(rec.id),
        email: Some(rec.email),
        name: Some(rec.name),
        status: config.account_status_field.then_some(status),
        state: Some(state),
        paths,
        joined_method: rec.joined_method,
        joined_timestamp: rec.joined_ms.map(Timestamp::from_millis),
    }
}

pub fn organization(org: &OrganizationRecord, mgmt: &AccountRecord) -> Organization {
    // AvailablePolicyTypes is deprecated and only ever reports SCP, enabled for every
    // all-features organization whatever its root has enabled (api-facts §7.4; DisablePolicyType's
    // reference: a type disabled in the root "still appears enabled for the organization").
    // The China partition's list is empty ("In the China (Ningxia) Region, no policy type is
    // included": DescribeOrganization's reference).
    let available = if org.feature_set == OrganizationFeatureSet::All && org.partition != "aws-cn" {
        vec![PolicyTypeSummary {
            type_: Some(PolicyType::ServiceControlPolicy),
            status: Some(PolicyTypeStatus::Enabled),
        }]
    } else {
        vec![]
    };
    Organization {
        id: Some(org.id.clone()),
        arn: Some(arn::organization(&org.partition, &org.management_account_id, &org.id)),
        feature_set: Some(org.feature_set),
        master_account_arn: Some(arn::account(&org.partition, &org.management_account_id, &org.id, &org.management_account_id)),
        master_account_id: Some(org.management_account_id.clone()),
        master_account_email: Some(mgmt.email.clone()),
        available_policy_types: Some(available),
    }
}

pub fn root(org: &OrganizationRecord, root: &RootRecord) -> Root {
    Root {
        id: Some(root.id.clone()),
        arn: Some(arn::root(&org.partition, &org.management_account_id, &org.id, &root.id)),
        name: Some(root.name.clone()),
        policy_types: Some(
            root.enabled_policy_types
                .iter()
                .map(|t| PolicyTypeSummary { type_: Some(*t), status: Some(PolicyTypeStatus::Enabled) })
                .collect(),
        ),
    }
}

pub fn ou(org: &OrganizationRecord, ou: &OuRecord, path: Option<String>) -> OrganizationalUnit {
    OrganizationalUnit {
        id: Some(ou.id.clone()),
        arn: Some(arn::ou(&org.partition, &org.management_account_id, &org.id, &ou.id)),
        name: Some(ou.name.clone()),
        path,
    }
}

pub fn create_account_status(car: &CreateAccountRecord, now_ms: i64) -> CreateAccountStatus {
    let finished = now_ms >= car.completes_ms;
    let state = match (finished, car.failure_reason) {
        (false, _) => CreateAccountState::InProgress,
        (true, Some(_)) => CreateAccountState::Failed,
        (true, None) => CreateAccountState::Succeeded,
    };
    CreateAccountStatus {
        id: Some(car.id.clone()),
        account_name: Some(car.account_name.clone()),
        state: Some(state),
        requested_timestamp: Some(Timestamp::from_millis(car.requested_ms)),
        completed_timestamp: finished.then(|| Timestamp::from_millis(car.completes_ms)),
        account_id: if finished { car.account_id.clone() } else { None },
        gov_cloud_account_id: None,
        failure_reason: if finished { car.failure_reason } else { None },
    }
}

pub fn tags(records: Vec<TagRecord>) -> Vec<Tag> {
    records.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect()
}

pub fn policy_summary(org: &OrganizationRecord, p: &crate::ops::policy::AnyPolicy) -> canopy_api::PolicySummary {
    canopy_api::PolicySummary {
        arn: Some(p.arn(org)),
        aws_managed: Some(p.is_aws_managed()),
        description: Some(p.description().to_string()),
        id: Some(p.id().to_string()),
        name: Some(p.name().to_string()),
        type_: Some(p.policy_type()),
    }
}

pub fn policy(org: &OrganizationRecord, p: &crate::ops::policy::AnyPolicy) -> canopy_api::Policy {
    canopy_api::Policy { content: Some(p.content().to_string()), policy_summary: Some(policy_summary(org, p)) }
}
