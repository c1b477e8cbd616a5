//! Authorization over a 10,000-account organization (issue 4 targets):
//! - one action probed for every account (snapshot read + 10,000 decisions): under 200 ms;
//! - what-if of one SCP change with 20 probes over every account: under 2 s.
//!
//! The organization: root → 10 OUs → 10 OUs each (110 OUs), 9,999 member accounts spread over
//! the 100 leaf OUs, plus the management account. SCPs: FullAWSAccess everywhere, a
//! 20-statement guardrail SCP and a region lock at the root, a 20-statement SCP on each
//! first-level OU; RCPs enabled with a data-perimeter RCP at the root. Memory store.
//!
//! Run: `cargo bench -p canopy-server --bench authz_org` (median of 9 runs after a warm-up;
//! `AUTHZ_BENCH_ACCOUNTS=N` for another size).

use std::time::{Duration, Instant};

use canopy_api::{
    AttachPolicyRequest, Caller, CreateAccountRequest, CreateOrganizationRequest, CreateOrganizationalUnitRequest,
    CreatePolicyRequest, DescribeCreateAccountStatusRequest, EnablePolicyTypeRequest, ListRootsRequest, MoveAccountRequest, OrganizationFeatureSet, Organizations,
    PolicyType, RequestContext,
};
use canopy_core::authz::{bulk_options, sim_options, Change, Probe};
use canopy_core::canopy_policy::RequestContext as Ctx;
use canopy_core::{Canopy, CoreConfig};
use serde_json::{json, Value};

const MGMT: &str = "111111111111";
const SERVICES: &[&str] = &["ec2", "iam", "rds", "lambda", "kms", "sqs", "sns", "dynamodb", "cloudtrail", "s3"];

fn ctx() -> RequestContext {
    RequestContext {
        caller: Caller::root(MGMT, "aws", "us-east-1", MGMT),
        request_id: "bench".into(),
    }
}

/// A guardrail SCP of 20 statements, each with a condition, over ten services.
fn guardrails(seed: usize) -> String {
    let statements: Vec<Value> = (0..20)
        .map(|k| {
            let svc = SERVICES[(seed + k) % SERVICES.len()];
            match k % 4 {
                0 => json!({"Effect": "Deny", "Action": [format!("{svc}:Delete*"), format!("{svc}:Put*")], "Resource": "*",
                            "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Platform*"}}}),
                1 => json!({"Effect": "Deny", "Action": format!("{svc}:*"), "Resource": format!("arn:aws:{svc}:*:*:protected-{seed}-{k}*"),
                            "Condition": {"StringNotEquals": {"aws:PrincipalTag/role": "admin"}}}),
                2 => json!({"Effect": "Deny", "Action": [format!("{svc}:Create*"), format!("{svc}:Run*")], "Resource": "*",
                            "Condition": {"Null": {"aws:RequestTag/CostCenter": "true"}}}),
                _ => json!({"Effect": "Deny", "Action": format!("{svc}:Get*"), "Resource": "*",
                            "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}),
            }
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn region_lock() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "RegionLock", "Effect": "Deny",
        "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]})
    .to_string()
}

fn perimeter(org_id: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Perimeter", "Effect": "Deny", "Principal": "*", "Action": ["s3:*", "sqs:*", "kms:*"],
        "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": org_id}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]})
    .to_string()
}

async fn policy(c: &Canopy, name: &str, t: PolicyType, content: String, targets: &[String]) -> String {
    let out = c
        .create_policy(&ctx(), CreatePolicyRequest { content, description: name.into(), name: name.into(), tags: None, type_: t })
        .await
        .expect("CreatePolicy");
    let id = out.policy.and_then(|p| p.policy_summary).and_then(|s| s.id).expect("policy id");
    for t in targets {
        c.attach_policy(&ctx(), AttachPolicyRequest { policy_id: id.clone(), target_id: t.clone() }).await.expect("AttachPolicy");
    }
    id
}

async fn build(members: usize) -> (Canopy, String) {
    let store = canopy_store::open("memory").expect("memory store");
    let canopy = Canopy::new(store, CoreConfig { max_accounts: members as u64 + 10, ..CoreConfig::default() });
    let c = &canopy;
    let org = c.create_organization(&ctx(), CreateOrganizationRequest { feature_set: Some(OrganizationFeatureSet::All) }).await.expect("org");
    let org_id = org.organization.and_then(|o| o.id).expect("org id");
    let root = c.list_roots(&ctx(), ListRootsRequest::default()).await.expect("roots").roots.unwrap()[0].id.clone().unwrap();
    let ou = |parent: String, name: String| async move {
        c.create_organizational_unit(&ctx(), CreateOrganizationalUnitRequest { name, parent_id: parent, tags: None })
            .await
            .expect("CreateOU")
            .organizational_unit
            .and_then(|o| o.id)
            .unwrap()
    };
    let mut level1 = Vec::new();
    let mut leaves = Vec::new();
    for i in 0..10 {
        let l1 = ou(root.clone(), format!("L1-{i}")).await;
        for j in 0..10 {
            leaves.push(ou(l1.clone(), format!("L2-{i}-{j}")).await);
        }
        level1.push(l1);
    }
    for n in 0..members {
        let out = c
            .create_account(&ctx(), CreateAccountRequest { account_name: format!("acct-{n}"), email: format!("acct-{n}@example.org"), ..Default::default() })
            .await
            .expect("CreateAccount");
        let request_id = out.create_account_status.and_then(|s| s.id).expect("request id");
        let status = c
            .describe_create_account_status(&ctx(), DescribeCreateAccountStatusRequest { create_account_request_id: request_id })
            .await
            .expect("DescribeCreateAccountStatus");
        let id = status.create_account_status.and_then(|s| s.account_id).expect("created at once (no creation delay)");
        let dest = leaves[n % leaves.len()].clone();
        c.move_account(&ctx(), MoveAccountRequest { account_id: id, destination_parent_id: dest, source_parent_id: root.clone() }).await.expect("MoveAccount");
    }
    c.enable_policy_type(&ctx(), EnablePolicyTypeRequest { policy_type: PolicyType::ResourceControlPolicy, root_id: root.clone() }).await.expect("enable RCP");
    let guard = policy(c, "Guardrails", PolicyType::ServiceControlPolicy, guardrails(0), std::slice::from_ref(&root)).await;
    policy(c, "RegionLock", PolicyType::ServiceControlPolicy, region_lock(), std::slice::from_ref(&root)).await;
    for (i, l1) in level1.iter().enumerate() {
        policy(c, &format!("Unit{i}"), PolicyType::ServiceControlPolicy, guardrails(i + 1), std::slice::from_ref(l1)).await;
    }
    policy(c, "Perimeter", PolicyType::ResourceControlPolicy, perimeter(&org_id), std::slice::from_ref(&root)).await;
    (canopy, guard)
}

fn probe(action: &str, region: &str) -> Probe {
    let mut context = Ctx::new();
    context.insert("aws:RequestedRegion", region);
    context.insert("aws:SecureTransport", "true");
    Probe {
        principal: "role/Developer".into(),
        kind: None,
        action: action.into(),
        resource: "*".into(),
        resource_account: None,
        context,
        iam: None,
    }
}

/// Median of `runs` timed runs after one warm-up.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this once with a small org.
    let quick = !std::env::args().any(|a| a == "--bench");
    let members: usize = std::env::var("AUTHZ_BENCH_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 200 } else { 9_999 });
    let runs = if quick { 1 } else { 9 };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let t = Instant::now();
    let (canopy, guard) = rt.block_on(build(members));
    println!("organization built: {} member accounts + management, 110 OUs ({:.1} s)", members, t.elapsed().as_secs_f64());
    let caller = ctx().caller;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let opts = bulk_options();
    let one = probe("ec2:RunInstances", "us-east-1");

    let snapshot = rt.block_on(canopy.authz_snapshot(&caller, None)).expect("snapshot");
    assert_eq!(snapshot.accounts().len(), members + 1);
    let load = median(runs, || {
        rt.block_on(canopy.authz_snapshot(&caller, None)).expect("snapshot");
    });
    // One simulate request as the API serves it: the paths of its account only, then both layers.
    let member_id = snapshot.accounts().iter().find(|a| a.as_str() != MGMT).expect("a member").clone();
    let single = median(runs, || {
        let s = rt.block_on(canopy.authz_snapshot(&caller, Some(vec![member_id.clone()]))).expect("snapshot");
        let r = s.probe_accounts(&one, Some(std::slice::from_ref(&member_id)), &sim_options(false), 1).expect("probe");
        assert_eq!(r.len(), 1);
    });
    let eval1 = median(runs, || {
        snapshot.probe_accounts(&one, None, &opts, 1).expect("probe");
    });
    let evaln = median(runs, || {
        snapshot.probe_accounts(&one, None, &opts, threads).expect("probe");
    });
    let full = median(runs, || {
        let s = rt.block_on(canopy.authz_snapshot(&caller, None)).expect("snapshot");
        let r = s.probe_accounts(&one, None, &opts, threads).expect("probe");
        assert_eq!(r.len(), members + 1);
    });

    let actions = [
        "ec2:RunInstances", "ec2:DeleteVolume", "s3:GetObject", "s3:PutBucketPolicy", "iam:CreateUser", "iam:DeleteRole", "kms:Decrypt",
        "kms:CreateKey", "rds:DeleteDBInstance", "lambda:UpdateFunctionCode",
    ];
    let probes: Vec<Probe> = actions.iter().flat_map(|a| [probe(a, "us-east-1"), probe(a, "ap-south-1")]).collect();
    assert_eq!(probes.len(), 20);
    // The change: the root guardrail SCP also denies every iam:Create* and s3:Put* action.
    let mut doc: Value = serde_json::from_str(&guardrails(0)).unwrap();
    doc["Statement"].as_array_mut().unwrap().push(json!({"Sid": "NoNewIdentities", "Effect": "Deny", "Action": ["iam:Create*", "s3:Put*"], "Resource": "*"}));
    let changes = [Change::UpdatePolicy { policy_id: guard, content: doc.to_string() }];
    let config = canopy.env().config.clone();
    let mut flips = 0;
    let mut affected = 0;
    let what_if1 = median(runs.min(3), || {
        let r = snapshot.what_if(&config, &changes, &probes, 1000, false, 1).expect("what-if");
        (flips, affected) = (r.flip_count, r.affected_accounts);
    });
    let what_ifn = median(runs, || {
        let s = rt.block_on(canopy.authz_snapshot(&caller, None)).expect("snapshot");
        s.what_if(&config, &changes, &probes, 1000, false, threads).expect("what-if");
    });
    // Enforcement: the cost of the SCP check on Canopy's own API, per DescribeOrganization
    // (memory store, called in-process): management caller (two point reads, then exempt) and a
    // member under the guardrails (path, attachments and evaluation), with the check on and off.
    let member = snapshot.accounts().iter().find(|a| a.as_str() != MGMT).expect("a member").clone();
    let off = Canopy::new(canopy.store().clone(), CoreConfig { enforce_scps: false, max_accounts: members as u64 + 10, ..CoreConfig::default() });
    let calls = if quick { 100 } else { 5_000 };
    let per_call = |c: &Canopy, account: &str| {
        let mut ctx = ctx();
        ctx.caller.account_id = account.to_string();
        let d = median(runs.min(5), || {
            rt.block_on(async {
                for _ in 0..calls {
                    c.describe_organization(&ctx).await.expect("DescribeOrganization");
                }
            })
        });
        d.as_secs_f64() * 1e6 / calls as f64
    };
    // Alternated and the best of three kept: the machine is shared, a single series drifts.
    let best = |c: &Canopy, a: &str| (0..3).map(|_| per_call(c, a)).fold(f64::MAX, f64::min);
    let (mut mgmt_on, mut mgmt_off, mut member_on, mut member_off) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..2 {
        mgmt_on = mgmt_on.min(best(&canopy, MGMT));
        mgmt_off = mgmt_off.min(best(&off, MGMT));
        member_on = member_on.min(best(&canopy, &member));
        member_off = member_off.min(best(&off, &member));
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!("| measurement | median |");
    println!("|---|---:|");
    println!("| snapshot read ({} accounts, 110 OUs, SCP+RCP attachments) | {} |", members + 1, ms(load));
    println!("| one simulate request (its account's path read + both layers explained) | {:.2} ms |", single.as_secs_f64() * 1000.0);
    println!("| one probe × every account, evaluation only, 1 thread | {} |", ms(eval1));
    println!("| one probe × every account, evaluation only, {threads} threads | {} |", ms(evaln));
    println!("| one probe × every account, snapshot read + evaluation ({threads} threads) | {} |", ms(full));
    println!("| what-if: 1 SCP update × 20 probes × {affected} accounts, 1 thread ({flips} flips) | {} |", ms(what_if1));
    println!("| what-if: same, snapshot read + {threads} threads | {} |", ms(what_ifn));
    println!("| DescribeOrganization in-process, management caller: SCP check on / off | {mgmt_on:.1} µs / {mgmt_off:.1} µs |");
    println!("| DescribeOrganization in-process, member under 4 levels of SCPs: on / off | {member_on:.1} µs / {member_off:.1} µs |");
    assert!(flips > 0, "the change flips decisions");
}
