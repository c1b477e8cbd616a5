//! The evaluator through its Rust API: explanations name the failing part.

use canopy_policy::{
    evaluate, evaluate_with, AuthzRequest, CompiledPolicy, ContextValue, EvalOptions, Layer,
    LevelPolicies, Mismatch, OrgView, Outcome, PathNode, PolicyType, Principal, PrincipalKind,
    Reason, RequestContext, TargetType,
};
use std::sync::Arc;

fn org(types: &[PolicyType]) -> OrgView {
    let path = vec![
        PathNode::new("r-ab12", TargetType::Root),
        PathNode::new("333333333333", TargetType::Account),
    ];
    OrgView {
        org_id: Some("o-a1b2c3d4e5".into()),
        management_account: "111111111111".into(),
        enabled_policy_types: types.to_vec(),
        principal_path: Some(path.clone()),
        resource_path: Some(path),
    }
}

fn levels(docs: &[&str]) -> Vec<LevelPolicies> {
    let p = |i: usize, d: &str| Arc::new(CompiledPolicy::compile(format!("p-{i}"), d).unwrap());
    vec![
        LevelPolicies {
            target_id: "r-ab12".into(),
            target_type: TargetType::Root,
            policies: docs.iter().enumerate().map(|(i, d)| p(i, d)).collect(),
        },
        LevelPolicies {
            target_id: "333333333333".into(),
            target_type: TargetType::Account,
            policies: docs.iter().enumerate().map(|(i, d)| p(i, d)).collect(),
        },
    ]
}

fn request(action: &str, ctx: &[(&str, &str)]) -> AuthzRequest {
    let mut context = RequestContext::new();
    for (k, v) in ctx {
        context.insert(*k, *v);
    }
    AuthzRequest {
        principal: Principal {
            arn: "arn:aws:iam::333333333333:user/alice".into(),
            account: None,
            kind: PrincipalKind::IamUser,
        },
        action: action.into(),
        resource: "arn:aws:s3:::bucket/key".into(),
        resource_account: Some("333333333333".into()),
        context,
    }
}

const FULL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[test]
fn unmatched_statements_name_the_failing_part() {
    let deny = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Deny","Action":"ec2:*","Resource":"*"},
        {"Sid":"R","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::other/*"},
        {"Sid":"C","Effect":"Deny","Action":"s3:*","Resource":"*",
         "Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"},"Bool":{"aws:SecureTransport":"false"}}}
    ]}"#;
    let lv = levels(&[FULL, deny]);
    let d = evaluate(
        Layer::Scp,
        &org(&[PolicyType::ServiceControlPolicy]),
        &lv,
        &request("s3:GetObject", &[("aws:RequestedRegion", "eu-west-1")]),
    );
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.reason, Reason::AllowedAtEveryLevel);
    assert_eq!(d.allow_path.len(), 2);
    let level = &d.explanation.levels[0];
    let un: Vec<_> = level
        .unmatched_statements()
        .map(|s| (s.sid.unwrap_or(""), s.mismatch.unwrap()))
        .collect();
    assert_eq!(
        un,
        vec![
            ("A", Mismatch::Action),
            ("R", Mismatch::Resource),
            (
                "C",
                Mismatch::Condition {
                    operator: "Bool",
                    key: "aws:SecureTransport"
                }
            ),
        ]
    );
    // The derived keys are reported.
    assert_eq!(
        d.explanation.derived_context.get("aws:principalaccount"),
        Some(&ContextValue::Single("333333333333".into()))
    );
    let j = d.explanation_json();
    assert_eq!(
        j["levels"][0]["unmatched_statements"][2]["not_matched"]["key"],
        "aws:SecureTransport"
    );
}

#[test]
fn principal_element_mismatch_and_detail() {
    let rcp = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
        {"Sid":"P","Effect":"Deny","Principal":{"AWS":"999999999999"},"Action":"s3:*","Resource":"*"},
        {"Sid":"V","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
         "Condition":{"StringNotEquals":{"aws:ResourceTag/owner":"${aws:username}"}}}
    ]}"#;
    let lv = levels(&[rcp]);
    let opts = EvalOptions {
        detail: true,
        ..Default::default()
    };
    let d = evaluate_with(
        Layer::Rcp,
        &org(&[PolicyType::ResourceControlPolicy]),
        &lv,
        &request("s3:GetObject", &[("aws:ResourceTag/owner", "alice")]),
        &opts,
    );
    // aws:username is absent: the variable cannot resolve, the negated operator is true.
    assert_eq!(d.decision, Outcome::ExplicitDeny);
    let st = d.deciding.as_ref().unwrap().statement.as_ref().unwrap();
    assert_eq!((st.statement_index, st.sid.as_deref()), (2, Some("V")));
    let level = &d.explanation.levels[0];
    let p = level.statements().nth(1).unwrap();
    assert_eq!(p.mismatch, Some(Mismatch::Principal));
    let v = level.deny_statements().next().unwrap();
    let c = &v.detail.unwrap().conditions[0];
    assert!(c.matched && c.unresolved_variable);
    assert_eq!(c.request_values, Some(vec!["alice".to_string()]));
}

#[test]
fn not_applicable_reasons() {
    let lv = levels(&[FULL]);
    let o = org(&[PolicyType::ServiceControlPolicy]);
    let d = evaluate(Layer::Rcp, &o, &lv, &request("s3:GetObject", &[]));
    assert_eq!(
        (d.decision, d.reason.as_str()),
        (Outcome::NotApplicable, "policy_type_not_enabled")
    );
    let mut r = request("s3:GetObject", &[]);
    r.principal.arn = "arn:aws:iam::111111111111:user/admin".into();
    let d = evaluate(Layer::Scp, &o, &lv, &r);
    assert_eq!(d.reason, Reason::ManagementAccountExempt);
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    for doc in [
        "",
        "[]",
        r#"{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Deny","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Nope":{"k":"v"}}}]}"#,
        r#"{"Statement":[{"Effect":"Deny","Action":[1],"Resource":"*"}]}"#,
    ] {
        assert!(CompiledPolicy::compile("p", doc).is_err(), "{doc}");
    }
}
