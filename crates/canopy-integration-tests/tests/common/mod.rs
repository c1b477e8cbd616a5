//! Helpers shared by the SDK suites: clients per caller account, an organization fixture,
//! format checks for ids/ARNs, and error inspection (code, `Reason`, typed variant).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_organizations::config::retry::RetryConfig;
use aws_sdk_organizations::config::{BehaviorVersion, Region};
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::{CreateAccountState, Tag};
use aws_sdk_organizations::Client;
use canopy_server::testing::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const MGMT: &str = "111111111111";
pub const OUTSIDER: &str = "999999999999";

/// A client whose caller is `account_id` (dev auth: the access key id is the account), signing
/// for us-east-1 (the `aws` partition).
pub fn client_for(endpoint: &str, account_id: &str) -> Client {
    client_in_region(endpoint, account_id, "us-east-1")
}

/// Same, signing for `region` (cn-north-1 → the `aws-cn` partition).
pub fn client_in_region(endpoint: &str, account_id: &str, region: &str) -> Client {
    // Plain HTTP only: no TLS stack is compiled into the tests.
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(account_id, "secret", None, None, "test"))
        .http_client(http)
        // A failure must show as it is, not be retried into something else.
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().expect("tag")
}

/// A running server with an organization (ALL features) whose management account is [`MGMT`].
pub struct Org {
    pub server: TestServer,
    pub mgmt: Client,
    pub org_id: String,
    pub root_id: String,
}

impl Org {
    pub async fn new() -> Org {
        Org::with_server(TestServer::start().await).await
    }

    pub async fn with_config(config: canopy_core::CoreConfig) -> Org {
        Org::with_server(TestServer::start_with(config).await).await
    }

    pub async fn with_server(server: TestServer) -> Org {
        let mgmt = client_for(&server.endpoint, MGMT);
        let out = mgmt.create_organization().send().await.expect("CreateOrganization");
        let org_id = out.organization().and_then(|o| o.id()).expect("organization id").to_string();
        let roots = mgmt.list_roots().send().await.expect("ListRoots");
        let root_id = roots.roots()[0].id().expect("root id").to_string();
        Org { server, mgmt, org_id, root_id }
    }

    pub fn client(&self, account_id: &str) -> Client {
        client_for(&self.server.endpoint, account_id)
    }

    /// Creates an account and waits (polls) until its creation SUCCEEDED; returns its id.
    pub async fn create_account(&self, name: &str) -> String {
        let email = format!("{}@example.org", name.to_ascii_lowercase().replace(' ', "-"));
        create_account_with(&self.mgmt, name, &email).await
    }

    pub async fn create_ou(&self, parent: &str, name: &str) -> String {
        let out = self
            .mgmt
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateOrganizationalUnit {name}: {e:?}"));
        out.organizational_unit().and_then(|o| o.id()).expect("ou id").to_string()
    }

    /// Creates a service control policy with `content` and attaches it to `target`; returns its id.
    pub async fn attach_scp(&self, name: &str, content: &str, target: &str) -> String {
        let out = self
            .mgmt
            .create_policy()
            .name(name)
            .description("d")
            .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
            .content(content)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreatePolicy {name}: {e:?}"));
        let id = out.policy().and_then(|p| p.policy_summary()).and_then(|s| s.id()).expect("policy id").to_string();
        self.mgmt.attach_policy().policy_id(&id).target_id(target).send().await.unwrap_or_else(|e| panic!("AttachPolicy {name}: {e:?}"));
        id
    }

    pub async fn detach(&self, policy_id: &str, target: &str) {
        self.mgmt.detach_policy().policy_id(policy_id).target_id(target).send().await.unwrap_or_else(|e| panic!("DetachPolicy: {e:?}"));
    }

    pub fn account_arn(&self, account_id: &str) -> String {
        format!("arn:aws:organizations::{MGMT}:account/{}/{account_id}", self.org_id)
    }
}

pub async fn create_account_with(client: &Client, name: &str, email: &str) -> String {
    let out = client
        .create_account()
        .account_name(name)
        .email(email)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateAccount {name}: {e:?}"));
    let request_id = out.create_account_status().and_then(|s| s.id()).expect("request id").to_string();
    wait_for_account(client, &request_id).await
}

/// Polls DescribeCreateAccountStatus until SUCCEEDED (panics on FAILED or after 10 s).
pub async fn wait_for_account(client: &Client, request_id: &str) -> String {
    for _ in 0..200 {
        let out = client
            .describe_create_account_status()
            .create_account_request_id(request_id)
            .send()
            .await
            .expect("DescribeCreateAccountStatus");
        let status = out.create_account_status().expect("status");
        match status.state() {
            Some(CreateAccountState::Succeeded) => return status.account_id().expect("AccountId on SUCCEEDED").to_string(),
            Some(CreateAccountState::InProgress) => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("account creation {request_id} ended {other:?}: {status:?}"),
        }
    }
    panic!("account creation {request_id} still IN_PROGRESS after 10 s")
}

// ---------------------------------------------------------------------------------------------
// Errors

/// A service error as the client saw it: the typed error, plus code / message / Reason / status
/// read from the raw answer.
#[derive(Debug)]
pub struct Failure<E> {
    pub err: E,
    pub code: String,
    pub message: String,
    pub reason: Option<String>,
    pub status: u16,
}

/// Expects a service error (not a success, not a transport or construction failure).
#[track_caller]
pub fn fail<T: Debug, E: ProvideErrorMetadata + Debug>(result: Result<T, SdkError<E>>) -> Failure<E> {
    let err = match result {
        Ok(v) => panic!("expected an error, got success: {v:?}"),
        Err(e) => e,
    };
    let (status, body) = match err.raw_response() {
        Some(raw) => (raw.status().as_u16(), raw.body().bytes().map(|b| b.to_vec()).unwrap_or_default()),
        None => panic!("expected a service error, got {err:?}"),
    };
    let json: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {:?}", String::from_utf8_lossy(&body)));
    let reason = json.get("Reason").and_then(|r| r.as_str()).map(str::to_string);
    let err = match err {
        SdkError::ServiceError(ctx) => ctx.into_err(),
        other => panic!("expected a service error, got {other:?}"),
    };
    let code = err.code().unwrap_or_else(|| panic!("no error code in {err:?}")).to_string();
    let message = err.message().unwrap_or_default().to_string();
    assert_eq!(json["__type"].as_str(), Some(code.as_str()), "__type in the body vs parsed code");
    assert!(json["Message"].is_string(), "error body has a Message: {json}");
    Failure { err, code, message, reason, status }
}

/// Expects an error with `code` (and, if given, `reason`); returns the typed error.
#[track_caller]
pub fn expect_err<T: Debug, E: ProvideErrorMetadata + Debug>(result: Result<T, SdkError<E>>, code: &str, reason: Option<&str>) -> E {
    let f = fail(result);
    assert_eq!(f.code, code, "error code (message: {:?}, reason {:?})", f.message, f.reason);
    assert_eq!(f.reason.as_deref(), reason, "Reason of {code} (message: {:?})", f.message);
    let expected_status = if code == "ServiceException" { 500 } else { 400 };
    assert_eq!(f.status, expected_status, "HTTP status of {code}");
    assert!(!f.message.is_empty(), "{code} has a message");
    f.err
}

/// Like [`expect_err`], but a client-side rejection (the SDK refusing to send the request) is
/// also accepted; returns whether the server answered.
#[track_caller]
pub fn expect_err_or_client_rejection<T: Debug, E: ProvideErrorMetadata + Debug>(
    result: Result<T, SdkError<E>>,
    code: &str,
    reason: Option<&str>,
) -> bool {
    match result {
        Err(SdkError::ConstructionFailure(_)) => false,
        other => {
            expect_err(other, code, reason);
            true
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Formats (api-facts §4)

fn all(s: &str, f: impl Fn(char) -> bool) -> bool {
    s.chars().all(f)
}
fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

pub fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|r| (10..=32).contains(&r.len()) && all(r, lower_alnum))
}
pub fn is_root_id(s: &str) -> bool {
    s.strip_prefix("r-").is_some_and(|r| (4..=32).contains(&r.len()) && all(r, lower_alnum))
}
/// `ou-<root suffix>-<8..32>`; the first part must be the root id's suffix.
pub fn is_ou_id_of(s: &str, root_id: &str) -> bool {
    let root_suffix = root_id.strip_prefix("r-").unwrap();
    s.strip_prefix("ou-")
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(a, b)| a == root_suffix && (8..=32).contains(&b.len()) && all(b, lower_alnum))
}
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && all(s, |c| c.is_ascii_digit())
}
pub fn is_car_id(s: &str) -> bool {
    s.strip_prefix("car-").is_some_and(|r| (8..=32).contains(&r.len()) && all(r, lower_alnum))
}

#[track_caller]
pub fn assert_org_id(s: &str) {
    assert!(is_org_id(s), "organization id {s:?}");
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, for requests the SDK would not send as they are.

pub struct RawReply {
    pub status: u16,
    pub body: serde_json::Value,
}

/// POSTs an awsJson1.1 request for `operation` with a dev-auth Authorization header naming
/// `account_id`, and returns the status and the JSON body.
pub async fn raw_call(server: &TestServer, account_id: &str, operation: &str, body: &str) -> RawReply {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSOrganizationsV20161128.{operation}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={account_id}/20250101/us-east-1/organizations/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000\r\n\
         X-Amz-Date: 20250101T000000Z\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        addr = server.addr,
        len = body.len(),
    );
    let (status, body) = raw_exchange(server.addr, &request).await;
    let body = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&body)))
    };
    RawReply { status, body }
}

/// Sends one complete HTTP/1.1 request (it must say `Connection: close`) and returns the status
/// and the body, de-chunked.
pub async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.expect("read");
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = buf[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------------
// Real `canopy serve` processes (crash and replicas tests).

/// `<target>/<profile>` from this test executable's path (`<target>/<profile>/deps/crash-…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf()
}

/// `$CANOPY_BIN`, or `cargo build -p canopy-cli` into this test's target directory.
pub fn canopy_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("CANOPY_BIN") {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "CANOPY_BIN={} is not a file", bin.display());
        return bin;
    }
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "-p", "canopy-cli", "--bin", "canopy"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        cmd.arg("--release");
    }
    eprintln!("building the canopy binary into {} ...", target_dir.display());
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p canopy-cli failed (set CANOPY_BIN to use a prebuilt binary)");
    let bin = profile_dir.join(format!("canopy{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.is_file(), "no binary at {}", bin.display());
    bin
}

/// A `canopy serve` process on an ephemeral port, killed when dropped.
pub struct ServeProcess {
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// `canopy listening on http://ADDR (store: KIND, auth: MODE)`
    pub listening_line: String,
}

/// Starts `bin serve --listen 127.0.0.1:0 --database DATABASE EXTRA…` with its log appended to
/// `log`, waits at most `within` for its listening line, and keeps draining its stdout so it
/// never blocks on a full pipe.
pub async fn spawn_serve(bin: &Path, database: &OsStr, extra: &[&str], log: &Path, within: Duration) -> ServeProcess {
    spawn_serve_with_env(bin, database, extra, &[], log, within).await
}

/// [`spawn_serve`] with extra environment variables for the process.
pub async fn spawn_serve_with_env(
    bin: &Path,
    database: &OsStr,
    extra: &[&str],
    env: &[(&str, &OsStr)],
    log: &Path,
    within: Duration,
) -> ServeProcess {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(database)
        .args(extra)
        .envs(env.iter().copied())
        .env("CANOPY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn canopy");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let listening_line = tokio::time::timeout(within, lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("canopy printed its listening line within {within:?}"))
        .expect("read stdout")
        .expect("canopy exited before listening");
    let endpoint = listening_line
        .strip_prefix("canopy listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {listening_line:?}"))
        .to_string();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServeProcess { child, endpoint, listening_line }
}
