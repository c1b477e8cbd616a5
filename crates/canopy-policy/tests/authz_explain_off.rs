//! `EvalOptions::explain = false` (bulk evaluation) answers exactly what the full evaluation
//! answers — decision, reason, deciding statement, allow path — over every authorization vector.

use canopy_policy::eval_case;
use serde_json::{json, Value};

#[test]
fn decisions_without_explanation_match_every_vector() {
    let mut n = 0;
    for name in ["shared.json", "canopy_authz.json"] {
        let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
        let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in file["vectors"].as_array().unwrap().iter().filter(|c| c["kind"] == "authorization") {
            let mut quick = case.clone();
            let options = quick.as_object_mut().unwrap().entry("options").or_insert_with(|| json!({}));
            options["explain"] = json!(false);
            options["detail"] = json!(false);
            let full = eval_case(case);
            let fast = eval_case(&quick);
            for k in ["decision", "reason", "deciding", "allow_path", "error"] {
                assert_eq!(full.get(k), fast.get(k), "{name} {}: {k}", case["id"]);
            }
            if full.get("error").is_none() && full["explanation"]["layer"].is_string() {
                assert_eq!(fast["explanation"]["levels"], json!([]), "{name} {}: no levels without explain", case["id"]);
            }
            n += 1;
        }
    }
    assert!(n > 90, "{n} vectors");
}
