//! The one glob matcher (spec §6.2) shared by actions, resources, `StringLike` and `ArnLike`,
//! plus policy-variable templates (§3.7).
//!
//! Patterns are tokenised once: `*` (any run, including none), `?` (exactly one character) and
//! literal bytes. Case-insensitive callers lower-case both sides before matching.

use super::context::{Context, CtxValue};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Tok {
    Lit(u8),
    Star,
    One,
}

/// A compiled glob, specialised for the common shapes.
#[derive(Clone, Debug)]
pub(crate) enum Glob {
    /// `*`
    Any,
    /// No wildcard.
    Exact(Box<[u8]>),
    /// Literal then one trailing `*`.
    Prefix(Box<[u8]>),
    /// Anything else.
    Toks(Box<[Tok]>),
}

pub(crate) fn tokens(s: &str, wild: bool, out: &mut Vec<Tok>) {
    for b in s.bytes() {
        out.push(match b {
            b'*' if wild => Tok::Star,
            b'?' if wild => Tok::One,
            other => Tok::Lit(other),
        });
    }
}

impl Glob {
    /// Compile `s` with active wildcards.
    pub(crate) fn new(s: &str) -> Glob {
        let mut t = Vec::with_capacity(s.len());
        tokens(s, true, &mut t);
        Glob::from_toks(t)
    }

    pub(crate) fn from_toks(t: Vec<Tok>) -> Glob {
        let lits = |ts: &[Tok]| -> Option<Box<[u8]>> {
            ts.iter()
                .map(|t| match t {
                    Tok::Lit(b) => Some(*b),
                    _ => None,
                })
                .collect::<Option<Vec<u8>>>()
                .map(Vec::into_boxed_slice)
        };
        if t.len() == 1 && t[0] == Tok::Star {
            return Glob::Any;
        }
        if let Some(l) = lits(&t) {
            return Glob::Exact(l);
        }
        if t.last() == Some(&Tok::Star) {
            if let Some(l) = lits(&t[..t.len() - 1]) {
                return Glob::Prefix(l);
            }
        }
        Glob::Toks(t.into_boxed_slice())
    }

    pub(crate) fn is_match(&self, s: &[u8]) -> bool {
        match self {
            Glob::Any => true,
            Glob::Exact(l) => **l == *s,
            Glob::Prefix(l) => s.starts_with(l),
            Glob::Toks(t) => glob_match(t, s, false),
        }
    }

    /// Match ignoring ASCII case; the pattern must already be lower-case.
    pub(crate) fn is_match_ci(&self, s: &[u8]) -> bool {
        match self {
            Glob::Any => true,
            Glob::Exact(l) => l.eq_ignore_ascii_case(s),
            Glob::Prefix(l) => s.len() >= l.len() && l.eq_ignore_ascii_case(&s[..l.len()]),
            Glob::Toks(t) => glob_match(t, s, true),
        }
    }
}

fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        _ => 1, // continuation byte: should not start a character
    }
}

/// Iterative wildcard match with single-star backtracking (linear-ish, no recursion).
pub(crate) fn glob_match(p: &[Tok], s: &[u8], ci: bool) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                Tok::Star => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                Tok::One => {
                    si = (si + utf8_len(s[si])).min(s.len());
                    pi += 1;
                    continue;
                }
                Tok::Lit(b)
                    if b == if ci {
                        s[si].to_ascii_lowercase()
                    } else {
                        s[si]
                    } =>
                {
                    pi += 1;
                    si += 1;
                    continue;
                }
                Tok::Lit(_) => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                let next = (ss + utf8_len(s[ss])).min(s.len());
                star = Some((sp, next));
                pi = sp + 1;
                si = next;
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == Tok::Star {
        pi += 1;
    }
    pi == p.len()
}

/// One piece of a string that may hold policy variables.
#[derive(Clone, Debug)]
pub(crate) enum Part {
    /// Policy text: wildcards active where the consumer is a glob.
    Text(String),
    /// `${*}`, `${?}`, `${$}`: always literal.
    Escaped(u8),
    /// `${key}` or `${key, 'default'}`; `key` lower-cased.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A policy string split into literal text and variables.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub(crate) parts: Vec<Part>,
}

/// Why a template did not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unresolved {
    /// The variable key as written (lower-cased).
    pub(crate) key: String,
}

impl Template {
    /// Split `s` at `${...}`. With `vars == false` (Version 2008-10-17) the text is literal.
    pub(crate) fn parse(s: &str, vars: bool) -> Template {
        let mut parts = Vec::new();
        if !vars {
            parts.push(Part::Text(s.to_string()));
            return Template { parts };
        }
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            let Some(j) = rest[i + 2..].find('}') else {
                break;
            };
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            let inner = rest[i + 2..i + 2 + j].trim();
            match inner {
                "*" => parts.push(Part::Escaped(b'*')),
                "?" => parts.push(Part::Escaped(b'?')),
                "$" => parts.push(Part::Escaped(b'$')),
                _ => {
                    let (key, default) = match inner.split_once(',') {
                        Some((k, d)) => {
                            let d = d.trim();
                            let d = d
                                .strip_prefix('\'')
                                .and_then(|x| x.strip_suffix('\''))
                                .unwrap_or(d);
                            (k.trim(), Some(d.to_string()))
                        }
                        None => (inner, None),
                    };
                    parts.push(Part::Var {
                        key: key.to_ascii_lowercase(),
                        default,
                    });
                }
            }
            rest = &rest[i + 2 + j + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Template { parts }
    }

    /// True when resolution needs the request (a variable is present).
    pub(crate) fn is_dynamic(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var { .. }))
    }

    fn var_value<'c>(
        key: &str,
        default: &'c Option<String>,
        ctx: &'c Context,
    ) -> Result<&'c str, Unresolved> {
        match ctx.get_lc(key) {
            Some(CtxValue::Single(v)) => Ok(v.as_str()),
            // Multi-valued keys never resolve (§3.7).
            Some(CtxValue::Multi(_)) | None => match default {
                Some(d) => Ok(d.as_str()),
                None => Err(Unresolved {
                    key: key.to_string(),
                }),
            },
        }
    }

    /// Resolve into tokens: `Text` keeps its wildcards when `wild`, everything else is literal.
    pub(crate) fn resolve_toks(
        &self,
        ctx: &Context,
        wild: bool,
        out: &mut Vec<Tok>,
    ) -> Result<(), Unresolved> {
        for p in &self.parts {
            match p {
                Part::Text(t) => tokens(t, wild, out),
                Part::Escaped(b) => out.push(Tok::Lit(*b)),
                Part::Var { key, default } => {
                    let v = Self::var_value(key, default, ctx)?;
                    tokens(v, false, out);
                }
            }
        }
        Ok(())
    }

    /// Resolve into a plain string (escapes give their literal character).
    pub(crate) fn resolve_string(&self, ctx: &Context) -> Result<String, Unresolved> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => s.push_str(t),
                Part::Escaped(b) => s.push(*b as char),
                Part::Var { key, default } => s.push_str(Self::var_value(key, default, ctx)?),
            }
        }
        Ok(s)
    }

    /// Resolve without a request (only valid when `!is_dynamic()`).
    pub(crate) fn static_string(&self) -> String {
        self.resolve_string(&Context::default()).unwrap_or_default()
    }

    pub(crate) fn static_toks(&self, wild: bool) -> Vec<Tok> {
        let mut t = Vec::new();
        let _ = self.resolve_toks(&Context::default(), wild, &mut t);
        t
    }
}

/// Render tokens back into text (for explanations).
pub(crate) fn toks_to_string(t: &[Tok]) -> String {
    let mut b = Vec::with_capacity(t.len());
    for x in t {
        b.push(match x {
            Tok::Lit(c) => *c,
            Tok::Star => b'*',
            Tok::One => b'?',
        });
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).is_match(s.as_bytes())
    }

    #[test]
    fn globs() {
        assert!(m("*", ""));
        assert!(m("s3:*Object", "s3:PutObject"));
        assert!(!m("s3:*Object", "s3:PutObjectAcl"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaybzz"));
        assert!(!m("*a*b", "xxaybzz"));
        assert!(m("abc", "abc"));
        assert!(m("ab*", "ab"));
        assert!(!m("ab*", "a"));
        assert!(m("**", "x"));
        assert!(m("*?", "x"));
        assert!(!m("*?", ""));
    }

    #[test]
    fn templates() {
        let t = Template::parse("a${*}b${aws:UserName, 'x y'}c${?}${$}", true);
        assert_eq!(t.resolve_string(&Context::default()).unwrap(), "a*bx yc?$");
        let t = Template::parse("home/${aws:username}/*", true);
        assert!(t.is_dynamic());
        assert!(t.resolve_string(&Context::default()).is_err());
        let t = Template::parse("x${unterminated", true);
        assert_eq!(t.static_string(), "x${unterminated");
        let t = Template::parse("${aws:x}", false);
        assert_eq!(t.static_string(), "${aws:x}");
    }
}
