//! The Organizations resource-based delegation policy (PutResourcePolicy): validation of a
//! document and evaluation of "may account X call `organizations:<Op>` on resource R".
//!
//! The grammar is an IAM resource-based policy restricted to what Organizations accepts:
//! `Version`, `Id`, `Statement` (one object or a list); each statement has `Sid`, `Effect`,
//! `Principal` or `NotPrincipal` (`"*"` or `{"AWS": …}` with account ids and IAM ARNs of the
//! account's root, users and roles), `Action` or `NotAction` (`organizations:` actions that can be
//! delegated), `Resource` or `NotResource` (`*` or Organizations ARNs) and `Condition` (the
//! evaluator's operators). Problems are reported with the model's InvalidInput reasons for
//! resource policies and the JSON path of the offending element.
//!
//! Evaluation follows IAM's rule: an explicit Deny wins, otherwise an Allow is needed.

use crate::authz::cond::{compile_block, Condition};
use crate::authz::context::Context;
use crate::authz::glob::Glob;
use crate::authz::RequestContext;
use crate::json::Json;

/// The Organizations actions a delegation policy may grant: the read actions and the
/// policy-management actions (AWS User Guide, "delegated administrator for AWS Organizations").
pub const DELEGATABLE_ACTIONS: &[&str] = &[
    "DescribeAccount",
    "DescribeCreateAccountStatus",
    "DescribeEffectivePolicy",
    "DescribeHandshake",
    "DescribeOrganization",
    "DescribeOrganizationalUnit",
    "DescribePolicy",
    "DescribeResourcePolicy",
    "DescribeResponsibilityTransfer",
    "ListAWSServiceAccessForOrganization",
    "ListAccounts",
    "ListAccountsForParent",
    "ListAccountsWithInvalidEffectivePolicy",
    "ListChildren",
    "ListCreateAccountStatus",
    "ListDelegatedAdministrators",
    "ListDelegatedServicesForAccount",
    "ListEffectivePolicyValidationErrors",
    "ListHandshakesForAccount",
    "ListHandshakesForOrganization",
    "ListInboundResponsibilityTransfers",
    "ListOrganizationalUnitsForParent",
    "ListOutboundResponsibilityTransfers",
    "ListParents",
    "ListPolicies",
    "ListPoliciesForTarget",
    "ListRoots",
    "ListTagsForResource",
    "ListTargetsForPolicy",
    "AttachPolicy",
    "CreatePolicy",
    "DeletePolicy",
    "DetachPolicy",
    "DisablePolicyType",
    "EnablePolicyType",
    "UpdatePolicy",
    "TagResource",
    "UntagResource",
];

/// Why a delegation policy was refused; each maps to one InvalidInputException reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePolicyProblem {
    /// Not JSON, or not the shape of a resource-based policy.
    InvalidJson,
    /// A principal that is not `*`, an account id or an IAM ARN of an account.
    InvalidPrincipal,
    /// An action outside the delegatable `organizations:` actions.
    UnsupportedAction,
    /// An `organizations:PolicyType` condition value that is no policy type.
    UnsupportedPolicyType,
    /// A resource that is not `*` or an Organizations ARN.
    UnsupportedResource,
}

impl ResourcePolicyProblem {
    /// The wire name of the InvalidInputException reason.
    pub fn reason(self) -> &'static str {
        match self {
            ResourcePolicyProblem::InvalidJson => "INVALID_RESOURCE_POLICY_JSON",
            ResourcePolicyProblem::InvalidPrincipal => "INVALID_PRINCIPAL",
            ResourcePolicyProblem::UnsupportedAction => "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
            ResourcePolicyProblem::UnsupportedPolicyType => {
                "UNSUPPORTED_POLICY_TYPE_IN_RESOURCE_POLICY"
            }
            ResourcePolicyProblem::UnsupportedResource => "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY",
        }
    }
}

/// A refused document: the problem and the JSON path of the offending element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", if .path.is_empty() { .message.clone() } else { format!("{}: {}", .path, .message) })]
pub struct ResourcePolicyError {
    pub problem: ResourcePolicyProblem,
    pub path: String,
    pub message: String,
}

fn err(
    problem: ResourcePolicyProblem,
    path: impl Into<String>,
    message: impl Into<String>,
) -> ResourcePolicyError {
    ResourcePolicyError {
        problem,
        path: path.into(),
        message: message.into(),
    }
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ResourcePolicyError {
    err(ResourcePolicyProblem::InvalidJson, path, message)
}

/// One request to evaluate: the calling account and the principal in it that signed
/// (`arn:<partition>:iam::<account>:root`, `…:user/NAME`, or
/// `arn:<partition>:sts::<account>:assumed-role/ROLE/SESSION`), the action
/// (`organizations:CreatePolicy`), one resource ARN and the condition keys of the request
/// (`organizations:PolicyType`...).
pub struct DelegationRequest<'a> {
    pub account_id: &'a str,
    pub principal_arn: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a RequestContext,
}

#[derive(Debug, Clone)]
enum Principals {
    Any,
    Named(Vec<NamedPrincipal>),
}

/// One entry of `Principal.AWS`.
#[derive(Debug, Clone)]
struct NamedPrincipal {
    account: String,
    who: Who,
}

/// What of the account an entry names, as IAM reads it: an account id or its `:root` ARN names
/// every principal of the account; a user ARN that user alone; a role ARN the sessions of that
/// role alone.
#[derive(Debug, Clone)]
enum Who {
    Account,
    User(String),
    Role(String),
}

impl Principals {
    /// Whether some entry names a principal of `account` (a quick test before a request is
    /// looked at).
    fn names_account(&self, account: &str) -> bool {
        match self {
            Principals::Any => true,
            Principals::Named(entries) => entries.iter().any(|e| e.account == account),
        }
    }

    /// Whether some entry names every principal of `account` (its id, its root, or `*`).
    fn names_whole_account(&self, account: &str) -> bool {
        match self {
            Principals::Any => true,
            Principals::Named(entries) => entries.iter().any(|e| e.account == account && matches!(e.who, Who::Account)),
        }
    }

    /// Whether some entry names the principal `principal_arn` of `account`.
    fn names(&self, account: &str, principal_arn: &str) -> bool {
        match self {
            Principals::Any => true,
            Principals::Named(entries) => entries.iter().any(|e| {
                e.account == account
                    && match &e.who {
                        Who::Account => true,
                        Who::User(name) => caller_name(principal_arn, ":user/") == Some(name.as_str()),
                        Who::Role(name) => session_role(principal_arn) == Some(name.as_str()),
                    }
            }),
        }
    }
}

/// The name (last path segment) of an IAM ARN's resource after `kind` (`:user/`).
fn caller_name<'a>(arn: &'a str, kind: &str) -> Option<&'a str> {
    let (_, rest) = arn.split_once(kind)?;
    rest.rsplit('/').next()
}

/// The role of an assumed-role session ARN (`…:assumed-role/ROLE/SESSION`).
fn session_role(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":assumed-role/")?;
    rest.split('/').next()
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    principals: Principals,
    not_principal: bool,
    /// Lower-case globs over `organizations:<action>`.
    actions: Vec<Glob>,
    not_action: bool,
    resources: Vec<Glob>,
    not_resource: bool,
    conditions: Vec<Condition>,
}

/// A validated delegation policy, ready to evaluate.
#[derive(Debug, Clone)]
pub struct DelegationPolicy {
    statements: Vec<Statement>,
}

impl DelegationPolicy {
    /// Validates `content` (PutResourcePolicy's rules) and compiles it, for an organization in
    /// `partition` (`aws`, `aws-cn`...): an ARN principal of another partition is invalid.
    pub fn parse(content: &str, partition: &str) -> Result<DelegationPolicy, ResourcePolicyError> {
        let doc = Json::parse(content)
            .map_err(|e| invalid("", format!("the policy is not valid JSON: {e}")))?;
        let top = doc
            .as_object()
            .ok_or_else(|| invalid("", "the policy must be a JSON object"))?;
        let mut statements = None;
        let mut version = None;
        for (key, value) in top {
            match key.as_str() {
                "Version" => version = Some(value),
                "Id" => {
                    value
                        .as_str()
                        .ok_or_else(|| invalid("Id", "must be a string"))?;
                }
                "Statement" => statements = Some(value),
                other => return Err(invalid(other, "unknown element of a resource policy")),
            }
        }
        match version.map(|v| v.as_str()) {
            // As in IAM, a policy without Version is read as "2008-10-17".
            None | Some(Some("2012-10-17")) | Some(Some("2008-10-17")) => {}
            Some(_) => {
                return Err(invalid(
                    "Version",
                    "must be \"2012-10-17\" or \"2008-10-17\"",
                ))
            }
        }
        let list: Vec<(String, &Json)> = match statements {
            None => return Err(invalid("Statement", "the policy must have a Statement")),
            Some(Json::Array(items)) if items.is_empty() => {
                return Err(invalid("Statement", "must not be empty"))
            }
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("Statement[{i}]"), s))
                .collect(),
            Some(s @ Json::Object(_)) => vec![("Statement".to_string(), s)],
            Some(_) => {
                return Err(invalid(
                    "Statement",
                    "must be an object or a list of objects",
                ))
            }
        };
        let mut sids = Vec::new();
        let mut compiled = Vec::with_capacity(list.len());
        for (path, s) in list {
            compiled.push(statement(&path, s, &mut sids, partition)?);
        }
        Ok(DelegationPolicy {
            statements: compiled,
        })
    }

    /// Whether some statement could allow `account_id` anything (a quick test before looking
    /// up the resources of a request).
    pub fn names_account(&self, account_id: &str) -> bool {
        self.statements
            .iter()
            .any(|s| {
                s.allow
                    && if s.not_principal {
                        // Excludes only the principals it names: it may still cover others of the account.
                        !s.principals.names_whole_account(account_id)
                    } else {
                        s.principals.names_account(account_id)
                    }
            })
    }

    /// IAM's rule over this one policy: an explicit Deny wins, otherwise an Allow is needed.
    pub fn allows(&self, req: &DelegationRequest<'_>) -> bool {
        let empty = RequestContext::new();
        let ctx = Context::new(req.context, &empty, true);
        let action = req.action.to_ascii_lowercase();
        let mut allowed = false;
        for s in &self.statements {
            if s.principals.names(req.account_id, req.principal_arn) == s.not_principal {
                continue;
            }
            let action_hit = s.actions.iter().any(|g| g.is_match(action.as_bytes()));
            if action_hit == s.not_action {
                continue;
            }
            let resource_hit = s
                .resources
                .iter()
                .any(|g| g.is_match(req.resource.as_bytes()));
            if resource_hit == s.not_resource {
                continue;
            }
            if !s.conditions.iter().all(|c| c.eval(&ctx, None)) {
                continue;
            }
            if !s.allow {
                return false;
            }
            allowed = true;
        }
        allowed
    }
}

/// A string or a non-empty list of strings, with the path of each.
fn strings<'a>(path: &str, v: &'a Json) -> Result<Vec<(String, &'a str)>, ResourcePolicyError> {
    match v {
        Json::String(s) => Ok(vec![(path.to_string(), s.as_str())]),
        Json::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("{path}[{i}]");
                item.as_str()
                    .map(|s| (p.clone(), s))
                    .ok_or_else(|| invalid(p, "must be a string"))
            })
            .collect(),
        Json::Array(_) => Err(invalid(path, "must not be empty")),
        _ => Err(invalid(path, "must be a string or a list of strings")),
    }
}

fn statement(
    path: &str,
    s: &Json,
    sids: &mut Vec<String>,
    partition: &str,
) -> Result<Statement, ResourcePolicyError> {
    let fields = s
        .as_object()
        .ok_or_else(|| invalid(path, "a statement must be an object"))?;
    let mut effect = None;
    let mut principal = None;
    let mut action = None;
    let mut resource = None;
    let mut condition = None;
    for (key, value) in fields {
        let p = format!("{path}.{key}");
        let slot = match key.as_str() {
            "Sid" => {
                let sid = value
                    .as_str()
                    .ok_or_else(|| invalid(&p, "must be a string"))?;
                if !sid.is_empty() && sids.iter().any(|x| x == sid) {
                    return Err(invalid(&p, format!("duplicate Sid \"{sid}\"")));
                }
                sids.push(sid.to_string());
                continue;
            }
            "Effect" => &mut effect,
            "Principal" | "NotPrincipal" => &mut principal,
            "Action" | "NotAction" => &mut action,
            "Resource" | "NotResource" => &mut resource,
            "Condition" => &mut condition,
            _ => return Err(invalid(&p, "unknown element of a statement")),
        };
        if slot.is_some() {
            return Err(invalid(
                &p,
                "conflicts with another element of the statement",
            ));
        }
        *slot = Some((key.as_str(), value, p));
    }
    let (_, effect, effect_path) = effect.ok_or_else(|| {
        invalid(
            format!("{path}.Effect"),
            "the statement must have an Effect",
        )
    })?;
    let allow = match effect.as_str() {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err(invalid(effect_path, "must be \"Allow\" or \"Deny\"")),
    };
    let (pkey, pvalue, ppath) = principal.ok_or_else(|| {
        invalid(
            format!("{path}.Principal"),
            "a resource policy statement must have a Principal",
        )
    })?;
    let (akey, avalue, apath) = action.ok_or_else(|| {
        invalid(
            format!("{path}.Action"),
            "the statement must have an Action",
        )
    })?;
    let (rkey, rvalue, rpath) = resource.ok_or_else(|| {
        invalid(
            format!("{path}.Resource"),
            "the statement must have a Resource",
        )
    })?;
    let principals = principals(&ppath, pvalue, partition)?;
    let mut actions = Vec::new();
    for (p, a) in strings(&apath, avalue)? {
        actions.push(action_glob(&p, a)?);
    }
    let mut resources = Vec::new();
    for (p, r) in strings(&rpath, rvalue)? {
        resources.push(resource_glob(&p, r)?);
    }
    let conditions = match condition {
        None => Vec::new(),
        Some((_, c, cpath)) => {
            check_policy_type_values(&cpath, c)?;
            compile_block(&cpath, c, false)
                .map_err(|e| invalid(e.path().unwrap_or(&cpath).to_string(), e.to_string()))?
        }
    };
    Ok(Statement {
        allow,
        principals,
        not_principal: pkey == "NotPrincipal",
        actions,
        not_action: akey == "NotAction",
        resources,
        not_resource: rkey == "NotResource",
        conditions,
    })
}

fn principals(path: &str, v: &Json, partition: &str) -> Result<Principals, ResourcePolicyError> {
    if v.as_str() == Some("*") {
        return Ok(Principals::Any);
    }
    let fields = v.as_object().ok_or_else(|| {
        err(
            ResourcePolicyProblem::InvalidPrincipal,
            path,
            "must be \"*\" or an object such as {\"AWS\": \"111111111111\"}",
        )
    })?;
    let mut entries = Vec::new();
    for (kind, list) in fields {
        let p = format!("{path}.{kind}");
        if kind != "AWS" {
            return Err(err(
                ResourcePolicyProblem::InvalidPrincipal,
                p,
                "only AWS account principals can be named in an Organizations resource policy",
            ));
        }
        for (ep, entry) in strings(&p, list)? {
            if entry == "*" {
                return Ok(Principals::Any);
            }
            let (named, entry_partition) = principal_entry(entry).ok_or_else(|| {
                err(
                    ResourcePolicyProblem::InvalidPrincipal,
                    ep.clone(),
                    format!("\"{entry}\" is not an account id or an IAM ARN of an account (arn:aws:iam::111111111111:root)"),
                )
            })?;
            if let Some(other) = entry_partition.filter(|p| *p != partition) {
                return Err(err(
                    ResourcePolicyProblem::InvalidPrincipal,
                    ep,
                    format!("\"{entry}\" is in partition {other}; this organization is in {partition}"),
                ));
            }
            entries.push(named);
        }
    }
    if entries.is_empty() {
        return Err(err(
            ResourcePolicyProblem::InvalidPrincipal,
            path,
            "names no principal",
        ));
    }
    Ok(Principals::Named(entries))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A principal entry — `111111111111`, or `arn:<partition>:iam::<account>:root`,
/// `…:user/<path/name>`, `…:role/<path/name>` — and the partition its ARN names.
fn principal_entry(entry: &str) -> Option<(NamedPrincipal, Option<&str>)> {
    if is_account_id(entry) {
        return Some((NamedPrincipal { account: entry.to_string(), who: Who::Account }, None));
    }
    let rest = entry.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if partition.is_empty() || !partition.starts_with("aws") {
        return None;
    }
    let rest = rest.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    if !is_account_id(account) {
        return None;
    }
    // The name is the last segment of `user/<path/>NAME` (names are unique in an account
    // whatever their path); a session ARN carries its role's name without the path.
    let named = |prefix: &str| {
        resource
            .strip_prefix(prefix)
            .filter(|n| !n.is_empty() && !n.contains('*') && !n.ends_with('/'))
            .and_then(|n| n.rsplit('/').next())
            .map(str::to_string)
    };
    let who = if resource == "root" {
        Who::Account
    } else if let Some(name) = named("user/") {
        Who::User(name)
    } else if let Some(name) = named("role/") {
        Who::Role(name)
    } else {
        return None;
    };
    Some((NamedPrincipal { account: account.to_string(), who }, Some(partition)))
}

fn action_glob(path: &str, action: &str) -> Result<Glob, ResourcePolicyError> {
    let unsupported = |why: &str| {
        err(
            ResourcePolicyProblem::UnsupportedAction,
            path,
            format!("\"{action}\" {why}"),
        )
    };
    let lower = action.to_ascii_lowercase();
    if lower == "*" {
        return Ok(Glob::new("organizations:*"));
    }
    let Some(name) = lower.strip_prefix("organizations:") else {
        return Err(unsupported(
            "is not an AWS Organizations action (organizations:<Action>)",
        ));
    };
    let glob = Glob::new(name);
    if !DELEGATABLE_ACTIONS
        .iter()
        .any(|a| glob.is_match(a.to_ascii_lowercase().as_bytes()))
    {
        return Err(unsupported("names no action that can be delegated (Describe*, List*, policy management and tagging)"));
    }
    Ok(Glob::new(&lower))
}

fn resource_glob(path: &str, resource: &str) -> Result<Glob, ResourcePolicyError> {
    let ok = resource == "*"
        || resource
            .strip_prefix("arn:")
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(partition, rest)| {
                partition.starts_with("aws") && rest.starts_with("organizations::")
            });
    if !ok {
        return Err(err(
            ResourcePolicyProblem::UnsupportedResource,
            path,
            format!("\"{resource}\" is not \"*\" or an AWS Organizations ARN"),
        ));
    }
    Ok(Glob::new(resource))
}

/// The fifteen policy type names, for `organizations:PolicyType` condition values.
fn is_policy_type(s: &str) -> bool {
    crate::types::PolicyType::from_wire(s).is_some()
}

/// Literal values of an `organizations:PolicyType` condition must name policy types.
fn check_policy_type_values(path: &str, c: &Json) -> Result<(), ResourcePolicyError> {
    let Some(ops) = c.as_object() else {
        return Ok(());
    };
    for (op, block) in ops {
        let Some(keys) = block.as_object() else {
            continue;
        };
        for (key, values) in keys {
            if !key.eq_ignore_ascii_case("organizations:PolicyType") {
                continue;
            }
            let p = format!("{path}.{op}.{key}");
            let list: Vec<&Json> = match values {
                Json::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for v in list {
                if let Some(s) = v.as_str() {
                    if !s.contains(['*', '?', '$']) && !is_policy_type(s) {
                        return Err(err(
                            ResourcePolicyProblem::UnsupportedPolicyType,
                            &p,
                            format!("\"{s}\" is not a policy type"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBER: &str = "222222222222";
    const OTHER: &str = "333333333333";
    const POLICY_ARN: &str =
        "arn:aws:organizations::111111111111:policy/o-abcdefghij/tag_policy/p-12345678";

    fn ctx(policy_type: Option<&str>) -> RequestContext {
        let mut c = RequestContext::new();
        if let Some(t) = policy_type {
            c.insert("organizations:PolicyType", t);
        }
        c
    }

    fn parse(doc: &str) -> Result<DelegationPolicy, ResourcePolicyError> {
        DelegationPolicy::parse(doc, "aws")
    }

    /// The account's root user (dev auth's caller) asks.
    fn allows(
        p: &DelegationPolicy,
        account: &str,
        action: &str,
        resource: &str,
        t: Option<&str>,
    ) -> bool {
        allows_principal(p, account, &format!("arn:aws:iam::{account}:root"), action, resource, t)
    }

    fn allows_principal(
        p: &DelegationPolicy,
        account: &str,
        principal_arn: &str,
        action: &str,
        resource: &str,
        t: Option<&str>,
    ) -> bool {
        let c = ctx(t);
        p.allows(&DelegationRequest {
            account_id: account,
            principal_arn,
            action,
            resource,
            context: &c,
        })
    }

    fn problem(doc: &str) -> (ResourcePolicyProblem, String) {
        let e = DelegationPolicy::parse(doc, "aws").expect_err(doc);
        (e.problem, e.path)
    }

    #[test]
    fn grant_with_policy_type_condition() {
        let p = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Tags","Effect":"Allow",
               "Principal":{{"AWS":"arn:aws:iam::{MEMBER}:root"}},
               "Action":["organizations:CreatePolicy","organizations:AttachPolicy","organizations:Describe*"],
               "Resource":"*",
               "Condition":{{"StringEquals":{{"organizations:PolicyType":"TAG_POLICY"}}}}}}]}}"#
        ))
        .unwrap();
        assert!(allows(
            &p,
            MEMBER,
            "organizations:CreatePolicy",
            POLICY_ARN,
            Some("TAG_POLICY")
        ));
        assert!(allows(
            &p,
            MEMBER,
            "organizations:DescribePolicy",
            POLICY_ARN,
            Some("TAG_POLICY")
        ));
        assert!(!allows(
            &p,
            MEMBER,
            "organizations:CreatePolicy",
            POLICY_ARN,
            Some("BACKUP_POLICY")
        ));
        assert!(!allows(
            &p,
            MEMBER,
            "organizations:CreatePolicy",
            POLICY_ARN,
            None
        ));
        assert!(!allows(
            &p,
            MEMBER,
            "organizations:DeletePolicy",
            POLICY_ARN,
            Some("TAG_POLICY")
        ));
        assert!(!allows(
            &p,
            OTHER,
            "organizations:CreatePolicy",
            POLICY_ARN,
            Some("TAG_POLICY")
        ));
        assert!(p.names_account(MEMBER));
        assert!(!p.names_account(OTHER));
    }

    #[test]
    fn deny_wins_and_not_elements() {
        let p = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
               {{"Effect":"Allow","Principal":{{"AWS":["{MEMBER}","{OTHER}"]}},"Action":"organizations:*","Resource":"*"}},
               {{"Effect":"Deny","Principal":{{"AWS":"{OTHER}"}},"NotAction":"organizations:List*","Resource":"*"}},
               {{"Effect":"Deny","Principal":"*","Action":"organizations:*","NotResource":"arn:aws:organizations::*:policy/*"}}]}}"#
        ))
        .unwrap();
        assert!(allows(
            &p,
            MEMBER,
            "organizations:UpdatePolicy",
            POLICY_ARN,
            None
        ));
        assert!(allows(
            &p,
            OTHER,
            "organizations:ListPolicies",
            POLICY_ARN,
            None
        ));
        assert!(!allows(
            &p,
            OTHER,
            "organizations:UpdatePolicy",
            POLICY_ARN,
            None
        ));
        let root = "arn:aws:organizations::111111111111:root/o-abcdefghij/r-ab12";
        assert!(!allows(
            &p,
            MEMBER,
            "organizations:EnablePolicyType",
            root,
            None
        ));
        // Action names are case-insensitive.
        assert!(allows(
            &p,
            MEMBER,
            "organizations:updatepolicy",
            POLICY_ARN,
            None
        ));
    }

    #[test]
    fn refusals_name_the_path_and_reason() {
        use ResourcePolicyProblem::*;
        let stmt = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{{body}}}]}}"#);
        assert_eq!(problem("not json").0, InvalidJson);
        assert_eq!(
            problem(r#"{"Version":"2020-01-01","Statement":[]}"#),
            (InvalidJson, "Version".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Permit","Principal":"*","Action":"organizations:ListRoots","Resource":"*""#
            )),
            (InvalidJson, "Statement[0].Effect".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Action":"organizations:ListRoots","Resource":"*""#
            )),
            (InvalidJson, "Statement[0].Principal".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":{"Service":"sso.amazonaws.com"},"Action":"organizations:ListRoots","Resource":"*""#
            )),
            (InvalidPrincipal, "Statement[0].Principal.Service".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":{"AWS":["222222222222","12345"]},"Action":"organizations:ListRoots","Resource":"*""#
            )),
            (InvalidPrincipal, "Statement[0].Principal.AWS[1]".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":"*","Action":"organizations:CreateAccount","Resource":"*""#
            )),
            (UnsupportedAction, "Statement[0].Action".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":"*","Action":["organizations:ListRoots","s3:GetObject"],"Resource":"*""#
            )),
            (UnsupportedAction, "Statement[0].Action[1]".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":"*","Action":"organizations:ListRoots","Resource":"arn:aws:s3:::bucket""#
            )),
            (UnsupportedResource, "Statement[0].Resource".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":"*","Action":"organizations:CreatePolicy","Resource":"*","Condition":{"StringEquals":{"organizations:PolicyType":["TAG_POLICY","NOPE"]}}"#
            )),
            (
                UnsupportedPolicyType,
                "Statement[0].Condition.StringEquals.organizations:PolicyType".into()
            )
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":"*","Action":"organizations:ListRoots","Resource":"*","Extra":1"#
            )),
            (InvalidJson, "Statement[0].Extra".into())
        );
        assert_eq!(
            problem(&stmt(
                r#""Effect":"Allow","Principal":"*","Action":"organizations:ListRoots","NotAction":"organizations:ListRoots","Resource":"*""#
            )),
            (InvalidJson, "Statement[0].NotAction".into())
        );
        assert_eq!(
            problem(&stmt(r#""Effect":"Allow","Principal":"*","Action":"organizations:ListRoots","Resource":"*","Condition":{"Bogus":{"a":"b"}}"#)).0,
            InvalidJson
        );
    }

    #[test]
    fn version_may_be_omitted_or_old() {
        for version in [
            "",
            r#""Version":"2008-10-17","#,
            r#""Version":"2012-10-17","#,
        ] {
            let doc = format!(
                r#"{{{version}"Statement":{{"Effect":"Allow","Principal":"*","Action":"organizations:ListRoots","Resource":"*"}}}}"#
            );
            assert!(DelegationPolicy::parse(&doc, "aws").is_ok(), "{doc}");
        }
    }

    #[test]
    fn principal_forms() {
        for ok in [
            "222222222222",
            "arn:aws:iam::222222222222:root",
            "arn:aws:iam::222222222222:role/Admin",
            "arn:aws-cn:iam::222222222222:user/a/b",
        ] {
            assert_eq!(principal_entry(ok).map(|(e, _)| e.account).as_deref(), Some(MEMBER), "{ok}");
        }
        for bad in [
            "22222222222",
            "arn:aws:iam::222222222222:group/x",
            "arn:aws:sts::222222222222:root",
            "arn:aws:iam::222222222222:role/",
        ] {
            assert!(principal_entry(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_user_or_role_principal_names_that_principal_alone() {
        let p = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",
               "Principal":{{"AWS":["arn:aws:iam::{MEMBER}:role/ops/Deployer","arn:aws:iam::{MEMBER}:user/alice"]}},
               "Action":"organizations:ListAccounts","Resource":"*"}}}}"#
        ))
        .unwrap();
        let list = |arn: &str| allows_principal(&p, MEMBER, arn, "organizations:ListAccounts", "*", None);
        assert!(list(&format!("arn:aws:sts::{MEMBER}:assumed-role/Deployer/session-1")));
        assert!(list(&format!("arn:aws:iam::{MEMBER}:user/alice")));
        // The account's root user, another role's session and another user are not named.
        assert!(!list(&format!("arn:aws:iam::{MEMBER}:root")));
        assert!(!list(&format!("arn:aws:sts::{MEMBER}:assumed-role/Other/session-1")));
        assert!(!list(&format!("arn:aws:iam::{MEMBER}:user/bob")));
        // Still a quick match for the account as a whole.
        assert!(p.names_account(MEMBER));
        // An account id or its root ARN names every principal of the account.
        let p = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{MEMBER}"}},
               "Action":"organizations:ListAccounts","Resource":"*"}}}}"#
        ))
        .unwrap();
        assert!(allows_principal(&p, MEMBER, &format!("arn:aws:sts::{MEMBER}:assumed-role/Any/s"), "organizations:ListAccounts", "*", None));
        assert!(allows(&p, MEMBER, "organizations:ListAccounts", "*", None));
    }

    #[test]
    fn not_principal_naming_one_role_still_covers_the_rest_of_its_account() {
        let p = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow",
               "NotPrincipal":{{"AWS":"arn:aws:iam::{MEMBER}:role/Excluded"}},
               "Action":"organizations:ListAccounts","Resource":"*"}}}}"#
        ))
        .unwrap();
        assert!(p.names_account(MEMBER));
        assert!(allows(&p, MEMBER, "organizations:ListAccounts", "*", None));
        let excluded = format!("arn:aws:sts::{MEMBER}:assumed-role/Excluded/s");
        assert!(!allows_principal(&p, MEMBER, &excluded, "organizations:ListAccounts", "*", None));
        // Naming the whole account excludes all of it.
        let p = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","NotPrincipal":{{"AWS":"{MEMBER}"}},
               "Action":"organizations:ListAccounts","Resource":"*"}}}}"#
        ))
        .unwrap();
        assert!(!p.names_account(MEMBER));
        assert!(p.names_account(OTHER));
    }

    #[test]
    fn a_principal_of_another_partition_is_invalid() {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{MEMBER}:root"}},
               "Action":"organizations:ListAccounts","Resource":"*"}}}}"#
        );
        assert!(DelegationPolicy::parse(&doc, "aws").is_ok());
        let e = DelegationPolicy::parse(&doc, "aws-cn").unwrap_err();
        assert_eq!(e.problem, ResourcePolicyProblem::InvalidPrincipal);
        // A bare account id names no partition.
        let doc = doc.replace(&format!("arn:aws:iam::{MEMBER}:root"), MEMBER);
        assert!(DelegationPolicy::parse(&doc, "aws-cn").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_documents_and_requests_never_panic(
            doc in "[{}\\[\\]\":,*a-zA-Z0-9 ]{0,120}",
            action in "[a-zA-Z:*?]{0,30}",
            resource in "[a-z:/*0-9-]{0,40}",
            effect in "(Allow|Deny|x)",
            principal in "(\\*|222222222222|arn:aws:iam::222222222222:root|[0-9]{1,13})",
        ) {
            let _ = DelegationPolicy::parse(&doc, "aws");
            let built = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"{effect}","Principal":{{"AWS":"{principal}"}},"Action":"{action}","Resource":"{resource}"}}}}"#
            );
            if let Ok(p) = DelegationPolicy::parse(&built, "aws") {
                let c = ctx(Some("TAG_POLICY"));
                let _ = p.allows(&DelegationRequest { account_id: MEMBER, principal_arn: "arn:aws:iam::222222222222:root", action: &action, resource: &resource, context: &c });
            }
        }
    }

    #[test]
    fn no_input_panics() {
        for doc in [
            "",
            "[]",
            "{}",
            "null",
            r#"{"Version":1}"#,
            r#"{"Version":"2012-10-17","Statement":{}}"#,
            r#"{"Version":"2012-10-17","Statement":[1]}"#,
        ] {
            assert!(DelegationPolicy::parse(doc, "aws").is_err(), "{doc}");
        }
    }
}
