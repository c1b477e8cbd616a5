//! Effective management policies: DescribeEffectivePolicy, ListAccountsWithInvalidEffectivePolicy,
//! ListEffectivePolicyValidationErrors (api-facts §2.5, §7.11; policy-semantics §4.5, §4.6).
//! The merge itself is canopy-policy's `effective_policy`; this module gathers the attached
//! policies on the account's path (root first, attachment order within a node).
//!
//! Computed synchronously on every read (the merge itself is memoized by its inputs), so
//! PolicyChangesInProgressException never happens.
//! An invalid effective policy is still returned as computed (AWS keeps serving the last valid
//! one; Canopy keeps no history).

use canopy_api::{
    ApiError, Caller, DescribeEffectivePolicyRequest, DescribeEffectivePolicyResponse,
    EffectivePolicy, EffectivePolicyType, EffectivePolicyValidationError, ErrorCode,
    InvalidInputExceptionReason, ListAccountsWithInvalidEffectivePolicyRequest,
    ListAccountsWithInvalidEffectivePolicyResponse, ListEffectivePolicyValidationErrorsRequest,
    ListEffectivePolicyValidationErrorsResponse, PolicyType, Timestamp,
};
use canopy_policy as engine;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock};

use crate::records::{AccountRecord, OrganizationRecord};
use crate::store::{OpError, StoreError, Tx};
use crate::{access, paging, tree, views, Env};

/// Attachments read per node; far above any per-target quota.
const MAX_PER_NODE: usize = 10_000;

fn api_type(t: EffectivePolicyType) -> Result<PolicyType, OpError> {
    PolicyType::from_wire(t.as_str())
        .ok_or_else(|| OpError::Store(StoreError::Corrupt(format!("effective policy type {} is not a policy type", t.as_str()))))
}

/// An account's effective policy of a type and when its inputs last changed; `None` when the
/// type is not enabled or nothing of the type applies.
pub struct Computed {
    pub policy: Arc<engine::EffectivePolicy>,
    pub last_updated_ms: i64,
}

/// Reads that the accounts of one request share: the chain of each parent and the policies of
/// the type attached to each root or OU (ListAccountsWithInvalidEffectivePolicy visits many
/// accounts under the same OUs).
#[derive(Default)]
pub struct PathReads {
    chains: HashMap<String, Vec<String>>,
    attached: HashMap<String, (Vec<(String, String)>, i64)>,
}

pub fn compute(tx: &mut dyn Tx, org: &OrganizationRecord, enabled: &[PolicyType], account: &AccountRecord, t: PolicyType, reads: &mut PathReads) -> Result<Option<Computed>, OpError> {
    if !enabled.contains(&t) {
        return Ok(None);
    }
    let Some(parent) = &account.parent_id else { return Ok(None) };
    if !reads.chains.contains_key(parent) {
        let chain = tree::chain_to(tx, parent)?;
        reads.chains.insert(parent.clone(), chain);
    }
    let mut levels = Vec::new();
    let mut last_updated_ms = 0;
    let chain = reads.chains[parent].clone();
    for node in chain.iter().chain(std::iter::once(&account.id)) {
        // The account's own attachments are read every time; its ancestors' once per request.
        let (policies, updated) = match reads.attached.get(node) {
            Some(hit) => hit.clone(),
            None => {
                let read = attached(tx, org, enabled, node, t)?;
                if *node != account.id {
                    reads.attached.insert(node.clone(), read.clone());
                }
                read
            }
        };
        last_updated_ms = last_updated_ms.max(updated);
        // A node without policies of the type changes nothing in the merge; leaving it out lets
        // accounts that share their attached policies share one memoized merge.
        if !policies.is_empty() {
            levels.push(engine::Level { target_id: node.clone(), policies });
        }
    }
    let engine_t = super::policy::engine_type(t)?;
    Ok(merged(engine_t, &levels).map(|policy| Computed { policy, last_updated_ms }))
}

/// The policies of type `t` attached to `node` in attachment order, as (id, content), and the
/// latest attachment or update among them.
fn attached(tx: &mut dyn Tx, org: &OrganizationRecord, enabled: &[PolicyType], node: &str, t: PolicyType) -> Result<(Vec<(String, String)>, i64), OpError> {
    let mut policies = Vec::new();
    let mut updated = 0;
    for a in crate::attachments::list_by_target(tx, &org.id, enabled, node, Some(t), None, MAX_PER_NODE)? {
        let Some(p) = tx.policy_get(&org.id, &a.policy_id)? else {
            tracing::warn!(policy = %a.policy_id, "attachment of a missing policy");
            continue;
        };
        updated = updated.max(a.attached_ms).max(p.updated_ms);
        policies.push((p.id, p.content));
    }
    Ok((policies, updated))
}

/// The merge is a pure function of the type and the path's attached documents, and most of a
/// DescribeEffectivePolicy's CPU: results are memoized under a keyed 128-bit hash of those
/// inputs (contents included, so an update or a re-ordering is a new key and nothing is ever
/// stale). Bounded; emptied when full.
struct MergeMemo {
    keys: (RandomState, RandomState),
    results: Mutex<HashMap<(u64, u64), Merged>>,
}

/// A merge's answer: `None` when nothing of the type is attached on the path.
type Merged = Option<Arc<engine::EffectivePolicy>>;

/// Bounds the memo's memory: a large merged document (35 backup policies) is ~100 KB as a tree.
const MEMO_ENTRIES: usize = 256;

static MEMO: OnceLock<MergeMemo> = OnceLock::new();

fn merged(t: engine::PolicyType, levels: &[engine::Level]) -> Merged {
    let memo = MEMO.get_or_init(|| MergeMemo { keys: (RandomState::new(), RandomState::new()), results: Mutex::new(HashMap::new()) });
    let key = (memo.keys.0.hash_one((t, levels)), memo.keys.1.hash_one((t, levels)));
    // A poisoned lock only means another request panicked while holding it; the map is
    // still consistent (inserts and clears are single calls).
    if let Some(hit) = memo.results.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let result = match engine::effective_policy(t, levels) {
        engine::EffectiveResult::Found(policy) => Some(Arc::new(policy)),
        engine::EffectiveResult::NotFound | engine::EffectiveResult::UnsupportedPolicyType => None,
    };
    let mut results = memo.results.lock().unwrap_or_else(|e| e.into_inner());
    if results.len() >= MEMO_ENTRIES {
        results.clear();
    }
    results.insert(key, result.clone());
    result
}

fn not_found(t: EffectivePolicyType, account: &str) -> ApiError {
    ApiError::new(
        ErrorCode::EffectivePolicyNotFoundException,
        format!("We can't find an effective policy of type {} for the account {account}.", t.as_str()),
    )
}

pub fn describe(tx: &mut dyn Tx, env: &Env, caller: &Caller, input: &DescribeEffectivePolicyRequest) -> Result<DescribeEffectivePolicyResponse, OpError> {
    let member = access::any_member(tx, caller)?;
    let org = member.org.clone();
    let target_id = input.target_id.clone().unwrap_or_else(|| member.account.id.clone());
    if target_id.starts_with("r-") || target_id.starts_with("ou-") {
        return Err(ApiError::invalid_input(
            InvalidInputExceptionReason::TargetNotSupported,
            "DescribeEffectivePolicy supports only accounts as targets, not roots or OUs.",
        )
        .into());
    }
    // Any member reads its own; another account's takes the organization reads: the
    // management account, a service delegated administrator, or a member the resource policy
    // grants DescribeEffectivePolicy (api-facts §2.12; AWS's example delegation policy
    // "View organization, OUs, accounts, and policies" grants it for this).
    if target_id != member.account.id {
        access::reader(tx, caller)?;
    }
    let account = super::account::visible_member(tx, env, &org, &target_id)?
        .ok_or_else(|| ApiError::new(ErrorCode::TargetNotFoundException, "We can't find an account with the TargetId that you specified."))?;
    let t = api_type(input.policy_type)?;
    let root = tree::root_of(tx, &org.id)?;
    let computed = compute(tx, &org, &root.enabled_policy_types, &account, t, &mut PathReads::default())?.ok_or_else(|| not_found(input.policy_type, &account.id))?;
    Ok(DescribeEffectivePolicyResponse {
        effective_policy: Some(EffectivePolicy {
            last_updated_timestamp: Some(Timestamp::from_millis(computed.last_updated_ms)),
            policy_content: Some(computed.policy.content()),
            policy_type: Some(input.policy_type),
            target_id: Some(account.id),
        }),
    })
}

pub fn list_invalid_accounts(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListAccountsWithInvalidEffectivePolicyRequest,
) -> Result<ListAccountsWithInvalidEffectivePolicyResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let t = api_type(input.policy_type)?;
    let scope = format!("ListAccountsWithInvalidEffectivePolicy/{}/{}", org.id, input.policy_type.as_str());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let root = tree::root_of(tx, &org.id)?;
    let now = env.clock.now_ms();
    let mut invalid = Vec::new();
    let mut after = page.after_seq;
    let mut reads = PathReads::default();
    if root.enabled_policy_types.contains(&t) {
        'scan: loop {
            let batch = tx.account_list(&org.id, after, 200)?;
            let Some(last) = batch.last() else { break };
            after = Some(last.seq);
            for account in batch {
                if !views::is_visible(&account, &env.config, now) {
                    continue;
                }
                if compute(tx, org, &root.enabled_policy_types, &account, t, &mut reads)?.is_some_and(|c| c.policy.is_invalid()) {
                    invalid.push(account);
                    if invalid.len() > page.limit {
                        break 'scan;
                    }
                }
            }
        }
    }
    let (rows, next_token) = paging::finish(&scope, invalid, page.limit, |a| a.seq);
    let accounts = super::account::render_accounts(tx, env, org, rows)?;
    Ok(ListAccountsWithInvalidEffectivePolicyResponse { accounts: Some(accounts), next_token, policy_type: Some(input.policy_type) })
}

pub fn list_validation_errors(
    tx: &mut dyn Tx,
    env: &Env,
    caller: &Caller,
    input: &ListEffectivePolicyValidationErrorsRequest,
) -> Result<ListEffectivePolicyValidationErrorsResponse, OpError> {
    let member = access::reader(tx, caller)?;
    let org = &member.org;
    let now = env.clock.now_ms();
    let account = super::account::visible_member(tx, env, org, &input.account_id)?
        .ok_or_else(|| ApiError::new(ErrorCode::AccountNotFoundException, "You specified an account that doesn't exist."))?;
    let t = api_type(input.policy_type)?;
    let scope = format!("ListEffectivePolicyValidationErrors/{}/{}/{}", org.id, account.id, input.policy_type.as_str());
    let page = paging::start(&scope, input.next_token.as_deref(), input.max_results)?;
    let root = tree::root_of(tx, &org.id)?;
    let computed = compute(tx, org, &root.enabled_policy_types, &account, t, &mut PathReads::default())?.ok_or_else(|| not_found(input.policy_type, &account.id))?;
    // Findings are numbered from 1; the token carries the last number served.
    let skip = page.after_seq.unwrap_or(0).max(0) as usize;
    let rows: Vec<(i64, &engine::EffectiveValidationError)> = computed
        .policy
        .validation_errors
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i64 + 1, e))
        .skip(skip)
        .take(page.limit + 1)
        .collect();
    let (rows, next_token) = paging::finish(&scope, rows, page.limit, |(n, _)| *n);
    let errors = rows
        .into_iter()
        .map(|(_, e)| EffectivePolicyValidationError {
            contributing_policies: Some(e.contributing_policies.clone()),
            error_code: Some(e.error_code.clone()),
            error_message: Some(e.error_message.clone()),
            path_to_error: Some(e.path_to_error.clone()),
        })
        .collect();
    let path = match &account.parent_id {
        Some(parent) => Some(format!("{}{}/", tree::path_of(tx, org, parent)?, account.id)),
        None => None,
    };
    Ok(ListEffectivePolicyValidationErrorsResponse {
        account_id: Some(account.id.clone()),
        effective_policy_validation_errors: Some(errors),
        evaluation_timestamp: Some(Timestamp::from_millis(now)),
        next_token,
        path,
        policy_type: Some(input.policy_type),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(value: &str, order: [&str; 2]) -> Vec<engine::Level> {
        let doc = |v: &str| format!(r#"{{"tags":{{"cc":{{"tag_key":{{"@@assign":"{v}"}}}}}}}}"#);
        vec![
            engine::Level { target_id: "r-ab12".into(), policies: vec![("p-root0001".into(), doc(value))] },
            engine::Level {
                target_id: "111111111111".into(),
                policies: order.iter().map(|v| (format!("p-{v:0>8}"), doc(v))).collect(),
            },
        ]
    }

    fn tag_key(p: &engine::EffectivePolicy) -> String {
        p.document["tags"]["cc"]["tag_key"].as_str().unwrap().to_string()
    }

    #[test]
    fn memoized_merges_follow_their_inputs() {
        let t = engine::PolicyType::TagPolicy;
        let first = merged(t, &levels("A", ["X", "Y"])).unwrap();
        let again = merged(t, &levels("A", ["X", "Y"])).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "same inputs: the memoized result");
        assert_eq!(tag_key(&first), "X", "the account's first attachment wins");
        // A re-ordering and a content change are new inputs, never a stale answer.
        assert_eq!(tag_key(&merged(t, &levels("A", ["Y", "X"])).unwrap()), "Y");
        let no_children = vec![engine::Level { target_id: "r-ab12".into(), policies: levels("B", ["X", "Y"])[0].policies.clone() }];
        assert_eq!(tag_key(&merged(t, &no_children).unwrap()), "B");
        assert!(merged(t, &[engine::Level { target_id: "r-ab12".into(), policies: vec![] }]).is_none());
    }
}
