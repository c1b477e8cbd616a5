//! The wire protocol through a real socket with hand-written HTTP/1.1 requests, so that malformed
//! input reaches the server exactly as sent.

use std::collections::HashMap;
use std::sync::Arc;

use canopy_core::{BoxFuture, CoreConfig, OpError, Store, StoreError, StoreResult, TxFn};
use canopy_server::testing::TestServer;
use canopy_server::{AuthMode, ServerConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TARGET: &str = "AWSOrganizationsV20161128.";

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
    /// Asserts the AWS JSON error shape and returns `__type`.
    fn error_type(&self) -> String {
        let v = self.json();
        let t = v["__type"].as_str().unwrap_or_else(|| panic!("no __type in {v}")).to_owned();
        assert!(v["Message"].is_string(), "no Message in {v}");
        assert_eq!(self.header("x-amzn-errortype"), Some(t.as_str()), "x-amzn-ErrorType header");
        assert_request_id(self);
        assert_eq!(self.header("content-type"), Some("application/x-amz-json-1.1"));
        t
    }
}

fn assert_request_id(r: &Reply) {
    let id = r.header("x-amzn-requestid").expect("x-amzn-RequestId header");
    assert_eq!(id.len(), 36, "request id {id:?} is a uuid");
}

/// Sends raw bytes, reads the whole answer (the request asks to close the connection).
async fn raw(server: &TestServer, request: &[u8]) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    parse_reply(&buf)
}

fn parse_reply(buf: &[u8]) -> Reply {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = std::str::from_utf8(&buf[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: HashMap<String, String> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn auth_header(access_key: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20261129/{region}/organizations/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
         Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
}

/// A well-formed Organizations call with optional target and auth header.
fn request(target: Option<&str>, auth: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = target {
        r.push_str(&format!("X-Amz-Target: {t}\r\n"));
    }
    if let Some(a) = auth {
        r.push_str(&format!("Authorization: {a}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

async fn call(server: &TestServer, op: &str, body: &str) -> Reply {
    raw(server, &request(Some(&format!("{TARGET}{op}")), None, body.as_bytes())).await
}

async fn call_as(server: &TestServer, access_key: &str, region: &str, op: &str, body: &str) -> Reply {
    let auth = auth_header(access_key, region);
    raw(server, &request(Some(&format!("{TARGET}{op}")), Some(&auth), body.as_bytes())).await
}

async fn get(server: &TestServer, path: &str) -> Reply {
    raw(server, format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes()).await
}

async fn post_empty(server: &TestServer, path: &str) -> Reply {
    raw(server, format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").as_bytes())
        .await
}

#[tokio::test]
async fn success_has_content_type_and_request_id() {
    let server = TestServer::start().await;
    let r = call(&server, "CreateOrganization", r#"{"FeatureSet":"ALL"}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_request_id(&r);
    let v = r.json();
    assert!(v["Organization"]["Id"].as_str().unwrap().starts_with("o-"));
    assert!(v["Organization"]["Arn"].as_str().unwrap().starts_with("arn:aws:organizations::123456789012:"));

    let r2 = call(&server, "DescribeOrganization", "{}").await;
    assert_eq!(r2.status, 200);
    assert_ne!(r.header("x-amzn-requestid"), r2.header("x-amzn-requestid"), "request ids differ");
}

#[tokio::test]
async fn malformed_json_is_a_client_error() {
    let server = TestServer::start().await;
    for body in [r#"{"FeatureSet":"#, "{,}", "nul", r#"{"FeatureSet":"ALL"} trailing"#] {
        let r = call(&server, "CreateOrganization", body).await;
        assert_eq!(r.status, 400, "body {body:?}");
        let t = r.error_type();
        assert_eq!(t, "SerializationException", "body {body:?}: {}", String::from_utf8_lossy(&r.body));
    }
}

#[tokio::test]
async fn non_object_json_is_a_client_error() {
    let server = TestServer::start().await;
    for body in ["[]", "[1,2]", "42", r#""ALL""#, "null", "true"] {
        let r = call(&server, "CreateOrganization", body).await;
        assert_eq!(r.status, 400, "body {body:?}");
        r.error_type();
    }
}

#[tokio::test]
async fn wrong_member_types_are_client_errors() {
    let server = TestServer::start().await;
    for (op, body) in [
        ("CreateOrganization", r#"{"FeatureSet":5}"#),
        ("CreateOrganization", r#"{"FeatureSet":["ALL"]}"#),
        ("ListRoots", r#"{"MaxResults":"ten"}"#),
        ("ListRoots", r#"{"MaxResults":1.5}"#),
        ("DescribeAccount", r#"{"AccountId":123456789012}"#),
    ] {
        let r = call(&server, op, body).await;
        assert_eq!(r.status, 400, "{op} {body}");
        let t = r.error_type();
        assert!(
            t == "SerializationException" || t == "InvalidInputException",
            "{op} {body}: {t} {}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

#[tokio::test]
async fn invalid_utf8_is_a_client_error() {
    let server = TestServer::start().await;
    let body: &[u8] = b"{\"FeatureSet\":\"AL\xff\xfeL\"}";
    let r = raw(&server, &request(Some(&format!("{TARGET}CreateOrganization")), None, body)).await;
    assert_eq!(r.status, 400);
    r.error_type();
}

#[tokio::test]
async fn missing_target_is_unknown_operation() {
    let server = TestServer::start().await;
    let r = raw(&server, &request(None, None, b"{}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type(), "UnknownOperationException");
    assert!(r.json()["Message"].as_str().unwrap().contains("X-Amz-Target"));
}

#[tokio::test]
async fn unknown_target_is_unknown_operation_naming_it() {
    let server = TestServer::start().await;
    for target in [
        "AWSOrganizationsV20161128.FlyToTheMoon",
        "AmazonSQS.CreateOrganization",
        "CreateOrganization",
        "AWSOrganizationsV20161128.",
        "AWSOrganizationsV20161128.createOrganization",
    ] {
        let r = raw(&server, &request(Some(target), None, b"{}")).await;
        assert_eq!(r.status, 400, "{target}");
        assert_eq!(r.error_type(), "UnknownOperationException", "{target}");
        let message = r.json()["Message"].as_str().unwrap().to_owned();
        assert!(message.contains(target), "{message:?} names {target:?}");
    }
}

#[tokio::test]
async fn repeated_target_or_authorization_headers_are_refused() {
    let server = TestServer::start().await;
    // Two targets: neither runs (a proxy may have checked the other one).
    let with_headers = |extra: &str| {
        format!("POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n{extra}\r\n{{}}").into_bytes()
    };
    let r = raw(&server, &with_headers(&format!("X-Amz-Target: {TARGET}CreateOrganization\r\nX-Amz-Target: {TARGET}DescribeOrganization\r\n"))).await;
    assert_eq!((r.status, r.error_type().as_str()), (400, "UnknownOperationException"));
    assert!(r.json()["Message"].as_str().unwrap().contains("Multiple X-Amz-Target"), "{}", String::from_utf8_lossy(&r.body));
    let r = call(&server, "DescribeOrganization", "{}").await;
    assert_eq!(r.error_type(), "AWSOrganizationsNotInUseException", "nothing was created");
    // Two signatures: refused before anything runs.
    let auth = |account: &str| format!("Authorization: AWS4-HMAC-SHA256 Credential={account}/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=ab\r\n");
    let r = raw(&server, &with_headers(&format!("X-Amz-Target: {TARGET}CreateOrganization\r\n{}{}", auth("111111111111"), auth("222222222222")))).await;
    assert_eq!((r.status, r.error_type().as_str()), (400, "IncompleteSignatureException"), "{}", String::from_utf8_lossy(&r.body));
}

/// A CreateOrganization request whose body is `chunks` chunks of `size` spaces, chunked.
fn chunked_create_organization(chunks: usize, size: usize) -> Vec<u8> {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Amz-Target: {TARGET}CreateOrganization\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b' '; size];
    for _ in 0..chunks {
        req.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        req.extend_from_slice(&chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

#[tokio::test]
async fn oversized_body_is_413() {
    let server = TestServer::start().await;
    // Declared length over the limit.
    let big = format!(r#"{{"FeatureSet":"ALL","Pad":"{}"}}"#, "x".repeat(1024 * 1024 + 10));
    let r = call(&server, "CreateOrganization", &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "RequestEntityTooLargeException");

    // Chunked, no declared length: the limit still holds while reading.
    let r = raw(&server, &chunked_create_organization(5, 256 * 1024)).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "RequestEntityTooLargeException");

    // Just under the limit is read (and then judged on its content).
    let fits = format!(r#"{{"FeatureSet":"ALL","Pad":"{}"}}"#, "x".repeat(1000));
    assert_eq!(call(&server, "CreateOrganization", &fits).await.status, 200);
}

#[tokio::test]
async fn a_client_that_sends_all_of_a_large_refused_body_still_reads_the_413() {
    // botocore and http.client write the whole body before they read: the server reads and
    // drops it, so they get the answer, not a reset connection.
    let server = TestServer::start().await;
    let big = format!(r#"{{"FeatureSet":"ALL","Pad":"{}"}}"#, "x".repeat(16 * 1024 * 1024));
    let r = call(&server, "CreateOrganization", &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "RequestEntityTooLargeException");
}

#[tokio::test]
async fn a_client_that_sends_all_of_a_large_refused_chunked_body_still_reads_the_413() {
    // The same with no declared length: the server reads and drops the rest of the chunks.
    let server = TestServer::start().await;
    let r = raw(&server, &chunked_create_organization(256, 64 * 1024)).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_type(), "RequestEntityTooLargeException");
}

#[tokio::test]
async fn body_limit_is_configurable() {
    let store = canopy_store::open("memory").unwrap();
    let canopy = canopy_core::Canopy::new(store, CoreConfig::default());
    let server = TestServer::start_with_server_config(
        canopy,
        ServerConfig { max_body_bytes: 64, ..ServerConfig::default() },
    )
    .await;
    let r = call(&server, "CreateOrganization", &format!(r#"{{"FeatureSet":"ALL","P":"{}"}}"#, "x".repeat(64))).await;
    assert_eq!(r.status, 413);
    assert_eq!(call(&server, "CreateOrganization", r#"{"FeatureSet":"ALL"}"#).await.status, 200);
}

/// A server whose read timeout is short enough to wait out in a test.
async fn server_with_read_timeout(timeout: std::time::Duration) -> TestServer {
    let store = canopy_store::open("memory").unwrap();
    let canopy = canopy_core::Canopy::new(store, CoreConfig::default());
    TestServer::start_with_server_config(canopy, ServerConfig { read_timeout: timeout, ..ServerConfig::default() }).await
}

#[tokio::test]
async fn a_stalled_body_gets_408_after_the_read_timeout() {
    let server = server_with_read_timeout(std::time::Duration::from_millis(300)).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}CreateOrganization\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    // The server answers and closes; the test gives up long before a hang would end.
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut buf)).await.expect("answered").unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "{:?}", started.elapsed());
    let r = parse_reply(&buf);
    assert_eq!(r.status, 408);
    assert_eq!(r.error_type(), "RequestTimeoutException");
    // Nothing was done: the organization does not exist.
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.error_type(), "AWSOrganizationsNotInUseException");
}

#[tokio::test]
async fn a_client_that_never_reads_its_answers_is_disconnected_after_the_read_timeout() {
    let server = server_with_read_timeout(std::time::Duration::from_millis(300)).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let (_reader, mut writer) = stream.into_split();
    // Pipelined requests, far more answers (about 20 MB) than the socket buffers hold, none of
    // them read. Once the answers back up the server stops reading requests, and the writes
    // block; once the server gives the connection up, they fail. Kept open, they would block
    // for ever.
    let one = format!("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}DescribeOrganization\r\nContent-Length: 2\r\n\r\n{{}}");
    let all = one.repeat(60_000).into_bytes();
    let started = std::time::Instant::now();
    let sent = tokio::time::timeout(std::time::Duration::from_secs(60), writer.write_all(&all)).await;
    let sent = sent.expect("the server still held the connection after 60 s");
    assert!(sent.is_err(), "the server read every request: its answers never backed up");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "{:?}", started.elapsed());
    // The server still serves others.
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.error_type(), "AWSOrganizationsNotInUseException");
}

#[tokio::test]
async fn request_heads_up_to_the_connection_buffer_are_read() {
    let server = TestServer::start().await;
    let with_header = |size: usize| {
        format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Amz-Target: {TARGET}DescribeOrganization\r\nX-Padding: {}\r\nContent-Length: 2\r\n\r\n{{}}",
            "a".repeat(size)
        )
        .into_bytes()
    };
    // A 32 KiB header is read; a head over the 64 KiB connection buffer is refused by hyper (400).
    assert_eq!(raw(&server, &with_header(32 * 1024)).await.error_type(), "AWSOrganizationsNotInUseException");
    assert_eq!(raw(&server, &with_header(80 * 1024)).await.status, 400);
}

#[tokio::test]
async fn bodies_wait_for_memory_held_by_stalled_ones() {
    // 100 kB of body memory beyond each body's first 64 KiB.
    let store = canopy_store::open("memory").unwrap();
    let canopy = canopy_core::Canopy::new(store, CoreConfig::default());
    let server = TestServer::start_with_server_config(canopy, ServerConfig { max_body_memory: 100_000, ..ServerConfig::default() }).await;
    let head = |len: usize| {
        format!("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}CreateOrganization\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {len}\r\n\r\n")
    };
    // A sends 150 kB of a 300 kB body and stalls: it holds 84 kB of the budget.
    let mut a = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    a.write_all(head(300_000).as_bytes()).await.unwrap();
    a.write_all(&vec![b' '; 150_000]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // A small body does not wait.
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.error_type(), "AWSOrganizationsNotInUseException");
    // A whole 150 kB body (84 kB counted) waits for A's memory...
    let mut c = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut body = vec![b'{'];
    body.extend(vec![b' '; 150_000]);
    body.push(b'}');
    c.write_all(head(body.len()).as_bytes()).await.unwrap();
    c.write_all(&body).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let early = tokio::time::timeout(std::time::Duration::from_millis(500), c.read(&mut buf)).await;
    assert!(early.is_err(), "answered while the budget was held");
    // ...and goes on once A's connection is gone.
    drop(a);
    let mut reply = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !reply.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = c.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed unanswered");
            reply.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("answered once the budget was free");
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&reply));
}

#[tokio::test]
async fn a_declared_oversized_body_is_413_at_once_and_never_invited() {
    // A short read timeout: a body found too large is 413 however long its draining would take,
    // never the 408 of a slow body.
    let server = server_with_read_timeout(std::time::Duration::from_millis(300)).await;
    for expect in ["", "Expect: 100-continue\r\n"] {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}CreateOrganization\r\n{expect}Content-Length: 10000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut buf)).await.expect("answered").unwrap();
        // Nothing of the body came: the draining stops after its idle gap, not after seconds.
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{expect:?}: {:?}", started.elapsed());
        assert!(!buf.starts_with(b"HTTP/1.1 100"), "{expect:?}: the client is not invited to send: {}", String::from_utf8_lossy(&buf));
        let r = parse_reply(&buf);
        assert_eq!((r.status, r.error_type().as_str()), (413, "RequestEntityTooLargeException"), "{expect:?}");
    }
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.error_type(), "AWSOrganizationsNotInUseException");
}

#[tokio::test]
async fn a_request_followed_by_a_half_close_is_answered() {
    // `printf … | nc -N`: the client shuts its sending side once the request is out.
    let server = TestServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}CreateOrganization\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut buf)).await.expect("answered").unwrap();
    let r = parse_reply(&buf);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&buf));
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.status, 200);
}

#[tokio::test]
async fn stalled_headers_and_idle_connections_are_closed_after_the_read_timeout() {
    let server = server_with_read_timeout(std::time::Duration::from_millis(300)).await;
    // Half a request line and headers, then nothing.
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar").await.unwrap();
    // A kept-alive connection that answered one request and then sits idle.
    let mut idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}DescribeOrganization\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 400");
    for stream in [&mut stalled, &mut idle] {
        let mut rest = Vec::new();
        // read_to_end returns once the server closes its side.
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut rest)).await.expect("closed").ok();
    }
    // The server still serves new connections.
    assert_eq!(get(&server, "/canopy/v1/health").await.status, 200);
}

#[tokio::test]
async fn empty_body_is_accepted_for_operations_without_input() {
    let server = TestServer::start().await;
    let r = call(&server, "DescribeOrganization", "").await;
    assert_eq!(r.error_type(), "AWSOrganizationsNotInUseException");
    assert_eq!(call(&server, "CreateOrganization", "{}").await.status, 200);
    let r = call(&server, "DescribeOrganization", "").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["Organization"]["Id"].is_string());
}

#[tokio::test]
async fn unknown_members_are_ignored() {
    let server = TestServer::start().await;
    let r = call(&server, "CreateOrganization", r#"{"FeatureSet":"ALL","Bogus":{"nested":[1,2]},"Other":null}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn health_reports_the_store() {
    let server = TestServer::start().await;
    let r = get(&server, "/canopy/v1/health").await;
    assert_eq!(r.status, 200);
    assert_request_id(&r);
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["store"], server.canopy.store().kind());
}

#[tokio::test]
async fn reset_and_moto_alias_empty_the_store() {
    let server = TestServer::start().await;
    for path in ["/canopy/v1/reset", "/moto-api/reset"] {
        assert_eq!(call(&server, "CreateOrganization", "{}").await.status, 200);
        let r = post_empty(&server, path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json(), serde_json::json!({"reset": true}));
        let r = call(&server, "DescribeOrganization", "{}").await;
        assert_eq!(r.error_type(), "AWSOrganizationsNotInUseException", "after {path}");
    }
}

#[tokio::test]
async fn twelve_digit_access_key_selects_the_account() {
    let server = TestServer::start().await;
    let r = call_as(&server, "111111111111", "us-east-1", "CreateOrganization", r#"{"FeatureSet":"ALL"}"#).await;
    assert_eq!(r.status, 200);
    let org = r.json();
    assert_eq!(org["Organization"]["MasterAccountId"], "111111111111");

    let r = call_as(&server, "111111111111", "us-east-1", "DescribeOrganization", "{}").await;
    assert_eq!(r.status, 200);
    let r = call_as(&server, "222222222222", "us-east-1", "DescribeOrganization", "{}").await;
    assert_eq!(r.error_type(), "AWSOrganizationsNotInUseException");
    // A key that is not 12 digits is the default account, which has no organization either.
    let r = call_as(&server, "AKIAIOSFODNN7EXAMPLE", "us-east-1", "DescribeOrganization", "{}").await;
    assert_eq!(r.error_type(), "AWSOrganizationsNotInUseException");
    // No credentials at all: the default account.
    let r = raw(&server, &request(Some(&format!("{TARGET}CreateOrganization")), None, b"{}")).await;
    assert_eq!(r.json()["Organization"]["MasterAccountId"], "123456789012");
    // Credentials that do not parse are refused, not read as absent: the request would otherwise
    // run as the default account, in another organization than the one the key names.
    for authorization in [
        "AWS4-HMAC-SHA256 Credential=111111111111",
        "AWS4-HMAC-SHA256 Credential=111111111111/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=zz",
        "AWS4-HMAC-SHA256 Credential=111111111111/2026/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=00",
        "aws4-hmac-sha256 Credential=111111111111/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=00",
        "Bearer x",
    ] {
        let r = raw(&server, &request(Some(&format!("{TARGET}CreateOrganizationalUnit")), Some(authorization), b"{}")).await;
        assert_eq!((r.status, r.error_type().as_str()), (400, "IncompleteSignatureException"), "{authorization}");
    }
}

#[tokio::test]
async fn presigned_query_selects_the_account() {
    let server = TestServer::start().await;
    assert_eq!(call_as(&server, "333333333333", "us-east-1", "CreateOrganization", "{}").await.status, 200);
    let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=333333333333%2F20261129%2Fus-east-1%2Forganizations%2Faws4_request&X-Amz-Date=20261129T120000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abcd";
    let req = format!(
        "POST /?{query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Amz-Target: {TARGET}DescribeOrganization\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    let r = raw(&server, req.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["Organization"]["MasterAccountId"], "333333333333");
}

#[tokio::test]
async fn china_region_gives_aws_cn_arns() {
    let server = TestServer::start().await;
    let r = call_as(&server, "444444444444", "cn-north-1", "CreateOrganization", r#"{"FeatureSet":"ALL"}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let arn = r.json()["Organization"]["Arn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with("arn:aws-cn:"), "{arn}");
    let r = call_as(&server, "444444444444", "cn-north-1", "ListRoots", "{}").await;
    assert_eq!(r.status, 200);
    assert!(r.json()["Roots"][0]["Arn"].as_str().unwrap().starts_with("arn:aws-cn:"));
}

#[tokio::test]
async fn strict_auth_refuses_everything_and_hides_reset() {
    let store = canopy_store::open("memory").unwrap();
    let canopy = canopy_core::Canopy::new(store, CoreConfig::default());
    let server = TestServer::start_with_server_config(
        canopy,
        ServerConfig { auth: AuthMode::Strict, ..ServerConfig::default() },
    )
    .await;
    // Unsigned: 403 MissingAuthenticationTokenException. A dev-style header without X-Amz-Date
    // (and with a made-up signature): 400 IncompleteSignatureException. (Signed requests are
    // tested in canopy-integration-tests' strict_auth.rs.)
    let cases = [
        (None, 403, "MissingAuthenticationTokenException"),
        (Some(auth_header("111111111111", "us-east-1")), 400, "IncompleteSignatureException"),
    ];
    for (auth, status, code) in cases {
        let r = raw(&server, &request(Some(&format!("{TARGET}DescribeOrganization")), auth.as_deref(), b"{}")).await;
        assert_eq!(r.status, status);
        assert_eq!(r.error_type(), code);
    }
    assert_eq!(post_empty(&server, "/canopy/v1/reset").await.status, 404);
    assert_eq!(post_empty(&server, "/moto-api/reset").await.status, 404);
    assert_eq!(get(&server, "/canopy/v1/health").await.status, 200);
}

#[tokio::test]
async fn unknown_paths_are_404_with_request_id() {
    let server = TestServer::start().await;
    let r = get(&server, "/nope").await;
    assert_eq!(r.status, 404);
    assert_request_id(&r);
}

/// A store whose every transaction panics: the server must answer 500, not drop the connection.
struct PanickingStore;

impl Store for PanickingStore {
    fn read(&self, _f: TxFn) -> BoxFuture<Result<Box<dyn std::any::Any + Send>, OpError>> {
        panic!("deliberate test panic in read");
    }
    fn write(&self, _f: TxFn) -> BoxFuture<Result<Box<dyn std::any::Any + Send>, OpError>> {
        Box::pin(async { panic!("deliberate test panic in write") })
    }
    fn reset(&self) -> BoxFuture<StoreResult<()>> {
        Box::pin(async { Ok(()) })
    }
    fn kind(&self) -> &'static str {
        "panicking"
    }
}

#[tokio::test]
async fn a_panic_becomes_an_opaque_500() {
    let server = TestServer::start_with_store(Arc::new(PanickingStore), CoreConfig::default()).await;
    for (op, body) in [("DescribeOrganization", "{}"), ("CreateOrganization", r#"{"FeatureSet":"ALL"}"#)] {
        let r = call(&server, op, body).await;
        assert_eq!(r.status, 500, "{op}");
        let t = r.error_type();
        assert!(t == "ServiceException" || t == "InternalFailure", "{t}");
        let message = r.json()["Message"].as_str().unwrap().to_owned();
        assert!(!message.contains("deliberate"), "panic details leaked: {message}");
    }
    // The server is still up.
    assert_eq!(get(&server, "/canopy/v1/metrics").await.status, 200);
}

/// A store that cannot be reached: every transaction fails.
struct UnreachableStore;

impl Store for UnreachableStore {
    fn read(&self, _f: TxFn) -> BoxFuture<Result<Box<dyn std::any::Any + Send>, OpError>> {
        Box::pin(async { Err(OpError::Store(StoreError::Backend("connection refused".into()))) })
    }
    fn write(&self, _f: TxFn) -> BoxFuture<Result<Box<dyn std::any::Any + Send>, OpError>> {
        Box::pin(async { Err(OpError::Store(StoreError::Backend("connection refused".into()))) })
    }
    fn reset(&self) -> BoxFuture<StoreResult<()>> {
        Box::pin(async { Err(StoreError::Backend("connection refused".into())) })
    }
    fn kind(&self) -> &'static str {
        "unreachable"
    }
}

#[tokio::test]
async fn health_is_503_when_the_store_cannot_be_read() {
    let server = TestServer::start_with_store(Arc::new(UnreachableStore), CoreConfig::default()).await;
    let r = get(&server, "/canopy/v1/health").await;
    assert_eq!(r.status, 503);
    let v = r.json();
    assert_eq!((v["status"].as_str(), v["store"].as_str()), (Some("unavailable"), Some("unreachable")), "{v}");
    // Operations get an opaque 500 meanwhile.
    let r = call(&server, "DescribeOrganization", "{}").await;
    assert_eq!(r.status, 500);
}

#[tokio::test]
async fn keep_alive_connection_serves_many_requests() {
    let server = TestServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    for i in 0..20 {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {TARGET}DescribeOrganization\r\nContent-Length: 2\r\n\r\n{{}}"
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        // Read one response: headers, then Content-Length bytes.
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).await.unwrap();
            buf.push(byte[0]);
        }
        let head = String::from_utf8(buf.clone()).unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap();
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await.unwrap();
        buf.extend_from_slice(&body);
        let r = parse_reply(&buf);
        assert_eq!(r.error_type(), "AWSOrganizationsNotInUseException", "request {i}");
    }
}

#[tokio::test]
async fn graceful_shutdown_finishes() {
    let server = TestServer::start().await;
    assert_eq!(get(&server, "/canopy/v1/health").await.status, 200);
    let addr = server.addr;
    tokio::time::timeout(std::time::Duration::from_secs(11), server.shutdown()).await.expect("drained in time");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed");
}

#[tokio::test]
async fn unknown_paths_get_a_typed_404() {
    let server = TestServer::start().await;
    for r in [
        raw(&server, b"POST /foo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}").await,
        get(&server, "/canopy/v1/nothing").await,
    ] {
        assert_eq!(r.status, 404);
        assert_eq!(r.error_type(), "UnknownOperationException");
        assert!(r.json()["Message"].as_str().unwrap().starts_with("No route for "), "{}", r.json());
    }
}

#[tokio::test]
async fn wrong_methods_get_a_typed_405() {
    let server = TestServer::start().await;
    for (request, allow) in [
        (&b"PUT / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"[..], "POST,GET,HEAD"),
        (&b"DELETE /canopy/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..], "GET,HEAD"),
    ] {
        let r = raw(&server, request).await;
        assert_eq!(r.status, 405);
        assert_eq!(r.error_type(), "UnknownOperationException");
        assert_eq!(r.header("allow"), Some(allow));
        assert!(r.json()["Message"].as_str().unwrap().starts_with("Method "), "{}", r.json());
    }
}

/// The value of the one metrics line that starts with `prefix`.
fn metric(text: &str, prefix: &str) -> f64 {
    let mut found = text.lines().filter(|l| l.starts_with(prefix));
    let line = found.next().unwrap_or_else(|| panic!("no metric {prefix:?} in\n{text}"));
    assert!(found.next().is_none(), "more than one metric {prefix:?}");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn metrics_count_operations_errors_and_latency() {
    let server = TestServer::start().await;
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.status, 400);
    assert_eq!(call(&server, "CreateOrganization", r#"{"FeatureSet":"ALL"}"#).await.status, 200);
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.status, 200);
    assert_eq!(call(&server, "DescribeOrganization", "{}").await.status, 200);
    assert_eq!(get(&server, "/nowhere").await.status, 404);

    let r = get(&server, "/canopy/v1/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = String::from_utf8(r.body).unwrap();
    let kind = server.canopy.store().kind();
    assert!(text.contains(&format!("canopy_info{{version=\"{}\",store=\"{kind}\",auth=\"dev\"}} 1\n", env!("CARGO_PKG_VERSION"))), "{text}");
    assert_eq!(metric(&text, r#"canopy_requests_total{operation="DescribeOrganization",status="2xx"}"#), 2.0);
    assert_eq!(metric(&text, r#"canopy_requests_total{operation="DescribeOrganization",status="4xx"}"#), 1.0);
    assert_eq!(metric(&text, r#"canopy_requests_total{operation="CreateOrganization",status="2xx"}"#), 1.0);
    assert_eq!(metric(&text, r#"canopy_requests_total{operation="-",status="4xx"}"#), 1.0);
    assert_eq!(
        metric(&text, r#"canopy_request_errors_total{operation="DescribeOrganization",code="AWSOrganizationsNotInUseException"}"#),
        1.0
    );
    assert_eq!(metric(&text, r#"canopy_request_errors_total{operation="-",code="UnknownOperationException"}"#), 1.0);
    assert_eq!(metric(&text, r#"canopy_request_duration_seconds_count{operation="DescribeOrganization"}"#), 3.0);
    assert_eq!(metric(&text, r#"canopy_request_duration_seconds_bucket{operation="DescribeOrganization",le="+Inf"}"#), 3.0);
    assert!(metric(&text, r#"canopy_request_duration_seconds_sum{operation="DescribeOrganization"}"#) > 0.0);
    // The metrics request itself is in flight while it is rendered.
    assert_eq!(metric(&text, "canopy_requests_in_flight "), 1.0);
}
