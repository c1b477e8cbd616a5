//! SCP/RCP authorization evaluator (spec §3.5–3.12).
//!
//! Compile each policy once ([`CompiledPolicy`]), describe the organization ([`OrgView`]) and
//! the policies attached along the path ([`LevelPolicies`], root first, attachment order), then
//! call [`evaluate`] per request. Pure: no I/O, no clock, never panics on user input.

mod arn;
mod combine;
mod compile;
pub(crate) mod cond;
pub(crate) mod context;
pub(crate) mod glob;
mod render;
pub(crate) mod vectors;

use crate::types::PolicyType;
use compile::{Miss, Prepared, PreparedAction};
use std::sync::Arc;

pub use combine::{combine, Combined, DecidingLayer};
pub use compile::CompiledPolicy;
pub use context::{ContextValue, RequestContext};

/// The guardrail layer being evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Service control policies: the path of the **principal's** account.
    Scp,
    /// Resource control policies: the path of the account that **owns the resource**.
    Rcp,
}

impl Layer {
    pub fn policy_type(self) -> PolicyType {
        match self {
            Layer::Scp => PolicyType::ServiceControlPolicy,
            Layer::Rcp => PolicyType::ResourceControlPolicy,
        }
    }

    /// `"SCP"` / `"RCP"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Scp => "SCP",
            Layer::Rcp => "RCP",
        }
    }

    /// Accepts `SCP`/`RCP` (any case) and the policy type names.
    pub fn parse(s: &str) -> Option<Layer> {
        match s.to_ascii_uppercase().as_str() {
            "SCP" | "SERVICE_CONTROL_POLICY" => Some(Layer::Scp),
            "RCP" | "RESOURCE_CONTROL_POLICY" => Some(Layer::Rcp),
            _ => None,
        }
    }
}

/// Kind of an organization node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    Root,
    OrganizationalUnit,
    Account,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Root => "ROOT",
            TargetType::OrganizationalUnit => "ORGANIZATIONAL_UNIT",
            TargetType::Account => "ACCOUNT",
        }
    }

    pub fn parse(s: &str) -> Option<TargetType> {
        match s {
            "ROOT" => Some(TargetType::Root),
            "ORGANIZATIONAL_UNIT" => Some(TargetType::OrganizationalUnit),
            "ACCOUNT" => Some(TargetType::Account),
            _ => None,
        }
    }
}

/// One node of a path root → OUs → account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathNode {
    pub id: String,
    pub target_type: TargetType,
}

impl PathNode {
    pub fn new(id: impl Into<String>, target_type: TargetType) -> Self {
        PathNode {
            id: id.into(),
            target_type,
        }
    }
}

/// What the evaluator needs to know about the organization. A server fills it from its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgView {
    /// `o-...`; needed to derive `aws:PrincipalOrgID` / `aws:ResourceOrgID` and the org paths.
    pub org_id: Option<String>,
    /// The management account id (its principals are SCP-exempt, its resources RCP-exempt).
    pub management_account: String,
    /// Policy types enabled in the root.
    pub enabled_policy_types: Vec<PolicyType>,
    /// Path root → account of the principal's account, when that account is in this
    /// organization. `None` means the principal is outside the organization (SCPs do not apply).
    pub principal_path: Option<Vec<PathNode>>,
    /// Path root → account of the resource owner, when it is in this organization.
    pub resource_path: Option<Vec<PathNode>>,
}

/// Kind of caller (vector spelling in [`PrincipalKind::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    IamUser,
    AssumedRole,
    ServiceLinkedRole,
    /// An AWS service principal (`arn` holds the service name, e.g. `cloudtrail.amazonaws.com`).
    AwsService,
    /// The account's root user.
    Root,
    FederatedUser,
    Anonymous,
}

impl PrincipalKind {
    /// `IAMUser`, `AssumedRole`, `ServiceLinkedRole`, `AWSService`, `Root`, `FederatedUser`,
    /// `Anonymous`.
    pub fn parse(s: &str) -> Option<PrincipalKind> {
        Some(match s {
            "IAMUser" => PrincipalKind::IamUser,
            "AssumedRole" => PrincipalKind::AssumedRole,
            "ServiceLinkedRole" => PrincipalKind::ServiceLinkedRole,
            "AWSService" => PrincipalKind::AwsService,
            "Root" => PrincipalKind::Root,
            "FederatedUser" => PrincipalKind::FederatedUser,
            "Anonymous" => PrincipalKind::Anonymous,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::IamUser => "IAMUser",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::ServiceLinkedRole => "ServiceLinkedRole",
            PrincipalKind::AwsService => "AWSService",
            PrincipalKind::Root => "Root",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Anonymous => "Anonymous",
        }
    }
}

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub arn: String,
    /// The caller's account; when `None` it is read from the ARN's account field.
    pub account: Option<String>,
    pub kind: PrincipalKind,
}

impl Principal {
    /// The principal's account id (explicit, else from the ARN).
    pub fn account(&self) -> Option<&str> {
        if let Some(a) = &self.account {
            return Some(a);
        }
        if matches!(
            self.kind,
            PrincipalKind::AwsService | PrincipalKind::Anonymous
        ) {
            return None;
        }
        self.arn.split(':').nth(4).filter(|a| !a.is_empty())
    }

    /// Service-linked role: by kind or by the `/aws-service-role/` role path.
    pub fn is_service_linked_role(&self) -> bool {
        self.kind == PrincipalKind::ServiceLinkedRole
            || self.arn.contains(":role/aws-service-role/")
    }
}

/// One request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzRequest {
    pub principal: Principal,
    /// `service:Action`.
    pub action: String,
    /// The resource ARN, or `"*"` for actions that take no resource.
    pub resource: String,
    /// Account that owns the resource.
    pub resource_account: Option<String>,
    /// Caller-supplied condition keys; organization keys are derived (§3.8).
    pub context: RequestContext,
}

impl AuthzRequest {
    /// The account an ARN names in its account field (`arn:aws:sqs:us-east-1:111122223333:q`),
    /// when that is 12 digits: the resource's owner when the request gives none. S3 bucket and
    /// object ARNs name no account.
    pub fn arn_account(resource: &str) -> Option<&str> {
        let account = resource.strip_prefix("arn:")?.split(':').nth(3)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    }
}

/// The policies of the layer attached to one path node, in attachment order.
#[derive(Debug, Clone)]
pub struct LevelPolicies {
    pub target_id: String,
    pub target_type: TargetType,
    pub policies: Vec<Arc<CompiledPolicy>>,
}

/// Evaluation switches. `Default` is the spec's behaviour.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Derive organization keys (§3.8) from the [`OrgView`] and request. Default true.
    pub derive_keys: bool,
    /// Caller-supplied context values win over derived ones (simulation mode). Default true;
    /// set false when the context comes from an untrusted caller.
    pub caller_context_wins: bool,
    /// Record element-level detail (per action/resource entry, per condition values) for every
    /// statement. Default false (the summary still says which part failed).
    pub detail: bool,
    /// Build the per-level explanation (`explanation.levels`). Default true; false answers the
    /// decision, reason, deciding statement and allow path only, for bulk evaluation (probes
    /// over every account, what-if). Ignored when `detail` is set.
    pub explain: bool,
    /// Skip RCPs for requests without a resource (`"*"`), spec §9.10. Default true.
    pub rcp_skip_without_resource: bool,
    /// Service prefixes subject to RCPs; `None` = [`RCP_SUPPORTED_SERVICES`].
    pub rcp_supported_services: Option<Vec<String>>,
    /// Actions RCPs never restrict; `None` = [`RCP_EXEMPT_ACTIONS`].
    pub rcp_exempt_actions: Option<Vec<String>>,
    /// Action patterns a member account's root user may always perform (§3.10.1 root tasks).
    /// Default empty.
    pub scp_root_exempt_actions: Vec<String>,
    /// Service prefixes outside the IAM model that SCPs never restrict; `None` =
    /// [`SCP_EXEMPT_SERVICES`].
    pub scp_exempt_services: Option<Vec<String>>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            derive_keys: true,
            caller_context_wins: true,
            detail: false,
            explain: true,
            rcp_skip_without_resource: true,
            rcp_supported_services: None,
            rcp_exempt_actions: None,
            scp_root_exempt_actions: Vec::new(),
            scp_exempt_services: None,
        }
    }
}

/// Service prefixes subject to RCPs (spec §3.10.2, mid-2026).
pub const RCP_SUPPORTED_SERVICES: &[&str] = &[
    "appstream",
    "dsql",
    "clouddirectory",
    "cloudfront",
    "cloudsearch",
    "logs",
    "networkmonitor",
    "cognito-identity",
    "cognito-idp",
    "comprehend",
    "comprehendmedical",
    "firehose",
    "dynamodb",
    "dax",
    "autoscaling",
    "ecr",
    "ecr-public",
    "gamelift",
    "inspector-scan",
    "kendra",
    "kinesisvideo",
    "memorydb",
    "aoss",
    "personalize",
    "polly",
    "s3",
    "swf",
    "sqs",
    "textract",
    "timestream-influxdb",
    "transcribe",
    "translate",
    "workspaces",
    "appconfig",
    "autoscaling-plans",
    "budgets",
    "servicediscovery",
    "cloudtrail-data",
    "codeartifact",
    "codebuild",
    "codecommit",
    "codepipeline",
    "compute-optimizer",
    "cost-optimization-hub",
    "events",
    "fms",
    "fis",
    "health",
    "rolesanywhere",
    "kms",
    "opensearch",
    "pricing",
    "pca-connector-ad",
    "resource-groups",
    "secretsmanager",
    "sts",
    "signin",
    "support",
    "transfer",
    "notifications",
    "wafv2",
    "xray",
];

/// Actions RCPs never restrict (§3.10.2).
pub const RCP_EXEMPT_ACTIONS: &[&str] = &["kms:RetireGrant"];

/// Service prefixes outside the normal IAM model that SCPs never restrict (§3.10.1), an emulator decision:
/// Amazon Mechanical Turk, Alexa Web Information Service, Alexa Top Sites, Product Advertising
/// API.
pub const SCP_EXEMPT_SERVICES: &[&str] = &[
    "mechanicalturk",
    "awis",
    "alexatopsites",
    "productadvertisingapi",
];

/// Decision of one layer (spec §0 vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
    /// The layer does not filter this request (type not enabled, exempt, unsupported service).
    NotApplicable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "Allow",
            Outcome::ImplicitDeny => "ImplicitDeny",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::NotApplicable => "NotApplicable",
        }
    }
}

/// Why the layer decided as it did. The first eight are the spec's vocabulary (§0); the others
/// are Canopy extensions for exemptions the vectors do not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    AllowedAtEveryLevel,
    NoMatchingAllowAtLevel,
    ExplicitDeny,
    PolicyTypeNotEnabled,
    ManagementAccountExempt,
    ManagementAccountResourceExempt,
    ServiceLinkedRoleExempt,
    ServiceNotSupportedByRcps,
    /// SCP: an AWS service principal is not an IAM principal of the account.
    AwsServicePrincipalExempt,
    /// SCP: the principal's account is not in the organization.
    PrincipalOutsideOrganization,
    /// SCP: a root-user task on the configured allow-list.
    RootTaskExempt,
    /// SCP: a service outside the normal IAM model.
    ServiceExemptFromScps,
    /// RCP: an action RCPs never restrict (`kms:RetireGrant`).
    ActionExemptFromRcps,
    /// RCP: the action authorizes no resource (§9.10).
    NoResource,
    /// RCP: the resource's account is not in the organization.
    ResourceOutsideOrganization,
    /// RCP: the request names no resource account, and the resource ARN names none either (an
    /// S3 ARN): whose RCPs apply is unknown.
    ResourceOwnerUnknown,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AllowedAtEveryLevel => "allowed_at_every_level",
            Reason::NoMatchingAllowAtLevel => "no_matching_allow_at_level",
            Reason::ExplicitDeny => "explicit_deny",
            Reason::PolicyTypeNotEnabled => "policy_type_not_enabled",
            Reason::ManagementAccountExempt => "management_account_exempt",
            Reason::ManagementAccountResourceExempt => "management_account_resource_exempt",
            Reason::ServiceLinkedRoleExempt => "service_linked_role_exempt",
            Reason::ServiceNotSupportedByRcps => "service_not_supported_by_rcps",
            Reason::AwsServicePrincipalExempt => "aws_service_principal_exempt",
            Reason::PrincipalOutsideOrganization => "principal_outside_organization",
            Reason::RootTaskExempt => "root_task_exempt",
            Reason::ServiceExemptFromScps => "service_exempt_from_scps",
            Reason::ActionExemptFromRcps => "action_exempt_from_rcps",
            Reason::NoResource => "no_resource",
            Reason::ResourceOutsideOrganization => "resource_outside_organization",
            Reason::ResourceOwnerUnknown => "resource_owner_unknown",
        }
    }
}

/// Statement effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// A statement on a path node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    pub target_id: String,
    pub policy_id: String,
    pub policy_arn: Option<String>,
    /// 0-based; a single statement object is index 0.
    pub statement_index: usize,
    pub sid: Option<String>,
}

/// What decided: for `ExplicitDeny` the root-most matching Deny (then attachment order, then
/// statement order); for `ImplicitDeny` the root-most node without a matching Allow
/// (`statement` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deciding {
    pub target_id: String,
    pub statement: Option<StatementRef>,
}

/// The layer's answer with its explanation.
#[derive(Debug, Clone)]
pub struct Decision {
    pub layer: Layer,
    pub decision: Outcome,
    pub reason: Reason,
    pub deciding: Option<Deciding>,
    /// For `Allow`: per node, the first matching Allow statement (attachment order).
    pub allow_path: Vec<StatementRef>,
    pub explanation: Explanation,
}

/// Per-level analysis plus the condition keys the engine derived (§3.8); conditions saw the
/// caller's context merged with these ([`EvalOptions::caller_context_wins`] decides ties).
#[derive(Debug, Clone, Default)]
pub struct Explanation {
    pub levels: Vec<LevelExplanation>,
    pub derived_context: RequestContext,
}

/// The analysis of one path node.
#[derive(Debug, Clone)]
pub struct LevelExplanation {
    pub target_id: String,
    pub target_type: TargetType,
    /// `ExplicitDeny` if a Deny matched here, `Allow` if an Allow did, else `ImplicitDeny`.
    pub result: Outcome,
    policies: Vec<Arc<CompiledPolicy>>,
    /// Results of the statements that were evaluated, in (policy, statement) order; the others
    /// could not match the action (skipped through the policy's action index).
    statements: Vec<StatementResult>,
}

#[derive(Debug, Clone)]
struct StatementResult {
    policy: u32,
    statement: u32,
    miss: Option<Miss>,
    detail: Option<Box<StatementDetail>>,
}

/// The part of a statement that did not match the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch<'a> {
    Action,
    Resource,
    Principal,
    /// The first condition (in document order) that evaluated false.
    Condition {
        operator: &'a str,
        key: &'a str,
    },
}

impl Mismatch<'_> {
    pub fn part(&self) -> &'static str {
        match self {
            Mismatch::Action => "action",
            Mismatch::Resource => "resource",
            Mismatch::Principal => "principal",
            Mismatch::Condition { .. } => "condition",
        }
    }
}

/// One statement's result on a level.
#[derive(Debug, Clone, Copy)]
pub struct StatementView<'a> {
    pub policy: &'a CompiledPolicy,
    pub statement_index: usize,
    pub effect: Effect,
    pub sid: Option<&'a str>,
    /// `None` when the statement matched.
    pub mismatch: Option<Mismatch<'a>>,
    /// Element-level detail when [`EvalOptions::detail`] was set.
    pub detail: Option<&'a StatementDetail>,
}

impl StatementView<'_> {
    pub fn matched(&self) -> bool {
        self.mismatch.is_none()
    }
}

impl LevelExplanation {
    /// Every statement of every policy on the node, in attachment then statement order.
    pub fn statements(&self) -> impl Iterator<Item = StatementView<'_>> {
        let results = &self.statements;
        let mut cursor = 0usize;
        self.policies
            .iter()
            .enumerate()
            .flat_map(|(pi, policy)| {
                policy
                    .statements
                    .iter()
                    .enumerate()
                    .map(move |(si, st)| (pi as u32, si as u32, st, &**policy))
            })
            .map(move |(pi, si, st, policy)| {
                while cursor < results.len()
                    && (results[cursor].policy, results[cursor].statement) < (pi, si)
                {
                    cursor += 1;
                }
                let r = results
                    .get(cursor)
                    .filter(|r| r.policy == pi && r.statement == si);
                let mismatch = match r {
                    None => Some(Mismatch::Action),
                    Some(r) => r.miss.map(|m| match m {
                        Miss::Action => Mismatch::Action,
                        Miss::Resource => Mismatch::Resource,
                        Miss::Principal => Mismatch::Principal,
                        Miss::Condition(i) => match st
                            .conditions
                            .get(i as usize)
                            .and_then(|ci| policy.conditions.get(*ci as usize))
                        {
                            Some(c) => Mismatch::Condition {
                                operator: &c.op_text,
                                key: &c.key_text,
                            },
                            None => Mismatch::Action,
                        },
                    }),
                };
                StatementView {
                    policy,
                    statement_index: si as usize,
                    effect: st.effect,
                    sid: st.sid.as_deref(),
                    mismatch,
                    detail: r.and_then(|r| r.detail.as_deref()),
                }
            })
    }

    /// Matching Allow statements.
    pub fn allow_statements(&self) -> impl Iterator<Item = StatementView<'_>> {
        self.statements()
            .filter(|s| s.matched() && s.effect == Effect::Allow)
    }

    /// Matching Deny statements.
    pub fn deny_statements(&self) -> impl Iterator<Item = StatementView<'_>> {
        self.statements()
            .filter(|s| s.matched() && s.effect == Effect::Deny)
    }

    /// Statements that did not match, with the failing part.
    pub fn unmatched_statements(&self) -> impl Iterator<Item = StatementView<'_>> {
        self.statements().filter(|s| !s.matched())
    }
}

/// Element-level explain of one statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementDetail {
    pub not_action: bool,
    pub actions: Vec<ActionEntry>,
    /// The Action/NotAction element as a whole.
    pub action_matched: bool,
    pub not_resource: bool,
    pub resources: Vec<ResourceEntry>,
    pub resource_matched: bool,
    /// `None` when the statement has no Principal element (SCPs).
    pub principal_matched: Option<bool>,
    /// Every condition, evaluated only when action, resource and principal matched.
    pub conditions: Vec<ConditionExplanation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionEntry {
    pub pattern: String,
    pub matched: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceEntry {
    pub pattern: String,
    /// The pattern after variable substitution, when it had variables that resolved.
    pub resolved: Option<String>,
    pub matched: bool,
    pub unresolved_variable: bool,
}

/// One condition's evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionExplanation {
    pub operator: String,
    pub key: String,
    /// `None` when the key is absent from the request.
    pub request_values: Option<Vec<String>>,
    /// Policy values after variable substitution.
    pub policy_values: Vec<String>,
    /// Per request value: did it satisfy the operator?
    pub request_value_results: Vec<bool>,
    pub matched: bool,
    pub matched_because_missing: bool,
    pub failed_because_missing: bool,
    pub failed_because_multivalued: bool,
    pub unresolved_variable: bool,
}

fn not_applicable(layer: Layer, reason: Reason, derived_context: RequestContext) -> Decision {
    Decision {
        layer,
        decision: Outcome::NotApplicable,
        reason,
        deciding: None,
        allow_path: Vec::new(),
        explanation: Explanation {
            levels: Vec::new(),
            derived_context,
        },
    }
}

fn in_list(list: &Option<Vec<String>>, default: &[&str], item: &str) -> bool {
    match list {
        Some(l) => l.iter().any(|s| s.eq_ignore_ascii_case(item)),
        None => default.iter().any(|s| s.eq_ignore_ascii_case(item)),
    }
}

fn exemption(
    layer: Layer,
    org: &OrgView,
    req: &AuthzRequest,
    opts: &EvalOptions,
    action: &PreparedAction,
) -> Option<Reason> {
    let p = &req.principal;
    match layer {
        Layer::Scp => {
            if p.account().is_some_and(|a| a == org.management_account) {
                return Some(Reason::ManagementAccountExempt);
            }
            if p.is_service_linked_role() {
                return Some(Reason::ServiceLinkedRoleExempt);
            }
            if p.kind == PrincipalKind::AwsService {
                return Some(Reason::AwsServicePrincipalExempt);
            }
            let in_org = p.account().is_some() && org.principal_path.is_some();
            if !in_org {
                return Some(Reason::PrincipalOutsideOrganization);
            }
            if p.kind == PrincipalKind::Root
                && opts.scp_root_exempt_actions.iter().any(|pat| {
                    glob::Glob::new(&pat.to_ascii_lowercase()).is_match(action.lc.as_bytes())
                })
            {
                return Some(Reason::RootTaskExempt);
            }
            if in_list(
                &opts.scp_exempt_services,
                SCP_EXEMPT_SERVICES,
                action.service(),
            ) {
                return Some(Reason::ServiceExemptFromScps);
            }
            None
        }
        Layer::Rcp => {
            if req
                .resource_account
                .as_deref()
                .is_some_and(|a| a == org.management_account)
            {
                return Some(Reason::ManagementAccountResourceExempt);
            }
            if p.is_service_linked_role() {
                return Some(Reason::ServiceLinkedRoleExempt);
            }
            if !in_list(
                &opts.rcp_supported_services,
                RCP_SUPPORTED_SERVICES,
                action.service(),
            ) {
                return Some(Reason::ServiceNotSupportedByRcps);
            }
            if in_list(&opts.rcp_exempt_actions, RCP_EXEMPT_ACTIONS, &action.lc) {
                return Some(Reason::ActionExemptFromRcps);
            }
            if opts.rcp_skip_without_resource && req.resource == "*" {
                return Some(Reason::NoResource);
            }
            if req.resource_account.is_none() {
                return Some(Reason::ResourceOwnerUnknown);
            }
            if org.resource_path.is_none() {
                return Some(Reason::ResourceOutsideOrganization);
            }
            None
        }
    }
}

/// Evaluate one layer with the default [`EvalOptions`].
///
/// `levels` is the layer's path, root first: for [`Layer::Scp`] the principal's account path,
/// for [`Layer::Rcp`] the resource owner's, each with its policies of that layer in attachment
/// order.
pub fn evaluate(
    layer: Layer,
    org: &OrgView,
    levels: &[LevelPolicies],
    request: &AuthzRequest,
) -> Decision {
    evaluate_with(layer, org, levels, request, &EvalOptions::default())
}

/// [`evaluate`] with explicit options.
pub fn evaluate_with(
    layer: Layer,
    org: &OrgView,
    levels: &[LevelPolicies],
    request: &AuthzRequest,
    opts: &EvalOptions,
) -> Decision {
    if !org.enabled_policy_types.contains(&layer.policy_type()) {
        return not_applicable(layer, Reason::PolicyTypeNotEnabled, RequestContext::new());
    }
    let action = PreparedAction::new(&request.action);
    let exempt = exemption(layer, org, request, opts, &action);
    // An exempt layer needs the derived keys only to show them.
    let derive = opts.derive_keys && (exempt.is_none() || opts.explain || opts.detail);
    let derived = if derive {
        context::derive_keys(org, request)
    } else {
        RequestContext::new()
    };
    if let Some(r) = exempt {
        return not_applicable(layer, r, derived);
    }
    let ctx = context::Context::new(&request.context, &derived, opts.caller_context_wins);
    let prepared = Prepared {
        req: request,
        action,
        resource: arn::ArnParts::new(&request.resource),
        ctx: &ctx,
    };
    let mut first_deny: Option<(usize, usize, usize)> = None;
    let mut first_gap: Option<usize> = None;
    let mut allow_at: Vec<(usize, usize, usize)> = Vec::with_capacity(levels.len());
    let mut out_levels = Vec::with_capacity(levels.len());
    let service = prepared.action.service().to_string();
    let mut memo: Vec<u8> = Vec::new();
    let explain = opts.explain || opts.detail;
    let mut shared = cond::SharedConditions::default();
    'levels: for (li, level) in levels.iter().enumerate() {
        let cap: usize = level
            .policies
            .iter()
            .map(|p| {
                if opts.detail {
                    p.statements.len()
                } else {
                    p.candidates(&service).len()
                }
            })
            .sum();
        let mut results = Vec::with_capacity(if explain { cap } else { 0 });
        let mut node_allow: Option<(usize, usize)> = None;
        let mut node_deny = false;
        for (pi, policy) in level.policies.iter().enumerate() {
            memo.clear();
            memo.resize(policy.memo_len(), 0);
            let all: Vec<u32>;
            let candidates: &[u32] = if opts.detail {
                all = (0..policy.statements.len() as u32).collect();
                &all
            } else {
                policy.candidates(&service)
            };
            for &si in candidates {
                let Some(st) = policy.statements.get(si as usize) else {
                    continue;
                };
                let si = si as usize;
                let miss = st.check(&prepared, &policy.conditions, &mut memo, &mut shared);
                if miss.is_none() {
                    match st.effect {
                        Effect::Deny => {
                            node_deny = true;
                            if first_deny.is_none() {
                                first_deny = Some((li, pi, si));
                            }
                            // The root-most first Deny decides; without an explanation
                            // nothing else is needed.
                            if !explain {
                                break 'levels;
                            }
                        }
                        Effect::Allow => {
                            if node_allow.is_none() {
                                node_allow = Some((pi, si));
                            }
                        }
                    }
                }
                if !explain {
                    continue;
                }
                results.push(StatementResult {
                    policy: pi as u32,
                    statement: si as u32,
                    miss,
                    detail: opts
                        .detail
                        .then(|| Box::new(st.detail(&prepared, &policy.conditions))),
                });
            }
        }
        match node_allow {
            Some((pi, si)) => allow_at.push((li, pi, si)),
            None => {
                if first_gap.is_none() {
                    first_gap = Some(li);
                }
            }
        }
        if !explain {
            continue;
        }
        out_levels.push(LevelExplanation {
            target_id: level.target_id.clone(),
            target_type: level.target_type,
            result: if node_deny {
                Outcome::ExplicitDeny
            } else if node_allow.is_some() {
                Outcome::Allow
            } else {
                Outcome::ImplicitDeny
            },
            policies: level.policies.clone(),
            statements: results,
        });
    }
    let sref = |(li, pi, si): (usize, usize, usize)| -> StatementRef {
        let level = &levels[li];
        let policy = &level.policies[pi];
        StatementRef {
            target_id: level.target_id.clone(),
            policy_id: policy.id().to_string(),
            policy_arn: policy.arn().map(str::to_string),
            statement_index: si,
            sid: policy.sid(si).map(str::to_string),
        }
    };
    let (decision, reason, deciding, allow_path) = if let Some(d) = first_deny {
        let s = sref(d);
        (
            Outcome::ExplicitDeny,
            Reason::ExplicitDeny,
            Some(Deciding {
                target_id: s.target_id.clone(),
                statement: Some(s),
            }),
            Vec::new(),
        )
    } else if let Some(g) = first_gap {
        (
            Outcome::ImplicitDeny,
            Reason::NoMatchingAllowAtLevel,
            Some(Deciding {
                target_id: levels[g].target_id.clone(),
                statement: None,
            }),
            Vec::new(),
        )
    } else {
        (
            Outcome::Allow,
            Reason::AllowedAtEveryLevel,
            None,
            allow_at.into_iter().map(sref).collect(),
        )
    };
    drop(prepared);
    Decision {
        layer,
        decision,
        reason,
        deciding,
        allow_path,
        explanation: Explanation {
            levels: out_levels,
            derived_context: derived,
        },
    }
}
