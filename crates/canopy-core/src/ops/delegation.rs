//! Trusted access of AWS services (Enable/DisableAWSServiceAccess,
//! ListAWSServiceAccessForOrganization) and delegated administrators of services
//! (Register/DeregisterDelegatedAdministrator, ListDelegatedAdministrators,
//! ListDelegatedServicesForAccount); api-facts §2.7, §2.8, §7.10.

use std::collections::BTreeMap;

use canopy_api::{
    ApiError, Caller, ConstraintViolationExceptionReason, DelegatedAdministrator, DelegatedService,
    DeregisterDelegatedAdministratorRequest, DisableAWSServiceAccessRequest, EnableAWSServiceAccessRequest,
    EnabledServicePrincipal, ErrorCode, InvalidInputExceptionReason, ListAWSServiceAccessForOrganizationRequest,
    ListAWSServiceAccessForOrganizationResponse, ListDelegatedAdministratorsRequest,
    ListDelegatedAdministratorsResponse, ListDelegatedServicesForAccountRequest,
    ListDelegatedServicesForAccountResponse, OrganizationFeatureSet, RegisterDelegatedAdministratorRequest, Timestamp,
};
use canopy_policy::PolicyType as EngineType;

use crate::records::{AccountRecord, DelegatedAdminRecord, OrganizationRecord, ServiceAccessRecord};
use crate::store::{OpError, Tx};
use crate::views::{self, Lifecycle};
use crate::{access, paging, tree, Env};

/// The service principals Canopy recognizes by default, with how many delegated administrators
/// each service admits at once (0: it has no delegated administrator). The list gathers the
/// principals commonly enabled in organizations (api-facts §7.10), the owners of policy types
/// and the services AWS documents as supporting a delegated administrator. AWS Config and
/// CloudFormation StackSets document more than one administrator (3 and 5); the others one.
/// Extended or overridden with `--service-principal NAME[=N]`.
pub const DEFAULT_SERVICE_PRINCIPALS: &[(&str, u32)] = &[
    ("access-analyzer.amazonaws.com", 1),
    ("account.amazonaws.com", 1),
    ("auditmanager.amazonaws.com", 1),
    ("aws-artifact-account-sync.amazonaws.com", 0),
    ("backup.amazonaws.com", 1),
    ("bedrock.amazonaws.com", 0),
    ("chatbot.amazonaws.com", 0),
    ("cloudtrail.amazonaws.com", 1),
    ("compute-optimizer.amazonaws.com", 1),
    ("config-multiaccountsetup.amazonaws.com", 3),
    ("config.amazonaws.com", 3),
    ("controltower.amazonaws.com", 0),
    ("detective.amazonaws.com", 1),
    ("devops-guru.amazonaws.com", 1),
    ("ds.amazonaws.com", 1),
    ("fms.amazonaws.com", 1),
    ("guardduty.amazonaws.com", 1),
    ("health.amazonaws.com", 1),
    ("inspector2.amazonaws.com", 1),
    ("ipam.amazonaws.com", 1),
    ("license-manager.amazonaws.com", 1),
    ("macie.amazonaws.com", 1),
    ("member.org.stacksets.cloudformation.amazonaws.com", 5),
    ("ram.amazonaws.com", 0),
    ("reporting.trustedadvisor.amazonaws.com", 1),
    ("securityhub.amazonaws.com", 1),
    ("securitylake.amazonaws.com", 1),
    ("servicecatalog.amazonaws.com", 1),
    ("ssm.amazonaws.com", 1),
    ("sso.amazonaws.com", 1),
    ("storage-lens.s3.amazonaws.com", 1),
    ("tagpolicies.tag.amazonaws.com", 0),
];

pub fn default_service_principals() -> BTreeMap<String, u32> {
    DEFAULT_SERVICE_PRINCIPALS.iter().map(|(p, n)| (p.to_string(), *n)).collect()
}

/// The service whose trusted access a policy type needs (canopy-policy's table is the one place).
pub fn service_of_policy_type(t: canopy_api::PolicyType) -> Option<&'static str> {
    EngineType::from_wire(t.as_str()).and_then(EngineType::required_service_access)
}

/// Whether `service_principal` has trusted access in the organization.
pub fn service_access_enabled(tx: &mut dyn Tx, org_id: &str, service_principal: &str) -> Result<bool, OpError> {
    Ok(tx.service_access_get(org_id, service_principal)?.is_some())
}

/// RemoveAccountFromOrganization / LeaveOrganization refuse a delegated administrator (§7.8).
pub fn refuse_removal_of_delegated_admin(tx: &mut dyn Tx, org_id: &str, account_id: &str) -> Result<(), OpError> {
    if tx.delegated_admin_count_by_account(org_id, account_id)? > 0 {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CannotRemoveDelegatedAdministratorFromOrg,
            "The account is a delegated administrator for a service. Deregister it for every service before it leaves the organization.",
        )
        .into());
    }
    Ok(())
}

/// The delegated administrators a recognized principal admits, or UNRECOGNIZED_SERVICE_PRINCIPAL.
fn recognized(env: &Env, service_principal: &str) -> Result<u32, ApiError> {
    env.config.service_principals.get(service_principal).copied().ok_or_else(|| {
        ApiError::invalid_input(
            InvalidInputExceptionReason::UnrecognizedServicePrincipal,
            format!("You specified an unrecognized service principal: {service_principal}."),
        )
    })
}

fn require_all_features(org: &OrganizationRecord) -> Result<(), ApiError> {
    if org.feature_set == OrganizationFeatureSet::All {
        Ok(())
    } else {
        Err(ApiError::constraint(
            ConstraintViolationExceptionReason::OrganizationNotInAllFeaturesMode,
            "This operation requires an organization with all features enabled.",
        ))
    }
}

fn account_not_found() -> ApiError {
    ApiError::new(ErrorCode::AccountNotFoundException, "You specified an account that doesn't exist.")
}

fn not_registered() -> ApiError {
    ApiError::new(
        ErrorCode::AccountNotRegisteredException,
        "The provided account is not a registered delegated administrator for your organization.",
    )
}

// ---------------------------------------------------------------------------------------------
// Trusted access

pub fn enable_service_access(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &EnableAWSServiceAccessRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    require_all_features(org)?;
    recognized(env, &input.service_principal)?;
    // Enabling twice succeeds and keeps the first date.
    if tx.service_access_get(&org.id, &input.service_principal)?.is_none() {
        tx.service_access_insert(&ServiceAccessRecord {
            org_id: org.id.clone(),
            service_principal: input.service_principal.clone(),
            enabled_ms: env.clock.now_ms(),
            seq: 0,
        })?;
    }
    Ok(())
}

/// Disabling refuses while a policy type owned by the service is enabled, and deregisters the
/// service's delegated administrators (without trusted access the service can have none, and
/// RegisterDelegatedAdministrator requires it). Disabling a service that has no access succeeds.
pub fn disable_service_access(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DisableAWSServiceAccessRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let sp = &input.service_principal;
    recognized(env, sp)?;
    let root = tree::root_of(tx, &org.id)?;
    if let Some(t) = root.enabled_policy_types.iter().find(|t| service_of_policy_type(**t) == Some(sp.as_str())) {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::PolicyTypeEnabledForThisService,
            format!("You can't disable trusted access for {sp} while the policy type {} is enabled. Disable the policy type first.", t.as_str()),
        )
        .into());
    }
    tx.delegated_admin_delete_by_service(&org.id, sp)?;
    tx.service_access_delete(&org.id, sp)?;
    Ok(())
}

pub fn list_service_access(
    tx: &mut dyn Tx,
    caller: &Caller,
    input: &ListAWSServiceAccessForOrganizationRequest,
) -> Result<ListAWSServiceAccessForOrganizationResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let scope = format!("ListAWSServiceAccessForOrganization/{}", org.id);
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let rows = tx.service_access_list(&org.id, page.after_seq, page.limit + 1)?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |a| a.seq);
    let enabled = rows
        .into_iter()
        .map(|a| EnabledServicePrincipal {
            service_principal: Some(a.service_principal),
            date_enabled: Some(Timestamp::from_millis(a.enabled_ms)),
        })
        .collect();
    Ok(ListAWSServiceAccessForOrganizationResponse { enabled_service_principals: Some(enabled), next_token })
}

// ---------------------------------------------------------------------------------------------
// Delegated administrators

pub fn register(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &RegisterDelegatedAdministratorRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    require_all_features(org)?;
    let sp = &input.service_principal;
    let cap = recognized(env, sp)?;
    if cap == 0 {
        return Err(ApiError::invalid_input(
            InvalidInputExceptionReason::UnrecognizedServicePrincipal,
            format!("The service {sp} doesn't support delegated administrators."),
        )
        .into());
    }
    let account = super::account::visible_member(tx, env, org, &input.account_id)?.ok_or_else(account_not_found)?;
    if account.id == org.management_account_id {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CannotRegisterMasterAsDelegatedAdministrator,
            "You can't register the management account of the organization as a delegated administrator.",
        )
        .into());
    }
    if views::lifecycle(&account, &env.config, env.clock.now_ms()) != Lifecycle::Active {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CannotRegisterSuspendedAccountAsDelegatedAdministrator,
            "You can't register a suspended or closed account as a delegated administrator.",
        )
        .into());
    }
    if !service_access_enabled(tx, &org.id, sp)? {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::ServiceAccessNotEnabled,
            format!("You must enable trusted access for {sp} (EnableAWSServiceAccess) before you register a delegated administrator for it."),
        )
        .into());
    }
    if tx.delegated_admin_get(&org.id, &account.id, sp)?.is_some() {
        return Err(ApiError::new(
            ErrorCode::AccountAlreadyRegisteredException,
            "The provided account is already a delegated administrator for your organization.",
        )
        .into());
    }
    let mut current = tx.delegated_admin_count_by_service(&org.id, sp)?;
    if current >= u64::from(cap) {
        // At the cap: registrations of accounts purged after closure no longer count (nor
        // show), so drop them and count again.
        current = 0;
        for d in tx.delegated_admin_list(&org.id, Some(sp), None, usize::MAX)? {
            if super::account::visible_member(tx, env, org, &d.account_id)?.is_some() {
                current += 1;
            } else {
                tx.delegated_admin_delete(&org.id, &d.account_id, sp)?;
            }
        }
    }
    if current >= u64::from(cap) {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::MaxDelegatedAdministratorsForServiceLimitExceeded,
            format!("You have reached the maximum number of delegated administrators for {sp} ({cap})."),
        )
        .into());
    }
    tx.delegated_admin_insert(&DelegatedAdminRecord {
        org_id: org.id.clone(),
        account_id: account.id,
        service_principal: sp.clone(),
        registered_ms: env.clock.now_ms(),
        seq: 0,
    })?;
    Ok(())
}

pub fn deregister(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DeregisterDelegatedAdministratorRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let sp = &input.service_principal;
    recognized(env, sp)?;
    let account = super::account::visible_member(tx, env, org, &input.account_id)?.ok_or_else(account_not_found)?;
    if tx.delegated_admin_get(&org.id, &account.id, sp)?.is_none() {
        return Err(not_registered().into());
    }
    tx.delegated_admin_delete(&org.id, &account.id, sp)?;
    Ok(())
}

fn delegated_administrator(env: &Env, org: &OrganizationRecord, account: &AccountRecord, since_ms: i64) -> DelegatedAdministrator {
    let a = views::account(org, account.clone(), None, &env.config, env.clock.now_ms());
    DelegatedAdministrator {
        id: a.id,
        arn: a.arn,
        email: a.email,
        name: a.name,
        status: a.status,
        state: a.state,
        joined_method: a.joined_method,
        joined_timestamp: a.joined_timestamp,
        delegation_enabled_date: Some(Timestamp::from_millis(since_ms)),
    }
}

/// Without a ServicePrincipal, each account once, with the date of its first registration.
pub fn list_admins(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListDelegatedAdministratorsRequest) -> Result<ListDelegatedAdministratorsResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let filter = input.service_principal.as_deref();
    if let Some(sp) = filter {
        recognized(env, sp)?;
    }
    let scope = format!("ListDelegatedAdministrators/{}/{}", org.id, filter.unwrap_or("*"));
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    // An account purged after closure is no longer shown.
    let rows = paging::collect(
        &page,
        |after, n| {
            let mut admins = Vec::with_capacity(n);
            for d in tx.delegated_admin_list(&org.id, filter, after, n)? {
                let account = super::account::visible_member(tx, env, org, &d.account_id)?;
                admins.push((d.seq, account.map(|a| delegated_administrator(env, org, &a, d.registered_ms))));
            }
            Ok::<_, OpError>(admins)
        },
        |(seq, _)| *seq,
        |(_, admin)| admin.is_some(),
    )?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |(seq, _)| *seq);
    let admins = rows.into_iter().filter_map(|(_, admin)| admin).collect();
    Ok(ListDelegatedAdministratorsResponse { delegated_administrators: Some(admins), next_token })
}

pub fn list_services(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListDelegatedServicesForAccountRequest,
) -> Result<ListDelegatedServicesForAccountResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let account = super::account::visible_member(tx, env, org, &input.account_id)?.ok_or_else(account_not_found)?;
    if tx.delegated_admin_count_by_account(&org.id, &account.id)? == 0 {
        return Err(not_registered().into());
    }
    let scope = format!("ListDelegatedServicesForAccount/{}/{}", org.id, account.id);
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let rows = tx.delegated_admin_list_by_account(&org.id, &account.id, page.after_seq, page.limit + 1)?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |d| d.seq);
    let services = rows
        .into_iter()
        .map(|d| DelegatedService {
            service_principal: Some(d.service_principal),
            delegation_enabled_date: Some(Timestamp::from_millis(d.registered_ms)),
        })
        .collect();
    Ok(ListDelegatedServicesForAccountResponse { delegated_services: Some(services), next_token })
}
