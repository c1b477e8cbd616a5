//! Runs every vector of kinds validation, effective_policy and effective_policy_validation in
//! tests/vectors/shared.json (copy of the shared spec file) and tests/vectors/canopy.json.

use canopy_policy::{compare_case, eval_case};
use serde_json::Value;
use std::collections::BTreeMap;

const KINDS: [&str; 3] = [
    "validation",
    "effective_policy",
    "effective_policy_validation",
];

fn run_file(name: &str) -> (BTreeMap<String, (usize, usize)>, Vec<String>) {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for case in file["vectors"].as_array().expect("vectors array") {
        let id = case["id"].as_str().unwrap_or("?").to_string();
        assert!(ids.insert(id.clone()), "{name}: duplicate vector id {id}");
        let kind = case["kind"].as_str().unwrap_or("");
        if !KINDS.contains(&kind) {
            continue;
        }
        let actual = eval_case(case);
        let problems = compare_case(case, &actual);
        let entry = counts.entry(kind.to_string()).or_default();
        entry.1 += 1;
        if problems.is_empty() {
            entry.0 += 1;
            println!("PASS {name} {id}");
        } else {
            println!("FAIL {name} {id}: {}", problems.join("; "));
            failures.push(format!("{id}: {}", problems.join("; ")));
        }
    }
    for (k, (p, t)) in &counts {
        println!("{name}: {k}: {p}/{t} pass");
    }
    (counts, failures)
}

#[test]
fn shared_vectors() {
    let (counts, failures) = run_file("shared.json");
    assert!(
        counts.values().map(|c| c.1).sum::<usize>() >= 27,
        "{counts:?}"
    );
    assert!(
        failures.is_empty(),
        "failing shared vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn canopy_vectors() {
    let (counts, failures) = run_file("canopy.json");
    assert!(!counts.is_empty());
    assert!(
        failures.is_empty(),
        "failing canopy vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn authorization_kind_without_layer_is_an_invalid_vector() {
    // The authorization kind is covered by tests/authz_vectors.rs.
    let v = eval_case(&serde_json::json!({"kind": "authorization"}));
    assert_eq!(v["error"], "InvalidVector");
}

#[test]
fn comparison_catches_wrong_answers() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/vectors/shared.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for case in file["vectors"].as_array().unwrap() {
        let kind = case["kind"].as_str().unwrap_or("");
        if !KINDS.contains(&kind) {
            continue;
        }
        let mut actual = eval_case(case);
        // Perturb the answer: every perturbation must be reported.
        match kind {
            "validation" => actual["error"] = Value::String("SomethingElse".into()),
            "effective_policy" => {
                actual["effective_policy"]["extra_key"] = Value::Bool(true);
            }
            _ => {
                actual["validation_errors"] = Value::Array(vec![]);
            }
        }
        assert!(
            !compare_case(case, &actual).is_empty(),
            "{} perturbed but still passes",
            case["id"]
        );
        checked += 1;
    }
    assert_eq!(checked, 27);
}
