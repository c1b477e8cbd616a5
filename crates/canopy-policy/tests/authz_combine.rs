//! §3.11: combining the SCP layer, the RCP layer and an IAM decision, over decisions the
//! evaluator produced for real policies.

use canopy_policy::{
    combine, evaluate, AuthzRequest, CompiledPolicy, DecidingLayer, Layer, LevelPolicies, OrgView, Outcome, PathNode,
    PolicyType, Principal, PrincipalKind, RequestContext, TargetType,
};
use std::sync::Arc;

const ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const RCP_ALLOW_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
const DENY_S3_DELETE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}"#;
const ONLY_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#;
const RCP_DENY_OUTSIDERS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
    "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-a1b2c3d4e5"}}}]}"#;

fn p(id: &str, doc: &str) -> Arc<CompiledPolicy> {
    Arc::new(CompiledPolicy::compile(id, doc).expect("compiles"))
}

fn path() -> Vec<PathNode> {
    vec![PathNode::new("r-ab12", TargetType::Root), PathNode::new("222222222222", TargetType::Account)]
}

fn levels(root: Vec<Arc<CompiledPolicy>>, account: Vec<Arc<CompiledPolicy>>) -> Vec<LevelPolicies> {
    vec![
        LevelPolicies { target_id: "r-ab12".into(), target_type: TargetType::Root, policies: root },
        LevelPolicies { target_id: "222222222222".into(), target_type: TargetType::Account, policies: account },
    ]
}

fn org(types: &[PolicyType]) -> OrgView {
    OrgView {
        org_id: Some("o-a1b2c3d4e5".into()),
        management_account: "111111111111".into(),
        enabled_policy_types: types.to_vec(),
        principal_path: Some(path()),
        resource_path: Some(path()),
    }
}

fn request(principal_account: &str, action: &str) -> AuthzRequest {
    AuthzRequest {
        principal: Principal { arn: format!("arn:aws:iam::{principal_account}:role/App"), account: None, kind: PrincipalKind::AssumedRole },
        action: action.into(),
        resource: "arn:aws:s3:::data/x".into(),
        resource_account: Some("222222222222".into()),
        context: RequestContext::new(),
    }
}

struct Case {
    scp_account: &'static str,
    rcp_root: &'static str,
    principal: &'static str,
    action: &'static str,
    iam: Option<Outcome>,
    expect: (Outcome, Option<DecidingLayer>, &'static [Layer]),
}

#[test]
fn layers_combine_in_the_order_of_section_3_11() {
    let both = [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy];
    let member = "222222222222";
    let outsider = "999999999999";
    let cases = [
        // Guardrails allow; without IAM the answer is what they let through.
        Case { scp_account: ALLOW_ALL, rcp_root: RCP_ALLOW_ALL, principal: member, action: "s3:GetObject", iam: None, expect: (Outcome::Allow, None, &[]) },
        Case { scp_account: ALLOW_ALL, rcp_root: RCP_ALLOW_ALL, principal: member, action: "s3:GetObject", iam: Some(Outcome::Allow), expect: (Outcome::Allow, None, &[]) },
        // An SCP Allow grants nothing: IAM's implicit deny stands.
        Case {
            scp_account: ALLOW_ALL,
            rcp_root: RCP_ALLOW_ALL,
            principal: member,
            action: "s3:GetObject",
            iam: Some(Outcome::ImplicitDeny),
            expect: (Outcome::ImplicitDeny, Some(DecidingLayer::Iam), &[]),
        },
        // SCP explicit deny beats an IAM allow.
        Case {
            scp_account: DENY_S3_DELETE,
            rcp_root: RCP_ALLOW_ALL,
            principal: member,
            action: "s3:DeleteObject",
            iam: Some(Outcome::Allow),
            expect: (Outcome::ExplicitDeny, Some(DecidingLayer::Scp), &[Layer::Scp]),
        },
        // SCP implicit deny (no Allow at the account) beats an IAM allow.
        Case {
            scp_account: ONLY_EC2,
            rcp_root: RCP_ALLOW_ALL,
            principal: member,
            action: "s3:GetObject",
            iam: Some(Outcome::Allow),
            expect: (Outcome::ImplicitDeny, Some(DecidingLayer::Scp), &[Layer::Scp]),
        },
        // An explicit deny anywhere wins over an implicit deny elsewhere: IAM's explicit deny
        // over the SCP's missing Allow.
        Case {
            scp_account: ONLY_EC2,
            rcp_root: RCP_ALLOW_ALL,
            principal: member,
            action: "s3:GetObject",
            iam: Some(Outcome::ExplicitDeny),
            expect: (Outcome::ExplicitDeny, Some(DecidingLayer::Iam), &[Layer::Scp]),
        },
        // RCP explicit deny for an outsider; SCPs do not apply to it.
        Case {
            scp_account: ALLOW_ALL,
            rcp_root: RCP_DENY_OUTSIDERS,
            principal: outsider,
            action: "s3:GetObject",
            iam: Some(Outcome::Allow),
            expect: (Outcome::ExplicitDeny, Some(DecidingLayer::Rcp), &[Layer::Rcp]),
        },
        // Both guardrails deny explicitly: the SCP is named first, both are listed (RCP first).
        Case {
            scp_account: DENY_S3_DELETE,
            rcp_root: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:Delete*","Resource":"*"}]}"#,
            principal: member,
            action: "s3:DeleteObject",
            iam: None,
            expect: (Outcome::ExplicitDeny, Some(DecidingLayer::Scp), &[Layer::Rcp, Layer::Scp]),
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let o = org(&both);
        let req = request(c.principal, c.action);
        let scp_levels = levels(vec![p("p-FullAWSAccess", ALLOW_ALL)], vec![p("p-acct", c.scp_account)]);
        let rcp_levels = levels(vec![p("p-RCPFullAWSAccess", RCP_ALLOW_ALL), p("p-rcp", c.rcp_root)], vec![p("p-RCPFullAWSAccess", RCP_ALLOW_ALL)]);
        let mut o_scp = o.clone();
        if c.principal != member {
            o_scp.principal_path = None;
        }
        let scp = evaluate(Layer::Scp, &o_scp, &scp_levels, &req);
        let rcp = evaluate(Layer::Rcp, &o_scp, &rcp_levels, &req);
        let got = combine(&scp, &rcp, c.iam);
        assert_eq!((got.decision, got.deciding_layer, got.blocked_by.as_slice()), c.expect, "case {i}: scp {:?}, rcp {:?}", scp.decision, rcp.decision);
    }
}

#[test]
fn a_layer_that_does_not_apply_never_denies() {
    // Only SCPs enabled: the RCP layer is NotApplicable and the SCP answer stands.
    let o = org(&[PolicyType::ServiceControlPolicy]);
    let req = request("222222222222", "s3:GetObject");
    let scp = evaluate(Layer::Scp, &o, &levels(vec![p("p-FullAWSAccess", ALLOW_ALL)], vec![p("p-FullAWSAccess", ALLOW_ALL)]), &req);
    let rcp = evaluate(Layer::Rcp, &o, &[], &req);
    assert_eq!(rcp.decision, Outcome::NotApplicable);
    let got = combine(&scp, &rcp, None);
    assert_eq!((got.decision, got.deciding_layer), (Outcome::Allow, None));
    // The management account's principals: SCPs exempt, IAM decides.
    let req = request("111111111111", "s3:GetObject");
    let scp = evaluate(Layer::Scp, &o, &levels(vec![], vec![]), &req);
    assert_eq!(scp.decision, Outcome::NotApplicable);
    let got = combine(&scp, &rcp, Some(Outcome::ImplicitDeny));
    assert_eq!((got.decision, got.deciding_layer, got.blocked_by.len()), (Outcome::ImplicitDeny, Some(DecidingLayer::Iam), 0));
}
