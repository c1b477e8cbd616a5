//! Strict auth with the official SDKs and with hand-signed requests: issued credentials work, a
//! wrong secret, an unknown key, a tampered request, a skewed clock, an unsigned request and
//! expired or incomplete session credentials get AWS's errors; presigned URLs verify.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sdk_organizations::config::retry::RetryConfig;
use aws_sdk_organizations::config::{BehaviorVersion, Region};
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::OrganizationFeatureSet;
use canopy_core::identity::NewCredential;
use canopy_core::{CoreConfig, IdSource, ManualClock, RandomIds, SystemClock, Clock};
use canopy_server::secrets::new_secret_access_key;
use canopy_server::testing::TestServer;
use canopy_server::{AuthMode, MasterKey, ServerConfig};
use canopy_sigv4::{format_request_time, signature, AuthSource, Scope, SignedRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MGMT: &str = "111111111111";

struct Strict {
    server: TestServer,
    clock: Arc<ManualClock>,
    key: MasterKey,
}

/// A strict-auth server on a memory store (a PostgreSQL scratch schema when
/// `CANOPY_TEST_POSTGRES` is set) whose clock moves only when a test says so.
async fn strict() -> Strict {
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let (key, _) = MasterKey::generate();
    let config = ServerConfig { auth: AuthMode::Strict, master_key: Some(key.clone()), ..ServerConfig::default() };
    let server = TestServer::start_with_clock(CoreConfig::default(), clock.clone(), config).await;
    Strict { server, clock, key }
}

/// The SDK's clock: the server's manual clock shifted by `offset_ms` (a client whose clock is
/// off), so signatures carry the time a test chooses.
#[derive(Clone)]
struct ClientTime {
    clock: Arc<ManualClock>,
    offset_ms: i64,
}

impl std::fmt::Debug for ClientTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientTime(offset {} ms)", self.offset_ms)
    }
}

impl aws_smithy_async::time::TimeSource for ClientTime {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis((self.clock.now_ms() + self.offset_ms) as u64)
    }
}

impl Strict {
    fn time(&self) -> ClientTime {
        ClientTime { clock: self.clock.clone(), offset_ms: 0 }
    }

    fn sts(&self, akid: &str, secret: &str, token: Option<&str>) -> aws_sdk_sts::Client {
        sts_client(&self.server.endpoint, akid, secret, token, self.time())
    }

    /// What `canopy credentials create` does: a new AKIA key for `account`, sealed.
    async fn issue(&self, account: &str, user: Option<&str>) -> (String, String) {
        let akid = RandomIds.access_key_id("AKIA");
        let secret = new_secret_access_key();
        let new = NewCredential { secret_sealed: self.key.seal(&akid, &secret), access_key_id: akid.clone(), session_token_sha256: None };
        self.server.canopy.create_credential("aws", account, user, new).await.unwrap();
        (akid, secret)
    }

    fn orgs(&self, akid: &str, secret: &str, token: Option<&str>) -> aws_sdk_organizations::Client {
        orgs_client(&self.server.endpoint, akid, secret, token, self.time())
    }
}

fn orgs_client(endpoint: &str, akid: &str, secret: &str, token: Option<&str>, time: ClientTime) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .time_source(time)
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(akid, secret, token.map(str::to_owned), None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

fn sts_client(endpoint: &str, akid: &str, secret: &str, token: Option<&str>, time: ClientTime) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .time_source(time)
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(akid, secret, token.map(str::to_owned), None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// The error code and message of a failed SDK call.
fn code_of<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, SdkError<E>>) -> (String, String) {
    let e = r.expect_err("the call should fail");
    (e.code().unwrap_or_else(|| panic!("no code in {e:?}")).to_owned(), e.message().unwrap_or_default().to_owned())
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

#[tokio::test]
async fn issued_credentials_work_and_wrong_ones_get_aws_errors() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let mgmt = s.orgs(&akid, &secret, None);
    let org = mgmt.create_organization().feature_set(OrganizationFeatureSet::All).send().await.unwrap();
    assert_eq!(org.organization().unwrap().master_account_id(), Some(MGMT));
    assert_eq!(mgmt.list_roots().send().await.unwrap().roots().len(), 1);

    // A wrong secret: InvalidSignatureException with AWS's message.
    let wrong = s.orgs(&akid, "not-the-secret", None);
    assert_eq!(code_of(wrong.describe_organization().send().await), ("InvalidSignatureException".into(), MISMATCH.into()));
    // An access key Canopy never issued.
    let unknown = s.orgs("AKIAUNKNOWNUNKNOWN00", &secret, None);
    assert_eq!(
        code_of(unknown.describe_organization().send().await),
        ("UnrecognizedClientException".into(), INVALID_TOKEN.into())
    );
    // A 12-digit key is not an account in strict auth.
    let dev_style = s.orgs(MGMT, "secret", None);
    assert_eq!(code_of(dev_style.describe_organization().send().await).0, "UnrecognizedClientException");
    // STS answers in its own codes.
    let sts = s.sts(&akid, "not-the-secret", None);
    assert_eq!(code_of(sts.get_caller_identity().send().await), ("SignatureDoesNotMatch".into(), MISMATCH.into()));
    let sts = s.sts("AKIAUNKNOWNUNKNOWN00", &secret, None);
    assert_eq!(code_of(sts.get_caller_identity().send().await), ("InvalidClientTokenId".into(), INVALID_TOKEN.into()));
}

#[tokio::test]
async fn get_caller_identity_reports_root_and_users() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let me = s.sts(&akid, &secret, None).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(MGMT));
    assert_eq!(me.arn(), Some("arn:aws:iam::111111111111:root"));
    assert_eq!(me.user_id(), Some(MGMT));

    // A key for a user of an account that did not exist: the account is made standalone.
    let (akid, secret) = s.issue("222222222222", Some("alice")).await;
    let me = s.sts(&akid, &secret, None).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("222222222222"));
    assert_eq!(me.arn(), Some("arn:aws:iam::222222222222:user/alice"));
    let user_id = me.user_id().unwrap();
    assert!(user_id.starts_with("AIDA") && user_id.len() == 21, "{user_id}");
    // Alice's account is standalone: not in an organization.
    let alice = s.orgs(&akid, &secret, None);
    assert_eq!(code_of(alice.describe_organization().send().await).0, "AWSOrganizationsNotInUseException");
    // A second key for the same user (its name in another case): the same user, the same id.
    let (akid2, secret2) = s.issue("222222222222", Some("Alice")).await;
    let again = s.sts(&akid2, &secret2, None).get_caller_identity().send().await.unwrap();
    assert_eq!((again.arn(), again.user_id()), (Some("arn:aws:iam::222222222222:user/alice"), Some(user_id)));
}

#[tokio::test]
async fn clock_skew_beyond_fifteen_minutes_is_refused() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let skewed = |offset_min: i64| {
        orgs_client(&s.server.endpoint, &akid, &secret, None, ClientTime { clock: s.clock.clone(), offset_ms: offset_min * 60_000 })
    };
    // Within the window (client 14 minutes behind or ahead): accepted.
    for offset in [-14, 14] {
        assert_eq!(code_of(skewed(offset).describe_organization().send().await).0, "AWSOrganizationsNotInUseException");
    }
    // Client 16 minutes behind: the signature has expired.
    let (code, message) = code_of(skewed(-16).describe_organization().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("Signature expired: ") && message.contains(" is now earlier than ") && message.ends_with(" - 15 min.)"), "{message}");
    // Client 16 minutes ahead: not yet current.
    let (code, message) = code_of(skewed(16).describe_organization().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("Signature not yet current: ") && message.ends_with(" + 15 min.)"), "{message}");
    // STS says it in its own code.
    let sts = sts_client(&s.server.endpoint, &akid, &secret, None, ClientTime { clock: s.clock.clone(), offset_ms: -16 * 60_000 });
    assert_eq!(code_of(sts.get_caller_identity().send().await).0, "SignatureDoesNotMatch");
}

// ---------------------------------------------------------------------------------------------
// Hand-signed requests

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

async fn send(addr: std::net::SocketAddr, method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Reply { status, headers: head.to_ascii_lowercase(), body: body.to_owned() }
}

/// Signs an Organizations call as a client would: host, x-amz-date, x-amz-target, content-type.
fn signed_headers(host: &str, akid: &str, secret: &str, time: i64, op: &str, body: &[u8]) -> Vec<(String, String)> {
    signed_headers_for("organizations", host, akid, secret, time, op, body)
}

/// [`signed_headers`] with the credential scoped to `service`.
fn signed_headers_for(service: &str, host: &str, akid: &str, secret: &str, time: i64, op: &str, body: &[u8]) -> Vec<(String, String)> {
    let t = format_request_time(time);
    let mut headers = vec![
        ("Host".to_owned(), host.to_owned()),
        ("Content-Type".to_owned(), "application/x-amz-json-1.1".to_owned()),
        ("X-Amz-Date".to_owned(), t.clone()),
        ("X-Amz-Target".to_owned(), format!("AWSOrganizationsV20161128.{op}")),
    ];
    let signed: Vec<String> = ["content-type", "host", "x-amz-date", "x-amz-target"].map(String::from).to_vec();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method: "POST", path: "/", query: "", headers: &pairs, body };
    let scope = Scope { date: &t[..8], region: "eu-west-1", service };
    let sig = signature(&req, &scope, &signed, &t, AuthSource::Header, secret);
    headers.push((
        "Authorization".to_owned(),
        format!("AWS4-HMAC-SHA256 Credential={akid}/{}/eu-west-1/{service}/aws4_request, SignedHeaders={}, Signature={sig}", &t[..8], signed.join(";")),
    ));
    headers
}

#[tokio::test]
async fn tampered_and_unsigned_requests_are_refused() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let host = s.server.addr.to_string();
    let now = s.clock.now_ms() / 1000;
    let body = br#"{"FeatureSet":"ALL"}"#;

    // Correctly signed by hand (any region): accepted.
    let h = signed_headers(&host, &akid, &secret, now, "CreateOrganization", body);
    let r = send(s.server.addr, "POST", "/", &h, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""MasterAccountId":"111111111111""#), "{}", r.body);

    // The same signature over a different body, operation or host: InvalidSignatureException.
    let h = signed_headers(&host, &akid, &secret, now, "DescribeOrganization", b"{}");
    let r = send(s.server.addr, "POST", "/", &h, br#"{"x":1}"#).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains(r#""__type":"InvalidSignatureException""#), "{}", r.body);
    assert!(r.headers.contains("x-amzn-errortype: invalidsignatureexception"), "{}", r.headers);
    let mut h = signed_headers(&host, &akid, &secret, now, "DescribeOrganization", b"{}");
    h[3].1 = "AWSOrganizationsV20161128.DeleteOrganization".into();
    let r = send(s.server.addr, "POST", "/", &h, b"{}").await;
    assert!(r.body.contains("InvalidSignatureException"), "{}", r.body);
    let mut h = signed_headers(&host, &akid, &secret, now, "DescribeOrganization", b"{}");
    h[0].1 = "evil.example:80".into();
    let r = send(s.server.addr, "POST", "/", &h, b"{}").await;
    assert!(r.body.contains("InvalidSignatureException"), "{}", r.body);
    // The organization was not deleted by any of them.
    let h = signed_headers(&host, &akid, &secret, now, "DescribeOrganization", b"{}");
    assert_eq!(send(s.server.addr, "POST", "/", &h, b"{}").await.status, 200);

    // Unsigned: 403 MissingAuthenticationTokenException.
    let h = vec![
        ("Host".to_owned(), host.clone()),
        ("Content-Type".to_owned(), "application/x-amz-json-1.1".to_owned()),
        ("X-Amz-Target".to_owned(), "AWSOrganizationsV20161128.DescribeOrganization".to_owned()),
    ];
    let r = send(s.server.addr, "POST", "/", &h, b"{}").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("MissingAuthenticationTokenException"), "{}", r.body);
    // Malformed Authorization: 400 IncompleteSignatureException.
    let mut h2 = h.clone();
    h2.push(("Authorization".into(), format!("AWS4-HMAC-SHA256 Credential={akid}/20261129/us-east-1/organizations/aws4_request")));
    let r = send(s.server.addr, "POST", "/", &h2, b"{}").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("IncompleteSignatureException"), "{}", r.body);
    // Unsigned STS: 403 MissingAuthenticationToken in the query protocol's XML.
    let h = vec![("Host".to_owned(), host.clone()), ("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    let r = send(s.server.addr, "POST", "/", &h, b"Action=GetCallerIdentity&Version=2011-06-15").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("<Code>MissingAuthenticationToken</Code>") && r.body.contains("<Type>Sender</Type>"), "{}", r.body);
    // And the reset endpoints do not exist.
    assert_eq!(send(s.server.addr, "POST", "/canopy/v1/reset", &[("Host".into(), host.clone())], b"").await.status, 404);
}

/// A presigned `GET /?Action=GetCallerIdentity…` URL, as `aws eks get-token` and Vault make.
fn presigned_url(host: &str, akid: &str, secret: &str, time: i64, expires: u64) -> String {
    let t = format_request_time(time);
    let query = format!(
        "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={akid}%2F{}%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date={t}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host",
        &t[..8]
    );
    let headers = [("host", host)];
    let req = SignedRequest { method: "GET", path: "/", query: &query, headers: &headers, body: b"" };
    let scope = Scope { date: &t[..8], region: "us-east-1", service: "sts" };
    let sig = signature(&req, &scope, &["host".to_owned()], &t, AuthSource::Query, secret);
    format!("/?{query}&X-Amz-Signature={sig}")
}

#[tokio::test]
async fn a_signature_scoped_to_another_service_is_refused() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let host = s.server.addr.to_string();
    let now = s.clock.now_ms() / 1000;
    let body = br#"{"FeatureSet":"ALL"}"#;
    // A valid signature with the right secret, but for S3: AWS refuses the scope.
    for service in ["s3", "sts"] {
        let h = signed_headers_for(service, &host, &akid, &secret, now, "CreateOrganization", body);
        let r = send(s.server.addr, "POST", "/", &h, body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains(r#""__type":"InvalidSignatureException""#), "{}", r.body);
        assert!(r.body.contains("Credential should be scoped to correct service: 'organizations'."), "{}", r.body);
    }
    // Nothing was done.
    let h = signed_headers(&host, &akid, &secret, now, "CreateOrganization", body);
    assert_eq!(send(s.server.addr, "POST", "/", &h, body).await.status, 200);
}

#[tokio::test]
async fn presigned_urls_verify_until_they_expire() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, Some("ci")).await;
    let host = s.server.addr.to_string();
    let h = vec![("Host".to_owned(), host.clone())];
    let now = s.clock.now_ms() / 1000;

    let url = presigned_url(&host, &akid, &secret, now, 60);
    let r = send(s.server.addr, "GET", &url, &h, b"").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<Arn>arn:aws:iam::111111111111:user/ci</Arn>"), "{}", r.body);
    assert!(r.body.contains("<Account>111111111111</Account>"), "{}", r.body);

    // Tampered (another action) or signed with the wrong secret: SignatureDoesNotMatch (403).
    let r = send(s.server.addr, "GET", &url.replace("Version=2011-06-15", "Version=2011-06-16"), &h, b"").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("<Code>SignatureDoesNotMatch</Code>"), "{}", r.body);
    let r = send(s.server.addr, "GET", &presigned_url(&host, &akid, "wrong", now, 60), &h, b"").await;
    assert_eq!(r.status, 403);
    // Expired: 61 seconds later.
    s.clock.advance_ms(61_000);
    let r = send(s.server.addr, "GET", &url, &h, b"").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("<Code>SignatureDoesNotMatch</Code>") && r.body.contains("Signature expired: "), "{}", r.body);
}

/// The caller's organization and one created member account (creation finishes at once by
/// default); answers the member's id.
async fn organization_with_a_member(mgmt: &aws_sdk_organizations::Client) -> String {
    mgmt.create_organization().send().await.unwrap();
    let car = mgmt.create_account().account_name("member").email("member@example.org").send().await.unwrap();
    let car_id = car.create_account_status().unwrap().id().unwrap().to_owned();
    let status = mgmt.describe_create_account_status().create_account_request_id(car_id).send().await.unwrap();
    status.create_account_status().unwrap().account_id().unwrap().to_owned()
}

#[tokio::test]
async fn assumed_role_sessions_work_in_strict_auth_and_expire() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let mgmt = s.orgs(&akid, &secret, None);
    let member = organization_with_a_member(&mgmt).await;

    let sts = s.sts(&akid, &secret, None);
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{member}:role/OrganizationAccountAccessRole"))
        .role_session_name("ops")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let user = out.assumed_role_user().unwrap();
    assert_eq!(user.arn(), format!("arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/ops"));
    assert!(user.assumed_role_id().starts_with("AROA") && user.assumed_role_id().ends_with(":ops"));

    // Acting as the member.
    let session = s.orgs(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    let org = session.describe_organization().send().await.unwrap();
    assert_eq!(org.organization().unwrap().master_account_id(), Some(MGMT));
    assert_eq!(code_of(session.list_accounts().send().await).0, "AccessDeniedException");
    let me = s.sts(c.access_key_id(), c.secret_access_key(), Some(c.session_token()))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(member.as_str()));
    assert_eq!(me.arn(), Some(user.arn()));

    // Without its session token, or with another: the token is invalid.
    let no_token = s.orgs(c.access_key_id(), c.secret_access_key(), None);
    assert_eq!(code_of(no_token.describe_organization().send().await).0, "UnrecognizedClientException");
    let bad_token = s.orgs(c.access_key_id(), c.secret_access_key(), Some("forged"));
    assert_eq!(code_of(bad_token.describe_organization().send().await).0, "UnrecognizedClientException");

    // After 900 seconds the session is over (the clients sign at the server's clock).
    s.clock.advance_ms(901_000);
    let session = s.orgs(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    assert_eq!(
        code_of(session.describe_organization().send().await),
        ("ExpiredTokenException".into(), "The security token included in the request is expired".into())
    );
    let sts = s.sts(c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    assert_eq!(code_of(sts.get_caller_identity().send().await).0, "ExpiredToken");
}

/// Signs a JSON POST to one of Canopy's own endpoints (`/canopy/v1/...`), as the CLI would if it signed.
fn signed_canopy_api(host: &str, path: &str, akid: &str, secret: &str, time: i64, body: &[u8]) -> Vec<(String, String)> {
    let t = format_request_time(time);
    let mut headers = vec![
        ("Host".to_owned(), host.to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-Amz-Date".to_owned(), t.clone()),
    ];
    let signed: Vec<String> = ["content-type", "host", "x-amz-date"].map(String::from).to_vec();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = SignedRequest { method: "POST", path, query: "", headers: &pairs, body };
    let scope = Scope { date: &t[..8], region: "us-east-1", service: "organizations" };
    let sig = signature(&req, &scope, &signed, &t, AuthSource::Header, secret);
    headers.push((
        "Authorization".to_owned(),
        format!("AWS4-HMAC-SHA256 Credential={akid}/{}/us-east-1/organizations/aws4_request, SignedHeaders={}, Signature={sig}", &t[..8], signed.join(";")),
    ));
    headers
}

#[tokio::test]
async fn canopy_api_authenticates_like_the_aws_endpoints() {
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    s.orgs(&akid, &secret, None).create_organization().send().await.unwrap();
    let host = s.server.addr.to_string();
    let now = s.clock.now_ms() / 1000;
    let body = br#"{"principal":"arn:aws:iam::111111111111:role/Admin","action":"s3:GetObject"}"#;

    // Signed by an issued key of the management account: evaluated (the management account is exempt).
    let h = signed_canopy_api(&host, "/canopy/v1/simulate", &akid, &secret, now, body);
    let r = send(s.server.addr, "POST", "/canopy/v1/simulate", &h, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(r#""decision""#), "{}", r.body);

    // Unsigned, wrongly signed, or signed over another body: refused with the AWS auth errors.
    let r = send(s.server.addr, "POST", "/canopy/v1/simulate", &[("Host".into(), host.clone())], body).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("MissingAuthenticationTokenException"), "{}", r.body);
    let h = signed_canopy_api(&host, "/canopy/v1/simulate", &akid, "not-the-secret", now, body);
    let r = send(s.server.addr, "POST", "/canopy/v1/simulate", &h, body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("InvalidSignatureException"), "{}", r.body);
    let h = signed_canopy_api(&host, "/canopy/v1/what-if", &akid, &secret, now, b"{}");
    let r = send(s.server.addr, "POST", "/canopy/v1/what-if", &h, br#"{"changes":[]}"#).await;
    assert!(r.body.contains("InvalidSignatureException"), "{}", r.body);
}

#[tokio::test]
async fn scps_see_an_iam_users_name_and_id() {
    use aws_sdk_organizations::types::PolicyType;
    let s = strict().await;
    let (akid, secret) = s.issue(MGMT, None).await;
    let mgmt = s.orgs(&akid, &secret, None);
    let member = organization_with_a_member(&mgmt).await;
    let (alice_key, alice_secret) = s.issue(&member, Some("alice")).await;
    let alice_id = s.sts(&alice_key, &alice_secret, None).get_caller_identity().send().await.unwrap().user_id().unwrap().to_owned();
    let alice = s.orgs(&alice_key, &alice_secret, None);
    let (root_key, root_secret) = s.issue(&member, None).await;
    let root = s.orgs(&root_key, &root_secret, None);
    assert!(alice.describe_organization().send().await.is_ok());

    // aws:username is the user's name (root users have none); aws:userid its AIDA… id.
    for condition in [
        serde_json::json!({"StringEquals": {"aws:username": "alice"}}),
        serde_json::json!({"StringEquals": {"aws:userid": alice_id}}),
    ] {
        let content = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "organizations:DescribeOrganization", "Resource": "*", "Condition": condition}]});
        let p = mgmt.create_policy().name("NoAlice").description("d").r#type(PolicyType::ServiceControlPolicy).content(content.to_string()).send().await.unwrap();
        let id = p.policy().unwrap().policy_summary().unwrap().id().unwrap().to_owned();
        mgmt.attach_policy().policy_id(&id).target_id(&member).send().await.unwrap();
        assert_eq!(code_of(alice.describe_organization().send().await).0, "AccessDeniedException", "{condition}");
        assert!(root.describe_organization().send().await.is_ok(), "{condition}");
        mgmt.detach_policy().policy_id(&id).target_id(&member).send().await.unwrap();
        mgmt.delete_policy().policy_id(&id).send().await.unwrap();
    }
}
