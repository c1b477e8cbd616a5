//! Authorization over the stored organization (policy-semantics §3.9–3.12): the snapshot that
//! simulate and what-if evaluate against, the what-if change set, and the SCP check every
//! member-account call passes before it runs ([`enforce`]).
//!
//! A [`Snapshot`] is read in one read transaction: the tree, the enabled types, the SCP/RCP
//! attachments in attachment order and every SCP/RCP compiled once (compiled documents are
//! shared through a process-wide cache keyed by id, ARN and content). Evaluation is pure and
//! runs outside the transaction; what-if clones the snapshot and changes the copy only.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use canopy_api::{
    ApiError, Caller, ConstraintViolationExceptionReason, ErrorCode, InvalidInputExceptionReason, Operation, PolicyType, PrincipalType,
    SessionFacts,
};
use canopy_policy::{
    self as engine, combine, AuthzRequest, Combined, CompiledPolicy, Decision, EvalOptions, Layer,
    LevelPolicies, OrgView, Outcome, PathNode, Principal, PrincipalKind, RequestContext, TargetType,
};

use crate::ops::policy::{all_accounts, managed_default, AnyPolicy};
use crate::records::OrganizationRecord;
use crate::store::{OpError, StoreError, Tx};
use crate::{access, attachments, tree, views, Canopy, CoreConfig, Env};

// ---------------------------------------------------------------------------------------------
// Compiled policies, shared

const CACHE_CAP: usize = 4096;

/// ARN → (content, compiled). A lookup hashes the short ARN and compares the content; a hit
/// allocates nothing.
type Cache = HashMap<String, (String, Arc<CompiledPolicy>)>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The compiled form of a policy document; compiled once per (ARN, content) per process.
fn compiled(id: &str, arn: &str, content: &str) -> Result<Arc<CompiledPolicy>, engine::PolicyError> {
    cached(arn, content, || CompiledPolicy::compile(id, content))
}

/// `compile`'s policy from the cache under `arn` when its text is `content`, else compiled now.
fn cached(
    arn: &str,
    content: &str,
    compile: impl FnOnce() -> Result<CompiledPolicy, engine::PolicyError>,
) -> Result<Arc<CompiledPolicy>, engine::PolicyError> {
    if let Some(c) = cache().lock().ok().and_then(|m| m.get(arn).filter(|(text, _)| text == content).map(|(_, c)| c.clone())) {
        return Ok(c);
    }
    let c = Arc::new(compile()?.with_arn(arn));
    if let Ok(mut m) = cache().lock() {
        // Policies of deleted organizations are dropped wholesale; recompiling the live ones
        // is cheap next to an unbounded cache.
        if m.len() >= CACHE_CAP {
            m.clear();
        }
        m.insert(arn.to_string(), (content.to_string(), c.clone()));
    }
    Ok(c)
}

fn compile_stored(org: &OrganizationRecord, p: &AnyPolicy) -> Result<Arc<CompiledPolicy>, OpError> {
    compiled(p.id(), &p.arn(org), p.content()).map_err(|e| {
        OpError::Store(StoreError::Corrupt(format!("stored policy {} does not compile: {e}", p.id())))
    })
}

fn layer_of(t: PolicyType) -> Option<Layer> {
    match t {
        PolicyType::ServiceControlPolicy => Some(Layer::Scp),
        PolicyType::ResourceControlPolicy => Some(Layer::Rcp),
        _ => None,
    }
}

fn slot(layer: Layer) -> usize {
    match layer {
        Layer::Scp => 0,
        Layer::Rcp => 1,
    }
}

// ---------------------------------------------------------------------------------------------
// Principals

/// The kind of principal an ARN names: `:root` → Root, `:user/` → IAMUser,
/// `:role/aws-service-role/` → ServiceLinkedRole, `:role/` and `:assumed-role/` → AssumedRole,
/// `:federated-user/` → FederatedUser, a `*.amazonaws.com` name → AWSService, `*` or
/// `anonymous` → Anonymous.
pub fn infer_principal_kind(arn: &str) -> Option<PrincipalKind> {
    if arn == "*" || arn.eq_ignore_ascii_case("anonymous") {
        return Some(PrincipalKind::Anonymous);
    }
    if !arn.starts_with("arn:") {
        return arn.ends_with(".amazonaws.com").then_some(PrincipalKind::AwsService);
    }
    let resource = arn.splitn(6, ':').nth(5)?;
    Some(if resource == "root" {
        PrincipalKind::Root
    } else if resource.starts_with("user/") {
        PrincipalKind::IamUser
    } else if resource.starts_with("role/aws-service-role/") {
        PrincipalKind::ServiceLinkedRole
    } else if resource.starts_with("role/") || resource.starts_with("assumed-role/") {
        PrincipalKind::AssumedRole
    } else if resource.starts_with("federated-user/") {
        PrincipalKind::FederatedUser
    } else {
        return None;
    })
}

// ---------------------------------------------------------------------------------------------
// The snapshot

#[derive(Debug, Clone)]
struct PolicyEntry {
    layer: Layer,
    compiled: Arc<CompiledPolicy>,
}

/// What authorization needs to know about one organization, read at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    org: OrganizationRecord,
    root_id: String,
    enabled: Vec<engine::PolicyType>,
    /// OU or account → its parent (root or OU).
    parent: HashMap<String, String>,
    /// Visible member accounts (management included), in creation order.
    accounts: Vec<String>,
    /// Target → SCP and RCP policy ids, each in attachment order.
    attach: HashMap<String, [Vec<String>; 2]>,
    policies: HashMap<String, PolicyEntry>,
}

/// What evaluating an account's own requests needs (see [`Snapshot::account_ctx`]).
struct AccountCtx {
    account: String,
    view: OrgView,
    scp: Vec<LevelPolicies>,
    rcp: Vec<LevelPolicies>,
}

/// One request to simulate: the request as the evaluator takes it, plus the IAM decision when
/// the caller has one (§3.11).
#[derive(Debug, Clone)]
pub struct SimRequest {
    pub request: AuthzRequest,
    pub iam: Option<Outcome>,
}

/// Both layers and their combination.
#[derive(Debug, Clone)]
pub struct SimResult {
    pub scp: Decision,
    pub rcp: Decision,
    pub combined: Combined,
}

impl Snapshot {
    /// Reads the organization of `org` in the current transaction.
    pub fn load(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord) -> Result<Snapshot, OpError> {
        let root = tree::root_of(tx, &org.id)?;
        let mut enabled = Vec::with_capacity(root.enabled_policy_types.len());
        for t in &root.enabled_policy_types {
            enabled.push(crate::ops::policy::engine_type(*t)?);
        }
        let mut parent: HashMap<String, String> = tree::all_ous(tx, &root.id)?.into_iter().map(|ou| (ou.id, ou.parent_id)).collect();
        let now = env.clock.now_ms();
        let mut accounts = Vec::new();
        for a in all_accounts(tx, &org.id)? {
            if let (Some(p), true) = (&a.parent_id, views::is_visible(&a, &env.config, now)) {
                parent.insert(a.id.clone(), p.clone());
                accounts.push(a.id);
            }
        }
        let mut policies = HashMap::new();
        let mut rows: Vec<(i64, usize, String, String)> = Vec::new();
        for t in [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy] {
            let layer = layer_of(t).expect("authorization type");
            let mut all: Vec<AnyPolicy> = managed_default(t).map(AnyPolicy::Managed).into_iter().collect();
            let mut after = None;
            loop {
                let page = tx.policy_list(&org.id, t, after, 500)?;
                let Some(last) = page.last() else { break };
                after = Some(last.seq);
                all.extend(page.into_iter().map(AnyPolicy::Customer));
            }
            for p in all {
                if attachments::default_type(p.id()).is_some() {
                    // Attached (at position 0) to every node it was not detached from.
                    if root.enabled_policy_types.contains(&t) {
                        let detached = attachments::detached_from(tx, &org.id, p.id())?;
                        let nodes = std::iter::once(&root.id).chain(parent.keys());
                        rows.extend(nodes.filter(|n| !detached.contains(*n)).map(|n| (0, slot(layer), n.clone(), p.id().to_string())));
                    }
                } else {
                    let mut after = None;
                    loop {
                        let page = tx.attachment_list_by_policy(&org.id, p.id(), after, 500)?;
                        let Some(last) = page.last() else { break };
                        after = Some(last.seq);
                        rows.extend(page.into_iter().map(|a| (a.seq, slot(layer), a.target_id, a.policy_id)));
                    }
                }
                policies.insert(p.id().to_string(), PolicyEntry { layer, compiled: compile_stored(org, &p)? });
            }
        }
        rows.sort_unstable_by_key(|r| r.0);
        let mut attach: HashMap<String, [Vec<String>; 2]> = HashMap::new();
        for (_, s, target, policy) in rows {
            attach.entry(target).or_default()[s].push(policy);
        }
        Ok(Snapshot { org: org.clone(), root_id: root.id, enabled, parent, accounts, attach, policies })
    }

    /// Reads only the paths of `ids` (see [`Canopy::authz_snapshot`]): their accounts, the OUs
    /// above them, the SCP/RCP attachments of those nodes and the policies attached there.
    pub fn load_paths(tx: &mut dyn Tx, env: &Env, org: &OrganizationRecord, ids: &[String]) -> Result<Snapshot, OpError> {
        let root = tree::root_of(tx, &org.id)?;
        let mut enabled = Vec::with_capacity(root.enabled_policy_types.len());
        for t in &root.enabled_policy_types {
            enabled.push(crate::ops::policy::engine_type(*t)?);
        }
        let now = env.clock.now_ms();
        let mut parent: HashMap<String, String> = HashMap::new();
        let mut accounts = Vec::new();
        for id in ids {
            if parent.contains_key(id) {
                continue;
            }
            let Some(a) = tx.account_get(&org.partition, id)? else { continue };
            let Some(p) = a.parent_id.clone() else { continue };
            if a.org_id.as_deref() != Some(org.id.as_str()) || !views::is_visible(&a, &env.config, now) {
                continue;
            }
            if p != root.id && !parent.contains_key(&p) {
                let chain = tree::chain_to(tx, &p)?;
                for w in chain.windows(2) {
                    parent.insert(w[1].clone(), w[0].clone());
                }
            }
            parent.insert(a.id.clone(), p);
            accounts.push(a.id);
        }
        let mut attach: HashMap<String, [Vec<String>; 2]> = HashMap::new();
        let mut policies = HashMap::new();
        let nodes: Vec<String> = std::iter::once(root.id.clone()).chain(parent.keys().cloned()).collect();
        for node in nodes {
            // Every attachment of the node, all types, in attachment order (at most a few dozen).
            let rows = attachments::list_by_target(tx, &org.id, &root.enabled_policy_types, &node, None, None, 10_000)?;
            for a in rows {
                let Some(layer) = layer_of(a.policy_type) else { continue };
                if !policies.contains_key(&a.policy_id) {
                    match crate::ops::policy::find_policy(tx, org, &a.policy_id) {
                        Ok(p) => {
                            policies.insert(a.policy_id.clone(), PolicyEntry { layer, compiled: compile_stored(org, &p)? });
                        }
                        Err(OpError::Api(_)) => {
                            tracing::warn!(policy = %a.policy_id, "attachment of a missing policy");
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
                attach.entry(node.clone()).or_default()[slot(layer)].push(a.policy_id);
            }
        }
        Ok(Snapshot { org: org.clone(), root_id: root.id, enabled, parent, accounts, attach, policies })
    }

    pub fn org(&self) -> &OrganizationRecord {
        &self.org
    }

    /// Visible member accounts, management account included.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    fn is_account(&self, id: &str) -> bool {
        !id.starts_with("ou-") && !id.starts_with("r-") && self.parent.contains_key(id)
    }

    fn node_type(id: &str) -> TargetType {
        if id.starts_with("r-") {
            TargetType::Root
        } else if id.starts_with("ou-") {
            TargetType::OrganizationalUnit
        } else {
            TargetType::Account
        }
    }

    /// Root → OUs → `account`, when the account is a member.
    fn path(&self, account: &str) -> Option<Vec<PathNode>> {
        if !self.is_account(account) {
            return None;
        }
        let mut ids = vec![account];
        let mut current = account;
        // Bounded by the OU depth limit; the guard only protects against a corrupt cycle.
        for _ in 0..64 {
            let p = self.parent.get(current)?;
            ids.push(p);
            if p.starts_with("r-") {
                ids.reverse();
                return Some(ids.into_iter().map(|id| PathNode::new(id, Self::node_type(id))).collect());
            }
            current = p;
        }
        None
    }

    fn levels(&self, path: &[PathNode], layer: Layer) -> Vec<LevelPolicies> {
        path.iter()
            .map(|n| LevelPolicies {
                target_id: n.id.clone(),
                target_type: n.target_type,
                policies: self
                    .attach
                    .get(&n.id)
                    .map(|a| a[slot(layer)].iter().filter_map(|id| self.policies.get(id)).map(|p| p.compiled.clone()).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }

    fn view(&self, principal_path: Option<Vec<PathNode>>, resource_path: Option<Vec<PathNode>>) -> OrgView {
        OrgView {
            org_id: Some(self.org.id.clone()),
            management_account: self.org.management_account_id.clone(),
            enabled_policy_types: self.enabled.clone(),
            principal_path,
            resource_path,
        }
    }

    fn layer(&self, layer: Layer, req: &AuthzRequest, opts: &EvalOptions) -> Decision {
        let principal_path = req.principal.account().and_then(|a| self.path(a));
        let resource_path = req.resource_account.as_deref().and_then(|a| self.path(a));
        let levels = match layer {
            Layer::Scp => principal_path.as_deref().map(|p| self.levels(p, layer)),
            Layer::Rcp => resource_path.as_deref().map(|p| self.levels(p, layer)),
        }
        .unwrap_or_default();
        engine::evaluate_with(layer, &self.view(principal_path, resource_path), &levels, req, opts)
    }

    /// The view and both layers' levels for requests whose principal and resource belong to
    /// `account`: built once per account when many probes are evaluated for it.
    fn account_ctx(&self, account: &str) -> AccountCtx {
        let path = self.path(account);
        let scp = path.as_deref().map(|p| self.levels(p, Layer::Scp)).unwrap_or_default();
        let rcp = path.as_deref().map(|p| self.levels(p, Layer::Rcp)).unwrap_or_default();
        AccountCtx { account: account.to_string(), view: self.view(path.clone(), path), scp, rcp }
    }

    /// [`Self::layer`] through `ctx` when the request is the account's own (principal and
    /// resource in it); otherwise the general path.
    fn layer_in(&self, layer: Layer, req: &AuthzRequest, opts: &EvalOptions, ctx: &AccountCtx) -> Decision {
        let own = req.principal.account() == Some(ctx.account.as_str()) && req.resource_account.as_deref() == Some(ctx.account.as_str());
        if !own {
            return self.layer(layer, req, opts);
        }
        let levels = match layer {
            Layer::Scp => &ctx.scp,
            Layer::Rcp => &ctx.rcp,
        };
        engine::evaluate_with(layer, &ctx.view, levels, req, opts)
    }

    /// Both layers and their combination (§3.11) for one request.
    pub fn evaluate(&self, req: &SimRequest, opts: &EvalOptions) -> SimResult {
        let scp = self.layer(Layer::Scp, &req.request, opts);
        let rcp = self.layer(Layer::Rcp, &req.request, opts);
        let combined = combine(&scp, &rcp, req.iam);
        SimResult { scp, rcp, combined }
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points on the service

impl Canopy {
    /// The snapshot of the caller's organization. Only its management account may read it
    /// (AccessDeniedException otherwise; AWSOrganizationsNotInUseException outside any
    /// organization), and a session of it only when its session policy allows
    /// `organizations:DescribePolicy`: simulate and what-if show what the policies say.
    ///
    /// `accounts`: `None` reads every account; `Some(ids)` reads only the paths of those
    /// accounts (ids that are not visible members are left out), enough to evaluate requests
    /// whose principal and resource accounts are among them, at a cost independent of the
    /// organization's size.
    pub async fn authz_snapshot(&self, caller: &Caller, accounts: Option<Vec<String>>) -> Result<Snapshot, ApiError> {
        let caller = caller.clone();
        self.read(move |tx, env| {
            let member = access::management(tx, &caller)?;
            let reads = "organizations:DescribePolicy";
            if let Some(message) = denial(tx, env, Some(&member), &Signer::of_caller(&caller), &[reads], "*", RequestContext::new())? {
                return Err(ApiError::new(ErrorCode::AccessDeniedException, message).into());
            }
            match &accounts {
                None => Snapshot::load(tx, env, &member.org),
                Some(ids) => Snapshot::load_paths(tx, env, &member.org, ids),
            }
        })
        .await
    }
}

/// Options for simulate and what-if: the engine's defaults (simulation mode: caller-supplied
/// context wins over derived keys), with element-level detail when asked.
pub fn sim_options(detail: bool) -> EvalOptions {
    EvalOptions { detail, ..EvalOptions::default() }
}

/// Options for evaluating many requests when only decisions and what decided them are
/// answered (no per-level explanation).
pub fn bulk_options() -> EvalOptions {
    EvalOptions { explain: false, ..EvalOptions::default() }
}

// ---------------------------------------------------------------------------------------------
// What-if

/// A proposed change. Policy ids may name a policy created earlier in the same change set by
/// its `reference`.
#[derive(Debug, Clone)]
pub enum Change {
    CreatePolicy { reference: String, policy_type: PolicyType, content: String },
    UpdatePolicy { policy_id: String, content: String },
    Attach { policy_id: String, target_id: String },
    Detach { policy_id: String, target_id: String },
    MoveAccount { account_id: String, destination_parent_id: String },
    EnablePolicyType { policy_type: PolicyType },
    DisablePolicyType { policy_type: PolicyType },
}

/// A request evaluated for every affected account. `principal` is `root`, an IAM path such as
/// `role/Admin` (made into `arn:<partition>:iam::<account>:<path>`) or a full ARN; `{account}`
/// in the principal, the resource or the resource account stands for the account probed.
/// Without a resource account, the probed account owns the resource.
#[derive(Debug, Clone)]
pub struct Probe {
    pub principal: String,
    pub kind: Option<PrincipalKind>,
    pub action: String,
    pub resource: String,
    pub resource_account: Option<String>,
    pub context: RequestContext,
    pub iam: Option<Outcome>,
}

/// A decision that changes.
#[derive(Debug, Clone)]
pub struct Flip {
    pub account_id: String,
    pub probe: usize,
    pub principal: String,
    pub before: SimResult,
    pub after: SimResult,
}

#[derive(Debug, Clone)]
pub struct WhatIfResult {
    pub affected_accounts: usize,
    /// Probe evaluations before and after (each counts once).
    pub evaluations: usize,
    /// Total flips found; `flips` holds at most the limit asked for, in account then probe order.
    pub flip_count: usize,
    pub flips: Vec<Flip>,
}

/// Which part of the organization a change set touches.
#[derive(Default)]
struct Touched {
    layers: [bool; 2],
    all: bool,
    nodes: HashSet<String>,
    accounts: HashSet<String>,
}

fn bad(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidInputException, format!("Invalid value for {field}: {message}"))
}

impl Snapshot {
    fn node_exists(&self, id: &str) -> bool {
        id == self.root_id || self.parent.contains_key(id)
    }

    fn targets_of(&self, policy_id: &str) -> Vec<String> {
        self.attach
            .iter()
            .filter(|(_, a)| a.iter().any(|l| l.iter().any(|p| p == policy_id)))
            .map(|(t, _)| t.clone())
            .collect()
    }

    fn arn_for(&self, policy_type: PolicyType, id: &str) -> String {
        let segment = policy_type.as_str().to_ascii_lowercase();
        crate::arn::policy(&self.org.partition, &self.org.management_account_id, &self.org.id, &segment, id)
    }

    fn policy(&self, field: &str, id: &str) -> Result<&PolicyEntry, ApiError> {
        self.policies.get(id).ok_or_else(|| {
            ApiError::new(ErrorCode::PolicyNotFoundException, format!("{field}: no SCP or RCP {id} in the organization or the change set"))
        })
    }

    fn type_enabled(&self, layer: Layer) -> bool {
        self.enabled.contains(&layer.policy_type())
    }

    /// Applies change `i` to this copy, recording what it touches.
    fn apply(&mut self, config: &CoreConfig, i: usize, change: &Change, touched: &mut Touched) -> Result<(), ApiError> {
        let f = |name: &str| format!("changes[{i}].{name}");
        match change {
            Change::CreatePolicy { reference, policy_type, content } => {
                let Some(layer) = layer_of(*policy_type) else {
                    return Err(bad(&f("policy_type"), "what-if evaluates SERVICE_CONTROL_POLICY and RESOURCE_CONTROL_POLICY only"));
                };
                if reference.is_empty() || self.policies.contains_key(reference) {
                    return Err(bad(&f("reference"), format!("{reference:?} is empty or names an existing policy")));
                }
                let compiled = validate_and_compile(config, &f("content"), *policy_type, reference, &self.arn_for(*policy_type, reference), content)?;
                self.policies.insert(reference.clone(), PolicyEntry { layer, compiled });
            }
            Change::UpdatePolicy { policy_id, content } => {
                let entry = self.policy(&f("policy_id"), policy_id)?;
                if crate::ops::policy::managed(policy_id).is_some() {
                    return Err(ApiError::new(ErrorCode::InvalidInputException, format!("{}: {policy_id} is an AWS managed policy and can't be updated", f("policy_id"))));
                }
                let layer = entry.layer;
                let arn = entry.compiled.arn().unwrap_or_default().to_string();
                let compiled = validate_and_compile(config, &f("content"), wire_type(layer), policy_id, &arn, content)?;
                self.policies.insert(policy_id.clone(), PolicyEntry { layer, compiled });
                touched.layers[slot(layer)] = true;
                touched.nodes.extend(self.targets_of(policy_id));
            }
            Change::Attach { policy_id, target_id } | Change::Detach { policy_id, target_id } => {
                let layer = self.policy(&f("policy_id"), policy_id)?.layer;
                if !self.node_exists(target_id) {
                    return Err(ApiError::new(ErrorCode::TargetNotFoundException, format!("{}: no root, OU or account {target_id} in the organization", f("target_id"))));
                }
                if !self.type_enabled(layer) {
                    return Err(ApiError::new(
                        ErrorCode::PolicyTypeNotEnabledException,
                        format!("{}: the policy type {} isn't enabled in the root", f("policy_id"), layer.policy_type().as_str()),
                    ));
                }
                let limits = config.policy_limits.get(layer.policy_type());
                let list = &mut self.attach.entry(target_id.clone()).or_default()[slot(layer)];
                let present = list.iter().position(|p| p == policy_id);
                // The quotas and the non-detachable RCP default, as AttachPolicy/DetachPolicy check them.
                match (change, present) {
                    (Change::Attach { .. }, None) if list.len() >= limits.max_attachments_per_target => {
                        return Err(ApiError::constraint(
                            ConstraintViolationExceptionReason::MaxPolicyTypeAttachmentLimitExceeded,
                            format!("{}: {target_id} already has {} policies of type {}", f("target_id"), list.len(), wire_type(layer).as_str()),
                        ))
                    }
                    (Change::Detach { .. }, Some(_)) if crate::ops::policy::managed(policy_id).is_some() && layer == Layer::Rcp => {
                        return Err(ApiError::invalid_input(
                            InvalidInputExceptionReason::NonDetachablePolicy,
                            format!("{}: the AWS managed policy {policy_id} can't be detached", f("policy_id")),
                        ))
                    }
                    (Change::Detach { .. }, Some(_)) if limits.min_attachments_per_target > 0 && list.len() <= limits.min_attachments_per_target => {
                        return Err(ApiError::constraint(
                            ConstraintViolationExceptionReason::MinPolicyTypeAttachmentLimitExceeded,
                            format!("{}: {target_id} must keep at least {} policy of type {}", f("policy_id"), limits.min_attachments_per_target, wire_type(layer).as_str()),
                        ))
                    }
                    (Change::Attach { .. }, None) => list.push(policy_id.clone()),
                    (Change::Attach { .. }, Some(_)) => {
                        return Err(ApiError::new(ErrorCode::DuplicatePolicyAttachmentException, format!("{}: {policy_id} is already attached to {target_id}", f("policy_id"))))
                    }
                    (_, Some(at)) => {
                        list.remove(at);
                    }
                    (_, None) => {
                        return Err(ApiError::new(ErrorCode::PolicyNotAttachedException, format!("{}: {policy_id} isn't attached to {target_id}", f("policy_id"))))
                    }
                }
                touched.layers[slot(layer)] = true;
                touched.nodes.insert(target_id.clone());
            }
            Change::MoveAccount { account_id, destination_parent_id } => {
                if !self.is_account(account_id) {
                    return Err(ApiError::new(ErrorCode::AccountNotFoundException, format!("{}: no account {account_id} in the organization", f("account_id"))));
                }
                if !(destination_parent_id == &self.root_id || (destination_parent_id.starts_with("ou-") && self.parent.contains_key(destination_parent_id))) {
                    return Err(ApiError::new(
                        ErrorCode::DestinationParentNotFoundException,
                        format!("{}: no root or OU {destination_parent_id} in the organization", f("destination_parent_id")),
                    ));
                }
                self.parent.insert(account_id.clone(), destination_parent_id.clone());
                touched.layers = [true, true];
                touched.accounts.insert(account_id.clone());
            }
            Change::EnablePolicyType { policy_type } | Change::DisablePolicyType { policy_type } => {
                let Some(layer) = layer_of(*policy_type) else {
                    return Err(bad(&f("policy_type"), "what-if evaluates SERVICE_CONTROL_POLICY and RESOURCE_CONTROL_POLICY only"));
                };
                let t = layer.policy_type();
                let enable = matches!(change, Change::EnablePolicyType { .. });
                if enable == self.enabled.contains(&t) {
                    let (code, state) = if enable {
                        (ErrorCode::PolicyTypeAlreadyEnabledException, "already enabled")
                    } else {
                        (ErrorCode::PolicyTypeNotEnabledException, "not enabled")
                    };
                    return Err(ApiError::new(code, format!("{}: {} is {state} in the root", f("policy_type"), t.as_str())));
                }
                let s = slot(layer);
                if enable {
                    self.enabled.push(t);
                    // As EnablePolicyType does: the AWS-managed default lands on every node.
                    let default = managed_default(*policy_type).map(|m| m.id.to_string());
                    let nodes: Vec<String> = std::iter::once(self.root_id.clone()).chain(self.parent.keys().cloned()).collect();
                    if let Some(d) = default {
                        for n in nodes {
                            self.attach.entry(n).or_default()[s].push(d.clone());
                        }
                    }
                } else {
                    self.enabled.retain(|x| *x != t);
                    for a in self.attach.values_mut() {
                        a[s].clear();
                    }
                }
                touched.layers[s] = true;
                touched.all = true;
            }
        }
        Ok(())
    }

    fn probe_request(&self, probe: &Probe, account: &str) -> SimRequest {
        let sub = |s: &str| s.replace("{account}", account);
        let arn = if probe.principal.starts_with("arn:") || probe.principal == "*" || probe.principal.ends_with(".amazonaws.com") {
            sub(&probe.principal)
        } else {
            format!("arn:{}:iam::{account}:{}", self.org.partition, probe.principal)
        };
        let kind = probe.kind.or_else(|| infer_principal_kind(&arn)).unwrap_or(PrincipalKind::AssumedRole);
        SimRequest {
            request: AuthzRequest {
                principal: Principal { arn, account: None, kind },
                action: probe.action.clone(),
                resource: sub(&probe.resource),
                resource_account: Some(probe.resource_account.as_deref().map_or_else(|| account.to_string(), sub)),
                context: probe.context.clone(),
            },
            iam: probe.iam,
        }
    }

    /// Evaluates `probe` for each of `accounts` (every member account when `None`); answers
    /// the account ids with their results, in order. Unknown ids are refused
    /// (AccountNotFoundException naming the first).
    pub fn probe_accounts(
        &self,
        probe: &Probe,
        accounts: Option<&[String]>,
        opts: &EvalOptions,
        threads: usize,
    ) -> Result<Vec<(String, SimResult)>, ApiError> {
        let list: Vec<&String> = match accounts {
            None => self.accounts.iter().collect(),
            Some(ids) => {
                if let Some(bad) = ids.iter().find(|a| !self.is_account(a)) {
                    return Err(ApiError::new(ErrorCode::AccountNotFoundException, format!("accounts: {bad} is not an account of the organization")));
                }
                ids.iter().collect()
            }
        };
        Ok(par_map(&list, threads, |a| {
            let ctx = self.account_ctx(a);
            let req = self.probe_request(probe, a);
            let scp = self.layer_in(Layer::Scp, &req.request, opts, &ctx);
            let rcp = self.layer_in(Layer::Rcp, &req.request, opts, &ctx);
            let combined = combine(&scp, &rcp, req.iam);
            ((*a).clone(), SimResult { scp, rcp, combined })
        }))
    }

    fn on_touched_path(&self, account: &str, touched: &Touched) -> bool {
        self.path(account).is_some_and(|p| p.iter().any(|n| touched.nodes.contains(&n.id)))
    }

    /// Applies `changes` to a copy, evaluates every probe for every affected account before
    /// and after, and answers the decisions that flip (at most `max_flips` of them). Nothing is
    /// stored. `threads` bounds the parallelism (1 = on the calling thread).
    pub fn what_if(
        &self,
        config: &CoreConfig,
        changes: &[Change],
        probes: &[Probe],
        max_flips: usize,
        detail: bool,
        threads: usize,
    ) -> Result<WhatIfResult, ApiError> {
        let mut after = self.clone();
        let mut touched = Touched::default();
        for (i, c) in changes.iter().enumerate() {
            after.apply(config, i, c, &mut touched)?;
        }
        let affected: Vec<&String> = after
            .accounts
            .iter()
            .filter(|a| {
                touched.all
                    || touched.accounts.contains(*a)
                    || self.on_touched_path(a, &touched)
                    || after.on_touched_path(a, &touched)
            })
            .collect();
        let opts = sim_options(detail);
        let fast = bulk_options();
        // Pass 1: decisions only, no explanations; a layer the changes do not touch decides
        // the same way after. Answers the probes that flip for each account.
        let find = |acct: &String| -> Vec<usize> {
            let (cb, ca) = (self.account_ctx(acct), after.account_ctx(acct));
            let mut out = Vec::new();
            for (pi, probe) in probes.iter().enumerate() {
                let req = self.probe_request(probe, acct);
                let r = &req.request;
                let scp_b = self.layer_in(Layer::Scp, r, &fast, &cb);
                let rcp_b = self.layer_in(Layer::Rcp, r, &fast, &cb);
                let before = combine(&scp_b, &rcp_b, req.iam).decision;
                let scp_a = if touched.layers[0] { after.layer_in(Layer::Scp, r, &fast, &ca) } else { scp_b };
                let rcp_a = if touched.layers[1] { after.layer_in(Layer::Rcp, r, &fast, &ca) } else { rcp_b };
                if before != combine(&scp_a, &rcp_a, req.iam).decision {
                    out.push(pi);
                }
            }
            out
        };
        let per_account: Vec<Vec<usize>> = par_map(&affected, threads, |a| find(a));
        let flip_count = per_account.iter().map(Vec::len).sum();
        // Pass 2: the flips answered (at most `max_flips`), both sides with explanations.
        let chosen: Vec<(&String, usize)> =
            affected.iter().zip(&per_account).flat_map(|(a, ps)| ps.iter().map(move |p| (*a, *p))).take(max_flips).collect();
        let flips = par_map(&chosen, threads, |(acct, pi)| {
            let req = self.probe_request(&probes[*pi], acct);
            let full = |s: &Snapshot| {
                let c = s.account_ctx(acct);
                let scp = s.layer_in(Layer::Scp, &req.request, &opts, &c);
                let rcp = s.layer_in(Layer::Rcp, &req.request, &opts, &c);
                let combined = combine(&scp, &rcp, req.iam);
                SimResult { scp, rcp, combined }
            };
            Flip { account_id: (*acct).clone(), probe: *pi, principal: req.request.principal.arn.clone(), before: full(self), after: full(&after) }
        });
        Ok(WhatIfResult { affected_accounts: affected.len(), evaluations: affected.len() * probes.len() * 2, flip_count, flips })
    }
}

/// `f` over `items` on up to `threads` scoped threads, results in input order.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, 16).min(items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>())).collect();
        // A panicking evaluation is a bug; surface it rather than answer a partial result.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

fn wire_type(layer: Layer) -> PolicyType {
    match layer {
        Layer::Scp => PolicyType::ServiceControlPolicy,
        Layer::Rcp => PolicyType::ResourceControlPolicy,
    }
}

/// Validates proposed content as CreatePolicy/UpdatePolicy would, then compiles it.
fn validate_and_compile(config: &CoreConfig, field: &str, t: PolicyType, id: &str, arn: &str, content: &str) -> Result<Arc<CompiledPolicy>, ApiError> {
    let options = engine::ValidationOptions {
        legacy_scp_grammar: config.legacy_scp_grammar,
        limits: config.policy_limits.clone(),
        ..Default::default()
    };
    let engine_type = engine::PolicyType::from_wire(t.as_str()).ok_or_else(|| bad(field, "unknown policy type"))?;
    let invalid = |e: engine::PolicyError| {
        let code = match e {
            engine::PolicyError::ContentLimitExceeded { .. } => ErrorCode::ConstraintViolationException,
            _ => ErrorCode::MalformedPolicyDocumentException,
        };
        ApiError::new(code, format!("{field}: {e}"))
    };
    engine::validate(engine_type, content, &options).map_err(invalid)?;
    compiled(id, arn, content).map_err(invalid)
}

// ---------------------------------------------------------------------------------------------
// Enforcement on Canopy's own API

/// What runs before any Organizations operation: a closing or closed member account is refused
/// (AccessDenied), then the SCP check of a member account's call to `op` (§3.11:
/// `organizations:<Operation>`, as AWS does) and the caller's session policy, if it has one.
/// The management account, accounts outside any organization and organizations without SCPs
/// enabled pass the SCP check; a deny answers AccessDeniedException in AWS's wording, naming
/// the denying policy's ARN.
///
/// The membership it reads is handed to the operation (the returned guard keeps it for the
/// operation's first `access::membership` call until the closure ends), so the check costs a
/// management caller nothing more.
pub(crate) fn enforce(tx: &mut dyn Tx, env: &Env, caller: &Caller, op: Operation) -> Result<access::Prefetched, OpError> {
    let running = access::begin(op, env);
    let member = access::membership(tx, caller)?;
    if let Some(m) = &member {
        // A closed account is suspended: it keeps no rights (delegated administration, a
        // resource policy's grants) and can call nothing.
        crate::ops::organization::refuse_closed_caller(&m.account)?;
    }
    // Checked first so that a management caller without a session policy formats nothing.
    if checks_apply(env, member.as_ref(), caller.session.as_ref()) {
        let action = format!("organizations:{}", op.name());
        if let Some(message) = denial(tx, env, member.as_ref(), &Signer::of_caller(caller), &[&action], "*", RequestContext::new())? {
            return Err(ApiError::new(ErrorCode::AccessDeniedException, message).into());
        }
    }
    access::prefetch(caller, member);
    Ok(running)
}

/// The checks of a principal's request to another service on Canopy's port (STS): the SCPs in
/// force on its account, then its session policy, for each of `actions` in turn. `Some(message)`
/// in AWS's wording for the first they deny on `resource`; `extra` adds request keys
/// (`aws:RequestTag/*`, say).
pub(crate) fn denial_for(
    tx: &mut dyn Tx,
    env: &Env,
    principal: &crate::identity::Principal,
    actions: &[&str],
    resource: &str,
    source_ip: Option<IpAddr>,
    extra: RequestContext,
) -> Result<Option<String>, OpError> {
    let caller = Caller::root(principal.account_id.clone(), principal.partition.clone(), "", "");
    let member = access::membership(tx, &caller)?;
    let signer = Signer::of_principal(principal, source_ip);
    denial(tx, env, member.as_ref(), &signer, actions, resource, extra)
}

/// The policy engine's name for a kind of signing principal.
fn kind_of(t: PrincipalType) -> PrincipalKind {
    match t {
        PrincipalType::Root => PrincipalKind::Root,
        PrincipalType::IamUser => PrincipalKind::IamUser,
        PrincipalType::AssumedRole => PrincipalKind::AssumedRole,
    }
}

/// Who signed a request, and what the server knows about it: the inputs of the request
/// context that every check on Canopy's port evaluates.
struct Signer<'a> {
    principal: Principal,
    /// GetCallerIdentity's UserId (`aws:userid`).
    user_id: &'a str,
    /// When the session's credentials were issued (`aws:TokenIssueTime`); `None` for long-term keys.
    token_issued_ms: Option<i64>,
    /// An AssumeRole session's policy, tags (`aws:PrincipalTag/*`) and source identity.
    session: Option<&'a SessionFacts>,
    /// Names the session policy in the compile cache (which also compares the text).
    policy_cache_key: &'a str,
    /// The signing region (`aws:RequestedRegion`), where the action is regional.
    region: Option<&'a str>,
    /// The client's address (`aws:SourceIp`).
    source_ip: Option<IpAddr>,
}

impl<'a> Signer<'a> {
    fn of_caller(caller: &'a Caller) -> Self {
        // The principal the server resolved from the credential (the root user for dev auth's
        // plain keys), so conditions on aws:PrincipalArn / aws:PrincipalType see who calls.
        Signer {
            principal: Principal { arn: caller.principal_arn.clone(), account: Some(caller.account_id.clone()), kind: kind_of(caller.principal_type) },
            user_id: &caller.user_id,
            token_issued_ms: caller.token_issued_ms,
            session: caller.session.as_ref(),
            policy_cache_key: &caller.access_key_id,
            region: Some(&caller.region),
            source_ip: caller.source_ip,
        }
    }

    fn of_principal(principal: &'a crate::identity::Principal, source_ip: Option<IpAddr>) -> Self {
        let kind = kind_of(principal.principal_type());
        Signer {
            principal: Principal { arn: principal.arn(), account: Some(principal.account_id.clone()), kind },
            user_id: &principal.user_id,
            token_issued_ms: principal.token_issued_ms,
            session: principal.session.as_ref(),
            policy_cache_key: &principal.user_id,
            region: None,
            source_ip,
        }
    }

    /// The keys AWS puts on every request (policy-semantics §3.8) that the server knows, added
    /// to `context`.
    fn context(&self, env: &Env, mut context: RequestContext) -> RequestContext {
        // The time, that the request came over plain HTTP, and the client's address.
        let now_ms = env.clock.now_ms();
        context.insert("aws:CurrentTime", crate::clock::iso8601(now_ms));
        context.insert("aws:EpochTime", now_ms.div_euclid(1000).to_string());
        context.insert("aws:SecureTransport", "false");
        if let Some(region) = self.region.filter(|r| !r.is_empty()) {
            context.insert("aws:RequestedRegion", region);
        }
        if let Some(ip) = self.source_ip {
            context.insert("aws:SourceIp", ip.to_string());
        }
        // Who signed, beyond what the principal's ARN tells (the engine derives aws:PrincipalArn,
        // aws:PrincipalType and aws:PrincipalAccount from it).
        context.insert("aws:userid", self.user_id);
        if self.principal.kind == PrincipalKind::IamUser {
            if let Some(name) = self.principal.arn.rsplit('/').next() {
                context.insert("aws:username", name);
            }
        }
        // Temporary credentials: when they were issued, and that they were issued without MFA
        // (Canopy's AssumeRole takes no MFA); long-term keys carry neither key.
        if let Some(issued_ms) = self.token_issued_ms {
            context.insert("aws:TokenIssueTime", crate::clock::iso8601(issued_ms));
            context.insert("aws:MultiFactorAuthPresent", "false");
        }
        if let Some(session) = self.session {
            for (key, value) in &session.tags {
                context.insert(format!("aws:PrincipalTag/{key}"), value.as_str());
            }
            if let Some(source) = &session.source_identity {
                context.insert("aws:SourceIdentity", source.as_str());
            }
        }
        context
    }
}

/// The member whose account's SCPs judge the request: a member of an organization, not its
/// management account, while SCPs are enforced.
fn scp_subject<'m>(env: &Env, member: Option<&'m access::Member>) -> Option<&'m access::Member> {
    member.filter(|m| env.config.enforce_scps && !m.is_management())
}

/// Whether any check applies to a request: its account's SCPs, or its session's policy.
fn checks_apply(env: &Env, member: Option<&access::Member>, session: Option<&SessionFacts>) -> bool {
    scp_subject(env, member).is_some() || session.is_some_and(|s| s.policy.is_some())
}

/// The SCPs in force on a member's account (see [`scp_subject`]), then the signer's session
/// policy, for each of `actions` in turn: the message of the first denial on `resource`. The
/// policies and the request context are read once for all the actions.
fn denial(
    tx: &mut dyn Tx,
    env: &Env,
    member: Option<&access::Member>,
    signer: &Signer<'_>,
    actions: &[&str],
    resource: &str,
    extra: RequestContext,
) -> Result<Option<String>, OpError> {
    if !checks_apply(env, member, signer.session) {
        return Ok(None);
    }
    let path = match member {
        Some(m) => Some(principal_path(tx, m)?),
        None => None,
    };
    let scps = match (scp_subject(env, member), &path) {
        (Some(m), Some(path)) => scp_levels(tx, m, path)?,
        _ => None,
    };
    let session = match signer.session.and_then(|s| s.policy.as_deref()) {
        Some(policy) => Some(session_policy_levels(member, signer, policy, path)?),
        None => None,
    };
    let context = signer.context(env, extra);
    for action in actions {
        let request = AuthzRequest {
            principal: signer.principal.clone(),
            action: action.to_string(),
            resource: resource.to_string(),
            resource_account: None,
            context: context.clone(),
        };
        if let Some((view, levels)) = &scps {
            if let Some(message) = scp_verdict(view, levels, &request) {
                return Ok(Some(message));
            }
        }
        if let Some((view, levels)) = &session {
            if let Some(message) = session_policy_verdict(view, levels, &request) {
                return Ok(Some(message));
            }
        }
    }
    Ok(None)
}

/// `… on resource: arn …` where the action is on one, as AWS words its denials.
fn on_resource(resource: &str) -> String {
    if resource == "*" {
        String::new()
    } else {
        format!(" on resource: {resource}")
    }
}

/// A session policy limits its session to what it allows: an action it does not allow, or
/// denies, is refused whatever the role may do (the roles CreateAccount makes may do anything).
/// It is judged as one SCP level (it must allow, and a deny in it wins) in a view whose
/// management account is nobody, so nothing is exempt; the account's real place in its
/// organization (`path`) gives aws:PrincipalOrgID / aws:PrincipalOrgPaths.
fn session_policy_levels(
    member: Option<&access::Member>,
    signer: &Signer<'_>,
    policy: &str,
    path: Option<Vec<PathNode>>,
) -> Result<(OrgView, Vec<LevelPolicies>), OpError> {
    let key = format!("session-policy/{}", signer.policy_cache_key);
    let compiled = cached(&key, policy, || CompiledPolicy::compile_session("session-policy", policy))
        .map_err(|e| OpError::Store(StoreError::Corrupt(format!("a stored session policy does not compile: {e}"))))?;
    let account = signer.principal.account.clone().unwrap_or_default();
    let levels = vec![LevelPolicies { target_id: account.clone(), target_type: TargetType::Account, policies: vec![compiled] }];
    let view = OrgView {
        org_id: member.map(|m| m.org.id.clone()),
        management_account: String::new(),
        enabled_policy_types: vec![engine::PolicyType::ServiceControlPolicy],
        principal_path: Some(path.unwrap_or_else(|| vec![PathNode::new(account, TargetType::Account)])),
        resource_path: None,
    };
    Ok((view, levels))
}

fn session_policy_verdict(view: &OrgView, levels: &[LevelPolicies], request: &AuthzRequest) -> Option<String> {
    // No SCP exemptions: a session policy limits every action of its session.
    let opts = EvalOptions { caller_context_wins: false, scp_root_exempt_actions: Vec::new(), scp_exempt_services: Some(Vec::new()), ..EvalOptions::default() };
    let d = engine::evaluate_with(Layer::Scp, view, levels, request, &opts);
    let (principal_arn, action, on) = (&request.principal.arn, &request.action, on_resource(&request.resource));
    match d.decision {
        Outcome::ExplicitDeny => Some(format!("User: {principal_arn} is not authorized to perform: {action}{on} with an explicit deny in a session policy")),
        Outcome::ImplicitDeny => Some(format!(
            "User: {principal_arn} is not authorized to perform: {action}{on} because no session policy allows the {action} action"
        )),
        Outcome::Allow | Outcome::NotApplicable => None,
    }
}

/// The member account's path in its organization: root, OUs, the account.
fn principal_path(tx: &mut dyn Tx, member: &access::Member) -> Result<Vec<PathNode>, OpError> {
    let mut ids = match member.account.parent_id.as_deref() {
        Some(parent) => tree::chain_to(tx, parent)?,
        None => Vec::new(),
    };
    ids.push(member.account.id.clone());
    Ok(ids.into_iter().map(|id| {
        let t = Snapshot::node_type(&id);
        PathNode::new(id, t)
    }).collect())
}

/// The SCPs on the member account's path (`path`, root first), with the view they are judged
/// in; `None` when none apply (SCPs not enabled in the root, or an account not yet placed).
fn scp_levels(tx: &mut dyn Tx, member: &access::Member, path: &[PathNode]) -> Result<Option<(OrgView, Vec<LevelPolicies>)>, OpError> {
    let org = &member.org;
    let root = tree::root_of(tx, &org.id)?;
    if !root.enabled_policy_types.contains(&PolicyType::ServiceControlPolicy) || member.account.parent_id.is_none() {
        return Ok(None);
    }
    let mut levels = Vec::with_capacity(path.len());
    for node in path {
        let rows = attachments::list_by_target(tx, &org.id, &root.enabled_policy_types, &node.id, Some(PolicyType::ServiceControlPolicy), None, 1000)?;
        let mut policies = Vec::with_capacity(rows.len());
        for a in rows {
            match crate::ops::policy::find_policy(tx, org, &a.policy_id) {
                Ok(p) => policies.push(compile_stored(org, &p)?),
                Err(OpError::Api(_)) => tracing::warn!(policy = %a.policy_id, "attachment of a missing policy"),
                Err(e) => return Err(e),
            }
        }
        levels.push(LevelPolicies { target_id: node.id.clone(), target_type: node.target_type, policies });
    }
    let view = OrgView {
        org_id: Some(org.id.clone()),
        management_account: org.management_account_id.clone(),
        enabled_policy_types: vec![engine::PolicyType::ServiceControlPolicy],
        principal_path: Some(path.to_vec()),
        resource_path: None,
    };
    Ok(Some((view, levels)))
}

/// The SCPs' verdict on one request: `Some(message)` when they deny it (explicitly, or for want
/// of an Allow at some level).
fn scp_verdict(view: &OrgView, levels: &[LevelPolicies], request: &AuthzRequest) -> Option<String> {
    // The context comes from the server, not from a simulation: derived keys win.
    let opts = EvalOptions { caller_context_wins: false, ..EvalOptions::default() };
    let d = engine::evaluate_with(Layer::Scp, view, levels, request, &opts);
    let (principal_arn, action, on) = (&request.principal.arn, &request.action, on_resource(&request.resource));
    match d.decision {
        Outcome::ExplicitDeny => {
            let arn = d.deciding.as_ref().and_then(|x| x.statement.as_ref()).and_then(|s| s.policy_arn.clone()).unwrap_or_default();
            Some(format!("User: {principal_arn} is not authorized to perform: {action}{on} with an explicit deny in a service control policy: {arn}"))
        }
        Outcome::ImplicitDeny => Some(format!(
            "User: {principal_arn} is not authorized to perform: {action}{on} because no service control policy allows the {action} action"
        )),
        Outcome::Allow | Outcome::NotApplicable => None,
    }
}
