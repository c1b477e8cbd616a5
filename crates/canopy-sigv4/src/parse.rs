//! Parsers. Every function here is total: malformed input yields a [`ParseError`], never a panic
//! (a proptest in `tests/` holds that).

use crate::{AuthSource, Credential, ParseError, ParsedAuth, ALGORITHM, SCOPE_TERMINATOR};

/// Parses an `Authorization` header value:
/// `AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/organizations/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=<hex>`.
/// Components may come in any order, separated by commas with optional whitespace.
pub fn parse_authorization_header(value: &str) -> Result<ParsedAuth, ParseError> {
    let value = value.trim();
    let (algorithm, rest) = match value.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&value[..i], value[i..].trim_start()),
        None => (value, ""),
    };
    if algorithm != ALGORITHM {
        return Err(ParseError::UnsupportedAlgorithm(truncate(algorithm)));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (key, val) = part.split_once('=').ok_or_else(|| ParseError::MalformedComponent(truncate(part)))?;
        let slot = match key.trim() {
            "Credential" => (&mut credential, "Credential"),
            "SignedHeaders" => (&mut signed_headers, "SignedHeaders"),
            "Signature" => (&mut signature, "Signature"),
            _ => return Err(ParseError::MalformedComponent(truncate(part))),
        };
        if slot.0.is_some() {
            return Err(ParseError::DuplicateComponent(slot.1));
        }
        *slot.0 = Some(val.trim());
    }

    let credential = parse_credential(credential.ok_or(ParseError::MissingComponent("Credential"))?)?;
    let signed_headers = parse_signed_headers(signed_headers.ok_or(ParseError::MissingComponent("SignedHeaders"))?)?;
    let signature = parse_signature(signature.ok_or(ParseError::MissingComponent("Signature"))?)?;
    Ok(ParsedAuth {
        access_key_id: credential.access_key_id,
        date: credential.date,
        region: credential.region,
        service: credential.service,
        signed_headers,
        signature,
        source: AuthSource::Header,
        request_time: None,
        expires_secs: None,
    })
}

/// Parses the SigV4 parameters of a raw (still percent-encoded) query string, without the `?`.
///
/// Returns `Ok(None)` when the query carries no SigV4 parameter at all (an ordinary request),
/// and an error when it carries some of them but they are incomplete or malformed.
pub fn parse_presigned_query(query: &str) -> Result<Option<ParsedAuth>, ParseError> {
    const NAMES: [&str; 6] =
        ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires"];
    let mut values: [Option<String>; 6] = Default::default();
    let mut any = false;
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (raw_key, raw_val) = pair.split_once('=').unwrap_or((pair, ""));
        // Parameter names are plain ASCII; compare the raw key first to skip decoding others.
        let Some(index) = NAMES.iter().position(|n| *n == raw_key) else {
            continue;
        };
        any = true;
        if values[index].is_some() {
            return Err(ParseError::DuplicateComponent(NAMES[index]));
        }
        values[index] = Some(percent_decode(raw_val).ok_or(ParseError::InvalidEncoding(NAMES[index]))?);
    }
    if !any {
        return Ok(None);
    }
    let [algorithm, credential, date, signed_headers, signature, expires] = values;

    let algorithm = algorithm.ok_or(ParseError::MissingComponent("X-Amz-Algorithm"))?;
    if algorithm != ALGORITHM {
        return Err(ParseError::UnsupportedAlgorithm(truncate(&algorithm)));
    }
    let credential = parse_credential(&credential.ok_or(ParseError::MissingComponent("X-Amz-Credential"))?)?;
    let date = date.ok_or(ParseError::MissingComponent("X-Amz-Date"))?;
    if !is_request_time(&date) {
        return Err(ParseError::InvalidRequestTime(truncate(&date)));
    }
    let signed_headers =
        parse_signed_headers(&signed_headers.ok_or(ParseError::MissingComponent("X-Amz-SignedHeaders"))?)?;
    let signature = parse_signature(&signature.ok_or(ParseError::MissingComponent("X-Amz-Signature"))?)?;
    let expires_secs = match expires {
        None => None,
        Some(e) => Some(parse_u64(&e).ok_or_else(|| ParseError::InvalidExpires(truncate(&e)))?),
    };
    Ok(Some(ParsedAuth {
        access_key_id: credential.access_key_id,
        date: credential.date,
        region: credential.region,
        service: credential.service,
        signed_headers,
        signature,
        source: AuthSource::Query,
        request_time: Some(date),
        expires_secs,
    }))
}

/// Parses `AKID/yyyymmdd/region/service/aws4_request`. The scope is read from the right, so the
/// access key id is everything before the last four fields.
pub fn parse_credential(value: &str) -> Result<Credential, ParseError> {
    let malformed = || ParseError::MalformedCredential(truncate(value));
    let mut fields = value.rsplitn(5, '/');
    let terminator = fields.next().ok_or_else(malformed)?;
    let service = fields.next().ok_or_else(malformed)?;
    let region = fields.next().ok_or_else(malformed)?;
    let date = fields.next().ok_or_else(malformed)?;
    let access_key_id = fields.next().ok_or_else(malformed)?;

    if access_key_id.is_empty() {
        return Err(ParseError::EmptyAccessKeyId);
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::InvalidDate(truncate(date)));
    }
    if region.is_empty() {
        return Err(ParseError::EmptyScopeField("region"));
    }
    if service.is_empty() {
        return Err(ParseError::EmptyScopeField("service"));
    }
    if terminator != SCOPE_TERMINATOR {
        return Err(ParseError::InvalidTerminator(truncate(terminator)));
    }
    Ok(Credential {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    })
}

fn parse_signed_headers(value: &str) -> Result<Vec<String>, ParseError> {
    let headers: Vec<String> = value.split(';').map(str::to_owned).collect();
    let valid = |h: &String| {
        !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase() && b != b';')
    };
    if headers.iter().all(valid) {
        Ok(headers)
    } else {
        Err(ParseError::InvalidSignedHeaders(truncate(value)))
    }
}

fn parse_signature(value: &str) -> Result<String, ParseError> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ParseError::InvalidSignature(truncate(value)))
    }
}

/// `yyyymmddThhmmssZ`.
fn is_request_time(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
}

fn parse_u64(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Decodes `%XX` escapes (RFC 3986; `+` stays `+`). `None` for a bad escape or non-UTF-8 result.
pub fn percent_decode(value: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_owned());
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Echoes at most 128 characters of client input back in an error message.
fn truncate(value: &str) -> String {
    match value.char_indices().nth(128) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";

    #[test]
    fn header_happy_path() {
        let h = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={SIG}"
        );
        let p = parse_authorization_header(&h).unwrap();
        assert_eq!(p.access_key_id, "AKIDEXAMPLE");
        assert_eq!(p.date, "20261129");
        assert_eq!(p.region, "us-east-1");
        assert_eq!(p.service, "organizations");
        assert_eq!(p.signed_headers, vec!["host", "x-amz-date", "x-amz-target"]);
        assert_eq!(p.signature, SIG);
        assert_eq!(p.source, AuthSource::Header);
    }

    #[test]
    fn header_without_spaces_and_reordered() {
        let h = format!("AWS4-HMAC-SHA256 Signature={SIG},SignedHeaders=host,Credential=111122223333/20261129/cn-north-1/organizations/aws4_request");
        let p = parse_authorization_header(&h).unwrap();
        assert_eq!(p.access_key_id, "111122223333");
        assert_eq!(p.region, "cn-north-1");
    }

    #[test]
    fn header_errors() {
        let cred = "Credential=AKID/20261129/us-east-1/organizations/aws4_request";
        let cases: Vec<(String, ParseError)> = vec![
            ("AWS AKID:sig".into(), ParseError::UnsupportedAlgorithm("AWS".into())),
            ("".into(), ParseError::UnsupportedAlgorithm("".into())),
            ("AWS4-HMAC-SHA256".into(), ParseError::MissingComponent("Credential")),
            (format!("AWS4-HMAC-SHA256 {cred}, Signature=ab"), ParseError::MissingComponent("SignedHeaders")),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host"), ParseError::MissingComponent("Signature")),
            (format!("AWS4-HMAC-SHA256 {cred}, {cred}"), ParseError::DuplicateComponent("Credential")),
            (format!("AWS4-HMAC-SHA256 {cred}, Bogus"), ParseError::MalformedComponent("Bogus".into())),
            (format!("AWS4-HMAC-SHA256 {cred}, Foo=bar"), ParseError::MalformedComponent("Foo=bar".into())),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=Host, Signature=ab"), ParseError::InvalidSignedHeaders("Host".into())),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x, Signature=ab"), ParseError::InvalidSignedHeaders("host;;x".into())),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature=xyz"), ParseError::InvalidSignature("xyz".into())),
            (format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature="), ParseError::InvalidSignature("".into())),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_authorization_header(&input), Err(expected), "input: {input}");
        }
    }

    #[test]
    fn credential_errors() {
        assert_eq!(parse_credential("AKID/20261129/us-east-1/organizations"), Err(ParseError::MalformedCredential("AKID/20261129/us-east-1/organizations".into())));
        assert_eq!(parse_credential("/20261129/us-east-1/organizations/aws4_request"), Err(ParseError::EmptyAccessKeyId));
        assert_eq!(parse_credential("AKID/2026112/us-east-1/organizations/aws4_request"), Err(ParseError::InvalidDate("2026112".into())));
        assert_eq!(parse_credential("AKID/2026112x/us-east-1/organizations/aws4_request"), Err(ParseError::InvalidDate("2026112x".into())));
        assert_eq!(parse_credential("AKID/20261129//organizations/aws4_request"), Err(ParseError::EmptyScopeField("region")));
        assert_eq!(parse_credential("AKID/20261129/us-east-1//aws4_request"), Err(ParseError::EmptyScopeField("service")));
        assert_eq!(parse_credential("AKID/20261129/us-east-1/organizations/aws5_request"), Err(ParseError::InvalidTerminator("aws5_request".into())));
        // An access key id containing '/' still parses: the scope is read from the right.
        assert_eq!(parse_credential("A/B/20261129/r/s/aws4_request").unwrap().access_key_id, "A/B");
    }

    #[test]
    fn presigned_happy_path() {
        let q = format!(
            "Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=210987654321%2F20261129%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261129T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature={SIG}"
        );
        let p = parse_presigned_query(&q).unwrap().unwrap();
        assert_eq!(p.access_key_id, "210987654321");
        assert_eq!(p.region, "eu-west-1");
        assert_eq!(p.service, "sts");
        assert_eq!(p.signed_headers, vec!["host"]);
        assert_eq!(p.request_time.as_deref(), Some("20261129T120000Z"));
        assert_eq!(p.expires_secs, Some(900));
        assert_eq!(p.source, AuthSource::Query);
    }

    #[test]
    fn presigned_absent_and_errors() {
        assert_eq!(parse_presigned_query(""), Ok(None));
        assert_eq!(parse_presigned_query("a=b&c"), Ok(None));
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261129%2Fus-east-1%2Forganizations%2Faws4_request&X-Amz-Date=20261129T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab";
        assert!(parse_presigned_query(base).unwrap().is_some());
        assert_eq!(
            parse_presigned_query("X-Amz-Signature=ab"),
            Err(ParseError::MissingComponent("X-Amz-Algorithm"))
        );
        assert_eq!(
            parse_presigned_query(&base.replace("AWS4-HMAC-SHA256", "HMAC")),
            Err(ParseError::UnsupportedAlgorithm("HMAC".into()))
        );
        assert_eq!(
            parse_presigned_query(&base.replace("X-Amz-Date=20261129T120000Z", "X-Amz-Date=yesterday")),
            Err(ParseError::InvalidRequestTime("yesterday".into()))
        );
        assert_eq!(
            parse_presigned_query(&base.replace("%2Fus", "%ZZus")),
            Err(ParseError::InvalidEncoding("X-Amz-Credential"))
        );
        assert_eq!(
            parse_presigned_query(&format!("{base}&X-Amz-Signature=cd")),
            Err(ParseError::DuplicateComponent("X-Amz-Signature"))
        );
        assert_eq!(
            parse_presigned_query(&format!("{base}&X-Amz-Expires=-1")),
            Err(ParseError::InvalidExpires("-1".into()))
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%2fc+d").as_deref(), Some("a/b/c+d"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
    }

    #[test]
    fn long_input_is_truncated_in_errors() {
        let long = "x".repeat(1000);
        match parse_authorization_header(&long) {
            Err(ParseError::UnsupportedAlgorithm(s)) => assert!(s.chars().count() <= 129),
            other => panic!("unexpected {other:?}"),
        }
    }
}
