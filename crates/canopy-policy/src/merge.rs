//! Effective management policies (spec §4.3–4.6).

use crate::json::JsonRef as Json;
use crate::mgmt::{APPEND, ASSIGN, CHILD_CONTROL, REMOVE};
use crate::types::PolicyType;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One node of the path (root, OUs, account) with its attached policies of the type, in
/// attachment order: `(policy_id, content_json)`. Hashable, so that callers can memoize merges by
/// their inputs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Level {
    pub target_id: String,
    pub policies: Vec<(String, String)>,
}

/// A value-setting operation of a lower level that a parent's child control blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredOperation {
    pub policy_id: String,
    pub target_id: String,
    /// Dotted path with lower-cased keys (`tags.costcenter.tag_value`).
    pub path: String,
    /// `@@assign`, `@@append`, `@@remove`, or `add_key` for a new key under a locked container.
    pub operator: String,
    /// Operators still allowed at that path (empty = `@@none`).
    pub allowed: Vec<String>,
}

/// An effective-policy validation finding (ListEffectivePolicyValidationErrors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveValidationError {
    /// `ELEMENTS_TOO_MANY`, `ELEMENTS_TOO_FEW` or `KEY_REQUIRED`.
    pub error_code: String,
    pub error_message: String,
    /// Dotted path (`plans.daily.rules`).
    pub path_to_error: String,
    /// Attached policies on the path that wrote at or below the path, in application order.
    pub contributing_policies: Vec<String>,
}

/// A policy whose stored content could not be parsed and was left out of the merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedPolicy {
    pub policy_id: String,
    pub target_id: String,
    pub problem: String,
}

/// The computed effective policy of one account.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivePolicy {
    /// Operator-free document as DescribeEffectivePolicy renders it (keys lower-cased).
    pub document: Value,
    pub ignored_child_operations: Vec<IgnoredOperation>,
    pub validation_errors: Vec<EffectiveValidationError>,
    /// Every policy that took part, in application order.
    pub policies_applied: Vec<String>,
    pub skipped_policies: Vec<SkippedPolicy>,
}

impl EffectivePolicy {
    /// The document as the `PolicyContent` string.
    pub fn content(&self) -> String {
        self.document.to_string()
    }
    /// Whether ListAccountsWithInvalidEffectivePolicy lists the account.
    pub fn is_invalid(&self) -> bool {
        !self.validation_errors.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum EffectiveResult {
    Found(EffectivePolicy),
    /// No policy of the type is attached anywhere on the path (EffectivePolicyNotFoundException).
    NotFound,
    /// SCP/RCP have no effective policy.
    UnsupportedPolicyType,
}

impl EffectiveResult {
    pub fn found(&self) -> Option<&EffectivePolicy> {
        match self {
            EffectiveResult::Found(e) => Some(e),
            _ => None,
        }
    }
}

const OP_ASSIGN: u8 = 1;
const OP_APPEND: u8 = 2;
const OP_REMOVE: u8 = 4;
const OP_ALL: u8 = 7;

fn ops_list(set: u8) -> Vec<String> {
    let mut v = Vec::new();
    for (bit, name) in [
        (OP_ASSIGN, ASSIGN),
        (OP_APPEND, APPEND),
        (OP_REMOVE, REMOVE),
    ] {
        if set & bit != 0 {
            v.push(name.to_string());
        }
    }
    v
}

fn parse_cc(v: &Json<'_>) -> Option<u8> {
    let Json::Array(items) = v else { return None };
    let mut set = 0u8;
    for it in items {
        match it.as_str() {
            Some("@@all") => set |= OP_ALL,
            Some("@@none") => {}
            Some("@@assign") => set |= OP_ASSIGN,
            Some("@@append") => set |= OP_APPEND,
            Some("@@remove") => set |= OP_REMOVE,
            _ => {}
        }
    }
    Some(set)
}

/// Index of a policy in the merge's policy table (`EffectivePolicy::policies_applied` order);
/// the merge records writers by index so that no id string is copied per node.
type PolicyIx = u32;

/// A setting's current value, borrowed from the parsed documents (which outlive the merge
/// state): an assigned value as written, or a list built by `@@append` / `@@remove`.
#[derive(Debug)]
enum Val<'a> {
    One(&'a Json<'a>),
    List(Vec<&'a Json<'a>>),
}

impl<'a> Val<'a> {
    /// The value as a list of items (a non-list value is a one-item list).
    fn into_items(self) -> Vec<&'a Json<'a>> {
        match self {
            Val::One(Json::Array(items)) => items.iter().collect(),
            Val::One(other) => vec![other],
            Val::List(items) => items,
        }
    }
}

#[derive(Debug, Default)]
struct Node<'a> {
    name: Cow<'a, str>,
    value: Option<Val<'a>>,
    emptied: bool,
    children: Vec<Node<'a>>,
    allowed: u8,
    contributors: Vec<PolicyIx>,
}

impl<'a> Node<'a> {
    fn new(name: Cow<'a, str>) -> Node<'a> {
        Node {
            name,
            allowed: OP_ALL,
            ..Node::default()
        }
    }
    fn child(&self, name: &str) -> Option<&Node<'a>> {
        self.children.iter().find(|c| c.name == name)
    }
}

#[derive(Clone, Copy)]
struct Applied<'a> {
    policy: PolicyIx,
    node: &'a Json<'a>,
}

struct Merger<'a> {
    target_id: &'a str,
    ids: &'a [String],
    ignored: &'a mut Vec<IgnoredOperation>,
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn push_ix(v: &mut Vec<PolicyIx>, p: PolicyIx) {
    if !v.contains(&p) {
        v.push(p);
    }
}

/// Name keys compare case-insensitively (§4.3): lower-case without allocating when the key
/// already is.
fn folded(k: &str) -> Cow<'_, str> {
    if k.chars().any(char::is_uppercase) {
        Cow::Owned(k.to_lowercase())
    } else {
        Cow::Borrowed(k)
    }
}

impl Merger<'_> {
    fn ignore(&mut self, policy: PolicyIx, path: &str, operator: &str, allowed: u8) {
        self.ignored.push(IgnoredOperation {
            policy_id: self.ids[policy as usize].clone(),
            target_id: self.target_id.to_string(),
            path: path.to_string(),
            operator: operator.to_string(),
            allowed: ops_list(allowed),
        });
    }

    /// Apply one level's nodes (same path in each policy, attachment order) at `path` (dotted,
    /// lower-cased; extended and restored for the children). Appends the policies that wrote
    /// something at or below this node to `writers` (each once, in order).
    fn apply<'d>(
        &mut self,
        state: &mut Node<'d>,
        level: &[Applied<'d>],
        path: &mut String,
        writers: &mut Vec<PolicyIx>,
    ) {
        let start = writers.len();
        let mut level_cc: Option<u8> = None;
        let mut setting = false;
        for a in level {
            if let Some(o) = a.node.as_object() {
                for (k, v) in o {
                    match k.as_ref() {
                        CHILD_CONTROL => {
                            if let Some(cc) = parse_cc(v) {
                                level_cc = Some(level_cc.unwrap_or(OP_ALL) & cc);
                            }
                        }
                        ASSIGN | APPEND | REMOVE => setting = true,
                        _ => {}
                    }
                }
            }
        }
        if setting {
            // 1. First @@assign in attachment order wins.
            if let Some((p, val)) = level
                .iter()
                .find_map(|a| a.node.get(ASSIGN).map(|v| (a.policy, v)))
            {
                if state.allowed & OP_ASSIGN != 0 {
                    state.value = Some(Val::One(val));
                    state.emptied = false;
                    writers.push(p);
                } else {
                    self.ignore(p, path, ASSIGN, state.allowed);
                }
            }
            // 2. Appends in attachment order.
            for a in level {
                let Some(val) = a.node.get(APPEND) else {
                    continue;
                };
                if state.allowed & OP_APPEND == 0 {
                    self.ignore(a.policy, path, APPEND, state.allowed);
                    continue;
                }
                let add: &[Json<'d>] = match val {
                    Json::Array(items) => items,
                    other => std::slice::from_ref(other),
                };
                let mut cur: Vec<&Json<'d>> =
                    state.value.take().map(Val::into_items).unwrap_or_default();
                for x in add {
                    if !cur.contains(&x) {
                        cur.push(x);
                    }
                }
                state.emptied = cur.is_empty() && state.emptied;
                state.value = Some(Val::List(cur));
                writers.push(a.policy);
            }
            // 3. Removes: union of all lists.
            let removers = || level.iter().filter(|a| a.node.get(REMOVE).is_some());
            if removers().next().is_some() {
                if state.allowed & OP_REMOVE == 0 {
                    for a in removers() {
                        self.ignore(a.policy, path, REMOVE, state.allowed);
                    }
                } else {
                    let mut gone: Vec<&Json<'d>> = Vec::new();
                    for a in removers() {
                        match a.node.get(REMOVE) {
                            Some(Json::Array(items)) => gone.extend(items.iter()),
                            Some(other) => gone.push(other),
                            None => {}
                        }
                    }
                    // Only a list loses items; a scalar setting is left as it is.
                    if let Some(v @ (Val::List(_) | Val::One(Json::Array(_)))) = state.value.take()
                    {
                        let mut items = v.into_items();
                        let before = items.len();
                        items.retain(|x| !gone.contains(x));
                        if before > 0 && items.is_empty() {
                            state.emptied = true;
                        }
                        state.value = Some(Val::List(items));
                    }
                    writers.extend(removers().map(|a| a.policy));
                }
            }
        } else {
            // Container: the level's name keys, case-folded, in the order the level's policies
            // name them, and for each name the matching child of every policy (first spelling
            // per policy) in attachment order.
            let mut names: Vec<Cow<'d, str>> = Vec::new();
            let mut children: Vec<(usize, Applied<'d>)> = Vec::new();
            for a in level {
                for (k, v) in a.node.as_object().unwrap_or(&[]) {
                    if k.starts_with("@@") {
                        continue;
                    }
                    let lk = folded(k);
                    let n = match names.iter().position(|n| *n == lk) {
                        Some(n) => n,
                        None => {
                            names.push(lk);
                            names.len() - 1
                        }
                    };
                    if !children
                        .iter()
                        .any(|(m, c)| *m == n && c.policy == a.policy)
                    {
                        children.push((
                            n,
                            Applied {
                                policy: a.policy,
                                node: v,
                            },
                        ));
                    }
                }
            }
            // A stable sort by name makes each name's children one slice, still in attachment
            // order: subs[starts[n]..starts[n + 1]].
            children.sort_by_key(|(n, _)| *n);
            let mut starts = vec![0usize; names.len() + 1];
            for (n, _) in &children {
                starts[n + 1] += 1;
            }
            for n in 0..names.len() {
                starts[n + 1] += starts[n];
            }
            let subs: Vec<Applied<'d>> = children.into_iter().map(|(_, a)| a).collect();
            // Existing children first (inherited order), then new keys in the level's order.
            let mut order: Vec<usize> = Vec::with_capacity(names.len());
            for c in &state.children {
                if let Some(n) = names.iter().position(|n| *n == c.name) {
                    order.push(n);
                }
            }
            for n in 0..names.len() {
                if !order.contains(&n) {
                    order.push(n);
                }
            }
            for n in order {
                let name = &names[n];
                let sub = &subs[starts[n]..starts[n + 1]];
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                let idx = match state.children.iter().position(|c| c.name == *name) {
                    Some(i) => Some(i),
                    None if state.allowed & (OP_ASSIGN | OP_APPEND) == 0 => {
                        for a in sub {
                            self.ignore(a.policy, path, "add_key", state.allowed);
                        }
                        None
                    }
                    None => {
                        state.children.push(Node::new(name.clone()));
                        Some(state.children.len() - 1)
                    }
                };
                if let Some(idx) = idx {
                    self.apply(&mut state.children[idx], sub, path, writers);
                    dedup_from(writers, start);
                }
                path.truncate(len);
            }
        }
        if let Some(cc) = level_cc {
            state.allowed &= cc;
        }
        dedup_from(writers, start);
        for &w in &writers[start..] {
            push_ix(&mut state.contributors, w);
        }
    }
}

/// Drops repeated entries of `v[start..]`, keeping the first of each.
fn dedup_from(v: &mut Vec<PolicyIx>, start: usize) {
    let mut w = start;
    for r in start..v.len() {
        let x = v[r];
        if !v[start..w].contains(&x) {
            v[w] = x;
            w += 1;
        }
    }
    v.truncate(w);
}

fn render(n: &Node<'_>) -> Option<Value> {
    if let Some(v) = &n.value {
        if n.emptied {
            return None;
        }
        return Some(match v {
            Val::One(j) => j.to_value(),
            Val::List(items) => Value::Array(items.iter().map(|j| j.to_value()).collect()),
        });
    }
    let mut m = Map::new();
    for c in &n.children {
        if let Some(v) = render(c) {
            m.insert(c.name.to_string(), v);
        }
    }
    if m.is_empty() {
        None
    } else {
        Some(Value::Object(m))
    }
}

/// Compute the effective policy of type `t` for the account at the end of `levels`
/// (root first, account last).
pub fn effective_policy(t: PolicyType, levels: &[Level]) -> EffectiveResult {
    if t.is_authorization() {
        return EffectiveResult::UnsupportedPolicyType;
    }
    if levels.iter().all(|l| l.policies.is_empty()) {
        return EffectiveResult::NotFound;
    }
    let mut skipped = Vec::new();
    // Every document is parsed first: the merge state borrows values from them.
    let parsed: Vec<Vec<(&str, Json<'_>)>> = levels
        .iter()
        .map(|level| {
            let mut docs = Vec::with_capacity(level.policies.len());
            for (pid, content) in &level.policies {
                match Json::parse(content) {
                    Ok(j) if j.as_object().is_some() => docs.push((pid.as_str(), j)),
                    Ok(j) => skipped.push(SkippedPolicy {
                        policy_id: pid.clone(),
                        target_id: level.target_id.clone(),
                        problem: format!("content is {}, not an object", j.type_name()),
                    }),
                    Err(e) => skipped.push(SkippedPolicy {
                        policy_id: pid.clone(),
                        target_id: level.target_id.clone(),
                        problem: e,
                    }),
                }
            }
            docs
        })
        .collect();
    let mut state = Node::new(Cow::Borrowed(""));
    let mut ignored = Vec::new();
    let mut applied: Vec<String> = Vec::new();
    for (level, docs) in levels.iter().zip(&parsed) {
        if docs.is_empty() {
            continue;
        }
        for (pid, _) in docs {
            push_unique(&mut applied, pid);
        }
        let nodes: Vec<Applied> = docs
            .iter()
            .map(|(pid, j)| Applied {
                policy: applied.iter().position(|a| a == pid).unwrap_or_default() as PolicyIx,
                node: j,
            })
            .collect();
        let mut m = Merger {
            target_id: &level.target_id,
            ids: &applied,
            ignored: &mut ignored,
        };
        m.apply(&mut state, &nodes, &mut String::new(), &mut Vec::new());
    }
    let document = render(&state).unwrap_or_else(|| Value::Object(Map::new()));
    let validation_errors = validate_effective(t, &document, &state, &applied);
    EffectiveResult::Found(EffectivePolicy {
        document,
        ignored_child_operations: ignored,
        validation_errors,
        policies_applied: applied,
        skipped_policies: skipped,
    })
}

/// Contributors of the deepest existing state node on `path`.
fn contributors(state: &Node<'_>, path: &[&str], ids: &[String]) -> Vec<String> {
    let mut n = state;
    for seg in path {
        match n.child(seg) {
            Some(c) => n = c,
            None => break,
        }
    }
    n.contributors
        .iter()
        .map(|&p| ids[p as usize].clone())
        .collect()
}

struct Findings<'a> {
    state: &'a Node<'a>,
    ids: &'a [String],
    out: Vec<EffectiveValidationError>,
}

impl Findings<'_> {
    fn add(&mut self, code: &str, path: &[&str], message: String) {
        self.out.push(EffectiveValidationError {
            error_code: code.to_string(),
            error_message: message,
            path_to_error: path.join("."),
            contributing_policies: contributors(self.state, path, self.ids),
        });
    }
}

const MAX_BACKUP_RULES: usize = 10;
const MAX_SLACK_WORKSPACES: usize = 255;
const MAX_TEAMS_TENANTS: usize = 36;

fn entries(v: Option<&Value>) -> Vec<(&String, &Value)> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// §4.6 checks on the merged document.
fn validate_effective(
    t: PolicyType,
    doc: &Value,
    state: &Node<'_>,
    ids: &[String],
) -> Vec<EffectiveValidationError> {
    let mut f = Findings {
        state,
        ids,
        out: Vec::new(),
    };
    let root = t.root_key().unwrap_or("");
    let body = doc.get(root);
    match t {
        PolicyType::BackupPolicy => {
            for (plan, pv) in entries(body) {
                match pv.get("regions").and_then(Value::as_array) {
                    Some(r) if !r.is_empty() => {}
                    _ => f.add(
                        "ELEMENTS_TOO_FEW",
                        &[root, plan, "regions"],
                        format!("backup plan \"{plan}\" must name at least one Region"),
                    ),
                }
                match pv.get("rules").and_then(Value::as_object) {
                    None => f.add(
                        "KEY_REQUIRED",
                        &[root, plan, "rules"],
                        format!("backup plan \"{plan}\" has no rules"),
                    ),
                    Some(rules) => {
                        if rules.len() > MAX_BACKUP_RULES {
                            f.add(
                                "ELEMENTS_TOO_MANY",
                                &[root, plan, "rules"],
                                format!(
                                    "backup plan \"{plan}\" has {} rules; at most {MAX_BACKUP_RULES} are allowed",
                                    rules.len()
                                ),
                            );
                        }
                        for (rule, rv) in rules {
                            if rv.get("target_backup_vault_name").is_none() {
                                f.add(
                                    "KEY_REQUIRED",
                                    &[root, plan, "rules", rule, "target_backup_vault_name"],
                                    format!("rule \"{rule}\" of backup plan \"{plan}\" needs target_backup_vault_name"),
                                );
                            }
                        }
                    }
                }
            }
        }
        PolicyType::SecurityhubPolicy => {
            if let Some(b) = body {
                for k in ["enable_in_regions", "disable_in_regions"] {
                    if b.get(k).is_none() {
                        f.add(
                            "KEY_REQUIRED",
                            &[root, k],
                            format!("{k} is required (it may be empty)"),
                        );
                    }
                }
                for (feat, fv) in entries(b.get("features")) {
                    for k in ["enable_in_regions", "disable_in_regions"] {
                        if fv.get(k).is_none() {
                            f.add(
                                "KEY_REQUIRED",
                                &[root, "features", feat, k],
                                format!("feature \"{feat}\" needs {k} (it may be empty)"),
                            );
                        }
                    }
                }
            }
        }
        PolicyType::SecurityhubCspmPolicy => {
            if let Some(c) = body.and_then(|b| b.get("cspm_enablement")) {
                for k in ["enable_in_regions", "disable_in_regions"] {
                    if c.get(k).is_none() {
                        f.add(
                            "KEY_REQUIRED",
                            &[root, "cspm_enablement", k],
                            format!("{k} is required (it may be empty)"),
                        );
                    }
                }
            }
        }
        PolicyType::ChatbotPolicy => {
            let platforms = body.and_then(|b| b.get("platforms"));
            if let Some(ws) = platforms
                .and_then(|p| p.get("slack"))
                .and_then(|s| s.get("workspaces"))
                .and_then(Value::as_array)
            {
                if ws.len() > MAX_SLACK_WORKSPACES {
                    f.add(
                        "ELEMENTS_TOO_MANY",
                        &[root, "platforms", "slack", "workspaces"],
                        format!(
                            "{} Slack workspaces; at most {MAX_SLACK_WORKSPACES}",
                            ws.len()
                        ),
                    );
                }
            }
            if let Some(tn) = platforms
                .and_then(|p| p.get("microsoft_teams"))
                .and_then(|s| s.get("tenants"))
                .and_then(Value::as_object)
            {
                if tn.len() > MAX_TEAMS_TENANTS {
                    f.add(
                        "ELEMENTS_TOO_MANY",
                        &[root, "platforms", "microsoft_teams", "tenants"],
                        format!(
                            "{} Microsoft Teams tenants; at most {MAX_TEAMS_TENANTS}",
                            tn.len()
                        ),
                    );
                }
            }
        }
        PolicyType::BedrockPolicy => {
            for (region, rv) in entries(body.and_then(|b| b.get("guardrail_inference"))) {
                for (cfg, cv) in entries(Some(rv)) {
                    if cv.get("identifier").is_none() {
                        f.add(
                            "KEY_REQUIRED",
                            &[root, "guardrail_inference", region, cfg, "identifier"],
                            format!(
                                "guardrail configuration \"{cfg}\" in {region} needs identifier"
                            ),
                        );
                    }
                }
            }
        }
        _ => {}
    }
    f.out
}
