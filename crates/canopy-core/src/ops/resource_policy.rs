//! The organization's resource (delegation) policy: PutResourcePolicy, DescribeResourcePolicy,
//! DeleteResourcePolicy (api-facts §2.9, §7.10). Validation and evaluation live in
//! canopy-policy's `delegation` module; the caller checks that use it live in `access`.

use canopy_api::{
    ApiError, Caller, ConstraintViolationExceptionReason, DescribeResourcePolicyResponse, ErrorCode,
    InvalidInputExceptionReason, OrganizationFeatureSet, Operation, PutResourcePolicyRequest,
    PutResourcePolicyResponse, ResourcePolicy, ResourcePolicySummary,
};
use canopy_policy::delegation::{DelegationPolicy, ResourcePolicyProblem};

use crate::records::{OrganizationRecord, ResourcePolicyRecord};
use crate::store::{OpError, Tx};
use crate::{access, arn, Env};

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::ResourcePolicyNotFoundException, "We can't find a resource policy request with the parameter that you specified.")
}

fn view(org: &OrganizationRecord, p: &ResourcePolicyRecord) -> ResourcePolicy {
    ResourcePolicy {
        content: Some(p.content.clone()),
        resource_policy_summary: Some(ResourcePolicySummary {
            id: Some(p.id.clone()),
            arn: Some(arn::resource_policy(&org.partition, &org.management_account_id, &org.id, &p.id)),
        }),
    }
}

/// The ARN of the organization's resource policy, if it has one (tag operations use it).
pub fn arn_of(tx: &mut dyn Tx, org: &OrganizationRecord, id: &str) -> Result<Option<String>, OpError> {
    Ok(tx
        .resource_policy_get(&org.id)?
        .filter(|p| p.id == id)
        .map(|p| arn::resource_policy(&org.partition, &org.management_account_id, &org.id, &p.id)))
}

fn reason(problem: ResourcePolicyProblem) -> InvalidInputExceptionReason {
    match problem {
        ResourcePolicyProblem::InvalidJson => InvalidInputExceptionReason::InvalidResourcePolicyJson,
        ResourcePolicyProblem::InvalidPrincipal => InvalidInputExceptionReason::InvalidPrincipal,
        ResourcePolicyProblem::UnsupportedAction => InvalidInputExceptionReason::UnsupportedActionInResourcePolicy,
        ResourcePolicyProblem::UnsupportedPolicyType => InvalidInputExceptionReason::UnsupportedPolicyTypeInResourcePolicy,
        ResourcePolicyProblem::UnsupportedResource => InvalidInputExceptionReason::UnsupportedResourceInResourcePolicy,
    }
}

/// Create or replace. A refused document is answered with the model's InvalidInput reasons for
/// resource policies (the operation models no MalformedPolicyDocumentException), naming the
/// JSON path. Tags apply to the creating call only: AWS throws when a call that replaces an
/// existing policy carries tags, and so does Canopy (InvalidInputException; the model's only
/// name for the case, UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED, is in no
/// exception's Reason enum, so it is in the message).
pub fn put(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &PutResourcePolicyRequest) -> Result<PutResourcePolicyResponse, OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    if org.feature_set != OrganizationFeatureSet::All {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::OrganizationNotInAllFeaturesMode,
            "A resource policy requires an organization with all features enabled.",
        )
        .into());
    }
    let tags = super::tags::check_new_tags(input.tags.as_deref().unwrap_or_default())?;
    DelegationPolicy::parse(&input.content, &org.partition)
        .map_err(|e| ApiError::invalid_input(reason(e.problem), format!("The resource policy is not valid: {e}.")))?;
    let now = env.clock.now_ms();
    let record = match tx.resource_policy_get(&org.id)? {
        Some(existing) => {
            if !tags.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::InvalidInputException,
                    "UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED: tags can only be given when the resource policy is created. Use TagResource to tag the existing policy.",
                )
                .into());
            }
            ResourcePolicyRecord { content: input.content.clone(), updated_ms: now, ..existing }
        }
        None => ResourcePolicyRecord {
            org_id: org.id.clone(),
            id: env.ids.resource_policy_id(),
            content: input.content.clone(),
            created_ms: now,
            updated_ms: now,
        },
    };
    tx.resource_policy_put(&record)?;
    super::tags::apply(tx, env, &org.id, &record.id, &tags)?;
    Ok(PutResourcePolicyResponse { resource_policy: Some(view(org, &record)) })
}

/// Management account and service delegated administrators, or a member the policy itself
/// grants `organizations:DescribeResourcePolicy`.
pub fn describe(tx: &mut dyn Tx, caller: &Caller) -> Result<DescribeResourcePolicyResponse, OpError> {
    let grant = access::policy_reader(tx, caller)?;
    let org = &grant.member.org;
    let policy = tx.resource_policy_get(&org.id)?.ok_or_else(not_found)?;
    let arn = arn::resource_policy(&org.partition, &org.management_account_id, &org.id, &policy.id);
    grant.check(Operation::DescribeResourcePolicy, &[&arn], None)?;
    Ok(DescribeResourcePolicyResponse { resource_policy: Some(view(org, &policy)) })
}

pub fn delete(tx: &mut dyn Tx, caller: &Caller) -> Result<(), OpError> {
    let member = access::management(tx, caller)?;
    let org = &member.org;
    let policy = tx.resource_policy_get(&org.id)?.ok_or_else(not_found)?;
    tx.tags_delete_all(&org.id, &policy.id)?;
    tx.resource_policy_delete(&org.id)?;
    Ok(())
}
