//! Responsibility (billing) transfers between two organizations (api-facts §2.11, §7.12):
//! InviteOrganizationToTransferResponsibility, Describe/ListInbound/ListOutbound/Update/
//! TerminateResponsibilityTransfer, and what accepting, declining or canceling the
//! TRANSFER_RESPONSIBILITY handshake does to the transfer.
//!
//! Direction, as AWS's API reference words it: the inviting management account asks to be
//! designated with the responsibility for the invited organization, so the inviter is the
//! transfer's Target (the transfer is "inbound" for it) and the invited organization its Source
//! ("outbound"). The transfer exists from the invitation on (REQUESTED, with the handshake as
//! ActiveHandshakeId); the handshake's answer makes it ACCEPTED, DECLINED or CANCELED; an
//! unanswered one is EXPIRED once the handshake expires (derived from the clock);
//! TerminateResponsibilityTransfer makes it WITHDRAWN with an EndTimestamp at a month's end.
//!
//! Callers: the management account of either organization for every operation but the invite
//! (AWS's reference does not say; members get AccessDenied, other organizations a NotFound).

use canopy_api::{
    ActionType, ApiError, Caller, ConstraintViolationExceptionReason, DescribeResponsibilityTransferRequest,
    DescribeResponsibilityTransferResponse, ErrorCode, HandshakeConstraintViolationExceptionReason, HandshakeParty,
    HandshakePartyType, HandshakeResourceType, HandshakeState,
    InvalidInputExceptionReason, InviteOrganizationToTransferResponsibilityRequest,
    InviteOrganizationToTransferResponsibilityResponse, ListInboundResponsibilityTransfersRequest,
    ListInboundResponsibilityTransfersResponse, ListOutboundResponsibilityTransfersRequest,
    ListOutboundResponsibilityTransfersResponse, ResponsibilityTransfer, ResponsibilityTransferStatus,
    ResponsibilityTransferType, TerminateResponsibilityTransferRequest, TerminateResponsibilityTransferResponse,
    Timestamp, TransferParticipant, UpdateResponsibilityTransferRequest, UpdateResponsibilityTransferResponse,
};

use crate::access::{self, Member};
use crate::clock::{civil_from_days, days_from_civil, iso8601};
use crate::config::DAY_MS;
use crate::records::{
    AccountRecord, HandshakePartyRecord, HandshakeRecord, HandshakeResourceRecord, OrganizationRecord, TransferRecord,
};
use crate::store::{OpError, Tx};
use crate::{arn, paging, Env};

// ---------------------------------------------------------------------------------------------
// Operations

pub fn invite(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &InviteOrganizationToTransferResponsibilityRequest,
) -> Result<InviteOrganizationToTransferResponsibilityResponse, OpError> {
    crate::free_text::check(&[("SourceName", Some(&input.source_name)), ("Notes", input.notes.as_deref())])?;
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let now = env.clock.now_ms();
    check_target_syntax(&input.target)?;
    check_start(env, input.start_timestamp.millis(), now)?;
    let tags = super::tags::check_new_tags(input.tags.as_deref().unwrap_or_default())?;

    let invitee = resolve_invitee(tx, org, &input.target)?;
    for t in &transfers_of(tx, &invitee.org.id, Side::Outbound)? {
        if t.target_org_id == org.id && is_pending(t, now) {
            return Err(ApiError::new(
                ErrorCode::DuplicateHandshakeException,
                "A transfer invitation to this organization is already pending.",
            )
            .into());
        }
        if t.target_org_id == org.id && is_in_force(t, now) {
            return Err(ApiError::handshake_constraint(
                HandshakeConstraintViolationExceptionReason::ResponsibilityTransferAlreadyExists,
                "A transfer between these organizations already exists.",
            )
            .into());
        }
    }
    check_levels(tx, now, &org.id, &invitee.org.id)?;

    let transfer_id = unused_transfer_id(tx, env)?;
    let handshake_id = super::handshake::unused_handshake_id(tx, env)?;
    let expires_ms = now.saturating_add(env.config.transfer_invite_expiry_ms);
    let type_ = input.type_;
    let handshake = HandshakeRecord {
        id: handshake_id.clone(),
        partition: org.partition.clone(),
        arn: arn::handshake(&org.partition, &org.management_account_id, &org.id, "transfer_responsibility", &handshake_id),
        org_id: org.id.clone(),
        action: ActionType::TransferResponsibility,
        parties: vec![
            HandshakePartyRecord { id: org.id.clone(), party_type: HandshakePartyType::Organization },
            HandshakePartyRecord { id: input.target.id.clone(), party_type: input.target.type_ },
        ],
        resources: handshake_resources(&member, &transfer_id, type_, input.start_timestamp.millis(), input.notes.as_deref()),
        recipient: recipient_key(&input.target),
        parent_id: None,
        state: HandshakeState::Requested,
        requested_ms: now,
        expires_ms,
        ended_ms: None,
        seq: 0,
    };
    let handshake = tx.handshake_insert(&handshake)?;
    tx.transfer_insert(&TransferRecord {
        id: transfer_id.clone(),
        transfer_type: type_,
        name: input.source_name.clone(),
        source_org_id: invitee.org.id.clone(),
        source_account_id: invitee.account.id.clone(),
        source_email: invitee.account.email.clone(),
        target_org_id: org.id.clone(),
        target_account_id: member.account.id.clone(),
        target_email: member.account.email.clone(),
        handshake_id: handshake_id.clone(),
        status: ResponsibilityTransferStatus::Requested,
        start_ms: input.start_timestamp.millis(),
        end_ms: None,
        expires_ms,
        created_ms: now,
        seq: 0,
    })?;
    // The request's tags go on the inviter's side of the transfer (tags are kept per organization).
    super::tags::apply(tx, env, &org.id, &transfer_id, &tags)?;
    Ok(InviteOrganizationToTransferResponsibilityResponse { handshake: Some(super::handshake::view(&handshake, now)) })
}

pub fn describe(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &DescribeResponsibilityTransferRequest,
) -> Result<DescribeResponsibilityTransferResponse, OpError> {
    let member = access::management(tx, caller)?;
    let transfer = find_for(tx, &member.org, &input.id)?;
    Ok(DescribeResponsibilityTransferResponse { responsibility_transfer: Some(view(&transfer, &member.org, env.clock.now_ms())) })
}

pub fn list_inbound(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListInboundResponsibilityTransfersRequest,
) -> Result<ListInboundResponsibilityTransfersResponse, OpError> {
    let member = access::management(tx, caller)?;
    let now = env.clock.now_ms();
    // With an Id: that one inbound transfer, or ResponsibilityTransferNotFoundException.
    if let Some(id) = &input.id {
        let scope = format!("ListInboundResponsibilityTransfers/{}/{}/{id}", member.org.id, input.type_.as_str());
        paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
        let transfer = find_for(tx, &member.org, id)?;
        if transfer.target_org_id != member.org.id || transfer.transfer_type != input.type_ {
            return Err(not_found().into());
        }
        return Ok(ListInboundResponsibilityTransfersResponse {
            responsibility_transfers: Some(vec![view(&transfer, &member.org, now)]),
            next_token: None,
        });
    }
    let (transfers, next_token) = list_page(tx, &member.org, Side::Inbound, input.type_, input.next_token.as_deref(), input.max_results, now)?;
    Ok(ListInboundResponsibilityTransfersResponse { responsibility_transfers: Some(transfers), next_token })
}

pub fn list_outbound(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListOutboundResponsibilityTransfersRequest,
) -> Result<ListOutboundResponsibilityTransfersResponse, OpError> {
    let member = access::management(tx, caller)?;
    let now = env.clock.now_ms();
    let (transfers, next_token) = list_page(tx, &member.org, Side::Outbound, input.type_, input.next_token.as_deref(), input.max_results, now)?;
    Ok(ListOutboundResponsibilityTransfersResponse { responsibility_transfers: Some(transfers), next_token })
}

/// Renames the transfer (the one name both sides see). A transfer that is over (declined,
/// canceled, expired, or withdrawn and past its end) can't be renamed.
pub fn update(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &UpdateResponsibilityTransferRequest,
) -> Result<UpdateResponsibilityTransferResponse, OpError> {
    crate::free_text::check(&[("Name", Some(&input.name))])?;
    let member = access::management(tx, caller)?;
    let now = env.clock.now_ms();
    let mut transfer = find_for(tx, &member.org, &input.id)?;
    if !is_pending(&transfer, now) && !is_in_force(&transfer, now) {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::TransferResponsibilityUpdateNotAllowed,
            format!("You can't update a transfer whose status is {}.", status(&transfer, now).as_str()),
        )
        .into());
    }
    transfer.name = input.name.clone();
    tx.transfer_update(&transfer)?;
    Ok(UpdateResponsibilityTransferResponse { responsibility_transfer: Some(view(&transfer, &member.org, now)) })
}

/// Withdraws an accepted transfer; it stays in force until its EndTimestamp, the last
/// millisecond of a month (by default the current month, or the start month when the transfer
/// has not started yet).
pub fn terminate(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &TerminateResponsibilityTransferRequest,
) -> Result<TerminateResponsibilityTransferResponse, OpError> {
    let member = access::management(tx, caller)?;
    let now = env.clock.now_ms();
    let mut transfer = find_for(tx, &member.org, &input.id)?;
    match status(&transfer, now) {
        ResponsibilityTransferStatus::Accepted => {}
        ResponsibilityTransferStatus::Withdrawn => {
            return Err(ApiError::new(ErrorCode::ResponsibilityTransferAlreadyInStatusException, "This transfer is already withdrawn.").into())
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidResponsibilityTransferTransitionException,
                format!("Only an accepted transfer can be terminated; this one is {}.", other.as_str()),
            )
            .into())
        }
    }
    let end_ms = match input.end_timestamp {
        Some(end) => check_end(env, end.millis(), transfer.start_ms, now)?,
        None => month_end(month_index(now.max(transfer.start_ms))),
    };
    transfer.status = ResponsibilityTransferStatus::Withdrawn;
    transfer.end_ms = Some(end_ms);
    tx.transfer_update(&transfer)?;
    Ok(TerminateResponsibilityTransferResponse { responsibility_transfer: Some(view(&transfer, &member.org, now)) })
}

// ---------------------------------------------------------------------------------------------
// The TRANSFER_RESPONSIBILITY handshake's answers (called by ops::handshake once it has checked
// who answers and moved the handshake itself).

/// The invited management account accepted: the transfer is ACCEPTED, if the invited
/// organization is still what it was and neither side took on a conflicting transfer since.
pub fn on_accept(tx: &mut dyn Tx, env: &Env, handshake: &HandshakeRecord) -> Result<(), OpError> {
    let now = env.clock.now_ms();
    let mut transfer = for_handshake(tx, handshake)?;
    let source_org = tx.org_get(&transfer.source_org_id)?.filter(|o| o.management_account_id == transfer.source_account_id);
    let source_account = tx.account_get(&handshake.partition, &transfer.source_account_id)?;
    let (Some(source_org), Some(source_account)) = (source_org, source_account) else {
        return Err(ApiError::handshake_constraint(
            HandshakeConstraintViolationExceptionReason::TargetAccountValidationFailure,
            "The invited account is no longer the management account of the invited organization.",
        )
        .into());
    };
    // Still the management account of that organization (not deleted and recreated since).
    if source_account.org_id.as_deref() != Some(source_org.id.as_str()) {
        return Err(ApiError::handshake_constraint(
            HandshakeConstraintViolationExceptionReason::TargetAccountValidationFailure,
            "The invited account is no longer the management account of the invited organization.",
        )
        .into());
    }
    check_levels(tx, now, &transfer.target_org_id, &transfer.source_org_id)?;
    transfer.status = ResponsibilityTransferStatus::Accepted;
    tx.transfer_update(&transfer)?;
    Ok(())
}

pub fn on_decline(tx: &mut dyn Tx, _env: &Env, handshake: &HandshakeRecord) -> Result<(), OpError> {
    answer(tx, handshake, ResponsibilityTransferStatus::Declined)
}

pub fn on_cancel(tx: &mut dyn Tx, _env: &Env, handshake: &HandshakeRecord) -> Result<(), OpError> {
    answer(tx, handshake, ResponsibilityTransferStatus::Canceled)
}

fn answer(tx: &mut dyn Tx, handshake: &HandshakeRecord, new_status: ResponsibilityTransferStatus) -> Result<(), OpError> {
    let mut transfer = for_handshake(tx, handshake)?;
    transfer.status = new_status;
    tx.transfer_update(&transfer)?;
    Ok(())
}

fn for_handshake(tx: &mut dyn Tx, handshake: &HandshakeRecord) -> Result<TransferRecord, OpError> {
    tx.transfer_get_by_handshake(&handshake.id)?
        .ok_or_else(|| crate::store::StoreError::Corrupt(format!("no transfer for handshake {}", handshake.id)).into())
}

// ---------------------------------------------------------------------------------------------
// Checks shared with other families

/// DeleteOrganization is refused while the organization takes part in a transfer that is
/// pending or in force (ConstraintViolation ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS).
pub(crate) fn check_none_active(tx: &mut dyn Tx, env: &Env, org_id: &str) -> Result<(), OpError> {
    let now = env.clock.now_ms();
    for side in [Side::Inbound, Side::Outbound] {
        if transfers_of(tx, org_id, side)?.iter().any(|t| is_pending(t, now) || is_in_force(t, now)) {
            return Err(ApiError::constraint(
                ConstraintViolationExceptionReason::ActiveResponsibilityTransferProcess,
                "The organization takes part in a responsibility transfer that is pending or in force. Terminate it (or let it end) first.",
            )
            .into());
        }
    }
    Ok(())
}

/// The ARN of transfer `id` as `org` sees it, if the organization takes part in it (TagResource
/// and friends).
pub(crate) fn arn_for(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<Option<String>, OpError> {
    Ok(tx.transfer_get(id)?.filter(|t| t.source_org_id == org.id || t.target_org_id == org.id).map(|t| arn_of(&t, org)))
}

// ---------------------------------------------------------------------------------------------
// Status and views

/// The status at `now_ms`: an unanswered invitation is EXPIRED once its handshake expired.
fn status(t: &TransferRecord, now_ms: i64) -> ResponsibilityTransferStatus {
    match t.status {
        ResponsibilityTransferStatus::Requested if now_ms >= t.expires_ms => ResponsibilityTransferStatus::Expired,
        s => s,
    }
}

/// Waiting for the invited organization's answer.
fn is_pending(t: &TransferRecord, now_ms: i64) -> bool {
    status(t, now_ms) == ResponsibilityTransferStatus::Requested
}

/// Accepted, or withdrawn but not yet past its end.
fn is_in_force(t: &TransferRecord, now_ms: i64) -> bool {
    match status(t, now_ms) {
        ResponsibilityTransferStatus::Accepted => true,
        ResponsibilityTransferStatus::Withdrawn => t.end_ms.is_some_and(|end| now_ms <= end),
        _ => false,
    }
}

/// The transfer as `viewer` (one of its two organizations) sees it: the ARN is that side's.
fn view(t: &TransferRecord, viewer: &OrganizationRecord, now_ms: i64) -> ResponsibilityTransfer {
    ResponsibilityTransfer {
        arn: Some(arn_of(t, viewer)),
        name: Some(t.name.clone()),
        id: Some(t.id.clone()),
        type_: Some(t.transfer_type),
        status: Some(status(t, now_ms)),
        source: Some(TransferParticipant {
            management_account_id: Some(t.source_account_id.clone()),
            management_account_email: Some(t.source_email.clone()),
        }),
        target: Some(TransferParticipant {
            management_account_id: Some(t.target_account_id.clone()),
            management_account_email: Some(t.target_email.clone()),
        }),
        start_timestamp: Some(Timestamp::from_millis(t.start_ms)),
        end_timestamp: t.end_ms.map(Timestamp::from_millis),
        active_handshake_id: Some(t.handshake_id.clone()),
    }
}

fn arn_of(t: &TransferRecord, viewer: &OrganizationRecord) -> String {
    let direction = if t.target_org_id == viewer.id { "inbound" } else { "outbound" };
    let type_lower = t.transfer_type.as_str().to_ascii_lowercase();
    arn::transfer(&viewer.partition, &viewer.management_account_id, &viewer.id, &type_lower, direction, &t.id)
}

/// What the invited organization reads in the handshake: the transfer, its type and start, and
/// who asks (the inviting management account, its email and name), plus the notes.
fn handshake_resources(
    inviter: &Member,
    transfer_id: &str,
    type_: ResponsibilityTransferType,
    start_ms: i64,
    notes: Option<&str>,
) -> Vec<HandshakeResourceRecord> {
    let leaf = |resource_type, value: String| HandshakeResourceRecord { resource_type, value, resources: Vec::new() };
    let mut resources = vec![
        leaf(HandshakeResourceType::ResponsibilityTransfer, transfer_id.to_string()),
        leaf(HandshakeResourceType::TransferType, type_.as_str().to_string()),
        leaf(HandshakeResourceType::TransferStartTimestamp, iso8601(start_ms)),
        HandshakeResourceRecord {
            resource_type: HandshakeResourceType::ManagementAccount,
            value: inviter.account.id.clone(),
            resources: vec![
                leaf(HandshakeResourceType::ManagementEmail, inviter.account.email.clone()),
                leaf(HandshakeResourceType::ManagementName, inviter.account.name.clone()),
            ],
        },
    ];
    if let Some(notes) = notes {
        resources.push(leaf(HandshakeResourceType::Notes, notes.to_string()));
    }
    resources
}

// ---------------------------------------------------------------------------------------------
// Helpers

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The organization is the Target (it takes the responsibility).
    Inbound,
    /// The organization is the Source (it hands the responsibility over).
    Outbound,
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::ResponsibilityTransferNotFoundException, "We can't find a transfer with the Id that you specified.")
}

/// The transfer `id` if `org` takes part in it; other organizations' transfers don't exist for it.
fn find_for(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<TransferRecord, OpError> {
    tx.transfer_get(id)?
        .filter(|t| t.source_org_id == org.id || t.target_org_id == org.id)
        .ok_or_else(|| not_found().into())
}

/// Every transfer of one side of an organization (a handful: the checks read them whole).
fn transfers_of(tx: &mut dyn Tx, org_id: &str, side: Side) -> Result<Vec<TransferRecord>, OpError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = match side {
            Side::Inbound => tx.transfer_list_inbound(org_id, after, 500)?,
            Side::Outbound => tx.transfer_list_outbound(org_id, after, 500)?,
        };
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        let full = page.len() == 500;
        out.extend(page);
        if !full {
            break;
        }
    }
    Ok(out)
}

fn list_page(
    tx: &mut dyn Tx,
    org: &OrganizationRecord,
    side: Side,
    type_: ResponsibilityTransferType,
    next_token: Option<&str>,
    max_results: Option<i32>,
    now_ms: i64,
) -> Result<(Vec<ResponsibilityTransfer>, Option<String>), OpError> {
    let op = if side == Side::Inbound { "ListInboundResponsibilityTransfers" } else { "ListOutboundResponsibilityTransfers" };
    let scope = format!("{op}/{}/{}", org.id, type_.as_str());
    let page = paging::start(&scope, next_token, max_results)?;
    let rows = match side {
        Side::Inbound => tx.transfer_list_inbound(&org.id, page.after_seq, page.limit + 1)?,
        Side::Outbound => tx.transfer_list_outbound(&org.id, page.after_seq, page.limit + 1)?,
    };
    let (rows, token) = paging::finish(&scope, rows, page.limit, |t| t.seq);
    // BILLING is the only type; the filter keeps the answer right if the model adds more.
    let transfers = rows.iter().filter(|t| t.transfer_type == type_).map(|t| view(t, org, now_ms)).collect();
    Ok((transfers, token))
}

fn unused_transfer_id(tx: &mut dyn Tx, env: &Env) -> Result<String, OpError> {
    loop {
        let id = env.ids.responsibility_transfer_id();
        if tx.transfer_get(&id)?.is_none() {
            return Ok(id);
        }
    }
}

/// Target: an ACCOUNT id (12 digits) or an EMAIL address; ORGANIZATION is for answers only.
fn check_target_syntax(target: &HandshakeParty) -> Result<(), ApiError> {
    match target.type_ {
        HandshakePartyType::Account if target.id.len() == 12 && target.id.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        HandshakePartyType::Account => Err(ApiError::invalid_input(
            InvalidInputExceptionReason::InvalidPattern,
            format!("Invalid value for Target.Id: '{}' is not a 12-digit account id.", target.id),
        )),
        HandshakePartyType::Email => {
            let valid = target.id.is_ascii()
                && target.id.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty() && !domain.contains('@') && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
                })
                && !target.id.chars().any(char::is_whitespace);
            if valid {
                Ok(())
            } else {
                Err(ApiError::invalid_input(
                    InvalidInputExceptionReason::InvalidEmailAddressTarget,
                    format!("Invalid value for Target.Id: '{}' is not a valid email address.", target.id),
                ))
            }
        }
        _ => Err(ApiError::invalid_input(
            InvalidInputExceptionReason::InvalidPartyTypeTarget,
            "Target.Type must be ACCOUNT or EMAIL.",
        )),
    }
}

/// How the handshake store names the recipient: the account id, or the address in lower case.
fn recipient_key(target: &HandshakeParty) -> String {
    match target.type_ {
        HandshakePartyType::Email => target.id.to_lowercase(),
        _ => target.id.clone(),
    }
}

/// The invited account must be the management account of another organization.
fn resolve_invitee(tx: &mut dyn Tx, org: &OrganizationRecord, target: &HandshakeParty) -> Result<Member, OpError> {
    let account: Option<AccountRecord> = match target.type_ {
        HandshakePartyType::Email => tx.account_find_by_email(&org.partition, &target.id)?,
        _ => tx.account_get(&org.partition, &target.id)?,
    };
    let invalid = || {
        ApiError::handshake_constraint(
            HandshakeConstraintViolationExceptionReason::TargetAccountValidationFailure,
            "The target must be the management account of another organization.",
        )
    };
    let account = account.ok_or_else(invalid)?;
    if account.org_id.as_deref() == Some(org.id.as_str()) {
        return Err(ApiError::handshake_constraint(
            HandshakeConstraintViolationExceptionReason::SourceAndTargetCannotMatch,
            "The source and the target of a transfer must be different organizations.",
        )
        .into());
    }
    let target_org = match &account.org_id {
        Some(id) => tx.org_get(id)?,
        None => None,
    };
    match target_org {
        Some(target_org) if target_org.management_account_id == account.id => Ok(Member { account, org: target_org }),
        _ => Err(invalid().into()),
    }
}

/// One level only: an organization whose responsibility another holds can't take on someone
/// else's, and one that holds others' can't hand its own over; and an organization hands its
/// responsibility to one other at a time.
fn check_levels(tx: &mut dyn Tx, now_ms: i64, inviter_org_id: &str, invitee_org_id: &str) -> Result<(), OpError> {
    let in_force = |list: Vec<TransferRecord>| list.iter().any(|t| is_in_force(t, now_ms));
    let level = |what: &str| {
        ApiError::constraint(ConstraintViolationExceptionReason::ResponsibilityTransferMaxLevelViolation, format!("Transfers are one level deep: {what}."))
    };
    if in_force(transfers_of(tx, inviter_org_id, Side::Outbound)?) {
        return Err(level("the inviting organization has handed its own responsibility to another organization").into());
    }
    if in_force(transfers_of(tx, invitee_org_id, Side::Inbound)?) {
        return Err(level("the invited organization holds another organization's responsibility").into());
    }
    if in_force(transfers_of(tx, invitee_org_id, Side::Outbound)?) {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::ResponsibilityTransferMaxOutboundQuotaViolation,
            format!("Organization {invitee_org_id} already hands this responsibility to another organization."),
        )
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Months (UTC). A transfer starts at the first millisecond of a month and ends at the last one.

/// Months since January 1970 (negative before).
fn month_index(ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(ms.div_euclid(DAY_MS));
    y * 12 + m - 1
}

fn month_start(index: i64) -> i64 {
    days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1).saturating_mul(DAY_MS)
}

/// The last millisecond of the month (23:59:59.999 UTC of its last day).
fn month_end(index: i64) -> i64 {
    month_start(index + 1) - 1
}

/// StartTimestamp: the first instant of a month, from the current month to the configured
/// number of months ahead.
fn check_start(env: &Env, start_ms: i64, now_ms: i64) -> Result<(), ApiError> {
    let bad = |reason, what: String| ApiError::invalid_input(reason, format!("Invalid value for StartTimestamp: {what}."));
    // The range first: a date centuries away (or a saturated one) is too early or too late,
    // whatever its time of day, and the calendar arithmetic below only sees sane dates.
    let current = month_index(now_ms);
    if start_ms < month_start(current) {
        return Err(bad(InvalidInputExceptionReason::StartDateTooEarly, "it must not be before the current month".into()));
    }
    let latest = current + i64::from(env.config.transfer_max_months_ahead);
    if start_ms > month_start(latest) {
        return Err(bad(
            InvalidInputExceptionReason::StartDateTooLate,
            format!("it must be at most {} months ahead", env.config.transfer_max_months_ahead),
        ));
    }
    if start_ms.rem_euclid(DAY_MS) != 0 {
        return Err(bad(InvalidInputExceptionReason::StartDateNotBeginningOfDay, "it must be midnight (00:00:00.000 UTC)".into()));
    }
    if month_start(month_index(start_ms)) != start_ms {
        return Err(bad(InvalidInputExceptionReason::StartDateNotBeginningOfMonth, "it must be the first day of a month".into()));
    }
    Ok(())
}

/// EndTimestamp: within the last second of a month (normalized to its last millisecond), not
/// before the end of the current month or of the start month, at most the configured number of
/// months ahead.
fn check_end(env: &Env, end_ms: i64, start_ms: i64, now_ms: i64) -> Result<i64, ApiError> {
    let bad = |reason, what: String| ApiError::invalid_input(reason, format!("Invalid value for EndTimestamp: {what}."));
    // The range first, as for the start.
    if end_ms < month_start(month_index(now_ms.max(start_ms))) {
        return Err(bad(InvalidInputExceptionReason::EndDateTooEarly, "it must not be before the end of the current month or of the transfer's start month".into()));
    }
    if end_ms > month_end(month_index(now_ms) + i64::from(env.config.transfer_max_months_ahead)) {
        return Err(bad(
            InvalidInputExceptionReason::EndDateTooLate,
            format!("it must be at most {} months ahead", env.config.transfer_max_months_ahead),
        ));
    }
    let end_of_its_month = month_end(month_index(end_ms));
    if end_of_its_month - end_ms >= 1000 {
        return Err(bad(InvalidInputExceptionReason::EndDateNotEndOfMonth, "it must be the end of a month (23:59:59 UTC on its last day)".into()));
    }
    Ok(end_of_its_month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_bounds() {
        let dec_2026 = month_index(days_from_civil(2026, 12, 15) * DAY_MS);
        assert_eq!(month_start(dec_2026), days_from_civil(2026, 12, 1) * DAY_MS);
        assert_eq!(month_end(dec_2026), days_from_civil(2027, 1, 1) * DAY_MS - 1);
        let feb_2028 = month_index(days_from_civil(2028, 2, 10) * DAY_MS);
        assert_eq!(iso8601(month_end(feb_2028)), "2028-02-29T23:59:59Z", "leap year");
        assert_eq!(iso8601(month_start(feb_2028)), "2028-02-01T00:00:00Z");
        // Extreme inputs neither panic nor overflow.
        let _ = month_index(i64::MAX);
        let _ = month_index(i64::MIN);
    }
}
