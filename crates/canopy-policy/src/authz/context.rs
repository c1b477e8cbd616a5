//! Request context: condition keys with case-insensitive names (§3.6) and the organization keys
//! the engine derives itself (§3.8).

use super::{AuthzRequest, OrgView, PathNode, PrincipalKind, TargetType};
use std::borrow::Cow;

/// The value of one condition key: a single string or, for multi-valued keys
/// (`aws:TagKeys`, `aws:CalledVia`, ...), a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    /// A multi-valued key with no values counts as absent.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, ContextValue::Multi(v) if v.is_empty())
    }

    pub(crate) fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(s) => std::slice::from_ref(s),
            ContextValue::Multi(v) => v,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::Single(s.to_string())
    }
}

impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::Single(s)
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        ContextValue::Multi(v)
    }
}

/// Condition keys of a request. Key names compare case-insensitively; the spelling first
/// inserted is kept for explanations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Sorted by the lower-cased key: (lower-cased key, key as written, value).
    entries: Vec<(Cow<'static, str>, Cow<'static, str>, ContextValue)>,
    /// `key_hash` of each entry, parallel to `entries`.
    hashes: Vec<u64>,
}

/// FNV-1a of a lower-cased key (conditions store it at compile time).
pub(crate) fn key_hash(lc: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in lc.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(crate) type CtxValue = ContextValue;

static EMPTY: RequestContext = RequestContext::new();

/// What conditions and variables see: the caller's context and the derived keys, without
/// copying either.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Context<'a> {
    first: &'a RequestContext,
    second: &'a RequestContext,
}

impl Default for Context<'static> {
    fn default() -> Self {
        Context {
            first: &EMPTY,
            second: &EMPTY,
        }
    }
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        caller: &'a RequestContext,
        derived: &'a RequestContext,
        caller_wins: bool,
    ) -> Self {
        if caller_wins {
            Context {
                first: caller,
                second: derived,
            }
        } else {
            Context {
                first: derived,
                second: caller,
            }
        }
    }

    pub(crate) fn get_lc(&self, lc: &str) -> Option<&'a ContextValue> {
        self.first.get_lc(lc).or_else(|| self.second.get_lc(lc))
    }

    pub(crate) fn get_hashed(&self, hash: u64, lc: &str) -> Option<&'a ContextValue> {
        self.first
            .get_hashed(hash, lc)
            .or_else(|| self.second.get_hashed(hash, lc))
    }
}

impl RequestContext {
    pub const fn new() -> Self {
        RequestContext {
            entries: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// Set `key` (any case) to `value`, replacing an earlier value of the same key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<ContextValue>) {
        let key = key.into();
        let lc = key.to_ascii_lowercase();
        self.put(Cow::Owned(lc), Cow::Owned(key), value.into(), true);
    }

    fn put(
        &mut self,
        lc: Cow<'static, str>,
        key: Cow<'static, str>,
        value: ContextValue,
        replace: bool,
    ) -> bool {
        match self.entries.binary_search_by(|e| (*e.0).cmp(&*lc)) {
            Ok(i) => {
                if replace {
                    self.entries[i].2 = value;
                }
                false
            }
            Err(i) => {
                self.hashes.insert(i, key_hash(&lc));
                self.entries.insert(i, (lc, key, value));
                true
            }
        }
    }

    /// Insert a derived key given in both spellings (no allocation for the names).
    pub(crate) fn insert_static(
        &mut self,
        lc: &'static str,
        key: &'static str,
        value: ContextValue,
    ) {
        self.put(Cow::Borrowed(lc), Cow::Borrowed(key), value, true);
    }

    /// The value of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.get_lc(&key.to_ascii_lowercase())
    }

    /// Lookup with an already lower-cased key.
    pub(crate) fn get_lc(&self, lc: &str) -> Option<&ContextValue> {
        self.entries
            .binary_search_by(|e| (*e.0).cmp(lc))
            .ok()
            .map(|i| &self.entries[i].2)
    }

    /// Lookup with a lower-cased key and its [`key_hash`].
    pub(crate) fn get_hashed(&self, hash: u64, lc: &str) -> Option<&ContextValue> {
        match self.hashes.iter().position(|h| *h == hash) {
            None => None,
            Some(i) if self.entries[i].0 == lc => Some(&self.entries[i].2),
            // A hash collision with another key: fall back to the ordered lookup.
            Some(_) => self.get_lc(lc),
        }
    }

    /// Entries as (key as first written, value), sorted case-insensitively.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|(_, k, v)| (&**k, v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `o-xxx/r-xxx/ou-xxx/.../` for a path root → account (the account node is left out).
pub(crate) fn org_path_string(org_id: &str, path: &[PathNode]) -> String {
    let mut s = String::with_capacity(64);
    s.push_str(org_id);
    s.push('/');
    for n in path {
        if n.target_type == TargetType::Account {
            continue;
        }
        s.push_str(&n.id);
        s.push('/');
    }
    s
}

/// `arn:aws:sts::111:assumed-role/Role/session` → `arn:aws:iam::111:role/Role`.
fn principal_arn(req: &AuthzRequest) -> Option<String> {
    let p = &req.principal;
    match p.kind {
        PrincipalKind::AwsService | PrincipalKind::Anonymous => return None,
        PrincipalKind::Root => {
            if let Some(a) = p.account() {
                let partition = p.arn.split(':').nth(1).filter(|s| !s.is_empty());
                return Some(format!("arn:{}:iam::{a}:root", partition.unwrap_or("aws")));
            }
        }
        _ => {}
    }
    let f: Vec<&str> = p.arn.splitn(6, ':').collect();
    if f.len() == 6 && f[2] == "sts" {
        if let Some(rest) = f[5].strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or(rest);
            return Some(format!("arn:{}:iam::{}:role/{role}", f[1], f[4]));
        }
    }
    Some(p.arn.clone())
}

/// Lower-cased spelling of a derived key name (static, so no allocation per evaluation).
fn lower(k: &'static str) -> &'static str {
    const NAMES: &[(&str, &str)] = &[
        ("aws:PrincipalIsAWSService", "aws:principalisawsservice"),
        ("aws:PrincipalServiceName", "aws:principalservicename"),
        ("aws:PrincipalType", "aws:principaltype"),
        ("aws:PrincipalArn", "aws:principalarn"),
        ("aws:PrincipalAccount", "aws:principalaccount"),
        ("aws:PrincipalOrgID", "aws:principalorgid"),
        ("aws:PrincipalOrgPaths", "aws:principalorgpaths"),
        ("aws:ResourceAccount", "aws:resourceaccount"),
        ("aws:ResourceOrgID", "aws:resourceorgid"),
        ("aws:ResourceOrgPaths", "aws:resourceorgpaths"),
    ];
    NAMES.iter().find(|(n, _)| *n == k).map_or("", |(_, l)| l)
}

/// The keys the engine derives (§3.8) from the organization and the request.
pub(crate) fn derive_keys(org: &OrgView, req: &AuthzRequest) -> RequestContext {
    let mut ctx = RequestContext {
        entries: Vec::with_capacity(12),
        hashes: Vec::with_capacity(12),
    };
    macro_rules! put {
        ($k:literal, $v:expr) => {{
            const LC: &str = $k;
            ctx.insert_static(lower(LC), LC, $v)
        }};
    }
    let kind = req.principal.kind;
    let signed = kind != PrincipalKind::Anonymous;
    if signed {
        put!(
            "aws:PrincipalIsAWSService",
            (if kind == PrincipalKind::AwsService {
                "true"
            } else {
                "false"
            })
            .into()
        );
    }
    if kind == PrincipalKind::AwsService {
        put!(
            "aws:PrincipalServiceName",
            req.principal.arn.as_str().into()
        );
    }
    let ptype = match kind {
        PrincipalKind::Root => Some("Account"),
        PrincipalKind::IamUser => Some("User"),
        PrincipalKind::AssumedRole | PrincipalKind::ServiceLinkedRole => Some("AssumedRole"),
        PrincipalKind::FederatedUser => Some("FederatedUser"),
        PrincipalKind::Anonymous => Some("Anonymous"),
        PrincipalKind::AwsService => None,
    };
    if let Some(t) = ptype {
        put!("aws:PrincipalType", t.into());
    }
    if signed && kind != PrincipalKind::AwsService {
        if let Some(a) = principal_arn(req) {
            put!("aws:PrincipalArn", a.into());
        }
        if let Some(acct) = req.principal.account() {
            put!("aws:PrincipalAccount", acct.into());
        }
        if let (Some(id), Some(path)) = (&org.org_id, &org.principal_path) {
            put!("aws:PrincipalOrgID", id.as_str().into());
            put!(
                "aws:PrincipalOrgPaths",
                ContextValue::Multi(vec![org_path_string(id, path)])
            );
        }
    }
    if let Some(ra) = &req.resource_account {
        put!("aws:ResourceAccount", ra.as_str().into());
        if let (Some(id), Some(path)) = (&org.org_id, &org.resource_path) {
            put!("aws:ResourceOrgID", id.as_str().into());
            put!(
                "aws:ResourceOrgPaths",
                ContextValue::Multi(vec![org_path_string(id, path)])
            );
        }
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_keys() {
        let mut c = RequestContext::new();
        c.insert("aws:PrincipalTag/Team", "blue");
        assert_eq!(
            c.get("AWS:principaltag/team"),
            Some(&ContextValue::Single("blue".into()))
        );
        c.insert("aws:principaltag/team", "red");
        assert_eq!(c.len(), 1);
        assert_eq!(c.iter().next().unwrap().0, "aws:PrincipalTag/Team");
    }

    #[test]
    fn derived_names_lower_case() {
        for k in [
            "aws:PrincipalIsAWSService",
            "aws:PrincipalServiceName",
            "aws:PrincipalType",
            "aws:PrincipalArn",
            "aws:PrincipalAccount",
            "aws:PrincipalOrgID",
            "aws:PrincipalOrgPaths",
            "aws:ResourceAccount",
            "aws:ResourceOrgID",
            "aws:ResourceOrgPaths",
        ] {
            assert_eq!(lower(k), k.to_ascii_lowercase());
        }
    }
}
