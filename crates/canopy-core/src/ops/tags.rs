//! TagResource, UntagResource, ListTagsForResource, and the tag checks shared with the create
//! operations that take `Tags`.

use std::collections::BTreeSet;

use canopy_api::{
    ApiError, Caller, ConstraintViolationExceptionReason, ErrorCode, InvalidInputExceptionReason,
    ListTagsForResourceRequest, ListTagsForResourceResponse, Operation, PolicyType, Tag, TagResourceRequest,
    UntagResourceRequest,
};

use crate::{access, arn};
use crate::records::{OrganizationRecord, TagRecord};
use crate::store::{OpError, Tx};
use crate::{views, Env};

/// Checks a request's tags: no `aws:` keys, no duplicate keys. Run before any write.
pub fn check_new_tags(tags: &[Tag]) -> Result<Vec<TagRecord>, ApiError> {
    let mut seen = BTreeSet::new();
    for tag in tags {
        check_key_not_reserved(&tag.key)?;
        if !seen.insert(tag.key.as_str()) {
            return Err(ApiError::invalid_input(
                InvalidInputExceptionReason::DuplicateTagKey,
                format!("Duplicate tag key '{}' in the request.", tag.key),
            ));
        }
    }
    Ok(tags.iter().map(|t| TagRecord { key: t.key.clone(), value: t.value.clone() }).collect())
}

fn check_key_not_reserved(key: &str) -> Result<(), ApiError> {
    // Compared as bytes: the key may hold multi-byte characters, and a `str` slice at byte 4
    // could cut one.
    if key.as_bytes().get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"aws:")) {
        return Err(ApiError::invalid_input(
            InvalidInputExceptionReason::InvalidSystemTagsParameter,
            format!("Tag key '{key}' uses the reserved prefix 'aws:'."),
        ));
    }
    Ok(())
}

/// Writes `tags` onto a resource, enforcing the per-resource quota on the merged set.
pub fn apply(tx: &mut dyn Tx, env: &Env, org_id: &str, resource_id: &str, tags: &[TagRecord]) -> Result<(), OpError> {
    if tags.is_empty() {
        return Ok(());
    }
    let existing = tx.tags_get(org_id, resource_id)?;
    let mut keys: BTreeSet<&str> = existing.iter().map(|t| t.key.as_str()).collect();
    keys.extend(tags.iter().map(|t| t.key.as_str()));
    if keys.len() > env.config.max_tags_per_resource {
        return Err(ApiError::constraint(
            ConstraintViolationExceptionReason::MaxTagLimitExceeded,
            format!(
                "You have exceeded the maximum number of tags allowed on this resource ({}).",
                env.config.max_tags_per_resource
            ),
        )
        .into());
    }
    tx.tags_put(org_id, resource_id, tags)?;
    Ok(())
}

/// The taggable resource `id` must exist in the caller's organization. Returns its ARN and, for
/// a policy, its type (the resource and condition key of the caller check).
fn require_taggable(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, id: &str) -> Result<(String, Option<PolicyType>), OpError> {
    let (p, m, o) = (org.partition.as_str(), org.management_account_id.as_str(), org.id.as_str());
    let found = if id.starts_with("r-") {
        tx.root_get(id)?.filter(|r| r.org_id == org.id).map(|_| (arn::root(p, m, o, id), None))
    } else if id.starts_with("ou-") {
        tx.ou_get(id)?.filter(|ou| ou.org_id == org.id).map(|_| (arn::ou(p, m, o, id), None))
    } else if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        super::account::visible_member(tx, env, org, id)?.map(|_| (arn::account(p, m, o, id), None))
    } else if id.starts_with("p-") {
        // Customer policies only: AWS-managed policies belong to no organization.
        tx.policy_get(&org.id, id)?.map(|policy| {
            let segment = policy.policy_type.as_str().to_ascii_lowercase();
            (arn::policy(p, m, o, &segment, id), Some(policy.policy_type))
        })
    } else if id.starts_with("rp-") {
        super::resource_policy::arn_of(tx, org, id)?.map(|arn| (arn, None))
    } else if id.starts_with("rt-") {
        // A transfer is taggable by both organizations it joins, each with its own tags and ARN.
        super::transfer::arn_for(tx, org, id)?.map(|arn| (arn, None))
    } else {
        None
    };
    found.ok_or_else(|| ApiError::new(ErrorCode::TargetNotFoundException, format!("We can't find a resource with the ResourceId '{id}'.")).into())
}

pub fn tag_resource(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &TagResourceRequest) -> Result<(), OpError> {
    let grant = access::policy_writer(tx, caller)?;
    let tags = check_new_tags(&input.tags)?;
    let (arn, policy_type) = require_taggable(tx, env, &grant.member.org, &input.resource_id)?;
    grant.check(Operation::TagResource, &[&arn], policy_type)?;
    apply(tx, env, &grant.member.org.id, &input.resource_id, &tags)
}

pub fn untag_resource(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &UntagResourceRequest) -> Result<(), OpError> {
    let grant = access::policy_writer(tx, caller)?;
    for key in &input.tag_keys {
        check_key_not_reserved(key)?;
    }
    let (arn, policy_type) = require_taggable(tx, env, &grant.member.org, &input.resource_id)?;
    grant.check(Operation::UntagResource, &[&arn], policy_type)?;
    tx.tags_delete(&grant.member.org.id, &input.resource_id, &input.tag_keys)?;
    Ok(())
}

pub fn list_tags_for_resource(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, OpError> {
    let grant = access::policy_reader(tx, caller)?;
    let member = &grant.member;
    let (arn, policy_type) = require_taggable(tx, env, &member.org, &input.resource_id)?;
    grant.check(Operation::ListTagsForResource, &[&arn], policy_type)?;
    // A resource holds at most 50 tags, so every answer fits one page; a NextToken from a client
    // is still checked so that a forged one is refused.
    let scope = format!("ListTagsForResource/{}", input.resource_id);
    crate::paging::start(&scope, input.next_token.as_deref(), None)?;
    let tags = tx.tags_get(&member.org.id, &input.resource_id)?;
    Ok(ListTagsForResourceResponse { tags: Some(views::tags(tags)), next_token: None })
}
