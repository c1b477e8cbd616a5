//! Policies: Create/Describe/Update/DeletePolicy, ListPolicies, ListPoliciesForTarget,
//! ListTargetsForPolicy, Attach/DetachPolicy, Enable/DisablePolicyType (api-facts §2.4, §3,
//! §7.6; policy-semantics §2).
//!
//! AWS-managed policies (`p-FullAWSAccess`, `p-RCPFullAWSAccess`) are synthesized, never stored;
//! so are their attachments, the defaults of every target (see `crate::attachments`).

use canopy_api::{
    ApiError, AttachPolicyRequest, Caller, ConstraintViolationExceptionReason, CreatePolicyRequest,
    CreatePolicyResponse, DeletePolicyRequest, DescribePolicyRequest, DescribePolicyResponse,
    DetachPolicyRequest, DisablePolicyTypeRequest, DisablePolicyTypeResponse,
    EnablePolicyTypeRequest, EnablePolicyTypeResponse, ErrorCode, InvalidInputExceptionReason,
    ListPoliciesForTargetRequest, ListPoliciesForTargetResponse, ListPoliciesRequest,
    ListPoliciesResponse, ListTargetsForPolicyRequest, ListTargetsForPolicyResponse,
    Operation, OrganizationFeatureSet, PolicyTargetSummary, PolicyType, TargetType, UpdatePolicyRequest,
    UpdatePolicyResponse,
};
use canopy_policy as engine;

use crate::records::{AccountRecord, OrganizationRecord, OuRecord, PolicyAttachmentRecord, PolicyRecord, RootRecord};
use crate::store::{OpError, StoreError, Tx};
use crate::{access, arn, attachments, paging, tree, views, Env};

// ---------------------------------------------------------------------------------------------
// AWS-managed policies

/// An AWS-managed policy (api-facts §3.1). Exists in every organization.
#[derive(Debug)]
pub struct ManagedPolicy {
    pub id: &'static str,
    pub name: &'static str,
    pub policy_type: PolicyType,
    pub description: &'static str,
    pub content: &'static str,
}

pub static MANAGED_POLICIES: [ManagedPolicy; 2] = [
    ManagedPolicy {
        id: "p-FullAWSAccess",
        name: "FullAWSAccess",
        policy_type: PolicyType::ServiceControlPolicy,
        description: "Allows access to every operation",
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    ManagedPolicy {
        id: "p-RCPFullAWSAccess",
        name: "RCPFullAWSAccess",
        policy_type: PolicyType::ResourceControlPolicy,
        description: "Allows access to every operation",
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
    },
];

pub fn managed(id: &str) -> Option<&'static ManagedPolicy> {
    MANAGED_POLICIES.iter().find(|m| m.id == id)
}

/// The AWS-managed default policy of a type (attached everywhere while the type is enabled).
pub fn managed_default(t: PolicyType) -> Option<&'static ManagedPolicy> {
    MANAGED_POLICIES.iter().find(|m| m.policy_type == t)
}

/// A policy as the operations see it: synthesized AWS-managed or stored customer policy.
#[derive(Debug, Clone)]
pub enum AnyPolicy {
    Managed(&'static ManagedPolicy),
    Customer(PolicyRecord),
}

impl AnyPolicy {
    pub fn id(&self) -> &str {
        match self {
            AnyPolicy::Managed(m) => m.id,
            AnyPolicy::Customer(p) => &p.id,
        }
    }
    pub fn policy_type(&self) -> PolicyType {
        match self {
            AnyPolicy::Managed(m) => m.policy_type,
            AnyPolicy::Customer(p) => p.policy_type,
        }
    }
    pub fn name(&self) -> &str {
        match self {
            AnyPolicy::Managed(m) => m.name,
            AnyPolicy::Customer(p) => &p.name,
        }
    }
    pub fn description(&self) -> &str {
        match self {
            AnyPolicy::Managed(m) => m.description,
            AnyPolicy::Customer(p) => &p.description,
        }
    }
    pub fn content(&self) -> &str {
        match self {
            AnyPolicy::Managed(m) => m.content,
            AnyPolicy::Customer(p) => &p.content,
        }
    }
    pub fn is_aws_managed(&self) -> bool {
        matches!(self, AnyPolicy::Managed(_))
    }
    /// When the policy last changed (managed policies never do).
    pub fn updated_ms(&self) -> i64 {
        match self {
            AnyPolicy::Managed(_) => 0,
            AnyPolicy::Customer(p) => p.updated_ms,
        }
    }
    pub fn arn(&self, org: &OrganizationRecord) -> String {
        let segment = self.policy_type().as_str().to_ascii_lowercase();
        match self {
            AnyPolicy::Managed(m) => arn::aws_managed_policy(&org.partition, &segment, m.id),
            AnyPolicy::Customer(p) => arn::policy(&org.partition, &org.management_account_id, &org.id, &segment, &p.id),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared lookups and errors

/// canopy-api's PolicyType → the engine's (same fifteen wire names).
pub fn engine_type(t: PolicyType) -> Result<engine::PolicyType, OpError> {
    engine::PolicyType::from_wire(t.as_str())
        .ok_or_else(|| OpError::Store(StoreError::Corrupt(format!("policy type {} unknown to the policy engine", t.as_str()))))
}

pub fn limits(env: &Env, t: PolicyType) -> Result<engine::Limits, OpError> {
    Ok(env.config.policy_limits.get(engine_type(t)?))
}

fn policy_not_found() -> ApiError {
    ApiError::new(ErrorCode::PolicyNotFoundException, "We can't find a policy with the PolicyId that you specified.")
}

fn target_not_found() -> ApiError {
    ApiError::new(ErrorCode::TargetNotFoundException, "We can't find a root, OU, or account with the TargetId that you specified.")
}

fn immutable_policy(id: &str) -> ApiError {
    ApiError::invalid_input(
        InvalidInputExceptionReason::ImmutablePolicy,
        format!("The policy {id} is an AWS managed policy: it can't be updated or deleted."),
    )
}

fn type_not_available() -> ApiError {
    ApiError::new(
        ErrorCode::PolicyTypeNotAvailableForOrganizationException,
        "You can't use policy types in an organization that has only consolidated billing features. Enable all features first.",
    )
}

fn type_not_enabled(t: PolicyType) -> ApiError {
    ApiError::new(
        ErrorCode::PolicyTypeNotEnabledException,
        format!("The policy type {} isn't enabled in the root. Enable it with EnablePolicyType first.", t.as_str()),
    )
}

/// A policy (managed or customer) of the caller's organization.
pub fn find_policy(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<AnyPolicy, OpError> {
    if let Some(m) = managed(id) {
        return Ok(AnyPolicy::Managed(m));
    }
    tx.policy_get(&org.id, id)?.map(AnyPolicy::Customer).ok_or_else(|| policy_not_found().into())
}

/// A policy target: the root, an OU or an account of the organization.
pub enum Target {
    Root(RootRecord),
    Ou(OuRecord),
    Account(AccountRecord),
}

impl Target {
    pub fn id(&self) -> &str {
        match self {
            Target::Root(r) => &r.id,
            Target::Ou(o) => &o.id,
            Target::Account(a) => &a.id,
        }
    }
    fn summary(&self, org: &OrganizationRecord) -> PolicyTargetSummary {
        let (arn, name, type_) = match self {
            Target::Root(r) => (arn::root(&org.partition, &org.management_account_id, &org.id, &r.id), r.name.clone(), TargetType::Root),
            Target::Ou(o) => (arn::ou(&org.partition, &org.management_account_id, &org.id, &o.id), o.name.clone(), TargetType::OrganizationalUnit),
            Target::Account(a) => (arn::account(&org.partition, &org.management_account_id, &org.id, &a.id), a.name.clone(), TargetType::Account),
        };
        PolicyTargetSummary { arn: Some(arn), name: Some(name), target_id: Some(self.id().to_string()), type_: Some(type_) }
    }
}

/// The target `id` if it exists (and, for an account, is visible) in the organization.
pub fn lookup_target(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, id: &str) -> Result<Option<Target>, OpError> {
    Ok(if id.starts_with("r-") {
        tx.root_get(id)?.filter(|r| r.org_id == org.id).map(Target::Root)
    } else if id.starts_with("ou-") {
        tx.ou_get(id)?.filter(|o| o.org_id == org.id).map(Target::Ou)
    } else {
        super::account::visible_member(tx, env, org, id)?.map(Target::Account)
    })
}

/// A target's ARN (the resource of the caller checks of attach/detach and lists).
fn target_arn(org: &OrganizationRecord, target: &Target) -> String {
    target.summary(org).arn.unwrap_or_default()
}

fn find_target(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, id: &str) -> Result<Target, OpError> {
    lookup_target(tx, env, org, id)?.ok_or_else(|| target_not_found().into())
}

fn require_all_features(org: &OrganizationRecord) -> Result<(), OpError> {
    if org.feature_set == OrganizationFeatureSet::All {
        Ok(())
    } else {
        Err(type_not_available().into())
    }
}

/// Checks a document with canopy-policy's validator and maps its verdict to AWS errors.
fn validate_content(env: &Env, t: PolicyType, content: &str) -> Result<(), OpError> {
    let options = engine::ValidationOptions {
        legacy_scp_grammar: env.config.legacy_scp_grammar,
        lenient_version: env.config.policy_lenient_version,
        aws_managed: false,
        size_unit: env.config.policy_size_unit,
        limits: env.config.policy_limits.clone(),
    };
    match engine::validate(engine_type(t)?, content, &options) {
        Ok(()) => Ok(()),
        Err(e @ engine::PolicyError::ContentLimitExceeded { .. }) => Err(ApiError::constraint(
            ConstraintViolationExceptionReason::PolicyContentLimitExceeded,
            format!("The policy content exceeds the size limit: {e}."),
        )
        .into()),
        Err(e @ engine::PolicyError::MalformedPolicyDocument { .. }) => Err(ApiError::new(
            ErrorCode::MalformedPolicyDocumentException,
            format!("The provided policy document does not meet the requirements of the specified policy type: {e}"),
        )
        .into()),
    }
}

/// DuplicatePolicyException when `name` is taken by another policy of the type (managed
/// policies' names included).
fn check_name_free(tx: &mut dyn Tx, org: &OrganizationRecord, t: PolicyType, name: &str, except: Option<&str>) -> Result<(), OpError> {
    let managed_clash = managed_default(t).is_some_and(|m| m.name == name);
    let customer_clash = tx.policy_find_by_name(&org.id, t, name)?.is_some_and(|p| Some(p.id.as_str()) != except);
    if managed_clash || customer_clash {
        return Err(ApiError::new(ErrorCode::DuplicatePolicyException, format!("A policy named '{name}' of type {} already exists.", t.as_str())).into());
    }
    Ok(())
}

/// Every account row of the organization (in `seq` order).
pub(crate) fn all_accounts(tx: &mut dyn Tx, org_id: &str) -> Result<Vec<AccountRecord>, OpError> {
    let mut accounts = Vec::new();
    let mut after = None;
    loop {
        let page = tx.account_list(org_id, after, 500)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        accounts.extend(page);
    }
    Ok(accounts)
}

// ---------------------------------------------------------------------------------------------
// Create / describe / update / delete

pub fn create(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &CreatePolicyRequest) -> Result<CreatePolicyResponse, OpError> {
    crate::free_text::check(&[("Name", Some(&input.name)), ("Description", Some(&input.description))])?;
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    let t = input.type_;
    // The policy does not exist yet: the resource is any policy of the type.
    let segment = t.as_str().to_ascii_lowercase();
    grant.check(Operation::CreatePolicy, &[&arn::policy(&org.partition, &org.management_account_id, &org.id, &segment, "*")], Some(t))?;
    require_all_features(org)?;
    let tags = super::tags::check_new_tags(input.tags.as_deref().unwrap_or_default())?;
    validate_content(env, t, &input.content)?;
    let max = limits(env, t)?.max_policies_per_org as u64;
    if tx.policy_count(&org.id, t)? >= max {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::PolicyNumberLimitExceeded,
            format!("You have reached the maximum number of policies of type {} in the organization ({max}).", t.as_str()),
        )
        .into());
    }
    check_name_free(tx, org, t, &input.name, None)?;
    let id = loop {
        let id = env.ids.policy_id();
        if managed(&id).is_none() && tx.policy_get(&org.id, &id)?.is_none() {
            break id;
        }
    };
    let now = env.clock.now_ms();
    let record = tx.policy_insert(&PolicyRecord {
        id,
        org_id: org.id.clone(),
        policy_type: t,
        name: input.name.clone(),
        description: input.description.clone(),
        content: input.content.clone(),
        created_ms: now,
        updated_ms: now,
        seq: 0,
    })?;
    super::tags::apply(tx, env, &org.id, &record.id, &tags)?;
    Ok(CreatePolicyResponse { policy: Some(views::policy(org, &AnyPolicy::Customer(record))) })
}

pub fn describe(tx: &mut dyn Tx, caller: &Caller, input: &DescribePolicyRequest) -> Result<DescribePolicyResponse, OpError> {
    let grant = access::policy_reader(tx, caller)?;
    let org = &grant.member.org;
    let policy = find_policy(tx, org, &input.policy_id)?;
    grant.check(Operation::DescribePolicy, &[&policy.arn(org)], Some(policy.policy_type()))?;
    Ok(DescribePolicyResponse { policy: Some(views::policy(org, &policy)) })
}

pub fn update(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &UpdatePolicyRequest) -> Result<UpdatePolicyResponse, OpError> {
    crate::free_text::check(&[("Name", input.name.as_deref()), ("Description", input.description.as_deref())])?;
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    if managed(&input.policy_id).is_some() {
        return Err(immutable_policy(&input.policy_id).into());
    }
    let mut policy = tx.policy_get(&org.id, &input.policy_id)?.ok_or_else(policy_not_found)?;
    grant.check(Operation::UpdatePolicy, &[&AnyPolicy::Customer(policy.clone()).arn(org)], Some(policy.policy_type))?;
    let mut changed = false;
    if let Some(content) = &input.content {
        validate_content(env, policy.policy_type, content)?;
        changed |= *content != policy.content;
        policy.content = content.clone();
    }
    if let Some(name) = &input.name {
        if *name != policy.name {
            check_name_free(tx, org, policy.policy_type, name, Some(&policy.id))?;
            policy.name = name.clone();
            changed = true;
        }
    }
    if let Some(description) = &input.description {
        changed |= *description != policy.description;
        policy.description = description.clone();
    }
    if changed {
        policy.updated_ms = env.clock.now_ms();
        tx.policy_update(&policy)?;
    }
    Ok(UpdatePolicyResponse { policy: Some(views::policy(org, &AnyPolicy::Customer(policy))) })
}

pub fn delete(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DeletePolicyRequest) -> Result<(), OpError> {
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    if managed(&input.policy_id).is_some() {
        return Err(immutable_policy(&input.policy_id).into());
    }
    let policy = tx.policy_get(&org.id, &input.policy_id)?.ok_or_else(policy_not_found)?;
    grant.check(Operation::DeletePolicy, &[&AnyPolicy::Customer(policy.clone()).arn(org)], Some(policy.policy_type))?;
    // A customer policy: its stored rows are its attachments (see `attachments`).
    if tx.attachment_count_by_policy(&org.id, &policy.id)? > 0 {
        // Attachments to accounts purged after their closure are no longer listed
        // (ListTargetsForPolicy) nor detachable: they don't keep the policy in use, and go with it.
        let mut stale = Vec::new();
        let mut after = None;
        loop {
            let batch = tx.attachment_list_by_policy(&org.id, &policy.id, after, 100)?;
            let Some(last) = batch.last() else { break };
            after = Some(last.seq);
            for a in batch {
                if lookup_target(tx, env, org, &a.target_id)?.is_some() {
                    return Err(ApiError::new(
                        ErrorCode::PolicyInUseException,
                        "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before you can delete it.",
                    )
                    .into());
                }
                stale.push(a.target_id);
            }
        }
        for target in stale {
            tx.attachment_delete(&org.id, &policy.id, &target)?;
        }
    }
    tx.tags_delete_all(&org.id, &policy.id)?;
    tx.policy_delete(&org.id, &policy.id)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lists

pub fn list(tx: &mut dyn Tx, caller: &Caller, input: &ListPoliciesRequest) -> Result<ListPoliciesResponse, OpError> {
    let grant = access::policy_reader(tx, caller)?;
    let org = &grant.member.org;
    let t = input.filter;
    grant.check(Operation::ListPolicies, &["*"], Some(t))?;
    let scope = format!("ListPolicies/{}/{}", org.id, t.as_str());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    // The AWS-managed policy of the type comes first, at the virtual position 0 (stored
    // policies have seq >= 1).
    let mut rows: Vec<(i64, AnyPolicy)> = Vec::new();
    if page.after_seq.is_none_or(|a| a < 0) {
        if let Some(m) = managed_default(t) {
            rows.push((0, AnyPolicy::Managed(m)));
        }
    }
    for p in tx.policy_list(&org.id, t, page.after_seq, page.limit + 1)? {
        rows.push((p.seq, AnyPolicy::Customer(p)));
    }
    rows.truncate(page.limit + 1);
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |(seq, _)| *seq);
    let policies = rows.iter().map(|(_, p)| views::policy_summary(org, p)).collect();
    Ok(ListPoliciesResponse { policies: Some(policies), next_token })
}

pub fn list_for_target(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListPoliciesForTargetRequest) -> Result<ListPoliciesForTargetResponse, OpError> {
    let grant = access::policy_reader(tx, caller)?;
    let org = &grant.member.org;
    let target = find_target(tx, env, org, &input.target_id)?;
    grant.check(Operation::ListPoliciesForTarget, &[&target_arn(org, &target)], Some(input.filter))?;
    // The organization is part of the scope: an account keeps its id in every organization.
    // `v2`: the default policy's position changed with migration 15 (now always first), so a
    // token issued before it is refused rather than skipping the default.
    let scope = format!("ListPoliciesForTarget/v2/{}/{}/{}", org.id, target.id(), input.filter.as_str());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let root = tree::root_of(tx, &org.id)?;
    let rows = attachments::list_by_target(tx, &org.id, &root.enabled_policy_types, target.id(), Some(input.filter), page.after_seq, page.limit + 1)?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |a| a.seq);
    let mut policies = Vec::with_capacity(rows.len());
    for a in rows {
        match find_policy(tx, org, &a.policy_id) {
            Ok(p) => policies.push(views::policy_summary(org, &p)),
            Err(OpError::Api(_)) => tracing::warn!(policy = %a.policy_id, "attachment of a missing policy"),
            Err(e) => return Err(e),
        }
    }
    Ok(ListPoliciesForTargetResponse { policies: Some(policies), next_token })
}

pub fn list_targets(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &ListTargetsForPolicyRequest) -> Result<ListTargetsForPolicyResponse, OpError> {
    let grant = access::policy_reader(tx, caller)?;
    let org = &grant.member.org;
    let policy = find_policy(tx, org, &input.policy_id)?;
    grant.check(Operation::ListTargetsForPolicy, &[&policy.arn(org)], Some(policy.policy_type()))?;
    // `v2`: a default policy's targets are ordered by their creation since migration 15, so a
    // token issued before it is refused rather than skipping targets.
    let scope = format!("ListTargetsForPolicy/v2/{}/{}", org.id, policy.id());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let root = tree::root_of(tx, &org.id)?;
    // Accounts still being created (or purged after closure) are not shown.
    let rows = paging::collect(
        &page,
        |after, n| {
            let mut targets = Vec::with_capacity(n);
            for (position, a) in attachments::list_by_policy(tx, &root, policy.id(), after, n)? {
                targets.push((position, lookup_target(tx, env, org, &a.target_id)?));
            }
            Ok::<_, OpError>(targets)
        },
        |(seq, _)| *seq,
        |(_, target)| target.is_some(),
    )?;
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |(seq, _)| *seq);
    let targets = rows.into_iter().filter_map(|(_, target)| target.map(|t| t.summary(org))).collect();
    Ok(ListTargetsForPolicyResponse { targets: Some(targets), next_token })
}

// ---------------------------------------------------------------------------------------------
// Attach / detach

/// The attachment of `policy` to `target` as of now (the time of an attach or a detach).
fn attachment_now(env: &Env, org: &OrganizationRecord, policy: &AnyPolicy, target: &Target) -> PolicyAttachmentRecord {
    PolicyAttachmentRecord {
        org_id: org.id.clone(),
        policy_id: policy.id().to_string(),
        target_id: target.id().to_string(),
        policy_type: policy.policy_type(),
        attached_ms: env.clock.now_ms(),
        seq: 0,
    }
}

pub fn attach(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &AttachPolicyRequest) -> Result<(), OpError> {
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    let policy = find_policy(tx, org, &input.policy_id)?;
    let target = find_target(tx, env, org, &input.target_id)?;
    let t = policy.policy_type();
    grant.check(Operation::AttachPolicy, &[&policy.arn(org), &target_arn(org, &target)], Some(t))?;
    let root = tree::root_of(tx, &org.id)?;
    if !root.enabled_policy_types.contains(&t) {
        return Err(type_not_enabled(t).into());
    }
    if attachments::is_attached(tx, &org.id, &root.enabled_policy_types, policy.id(), target.id())? {
        return Err(ApiError::new(
            ErrorCode::DuplicatePolicyAttachmentException,
            format!("The policy {} is already attached to {}.", policy.id(), target.id()),
        )
        .into());
    }
    let max = limits(env, t)?.max_attachments_per_target as u64;
    if attachments::count_by_target(tx, &org.id, &root.enabled_policy_types, target.id(), t)? >= max {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::MaxPolicyTypeAttachmentLimitExceeded,
            format!("You attempted to exceed the number of policies of type {} that you can attach to {} ({max}).", t.as_str(), target.id()),
        )
        .into());
    }
    attachments::attach(tx, &attachment_now(env, org, &policy, &target))?;
    Ok(())
}

pub fn detach(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DetachPolicyRequest) -> Result<(), OpError> {
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    let policy = find_policy(tx, org, &input.policy_id)?;
    let target = find_target(tx, env, org, &input.target_id)?;
    let t = policy.policy_type();
    grant.check(Operation::DetachPolicy, &[&policy.arn(org), &target_arn(org, &target)], Some(t))?;
    let root = tree::root_of(tx, &org.id)?;
    if !attachments::is_attached(tx, &org.id, &root.enabled_policy_types, policy.id(), target.id())? {
        return Err(ApiError::new(
            ErrorCode::PolicyNotAttachedException,
            format!("The policy {} isn't attached to {}.", policy.id(), target.id()),
        )
        .into());
    }
    if policy.is_aws_managed() && t == PolicyType::ResourceControlPolicy {
        return Err(ApiError::invalid_input(
            InvalidInputExceptionReason::NonDetachablePolicy,
            format!("The AWS managed policy {} can't be detached.", policy.id()),
        )
        .into());
    }
    let min = limits(env, t)?.min_attachments_per_target as u64;
    if min > 0 && attachments::count_by_target(tx, &org.id, &root.enabled_policy_types, target.id(), t)? <= min {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::MinPolicyTypeAttachmentLimitExceeded,
            format!(
                "You attempted to detach the last policy of type {} from {}: at least {min} must stay attached. Attach another one first.",
                t.as_str(),
                target.id()
            ),
        )
        .into());
    }
    attachments::detach(tx, &attachment_now(env, org, &policy, &target))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Enable / disable policy types

fn find_root(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<RootRecord, OpError> {
    tx.root_get(id)?.filter(|r| r.org_id == org.id).ok_or_else(|| {
        ApiError::new(ErrorCode::RootNotFoundException, "We can't find a root with the RootId that you specified.").into()
    })
}

pub fn enable_type(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &EnablePolicyTypeRequest) -> Result<EnablePolicyTypeResponse, OpError> {
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    require_all_features(org)?;
    let mut root = find_root(tx, org, &input.root_id)?;
    let t = input.policy_type;
    grant.check(Operation::EnablePolicyType, &[&arn::root(&org.partition, &org.management_account_id, &org.id, &root.id)], Some(t))?;
    if root.enabled_policy_types.contains(&t) {
        return Err(ApiError::new(
            ErrorCode::PolicyTypeAlreadyEnabledException,
            format!("The policy type {} is already enabled in the root.", t.as_str()),
        )
        .into());
    }
    if env.config.enforce_policy_service_access {
        if let Some(service) = super::delegation::service_of_policy_type(t) {
            if !super::delegation::service_access_enabled(tx, &org.id, service)? {
                return Err(ApiError::constraint(
                    ConstraintViolationExceptionReason::ServiceAccessNotEnabled,
                    format!("You must enable trusted access for {service} before you can enable {}.", t.as_str()),
                )
                .into());
            }
        }
    }
    // The type's default policy is now attached to every target (see `attachments`).
    root.enabled_policy_types.push(t);
    tx.root_update(&root)?;
    Ok(EnablePolicyTypeResponse { root: Some(views::root(org, &root)) })
}

pub fn disable_type(tx: &mut dyn Tx, caller: &Caller, input: &DisablePolicyTypeRequest) -> Result<DisablePolicyTypeResponse, OpError> {
    let grant = access::policy_writer(tx, caller)?;
    let org = &grant.member.org;
    let mut root = find_root(tx, org, &input.root_id)?;
    let t = input.policy_type;
    grant.check(Operation::DisablePolicyType, &[&arn::root(&org.partition, &org.management_account_id, &org.id, &root.id)], Some(t))?;
    if !root.enabled_policy_types.contains(&t) {
        return Err(type_not_enabled(t).into());
    }
    // Every policy of the type is detached everywhere (the default's detachments are forgotten
    // with the rest); the policies themselves stay.
    tx.attachment_delete_by_type(&org.id, t)?;
    root.enabled_policy_types.retain(|x| *x != t);
    tx.root_update(&root)?;
    Ok(DisablePolicyTypeResponse { root: Some(views::root(org, &root)) })
}
