//! Canopy's pure policy engine: no I/O, no async.
//!
//! - [`PolicyType`]: the fifteen Organizations policy types, their family, root key and limits.
//! - [`validate`]: CreatePolicy/UpdatePolicy validation (size quota, JSON, per-type grammar).
//! - [`effective_policy`]: the effective management policy of an account with the ignored
//!   child operations and effective-policy validation errors.
//! - [`evaluate`]: the SCP/RCP authorization evaluator over [`CompiledPolicy`] documents, with
//!   a per-level explanation of every decision.
//! - [`eval_case`]: runs one `policy-vectors.json` case (used by `canopy policy eval`).

mod authz;
pub mod delegation;
mod error;
mod iam;
mod json;
mod merge;
mod mgmt;
mod types;
mod vectors;

pub use authz::{
    combine, evaluate, evaluate_with, ActionEntry, AuthzRequest, Combined, CompiledPolicy, ConditionExplanation,
    ContextValue, Deciding, DecidingLayer, Decision, Effect, EvalOptions, Explanation, Layer, LevelExplanation,
    LevelPolicies, Mismatch, OrgView, Outcome, PathNode, Principal, PrincipalKind, Reason,
    RequestContext, ResourceEntry, StatementDetail, StatementRef, StatementView, TargetType,
    RCP_EXEMPT_ACTIONS, RCP_SUPPORTED_SERVICES, SCP_EXEMPT_SERVICES,
};
pub use error::PolicyError;
pub use json::Json;
pub use merge::{
    effective_policy, EffectivePolicy, EffectiveResult, EffectiveValidationError, IgnoredOperation,
    Level, SkippedPolicy,
};
pub use mgmt::KNOWN_AI_SERVICES;
pub use types::{Limits, LimitsTable, PolicyFamily, PolicyType, SizeUnit, ValidationOptions};
pub use vectors::{compare_case, eval_case};

/// Validate a policy document as CreatePolicy/UpdatePolicy would.
///
/// Order of checks: size quota (`ConstraintViolationException` /
/// `POLICY_CONTENT_LIMIT_EXCEEDED`, counted on `content` exactly as received), then JSON
/// syntax including duplicate keys, then the type's grammar (`MalformedPolicyDocumentException`
/// with the JSON path of the offending element). Never panics.
pub fn validate(
    policy_type: PolicyType,
    content: &str,
    options: &ValidationOptions,
) -> Result<(), PolicyError> {
    let limit = options.limits.get(policy_type).max_size;
    let size = options.size_unit.measure(content);
    if size > limit {
        return Err(PolicyError::ContentLimitExceeded {
            policy_type,
            size,
            limit,
            unit: options.size_unit,
        });
    }
    let doc = Json::parse(content)
        .map_err(|e| PolicyError::malformed("", format!("the policy is not valid JSON: {e}")))?;
    if policy_type.is_authorization() {
        iam::validate(policy_type, &doc, options)
    } else {
        mgmt::validate(policy_type, &doc)
    }
}

/// Validates an IAM identity policy used as STS's session policy (AssumeRole's `Policy`): JSON
/// syntax, then the identity-policy grammar (see `iam::validate_identity`). The caller checks
/// its size.
pub fn validate_session_policy(content: &str) -> Result<(), PolicyError> {
    let doc = Json::parse(content).map_err(|e| PolicyError::malformed("", format!("the policy is not valid JSON: {e}")))?;
    iam::validate_identity(&doc)
}

pub(crate) fn json_display(v: &Json) -> String {
    match v {
        Json::String(s) => format!("\"{s}\""),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        other => other.type_name().to_string(),
    }
}
