//! The cost of strict verification per request: a typical signed Organizations call (six
//! headers, a small JSON body) and a presigned STS URL, each parsed, time-checked and verified
//! (target: under 10 µs).

use canopy_sigv4::{format_request_time, signature, verify, AuthSource, Scope, SignedRequest};
use criterion::{criterion_group, criterion_main, Criterion};

const NOW: i64 = 1_795_953_600;
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn bench(c: &mut Criterion) {
    let t = format_request_time(NOW);
    let body = br#"{"ParentId":"r-ab12","Name":"engineering-platform"}"#;
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), "127.0.0.1:4590".into()),
        ("content-type".into(), "application/x-amz-json-1.1".into()),
        ("x-amz-target".into(), "AWSOrganizationsV20161128.CreateOrganizationalUnit".into()),
        ("x-amz-date".into(), t.clone()),
        ("x-amz-user-agent".into(), "aws-sdk-rust/1.3.0 os/linux lang/rust/1.85.0".into()),
        ("content-length".into(), body.len().to_string()),
    ];
    let signed: Vec<String> = ["content-type", "host", "x-amz-date", "x-amz-target", "x-amz-user-agent"].map(String::from).to_vec();
    let scope = Scope { date: &t[..8], region: "us-east-1", service: "organizations" };
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method: "POST", path: "/", query: "", headers: &pairs, body };
    let sig = signature(&req, &scope, &signed, &t, AuthSource::Header, SECRET);
    headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIACANOPYBENCH00001/{}/us-east-1/organizations/aws4_request, SignedHeaders={}, Signature={sig}",
            &t[..8],
            signed.join(";")
        ),
    ));
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method: "POST", path: "/", query: "", headers: &pairs, body };
    assert!(verify(&req, NOW, |_| Some(SECRET.to_owned())).is_ok());
    c.bench_function("verify_header_request", |b| {
        b.iter(|| verify(std::hint::black_box(&req), NOW, |_| Some(SECRET.to_owned())).unwrap())
    });

    // A presigned STS GetCallerIdentity URL (query auth, host signed, empty body).
    let query = format!(
        "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIACANOPYBENCH00001%2F{}%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date={t}&X-Amz-Expires=60&X-Amz-SignedHeaders=host",
        &t[..8]
    );
    let host = [("host", "127.0.0.1:4590")];
    let unsigned = SignedRequest { method: "GET", path: "/", query: &query, headers: &host, body: b"" };
    let scope = Scope { date: &t[..8], region: "us-east-1", service: "sts" };
    let sig = signature(&unsigned, &scope, &["host".to_owned()], &t, AuthSource::Query, SECRET);
    let query = format!("{query}&X-Amz-Signature={sig}");
    let req = SignedRequest { query: &query, ..unsigned };
    assert!(verify(&req, NOW, |_| Some(SECRET.to_owned())).is_ok());
    c.bench_function("verify_presigned_url", |b| {
        b.iter(|| verify(std::hint::black_box(&req), NOW, |_| Some(SECRET.to_owned())).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
