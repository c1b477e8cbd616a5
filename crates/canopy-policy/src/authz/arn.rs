//! Six-field ARN matching (§3.5): `arn`, partition, service, region, account compare
//! case-insensitively, the resource field case-sensitively; wildcards never cross the first five
//! separators.

use super::context::Context;
use super::glob::{toks_to_string, Glob, Template, Tok, Unresolved};

/// A compiled resource / ARN pattern.
#[derive(Clone, Debug)]
pub(crate) enum ArnPat {
    /// `"*"`: matches everything, including requests without a resource.
    Any,
    Fields(Box<[Glob; 6]>),
    /// Not an ARN and no trailing wildcard: never matches.
    Never,
}

impl ArnPat {
    pub(crate) fn from_toks(toks: &[Tok]) -> ArnPat {
        if toks == [Tok::Star] {
            return ArnPat::Any;
        }
        let mut fields: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in toks {
            if *t == Tok::Lit(b':') && fields.len() < 6 {
                fields.push(Vec::new());
            } else if let Some(f) = fields.last_mut() {
                f.push(*t);
            }
        }
        if fields.len() < 6 {
            if toks.last() != Some(&Tok::Star) {
                return ArnPat::Never;
            }
            while fields.len() < 6 {
                fields.push(vec![Tok::Star]);
            }
        }
        for f in fields.iter_mut().take(5) {
            for t in f.iter_mut() {
                if let Tok::Lit(b) = t {
                    *b = b.to_ascii_lowercase();
                }
            }
        }
        let mut it = fields.into_iter().map(Glob::from_toks);
        let mut next = || it.next().unwrap_or(Glob::Any);
        ArnPat::Fields(Box::new([next(), next(), next(), next(), next(), next()]))
    }

    pub(crate) fn matches(&self, req: &ArnParts) -> bool {
        match self {
            ArnPat::Any => true,
            ArnPat::Never => false,
            ArnPat::Fields(g) => {
                !req.star
                    && g[..5]
                        .iter()
                        .enumerate()
                        .all(|(i, g)| g.is_match_ci(req.field(i)))
                    && g[5].is_match(req.field(5))
            }
        }
    }
}

/// A policy ARN value: compiled once when it has no variables, else per request.
#[derive(Clone, Debug)]
pub(crate) enum ArnVal {
    Static(ArnPat),
    Dyn(Template),
}

impl ArnVal {
    pub(crate) fn new(text: &str, vars: bool) -> ArnVal {
        if text == "*" {
            return ArnVal::Static(ArnPat::Any);
        }
        let t = Template::parse(text, vars);
        if t.is_dynamic() {
            ArnVal::Dyn(t)
        } else {
            ArnVal::Static(ArnPat::from_toks(&t.static_toks(true)))
        }
    }

    /// Does the value match `req`? `Err` when a variable cannot be resolved.
    pub(crate) fn matches(&self, req: &ArnParts, ctx: &Context) -> Result<bool, Unresolved> {
        match self {
            ArnVal::Static(p) => Ok(p.matches(req)),
            ArnVal::Dyn(t) => {
                let mut toks = Vec::with_capacity(64);
                t.resolve_toks(ctx, true, &mut toks)?;
                Ok(ArnPat::from_toks(&toks).matches(req))
            }
        }
    }

    /// The pattern after variable substitution (for explanations).
    pub(crate) fn resolved_text(&self, ctx: &Context) -> Option<String> {
        match self {
            ArnVal::Static(_) => None,
            ArnVal::Dyn(t) => {
                let mut toks = Vec::new();
                t.resolve_toks(ctx, true, &mut toks).ok()?;
                Some(toks_to_string(&toks))
            }
        }
    }
}

/// A request ARN split into its six fields (borrowed; the first five compare ignoring case).
#[derive(Clone, Debug)]
pub(crate) struct ArnParts<'a> {
    text: &'a str,
    ranges: [(usize, usize); 6],
    /// The request carries no resource (`"*"`).
    pub(crate) star: bool,
}

impl<'a> ArnParts<'a> {
    pub(crate) fn new(s: &'a str) -> ArnParts<'a> {
        let mut ranges = [(s.len(), s.len()); 6];
        let mut field = 0;
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            if b == b':' {
                ranges[field] = (start, i);
                field += 1;
                start = i + 1;
                if field == 5 {
                    break;
                }
            }
        }
        ranges[field] = (start, s.len());
        ArnParts {
            text: s,
            ranges,
            star: s == "*",
        }
    }

    fn field(&self, i: usize) -> &[u8] {
        let (a, b) = self.ranges[i];
        self.text.as_bytes().get(a..b).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        ArnVal::new(p, true)
            .matches(&ArnParts::new(s), &Context::default())
            .unwrap()
    }

    #[test]
    fn arn_fields() {
        assert!(m("*", "*"));
        assert!(!m("arn:*", "*"));
        assert!(m(
            "arn:aws:iam::*:role/role-to-deny",
            "arn:aws:iam::333333333333:role/role-to-deny"
        ));
        assert!(!m(
            "arn:aws:iam::*:role/role-to-deny",
            "arn:aws:iam::333333333333:role/Role-To-Deny"
        ));
        assert!(m("ARN:AWS:S3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
        assert!(!m("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/a"));
        // `*` never crosses a field separator.
        assert!(!m("arn:aws:*:role/x", "arn:aws:iam::1:role/x"));
        assert!(m("arn:aws:*", "arn:aws:iam::1:role/x"));
        assert!(m("arn:aws:s3:*", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:s3", "arn:aws:s3:::b"));
        assert!(m(
            "arn:aws:bedrock:*::foundation-model/m",
            "arn:aws:bedrock:us-east-1::foundation-model/m"
        ));
        assert!(m("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*"));
        assert!(!m("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/x"));
    }
}
