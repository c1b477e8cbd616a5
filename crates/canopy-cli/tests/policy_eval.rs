//! `canopy policy eval`: every vector of kinds validation / effective_policy /
//! effective_policy_validation from canopy-policy's vector files, run through the binary and
//! compared with `canopy_policy::compare_case`; plus the exit codes for bad input.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_canopy");
const KINDS: [&str; 3] = ["validation", "effective_policy", "effective_policy_validation"];

fn vectors(name: &str) -> Vec<Value> {
    let path = format!("{}/../canopy-policy/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap();
    file["vectors"].as_array().unwrap().iter().filter(|c| KINDS.contains(&c["kind"].as_str().unwrap_or(""))).cloned().collect()
}

/// Runs `canopy policy eval -` with `input` on stdin: (exit code, stdout, stderr).
fn eval_stdin(input: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(["policy", "eval", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn canopy");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn run_file(name: &str) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let cases = vectors(name);
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?");
        let (code, stdout, stderr) = eval_stdin(&case.to_string());
        assert_eq!(code, 0, "{id}: exit code (stderr {stderr:?})");
        let actual: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{id}: stdout is not JSON ({e}): {stdout:?}"));
        // The binary must answer exactly what the library answers.
        assert_eq!(actual, canopy_policy::eval_case(case), "{id}: binary and library differ");
        let problems = canopy_policy::compare_case(case, &actual);
        if problems.is_empty() {
            println!("PASS {name} {id}");
        } else {
            println!("FAIL {name} {id}: {}", problems.join("; "));
            failures.push(format!("{id}: {}", problems.join("; ")));
        }
    }
    (cases.len(), failures)
}

#[test]
fn shared_vectors_through_the_binary() {
    let (n, failures) = run_file("shared.json");
    println!("shared.json: {}/{n} pass", n - failures.len());
    assert!(n >= 27, "{n} vectors");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn canopy_vectors_through_the_binary() {
    let (n, failures) = run_file("canopy.json");
    println!("canopy.json: {}/{n} pass", n - failures.len());
    assert!(n > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reads_a_file_argument() {
    let dir = tempfile_dir();
    let path = dir.join("case.json");
    std::fs::write(&path, r#"{"kind":"validation","policy_type":"TAG_POLICY","content":{"tags":{"x":1}}}"#).unwrap();
    let out = Command::new(BIN).args(["policy", "eval"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "MalformedPolicyDocumentException", "{v}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unreadable_input_exits_2_with_a_message() {
    let out = Command::new(BIN).args(["policy", "eval", "/definitely/not/here.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the case file") && stderr.contains("/definitely/not/here.json"), "{stderr}");
    assert!(out.stdout.is_empty());

    let (code, stdout, stderr) = eval_stdin("{not json");
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("not valid JSON"), "{stderr}");

    let (code, _, stderr) = eval_stdin("[1, 2]");
    assert_eq!(code, 2);
    assert!(stderr.contains("JSON object"), "{stderr}");
}

#[test]
fn unknown_kinds_are_answered_not_crashed() {
    // An authorization case without its layer, organization or request is answered as an
    // invalid vector; so is a kind nobody knows.
    for case in [r#"{"kind":"authorization"}"#, r#"{"kind":"no_such_kind"}"#] {
        let (code, stdout, _) = eval_stdin(case);
        assert_eq!(code, 0, "{case}");
        let v: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(v["error"].is_string(), "{case}: {v}");
    }
    let (_, stdout, _) = eval_stdin(r#"{"kind":"authorization"}"#);
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["error"], "InvalidVector");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("canopy-policy-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
