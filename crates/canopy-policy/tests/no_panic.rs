//! Property tests: validation and merging never panic, whatever the input.

use canopy_policy::{effective_policy, validate, Level, PolicyType, ValidationOptions};
use proptest::prelude::*;
use serde_json::Value;

fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("@@assign".to_string()),
        Just("@@append".to_string()),
        Just("@@remove".to_string()),
        Just("@@operators_allowed_for_child_policies".to_string()),
        Just("@@all".to_string()),
        Just("Statement".to_string()),
        Just("Effect".to_string()),
        Just("Action".to_string()),
        Just("Resource".to_string()),
        Just("Principal".to_string()),
        Just("Condition".to_string()),
        Just("tags".to_string()),
        Just("plans".to_string()),
        Just("services".to_string()),
        Just("rules".to_string()),
        Just("tag_value".to_string()),
        "[a-zA-Z_@:]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            Just("*".to_string()),
            Just("Deny".to_string()),
            Just("2012-10-17".to_string()),
            Just("@@none".to_string()),
            Just("@@append".to_string()),
            "\\PC{0,16}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Wrap a value under each plausible top-level shape so the type validators get past the
/// first check often.
fn shapes(t: PolicyType, v: &Value) -> Vec<String> {
    let mut out = vec![v.to_string()];
    if let Some(root) = t.root_key() {
        out.push(serde_json::json!({ root: v }).to_string());
    } else {
        out.push(serde_json::json!({"Version": "2012-10-17", "Statement": v}).to_string());
        out.push(serde_json::json!({"Version": "2012-10-17", "Statement": [v]}).to_string());
    }
    out
}

fn option_sets() -> Vec<ValidationOptions> {
    vec![
        ValidationOptions::default(),
        ValidationOptions {
            legacy_scp_grammar: true,
            lenient_version: true,
            aws_managed: true,
            ..Default::default()
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn validate_never_panics_on_strings(s in "\\PC{0,200}") {
        for t in PolicyType::ALL {
            for o in option_sets() {
                let _ = validate(t, &s, &o);
            }
        }
    }

    #[test]
    fn validate_never_panics_on_json(v in arb_json()) {
        for t in PolicyType::ALL {
            for doc in shapes(t, &v) {
                for o in option_sets() {
                    if let Err(e) = validate(t, &doc, &o) {
                        // Every error names an AWS exception and renders a message.
                        prop_assert!(!e.exception_name().is_empty());
                        let _ = e.to_string();
                    }
                }
            }
        }
    }

    #[test]
    fn effective_policy_never_panics(a in arb_json(), b in arb_json(), c in arb_json()) {
        for t in PolicyType::ALL {
            let wrap = |v: &Value| match t.root_key() {
                Some(r) => serde_json::json!({ r: v }).to_string(),
                None => v.to_string(),
            };
            let levels = vec![
                Level { target_id: "r-ab12".into(), policies: vec![("p-a".into(), wrap(&a)), ("p-raw".into(), a.to_string())] },
                Level { target_id: "ou-ab12-11111111".into(), policies: vec![("p-b".into(), wrap(&b))] },
                Level { target_id: "222222222222".into(), policies: vec![("p-c".into(), wrap(&c)), ("p-bad".into(), "{".into())] },
            ];
            let _ = effective_policy(t, &levels);
        }
    }

    #[test]
    fn eval_case_never_panics(v in arb_json(), kind in prop_oneof![Just("validation"), Just("effective_policy"), Just("effective_policy_validation"), Just("authorization"), Just("x")]) {
        let mut case = serde_json::json!({"kind": kind, "policy_type": "TAG_POLICY", "content": v.clone(), "org": v.clone(), "policies": v.clone(), "attachments": v});
        let _ = canopy_policy::eval_case(&case);
        case["content_size_characters"] = Value::from(20_000u64);
        let _ = canopy_policy::eval_case(&case);
    }
}

#[test]
fn valid_documents_of_random_management_shape_round_trip_through_merge() {
    // A valid document merged alone renders without operators.
    let doc = r#"{"tags":{"CostCenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["a"],"@@operators_allowed_for_child_policies":["@@none"]}}}}"#;
    validate(PolicyType::TagPolicy, doc, &ValidationOptions::default()).unwrap();
    let r = effective_policy(
        PolicyType::TagPolicy,
        &[Level {
            target_id: "r-ab12".into(),
            policies: vec![("p-x".into(), doc.into())],
        }],
    );
    let e = r.found().expect("found");
    assert_eq!(
        e.content(),
        r#"{"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["a"]}}}"#
    );
    assert!(!e.content().contains("@@"));
}
