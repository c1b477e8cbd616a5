//! The authorization engine on a running server: `/canopy/v1/simulate`, `/canopy/v1/what-if`
//! (raw HTTP) and the SCP check of member-account calls (the AWS SDK), over organizations built
//! with the SDK.

mod common;

use aws_sdk_organizations::types::PolicyType;
use common::*;
use serde_json::{json, Value};

/// POSTs JSON to a Canopy API path as `account_id` (dev auth); returns status and JSON body.
async fn post(org: &Org, account_id: &str, path: &str, body: &str) -> (u16, Value) {
    let addr = org.server.addr;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={account_id}/20250101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0000\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        len = body.len(),
    );
    let (status, body) = raw_exchange(addr, &request).await;
    let value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&body)));
    (status, value)
}

async fn simulate(org: &Org, body: Value) -> Value {
    let (status, reply) = post(org, MGMT, "/canopy/v1/simulate", &body.to_string()).await;
    assert_eq!(status, 200, "simulate answered {reply}");
    reply
}

async fn what_if(org: &Org, body: Value) -> Value {
    let (status, reply) = post(org, MGMT, "/canopy/v1/what-if", &body.to_string()).await;
    assert_eq!(status, 200, "what-if answered {reply}");
    reply
}

async fn create_policy(org: &Org, name: &str, t: PolicyType, content: Value) -> String {
    let out = org
        .mgmt
        .create_policy()
        .name(name)
        .description(name)
        .r#type(t)
        .content(content.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreatePolicy {name}: {e:?}"));
    out.policy().and_then(|p| p.policy_summary()).and_then(|s| s.id()).expect("policy id").to_string()
}

async fn attach(org: &Org, policy: &str, target: &str) {
    org.mgmt.attach_policy().policy_id(policy).target_id(target).send().await.unwrap_or_else(|e| panic!("AttachPolicy {policy} → {target}: {e:?}"));
}

fn deny(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Guard", "Effect": "Deny", "Action": actions, "Resource": "*"}]})
}

/// Root → Sandbox OU → `sandbox` account; `other` account directly under the root. An SCP
/// denying s3:DeleteBucket is attached to the Sandbox OU.
struct Fixture {
    org: Org,
    ou: String,
    sandbox: String,
    other: String,
    scp: String,
}

async fn fixture() -> Fixture {
    fixture_with(canopy_core::CoreConfig::default()).await
}

async fn fixture_with(config: canopy_core::CoreConfig) -> Fixture {
    let org = Org::with_config(config).await;
    let ou = org.create_ou(&org.root_id, "Sandbox").await;
    let sandbox = org.create_account("Sandbox One").await;
    let other = org.create_account("Other").await;
    org.mgmt.move_account().account_id(&sandbox).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.expect("MoveAccount");
    let scp = create_policy(&org, "NoBucketDeletion", PolicyType::ServiceControlPolicy, deny(&["s3:DeleteBucket"])).await;
    attach(&org, &scp, &ou).await;
    Fixture { org, ou, sandbox, other, scp }
}

#[tokio::test]
async fn simulate_explains_an_scp_deny_and_an_allow() {
    let f = fixture().await;
    let principal = format!("arn:aws:iam::{}:role/Developer", f.sandbox);
    let reply = simulate(&f.org, json!({"principal": principal, "action": "s3:DeleteBucket", "resource": "arn:aws:s3:::logs"})).await;
    assert_eq!(reply["decision"], "ExplicitDeny", "{reply}");
    assert_eq!(reply["deciding_layer"], "SCP");
    assert_eq!(reply["blocked_by"], json!(["SCP"]));
    let scp = &reply["scp"];
    assert_eq!(scp["decision"], "ExplicitDeny");
    assert_eq!(scp["reason"], "explicit_deny");
    assert_eq!(scp["deciding"]["target_id"], f.ou.as_str());
    assert_eq!(scp["deciding"]["policy_id"], f.scp.as_str());
    assert_eq!(scp["deciding"]["sid"], "Guard");
    let arn = format!("arn:aws:organizations::{MGMT}:policy/{}/service_control_policy/{}", f.org.org_id, f.scp);
    assert_eq!(scp["deciding"]["policy_arn"], arn.as_str());
    let levels = scp["levels"].as_array().expect("levels");
    let ids: Vec<&str> = levels.iter().map(|l| l["target_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [f.org.root_id.as_str(), f.ou.as_str(), f.sandbox.as_str()], "path root → OU → account");
    assert_eq!(levels[1]["result"], "ExplicitDeny");
    assert_eq!(levels[0]["result"], "Allow");
    assert_eq!(scp["derived_context"]["aws:PrincipalOrgID"], f.org.org_id.as_str());
    // RCPs are not enabled in this organization.
    assert_eq!(reply["rcp"]["decision"], "NotApplicable");
    assert_eq!(reply["rcp"]["reason"], "policy_type_not_enabled");

    // Another action: FullAWSAccess allows it at every level.
    let reply = simulate(&f.org, json!({"principal": principal, "action": "s3:GetObject", "resource": "arn:aws:s3:::logs/a"})).await;
    assert_eq!(reply["decision"], "Allow", "{reply}");
    assert_eq!(reply["blocked_by"], json!([]));
    let path = reply["scp"]["allow_path"].as_array().expect("allow_path");
    assert_eq!(path.len(), 3);
    assert!(path.iter().all(|s| s["policy_id"] == "p-FullAWSAccess"), "{path:?}");

    // The same deny does not reach an account outside the OU.
    let reply = simulate(&f.org, json!({"principal": format!("arn:aws:iam::{}:user/ops", f.other), "action": "s3:DeleteBucket"})).await;
    assert_eq!(reply["decision"], "Allow", "{reply}");

    // The management account is never restricted.
    let reply = simulate(&f.org, json!({"principal": format!("arn:aws:iam::{MGMT}:root"), "action": "s3:DeleteBucket"})).await;
    assert_eq!(reply["decision"], "Allow");
    assert_eq!(reply["scp"]["reason"], "management_account_exempt");
}

#[tokio::test]
async fn simulate_a_batch_with_an_implicit_deny_iam_and_detail() {
    let f = fixture().await;
    // Replace FullAWSAccess on the account by an allow-list: everything but ec2 is implicitly denied.
    let allow = create_policy(
        &f.org,
        "OnlyEc2",
        PolicyType::ServiceControlPolicy,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}),
    )
    .await;
    attach(&f.org, &allow, &f.sandbox).await;
    f.org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(&f.sandbox).send().await.expect("DetachPolicy");
    let principal = format!("arn:aws:iam::{}:role/Developer", f.sandbox);
    let reply = simulate(
        &f.org,
        json!({"detail": true, "requests": [
            {"principal": principal, "action": "ec2:RunInstances"},
            {"principal": principal, "action": "sqs:SendMessage", "resource": "arn:aws:sqs:us-east-1:111:q"},
            {"principal": principal, "action": "ec2:RunInstances", "iam_decision": "ImplicitDeny"},
            {"principal": principal, "action": "ec2:RunInstances", "iam_decision": "ExplicitDeny"},
        ]}),
    )
    .await;
    let results = reply["results"].as_array().expect("results");
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["decision"], "Allow");
    assert_eq!(results[1]["decision"], "ImplicitDeny");
    assert_eq!(results[1]["deciding_layer"], "SCP");
    assert_eq!(results[1]["scp"]["reason"], "no_matching_allow_at_level");
    assert_eq!(results[1]["scp"]["deciding"]["target_id"], f.sandbox.as_str());
    // With detail, the unmatched statement says why: the action.
    let account_level = &results[1]["scp"]["levels"][2];
    let unmatched = &account_level["unmatched_statements"][0];
    assert_eq!(unmatched["not_matched"]["part"], "action");
    assert_eq!(unmatched["explain"]["action"]["entries"][0]["pattern"], "ec2:*");
    // §3.11: the guardrails allow, IAM decides.
    assert_eq!(results[2]["decision"], "ImplicitDeny");
    assert_eq!(results[2]["deciding_layer"], "IAM");
    assert_eq!(results[3]["decision"], "ExplicitDeny");
    assert_eq!(results[3]["deciding_layer"], "IAM");
}

#[tokio::test]
async fn simulate_rcp_layer_and_combination() {
    let f = fixture().await;
    f.org.mgmt.enable_policy_type().root_id(&f.org.root_id).policy_type(PolicyType::ResourceControlPolicy).send().await.expect("enable RCP");
    let perimeter = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": f.org.org_id},
                      "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]});
    let rcp = create_policy(&f.org, "Perimeter", PolicyType::ResourceControlPolicy, perimeter).await;
    attach(&f.org, &rcp, &f.org.root_id).await;

    // A principal outside the organization reading a member's bucket: SCPs do not apply, the RCP denies.
    let reply = simulate(
        &f.org,
        json!({"principal": "arn:aws:iam::999999999999:user/mallory", "action": "s3:GetObject",
               "resource": "arn:aws:s3:::data/x", "resource_account": f.other}),
    )
    .await;
    assert_eq!(reply["decision"], "ExplicitDeny", "{reply}");
    assert_eq!(reply["deciding_layer"], "RCP");
    assert_eq!(reply["blocked_by"], json!(["RCP"]));
    assert_eq!(reply["scp"]["reason"], "principal_outside_organization");
    assert_eq!(reply["rcp"]["deciding"]["policy_id"], rcp.as_str());
    assert_eq!(reply["rcp"]["deciding"]["target_id"], f.org.root_id.as_str());

    // Inside the organization: the RCP lets it through.
    let inside = json!({"principal": format!("arn:aws:iam::{}:role/App", f.sandbox), "action": "s3:GetObject",
                        "resource": "arn:aws:s3:::data/x", "resource_account": f.other});
    let reply = simulate(&f.org, inside.clone()).await;
    assert_eq!(reply["decision"], "Allow", "{reply}");
    assert_eq!(reply["rcp"]["decision"], "Allow");

    // Caller-supplied context wins in simulation: a foreign org id is denied.
    let mut spoofed = inside;
    spoofed["context"] = json!({"aws:PrincipalOrgID": "o-someoneelse1"});
    let reply = simulate(&f.org, spoofed).await;
    assert_eq!(reply["decision"], "ExplicitDeny", "{reply}");

    // Both layers deny: the SCP deny of the sandbox and the RCP; both are listed.
    let reply = simulate(
        &f.org,
        json!({"principal": format!("arn:aws:iam::{}:role/App", f.sandbox), "action": "s3:DeleteBucket",
               "resource": "arn:aws:s3:::data", "resource_account": f.other, "context": {"aws:PrincipalOrgID": "o-someoneelse1"}}),
    )
    .await;
    assert_eq!(reply["decision"], "ExplicitDeny");
    assert_eq!(reply["blocked_by"], json!(["RCP", "SCP"]));

    // Without resource_account: an ARN that names its account makes that account the owner,
    // whose RCPs apply; an S3 ARN names none, and the RCPs are not applied for an unknown owner
    // (not "outside the organization").
    let queue = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": f.org.org_id}}}]});
    let rcp = create_policy(&f.org, "QueuePerimeter", PolicyType::ResourceControlPolicy, queue).await;
    attach(&f.org, &rcp, &f.other).await;
    let reply = simulate(
        &f.org,
        json!({"principal": "arn:aws:iam::999999999999:role/X", "action": "sqs:SendMessage",
               "resource": format!("arn:aws:sqs:us-east-1:{}:jobs", f.other)}),
    )
    .await;
    assert_eq!(reply["decision"], "ExplicitDeny", "{reply}");
    assert_eq!(reply["rcp"]["deciding"]["policy_id"], rcp.as_str());
    let reply = simulate(&f.org, json!({"principal": "arn:aws:iam::999999999999:user/mallory", "action": "s3:GetObject", "resource": "arn:aws:s3:::data/x"})).await;
    assert_eq!(reply["rcp"]["reason"], "resource_owner_unknown", "{reply}");
}

#[tokio::test]
async fn simulate_refuses_bad_requests_and_other_callers() {
    let f = fixture().await;
    let ok = json!({"principal": format!("arn:aws:iam::{}:root", f.sandbox), "action": "s3:GetObject"}).to_string();
    // A member account is not the management account.
    let (status, reply) = post(&f.org, &f.sandbox, "/canopy/v1/simulate", &ok).await;
    assert_eq!(status, 403, "{reply}");
    assert_eq!(reply["error"], "AccessDeniedException");
    // An account in no organization.
    let (status, reply) = post(&f.org, OUTSIDER, "/canopy/v1/simulate", &ok).await;
    assert_eq!(status, 404, "{reply}");
    assert_eq!(reply["error"], "AWSOrganizationsNotInUseException");
    for (body, needle) in [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        (r#"{"principal": "arn:aws:iam::123456789012:root"}"#, "action is required"),
        (r#"{"action": "s3:GetObject"}"#, "principal is required"),
        (r#"{"principal": "arn:aws:iam::123456789012:root", "action": "GetObject"}"#, "service:Action"),
        (r#"{"principal": "arn:aws:iam::123456789012:root", "action": "s3:X", "resource_account": "12"}"#, "resource_account"),
        (r#"{"principal": "arn:aws:iam::123456789012:root", "action": "s3:X", "context": {"k": {"a": 1}}}"#, "context.k"),
        (r#"{"principal": "arn:aws:iam::123456789012:root", "action": "s3:X", "iam_decision": "Maybe"}"#, "iam_decision"),
        (r#"{"principal": "somebody", "action": "s3:X"}"#, "principal_type"),
        (r#"{"requests": [{"principal": "arn:aws:iam::123456789012:root"}]}"#, "requests[0].action"),
        (r#"{"requests": []}"#, "must not be empty"),
    ] {
        let (status, reply) = post(&f.org, MGMT, "/canopy/v1/simulate", body).await;
        assert_eq!(status, 400, "{body} → {reply}");
        assert_eq!(reply["error"], "InvalidRequest", "{body}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: message {message:?} should mention {needle:?}");
    }
}

#[tokio::test]
async fn member_calls_pass_the_scps_in_force() {
    let f = fixture().await;
    let member = f.org.client(&f.sandbox);
    member.describe_organization().send().await.expect("allowed before the deny");
    let guard = create_policy(&f.org, "NoDescribe", PolicyType::ServiceControlPolicy, deny(&["organizations:DescribeOrganization"])).await;
    attach(&f.org, &guard, &f.sandbox).await;

    let failure = fail(member.describe_organization().send().await);
    assert_eq!(failure.code, "AccessDeniedException");
    let arn = format!("arn:aws:organizations::{MGMT}:policy/{}/service_control_policy/{guard}", f.org.org_id);
    assert_eq!(
        failure.message,
        format!(
            "User: arn:aws:iam::{}:root is not authorized to perform: organizations:DescribeOrganization with an explicit deny in a service control policy: {arn}",
            f.sandbox
        )
    );
    // Other operations and other accounts are not affected; the management account never is.
    // ListRoots is not denied by the SCP: the member gets the operation's own refusal.
    let roots = fail(member.list_roots().send().await);
    assert_eq!(roots.code, "AccessDeniedException");
    assert!(!roots.message.contains("service control policy"), "{}", roots.message);
    f.org.client(&f.other).describe_organization().send().await.expect("other member");
    f.org.mgmt.describe_organization().send().await.expect("management account");

    // A member whose path lacks an Allow is implicitly denied.
    f.org.mgmt.detach_policy().policy_id(&guard).target_id(&f.sandbox).send().await.expect("detach guard");
    let only_ec2 = create_policy(
        &f.org,
        "OnlyEc2",
        PolicyType::ServiceControlPolicy,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}),
    )
    .await;
    attach(&f.org, &only_ec2, &f.ou).await;
    f.org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(&f.ou).send().await.expect("detach FullAWSAccess");
    let failure = fail(member.describe_organization().send().await);
    assert_eq!(failure.code, "AccessDeniedException");
    assert!(
        failure.message.ends_with("because no service control policy allows the organizations:DescribeOrganization action"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn enforcement_can_be_switched_off() {
    let config = canopy_core::CoreConfig { enforce_scps: false, ..Default::default() };
    let f = fixture_with(config).await;
    let guard = create_policy(&f.org, "NoDescribe", PolicyType::ServiceControlPolicy, deny(&["organizations:*"])).await;
    attach(&f.org, &guard, &f.sandbox).await;
    f.org.client(&f.sandbox).describe_organization().send().await.expect("SCPs are not enforced");
    // Simulation still sees the deny.
    let reply = simulate(&f.org, json!({"principal": format!("arn:aws:iam::{}:root", f.sandbox), "action": "organizations:DescribeOrganization"})).await;
    assert_eq!(reply["decision"], "ExplicitDeny");
}

#[tokio::test]
async fn what_if_answers_the_flips_and_stores_nothing() {
    let f = fixture().await;
    let third = f.org.create_account("Third").await;
    let before_targets = f.org.mgmt.list_policies_for_target().target_id(&f.org.root_id).filter(PolicyType::ServiceControlPolicy).send().await.unwrap();

    // A new SCP denying ec2:RunInstances outside eu-west-1, attached to the Sandbox OU.
    let reply = what_if(
        &f.org,
        json!({
            "changes": [
                {"change": "create_policy", "reference": "region-lock", "policy_type": "SERVICE_CONTROL_POLICY",
                 "content": {"Version": "2012-10-17", "Statement": [{"Sid": "RegionLock", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*",
                             "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}},
                {"change": "attach_policy", "policy_id": "region-lock", "target_id": f.ou}
            ],
            "probes": [
                {"principal": "role/Deployer", "action": "ec2:RunInstances", "context": {"aws:RequestedRegion": "us-east-1"}},
                {"principal": "role/Deployer", "action": "ec2:RunInstances", "context": {"aws:RequestedRegion": "eu-west-1"}},
                {"action": "s3:GetObject"}
            ]
        }),
    )
    .await;
    assert_eq!(reply["affected_accounts"], 1, "only the sandbox account is under the OU: {reply}");
    assert_eq!(reply["evaluations"], 6);
    assert_eq!(reply["flip_count"], 1);
    let flip = &reply["flips"][0];
    assert_eq!(flip["account_id"], f.sandbox.as_str());
    assert_eq!(flip["probe"], 0);
    assert_eq!(flip["principal"], format!("arn:aws:iam::{}:role/Deployer", f.sandbox));
    assert_eq!(flip["before"]["decision"], "Allow");
    assert_eq!(flip["after"]["decision"], "ExplicitDeny");
    assert_eq!(flip["after"]["deciding_layer"], "SCP");
    assert_eq!(flip["after"]["scp"]["deciding"]["policy_id"], "region-lock");
    assert_eq!(flip["after"]["scp"]["deciding"]["sid"], "RegionLock");
    assert_eq!(flip["after"]["scp"]["deciding"]["target_id"], f.ou.as_str());
    assert!(flip["after"].get("rcp").is_none(), "unchanged layers are not repeated");

    // Moving the third account into the OU (as well) makes it inherit the stored deny.
    let reply = what_if(
        &f.org,
        json!({"changes": [{"change": "move_account", "account_id": third, "destination_parent_id": f.ou}],
               "probes": [{"action": "s3:DeleteBucket"}, {"action": "s3:GetObject"}]}),
    )
    .await;
    assert_eq!(reply["affected_accounts"], 1);
    assert_eq!(reply["flips"].as_array().unwrap().len(), 1, "{reply}");
    assert_eq!(reply["flips"][0]["account_id"], third.as_str());
    assert_eq!(reply["flips"][0]["after"]["scp"]["deciding"]["policy_id"], f.scp.as_str());

    // Updating the stored SCP to deny nothing relevant lifts the deny; disabling SCPs does too, everywhere.
    let reply = what_if(
        &f.org,
        json!({"changes": [{"change": "update_policy", "policy_id": f.scp, "content": deny(&["s3:PutBucketPolicy"]).to_string()}],
               "probes": [{"action": "s3:DeleteBucket"}]}),
    )
    .await;
    assert_eq!(reply["flip_count"], 1);
    assert_eq!(reply["flips"][0]["before"]["decision"], "ExplicitDeny");
    assert_eq!(reply["flips"][0]["after"]["decision"], "Allow");
    let reply = what_if(
        &f.org,
        json!({"changes": [{"change": "disable_policy_type", "policy_type": "SERVICE_CONTROL_POLICY"}],
               "probes": [{"action": "s3:DeleteBucket"}], "max_flips": 0}),
    )
    .await;
    assert_eq!(reply["affected_accounts"], 4, "every account, the management account included");
    assert_eq!(reply["flip_count"], 1);
    assert_eq!(reply["truncated"], true);
    assert_eq!(reply["flips"], json!([]));

    // Nothing was stored.
    let after_targets = f.org.mgmt.list_policies_for_target().target_id(&f.org.root_id).filter(PolicyType::ServiceControlPolicy).send().await.unwrap();
    assert_eq!(before_targets.policies().len(), after_targets.policies().len());
    let listed = f.org.mgmt.list_policies().filter(PolicyType::ServiceControlPolicy).send().await.unwrap();
    assert_eq!(listed.policies().len(), 2, "FullAWSAccess and the fixture's SCP only");
    let reply = simulate(&f.org, json!({"principal": format!("arn:aws:iam::{third}:root"), "action": "s3:DeleteBucket"})).await;
    assert_eq!(reply["decision"], "Allow", "the third account was not moved");
}

#[tokio::test]
async fn what_if_refuses_invalid_changes() {
    let f = fixture().await;
    let probes = json!([{"action": "s3:GetObject"}]);
    for (changes, status, code, needle) in [
        (json!([{"change": "attach_policy", "policy_id": "p-nothere1", "target_id": f.ou}]), 404, "PolicyNotFoundException", "changes[0].policy_id"),
        (json!([{"change": "attach_policy", "policy_id": f.scp, "target_id": "ou-zzzz-zzzzzzzz"}]), 404, "TargetNotFoundException", "changes[0].target_id"),
        (json!([{"change": "attach_policy", "policy_id": f.scp, "target_id": f.ou}]), 400, "DuplicatePolicyAttachmentException", "already attached"),
        (json!([{"change": "detach_policy", "policy_id": f.scp, "target_id": f.other}]), 400, "PolicyNotAttachedException", "isn't attached"),
        (json!([{"change": "update_policy", "policy_id": "p-FullAWSAccess", "content": "{}"}]), 400, "InvalidInputException", "AWS managed"),
        (
            json!([{"change": "create_policy", "reference": "x", "policy_type": "SERVICE_CONTROL_POLICY", "content": {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}]),
            400,
            "MalformedPolicyDocumentException",
            "Effect",
        ),
        (json!([{"change": "enable_policy_type", "policy_type": "SERVICE_CONTROL_POLICY"}]), 400, "PolicyTypeAlreadyEnabledException", "already enabled"),
        (json!([{"change": "rename"}]), 400, "InvalidRequest", "changes[0].change"),
        // DetachPolicy's rules: a target keeps one SCP; the RCP default stays.
        (json!([{"change": "detach_policy", "policy_id": "p-FullAWSAccess", "target_id": f.other}]), 400, "ConstraintViolationException", "at least 1"),
        (
            json!([{"change": "enable_policy_type", "policy_type": "RESOURCE_CONTROL_POLICY"},
                   {"change": "detach_policy", "policy_id": "p-RCPFullAWSAccess", "target_id": f.other}]),
            400,
            "InvalidInputException",
            "can't be detached",
        ),
    ] {
        let body = json!({"changes": changes, "probes": probes}).to_string();
        let (s, reply) = post(&f.org, MGMT, "/canopy/v1/what-if", &body).await;
        assert_eq!((s, reply["error"].as_str().unwrap()), (status, code), "{changes} → {reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(needle), "{changes}: {message:?} should mention {needle:?}");
    }
    let (s, reply) = post(&f.org, MGMT, "/canopy/v1/what-if", r#"{"changes": [], "probes": []}"#).await;
    assert_eq!(s, 400, "{reply}");
}

#[tokio::test]
async fn simulate_one_probe_over_every_account() {
    let f = fixture().await;
    let reply = simulate(&f.org, json!({"probe": {"principal": "role/Ops", "action": "s3:DeleteBucket"}})).await;
    let results = reply["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "management, sandbox and other: {reply}");
    assert_eq!(reply["counts"], json!({"Allow": 2, "ExplicitDeny": 1}));
    let denied: Vec<&Value> = results.iter().filter(|r| r["decision"] == "ExplicitDeny").collect();
    assert_eq!(denied[0]["account_id"], f.sandbox.as_str());
    assert_eq!(denied[0]["deciding_layer"], "SCP");
    assert_eq!(denied[0]["deciding"]["policy_id"], f.scp.as_str());
    assert_eq!(denied[0]["deciding"]["target_id"], f.ou.as_str());

    // Simulating each account's request reads only its path; it answers as the full read does.
    for r in results {
        let id = r["account_id"].as_str().unwrap();
        let one = simulate(&f.org, json!({"principal": format!("arn:aws:iam::{id}:role/Ops"), "action": "s3:DeleteBucket", "resource_account": id})).await;
        assert_eq!(one["decision"], r["decision"], "{id}");
        assert_eq!(one["scp"]["deciding"], r.get("deciding").cloned().unwrap_or(Value::Null), "{id}");
    }

    // A chosen set of accounts; an unknown one is refused.
    let reply = simulate(&f.org, json!({"probe": {"action": "s3:DeleteBucket"}, "accounts": [f.other]})).await;
    assert_eq!(reply["results"].as_array().unwrap().len(), 1);
    assert_eq!(reply["results"][0]["decision"], "Allow");
    let body = json!({"probe": {"action": "s3:DeleteBucket"}, "accounts": ["222233334444"]}).to_string();
    let (status, reply) = post(&f.org, MGMT, "/canopy/v1/simulate", &body).await;
    assert_eq!((status, reply["error"].as_str()), (404, Some("AccountNotFoundException")), "{reply}");
    let (status, reply) = post(&f.org, MGMT, "/canopy/v1/simulate", r#"{"probe": {"principal": "root"}}"#).await;
    assert_eq!(status, 400, "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("probe.action is required"));
}

#[tokio::test]
async fn member_calls_carry_the_time_transport_and_source_ip_keys() {
    let f = fixture().await;
    let member = f.org.client(&f.other);
    // A change freeze until 2099: the request's aws:CurrentTime (and aws:EpochTime) is now.
    let freeze = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "organizations:DescribeOrganization", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}, "NumericLessThan": {"aws:EpochTime": "4070908800"}}}]});
    let p = create_policy(&f.org, "Freeze", PolicyType::ServiceControlPolicy, freeze).await;
    attach(&f.org, &p, &f.other).await;
    assert_eq!(fail(member.describe_organization().send().await).code, "AccessDeniedException");
    f.org.mgmt.detach_policy().policy_id(&p).target_id(&f.other).send().await.unwrap();
    // Canopy serves plain HTTP: aws:SecureTransport is false.
    let https_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "organizations:*", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
    let p = create_policy(&f.org, "HttpsOnly", PolicyType::ServiceControlPolicy, https_only).await;
    attach(&f.org, &p, &f.other).await;
    assert_eq!(fail(member.describe_organization().send().await).code, "AccessDeniedException");
    f.org.mgmt.detach_policy().policy_id(&p).target_id(&f.other).send().await.unwrap();

    // aws:SourceIp is the client's address (loopback here). Without the key, NotIpAddress would
    // match (a negated operator on a missing key) and deny, and IpAddress would never match.
    let outside_office = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "organizations:*", "Resource": "*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}}]});
    let p = create_policy(&f.org, "OfficeOnly", PolicyType::ServiceControlPolicy, outside_office).await;
    attach(&f.org, &p, &f.other).await;
    assert!(member.describe_organization().send().await.is_ok());
    f.org.mgmt.detach_policy().policy_id(&p).target_id(&f.other).send().await.unwrap();
    let from_loopback = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "organizations:*", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}}]});
    let p = create_policy(&f.org, "NotFromHere", PolicyType::ServiceControlPolicy, from_loopback).await;
    attach(&f.org, &p, &f.other).await;
    assert_eq!(fail(member.describe_organization().send().await).code, "AccessDeniedException");
}
