//! Sign-then-verify round trips (header and presigned), and every kind of tampering fails.

use canopy_sigv4::{
    format_request_time, signature, verify, AuthSource, Scope, SigV4Error, SignedRequest, MAX_SKEW_SECS,
};
use proptest::prelude::*;

const NOW: i64 = 1_795_953_600; // 2026-11-29T12:00:00Z

struct Signed {
    headers: Vec<(String, String)>,
    query: String,
}

/// Signs like a client: header auth adds `Authorization`, presigned auth adds the query parameters.
#[allow(clippy::too_many_arguments)]
fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    secret: &str,
    region: &str,
    time: i64,
    presigned: bool,
) -> Signed {
    let akid = "AKIACANOPYTEST000001";
    let t = format_request_time(time);
    let date = &t[..8];
    let mut headers = headers.to_vec();
    let mut signed: Vec<String> = headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    signed.push("host".into());
    headers.push(("Host".into(), "127.0.0.1:4590".into()));
    if !presigned {
        headers.push(("X-Amz-Date".into(), t.clone()));
        signed.push("x-amz-date".into());
    }
    signed.sort();
    signed.dedup();
    let scope = Scope { date, region, service: "organizations" };
    let mut query = query.to_owned();
    if presigned {
        let cred = format!("{akid}%2F{date}%2F{region}%2Forganizations%2Faws4_request");
        let extra = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={cred}&X-Amz-Date={t}&X-Amz-Expires=300&X-Amz-SignedHeaders={}",
            signed.join("%3B")
        );
        query = if query.is_empty() { extra } else { format!("{query}&{extra}") };
    }
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method, path, query: &query, headers: &pairs, body };
    let source = if presigned { AuthSource::Query } else { AuthSource::Header };
    let sig = signature(&req, &scope, &signed, &t, source, secret);
    if presigned {
        query.push_str(&format!("&X-Amz-Signature={sig}"));
    } else {
        headers.push((
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={akid}/{date}/{region}/organizations/aws4_request, SignedHeaders={}, Signature={sig}",
                signed.join(";")
            ),
        ));
    }
    Signed { headers, query }
}

fn check(method: &str, path: &str, s: &Signed, body: &[u8], secret: &str, now: i64) -> Result<(), SigV4Error> {
    let pairs: Vec<(&str, &str)> = s.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method, path, query: &s.query, headers: &pairs, body };
    verify(&req, now, |akid| (akid == "AKIACANOPYTEST000001").then(|| secret.to_owned())).map(|_| ())
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("x-amz-[a-z]{1,8}|content-type|x-custom", "[ -~]{0,20}"), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn header_auth_round_trips_and_tampering_fails(
        method in "(GET|POST|PUT)",
        path in "(/|/[a-z]{1,5}|/[a-z]{1,3}/[a-z%20]{1,6})",
        query in "([a-zA-Z]{1,5}=[a-zA-Z0-9%2F]{0,6}(&[a-z]{1,3}=[a-z]{0,3}){0,2})?",
        headers in header_strategy(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        secret in "[A-Za-z0-9/+]{40}",
        region in "(us-east-1|eu-west-3|cn-north-1|us-gov-west-1)",
        skew in -MAX_SKEW_SECS..=MAX_SKEW_SECS,
        flip in any::<prop::sample::Index>(),
    ) {
        let s = sign(&method, &path, &query, &headers, &body, &secret, &region, NOW + skew, false);
        prop_assert_eq!(check(&method, &path, &s, &body, &secret, NOW), Ok(()));

        // Wrong secret.
        let mut wrong = secret.clone().into_bytes();
        wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
        prop_assert_eq!(check(&method, &path, &s, &body, &String::from_utf8(wrong).unwrap(), NOW), Err(SigV4Error::Mismatch));
        // Another method or path.
        let other = if method == "POST" { "PUT" } else { "POST" };
        prop_assert_eq!(check(other, &path, &s, &body, &secret, NOW), Err(SigV4Error::Mismatch));
        prop_assert_eq!(check(&method, &format!("{path}x"), &s, &body, &secret, NOW), Err(SigV4Error::Mismatch));
        // A body byte changed, or a byte appended.
        let mut tampered = body.clone();
        if tampered.is_empty() { tampered.push(0) } else { let i = flip.index(tampered.len()); tampered[i] ^= 1; }
        prop_assert_eq!(check(&method, &path, &s, &tampered, &secret, NOW), Err(SigV4Error::Mismatch));
        // A query parameter added.
        let mut t = Signed { headers: s.headers.clone(), query: s.query.clone() };
        t.query.push_str(if t.query.is_empty() { "z=1" } else { "&z=1" });
        prop_assert_eq!(check(&method, &path, &t, &body, &secret, NOW), Err(SigV4Error::Mismatch));
        // A signed header's value changed (host is always signed).
        let mut t = Signed { headers: s.headers.clone(), query: s.query.clone() };
        for h in t.headers.iter_mut().filter(|(n, _)| n == "Host") { h.1.push('1'); }
        prop_assert_eq!(check(&method, &path, &t, &body, &secret, NOW), Err(SigV4Error::Mismatch));
        // The signature itself altered.
        let mut t = Signed { headers: s.headers.clone(), query: s.query.clone() };
        for h in t.headers.iter_mut().filter(|(n, _)| n == "Authorization") {
            let last = h.1.pop().unwrap();
            h.1.push(if last == '0' { '1' } else { '0' });
        }
        prop_assert_eq!(check(&method, &path, &t, &body, &secret, NOW), Err(SigV4Error::Mismatch));
        // The clock moved past the window.
        let late = NOW + skew + MAX_SKEW_SECS + 1;
        prop_assert!(matches!(check(&method, &path, &s, &body, &secret, late), Err(SigV4Error::Expired(_))));
    }

    #[test]
    fn presigned_round_trips_and_tampering_fails(
        query in "(Action=GetCallerIdentity&Version=2011-06-15)?",
        secret in "[A-Za-z0-9/+]{40}",
        age in 0i64..=300,
    ) {
        let s = sign("GET", "/", &query, &[], b"", &secret, "us-east-1", NOW - age, true);
        prop_assert_eq!(check("GET", "/", &s, b"", &secret, NOW), Ok(()));
        // Expired (X-Amz-Expires=300).
        prop_assert!(matches!(check("GET", "/", &s, b"", &secret, NOW - age + 301), Err(SigV4Error::Expired(_))));
        // The expiry changed.
        let t = Signed { headers: s.headers.clone(), query: s.query.replace("X-Amz-Expires=300", "X-Amz-Expires=301") };
        prop_assert_eq!(check("GET", "/", &t, b"", &secret, NOW), Err(SigV4Error::Mismatch));
        prop_assert_eq!(check("GET", "/", &s, b"", "another-secret", NOW), Err(SigV4Error::Mismatch));
    }
}

#[test]
fn missing_and_malformed() {
    let req = SignedRequest { method: "POST", path: "/", query: "", headers: &[("Host", "h")], body: b"" };
    assert_eq!(verify(&req, NOW, |_| None), Err(SigV4Error::Missing));
    let headers = [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/organizations/aws4_request")];
    let req = SignedRequest { headers: &headers, ..req };
    assert!(matches!(verify(&req, NOW, |_| None), Err(SigV4Error::Incomplete(m)) if m.contains("SignedHeaders")));
    // No X-Amz-Date.
    let headers = [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=00")];
    let req = SignedRequest { headers: &headers, ..req };
    assert!(matches!(verify(&req, NOW, |_| None), Err(SigV4Error::Incomplete(m)) if m.contains("X-Amz-Date")));
    // Host not signed.
    let headers = [("Host", "h"), ("X-Amz-Date", "20261129T120000Z"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/organizations/aws4_request, SignedHeaders=x-amz-date, Signature=00")];
    let req = SignedRequest { headers: &headers, ..req };
    assert!(matches!(verify(&req, NOW, |_| None), Err(SigV4Error::Incomplete(m)) if m.contains("'Host'")));
    // Scope date differs from the request date.
    let headers = [("Host", "h"), ("X-Amz-Date", "20261129T120000Z"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261128/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")];
    let req = SignedRequest { headers: &headers, ..req };
    assert!(matches!(verify(&req, NOW, |_| None), Err(SigV4Error::Incomplete(m)) if m.contains("'20261128' != '20261129'")));
    // Unknown key only after the parse and clock checks pass.
    let headers = [("Host", "h"), ("X-Amz-Date", "20261129T120000Z"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")];
    let req = SignedRequest { headers: &headers, ..req };
    assert_eq!(verify(&req, NOW, |_| None), Err(SigV4Error::UnknownKey));
    // A claimed payload hash that is not the body's.
    let headers = [("Host", "h"), ("X-Amz-Date", "20261129T120000Z"), ("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")];
    let req = SignedRequest { headers: &headers, body: b"{}", ..req };
    assert_eq!(verify(&req, NOW, |_| Some("s".into())), Err(SigV4Error::PayloadHashMismatch));
}

#[test]
fn unsigned_payload_and_session_token_are_carried() {
    let headers = vec![
        ("X-Amz-Content-Sha256".to_owned(), "UNSIGNED-PAYLOAD".to_owned()),
        ("X-Amz-Security-Token".to_owned(), "tok".to_owned()),
    ];
    let s = sign("POST", "/", "", &headers, b"{}", "secret", "us-east-1", NOW, false);
    // The body is not covered by an unsigned payload...
    assert_eq!(check("POST", "/", &s, b"{\"x\":1}", "secret", NOW), Ok(()));
    let pairs: Vec<(&str, &str)> = s.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method: "POST", path: "/", query: "", headers: &pairs, body: b"{}" };
    let v = verify(&req, NOW, |_| Some("secret".into())).unwrap();
    // ...and the session token comes back for the caller to check.
    assert_eq!(v.session_token.as_deref(), Some("tok"));
}
