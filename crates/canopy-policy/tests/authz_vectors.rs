//! Runs every `authorization` vector of tests/vectors/shared.json (copy of the shared spec
//! file) and tests/vectors/canopy_authz.json (Canopy's own), and checks that the comparison
//! catches wrong answers.

use canopy_policy::{compare_case, eval_case};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    file["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .filter(|c| c["kind"] == "authorization")
        .cloned()
        .collect()
}

fn run(name: &str) -> (usize, Vec<String>) {
    let cases = load(name);
    let mut failures = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap_or("?").to_string();
        assert!(ids.insert(id.clone()), "{name}: duplicate vector id {id}");
        let actual = eval_case(case);
        let problems = compare_case(case, &actual);
        if problems.is_empty() {
            println!("PASS {name} {id}");
        } else {
            println!("FAIL {name} {id}: {}", problems.join("; "));
            println!("     explanation: {}", actual);
            failures.push(format!("{id}: {}", problems.join("; ")));
        }
    }
    println!(
        "{name}: authorization: {}/{} pass",
        cases.len() - failures.len(),
        cases.len()
    );
    (cases.len(), failures)
}

#[test]
fn shared_authorization_vectors() {
    let (n, failures) = run("shared.json");
    assert_eq!(n, 37, "the shared file holds 37 authorization vectors");
    assert!(
        failures.is_empty(),
        "failing shared vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn canopy_authorization_vectors() {
    let (n, failures) = run("canopy_authz.json");
    assert!(n >= 60, "only {n} canopy authorization vectors");
    assert!(
        failures.is_empty(),
        "failing canopy vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn comparison_catches_wrong_answers() {
    for name in ["shared.json", "canopy_authz.json"] {
        for case in load(name) {
            let good = eval_case(&case);
            let exp = &case["expected"];
            let mut bad = good.clone();
            bad["decision"] = Value::String("Wrong".into());
            assert!(
                !compare_case(&case, &bad).is_empty(),
                "{} decision",
                case["id"]
            );
            let mut bad = good.clone();
            bad["reason"] = Value::String("wrong".into());
            assert!(
                !compare_case(&case, &bad).is_empty(),
                "{} reason",
                case["id"]
            );
            if exp.get("deciding").is_some() {
                let mut bad = good.clone();
                bad["deciding"]["target_id"] = Value::String("elsewhere".into());
                assert!(
                    !compare_case(&case, &bad).is_empty(),
                    "{} deciding",
                    case["id"]
                );
            }
            if exp.get("allow_path").is_some() {
                let mut bad = good.clone();
                bad["allow_path"] = Value::Array(vec![]);
                assert!(
                    !compare_case(&case, &bad).is_empty(),
                    "{} allow_path",
                    case["id"]
                );
            }
        }
    }
}

#[test]
fn every_answer_carries_an_explanation() {
    for case in load("shared.json") {
        let v = eval_case(&case);
        let e = &v["explanation"];
        assert_eq!(e["decision"], v["decision"], "{}", case["id"]);
        assert!(e["levels"].is_array(), "{}", case["id"]);
        if v["decision"] != "NotApplicable" {
            let levels = e["levels"].as_array().unwrap();
            assert_eq!(levels.len(), case["org"]["path"].as_array().unwrap().len());
        }
    }
}
