//! Property tests of the authorization evaluator: no input panics, and the hierarchy rules
//! hold for random policies and requests.

use canopy_policy::{
    evaluate, evaluate_with, AuthzRequest, CompiledPolicy, ContextValue, EvalOptions, Json, Layer,
    LevelPolicies, OrgView, Outcome, PathNode, PolicyType, Principal, PrincipalKind,
    RequestContext, TargetType,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::Arc;

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "ec2:*",
    "iam:*",
    "S3:*Object",
    "ec2:?unInstances",
    "sqs:Send*",
    "*:Get*",
];
const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "ec2:RunInstances",
    "iam:CreateUser",
    "sqs:SendMessage",
    "kms:Decrypt",
    "mechanicalturk:CreateHIT",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::${aws:PrincipalAccount}-*",
    "arn:aws:ec2:*:*:instance/*",
    "arn:*",
    "arn:aws:iam::*:role/${aws:PrincipalTag/team}",
    "arn:aws:s3:::${*}",
];
const REQ_RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::bucket/a",
    "arn:aws:ec2:us-east-1:333333333333:instance/i-1",
    "arn:aws:iam::333333333333:role/blue",
    "arn:aws:s3:::333333333333-x",
    "not-an-arn",
];

fn conditions() -> Vec<Value> {
    vec![
        json!({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
        json!({"StringNotEqualsIfExists": {"aws:PrincipalTag/team": ["blue", "green"]}}),
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}),
        json!({"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}}),
        json!({"Null": {"aws:RequestTag/x": "true"}}),
        json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "100"}}),
        json!({"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}),
        json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        json!({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}),
        json!({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}),
        json!({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "BLUE"}, "BoolIfExists": {"aws:ViaAWSService": "false"}}),
    ]
}

fn statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(ACTIONS), 1..3),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(RESOURCES), 1..3),
        prop::option::of(prop::sample::select(conditions())),
    )
        .prop_map(|(deny, not_action, actions, not_res, res, cond)| {
            let mut s = serde_json::Map::new();
            s.insert("Effect".into(), json!(if deny { "Deny" } else { "Allow" }));
            s.insert(
                (if not_action { "NotAction" } else { "Action" }).into(),
                json!(actions),
            );
            s.insert(
                (if not_res { "NotResource" } else { "Resource" }).into(),
                json!(res),
            );
            if let Some(c) = cond {
                s.insert("Condition".into(), c);
            }
            Value::Object(s)
        })
}

/// Levels of policies: each policy a list of statements.
type Tree = Vec<Vec<Vec<Value>>>;

fn tree() -> impl Strategy<Value = Tree> {
    prop::collection::vec(
        prop::collection::vec(prop::collection::vec(statement(), 1..4), 0..3),
        1..4,
    )
}

fn context() -> impl Strategy<Value = Vec<(&'static str, ContextValue)>> {
    let single = |k: &'static str, vals: &'static [&'static str]| {
        prop::option::of(prop::sample::select(vals))
            .prop_map(move |v| v.map(|v| (k, ContextValue::Single(v.to_string()))))
    };
    (
        single("aws:RequestedRegion", &["us-east-1", "eu-west-1"]),
        single("aws:PrincipalTag/team", &["blue", "red", "BLUE"]),
        prop::option::of(prop::collection::vec(
            prop::sample::select(&["a", "b", "c", "ab"][..]),
            0..3,
        ))
        .prop_map(|v| {
            v.map(|v| {
                (
                    "aws:TagKeys",
                    ContextValue::Multi(v.into_iter().map(String::from).collect()),
                )
            })
        }),
        single("aws:MultiFactorAuthAge", &["50", "500", "x"]),
        single(
            "aws:CurrentTime",
            &["2025-06-01T00:00:00Z", "2026-06-01T00:00:00Z", "bad"],
        ),
        single(
            "aws:SourceIp",
            &["10.1.2.3", "192.0.2.1", "::1", "2001:db8::5"],
        ),
        single("aws:SecureTransport", &["true", "false"]),
        single(
            "aws:SourceArn",
            &["arn:aws:s3:::b", "arn:aws:sns:us-east-1:1:t"],
        ),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| {
            [a, b, c, d, e, f, g, h].into_iter().flatten().collect()
        })
}

fn request() -> impl Strategy<Value = AuthzRequest> {
    (
        prop::sample::select(REQ_ACTIONS),
        prop::sample::select(REQ_RESOURCES),
        prop::sample::select(
            &[
                PrincipalKind::AssumedRole,
                PrincipalKind::IamUser,
                PrincipalKind::Root,
                PrincipalKind::ServiceLinkedRole,
                PrincipalKind::AwsService,
            ][..],
        ),
        prop::sample::select(&["333333333333", "111111111111", "999999999999"][..]),
        context(),
    )
        .prop_map(|(action, resource, kind, acct, ctx)| {
            let mut context = RequestContext::new();
            for (k, v) in ctx {
                context.insert(k, v);
            }
            AuthzRequest {
                principal: Principal {
                    arn: format!("arn:aws:iam::{acct}:role/Dev"),
                    account: Some(acct.to_string()),
                    kind,
                },
                action: action.to_string(),
                resource: resource.to_string(),
                resource_account: Some("333333333333".into()),
                context,
            }
        })
}

fn build(layer: Layer, t: &Tree) -> (OrgView, Vec<LevelPolicies>) {
    let mut path = Vec::new();
    let mut levels = Vec::new();
    for (i, pols) in t.iter().enumerate() {
        let (id, tt) = if i == 0 {
            ("r-ab12".to_string(), TargetType::Root)
        } else if i == t.len() - 1 {
            ("333333333333".to_string(), TargetType::Account)
        } else {
            (format!("ou-ab12-{i:08}"), TargetType::OrganizationalUnit)
        };
        path.push(PathNode::new(id.clone(), tt));
        let policies = pols
            .iter()
            .enumerate()
            .map(|(j, sts)| {
                let mut stmts = sts.clone();
                if layer == Layer::Rcp {
                    for s in &mut stmts {
                        s["Principal"] = json!("*");
                    }
                }
                let doc = json!({"Version": "2012-10-17", "Statement": stmts});
                Arc::new(
                    CompiledPolicy::from_json(format!("p-{i}-{j}"), &Json::from_value(&doc))
                        .expect("generated policies compile"),
                )
            })
            .collect();
        levels.push(LevelPolicies {
            target_id: id,
            target_type: tt,
            policies,
        });
    }
    let org = OrgView {
        org_id: Some("o-a1b2c3d4e5".into()),
        management_account: "111111111111".into(),
        enabled_policy_types: vec![
            PolicyType::ServiceControlPolicy,
            PolicyType::ResourceControlPolicy,
        ],
        principal_path: Some(path.clone()),
        resource_path: Some(path),
    };
    (org, levels)
}

fn layer() -> impl Strategy<Value = Layer> {
    prop::sample::select(&[Layer::Scp, Layer::Rcp][..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn decision_agrees_with_levels(layer in layer(), t in tree(), req in request()) {
        let (org, levels) = build(layer, &t);
        let d = evaluate(layer, &org, &levels, &req);
        let full = evaluate_with(layer, &org, &levels, &req, &EvalOptions { detail: true, ..Default::default() });
        prop_assert_eq!(d.decision, full.decision);
        prop_assert_eq!(&d.deciding, &full.deciding);
        prop_assert_eq!(&d.allow_path, &full.allow_path);
        // The summary (action index, memo) and the full detail list the same statements with
        // the same verdicts.
        for (a, b) in d.explanation.levels.iter().zip(&full.explanation.levels) {
            prop_assert_eq!(a.result, b.result);
            let xa: Vec<_> = a.statements().map(|s| (s.policy.id().to_string(), s.statement_index, s.mismatch.map(|m| m.part()))).collect();
            let xb: Vec<_> = b.statements().map(|s| (s.policy.id().to_string(), s.statement_index, s.mismatch.map(|m| m.part()))).collect();
            prop_assert_eq!(xa, xb);
        }
        if d.decision == Outcome::NotApplicable {
            prop_assert!(d.explanation.levels.is_empty());
            return Ok(());
        }
        let ls = &d.explanation.levels;
        prop_assert_eq!(ls.len(), levels.len());
        let first_deny = ls.iter().position(|l| l.result == Outcome::ExplicitDeny);
        let first_gap = ls.iter().position(|l| l.result == Outcome::ImplicitDeny || (l.result == Outcome::ExplicitDeny && l.allow_statements().next().is_none()));
        match d.decision {
            Outcome::ExplicitDeny => {
                let i = first_deny.unwrap();
                prop_assert_eq!(&d.deciding.as_ref().unwrap().target_id, &ls[i].target_id);
                let s = d.deciding.as_ref().unwrap().statement.as_ref().unwrap();
                let first = ls[i].deny_statements().next().unwrap();
                prop_assert_eq!(&s.policy_id, first.policy.id());
                prop_assert_eq!(s.statement_index, first.statement_index);
            }
            Outcome::ImplicitDeny => {
                prop_assert!(first_deny.is_none());
                prop_assert_eq!(&d.deciding.as_ref().unwrap().target_id, &ls[first_gap.unwrap()].target_id);
            }
            Outcome::Allow => {
                prop_assert!(first_deny.is_none() && first_gap.is_none());
                prop_assert_eq!(d.allow_path.len(), ls.len());
            }
            Outcome::NotApplicable => unreachable!(),
        }
    }

    #[test]
    fn adding_a_deny_never_allows(layer in layer(), t in tree(), req in request(), extra in statement(), at in any::<prop::sample::Index>()) {
        let (org, levels) = build(layer, &t);
        let before = evaluate(layer, &org, &levels, &req);
        let mut t2 = t.clone();
        let mut extra = extra;
        extra["Effect"] = json!("Deny");
        let li = at.index(t2.len());
        t2[li].push(vec![extra]);
        let (org, levels) = build(layer, &t2);
        let after = evaluate(layer, &org, &levels, &req);
        match before.decision {
            Outcome::ExplicitDeny => prop_assert_eq!(after.decision, Outcome::ExplicitDeny),
            Outcome::ImplicitDeny => prop_assert!(matches!(after.decision, Outcome::ImplicitDeny | Outcome::ExplicitDeny)),
            Outcome::NotApplicable => prop_assert_eq!(after.decision, Outcome::NotApplicable),
            Outcome::Allow => prop_assert!(after.decision != Outcome::NotApplicable),
        }
    }

    #[test]
    fn removing_allows_at_a_level_denies_unless_exempt(layer in layer(), t in tree(), req in request(), at in any::<prop::sample::Index>()) {
        let (org, levels) = build(layer, &t);
        let before = evaluate(layer, &org, &levels, &req);
        let mut t2 = t.clone();
        let li = at.index(t2.len());
        for p in &mut t2[li] {
            p.retain(|s| s["Effect"] != "Allow");
        }
        t2[li].retain(|p| !p.is_empty());
        let (org, levels) = build(layer, &t2);
        let after = evaluate(layer, &org, &levels, &req);
        match before.decision {
            Outcome::NotApplicable => prop_assert_eq!(after.decision, Outcome::NotApplicable),
            Outcome::ExplicitDeny => prop_assert_eq!(after.decision, Outcome::ExplicitDeny),
            _ => {
                prop_assert_eq!(after.decision, Outcome::ImplicitDeny);
                let g = &after.deciding.as_ref().unwrap().target_id;
                let pos = levels.iter().position(|l| &l.target_id == g).unwrap();
                prop_assert!(pos <= li);
            }
        }
    }

    #[test]
    fn random_documents_and_requests_never_panic(
        doc in arb_json(),
        action in "[a-zA-Z0-9:*?$ ]{0,16}",
        resource in "(arn:|\\*|)[a-z0-9:*?${}/ .-]{0,24}",
        key in "[a-zA-Z:/]{0,12}",
        value in "\\PC{0,12}",
        kind in prop::sample::select(&[PrincipalKind::AssumedRole, PrincipalKind::Root, PrincipalKind::Anonymous, PrincipalKind::AwsService, PrincipalKind::FederatedUser][..]),
        layer in layer(),
        multi in any::<bool>(),
    ) {
        let text = doc.to_string();
        let _ = CompiledPolicy::compile("p-x", &text);
        if let Ok(p) = CompiledPolicy::from_json("p-x", &Json::from_value(&doc)) {
            let mut context = RequestContext::new();
            context.insert(key.as_str(), if multi { ContextValue::Multi(vec![value.clone(), String::new()]) } else { ContextValue::Single(value.clone()) });
            let req = AuthzRequest {
                principal: Principal { arn: value.clone(), account: None, kind },
                action, resource, resource_account: None, context,
            };
            let levels = vec![LevelPolicies { target_id: "r-ab12".into(), target_type: TargetType::Root, policies: vec![Arc::new(p)] }];
            let org = OrgView {
                management_account: "111111111111".into(),
                enabled_policy_types: vec![PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy],
                principal_path: Some(vec![]),
                resource_path: Some(vec![]),
                ..Default::default()
            };
            let opts = EvalOptions { detail: true, rcp_skip_without_resource: false, rcp_supported_services: Some(vec![]), ..Default::default() };
            let d = evaluate_with(layer, &org, &levels, &req, &opts);
            let _ = d.to_json();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Every operator family parses arbitrary request values without panicking.
    #[test]
    fn every_operator_survives_any_request_value(
        value in prop_oneof!["\\PC{0,24}", "[0-9:.TZ+-]{0,26}", "[0-9a-f:./]{0,20}", "(arn:)?[a-z0-9:*/]{0,20}"],
        multi in any::<bool>(),
    ) {
        let ops = [
            "StringEquals", "StringNotEqualsIgnoreCase", "StringLike", "NumericLessThan",
            "NumericNotEquals", "DateGreaterThanEquals", "DateNotEquals", "Bool", "BinaryEquals",
            "IpAddress", "NotIpAddress", "ArnLike", "ArnNotEquals", "Null",
            "ForAllValues:StringLike", "ForAnyValue:DateEqualsIfExists",
        ];
        let stmts: Vec<Value> = ops.iter().map(|op| {
            let v = match *op {
                "Null" | "Bool" => json!("true"),
                "IpAddress" | "NotIpAddress" => json!(["10.0.0.0/8", "::/0"]),
                o if o.contains("Date") => json!("2026-01-01T00:00:00+01:00"),
                o if o.starts_with("Numeric") => json!("1.5"),
                _ => json!(["a*", "${k}", "arn:aws:s3:::*"]),
            };
            json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {*op: {"k": v}}})
        }).collect();
        let doc = json!({"Version": "2012-10-17", "Statement": stmts});
        let p = Arc::new(CompiledPolicy::from_json("p", &Json::from_value(&doc)).unwrap());
        let mut context = RequestContext::new();
        context.insert("k", if multi { ContextValue::Multi(vec![value.clone(), "x".into()]) } else { ContextValue::Single(value.clone()) });
        let req = AuthzRequest {
            principal: Principal { arn: "arn:aws:iam::333333333333:role/r".into(), account: None, kind: PrincipalKind::AssumedRole },
            action: "s3:GetObject".into(), resource: value.clone(), resource_account: Some("333333333333".into()), context,
        };
        let (org, mut levels) = build(Layer::Scp, &vec![vec![]]);
        levels[0].policies.push(p);
        let d = evaluate_with(Layer::Scp, &org, &levels, &req, &EvalOptions { detail: true, ..Default::default() });
        let _ = d.to_json();
    }
}

/// Policy-shaped random JSON: the real element names with random values.
fn arb_json() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just("*".to_string()),
        Just("s3:Get*".to_string()),
        Just("arn:aws:s3:::b/${aws:username}".to_string()),
        Just("${".to_string()),
        Just("${*}${?}${$}${aws:x, 'd'}".to_string()),
        Just("2012-10-17".to_string()),
        "[a-z:*?${}/ .-]{0,16}",
        "\\PC{0,8}",
    ];
    let op = prop_oneof![
        Just("StringEquals"),
        Just("StringNotLike"),
        Just("ForAllValues:StringLike"),
        Just("ForAnyValue:StringNotEqualsIfExists"),
        Just("NumericLessThan"),
        Just("DateEquals"),
        Just("Bool"),
        Just("BinaryEquals"),
        Just("IpAddress"),
        Just("NotIpAddressIfExists"),
        Just("ArnLike"),
        Just("ArnNotEquals"),
        Just("Null"),
        Just("NullIfExists"),
        Just("Bogus"),
    ];
    let values = prop_oneof![
        text.clone().prop_map(Value::String),
        prop::collection::vec(text.clone(), 0..3).prop_map(|v| json!(v)),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let condition = prop::collection::vec((op, text.clone(), values.clone()), 0..3).prop_map(|v| {
        let mut m = serde_json::Map::new();
        for (o, k, val) in v {
            m.insert(o.to_string(), json!({ k: val }));
        }
        Value::Object(m)
    });
    let stmt = (
        prop::sample::select(&["Allow", "Deny", "allow", ""][..]),
        prop::sample::select(&["Action", "NotAction"][..]),
        values.clone(),
        prop::sample::select(&["Resource", "NotResource"][..]),
        values.clone(),
        prop::option::of(condition),
        prop::option::of(prop_oneof![
            Just(json!("*")),
            Just(json!({"AWS": ["123456789012", "arn:aws:iam::*:role/x"]})),
            Just(json!({"Service": "s3.amazonaws.com"}))
        ]),
    )
        .prop_map(|(e, ak, a, rk, r, c, p)| {
            let mut m = serde_json::Map::new();
            m.insert("Effect".into(), json!(e));
            m.insert(ak.into(), a);
            m.insert(rk.into(), r);
            if let Some(c) = c {
                m.insert("Condition".into(), c);
            }
            if let Some(p) = p {
                m.insert("Principal".into(), p);
            }
            Value::Object(m)
        });
    (
        prop::option::of(prop::sample::select(&["2012-10-17", "2008-10-17"][..])),
        prop::collection::vec(stmt, 0..3),
        any::<bool>(),
    )
        .prop_map(|(v, s, single)| {
            let mut m = serde_json::Map::new();
            if let Some(v) = v {
                m.insert("Version".into(), json!(v));
            }
            if single && !s.is_empty() {
                m.insert("Statement".into(), s[0].clone());
            } else {
                m.insert("Statement".into(), json!(s));
            }
            Value::Object(m)
        })
}
