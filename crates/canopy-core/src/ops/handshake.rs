//! Handshakes (api-facts §2.6, §7.3, §7.5): InviteAccountToOrganization, AcceptHandshake,
//! DeclineHandshake, CancelHandshake, DescribeHandshake, ListHandshakesForAccount,
//! ListHandshakesForOrganization, and EnableAllFeatures with its migration flow.
//!
//! Time-based states are not stored: a pending handshake is EXPIRED once the clock passes its
//! expiry, and a finished one (accepted, declined, canceled, expired) is visible for the
//! retention window after it ended, then answers HandshakeNotFoundException. Invitees are
//! outside any organization, so nothing here gates the recipient's side on membership.

use canopy_api::{
    AcceptHandshakeRequest, AcceptHandshakeResponse, AccountJoinedMethod, ActionType, ApiError, Caller,
    CancelHandshakeRequest, CancelHandshakeResponse, ConstraintViolationExceptionReason, DeclineHandshakeRequest,
    DeclineHandshakeResponse, DescribeHandshakeRequest, DescribeHandshakeResponse, EnableAllFeaturesResponse,
    ErrorCode, Handshake, HandshakeConstraintViolationExceptionReason as Hcv, HandshakeFilter, HandshakeParty,
    HandshakePartyType, HandshakeResource, HandshakeResourceType, HandshakeState, InvalidInputExceptionReason,
    InviteAccountToOrganizationRequest, InviteAccountToOrganizationResponse, ListHandshakesForAccountRequest,
    ListHandshakesForAccountResponse, ListHandshakesForOrganizationRequest, ListHandshakesForOrganizationResponse,
    OrganizationFeatureSet, Timestamp,
};

use crate::config::DAY_MS;
use crate::paging;
use crate::records::{AccountRecord, HandshakePartyRecord, HandshakeRecord, HandshakeResourceRecord, OrganizationRecord};
use crate::store::{OpError, StoreResult, Tx};
use crate::views::{self, Lifecycle};
use crate::{access, arn, tree, Env};

/// AWS's limit for the self-service all-features migration (api-facts §5).
const MAX_ACCOUNTS_FOR_ALL_FEATURES_MIGRATION: usize = 5_000;

// ---------------------------------------------------------------------------------------------
// States and views

/// The state at `now_ms`: a pending handshake past its expiry is EXPIRED.
pub fn state_at(h: &HandshakeRecord, now_ms: i64) -> HandshakeState {
    match h.state {
        HandshakeState::Requested | HandshakeState::Open if now_ms >= h.expires_ms => HandshakeState::Expired,
        s => s,
    }
}

fn is_pending(h: &HandshakeRecord, now_ms: i64) -> bool {
    matches!(state_at(h, now_ms), HandshakeState::Requested | HandshakeState::Open)
}

/// Whether a handshake still shows in Describe and the lists: pending, or finished less than
/// the retention window ago.
pub fn is_visible(h: &HandshakeRecord, env: &Env, now_ms: i64) -> bool {
    let ended = match h.ended_ms {
        Some(ended) => ended,
        None if now_ms >= h.expires_ms => h.expires_ms,
        None => return true,
    };
    now_ms < ended + env.config.handshake_retention_ms
}

fn resource_view(r: &HandshakeResourceRecord) -> HandshakeResource {
    HandshakeResource {
        type_: Some(r.resource_type),
        value: Some(r.value.clone()),
        resources: (!r.resources.is_empty()).then(|| r.resources.iter().map(resource_view).collect()),
    }
}

/// The wire shape of a handshake at `now_ms`.
pub fn view(h: &HandshakeRecord, now_ms: i64) -> Handshake {
    Handshake {
        id: Some(h.id.clone()),
        arn: Some(h.arn.clone()),
        action: Some(h.action),
        parties: Some(h.parties.iter().map(|p| HandshakeParty { id: p.id.clone(), type_: p.party_type }).collect()),
        resources: Some(h.resources.iter().map(resource_view).collect()),
        state: Some(state_at(h, now_ms)),
        requested_timestamp: Some(Timestamp::from_millis(h.requested_ms)),
        expiration_timestamp: Some(Timestamp::from_millis(h.expires_ms)),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::HandshakeNotFoundException, "We can't find a handshake with the HandshakeId that you specified.")
}

fn already_in_state(state: HandshakeState) -> ApiError {
    ApiError::new(
        ErrorCode::HandshakeAlreadyInStateException,
        format!("The specified handshake is already in the requested state ({}).", state.as_str()),
    )
}

fn invalid_transition(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidHandshakeTransitionException, message)
}

fn denied(message: &str) -> ApiError {
    ApiError::new(ErrorCode::AccessDeniedException, message)
}

/// Re-doing the current state is HandshakeAlreadyInState; any move out of a finished state is
/// InvalidHandshakeTransition.
fn check_transition(h: &HandshakeRecord, now_ms: i64, to: HandshakeState) -> Result<(), ApiError> {
    let current = state_at(h, now_ms);
    if current == to {
        return Err(already_in_state(to));
    }
    if !is_pending(h, now_ms) {
        return Err(invalid_transition(format!(
            "You can't change the handshake to {} because it is {}.",
            to.as_str(),
            current.as_str()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Who is asking

/// The caller's stored account (if any) and its email in lower case.
struct CallerIdentity {
    account: Option<AccountRecord>,
    email_lower: String,
}

fn identify(tx: &mut dyn Tx, caller: &Caller) -> Result<CallerIdentity, OpError> {
    let account = tx.account_get(&caller.partition, &caller.account_id)?;
    // An account Canopy has not stored yet gets this address when it is (organization::own_account).
    let email = match &account {
        Some(a) => a.email.clone(),
        None => super::organization::standalone_email(&caller.account_id),
    };
    Ok(CallerIdentity { account, email_lower: email.to_lowercase() })
}

impl CallerIdentity {
    fn org_id(&self) -> Option<&str> {
        self.account.as_ref().and_then(|a| a.org_id.as_deref())
    }

    /// The party a handshake waits for. Handshakes about an organization's feature set are
    /// addressed to its members: an account that has left keeps none of them.
    fn is_recipient(&self, caller: &Caller, h: &HandshakeRecord) -> bool {
        let addressed = h.recipient == caller.account_id || h.recipient == self.email_lower;
        let membership_bound = matches!(h.action, ActionType::EnableAllFeatures | ActionType::ApproveAllFeatures);
        addressed && (!membership_bound || self.org_id() == Some(h.org_id.as_str()))
    }
}

/// The sender: the management account of the organization that sent the handshake.
fn is_sender(tx: &mut dyn Tx, caller: &Caller, who: &CallerIdentity, h: &HandshakeRecord) -> Result<bool, OpError> {
    if who.org_id() != Some(h.org_id.as_str()) {
        return Ok(false);
    }
    Ok(tx.org_get(&h.org_id)?.is_some_and(|o| o.management_account_id == caller.account_id))
}

/// A visible handshake of the caller's partition, or HandshakeNotFoundException.
fn load(tx: &mut dyn Tx, env: &Env, caller: &Caller, id: &str) -> Result<HandshakeRecord, OpError> {
    let now = env.clock.now_ms();
    tx.handshake_get(id)?
        .filter(|h| h.partition == caller.partition && is_visible(h, env, now))
        .ok_or_else(|| not_found().into())
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// The ENABLE_ALL_FEATURES handshake an organization has pending (its migration), if any. The
/// parent handshake is the one addressed to the management account.
fn pending_migration(tx: &mut dyn Tx, org: &OrganizationRecord, now_ms: i64) -> StoreResult<Option<HandshakeRecord>> {
    let pending = tx.handshake_list_pending(&org.id, ActionType::EnableAllFeatures, Some(&org.management_account_id), now_ms, 8)?;
    Ok(pending.into_iter().find(|h| h.parent_id.is_none()))
}

fn account_limit(env: &Env) -> ApiError {
    ApiError::handshake_constraint(
        Hcv::AccountNumberLimitExceeded,
        format!(
            "You have reached the maximum number of accounts in the organization ({}); open invitations count toward it.",
            env.config.max_accounts
        ),
    )
}

fn already_in_org() -> ApiError {
    ApiError::handshake_constraint(
        Hcv::AlreadyInAnOrganization,
        "The account is already a member of an organization. It must leave it before it can join another one.",
    )
}

fn invites_disabled() -> ApiError {
    ApiError::handshake_constraint(
        Hcv::InviteDisabledDuringEnableAllFeatures,
        "You can't invite accounts while the organization is being migrated to all features.",
    )
}

fn party(id: &str, party_type: HandshakePartyType) -> HandshakePartyRecord {
    HandshakePartyRecord { id: id.to_string(), party_type }
}

fn resource(resource_type: HandshakeResourceType, value: &str) -> HandshakeResourceRecord {
    HandshakeResourceRecord { resource_type, value: value.to_string(), resources: Vec::new() }
}

/// The ORGANIZATION resource with the management account's email and name and the feature set,
/// as AWS shows it in invitations.
fn organization_resource(org: &OrganizationRecord, mgmt: &AccountRecord) -> HandshakeResourceRecord {
    HandshakeResourceRecord {
        resource_type: HandshakeResourceType::Organization,
        value: org.id.clone(),
        resources: vec![
            resource(HandshakeResourceType::MasterEmail, &mgmt.email),
            resource(HandshakeResourceType::MasterName, &mgmt.name),
            resource(HandshakeResourceType::OrganizationFeatureSet, org.feature_set.as_str()),
        ],
    }
}

/// What a new handshake of an organization is made of.
struct NewHandshake {
    action: ActionType,
    parties: Vec<HandshakePartyRecord>,
    resources: Vec<HandshakeResourceRecord>,
    recipient: String,
    parent_id: Option<String>,
    state: HandshakeState,
    /// The operation's one reading of the clock, so that expiry − request is exactly the
    /// configured lifetime.
    requested_ms: i64,
    expires_ms: i64,
}

/// A handshake id no handshake of the store uses (the sequence part of an id can repeat after a
/// restart).
pub(crate) fn unused_handshake_id(tx: &mut dyn Tx, env: &Env) -> Result<String, OpError> {
    loop {
        let id = env.ids.handshake_id();
        if tx.handshake_get(&id)?.is_none() {
            return Ok(id);
        }
    }
}

fn insert(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, new: NewHandshake) -> Result<HandshakeRecord, OpError> {
    let id = unused_handshake_id(tx, env)?;
    let action_lower = new.action.as_str().to_ascii_lowercase();
    let record = HandshakeRecord {
        arn: arn::handshake(&org.partition, &org.management_account_id, &org.id, &action_lower, &id),
        id,
        partition: org.partition.clone(),
        org_id: org.id.clone(),
        action: new.action,
        parties: new.parties,
        resources: new.resources,
        recipient: new.recipient,
        parent_id: new.parent_id,
        state: new.state,
        requested_ms: new.requested_ms,
        expires_ms: new.expires_ms,
        ended_ms: None,
        seq: 0,
    };
    Ok(tx.handshake_insert(&record)?)
}

/// Moves a pending handshake to a finished state now.
fn finish(tx: &mut dyn Tx, h: &mut HandshakeRecord, state: HandshakeState, now_ms: i64) -> StoreResult<()> {
    h.state = state;
    h.ended_ms = Some(now_ms);
    tx.handshake_update(h)
}

fn org_of(tx: &mut dyn Tx, h: &HandshakeRecord) -> Result<OrganizationRecord, OpError> {
    // Deleting an organization deletes its handshakes, so a stored handshake has its organization.
    tx.org_get(&h.org_id)?.ok_or_else(|| not_found().into())
}

// ---------------------------------------------------------------------------------------------
// InviteAccountToOrganization

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The model's email rule (6 to 64 characters, `[^\s@]+@[^\s@]+\.[^\s@]+`).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let plain = |p: &str| !p.is_empty() && !p.chars().any(|c| c.is_whitespace() || c == '@');
    let domain_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| plain(host) && plain(tld));
    (6..=64).contains(&s.chars().count()) && plain(local) && domain_ok && !domain.contains('@')
}

pub fn invite(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &InviteAccountToOrganizationRequest) -> Result<InviteAccountToOrganizationResponse, OpError> {
    crate::free_text::check(&[("Notes", input.notes.as_deref())])?;
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let now = env.clock.now_ms();
    let tags = super::tags::check_new_tags(input.tags.as_deref().unwrap_or_default())?;
    if tags.len() > env.config.max_tags_per_resource {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::MaxTagLimitExceeded,
            format!("You have exceeded the maximum number of tags allowed on this resource ({}).", env.config.max_tags_per_resource),
        )
        .into());
    }
    let target = &input.target;
    let (recipient, resource_type) = match target.type_ {
        HandshakePartyType::Account => {
            if !is_account_id(&target.id) {
                return Err(ApiError::invalid_input(
                    InvalidInputExceptionReason::InvalidPattern,
                    "Invalid value for Target.Id: an ACCOUNT target must be a 12-digit account id.",
                )
                .into());
            }
            (target.id.clone(), HandshakeResourceType::Account)
        }
        HandshakePartyType::Email => {
            if !is_email(&target.id) {
                return Err(ApiError::invalid_input(
                    InvalidInputExceptionReason::InvalidEmailAddressTarget,
                    "Invalid value for Target.Id: an EMAIL target must be an email address.",
                )
                .into());
            }
            (target.id.to_lowercase(), HandshakeResourceType::Email)
        }
        HandshakePartyType::Organization => {
            return Err(ApiError::invalid_input(
                InvalidInputExceptionReason::InvalidPartyTypeTarget,
                "Invalid value for Target.Type: you can invite an ACCOUNT or an EMAIL, not an ORGANIZATION.",
            )
            .into());
        }
    };
    if recipient == org.management_account_id || recipient == member.account.email.to_lowercase() {
        return Err(already_in_org().into());
    }
    // The account the invitation reaches, when Canopy knows it: by its id, or by the address of
    // an account it has seen. An address is the same account as its id for both checks below.
    let known = match target.type_ {
        HandshakePartyType::Account => tx.account_get(&org.partition, &recipient)?,
        _ => tx.account_find_by_email(&org.partition, &recipient)?,
    };
    // A purged account (closed past its retention) is in no organization, for its own calls as
    // here; it can't accept the invitation either (`refuse_closed`).
    if known.as_ref().is_some_and(|account| account.org_id.is_some() && views::lifecycle(account, &env.config, now) != views::Lifecycle::Purged) {
        return Err(already_in_org().into());
    }
    if pending_migration(tx, org, now)?.is_some() {
        return Err(invites_disabled().into());
    }
    // The recipient's forms: a known account's id and address (the recipient is one of them);
    // for an account Canopy has not seen yet, its id and its derived address.
    let forms = match &known {
        Some(account) => vec![account.id.clone(), account.email.to_lowercase()],
        None if target.type_ == HandshakePartyType::Account => {
            vec![recipient.clone(), super::organization::standalone_email(&recipient)]
        }
        None => {
            let mut forms = vec![recipient.clone()];
            if let Some(id) = super::organization::standalone_id(&recipient) {
                if tx.account_get(&org.partition, &id)?.is_none() {
                    forms.push(id);
                }
            }
            forms
        }
    };
    for form in forms {
        if !tx.handshake_list_pending(&org.id, ActionType::Invite, Some(&form), now, 1)?.is_empty() {
            return Err(ApiError::new(
                ErrorCode::DuplicateHandshakeException,
                "An open invitation to this account already exists. Cancel it or wait for an answer.",
            )
            .into());
        }
    }
    if super::account::accounts_toward_quota(tx, env, &org.id, now)? >= env.config.max_accounts {
        return Err(account_limit(env).into());
    }
    // AWS allows the larger of its daily figure and the account quota (api-facts §5).
    let daily = env.config.max_invitations_per_day.max(env.config.max_accounts);
    if tx.handshake_count_sent_since(&org.id, ActionType::Invite, now - DAY_MS)? >= daily {
        return Err(ApiError::handshake_constraint(
            Hcv::HandshakeRateLimitExceeded,
            format!("You have sent the maximum number of invitations in the last 24 hours ({daily}); declined and canceled ones count."),
        )
        .into());
    }
    // Finished handshakes past their visibility are dropped here, where the organization writes.
    tx.handshake_delete_ended_before(&org.id, now - env.config.handshake_retention_ms)?;
    let mut resources = vec![organization_resource(org, &member.account), resource(resource_type, &target.id)];
    if let Some(notes) = &input.notes {
        resources.push(resource(HandshakeResourceType::Notes, notes));
    }
    let h = insert(
        tx,
        env,
        org,
        NewHandshake {
            action: ActionType::Invite,
            parties: vec![party(&org.id, HandshakePartyType::Organization), party(&target.id, target.type_)],
            resources,
            recipient,
            parent_id: None,
            // AWS answers a new invitation with State OPEN (its documented examples).
            state: HandshakeState::Open,
            requested_ms: now,
            expires_ms: now + env.config.invite_expiry_ms,
        },
    )?;
    // Kept under the handshake's id until the invitation is accepted (then moved to the account).
    tx.tags_put(&org.id, &h.id, &tags)?;
    Ok(InviteAccountToOrganizationResponse { handshake: Some(view(&h, now)) })
}

// ---------------------------------------------------------------------------------------------
// EnableAllFeatures

pub fn enable_all_features(tx: &mut dyn Tx, env: &Env, caller: &Caller) -> Result<EnableAllFeaturesResponse, OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let now = env.clock.now_ms();
    if org.feature_set == OrganizationFeatureSet::All {
        return Err(ApiError::handshake_constraint(
            Hcv::OrganizationAlreadyHasAllFeatures,
            "The organization already has all features enabled.",
        )
        .into());
    }
    if pending_migration(tx, org, now)?.is_some() {
        return Err(ApiError::handshake_constraint(
            Hcv::OrganizationIsAlreadyPendingAllFeaturesMigration,
            "The organization is already being migrated to all features.",
        )
        .into());
    }
    let accounts: Vec<AccountRecord> = super::policy::all_accounts(tx, &org.id)?
        .into_iter()
        .filter(|a| views::is_visible(a, &env.config, now))
        .collect();
    if accounts.len() >= MAX_ACCOUNTS_FOR_ALL_FEATURES_MIGRATION {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::AllFeaturesMigrationOrganizationSizeLimitExceeded,
            format!("Organizations with {MAX_ACCOUNTS_FOR_ALL_FEATURES_MIGRATION} accounts or more can't enable all features themselves."),
        )
        .into());
    }
    tx.handshake_delete_ended_before(&org.id, now - env.config.handshake_retention_ms)?;
    let expires_ms = now + env.config.enable_all_features_expiry_ms;
    let mut parent = insert(
        tx,
        env,
        org,
        NewHandshake {
            action: ActionType::EnableAllFeatures,
            parties: vec![party(&org.id, HandshakePartyType::Organization)],
            resources: vec![resource(HandshakeResourceType::Organization, &org.id)],
            recipient: org.management_account_id.clone(),
            parent_id: None,
            state: HandshakeState::Requested,
            requested_ms: now,
            expires_ms,
        },
    )?;
    // Only invited members are asked; accounts the organization created are not (§7.5).
    let mut asked = 0;
    for account in &accounts {
        let invited = account.joined_method == Some(AccountJoinedMethod::Invited);
        if !invited || account.id == org.management_account_id || views::lifecycle(account, &env.config, now) != Lifecycle::Active {
            continue;
        }
        insert(
            tx,
            env,
            org,
            NewHandshake {
                action: ActionType::EnableAllFeatures,
                parties: vec![party(&org.id, HandshakePartyType::Organization), party(&account.id, HandshakePartyType::Account)],
                resources: vec![
                    organization_resource(org, &member.account),
                    resource(HandshakeResourceType::ParentHandshake, &parent.id),
                ],
                recipient: account.id.clone(),
                parent_id: Some(parent.id.clone()),
                state: HandshakeState::Requested,
                requested_ms: now,
                expires_ms,
            },
        )?;
        asked += 1;
    }
    if asked == 0 {
        open_approval(tx, env, org, &mut parent)?;
    }
    Ok(EnableAllFeaturesResponse { handshake: Some(view(&parent, now)) })
}

/// Every invited member still in the organization has accepted its ENABLE_ALL_FEATURES
/// handshake (a member removed since then no longer holds the migration up).
fn members_all_accepted(tx: &mut dyn Tx, org: &OrganizationRecord, parent_id: &str) -> Result<bool, OpError> {
    let children = tx.handshake_list_by_org(&org.id, Some(ActionType::EnableAllFeatures), Some(parent_id), None, usize::MAX)?;
    for child in children {
        if child.state == HandshakeState::Accepted {
            continue;
        }
        let still_member = tx.account_get(&org.partition, &child.recipient)?.is_some_and(|a| a.org_id.as_deref() == Some(org.id.as_str()));
        if still_member {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A member left the organization (removed, or left by itself): the migration's request to it
/// is void (CANCELED, as the migration's completion would make it), and when it was the last one
/// holding the migration up, the management account now gets the approval.
pub(crate) fn member_left(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, account_id: &str) -> Result<(), OpError> {
    let now = env.clock.now_ms();
    let Some(mut parent) = pending_migration(tx, org, now)? else { return Ok(()) };
    for mut child in tx.handshake_list_by_org(&org.id, Some(ActionType::EnableAllFeatures), Some(&parent.id), None, usize::MAX)? {
        if child.recipient == account_id && is_pending(&child, now) {
            finish(tx, &mut child, HandshakeState::Canceled, now)?;
        }
    }
    if parent.state == HandshakeState::Requested && members_all_accepted(tx, org, &parent.id)? {
        open_approval(tx, env, org, &mut parent)?;
    }
    Ok(())
}

/// All members have approved: the parent becomes OPEN and the management account receives the
/// APPROVE_ALL_FEATURES handshake that finishes the migration.
fn open_approval(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, parent: &mut HandshakeRecord) -> Result<(), OpError> {
    parent.state = HandshakeState::Open;
    tx.handshake_update(parent)?;
    let existing = tx.handshake_list_by_org(&org.id, Some(ActionType::ApproveAllFeatures), Some(&parent.id), None, 1)?;
    if existing.is_empty() {
        insert(
            tx,
            env,
            org,
            NewHandshake {
                action: ActionType::ApproveAllFeatures,
                parties: vec![
                    party(&org.id, HandshakePartyType::Organization),
                    party(&org.management_account_id, HandshakePartyType::Account),
                ],
                resources: vec![
                    resource(HandshakeResourceType::Organization, &org.id),
                    resource(HandshakeResourceType::ParentHandshake, &parent.id),
                ],
                recipient: org.management_account_id.clone(),
                parent_id: Some(parent.id.clone()),
                state: HandshakeState::Requested,
                requested_ms: env.clock.now_ms(),
                expires_ms: parent.expires_ms,
            },
        )?;
    }
    Ok(())
}

/// Ends the pending handshakes under an ENABLE_ALL_FEATURES parent (member requests and the
/// approval) with `state`.
fn finish_children(tx: &mut dyn Tx, org_id: &str, parent_id: &str, state: HandshakeState, now_ms: i64) -> StoreResult<()> {
    for mut child in tx.handshake_list_by_org(org_id, None, Some(parent_id), None, usize::MAX)? {
        if is_pending(&child, now_ms) {
            finish(tx, &mut child, state, now_ms)?;
        }
    }
    Ok(())
}

/// The migration is approved: FeatureSet becomes ALL (one way; policy types still have to be
/// enabled one by one), the parent and the approval are ACCEPTED.
fn complete_migration(tx: &mut dyn Tx, org: &OrganizationRecord, parent: &mut HandshakeRecord, now_ms: i64) -> Result<(), OpError> {
    let mut updated = org.clone();
    updated.feature_set = OrganizationFeatureSet::All;
    tx.org_update(&updated)?;
    if is_pending(parent, now_ms) {
        finish(tx, parent, HandshakeState::Accepted, now_ms)?;
    }
    for mut child in tx.handshake_list_by_org(&org.id, None, Some(&parent.id), None, usize::MAX)? {
        if !is_pending(&child, now_ms) {
            continue;
        }
        // The approval is accepted with the migration; requests to members who left are void.
        let state = if child.action == ActionType::ApproveAllFeatures { HandshakeState::Accepted } else { HandshakeState::Canceled };
        finish(tx, &mut child, state, now_ms)?;
    }
    Ok(())
}

/// The ENABLE_ALL_FEATURES parent of a child handshake, pending.
fn pending_parent(tx: &mut dyn Tx, h: &HandshakeRecord, now_ms: i64) -> Result<HandshakeRecord, OpError> {
    let parent = match &h.parent_id {
        Some(id) => tx.handshake_get(id)?,
        None => None,
    };
    parent
        .filter(|p| is_pending(p, now_ms))
        .ok_or_else(|| invalid_transition("The all-features migration this handshake belongs to is no longer pending.").into())
}

// ---------------------------------------------------------------------------------------------
// AcceptHandshake / DeclineHandshake / CancelHandshake

pub fn accept(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &AcceptHandshakeRequest) -> Result<AcceptHandshakeResponse, OpError> {
    let now = env.clock.now_ms();
    let mut h = load(tx, env, caller, &input.handshake_id)?;
    let who = identify(tx, caller)?;
    if !who.is_recipient(caller, &h) {
        // The sending side (its management account, or a delegated administrator, who may
        // describe the handshake) is refused; anyone else is not told it exists.
        return Err(if is_sender(tx, caller, &who, &h)? || reads_for_sender(tx, caller, &who, &h)? {
            denied("Only the recipient of a handshake can accept it; the sender can cancel it.").into()
        } else {
            not_found().into()
        });
    }
    check_transition(&h, now, HandshakeState::Accepted)?;
    match h.action {
        ActionType::Invite => accept_invite(tx, env, caller, &mut h, now)?,
        ActionType::EnableAllFeatures if h.parent_id.is_some() => {
            let org = org_of(tx, &h)?;
            let mut parent = pending_parent(tx, &h, now)?;
            finish(tx, &mut h, HandshakeState::Accepted, now)?;
            if members_all_accepted(tx, &org, &parent.id)? {
                open_approval(tx, env, &org, &mut parent)?;
            }
        }
        ActionType::EnableAllFeatures => {
            // The management account accepting the migration itself, as EnableAllFeatures'
            // documentation describes it; valid once every invited member has approved.
            let org = org_of(tx, &h)?;
            if !members_all_accepted(tx, &org, &h.id)? {
                return Err(invalid_transition(
                    "The migration can't be accepted until every invited member account has approved it (or has been removed).",
                )
                .into());
            }
            complete_migration(tx, &org, &mut h, now)?;
        }
        ActionType::ApproveAllFeatures => {
            let org = org_of(tx, &h)?;
            let mut parent = pending_parent(tx, &h, now)?;
            finish(tx, &mut h, HandshakeState::Accepted, now)?;
            complete_migration(tx, &org, &mut parent, now)?;
        }
        // TRANSFER_RESPONSIBILITY: the responsibility transfer answers too (ops/transfer.rs).
        ActionType::TransferResponsibility => {
            super::transfer::on_accept(tx, env, &h)?;
            finish(tx, &mut h, HandshakeState::Accepted, now)?;
        }
        ActionType::AddOrganizationsServiceLinkedRole => {
            return Err(invalid_transition("This legacy handshake can't be accepted.").into());
        }
    }
    Ok(AcceptHandshakeResponse { handshake: Some(view(&h, now)) })
}

/// The invitee joins: it must be in no organization (re-checked now), and the account quota
/// must still hold. It lands under the root, INVITED, with the default policies of the enabled
/// types and the invitation's tags.
fn accept_invite(tx: &mut dyn Tx, env: &Env, caller: &Caller, h: &mut HandshakeRecord, now: i64) -> Result<(), OpError> {
    let mut account = super::organization::own_account(tx, env, caller)?;
    super::organization::refuse_closed(&account)?;
    if account.org_id.is_some() {
        return Err(already_in_org().into());
    }
    let org = org_of(tx, h)?;
    if pending_migration(tx, &org, now)?.is_some() {
        return Err(invites_disabled().into());
    }
    // This invitation is one of the open ones counted: the account takes its place.
    if super::account::accounts_toward_quota(tx, env, &org.id, now)? > env.config.max_accounts {
        return Err(account_limit(env).into());
    }
    let root = tree::root_of(tx, &org.id)?;
    account.org_id = Some(org.id.clone());
    account.parent_id = Some(root.id.clone());
    account.joined_method = Some(AccountJoinedMethod::Invited);
    account.joined_ms = Some(now);
    tx.account_update(&account)?;
    let tags = tx.tags_get(&org.id, &h.id)?;
    super::tags::apply(tx, env, &org.id, &account.id, &tags)?;
    tx.tags_delete_all(&org.id, &h.id)?;
    finish(tx, h, HandshakeState::Accepted, now)?;
    Ok(())
}

pub fn decline(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DeclineHandshakeRequest) -> Result<DeclineHandshakeResponse, OpError> {
    let now = env.clock.now_ms();
    let mut h = load(tx, env, caller, &input.handshake_id)?;
    let who = identify(tx, caller)?;
    if !who.is_recipient(caller, &h) {
        // The sending side (its management account, or a delegated administrator, who may
        // describe the handshake) is refused; anyone else is not told it exists.
        return Err(if is_sender(tx, caller, &who, &h)? || reads_for_sender(tx, caller, &who, &h)? {
            denied("Only the recipient of a handshake can decline it; the sender can cancel it.").into()
        } else {
            not_found().into()
        });
    }
    check_transition(&h, now, HandshakeState::Declined)?;
    match h.action {
        // TRANSFER_RESPONSIBILITY: the responsibility transfer answers too (ops/transfer.rs).
        ActionType::TransferResponsibility => {
            super::transfer::on_decline(tx, env, &h)?;
            finish(tx, &mut h, HandshakeState::Declined, now)?;
        }
        // A member declining blocks the migration until the management account removes it or
        // cancels; the management account declining its own migration ends it.
        ActionType::EnableAllFeatures if h.parent_id.is_none() => {
            finish(tx, &mut h, HandshakeState::Declined, now)?;
            finish_children(tx, &h.org_id, &h.id, HandshakeState::Canceled, now)?;
        }
        _ => finish(tx, &mut h, HandshakeState::Declined, now)?,
    }
    Ok(DeclineHandshakeResponse { handshake: Some(view(&h, now)) })
}

pub fn cancel(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CancelHandshakeRequest) -> Result<CancelHandshakeResponse, OpError> {
    let now = env.clock.now_ms();
    let mut h = load(tx, env, caller, &input.handshake_id)?;
    let who = identify(tx, caller)?;
    if !is_sender(tx, caller, &who, &h)? {
        return Err(if who.is_recipient(caller, &h) {
            denied("Only the account that sent a handshake can cancel it; the recipient can decline it.").into()
        } else if reads_for_sender(tx, caller, &who, &h)? {
            // A delegated administrator of the sending organization sees the handshake
            // (DescribeHandshake), but only the management account cancels it.
            denied("Only the management account of the organization that sent a handshake can cancel it.").into()
        } else {
            not_found().into()
        });
    }
    check_transition(&h, now, HandshakeState::Canceled)?;
    match h.action {
        // TRANSFER_RESPONSIBILITY: the responsibility transfer answers too (ops/transfer.rs).
        ActionType::TransferResponsibility => {
            super::transfer::on_cancel(tx, env, &h)?;
            finish(tx, &mut h, HandshakeState::Canceled, now)?;
        }
        ActionType::EnableAllFeatures if h.parent_id.is_none() => {
            finish(tx, &mut h, HandshakeState::Canceled, now)?;
            finish_children(tx, &h.org_id, &h.id, HandshakeState::Canceled, now)?;
        }
        _ => finish(tx, &mut h, HandshakeState::Canceled, now)?,
    }
    Ok(CancelHandshakeResponse { handshake: Some(view(&h, now)) })
}

// ---------------------------------------------------------------------------------------------
// DescribeHandshake and the lists

/// Whether the caller reads the sending organization's handshakes: its management account or
/// one of its readers (delegated administrators).
fn reads_for_sender(tx: &mut dyn Tx, caller: &Caller, who: &CallerIdentity, h: &HandshakeRecord) -> Result<bool, OpError> {
    if who.org_id() != Some(h.org_id.as_str()) {
        return Ok(false);
    }
    match access::reader(tx, caller) {
        Ok(member) => Ok(member.org.id == h.org_id),
        Err(OpError::Api(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Visible to its recipient, to the sender's management account and to the sender
/// organization's readers (delegated administrators), never to anyone else.
pub fn describe(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DescribeHandshakeRequest) -> Result<DescribeHandshakeResponse, OpError> {
    let now = env.clock.now_ms();
    let h = load(tx, env, caller, &input.handshake_id)?;
    let who = identify(tx, caller)?;
    let allowed = who.is_recipient(caller, &h) || reads_for_sender(tx, caller, &who, &h)?;
    if !allowed {
        return Err(not_found().into());
    }
    Ok(DescribeHandshakeResponse { handshake: Some(view(&h, now)) })
}

/// The filter's one criterion (ActionType or ParentHandshakeId, not both).
fn check_filter(filter: Option<&HandshakeFilter>) -> Result<(Option<ActionType>, Option<String>), ApiError> {
    let Some(f) = filter else { return Ok((None, None)) };
    if f.action_type.is_some() && f.parent_handshake_id.is_some() {
        return Err(ApiError::invalid_input(
            InvalidInputExceptionReason::MaxLimitExceededFilter,
            "Invalid value for Filter: specify either ActionType or ParentHandshakeId, not both.",
        ));
    }
    Ok((f.action_type, f.parent_handshake_id.clone()))
}

fn filter_scope(action: Option<ActionType>, parent: Option<&str>) -> String {
    format!("{}|{}", action.map(|a| a.as_str()).unwrap_or(""), parent.unwrap_or(""))
}

/// Handshakes the caller received: addressed to its account id or to its email (open to any
/// account, in an organization or not).
pub fn list_for_account(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListHandshakesForAccountRequest,
) -> Result<ListHandshakesForAccountResponse, OpError> {
    let (action, parent) = check_filter(input.filter.as_ref())?;
    let scope = format!("ListHandshakesForAccount/{}/{}/{}", caller.partition, caller.account_id, filter_scope(action, parent.as_deref()));
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let who = identify(tx, caller)?;
    let now = env.clock.now_ms();
    let (partition, account_id, email) = (caller.partition.clone(), caller.account_id.clone(), who.email_lower.clone());
    let rows = paging::collect(
        &page,
        |after, n| tx.handshake_list_by_recipient(&partition, &account_id, &email, after, n),
        |h| h.seq,
        |h| {
            is_visible(h, env, now)
                && who.is_recipient(caller, h)
                && action.is_none_or(|a| h.action == a)
                && parent.as_deref().is_none_or(|p| h.parent_id.as_deref() == Some(p))
        },
    )?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |h| h.seq);
    Ok(ListHandshakesForAccountResponse { handshakes: Some(rows.iter().map(|h| view(h, now)).collect()), next_token })
}

/// Handshakes the caller's organization sent (management account and delegated administrators).
pub fn list_for_organization(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListHandshakesForOrganizationRequest,
) -> Result<ListHandshakesForOrganizationResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let (action, parent) = check_filter(input.filter.as_ref())?;
    let scope = format!("ListHandshakesForOrganization/{}/{}", member.org.id, filter_scope(action, parent.as_deref()));
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let now = env.clock.now_ms();
    let org_id = member.org.id.clone();
    let rows = paging::collect(
        &page,
        |after, n| tx.handshake_list_by_org(&org_id, action, parent.as_deref(), after, n),
        |h| h.seq,
        |h| is_visible(h, env, now),
    )?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |h| h.seq);
    Ok(ListHandshakesForOrganizationResponse { handshakes: Some(rows.iter().map(|h| view(h, now)).collect()), next_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rule() {
        assert!(is_email("bob@example.com"));
        assert!(is_email("a.b+c@sub.example.org"));
        for bad in ["bob", "bob@example", "@example.com", "bob@.com", "b ob@example.com", "bob@exa@mple.com", "a@b.c"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
