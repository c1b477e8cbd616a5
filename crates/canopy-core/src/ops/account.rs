//! Accounts: CreateAccount and its status, Describe/List, MoveAccount, CloseAccount,
//! RemoveAccountFromOrganization.

use canopy_api::{
    AccountJoinedMethod, ActionType, ApiError, Caller, CloseAccountRequest, ConstraintViolationExceptionReason,
    CreateAccountFailureReason, CreateAccountRequest, CreateAccountResponse, CreateAccountState,
    DescribeAccountRequest, DescribeAccountResponse, DescribeCreateAccountStatusRequest,
    DescribeCreateAccountStatusResponse, ErrorCode, InvalidInputExceptionReason,
    ListAccountsForParentRequest, ListAccountsForParentResponse, ListAccountsRequest,
    ListAccountsResponse, ListCreateAccountStatusRequest, ListCreateAccountStatusResponse,
    MoveAccountRequest, OrganizationFeatureSet, RemoveAccountFromOrganizationRequest,
};

use crate::access::{self, Member};
use crate::config::DAY_MS;
use crate::records::{AccountRecord, CreateAccountRecord, OrganizationRecord};
use crate::store::{OpError, Tx};
use crate::views::{self, Lifecycle};
use crate::{paging, tree, Env};

fn account_not_found() -> ApiError {
    ApiError::new(ErrorCode::AccountNotFoundException, "You specified an account that doesn't exist.")
}

/// The account `id` if it is a visible member of `org` (not still being created, not purged).
/// Every lookup of an account by id from a request goes through here.
pub(crate) fn visible_member(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, id: &str) -> Result<Option<AccountRecord>, OpError> {
    let now = env.clock.now_ms();
    Ok(tx
        .account_get(&org.partition, id)?
        .filter(|a| a.org_id.as_deref() == Some(org.id.as_str()) && views::is_visible(a, &env.config, now)))
}

/// A visible account of the caller's organization, or AccountNotFoundException.
fn find_member_account(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, id: &str) -> Result<AccountRecord, OpError> {
    visible_member(tx, env, org, id)?.ok_or_else(|| account_not_found().into())
}

fn paths_of(tx: &mut dyn Tx, org: &OrganizationRecord, account: &AccountRecord) -> Result<Option<Vec<String>>, OpError> {
    match &account.parent_id {
        Some(parent) => Ok(Some(vec![format!("{}{}/", tree::path_of(tx, org, parent)?, account.id)])),
        None => Ok(None),
    }
}

pub fn create(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CreateAccountRequest) -> Result<CreateAccountResponse, OpError> {
    crate::free_text::check(&[("AccountName", Some(&input.account_name))])?;
    // AWS creates GovCloud (US) accounts only from the commercial partition (CreateGovCloudAccount);
    // a GovCloud organization invites them. The model names this error for CreateAccount.
    if caller.partition == super::govcloud::GOVCLOUD_PARTITION {
        return Err(ApiError::new(
            ErrorCode::UnsupportedAPIEndpointException,
            "CreateAccount is not available in the AWS GovCloud (US) Regions: create the account with CreateGovCloudAccount from the commercial organization, then invite it.",
        )
        .into());
    }
    let member = access::management(tx, caller)?;
    let new = NewAccount {
        name: &input.account_name,
        email: &input.email,
        role_name: input.role_name.as_deref(),
        tags: input.tags.as_deref().unwrap_or_default(),
    };
    let car = start_creation(tx, env, &member.org, &new, &mut |_| Ok(None))?;
    Ok(CreateAccountResponse { create_account_status: Some(in_progress_status(&car)) })
}

/// What CreateAccount and CreateGovCloudAccount both ask for.
pub(crate) struct NewAccount<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub role_name: Option<&'a str>,
    pub tags: &'a [canopy_api::Tag],
}

/// CreateAccount's documented rules for the owner's email, beyond the model's pattern (which
/// only asks for `x@y.z` without whitespace): 7-bit ASCII; one `@`; a local name that does not
/// begin with a dot and holds none of whitespace `" ' ( ) < [ ] : ; , \ | % &`; a domain of
/// letters, digits, `-` and `.` that holds a dot and neither begins nor ends with `-` or `.`.
pub(crate) fn is_valid_account_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && local.bytes().all(|b| b.is_ascii() && !b.is_ascii_whitespace() && !b"\"'()<>[]:;,\\|%&@".contains(&b));
    let domain_ok = domain.contains('.')
        && !domain.starts_with(['-', '.'])
        && !domain.ends_with(['-', '.'])
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    local_ok && domain_ok
}

/// A creation's extra business check: `Some(reason)` fails the request in its status.
pub(crate) type BusinessCheck<'a> = dyn FnMut(&mut dyn Tx) -> Result<Option<CreateAccountFailureReason>, OpError> + 'a;

/// The rules and writes of an account creation in `org` (api-facts §7.1): input checks and
/// quotas answer errors; business failures go into the stored request. `more_failures` is the
/// caller's own business check, asked only when the commercial email is free. On success the
/// account row (visible once the creation delay has passed), its tags, default policies and
/// access role are written; returns the stored request.
pub(crate) fn start_creation(
    tx: &mut dyn Tx,
    env: &Env,
    org: &OrganizationRecord,
    new: &NewAccount<'_>,
    more_failures: &mut BusinessCheck<'_>,
) -> Result<CreateAccountRecord, OpError> {
    let tags = super::tags::check_new_tags(new.tags)?;
    if let Some(role) = new.role_name {
        if role.starts_with("AWSServiceRoleFor") {
            return Err(ApiError::invalid_input(
                InvalidInputExceptionReason::InvalidRoleName,
                "The role name can't start with 'AWSServiceRoleFor': that prefix is reserved for service-linked roles.",
            )
            .into());
        }
    }
    let now = env.clock.now_ms();
    if accounts_toward_quota(tx, env, &org.id, now)? >= env.config.max_accounts {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::AccountNumberLimitExceeded,
            format!("You have exceeded the allowed number of AWS accounts ({}).", env.config.max_accounts),
        )
        .into());
    }
    if env.config.account_creation_delay_ms > 0 {
        let in_progress = count_creations_in_progress(tx, &org.id, now)?;
        if in_progress >= env.config.max_concurrent_account_creations {
            return Err(ApiError::constraint(
                ConstraintViolationExceptionReason::AccountCreationRateLimitExceeded,
                "You have too many CreateAccount requests in progress. Wait for one to finish and try again.",
            )
            .into());
        }
    }
    let completes_ms = now + env.config.account_creation_delay_ms;
    let mut car = CreateAccountRecord {
        id: env.ids.create_account_request_id(),
        org_id: org.id.clone(),
        account_name: new.name.to_string(),
        email: new.email.to_string(),
        requested_ms: now,
        completes_ms,
        account_id: None,
        failure_reason: None,
        seq: 0,
    };
    // Business failures are reported in the request's status, not as an error (api-facts §7.1).
    if !is_valid_account_email(new.email) {
        car.failure_reason = Some(CreateAccountFailureReason::InvalidEmail);
    } else if tx.account_find_by_email(&org.partition, new.email)?.is_some() {
        car.failure_reason = Some(CreateAccountFailureReason::EmailAlreadyExists);
    } else if let Some(reason) = more_failures(tx)? {
        car.failure_reason = Some(reason);
    } else {
        let account_id = unused_account_id(tx, env, &org.partition)?;
        let root = tree::root_of(tx, &org.id)?;
        let root_id = root.id.clone();
        tx.account_insert(&AccountRecord {
            partition: org.partition.clone(),
            id: account_id.clone(),
            name: new.name.to_string(),
            email: new.email.to_string(),
            org_id: Some(org.id.clone()),
            parent_id: Some(root_id),
            joined_method: Some(AccountJoinedMethod::Created),
            joined_ms: Some(completes_ms),
            created_ms: completes_ms,
            close_requested_ms: None,
            seq: 0,
        })?;
        super::tags::apply(tx, env, &org.id, &account_id, &tags)?;
        // The role STS AssumeRole takes into the new account, trusting the management account.
        crate::identity::put_access_role(tx, env, &org.partition, &account_id, new.role_name, &org.management_account_id)?;
        car.account_id = Some(account_id);
    }
    Ok(tx.car_insert(&car)?)
}

/// A fresh 12-digit account id, unused in `partition`.
pub(crate) fn unused_account_id(tx: &mut dyn Tx, env: &Env, partition: &str) -> Result<String, OpError> {
    loop {
        let id = env.ids.account_id();
        if tx.account_get(partition, &id)?.is_none() {
            return Ok(id);
        }
    }
}

/// The status a create call answers: always IN_PROGRESS, as AWS does; reads derive the outcome.
pub(crate) fn in_progress_status(car: &CreateAccountRecord) -> canopy_api::CreateAccountStatus {
    let mut status = views::create_account_status(car, car.requested_ms);
    status.state = Some(CreateAccountState::InProgress);
    status.account_id = None;
    status.completed_timestamp = None;
    status.failure_reason = None;
    status
}

/// Accounts of the organization plus its open invitations, as the account quota counts them:
/// an invitation holds its place until it is accepted, declined, cancelled or expires, so
/// creating an account can't take the place of an invitee who then couldn't join. Accounts
/// purged after their closure have left and are subtracted (scanned only when the cheap count
/// reaches the quota).
pub(super) fn accounts_toward_quota(tx: &mut dyn Tx, env: &Env, org_id: &str, now: i64) -> Result<u64, OpError> {
    let invites = tx.handshake_count_pending(org_id, ActionType::Invite, now)?;
    let rows = tx.account_count(org_id)?;
    if rows + invites < env.config.max_accounts {
        return Ok(rows + invites);
    }
    let purged = super::policy::all_accounts(tx, org_id)?
        .iter()
        .filter(|a| views::lifecycle(a, &env.config, now) == views::Lifecycle::Purged)
        .count() as u64;
    Ok(rows.saturating_sub(purged) + invites)
}

fn count_creations_in_progress(tx: &mut dyn Tx, org_id: &str, now: i64) -> Result<u64, OpError> {
    let mut count = 0;
    let mut after = None;
    loop {
        let page = tx.car_list(org_id, after, 500)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        count += page.iter().filter(|c| c.completes_ms > now).count() as u64;
    }
    Ok(count)
}

pub fn describe_create_status(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &DescribeCreateAccountStatusRequest,
) -> Result<DescribeCreateAccountStatusResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let car = tx.car_get(&member.org.id, &input.create_account_request_id)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::CreateAccountStatusNotFoundException,
            "We can't find a create account request with the CreateAccountRequestId that you specified.",
        )
    })?;
    let status = super::govcloud::create_account_status(tx, &car, env.clock.now_ms())?;
    Ok(DescribeCreateAccountStatusResponse { create_account_status: Some(status) })
}

pub fn list_create_status(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListCreateAccountStatusRequest,
) -> Result<ListCreateAccountStatusResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let now = env.clock.now_ms();
    // The filter is a set: its order and repeats don't change the list, nor its tokens.
    let mut states: Vec<&str> = input.states.iter().flatten().map(|s| s.as_str()).collect();
    states.sort_unstable();
    states.dedup();
    let scope = format!("ListCreateAccountStatus/{}/{}", member.org.id, states.join(","));
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    // States derive from the clock, so the filter runs on the statuses as they are read.
    let rows = paging::collect(
        &page,
        |after, n| {
            let mut statuses = Vec::with_capacity(n);
            for c in tx.car_list(&member.org.id, after, n)? {
                statuses.push((c.seq, super::govcloud::create_account_status(tx, &c, now)?));
            }
            Ok::<_, OpError>(statuses)
        },
        |(seq, _)| *seq,
        |(_, s)| states.is_empty() || s.state.is_some_and(|st| states.contains(&st.as_str())),
    )?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |(seq, _)| *seq);
    let statuses = rows.into_iter().map(|(_, s)| s).collect();
    Ok(ListCreateAccountStatusResponse { create_account_statuses: Some(statuses), next_token })
}

pub fn describe(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DescribeAccountRequest) -> Result<DescribeAccountResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let account = find_member_account(tx, env, &member.org, &input.account_id)?;
    let paths = paths_of(tx, &member.org, &account)?;
    Ok(DescribeAccountResponse { account: Some(views::account(&member.org, account, paths, &env.config, env.clock.now_ms())) })
}

pub fn list(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListAccountsRequest) -> Result<ListAccountsResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let scope = format!("ListAccounts/{}", org.id);
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let now = env.clock.now_ms();
    let rows = paging::collect(&page, |after, n| tx.account_list(&org.id, after, n), |a| a.seq, |a| views::is_visible(a, &env.config, now))?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |a| a.seq);
    let accounts = render_accounts(tx, env, org, rows)?;
    Ok(ListAccountsResponse { accounts: Some(accounts), next_token })
}

pub fn list_for_parent(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListAccountsForParentRequest) -> Result<ListAccountsForParentResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let parent = super::ou::require_parent(tx, org, &input.parent_id)?;
    let scope = format!("ListAccountsForParent/{}", parent.id());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let now = env.clock.now_ms();
    let rows = paging::collect(
        &page,
        |after, n| tx.account_list_by_parent(&org.id, parent.id(), after, n),
        |a| a.seq,
        |a| views::is_visible(a, &env.config, now),
    )?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |a| a.seq);
    let accounts = render_accounts(tx, env, org, rows)?;
    Ok(ListAccountsForParentResponse { accounts: Some(accounts), next_token })
}

/// Accounts as wire shapes, with their paths; parent paths are computed once per parent. The
/// callers pass visible accounts only: their lists filter while they read (`paging::collect`).
pub(crate) fn render_accounts(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, rows: Vec<AccountRecord>) -> Result<Vec<canopy_api::Account>, OpError> {
    let now = env.clock.now_ms();
    let mut parent_paths: Vec<(String, String)> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for account in rows {
        let paths = match &account.parent_id {
            None => None,
            Some(parent) => {
                let base = match parent_paths.iter().find(|(id, _)| id == parent) {
                    Some((_, p)) => p.clone(),
                    None => {
                        let p = tree::path_of(tx, org, parent)?;
                        parent_paths.push((parent.clone(), p.clone()));
                        p
                    }
                };
                Some(vec![[base.as_str(), &account.id, "/"].concat()])
            }
        };
        out.push(views::account(org, account, paths, &env.config, now));
    }
    Ok(out)
}

pub fn move_account(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &MoveAccountRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let mut account = find_member_account(tx, env, org, &input.account_id)?;
    let source = tree::find_parent(tx, &org.id, &input.source_parent_id)?.ok_or_else(|| {
        ApiError::new(ErrorCode::SourceParentNotFoundException, "We can't find a source root or OU with the ParentId that you specified.")
    })?;
    let destination = tree::find_parent(tx, &org.id, &input.destination_parent_id)?.ok_or_else(|| {
        ApiError::new(ErrorCode::DestinationParentNotFoundException, "We can't find a destination root or OU with the ParentId that you specified.")
    })?;
    if account.parent_id.as_deref() == Some(destination.id()) {
        return Err(ApiError::new(ErrorCode::DuplicateAccountException, "That account is already present in the specified destination.").into());
    }
    if account.parent_id.as_deref() != Some(source.id()) {
        return Err(ApiError::new(
            ErrorCode::AccountNotFoundException,
            "You specified an account that doesn't exist in the source parent.",
        )
        .into());
    }
    account.parent_id = Some(destination.id().to_string());
    tx.account_update(&account)?;
    Ok(())
}

pub fn close(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CloseAccountRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    if org.feature_set != OrganizationFeatureSet::All {
        return Err(not_all_features().into());
    }
    let mut account = find_member_account(tx, env, org, &input.account_id)?;
    if account.id == org.management_account_id {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CannotCloseManagementAccount,
            "You can't close the management account with CloseAccount.",
        )
        .into());
    }
    let now = env.clock.now_ms();
    match views::lifecycle(&account, &env.config, now) {
        Lifecycle::Closed | Lifecycle::Purged => {
            return Err(ApiError::new(ErrorCode::AccountAlreadyClosedException, "You have already closed this account.").into())
        }
        Lifecycle::PendingClosure => {
            return Err(ApiError::new(ErrorCode::ConflictException, "This account is already being closed.").into())
        }
        Lifecycle::Active | Lifecycle::Creating => {}
    }
    check_closure_quotas(tx, env, org, now)?;
    account.close_requested_ms = Some(now);
    tx.account_update(&account)?;
    super::govcloud::close_pair(tx, org, &account.id, now)?;
    Ok(())
}

/// Closures per rolling 30 days and closures in progress at once (api-facts §5).
fn check_closure_quotas(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, now: i64) -> Result<(), OpError> {
    let window_start = now - 30 * DAY_MS;
    let (mut members, mut recent, mut in_progress) = (0u64, 0u64, 0u64);
    for a in &super::policy::all_accounts(tx, &org.id)? {
        if a.id != org.management_account_id {
            members += 1;
        }
        if let Some(requested) = a.close_requested_ms {
            if requested >= window_start {
                recent += 1;
            }
            if views::lifecycle(a, &env.config, now) == Lifecycle::PendingClosure {
                in_progress += 1;
            }
        }
    }
    let cfg = &env.config;
    let quota = (members * cfg.close_quota_percent / 100).max(cfg.close_quota_floor).min(cfg.close_quota_cap);
    if recent >= quota {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CloseAccountQuotaExceeded,
            format!("You have reached the limit of {quota} account closures in a rolling 30-day period."),
        )
        .into());
    }
    if in_progress >= cfg.max_concurrent_closures {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::CloseAccountRequestsLimitExceeded,
            format!("You can have at most {} account closures in progress at once.", cfg.max_concurrent_closures),
        )
        .into());
    }
    Ok(())
}

fn not_all_features() -> ApiError {
    ApiError::constraint(
        ConstraintViolationExceptionReason::OrganizationNotInAllFeaturesMode,
        "This operation requires an organization with all features enabled.",
    )
}

pub fn remove(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &RemoveAccountFromOrganizationRequest) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let mut account = find_member_account(tx, env, org, &input.account_id)?;
    if account.id == org.management_account_id {
        return Err(ApiError::new(
            ErrorCode::MasterCannotLeaveOrganizationException,
            "You can't remove a management account from an organization. To leave, delete the organization.",
        )
        .into());
    }
    detach_from_org(tx, env, &member, &mut account)
}

/// LeaveOrganization: the calling member account leaves its organization (the management
/// account can't; it deletes the organization instead). The SCP check in force on the caller
/// runs first, as for every operation, so an SCP can deny leaving.
pub fn leave(tx: &mut dyn Tx, env: &Env, caller: &Caller) -> Result<(), OpError> {
    let member = access::any_member(tx, caller)?;
    if member.is_management() {
        return Err(ApiError::new(
            ErrorCode::MasterCannotLeaveOrganizationException,
            "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization.",
        )
        .into());
    }
    let mut account = member.account.clone();
    detach_from_org(tx, env, &member, &mut account)
}

/// Preconditions and effects shared by RemoveAccountFromOrganization and LeaveOrganization.
pub fn detach_from_org(tx: &mut dyn Tx, env: &Env, member: &Member, account: &mut AccountRecord) -> Result<(), OpError> {
    let now = env.clock.now_ms();
    if views::lifecycle(account, &env.config, now) != Lifecycle::Active {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::AccountCannotLeaveOrganization,
            "A closed or closing account can't leave the organization; it leaves on its own when the post-closure period ends.",
        )
        .into());
    }
    if account.joined_method == Some(AccountJoinedMethod::Created)
        && now - account.created_ms < env.config.min_account_age_for_removal_ms
    {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::WaitPeriodActive,
            "You can't remove a newly created account from the organization until its waiting period has ended.",
        )
        .into());
    }
    super::delegation::refuse_removal_of_delegated_admin(tx, &member.org.id, &account.id)?;
    tx.tags_delete_all(&member.org.id, &account.id)?;
    tx.attachment_delete_by_target(&member.org.id, &account.id)?;
    account.org_id = None;
    account.parent_id = None;
    account.joined_method = None;
    account.joined_ms = None;
    tx.account_update(account)?;
    super::handshake::member_left(tx, env, &member.org, &account.id)
}

#[cfg(test)]
mod tests {
    use super::is_valid_account_email;

    #[test]
    fn account_email_rules() {
        for good in ["bob@example.com", "a.b+c_d-e@sub.example-one.org", "x@a.b.co", "odd!#$*@example.com"] {
            assert!(is_valid_account_email(good), "{good}");
        }
        let bad = [
            ".lead@example.com",  // the local name begins with a dot
            "üser@example.com",   // not 7-bit ASCII
            "a<b@example.com",    // a forbidden character of the local name
            "a>b@example.com",
            "a[b@example.com",
            "a]b@example.com",
            "a(b@example.com",
            "a'b@example.com",
            "a\"b@example.com",
            "a;b@example.com",
            "a%b@example.com",
            "a&b@example.com",
            "a|b@example.com",
            "a\\b@example.com",
            "a b@example.com",    // whitespace
            "ab@-example.com",    // the domain begins with a hyphen
            "ab@.example.com",    // ... or a dot
            "ab@example.com.",    // ... ends with a dot
            "ab@example.com-",
            "ab@exa_mple.com",    // a character outside [A-Za-z0-9.-] in the domain
            "ab@exаmple.com",     // a Cyrillic letter in the domain
            "ab@localhost",       // no dot in the domain
            "a@b@example.com",    // two @
            "@example.com",       // no local name
            "nobody",
        ];
        for b in bad {
            assert!(!is_valid_account_email(b), "{b}");
        }
    }
}
