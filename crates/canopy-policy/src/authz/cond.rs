//! Condition operators (§3.6): compilation and evaluation with optional detail.

use super::arn::{ArnParts, ArnVal};
use super::context::{Context, CtxValue};
use super::glob::{Glob, Template};
use super::ConditionExplanation;
use crate::error::PolicyError;
use canopy_calendar::{days_from_civil, days_in_month};
use crate::json::Json;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOp {
    None,
    ForAnyValue,
    ForAllValues,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const BASES: &[(&str, Base)] = &[
    ("StringEquals", Base::StringEquals),
    ("StringNotEquals", Base::StringNotEquals),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Base::StringNotEqualsIgnoreCase),
    ("StringLike", Base::StringLike),
    ("StringNotLike", Base::StringNotLike),
    ("NumericEquals", Base::NumericEquals),
    ("NumericNotEquals", Base::NumericNotEquals),
    ("NumericLessThan", Base::NumericLessThan),
    ("NumericLessThanEquals", Base::NumericLessThanEquals),
    ("NumericGreaterThan", Base::NumericGreaterThan),
    ("NumericGreaterThanEquals", Base::NumericGreaterThanEquals),
    ("DateEquals", Base::DateEquals),
    ("DateNotEquals", Base::DateNotEquals),
    ("DateLessThan", Base::DateLessThan),
    ("DateLessThanEquals", Base::DateLessThanEquals),
    ("DateGreaterThan", Base::DateGreaterThan),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals),
    ("Bool", Base::Bool),
    ("BinaryEquals", Base::BinaryEquals),
    ("IpAddress", Base::IpAddress),
    ("NotIpAddress", Base::NotIpAddress),
    ("ArnEquals", Base::ArnEquals),
    ("ArnLike", Base::ArnLike),
    ("ArnNotEquals", Base::ArnNotEquals),
    ("ArnNotLike", Base::ArnNotLike),
    ("Null", Base::Null),
];

impl Base {
    fn parse(s: &str) -> Option<Base> {
        BASES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, b)| *b)
    }

    pub(crate) fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NumericNotEquals
                | Base::DateNotEquals
                | Base::NotIpAddress
                | Base::ArnNotEquals
                | Base::ArnNotLike
        )
    }
}

#[derive(Clone, Debug)]
enum StrVal {
    Static(String),
    Dyn(Template),
}

#[derive(Clone, Debug)]
enum GlobVal {
    Static(Glob),
    Dyn(Template),
}

#[derive(Clone, Debug)]
enum PVal {
    /// StringEquals(IgnoreCase) (static value pre-lower-cased for IgnoreCase), Bool
    /// (pre-lower-cased), BinaryEquals.
    Str(StrVal),
    Like(GlobVal),
    Num(Option<Decimal>),
    Date(Option<i128>),
    Ip(Option<(IpAddr, u8)>),
    Arn(ArnVal),
    Null(Option<bool>),
}

/// One `"<Operator>": { "<key>": values }` entry.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub(crate) op_text: String,
    pub(crate) key_text: String,
    key_lc: String,
    key_hash: u64,
    set: SetOp,
    base: Base,
    if_exists: bool,
    values: Vec<PVal>,
    value_text: Vec<String>,
    /// Everything the result depends on besides the request (operator, key, compiled
    /// values), and its hash: equal signatures evaluate alike, across policies.
    sig: Box<str>,
    fp: u64,
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let n = prefix.len();
    (s.len() >= n && s.is_char_boundary(n) && s[..n].eq_ignore_ascii_case(prefix)).then(|| &s[n..])
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let n = suffix.len();
    (s.len() >= n
        && s.is_char_boundary(s.len() - n)
        && s[s.len() - n..].eq_ignore_ascii_case(suffix))
    .then(|| &s[..s.len() - n])
}

/// Compile a statement's `Condition` object.
pub(crate) fn compile_block(p: &str, c: &Json, vars: bool) -> Result<Vec<Condition>, PolicyError> {
    let ops = c
        .as_object()
        .ok_or_else(|| PolicyError::malformed(p, "Condition must be an object"))?;
    let mut out = Vec::new();
    for (op, block) in ops {
        let op_path = format!("{p}.{op}");
        let mut rest = op.as_str();
        let mut set = SetOp::None;
        if let Some(r) = strip_prefix_ci(rest, "ForAnyValue:") {
            set = SetOp::ForAnyValue;
            rest = r;
        } else if let Some(r) = strip_prefix_ci(rest, "ForAllValues:") {
            set = SetOp::ForAllValues;
            rest = r;
        }
        let mut if_exists = false;
        let base = match Base::parse(rest) {
            Some(b) => b,
            None => {
                let b = strip_suffix_ci(rest, "IfExists")
                    .and_then(Base::parse)
                    .filter(|b| *b != Base::Null)
                    .ok_or_else(|| {
                        PolicyError::malformed(&op_path, "unknown condition operator")
                    })?;
                if_exists = true;
                b
            }
        };
        let keys = block.as_object().ok_or_else(|| {
            PolicyError::malformed(&op_path, "must be an object of condition keys")
        })?;
        for (key, vals) in keys {
            let kp = format!("{op_path}.{key}");
            let items: Vec<&Json> = match vals {
                Json::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut values = Vec::with_capacity(items.len());
            let mut value_text = Vec::with_capacity(items.len());
            for v in items {
                let text = match v {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string(),
                    Json::Bool(b) => b.to_string(),
                    _ => {
                        return Err(PolicyError::malformed(
                            &kp,
                            "condition values must be strings",
                        ))
                    }
                };
                values.push(compile_value(base, &text, vars));
                value_text.push(text);
            }
            let key_lc = key.to_ascii_lowercase();
            let sig: Box<str> = format!("{set:?}|{base:?}|{if_exists}|{key_lc}|{values:?}").into();
            out.push(Condition {
                op_text: op.clone(),
                key_text: key.clone(),
                key_hash: super::context::key_hash(&key_lc),
                key_lc,
                set,
                base,
                if_exists,
                values,
                value_text,
                fp: super::context::key_hash(&sig),
                sig,
            });
        }
    }
    Ok(out)
}

fn compile_value(base: Base, text: &str, vars: bool) -> PVal {
    use Base::*;
    let tmpl = || Template::parse(text, vars);
    let str_val = |lower: bool| {
        let t = tmpl();
        if t.is_dynamic() {
            StrVal::Dyn(t)
        } else {
            let s = t.static_string();
            StrVal::Static(if lower { s.to_lowercase() } else { s })
        }
    };
    match base {
        StringEquals | StringNotEquals => PVal::Str(str_val(false)),
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase | Bool => PVal::Str(str_val(true)),
        BinaryEquals => PVal::Str(StrVal::Static(text.to_string())),
        StringLike | StringNotLike => {
            let t = tmpl();
            PVal::Like(if t.is_dynamic() {
                GlobVal::Dyn(t)
            } else {
                GlobVal::Static(Glob::from_toks(t.static_toks(true)))
            })
        }
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => PVal::Num(parse_number(text)),
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => PVal::Date(parse_date(text)),
        IpAddress | NotIpAddress => PVal::Ip(parse_cidr(text)),
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => PVal::Arn(ArnVal::new(text, vars)),
        Null => PVal::Null(if text.eq_ignore_ascii_case("true") {
            Some(true)
        } else if text.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        }),
    }
}

/// Integer or decimal, optional sign.
pub(crate) fn parse_number(s: &str) -> Option<Decimal> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.unwrap_or("").trim_end_matches('0');
    let zero = int.is_empty() && frac.is_empty();
    Some(Decimal { neg: neg && !zero, int: int.into(), frac: frac.into() })
}

/// A Numeric operator's value, compared exactly ("integer or decimal comparison",
/// policy-semantics §3.6): as f64, 9007199254740993 equalled 9007199254740992 and 0.1 equalled
/// 0.10000000000000001. Normalized: no leading zeros in `int`, no trailing zeros in `frac`, and
/// zero is never negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    neg: bool,
    int: Box<str>,
    frac: Box<str>,
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let magnitude = || {
            (self.int.len().cmp(&other.int.len()))
                .then_with(|| self.int.cmp(&other.int))
                .then_with(|| self.frac.cmp(&other.frac))
        };
        match (self.neg, other.neg) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => magnitude(),
            (true, true) => magnitude().reverse(),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// ISO 8601 date or date-time (`Z` or offset) or integer epoch seconds → epoch milliseconds.
pub(crate) fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if let Some(n) = digits(s) {
        return Some(n as i128 * 1000);
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !s.is_char_boundary(10) {
        return None;
    }
    let y = digits(&s[..4])?;
    let mo = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    // A calendar date as written: no 30 February or 31 April rolled over into the next month.
    if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) {
        return None;
    }
    let mut ms: i128 = days_from_civil(y, mo, d) as i128 * 86_400_000;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    let time = rest.strip_prefix(['T', 't', ' '])?;
    // Split off the zone.
    let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, ""),
    };
    let mut cp = clock.split(':');
    let h = digits(cp.next()?)?;
    let mi = digits(cp.next()?)?;
    let (sec, frac_ms) = match cp.next() {
        None => (0, 0),
        Some(sv) => {
            let (whole, frac) = match sv.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sv, None),
            };
            let fm = match frac {
                None => 0,
                Some(f) => {
                    digits(f)?;
                    let f3: String = f.chars().chain("000".chars()).take(3).collect();
                    digits(&f3)?
                }
            };
            (digits(whole)?, fm)
        }
    };
    // 24:00:00 is the end of a day (ISO 8601); no other time past 23:59:59.
    let end_of_day = h == 24 && mi == 0 && sec == 0 && frac_ms == 0;
    if cp.next().is_some() || (h > 23 && !end_of_day) || mi > 59 || sec > 59 {
        return None;
    }
    ms += ((h * 3600 + mi * 60 + sec) * 1000 + frac_ms) as i128;
    match zone {
        "" | "Z" | "z" => {}
        z => {
            let sign: i128 = if z.starts_with('-') { 1 } else { -1 };
            let zz = &z[1..];
            if !zz.is_ascii() {
                return None;
            }
            let (zh, zm) = match zz.split_once(':') {
                Some((a, b)) => (digits(a)?, digits(b)?),
                None if zz.len() == 4 => (digits(&zz[..2])?, digits(&zz[2..])?),
                None if zz.len() == 2 => (digits(zz)?, 0),
                None => return None,
            };
            if zh > 23 || zm > 59 {
                return None;
            }
            ms += sign * ((zh * 3600 + zm * 60) * 1000) as i128;
        }
    }
    Some(ms)
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let s = s.trim();
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = a.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) => {
            let n = digits(p)?;
            if n > max as i64 {
                return None;
            }
            n as u8
        }
    };
    Some((ip, prefix))
}

fn ip_in(req: &str, net: &(IpAddr, u8)) -> bool {
    let addr = req.trim();
    let addr = addr.split_once('/').map_or(addr, |(a, _)| a);
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net.0) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = net.1.min(32) as u32;
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = net.1.min(128) as u32;
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        _ => false,
    }
}

fn cmp_ok<T: PartialOrd>(base: Base, r: T, p: T) -> bool {
    use Base::*;
    match base {
        NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => r == p,
        NumericLessThan | DateLessThan => r < p,
        NumericLessThanEquals | DateLessThanEquals => r <= p,
        NumericGreaterThan | DateGreaterThan => r > p,
        NumericGreaterThanEquals | DateGreaterThanEquals => r >= p,
        _ => false,
    }
}

/// Condition results shared by every policy of one evaluation (the per-policy memo only
/// covers one policy): landing-zone SCPs repeat the same conditions across many policies.
#[derive(Default)]
pub(crate) struct SharedConditions<'c> {
    seen: Vec<(&'c Condition, bool)>,
}

/// Bound on remembered conditions: the scan stays short; beyond it conditions are evaluated.
const SHARED_MAX: usize = 64;

impl<'c> SharedConditions<'c> {
    pub(crate) fn eval(&mut self, c: &'c Condition, ctx: &Context) -> bool {
        if let Some((_, r)) = self.seen.iter().find(|(o, _)| o.fp == c.fp && o.sig == c.sig) {
            return *r;
        }
        let r = c.eval(ctx, None);
        if self.seen.len() < SHARED_MAX {
            self.seen.push((c, r));
        }
        r
    }
}

impl Condition {
    /// Same operator, key and values (conditions are interned per policy).
    pub(crate) fn same_as(&self, o: &Condition) -> bool {
        self.set == o.set
            && self.base == o.base
            && self.if_exists == o.if_exists
            && self.key_lc == o.key_lc
            && self.value_text == o.value_text
    }

    /// The positive form of the operator: does request value `s` match policy value `pv`?
    /// An unresolvable variable makes the value non-matching and sets `unresolved`.
    fn pos_match(&self, pv: &PVal, s: &str, ctx: &Context, unresolved: &mut bool) -> bool {
        let ci = matches!(
            self.base,
            Base::StringEqualsIgnoreCase | Base::StringNotEqualsIgnoreCase | Base::Bool
        );
        match pv {
            PVal::Str(StrVal::Static(p)) => {
                if ci {
                    eq_ci(s, p)
                } else {
                    s == p
                }
            }
            PVal::Str(StrVal::Dyn(t)) => match t.resolve_string(ctx) {
                Ok(p) => {
                    if ci {
                        eq_ci(s, &p.to_lowercase())
                    } else {
                        s == p
                    }
                }
                Err(_) => {
                    *unresolved = true;
                    false
                }
            },
            PVal::Like(GlobVal::Static(g)) => g.is_match(s.as_bytes()),
            PVal::Like(GlobVal::Dyn(t)) => {
                let mut toks = Vec::with_capacity(32);
                match t.resolve_toks(ctx, true, &mut toks) {
                    Ok(()) => Glob::from_toks(toks).is_match(s.as_bytes()),
                    Err(_) => {
                        *unresolved = true;
                        false
                    }
                }
            }
            PVal::Num(p) => match (p, parse_number(s)) {
                (Some(p), Some(r)) => cmp_ok(self.base, &r, p),
                _ => false,
            },
            PVal::Date(p) => match (p, parse_date(s)) {
                (Some(p), Some(r)) => cmp_ok(self.base, r, *p),
                _ => false,
            },
            PVal::Ip(p) => p.as_ref().is_some_and(|n| ip_in(s, n)),
            PVal::Arn(a) => match a.matches(&ArnParts::new(s), ctx) {
                Ok(b) => b,
                Err(_) => {
                    *unresolved = true;
                    false
                }
            },
            PVal::Null(_) => false,
        }
    }

    /// Does request value `s` satisfy the operator (negated: matches none of the values)?
    fn satisfies(&self, s: &str, ctx: &Context, unresolved: &mut bool) -> bool {
        let any = self
            .values
            .iter()
            .any(|pv| self.pos_match(pv, s, ctx, unresolved));
        any != self.base.negated()
    }

    /// Evaluate; with `detail`, fill in the explanation (and evaluate every value).
    pub(crate) fn eval(&self, ctx: &Context, detail: Option<&mut ConditionExplanation>) -> bool {
        let rv = ctx.get_hashed(self.key_hash, &self.key_lc);
        let absent = rv.is_none_or(CtxValue::is_empty);
        let mut d = ConditionExplanation::default();
        let want = detail.is_some();
        let result = if self.base == Base::Null {
            self.values
                .iter()
                .any(|pv| matches!(pv, PVal::Null(Some(b)) if *b == absent))
        } else if absent {
            // The set operator decides for a missing key: ForAnyValue has no value to satisfy
            // it, IfExists or not (AWS denies an Allow on `ForAnyValue:StringEqualsIfExists`
            // when the key is absent).
            let r = match self.set {
                SetOp::ForAnyValue => false,
                SetOp::ForAllValues => true,
                SetOp::None => self.if_exists || self.base.negated(),
            };
            d.matched_because_missing = r;
            d.failed_because_missing = !r;
            r
        } else {
            let vals = rv.map(CtxValue::values).unwrap_or(&[]);
            let multi = matches!(rv, Some(CtxValue::Multi(_)));
            let mut unresolved = false;
            let r = match self.set {
                SetOp::None if multi => {
                    d.failed_because_multivalued = true;
                    false
                }
                _ if want => {
                    let per: Vec<bool> = vals
                        .iter()
                        .map(|s| self.satisfies(s, ctx, &mut unresolved))
                        .collect();
                    let r = match self.set {
                        SetOp::ForAllValues => per.iter().all(|b| *b),
                        _ => per.iter().any(|b| *b),
                    };
                    d.request_value_results = per;
                    r
                }
                SetOp::ForAllValues => vals.iter().all(|s| self.satisfies(s, ctx, &mut unresolved)),
                _ => vals.iter().any(|s| self.satisfies(s, ctx, &mut unresolved)),
            };
            d.unresolved_variable = unresolved;
            r
        };
        if let Some(out) = detail {
            d.operator = self.op_text.clone();
            d.key = self.key_text.clone();
            d.request_values = rv.map(|v| v.values().to_vec());
            d.policy_values = self
                .value_text
                .iter()
                .zip(&self.values)
                .map(|(t, pv)| resolved_text(t, pv, ctx))
                .collect();
            d.matched = result;
            *out = d;
        }
        result
    }
}

fn resolved_text(text: &str, pv: &PVal, ctx: &Context) -> String {
    let t = match pv {
        PVal::Str(StrVal::Dyn(t)) | PVal::Like(GlobVal::Dyn(t)) => t.resolve_string(ctx).ok(),
        PVal::Arn(a) => a.resolved_text(ctx),
        _ => None,
    };
    t.unwrap_or_else(|| text.to_string())
}

/// Case-insensitive equality; `p` is already lower-cased.
fn eq_ci(s: &str, p: &str) -> bool {
    if s.is_ascii() {
        s.len() == p.len()
            && s.bytes()
                .zip(p.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
    } else {
        s.to_lowercase() == p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date("86400"), Some(86_400_000));
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(
            parse_date("2020-02-29T12:30:15.5Z"),
            Some(1_582_979_415_500)
        );
        assert_eq!(parse_date("2020-13-01"), None);
        // Not rolled over into the next month or day.
        assert_eq!(parse_date("2021-02-29"), None);
        assert_eq!(parse_date("2021-04-31"), None);
        assert_eq!(parse_date("2021-01-01T24:30:00Z"), None);
        assert_eq!(parse_date("2021-01-01T23:59:60Z"), None);
        assert_eq!(parse_date("2021-01-01T10:00:00+24:00"), None);
        assert_eq!(parse_date("2021-01-01T24:00:00Z"), parse_date("2021-01-02"));
        assert_eq!(parse_date("nope"), None);
        assert_eq!(parse_date("2020-01-01T10"), None);
        assert_eq!(parse_date("2020-01-01T10:00+1é1"), None);
        assert_eq!(parse_date("2020-01-01T10:00:00.é"), None);
    }

    #[test]
    fn numbers_and_ips() {
        let n = |s: &str| parse_number(s).unwrap();
        assert_eq!(parse_number("1e3"), None);
        assert!(n("-1.5") < n("-1.25") && n("-1.25") < n("0") && n("0") < n("0.5"));
        assert_eq!(n("-0"), n("0.000"));
        assert_eq!(n("007.50"), n("7.5"));
        assert!(n("10") > n("9.999"));
        // Exact where f64 is not.
        assert!(n("9007199254740993") > n("9007199254740992"));
        assert!(n("0.10000000000000001") > n("0.1"));
        assert!(n("100000000000000000001") > n("100000000000000000000"));
        assert!(ip_in("192.0.2.10", &parse_cidr("192.0.2.0/24").unwrap()));
        assert!(!ip_in("192.0.3.10", &parse_cidr("192.0.2.0/24").unwrap()));
        assert!(!ip_in("::1", &parse_cidr("0.0.0.0/0").unwrap()));
        assert!(ip_in("2001:db8::1", &parse_cidr("2001:db8::/32").unwrap()));
        assert!(ip_in("10.0.0.1", &parse_cidr("0.0.0.0/0").unwrap()));
    }
}
