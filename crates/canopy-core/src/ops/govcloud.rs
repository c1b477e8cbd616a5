//! CreateGovCloudAccount: CreateAccount's rules and status, plus a standalone account in the
//! `aws-us-gov` partition paired with the new commercial account (api-facts §2.2, §7.1, §7.2).

use canopy_api::{
    ApiError, Caller, ConstraintViolationExceptionReason, CreateAccountFailureReason, CreateAccountStatus,
    CreateGovCloudAccountRequest, CreateGovCloudAccountResponse, ErrorCode,
};

use super::account::{self, NewAccount};
use crate::access;
use crate::records::{AccountRecord, CreateAccountRecord, GovCloudLinkRecord, OrganizationRecord};
use crate::store::{OpError, Tx};
use crate::{views, Env};

/// The partition GovCloud (US) accounts live in.
pub const GOVCLOUD_PARTITION: &str = "aws-us-gov";

pub fn create(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CreateGovCloudAccountRequest) -> Result<CreateGovCloudAccountResponse, OpError> {
    crate::free_text::check(&[("AccountName", Some(&input.account_name))])?;
    // Only commercial organizations pair accounts with GovCloud; AWS's other partitions have no
    // such endpoint, which the model's UnsupportedAPIEndpointException names.
    if caller.partition != "aws" {
        return Err(ApiError::new(
            ErrorCode::UnsupportedAPIEndpointException,
            format!("CreateGovCloudAccount is available only in the commercial 'aws' partition, not in '{}'.", caller.partition),
        )
        .into());
    }
    let member = access::management(tx, caller)?;
    let org = &member.org;
    if !is_govcloud_enabled(env, &org.management_account_id) {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::MasterAccountNotGovcloudEnabled,
            "The management account of this organization isn't paired with an account in the AWS GovCloud (US) Region.",
        )
        .into());
    }
    let new = NewAccount {
        name: &input.account_name,
        email: &input.email,
        role_name: input.role_name.as_deref(),
        tags: input.tags.as_deref().unwrap_or_default(),
    };
    // The GovCloud account takes the same email: one already there fails the request in its
    // status, as AWS reports it (GOVCLOUD_ACCOUNT_ALREADY_EXISTS).
    let email = input.email.clone();
    let mut govcloud_taken = move |tx: &mut dyn Tx| -> Result<Option<CreateAccountFailureReason>, OpError> {
        Ok(tx
            .account_find_by_email(GOVCLOUD_PARTITION, &email)?
            .map(|_| CreateAccountFailureReason::GovcloudAccountAlreadyExists))
    };
    let car = account::start_creation(tx, env, org, &new, &mut govcloud_taken)?;
    if let Some(account_id) = &car.account_id {
        pair(tx, env, org, &car, account_id)?;
    }
    Ok(CreateGovCloudAccountResponse { create_account_status: Some(account::in_progress_status(&car)) })
}

/// Whether the commercial management account may create GovCloud accounts (configurable, since
/// Canopy has no GovCloud sign-up: by default every management account may).
fn is_govcloud_enabled(env: &Env, management_account_id: &str) -> bool {
    match &env.config.govcloud_enabled_accounts {
        None => true,
        Some(list) => list.iter().any(|a| a == management_account_id),
    }
}

/// Writes the standalone GovCloud account (same name and email, created when the commercial one
/// is) and its pairing with the commercial account.
fn pair(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, car: &CreateAccountRecord, account_id: &str) -> Result<(), OpError> {
    let govcloud_account_id = account::unused_account_id(tx, env, GOVCLOUD_PARTITION)?;
    tx.account_insert(&AccountRecord {
        partition: GOVCLOUD_PARTITION.to_string(),
        id: govcloud_account_id.clone(),
        name: car.account_name.clone(),
        email: car.email.clone(),
        org_id: None,
        parent_id: None,
        joined_method: None,
        joined_ms: None,
        created_ms: car.completes_ms,
        close_requested_ms: None,
        seq: 0,
    })?;
    tx.govcloud_link_insert(&GovCloudLinkRecord {
        org_id: org.id.clone(),
        create_request_id: car.id.clone(),
        account_id: account_id.to_string(),
        govcloud_account_id,
        created_ms: car.requested_ms,
    })?;
    Ok(())
}

/// A create-account status as Describe/ListCreateAccountStatus answer it: GovCloudAccountId is
/// set once a CreateGovCloudAccount request has succeeded.
pub(crate) fn create_account_status(tx: &mut dyn Tx, car: &CreateAccountRecord, now_ms: i64) -> Result<CreateAccountStatus, OpError> {
    let mut status = views::create_account_status(car, now_ms);
    if status.account_id.is_some() {
        status.gov_cloud_account_id = tx.govcloud_link_by_request(&car.org_id, &car.id)?.map(|l| l.govcloud_account_id);
    }
    Ok(status)
}

/// CloseAccount of a commercial account closes its GovCloud account too (api-facts §7.2), at the
/// same moment, so both derive the same closure states.
pub(crate) fn close_pair(tx: &mut dyn Tx, org: &OrganizationRecord, account_id: &str, now_ms: i64) -> Result<(), OpError> {
    let Some(link) = tx.govcloud_link_by_account(&org.id, account_id)? else {
        return Ok(());
    };
    if let Some(mut govcloud) = tx.account_get(GOVCLOUD_PARTITION, &link.govcloud_account_id)? {
        if govcloud.close_requested_ms.is_none() {
            govcloud.close_requested_ms = Some(now_ms);
            tx.account_update(&govcloud)?;
        }
    }
    Ok(())
}
