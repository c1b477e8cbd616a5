//! One SCP decision at depth 5 (root, three OUs, account) with 10 SCPs per level of 20
//! statements each (1,000 statements), every one with conditions. Target: under 20 µs.
//!
//! Two mixes:
//! - `typical`: statements guard 20 different services (as landing-zone SCPs do), plus a
//!   FullAWSAccess-style Allow and a NotAction region lock per level; the request's service is
//!   named by about one statement in twenty, so most statements are skipped by the action index.
//! - `worst_case`: four statements in five match the request's action, so nearly every
//!   statement is checked down to its resource and conditions.
//!
//! Run: `cargo bench -p canopy-policy --bench authz`

use canopy_policy::{
    evaluate, evaluate_with, AuthzRequest, CompiledPolicy, ContextValue, EvalOptions, Layer,
    LevelPolicies, OrgView, PathNode, PolicyType, Principal, PrincipalKind, RequestContext,
    TargetType,
};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;
use std::sync::Arc;

const SERVICES: &[&str] = &[
    "ec2",
    "iam",
    "rds",
    "lambda",
    "kms",
    "sqs",
    "sns",
    "dynamodb",
    "cloudtrail",
    "s3",
];

/// Statement `k` of policy `j` at level `l`: a mix of service guardrails with conditions,
/// resource-scoped denies and allow-lists, typical of landing-zone SCPs.
fn statement(l: usize, j: usize, k: usize) -> Value {
    let svc = SERVICES[(j + k) % SERVICES.len()];
    match k % 5 {
        0 => json!({
            "Sid": format!("DenyRegions{l}{j}{k}"),
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*"],
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1", "eu-central-1"]},
                "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Breakglass*"}
            }
        }),
        1 => json!({
            "Effect": "Deny",
            "Action": [format!("{svc}:Delete*"), format!("{svc}:Put*Policy"), format!("{svc}:Update*")],
            "Resource": format!("arn:aws:{svc}:*:*:protected-{l}-{j}-{k}/*"),
            "Condition": {"StringNotLike": {"aws:PrincipalTag/role": ["admin", "platform-*"]}}
        }),
        2 => json!({
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::audit-logs-*", "arn:aws:s3:::audit-logs-*/*"],
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
        }),
        3 => json!({
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {
                "Bool": {"aws:SecureTransport": "false"},
                "IpAddressIfExists": {"aws:SourceIp": ["0.0.0.0/1"]}
            }
        }),
        _ => json!({
            "Effect": "Allow",
            "Action": [format!("{svc}:*"), "s3:Get*", "s3:List*"],
            "Resource": "*",
            "Condition": {
                "ForAllValues:StringEquals": {"aws:TagKeys": ["Project", "Owner", "CostCenter"]},
                "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}
            }
        }),
    }
}

const SERVICES20: &[&str] = &[
    "ec2",
    "iam",
    "rds",
    "lambda",
    "kms",
    "sqs",
    "sns",
    "dynamodb",
    "cloudtrail",
    "s3",
    "config",
    "guardduty",
    "organizations",
    "route53",
    "ecr",
    "eks",
    "logs",
    "secretsmanager",
    "ssm",
    "elasticloadbalancing",
];

/// A typical guardrail statement: service-specific actions, every statement conditioned.
fn typical_statement(l: usize, j: usize, k: usize) -> Value {
    if j == 0 && k == 0 {
        return json!({"Effect": "Allow", "Action": "*", "Resource": "*"});
    }
    if j == 1 && k == 0 {
        return statement(l, j, 0); // NotAction region lock
    }
    let svc = SERVICES20[(j * 20 + k + l) % SERVICES20.len()];
    match k % 4 {
        0 => json!({
            "Effect": "Deny",
            "Action": [format!("{svc}:Delete*"), format!("{svc}:Put*"), format!("{svc}:Update*")],
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/Breakglass*", "arn:aws:iam::*:role/Platform*"]}}
        }),
        1 => json!({
            "Effect": "Deny",
            "Action": format!("{svc}:*"),
            "Resource": format!("arn:aws:{svc}:*:*:protected-{l}-{j}-{k}*"),
            "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": "admin"}}
        }),
        2 => json!({
            "Effect": "Deny",
            "Action": [format!("{svc}:Create*"), format!("{svc}:Run*")],
            "Resource": "*",
            "Condition": {"Null": {"aws:RequestTag/CostCenter": "true"}}
        }),
        _ => json!({
            "Effect": "Deny",
            "Action": format!("{svc}:Get*"),
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}, "NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "86400"}}
        }),
    }
}

fn setup() -> (OrgView, Vec<LevelPolicies>, AuthzRequest) {
    setup_with(statement)
}

fn setup_with(
    statement: fn(usize, usize, usize) -> Value,
) -> (OrgView, Vec<LevelPolicies>, AuthzRequest) {
    let ids = [
        ("r-ab12".to_string(), TargetType::Root),
        (
            "ou-ab12-aaaaaaaa".to_string(),
            TargetType::OrganizationalUnit,
        ),
        (
            "ou-ab12-bbbbbbbb".to_string(),
            TargetType::OrganizationalUnit,
        ),
        (
            "ou-ab12-cccccccc".to_string(),
            TargetType::OrganizationalUnit,
        ),
        ("333333333333".to_string(), TargetType::Account),
    ];
    let mut levels = Vec::new();
    let mut total = 0;
    for (l, (id, tt)) in ids.iter().enumerate() {
        let mut policies = Vec::new();
        for j in 0..10 {
            let stmts: Vec<Value> = (0..20).map(|k| statement(l, j, k)).collect();
            total += stmts.len();
            let doc = json!({"Version": "2012-10-17", "Statement": stmts}).to_string();
            policies.push(Arc::new(
                CompiledPolicy::compile(format!("p-{l}-{j}"), &doc).expect("compiles"),
            ));
        }
        levels.push(LevelPolicies {
            target_id: id.clone(),
            target_type: *tt,
            policies,
        });
    }
    assert_eq!(total, 1000);
    let path: Vec<PathNode> = ids
        .iter()
        .map(|(id, t)| PathNode::new(id.clone(), *t))
        .collect();
    let org = OrgView {
        org_id: Some("o-a1b2c3d4e5".into()),
        management_account: "111111111111".into(),
        enabled_policy_types: vec![PolicyType::ServiceControlPolicy],
        principal_path: Some(path.clone()),
        resource_path: Some(path),
    };
    let mut context = RequestContext::new();
    context.insert("aws:RequestedRegion", "eu-west-1");
    context.insert("aws:SecureTransport", "true");
    context.insert("aws:SourceIp", "203.0.113.10");
    context.insert("aws:CurrentTime", "2026-06-01T12:00:00Z");
    context.insert("aws:PrincipalTag/role", "developer");
    context.insert(
        "aws:TagKeys",
        ContextValue::Multi(vec!["Project".into(), "Owner".into()]),
    );
    let req = AuthzRequest {
        principal: Principal {
            arn: "arn:aws:sts::333333333333:assumed-role/Dev/session".into(),
            account: Some("333333333333".into()),
            kind: PrincipalKind::AssumedRole,
        },
        action: "s3:GetObject".into(),
        resource: "arn:aws:s3:::data-bucket/reports/2026/q1.csv".into(),
        resource_account: Some("333333333333".into()),
        context,
    };
    (org, levels, req)
}

fn bench(c: &mut Criterion) {
    let (org, levels, req) = setup_with(typical_statement);
    let d = evaluate(Layer::Scp, &org, &levels, &req);
    assert_eq!(d.decision.as_str(), "Allow", "{:?}", d.deciding);
    c.bench_function("scp_decision_depth5_10x20_typical", |b| {
        b.iter(|| {
            evaluate(
                Layer::Scp,
                black_box(&org),
                black_box(&levels),
                black_box(&req),
            )
        })
    });
    let (org, levels, req) = setup();
    let d = evaluate(Layer::Scp, &org, &levels, &req);
    assert_eq!(d.decision.as_str(), "Allow", "{:?}", d.deciding);
    c.bench_function("scp_decision_depth5_10x20_worst_case", |b| {
        b.iter(|| {
            evaluate(
                Layer::Scp,
                black_box(&org),
                black_box(&levels),
                black_box(&req),
            )
        })
    });
    let detail = EvalOptions {
        detail: true,
        ..Default::default()
    };
    c.bench_function("scp_decision_depth5_10x20_worst_case_detail", |b| {
        b.iter(|| {
            evaluate_with(
                Layer::Scp,
                black_box(&org),
                black_box(&levels),
                black_box(&req),
                &detail,
            )
        })
    });
    let doc = json!({"Version": "2012-10-17", "Statement": (0..20).map(|k| statement(0, 0, k)).collect::<Vec<_>>()}).to_string();
    c.bench_function("compile_policy_20_statements", |b| {
        b.iter(|| CompiledPolicy::compile("p", black_box(&doc)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
