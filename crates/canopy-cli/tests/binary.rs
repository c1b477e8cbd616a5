//! Runs the built `canopy` binary as a user would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_canopy");

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `canopy serve` on an ephemeral port with a memory store; returns once the listening
/// line has been read.
fn spawn(extra: &[&str]) -> Server {
    // stderr discarded: a long-lived server's request log would fill an unread pipe.
    let mut child = serve_command(&["--database", "memory"]).args(extra).stderr(Stdio::null()).spawn().expect("spawn canopy");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read listening line");
    let addr = line
        .strip_prefix("canopy listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(line.contains("(store: "), "{line:?}");
    assert!(!addr.ends_with(":0"), "the real port is printed: {line:?}");
    Server { child, addr }
}

fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// One awsJson1.1 call as management account 111111111111 (dev auth); (status, body).
fn aws_call(addr: &str, operation: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: AWSOrganizationsV20161128.{operation}\r\nX-Amz-Date: 20261129T000000Z\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=111111111111/20261129/us-east-1/organizations/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}\r\nContent-Length: {}\r\n\r\n{body}",
        "0".repeat(64),
        body.len()
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

#[test]
fn policy_flags_reach_create_policy() {
    let create = |addr: &str, t: &str, content: &str| {
        let body = serde_json::json!({"Type": t, "Name": format!("p{}", content.len()), "Description": "", "Content": content});
        aws_call(addr, "CreatePolicy", &body.to_string()).unwrap()
    };
    let no_version = r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    // Three two-byte characters: 100 characters are 103 bytes.
    let tag = |pad: usize| format!(r#"{{"tags":{{"cc":{{"tag_value":{{"@@assign":["ééé{}"]}}}}}}}}"#, "x".repeat(pad));
    let defaults = spawn(&[]);
    assert_eq!(aws_call(&defaults.addr, "CreateOrganization", "{}").unwrap().0, 200);
    let (status, body) = create(&defaults.addr, "SERVICE_CONTROL_POLICY", no_version);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("MalformedPolicyDocumentException") && body.contains("Version"), "{body}");
    let doc = tag(100 - tag(0).chars().count());
    assert_eq!((doc.chars().count(), doc.len()), (100, 103));
    assert_eq!(create(&defaults.addr, "TAG_POLICY", &doc).0, 200, "10,000 characters by default");

    let tuned = spawn(&[
        "--policy-lenient-version",
        "--policy-size-unit",
        "bytes",
        "--policy-limit",
        "TAG_POLICY.max_size=100,S3_POLICY.max_policies=0",
    ]);
    assert_eq!(aws_call(&tuned.addr, "CreateOrganization", "{}").unwrap().0, 200);
    let (status, body) = create(&tuned.addr, "SERVICE_CONTROL_POLICY", no_version);
    assert_eq!(status, 200, "a missing Version is accepted: {body}");
    let (status, body) = create(&tuned.addr, "TAG_POLICY", &doc);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("POLICY_CONTENT_LIMIT_EXCEEDED") && body.contains("bytes"), "100 characters are 103 bytes: {body}");
    let (status, body) = create(&tuned.addr, "S3_POLICY", r#"{"s3_attributes":{"public_access_block_configuration":{"@@assign":"all"}}}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("POLICY_NUMBER_LIMIT_EXCEEDED"), "{body}");
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("run kill");
    assert!(status.success());
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// One HTTP thread (the default on two cores) still serves an AWS call and its health check.
#[test]
fn serves_with_one_worker_thread() {
    let mut server = spawn(&["--worker-threads", "1"]);
    let (status, body) = aws_call(&server.addr, "CreateOrganization", r#"{"FeatureSet":"ALL"}"#).unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = aws_call(&server.addr, "DescribeOrganization", "{}").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""FeatureSet":"ALL""#), "{body}");
    sigterm(&server.child);
    wait_with_timeout(&mut server.child, Duration::from_secs(10)).expect("exited within 10 s");
}

#[test]
fn serves_health_and_stops_on_sigterm() {
    let mut server = spawn(&[]);
    let (status, body) = http_get(&server.addr, "/canopy/v1/health").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"ok""#), "{body}");
    sigterm(&server.child);
    let exit = wait_with_timeout(&mut server.child, Duration::from_secs(10)).expect("exited within 10 s");
    assert!(exit.success(), "exit status {exit:?}");
}

#[test]
fn healthy_soon_after_spawn() {
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", "memory"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.strip_prefix("canopy listening on http://").unwrap().split_whitespace().next().unwrap().to_owned();
    let server = Server { child, addr };
    let healthy = loop {
        if let Ok((200, _)) = http_get(&server.addr, "/canopy/v1/health") {
            break start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(2), "not healthy within 2 s");
        std::thread::sleep(Duration::from_millis(2));
    };
    println!("spawn → first healthy answer: {} µs", healthy.as_micros());
    assert!(healthy < Duration::from_secs(2));
}

#[test]
fn strict_auth_warns_and_refuses() {
    // A fresh data directory has no credentials: the server says how to issue the first.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("{}/", dir.path().join("data").display());
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db, "--auth", "strict"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("auth: strict"), "{line:?}");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Log lines (schema migrations) go through a background writer and may come first.
    let mut warning = String::new();
    for _ in 0..20 {
        warning.clear();
        stderr.read_line(&mut warning).unwrap();
        if warning.contains("canopy credentials create --account") || warning.is_empty() {
            break;
        }
    }
    assert!(warning.contains("canopy credentials create --account"), "{warning:?}");
    let addr = line.strip_prefix("canopy listening on http://").unwrap().split_whitespace().next().unwrap().to_owned();
    let server = Server { child, addr };
    let (status, _) = http_get(&server.addr, "/canopy/v1/health").unwrap();
    assert_eq!(status, 200);
}

#[test]
fn a_lost_master_key_file_stops_the_start_instead_of_being_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("{}/", dir.path().join("data").display());
    let out = Command::new(BIN).args(["credentials", "create", "--account", "111111111111", "--database", &db]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key_file = dir.path().join("data").join("canopy-master.key");
    std::fs::remove_file(&key_file).unwrap();
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0", "--database", &db, "--auth", "strict"],
        vec!["credentials", "create", "--account", "222222222222", "--database", &db],
    ] {
        let out = Command::new(BIN).args(&args).env_remove("CANOPY_LOG").stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1 issued key(s)") && stderr.contains("canopy-master.key"), "{args:?}: {stderr}");
        assert!(!key_file.exists(), "{args:?}: no stray new key is left");
    }
}

#[test]
fn a_master_key_that_opens_no_issued_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("{}/", dir.path().join("data").display());
    let first = "11".repeat(32);
    let other = "22".repeat(32);
    let out = Command::new(BIN).args(["credentials", "create", "--account", "111111111111", "--database", &db, "--master-key", &first]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0", "--database", &db, "--auth", "strict", "--master-key", &other],
        vec!["credentials", "create", "--account", "222222222222", "--database", &db, "--master-key", &other],
    ] {
        let out = Command::new(BIN).args(&args).env_remove("CANOPY_LOG").stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not open the keys issued on this database"), "{args:?}: {stderr}");
    }
    // The right key still works.
    let out = Command::new(BIN).args(["credentials", "create", "--account", "222222222222", "--database", &db, "--master-key", &first]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn credentials_list_and_revoke_do_not_make_a_database_at_a_mistyped_path() {
    let dir = tempfile::tempdir().unwrap();
    for path in ["nope/", "nope.db"] {
        let db = dir.path().join(path).display().to_string();
        for args in [vec!["credentials", "list", "--database", &db], vec!["credentials", "revoke", "AKIAXXXXXXXXXXXXXXXX", "--database", &db]] {
            let out = Command::new(BIN).args(&args).env_remove("CANOPY_LOG").output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("no Canopy database at"), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was made");
}

#[test]
fn a_port_in_use_leaves_no_database_or_key_behind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = format!("{}/", data.display());
    let out = Command::new(BIN).args(["serve", "--listen", &port, "--database", &db]).env_remove("CANOPY_LOG").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listening on"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists(), "nothing was made: {:?}", std::fs::read_dir(dir.path()).unwrap().collect::<Vec<_>>());
}

#[test]
fn a_second_signal_stops_the_drain_at_once() {
    let mut server = spawn(&[]);
    // A client part-way through its headers keeps the drain waiting (up to 10 s).
    let mut stalled = TcpStream::connect(&server.addr).unwrap();
    stalled.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let interrupt = |child: &Child| {
        Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    };
    interrupt(&server.child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.child.try_wait().unwrap().is_none(), "the first signal drains");
    let started = Instant::now();
    interrupt(&server.child);
    let status = wait_with_timeout(&mut server.child, Duration::from_secs(5)).expect("stopped after the second signal");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(status.code(), Some(130));
}

#[test]
fn invalid_flags_exit_2() {
    for args in [
        vec!["serve", "--default-account", "1234"],
        vec!["serve", "--auth", "lax"],
        vec!["serve", "--listen", "not-an-address"],
        vec!["serve", "--account-creation-delay", "-1"],
        vec!["serve", "--max-accounts", "many"],
        vec!["serve", "--no-such-flag"],
        vec!["serve", "--policy-limit", "TAG_POLICY.size=1"],
        vec!["serve", "--policy-size-unit", "words"],
        vec!["serve", "--worker-threads", "0"],
        vec!["credentials", "create", "--account", "111111111111", "--partition", "aws-xx"],
        vec!["credentials", "create", "--account", "111111111111", "--profile", "a]b"],
        vec!["credentials", "list", "--partition", "bogus"],
        vec!["simulate", "--account", "abc", "--principal", "*", "--action", "s3:GetObject"],
        vec!["frobnicate"],
    ] {
        let out = Command::new(BIN).args(&args).env_remove("CANOPY_LISTEN").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} explains the error");
    }
    let out = Command::new(BIN).args(["serve"]).env("CANOPY_DEFAULT_ACCOUNT", "abc").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "env vars are validated too");
    // Flags valid one by one but not together: refused at start, before anything is made.
    let out = Command::new(BIN).args(["serve", "--database", "memory", "--close-quota-floor", "2000", "--close-quota-cap", "10"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--close-quota-floor (2000) is above --close-quota-cap (10)"));
}

#[test]
fn help_documents_every_flag_and_env_var() {
    let out = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, env) in [
        ("--listen", "CANOPY_LISTEN"),
        ("--database", "CANOPY_DATABASE"),
        ("--auth", "CANOPY_AUTH"),
        ("--default-account", "CANOPY_DEFAULT_ACCOUNT"),
        ("--log-format", "CANOPY_LOG_FORMAT"),
        ("--worker-threads", "CANOPY_WORKER_THREADS"),
        ("--max-accounts", "CANOPY_MAX_ACCOUNTS"),
        ("--max-ous", "CANOPY_MAX_OUS"),
        ("--account-creation-delay", "CANOPY_ACCOUNT_CREATION_DELAY"),
        ("--account-closure-delay", "CANOPY_ACCOUNT_CLOSURE_DELAY"),
        ("--min-account-age-for-removal", "CANOPY_MIN_ACCOUNT_AGE_FOR_REMOVAL"),
        ("--no-scp-on-create", "CANOPY_NO_SCP_ON_CREATE"),
        ("--max-tags-per-resource", "CANOPY_MAX_TAGS_PER_RESOURCE"),
        ("--close-quota-floor", "CANOPY_CLOSE_QUOTA_FLOOR"),
        ("--policy-limit", "CANOPY_POLICY_LIMITS"),
        ("--policy-size-unit", "CANOPY_POLICY_SIZE_UNIT"),
        ("--policy-lenient-version", "CANOPY_POLICY_LENIENT_VERSION"),
    ] {
        assert!(help.contains(flag), "{flag} in help");
        assert!(help.contains(env), "{env} in help");
    }
    assert!(help.contains("CANOPY_LOG"));

    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("serve"));
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("canopy "));
}

/// `canopy serve --listen 127.0.0.1:0 ARGS` at the default log level, its stdout piped.
fn serve_command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("CANOPY_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    command
}

/// `canopy serve --listen 127.0.0.1:0 ARGS` with its stdout and stderr piped.
fn spawn_serve(args: &[&str]) -> Child {
    serve_command(args).stderr(Stdio::piped()).spawn().expect("spawn canopy")
}

/// The address from the server's listening line, or `None` when it printed none (it stopped).
fn listening_addr(child: &mut Child) -> Option<String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take()?).read_line(&mut line).ok()?;
    line.strip_prefix("canopy listening on http://").and_then(|r| r.split_whitespace().next()).map(str::to_owned)
}

/// One log line per request, as an operator's log tooling reads it: the text format (written
/// on its own short path, `logging/request_line.rs`) and JSON.
#[test]
fn one_log_line_per_request_in_text_and_json() {
    for format in ["text", "json"] {
        let mut child = spawn_serve(&["--database", "memory", "--log-format", format]);
        let addr = listening_addr(&mut child).expect("listening");
        let (status, _) = aws_call(&addr, "DescribeOrganization", "{}").unwrap();
        assert_eq!(status, 400);
        assert_eq!(http_get(&addr, "/canopy/v1/health").unwrap().0, 200);
        sigterm(&child);
        wait_with_timeout(&mut child, Duration::from_secs(10)).expect("exited within 10 s");
        let mut log = String::new();
        child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
        if format == "text" {
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(" canopy::request: ")).collect();
            assert_eq!(lines.len(), 2, "{log}");
            let (time, rest) = lines[0].split_at(27);
            let t = time.as_bytes();
            assert!(
                time.len() == 27
                    && t.iter().enumerate().all(|(i, c)| match i {
                        4 | 7 => *c == b'-',
                        10 => *c == b'T',
                        13 | 16 => *c == b':',
                        19 => *c == b'.',
                        26 => *c == b'Z',
                        _ => c.is_ascii_digit(),
                    }),
                "{time}"
            );
            let rest = rest.strip_prefix("  INFO canopy::request: method=POST path=/ operation=DescribeOrganization ").unwrap_or_else(|| panic!("{rest}"));
            let rest = rest.strip_prefix("account=111111111111 status=400 error=AWSOrganizationsNotInUseException latency_us=").unwrap_or_else(|| panic!("{rest}"));
            let (latency, id) = rest.split_once(" request_id=").unwrap();
            assert!(latency.parse::<u64>().is_ok() && id.len() == 36, "{rest}");
            let health = lines[1].split_once(" INFO canopy::request: ").map_or("", |(_, fields)| fields);
            assert!(health.starts_with("method=GET path=/canopy/v1/health operation=- account=- status=200 error=- latency_us="), "{}", lines[1]);
            assert_eq!(health.rsplit_once(" request_id=").map(|(_, id)| id.len()), Some(36), "{}", lines[1]);
        } else {
            let requests: Vec<serde_json::Value> = log
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .filter(|v| v["target"] == "canopy::request")
                .collect();
            assert_eq!(requests.len(), 2, "{log}");
            let first = &requests[0];
            assert_eq!(first["level"], "INFO");
            assert_eq!(first["operation"], "DescribeOrganization");
            assert_eq!(first["account"], "111111111111");
            assert_eq!(first["status"], 400);
            assert_eq!(first["error"], "AWSOrganizationsNotInUseException");
            assert!(first["latency_us"].is_u64() && first["request_id"].as_str().unwrap().len() == 36, "{first}");
            assert_eq!(requests[1]["path"], "/canopy/v1/health");
        }
    }
}

/// Processes that open one new database at once all succeed and share one master key: two
/// `credentials create` on a fresh directory used to fail one in two ("database is locked",
/// the switch to WAL mode), and a server starting beside them could take the keys they issued
/// with its new key file for keys sealed before it, remove the file and refuse to start.
#[test]
fn processes_starting_together_on_a_new_database_share_it() {
    for round in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("{}/", dir.path().join("data").display());
        let mut server = spawn_serve(&["--database", &db, "--auth", "strict"]);
        let creates: Vec<Child> = (0..3)
            .map(|i| {
                Command::new(BIN)
                    .args(["credentials", "create", "--account", &format!("10000000000{i}"), "--database", &db])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in creates {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(listening_addr(&mut server).is_some(), "round {round}: the server started");
        sigterm(&server);
        wait_with_timeout(&mut server, Duration::from_secs(10)).expect("exited within 10 s");
        // Every key issued opens with the one key file left: a restart verifies them.
        let out = Command::new(BIN).args(["credentials", "list", "--database", &db]).output().unwrap();
        assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).matches("AKIA").count(), 3, "round {round}");
        let mut again = spawn_serve(&["--database", &db, "--auth", "strict"]);
        assert!(listening_addr(&mut again).is_some(), "round {round}: the restart verified the keys");
        let _ = again.kill();
        let _ = again.wait();
    }
}
