//! `canopy simulate` and `canopy what-if` against a server (TestServer) holding an organization
//! built through the AWS protocol.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};

use canopy_server::testing::TestServer;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_canopy");
const MGMT: &str = "111111111111";

/// One awsJson1.1 call as `account` (dev auth); panics unless it succeeds.
fn aws(addr: &str, account: &str, op: &str, body: Value) -> Value {
    let (status, value) = aws_status(addr, account, op, body);
    assert_eq!(status, 200, "{op}: {value}");
    value
}

/// One awsJson1.1 call as `account` (dev auth): status and JSON body.
fn aws_status(addr: &str, account: &str, op: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSOrganizationsV20161128.{op}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={account}/20250101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("write");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let (head, payload) = raw.split_once("\r\n\r\n").expect("headers");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let value = if payload.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(payload).unwrap_or_else(|e| panic!("{op}: {e}: {payload}"))
    };
    (status, value)
}

fn canopy(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("CANOPY_ENDPOINT").env_remove("CANOPY_ACCOUNT").output().expect("run canopy")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "canopy failed: {}\n{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn simulate_and_what_if_from_the_command_line() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = rt.block_on(TestServer::start());
    let addr = server.addr.to_string();
    let endpoint = server.endpoint.clone();

    aws(&addr, MGMT, "CreateOrganization", json!({"FeatureSet": "ALL"}));
    let root = aws(&addr, MGMT, "ListRoots", json!({}))["Roots"][0]["Id"].as_str().unwrap().to_string();
    let ou = aws(&addr, MGMT, "CreateOrganizationalUnit", json!({"ParentId": root, "Name": "Sandbox"}))["OrganizationalUnit"]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let car = aws(&addr, MGMT, "CreateAccount", json!({"AccountName": "Dev", "Email": "dev@example.org"}));
    let car_id = car["CreateAccountStatus"]["Id"].as_str().unwrap();
    let status = aws(&addr, MGMT, "DescribeCreateAccountStatus", json!({"CreateAccountRequestId": car_id}));
    let account = status["CreateAccountStatus"]["AccountId"].as_str().expect("account created at once").to_string();
    aws(&addr, MGMT, "MoveAccount", json!({"AccountId": account, "SourceParentId": root, "DestinationParentId": ou}));
    let content = json!({"Version": "2012-10-17", "Statement": [{"Sid": "KeepLogs", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]});
    let policy = aws(
        &addr,
        MGMT,
        "CreatePolicy",
        json!({"Name": "KeepLogs", "Description": "d", "Type": "SERVICE_CONTROL_POLICY", "Content": content.to_string()}),
    )["Policy"]["PolicySummary"]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    aws(&addr, MGMT, "AttachPolicy", json!({"PolicyId": policy, "TargetId": ou}));

    let principal = format!("arn:aws:iam::{account}:role/Dev");
    let base = ["simulate", "--endpoint", &endpoint, "--account", MGMT, "--principal", &principal];

    // For a person: the decision, then the SCP path as a tree with the deciding level marked.
    let text = stdout(&canopy(&[&base[..], &["--action", "s3:DeleteBucket", "--resource", "arn:aws:s3:::logs"]].concat()));
    assert!(text.starts_with(&format!("ExplicitDeny: {principal} s3:DeleteBucket on arn:aws:s3:::logs\n")), "{text}");
    assert!(text.contains("blocked by: SCP"), "{text}");
    assert!(text.contains("SCP: ExplicitDeny (explicit_deny)"), "{text}");
    assert!(text.contains(&format!("└─ {root} [ROOT]: Allow by p-FullAWSAccess statement 0")), "{text}");
    assert!(text.contains(&format!("└─ {ou} [ORGANIZATIONAL_UNIT]: ExplicitDeny by {policy} statement 0 (KeepLogs)  ◀ decides")), "{text}");
    assert!(text.contains("RCP: NotApplicable (policy_type_not_enabled)"), "{text}");

    // For scripts.
    let out = stdout(&canopy(&[&base[..], &["--action", "s3:GetObject", "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=b", "--json"]].concat()));
    let v: Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["decision"], "Allow");
    assert_eq!(v["scp"]["allow_path"].as_array().unwrap().len(), 3);

    // A batch from a file.
    let dir = std::env::temp_dir().join(format!("canopy-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let batch = dir.join("batch.json");
    std::fs::write(
        &batch,
        json!({"requests": [{"principal": principal, "action": "s3:DeleteBucket"}, {"principal": principal, "action": "ec2:RunInstances"}]}).to_string(),
    )
    .unwrap();
    let out = stdout(&canopy(&["simulate", "--endpoint", &endpoint, "--account", MGMT, "--file", batch.to_str().unwrap(), "--json"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let decisions: Vec<&str> = v["results"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["ExplicitDeny", "Allow"]);

    // What-if: detaching the guard lifts the deny for the one account under the OU.
    let changes = dir.join("what-if.json");
    std::fs::write(
        &changes,
        json!({"changes": [{"change": "detach_policy", "policy_id": policy, "target_id": ou}],
               "probes": [{"principal": "role/Dev", "action": "s3:DeleteBucket"}, {"action": "s3:GetObject"}]})
        .to_string(),
    )
    .unwrap();
    let text = stdout(&canopy(&["what-if", "--endpoint", &endpoint, "--account", MGMT, "--file", changes.to_str().unwrap()]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "affected accounts: 1   evaluations: 4   flips: 1", "{text}");
    assert!(lines[1].starts_with("ACCOUNT") && lines[1].contains("DECIDED BY"), "{text}");
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(&row[..7], [account.as_str(), "0", principal.as_str(), "s3:DeleteBucket", "*", "ExplicitDeny", "Allow"], "{text}");
    assert!(lines[2].contains(&format!("SCP {policy} #0 (KeepLogs) at {ou}")), "{text}");
    assert_eq!(lines.len(), 3, "{text}");

    // Errors: a member account may not simulate; the server's error is shown and the exit code is 1.
    let o = canopy(&["simulate", "--endpoint", &endpoint, "--account", &account, "--principal", &principal, "--action", "s3:GetObject"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("AccessDeniedException (HTTP 403)"), "{err}");
    let o = canopy(&["simulate", "--endpoint", &endpoint, "--account", MGMT, "--principal", &principal, "--action", "s3:X", "--context", "novalue"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected KEY=VALUE"));
    let _ = std::fs::remove_dir_all(&dir);
    drop(server);
}

/// `canopy serve` as a user starts it: SCPs are enforced on member calls by default, and
/// `--no-scp-enforcement` switches that off.
#[test]
fn serve_enforces_scps_unless_told_not_to() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    for (flag, denied) in [(None, true), (Some("--no-scp-enforcement"), false)] {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", "memory"])
            .args(flag)
            .env_remove("CANOPY_LOG")
            .env_remove("CANOPY_NO_SCP_ENFORCEMENT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn canopy serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("listening line");
        let addr = line
            .strip_prefix("canopy listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        aws(&addr, MGMT, "CreateOrganization", json!({"FeatureSet": "ALL"}));
        let car = aws(&addr, MGMT, "CreateAccount", json!({"AccountName": "m", "Email": "m@example.org"}));
        let car_id = car["CreateAccountStatus"]["Id"].as_str().unwrap();
        let status = aws(&addr, MGMT, "DescribeCreateAccountStatus", json!({"CreateAccountRequestId": car_id}));
        let member = status["CreateAccountStatus"]["AccountId"].as_str().unwrap().to_string();
        let content = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "organizations:Describe*", "Resource": "*"}]});
        let policy = aws(&addr, MGMT, "CreatePolicy", json!({"Name": "NoDescribe", "Description": "", "Type": "SERVICE_CONTROL_POLICY", "Content": content.to_string()}))
            ["Policy"]["PolicySummary"]["Id"]
            .as_str()
            .unwrap()
            .to_string();
        aws(&addr, MGMT, "AttachPolicy", json!({"PolicyId": policy, "TargetId": member}));
        let (status, body) = aws_status(&addr, &member, "DescribeOrganization", json!({}));
        if denied {
            assert_eq!(status, 400, "{body}");
            assert_eq!(body["__type"], "AccessDeniedException");
            let message = body["Message"].as_str().unwrap();
            assert!(message.contains("with an explicit deny in a service control policy: arn:aws:organizations::111111111111:policy/"), "{message}");
            assert!(message.ends_with(&policy), "{message}");
        } else {
            assert_eq!(status, 200, "{body}");
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
