//! CreateOrganization, DescribeOrganization, DeleteOrganization, ListRoots.

use canopy_api::{
    ApiError, Caller, ConstraintViolationExceptionReason, CreateOrganizationRequest, CreateOrganizationResponse,
    DescribeOrganizationResponse, ErrorCode, ListRootsRequest, ListRootsResponse,
    OrganizationFeatureSet, PolicyType,
};

use crate::records::{AccountRecord, OrganizationRecord, RootRecord};
use crate::store::{OpError, Tx};
use crate::views::{self, Lifecycle};
use crate::{access, paging, Env};

/// The caller's own account row; standalone callers get one on first use
/// ([`standalone_account`]).
pub fn own_account(tx: &mut dyn Tx, env: &Env, caller: &Caller) -> Result<AccountRecord, OpError> {
    if let Some(account) = tx.account_get(&caller.partition, &caller.account_id)? {
        return Ok(account);
    }
    Ok(tx.account_insert(&standalone_account(&caller.partition, &caller.account_id, env.clock.now_ms()))?)
}

/// A closed account (closing, closed, or purged after its retention) can't found or join an
/// organization: AWS suspends a closed account, which can then use no service, and it stays
/// closed when the organization it was in is deleted. Without this, DeleteOrganization brought
/// closed accounts back as founders or members of new organizations.
pub fn refuse_closed(account: &AccountRecord) -> Result<(), OpError> {
    refuse_if_closed(account, "create or join an organization")
}

/// A member account that is closing or closed calls nothing: AWS suspends it.
pub fn refuse_closed_caller(account: &AccountRecord) -> Result<(), OpError> {
    refuse_if_closed(account, "call AWS Organizations")
}

fn refuse_if_closed(account: &AccountRecord, what: &str) -> Result<(), OpError> {
    if account.close_requested_ms.is_some() {
        let message = format!("Account {} is closed or being closed: a closed account can't {what}.", account.id);
        return Err(ApiError::new(ErrorCode::AccessDeniedException, message).into());
    }
    Ok(())
}

/// The email of an account Canopy makes on its first use: derived from the id, since Canopy has
/// no sign-up to take it from (an EMAIL invitation to this address reaches that account).
pub fn standalone_email(account_id: &str) -> String {
    format!("account-{account_id}@example.com")
}

/// The account whose derived address ([`standalone_email`]) `email` is, if it is one.
pub fn standalone_id(email: &str) -> Option<String> {
    let id = email.to_ascii_lowercase().strip_prefix("account-")?.strip_suffix("@example.com")?.to_string();
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// A standalone account as Canopy makes it on first use (a call, an issued credential): name
/// and email derived from the id.
pub fn standalone_account(partition: &str, account_id: &str, now_ms: i64) -> AccountRecord {
    AccountRecord {
        partition: partition.to_owned(),
        id: account_id.to_owned(),
        name: format!("account-{account_id}"),
        email: standalone_email(account_id),
        org_id: None,
        parent_id: None,
        joined_method: None,
        joined_ms: None,
        created_ms: now_ms,
        close_requested_ms: None,
        seq: 0,
    }
}

pub fn create(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CreateOrganizationRequest) -> Result<CreateOrganizationResponse, OpError> {
    let feature_set = input.feature_set.unwrap_or(OrganizationFeatureSet::All);
    // The consolidated-billing-only feature set does not exist in the GovCloud (US) Regions.
    if feature_set == OrganizationFeatureSet::ConsolidatedBilling && caller.partition == super::govcloud::GOVCLOUD_PARTITION {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CreateOrganizationInBillingModeUnsupportedRegion,
            "You can't create an organization with only the consolidated billing feature set in the AWS GovCloud (US) Regions; use FeatureSet ALL.",
        )
        .into());
    }
    let mut account = own_account(tx, env, caller)?;
    refuse_closed(&account)?;
    if account.org_id.is_some() {
        return Err(ApiError::new(
            ErrorCode::AlreadyInOrganizationException,
            "The AWS account is already a member of an organization.",
        )
        .into());
    }
    let now = env.clock.now_ms();
    let org = OrganizationRecord {
        id: unique_org_id(tx, env)?,
        partition: caller.partition.clone(),
        management_account_id: account.id.clone(),
        feature_set,
        created_ms: now,
    };
    tx.org_insert(&org)?;
    // CreateOrganization(ALL) enables SCPs: FullAWSAccess is then on the root and the management
    // account (implicitly, as on every target: see `attachments`).
    let mut enabled = Vec::new();
    if feature_set == OrganizationFeatureSet::All && env.config.enable_scp_on_create {
        enabled.push(PolicyType::ServiceControlPolicy);
    }
    let root = RootRecord { id: unused_root_id(tx, env)?, org_id: org.id.clone(), name: "Root".to_string(), enabled_policy_types: enabled };
    tx.root_insert(&root)?;
    account.org_id = Some(org.id.clone());
    account.parent_id = Some(root.id.clone());
    // AWS reports the management account as INVITED (captured DescribeAccount and ListAccounts
    // output of real organizations), though no invitation took place.
    account.joined_method = Some(canopy_api::AccountJoinedMethod::Invited);
    account.joined_ms = Some(now);
    tx.account_update(&account)?;
    Ok(CreateOrganizationResponse { organization: Some(views::organization(&org, &account)) })
}

/// A root id no organization of the store uses. Root ids have 4 random characters (1.7 million
/// values) and are unique across the store, so collisions are real once organizations number
/// in the tens of thousands.
fn unused_root_id(tx: &mut dyn Tx, env: &Env) -> Result<String, OpError> {
    loop {
        let id = env.ids.root_id();
        if tx.root_get(&id)?.is_none() {
            return Ok(id);
        }
    }
}

fn unique_org_id(tx: &mut dyn Tx, env: &Env) -> Result<String, OpError> {
    loop {
        let id = env.ids.organization_id();
        if tx.org_get(&id)?.is_none() {
            return Ok(id);
        }
    }
}

pub fn describe(tx: &mut dyn Tx, caller: &Caller) -> Result<DescribeOrganizationResponse, OpError> {
    let member = access::any_member(tx, caller)?;
    let mgmt = if member.is_management() {
        member.account.clone()
    } else {
        tx.account_get(&member.org.partition, &member.org.management_account_id)?
            .ok_or_else(|| crate::store::StoreError::Corrupt("management account row is missing".into()))?
    };
    Ok(DescribeOrganizationResponse { organization: Some(views::organization(&member.org, &mgmt)) })
}

pub fn delete(tx: &mut dyn Tx, env: &Env, caller: &Caller) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let now = env.clock.now_ms();
    // Collect every account of the organization; closed (or purged) accounts do not block the
    // deletion and leave with it, anything active or closing does.
    let accounts = super::policy::all_accounts(tx, &org.id)?;
    let blocking = accounts.iter().any(|a| {
        a.id != org.management_account_id
            && matches!(views::lifecycle(a, &env.config, now), Lifecycle::Active | Lifecycle::PendingClosure | Lifecycle::Creating)
    });
    if blocking {
        return Err(ApiError::new(
            ErrorCode::OrganizationNotEmptyException,
            "The organization isn't empty. To delete an organization, you must first remove all member accounts except the management account.",
        )
        .into());
    }
    super::transfer::check_none_active(tx, env, &org.id)?;
    for mut account in accounts {
        account.org_id = None;
        account.parent_id = None;
        account.joined_method = None;
        account.joined_ms = None;
        tx.account_update(&account)?;
    }
    delete_ous(tx, org)?;
    tx.org_delete(&org.id)?;
    Ok(())
}

/// Deletes every OU of the organization, walking the tree down from its roots through the
/// by-parent index (the store keeps no index of OUs by organization: every CreateOU would write
/// it, for the sake of this rare deletion).
fn delete_ous(tx: &mut dyn Tx, org: &OrganizationRecord) -> Result<(), OpError> {
    let mut parents: Vec<String> = tx.root_list(&org.id)?.into_iter().map(|r| r.id).collect();
    while let Some(parent) = parents.pop() {
        for ou in tx.ou_list_by_parent(&parent, None, usize::MAX)? {
            tx.ou_delete(&ou.id)?;
            parents.push(ou.id);
        }
    }
    Ok(())
}

pub fn list_roots(tx: &mut dyn Tx, caller: &Caller, input: &ListRootsRequest) -> Result<ListRootsResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let scope = format!("ListRoots/{}", member.org.id);
    // One root per organization: a single page; the token check still refuses forged tokens.
    paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let roots = tx.root_list(&member.org.id)?;
    Ok(ListRootsResponse { roots: Some(roots.iter().map(|r| views::root(&member.org, r)).collect()), next_token: None })
}
