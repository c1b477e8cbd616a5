//! SCP/RCP documents compiled once into a matching-friendly form.

use super::arn::{ArnParts, ArnVal};
use super::cond::{compile_block, Condition};
use super::context::Context;
use super::glob::Glob;
use super::{
    ActionEntry, AuthzRequest, ConditionExplanation, Effect, PrincipalKind, ResourceEntry,
    StatementDetail,
};
use crate::error::PolicyError;
use crate::json::Json;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub(crate) enum ActionPat {
    Any,
    /// Service glob, action-name glob (both lower-cased).
    Split(Glob, Glob),
    /// No colon in the pattern: the whole lower-cased action.
    Whole(Glob),
}

impl ActionPat {
    fn new(p: &str) -> ActionPat {
        if p == "*" {
            return ActionPat::Any;
        }
        let lc = p.to_ascii_lowercase();
        match lc.split_once(':') {
            Some((s, n)) => ActionPat::Split(Glob::new(s), Glob::new(n)),
            None => ActionPat::Whole(Glob::new(&lc)),
        }
    }

    fn matches(&self, a: &PreparedAction) -> bool {
        match self {
            ActionPat::Any => true,
            ActionPat::Split(s, n) => match a.colon {
                Some(i) => {
                    let b = a.lc.as_bytes();
                    s.is_match(&b[..i]) && n.is_match(&b[i + 1..])
                }
                None => false,
            },
            ActionPat::Whole(g) => g.is_match(a.lc.as_bytes()),
        }
    }
}

/// The request action lower-cased and split at its first colon.
pub(crate) struct PreparedAction {
    pub(crate) lc: String,
    colon: Option<usize>,
}

impl PreparedAction {
    pub(crate) fn new(a: &str) -> Self {
        let lc = a.to_ascii_lowercase();
        let colon = lc.find(':');
        PreparedAction { lc, colon }
    }

    pub(crate) fn service(&self) -> &str {
        self.colon.map_or(self.lc.as_str(), |i| &self.lc[..i])
    }
}

#[derive(Clone, Debug)]
enum PrincipalEntry {
    Any,
    /// 12-digit account id.
    Account(String),
    /// ARN glob (case-sensitive).
    Arn(Glob),
    /// Service principal name (lower-cased).
    Service(String),
    Never,
}

#[derive(Clone, Debug)]
struct PrincipalSet {
    negated: bool,
    entries: Vec<PrincipalEntry>,
}

impl PrincipalSet {
    fn matches(&self, req: &AuthzRequest) -> bool {
        let p = &req.principal;
        let hit = self.entries.iter().any(|e| match e {
            PrincipalEntry::Any => true,
            PrincipalEntry::Account(a) => {
                p.kind != PrincipalKind::AwsService && p.account() == Some(a.as_str())
            }
            PrincipalEntry::Arn(g) => g.is_match(p.arn.as_bytes()),
            PrincipalEntry::Service(s) => {
                p.kind == PrincipalKind::AwsService && p.arn.eq_ignore_ascii_case(s)
            }
            PrincipalEntry::Never => false,
        });
        hit != self.negated
    }
}

/// Which part of a statement did not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    Action,
    Resource,
    Principal,
    Condition(u32),
}

#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    not_action: bool,
    actions: Vec<ActionPat>,
    action_text: Vec<String>,
    not_resource: bool,
    resources: Vec<ArnVal>,
    resource_text: Vec<String>,
    principal: Option<PrincipalSet>,
    /// Index of the first statement of the policy with the same Action/NotAction list, and the
    /// same for Resource/NotResource (their results are computed once per request).
    action_set: u32,
    resource_set: u32,
    /// Indices into the policy's interned condition table, in document order.
    pub(crate) conditions: Vec<u32>,
}

/// The request, prepared once per evaluation.
pub(crate) struct Prepared<'a> {
    pub(crate) req: &'a AuthzRequest,
    pub(crate) action: PreparedAction,
    pub(crate) resource: ArnParts<'a>,
    pub(crate) ctx: &'a Context<'a>,
}

impl Statement {
    fn action_ok(&self, p: &Prepared) -> bool {
        self.actions.iter().any(|a| a.matches(&p.action)) != self.not_action
    }

    fn resource_ok(&self, p: &Prepared) -> bool {
        // An unresolvable variable makes the entry non-matching (§3.7).
        let any = self
            .resources
            .iter()
            .any(|r| r.matches(&p.resource, p.ctx).unwrap_or(false));
        any != self.not_resource
    }

    /// Fast path: `None` when the statement matches, else the first failing part. `memo`
    /// caches results per request (0 unknown, 1 false, 2 true): the policy's interned
    /// conditions first, then one slot per action set, then one per resource set.
    pub(crate) fn check<'c>(
        &self,
        p: &Prepared,
        conds: &'c [Condition],
        memo: &mut [u8],
        shared: &mut super::cond::SharedConditions<'c>,
    ) -> Option<Miss> {
        let nc = conds.len();
        let ns = memo.len().saturating_sub(nc) / 2;
        let cached = |memo: &mut [u8], slot: usize, f: &dyn Fn() -> bool| -> bool {
            match memo.get(slot).copied() {
                Some(1) => false,
                Some(2) => true,
                _ => {
                    let r = f();
                    if let Some(m) = memo.get_mut(slot) {
                        *m = if r { 2 } else { 1 };
                    }
                    r
                }
            }
        };
        if !cached(memo, nc + self.action_set as usize, &|| self.action_ok(p)) {
            return Some(Miss::Action);
        }
        if !cached(memo, nc + ns + self.resource_set as usize, &|| {
            self.resource_ok(p)
        }) {
            return Some(Miss::Resource);
        }
        if let Some(ps) = &self.principal {
            if !ps.matches(p.req) {
                return Some(Miss::Principal);
            }
        }
        for (i, ci) in self.conditions.iter().enumerate() {
            let ci = *ci as usize;
            let ok = match memo.get(ci).copied() {
                Some(1) => false,
                Some(2) => true,
                _ => {
                    let r = conds.get(ci).is_some_and(|c| shared.eval(c, p.ctx));
                    if let Some(m) = memo.get_mut(ci) {
                        *m = if r { 2 } else { 1 };
                    }
                    r
                }
            };
            if !ok {
                return Some(Miss::Condition(i as u32));
            }
        }
        None
    }

    /// Full detail for every element (conditions only when action, resource and principal
    /// matched; each condition is then evaluated, not short-circuited).
    pub(crate) fn detail(&self, p: &Prepared, conds: &[Condition]) -> StatementDetail {
        let actions: Vec<ActionEntry> = self
            .action_text
            .iter()
            .zip(&self.actions)
            .map(|(t, a)| ActionEntry {
                pattern: t.clone(),
                matched: a.matches(&p.action),
            })
            .collect();
        let resources: Vec<ResourceEntry> = self
            .resource_text
            .iter()
            .zip(&self.resources)
            .map(|(t, r)| {
                let m = r.matches(&p.resource, p.ctx);
                ResourceEntry {
                    pattern: t.clone(),
                    resolved: r.resolved_text(p.ctx),
                    matched: *m.as_ref().unwrap_or(&false),
                    unresolved_variable: m.is_err(),
                }
            })
            .collect();
        let action_matched = self.action_ok(p);
        let resource_matched = self.resource_ok(p);
        let principal_matched = self.principal.as_ref().map(|ps| ps.matches(p.req));
        let conditions = if action_matched && resource_matched && principal_matched != Some(false) {
            self.conditions
                .iter()
                .filter_map(|ci| conds.get(*ci as usize))
                .map(|c| {
                    let mut d = ConditionExplanation::default();
                    c.eval(p.ctx, Some(&mut d));
                    d
                })
                .collect()
        } else {
            Vec::new()
        };
        StatementDetail {
            not_action: self.not_action,
            actions,
            action_matched,
            not_resource: self.not_resource,
            resources,
            resource_matched,
            principal_matched,
            conditions,
        }
    }
}

/// A parsed SCP or RCP, ready to evaluate many times (cache it next to the stored policy).
#[derive(Clone, Debug)]
pub struct CompiledPolicy {
    id: String,
    arn: Option<String>,
    pub(crate) statements: Vec<Statement>,
    /// Interned conditions (identical conditions of several statements are evaluated once).
    pub(crate) conditions: Vec<Condition>,
    index: ActionIndex,
}

/// Statements that can match a service prefix, so others are skipped without a visit.
#[derive(Clone, Debug, Default)]
struct ActionIndex {
    /// Lower-cased service → statements naming it or matching any service, in order.
    by_service: HashMap<String, Box<[u32]>>,
    /// Statements that can match any service (`*`, wildcard prefixes, NotAction).
    other: Box<[u32]>,
}

impl ActionIndex {
    fn build(statements: &[Statement]) -> ActionIndex {
        // None = can match any service.
        let services: Vec<Option<Vec<&[u8]>>> = statements
            .iter()
            .map(|s| {
                if s.not_action {
                    return None;
                }
                s.actions
                    .iter()
                    .map(|a| match a {
                        ActionPat::Split(Glob::Exact(svc), _) => Some(&**svc),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let mut by_service: HashMap<String, Vec<u32>> = HashMap::new();
        for list in services.iter().flatten() {
            for svc in list {
                by_service
                    .entry(String::from_utf8_lossy(svc).into_owned())
                    .or_default();
            }
        }
        let mut other = Vec::new();
        for (i, sv) in services.iter().enumerate() {
            match sv {
                None => {
                    other.push(i as u32);
                    for l in by_service.values_mut() {
                        l.push(i as u32);
                    }
                }
                Some(list) => {
                    for svc in list {
                        if let Some(l) = by_service.get_mut(&*String::from_utf8_lossy(svc)) {
                            if l.last() != Some(&(i as u32)) {
                                l.push(i as u32);
                            }
                        }
                    }
                }
            }
        }
        ActionIndex {
            by_service: by_service
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect(),
            other: other.into_boxed_slice(),
        }
    }
}

fn malformed(p: impl Into<String>, m: impl Into<String>) -> PolicyError {
    PolicyError::malformed(p, m)
}

fn strings(p: &str, v: &Json) -> Result<Vec<String>, PolicyError> {
    match v {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(a) if !a.is_empty() => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| malformed(format!("{p}[{i}]"), "must be a string"))
            })
            .collect(),
        _ => Err(malformed(
            p,
            "must be a string or a non-empty array of strings",
        )),
    }
}

fn principal_set(p: &str, v: &Json, negated: bool) -> Result<PrincipalSet, PolicyError> {
    let mut entries = Vec::new();
    match v {
        Json::String(s) if s == "*" => entries.push(PrincipalEntry::Any),
        Json::Object(o) => {
            for (k, vals) in o {
                for s in strings(&format!("{p}.{k}"), vals)? {
                    entries.push(match k.as_str() {
                        _ if s == "*" => PrincipalEntry::Any,
                        "AWS" if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => {
                            PrincipalEntry::Account(s)
                        }
                        "AWS" => PrincipalEntry::Arn(Glob::new(&s)),
                        "Service" => PrincipalEntry::Service(s.to_ascii_lowercase()),
                        _ => PrincipalEntry::Never,
                    });
                }
            }
        }
        _ => {
            return Err(malformed(
                p,
                "must be \"*\" or an object of principal lists",
            ))
        }
    }
    Ok(PrincipalSet { negated, entries })
}

fn compile_statement(
    p: &str,
    s: &Json,
    vars: bool,
    table: &mut Vec<Condition>,
) -> Result<Statement, PolicyError> {
    let obj = s
        .as_object()
        .ok_or_else(|| malformed(p, "a statement must be an object"))?;
    let get = |k: &str| obj.iter().find(|(kk, _)| kk == k).map(|(_, v)| v);
    let sid = match get("Sid") {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed(format!("{p}.Sid"), "must be a string")),
    };
    let effect = match get("Effect").and_then(Json::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => {
            return Err(malformed(
                format!("{p}.Effect"),
                "must be \"Allow\" or \"Deny\"",
            ))
        }
    };
    let (not_action, action_text) = match (get("Action"), get("NotAction")) {
        (Some(a), None) => (false, strings(&format!("{p}.Action"), a)?),
        (None, Some(a)) => (true, strings(&format!("{p}.NotAction"), a)?),
        _ => {
            return Err(malformed(
                format!("{p}.Action"),
                "exactly one of Action or NotAction is required",
            ))
        }
    };
    let (not_resource, resource_text) = match (get("Resource"), get("NotResource")) {
        (Some(r), None) => (false, strings(&format!("{p}.Resource"), r)?),
        (None, Some(r)) => (true, strings(&format!("{p}.NotResource"), r)?),
        _ => {
            return Err(malformed(
                format!("{p}.Resource"),
                "exactly one of Resource or NotResource is required",
            ))
        }
    };
    let principal = match (get("Principal"), get("NotPrincipal")) {
        (None, None) => None,
        (Some(v), None) => Some(principal_set(&format!("{p}.Principal"), v, false)?),
        (None, Some(v)) => Some(principal_set(&format!("{p}.NotPrincipal"), v, true)?),
        _ => {
            return Err(malformed(
                format!("{p}.NotPrincipal"),
                "a statement cannot have both Principal and NotPrincipal",
            ))
        }
    };
    let raw = match get("Condition") {
        None => Vec::new(),
        Some(c) => compile_block(&format!("{p}.Condition"), c, vars)?,
    };
    let mut conditions = Vec::with_capacity(raw.len());
    for c in raw {
        let i = match table.iter().position(|t| t.same_as(&c)) {
            Some(i) => i,
            None => {
                table.push(c);
                table.len() - 1
            }
        };
        conditions.push(i as u32);
    }
    Ok(Statement {
        sid,
        effect,
        not_action,
        action_set: 0,
        resource_set: 0,
        actions: action_text.iter().map(|a| ActionPat::new(a)).collect(),
        action_text,
        not_resource,
        resources: resource_text.iter().map(|r| ArnVal::new(r, vars)).collect(),
        resource_text,
        principal,
        conditions,
    })
}

impl CompiledPolicy {
    /// Parse and compile a policy document (`Content` as stored). Structural problems give
    /// `MalformedPolicyDocument`; type-specific grammar is [`crate::validate`]'s job.
    pub fn compile(id: impl Into<String>, content: &str) -> Result<CompiledPolicy, PolicyError> {
        let doc = Json::parse(content)
            .map_err(|e| malformed("", format!("the policy is not valid JSON: {e}")))?;
        Self::from_json(id, &doc)
    }

    /// Compile a session policy (IAM's identity-policy grammar, [`crate::validate_session_policy`]).
    /// Unlike an Organizations policy, one without `Version` is read as IAM reads it: as
    /// 2008-10-17, where `${...}` is literal text.
    pub fn compile_session(id: impl Into<String>, content: &str) -> Result<CompiledPolicy, PolicyError> {
        let doc = Json::parse(content)
            .map_err(|e| malformed("", format!("the policy is not valid JSON: {e}")))?;
        Self::from_json_reading(id, &doc, false)
    }

    /// Compile an already parsed document.
    pub fn from_json(id: impl Into<String>, doc: &Json) -> Result<CompiledPolicy, PolicyError> {
        // A missing Version is treated as 2012-10-17 (validation decides whether it may be
        // missing: the lenient-Version option).
        Self::from_json_reading(id, doc, true)
    }

    /// Variables are substituted only under 2012-10-17; `versionless_vars` says whether a
    /// document without `Version` counts as 2012-10-17.
    fn from_json_reading(id: impl Into<String>, doc: &Json, versionless_vars: bool) -> Result<CompiledPolicy, PolicyError> {
        let top = doc
            .as_object()
            .ok_or_else(|| malformed("", "the policy must be a JSON object"))?;
        let vars = match doc.get("Version") {
            None => versionless_vars,
            Some(v) => v.as_str() == Some("2012-10-17"),
        };
        let st = top
            .iter()
            .find(|(k, _)| k == "Statement")
            .map(|(_, v)| v)
            .ok_or_else(|| malformed("Statement", "required element is missing"))?;
        let mut conditions = Vec::new();
        let statements = match st {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    compile_statement(&format!("Statement[{i}]"), s, vars, &mut conditions)
                })
                .collect::<Result<Vec<_>, _>>()?,
            other => vec![compile_statement(
                "Statement",
                other,
                vars,
                &mut conditions,
            )?],
        };
        let mut statements = statements;
        for i in 0..statements.len() {
            let (before, rest) = statements.split_at_mut(i);
            let Some(st) = rest.first_mut() else { break };
            st.action_set = before
                .iter()
                .position(|o| o.not_action == st.not_action && o.action_text == st.action_text)
                .unwrap_or(i) as u32;
            st.resource_set = before
                .iter()
                .position(|o| {
                    o.not_resource == st.not_resource && o.resource_text == st.resource_text
                })
                .unwrap_or(i) as u32;
        }
        let index = ActionIndex::build(&statements);
        Ok(CompiledPolicy {
            id: id.into(),
            arn: None,
            statements,
            conditions,
            index,
        })
    }

    /// Size of the per-request memo [`Statement::check`] needs.
    pub(crate) fn memo_len(&self) -> usize {
        self.conditions.len() + 2 * self.statements.len()
    }

    /// Statements whose action part can match a request for `service` (lower-case), in order.
    pub(crate) fn candidates(&self, service: &str) -> &[u32] {
        self.index
            .by_service
            .get(service)
            .map_or(&self.index.other, |v| v)
    }

    /// Attach the policy ARN shown in explanations.
    pub fn with_arn(mut self, arn: impl Into<String>) -> Self {
        self.arn = Some(arn.into());
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn arn(&self) -> Option<&str> {
        self.arn.as_deref()
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The `Sid` of statement `index`, if any.
    pub fn sid(&self, index: usize) -> Option<&str> {
        self.statements.get(index).and_then(|s| s.sid.as_deref())
    }

    /// The effect of statement `index`.
    pub fn effect(&self, index: usize) -> Option<Effect> {
        self.statements.get(index).map(|s| s.effect)
    }
}
