//! The official AWS SDK for Rust against Canopy: policies (create/describe/update/delete, lists,
//! attach/detach, enable/disable policy types, tags on policies) and effective policies, with
//! their errors and reasons.

mod common;

use aws_sdk_organizations::types::{EffectivePolicyType, OrganizationFeatureSet, PolicyType, PolicyTypeStatus, TargetType};
use aws_sdk_organizations::Client;
use canopy_core::canopy_policy::{Limits, LimitsTable, PolicyType as EnginePolicyType};
use canopy_core::CoreConfig;
use common::*;

const SCP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#;
const TAG: &str = r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["100","200"]}}}}"#;
const FULL_AWS_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const RCP_FULL_AWS_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

async fn create_policy(client: &Client, t: PolicyType, name: &str, content: &str) -> String {
    let out = client
        .create_policy()
        .r#type(t)
        .name(name)
        .description(format!("{name} description"))
        .content(content)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreatePolicy {name}: {e:?}"));
    out.policy().and_then(|p| p.policy_summary()).and_then(|s| s.id()).expect("policy id").to_string()
}

async fn attach(client: &Client, policy: &str, target: &str) {
    client.attach_policy().policy_id(policy).target_id(target).send().await.unwrap_or_else(|e| panic!("AttachPolicy {policy} {target}: {e:?}"));
}

async fn enable(org: &Org, t: PolicyType) {
    org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(t.clone()).send().await.unwrap_or_else(|e| panic!("EnablePolicyType {t:?}: {e:?}"));
}

/// Ids of the policies of type `t` directly attached to `target`, in attachment order.
async fn policies_for(client: &Client, target: &str, t: PolicyType) -> Vec<String> {
    policies_for_paged(client, target, t, 20).await
}

async fn policies_for_paged(client: &Client, target: &str, t: PolicyType, page: i32) -> Vec<String> {
    let pages = client.list_policies_for_target().target_id(target).filter(t).max_results(page).into_paginator().send().try_collect().await.unwrap();
    pages.iter().flat_map(|p| p.policies().iter().map(|p| p.id().unwrap().to_string())).collect()
}

async fn targets_of(client: &Client, policy: &str) -> Vec<String> {
    targets_of_paged(client, policy, 20).await
}

async fn targets_of_paged(client: &Client, policy: &str, page: i32) -> Vec<String> {
    let pages = client.list_targets_for_policy().policy_id(policy).max_results(page).into_paginator().send().try_collect().await.unwrap();
    pages.iter().flat_map(|p| p.targets().iter().map(|t| t.target_id().unwrap().to_string())).collect()
}

async fn enabled_types(client: &Client) -> Vec<(PolicyType, PolicyTypeStatus)> {
    let roots = client.list_roots().send().await.unwrap();
    roots.roots()[0].policy_types().iter().map(|p| (p.r#type().unwrap().clone(), p.status().unwrap().clone())).collect()
}

fn is_customer_policy_id(s: &str) -> bool {
    s.strip_prefix("p-").is_some_and(|r| r.len() >= 8 && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

#[tokio::test]
async fn create_organization_attaches_full_aws_access_to_root_and_management() {
    let org = Org::new().await;
    assert_eq!(enabled_types(&org.mgmt).await, vec![(PolicyType::ServiceControlPolicy, PolicyTypeStatus::Enabled)]);
    assert_eq!(policies_for(&org.mgmt, &org.root_id, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    assert_eq!(policies_for(&org.mgmt, MGMT, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    assert_eq!(targets_of(&org.mgmt, "p-FullAWSAccess").await, [org.root_id.clone(), MGMT.to_string()]);

    // The AWS-managed policy, synthesized in every organization.
    let listed = org.mgmt.list_policies().filter(PolicyType::ServiceControlPolicy).send().await.unwrap();
    assert_eq!(listed.policies().len(), 1);
    let s = &listed.policies()[0];
    assert_eq!(s.id(), Some("p-FullAWSAccess"));
    assert_eq!(s.name(), Some("FullAWSAccess"));
    assert!(s.aws_managed());
    assert_eq!(s.r#type(), Some(&PolicyType::ServiceControlPolicy));
    assert_eq!(s.arn(), Some("arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"));
    let d = org.mgmt.describe_policy().policy_id("p-FullAWSAccess").send().await.unwrap();
    assert_eq!(d.policy().unwrap().content(), Some(FULL_AWS_ACCESS));
    let d = org.mgmt.describe_policy().policy_id("p-RCPFullAWSAccess").send().await.unwrap();
    assert_eq!(d.policy().unwrap().content(), Some(RCP_FULL_AWS_ACCESS));
    assert_eq!(
        d.policy().unwrap().policy_summary().unwrap().arn(),
        Some("arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess")
    );
    // Management types have no AWS-managed policy.
    let tags = org.mgmt.list_policies().filter(PolicyType::TagPolicy).send().await.unwrap();
    assert!(tags.policies().is_empty());

    // New OUs and accounts get the default of every enabled authorization type.
    let ou = org.create_ou(&org.root_id, "Dev").await;
    let account = org.create_account("Dev Account").await;
    assert_eq!(policies_for(&org.mgmt, &ou, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    assert_eq!(policies_for(&org.mgmt, &account, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    let targets = org.mgmt.list_targets_for_policy().policy_id("p-FullAWSAccess").send().await.unwrap();
    let kinds: Vec<_> = targets.targets().iter().map(|t| (t.target_id().unwrap().to_string(), t.r#type().unwrap().clone(), t.name().unwrap().to_string())).collect();
    assert_eq!(
        kinds,
        vec![
            (org.root_id.clone(), TargetType::Root, "Root".to_string()),
            (MGMT.to_string(), TargetType::Account, format!("account-{MGMT}")),
            (ou.clone(), TargetType::OrganizationalUnit, "Dev".to_string()),
            (account.clone(), TargetType::Account, "Dev Account".to_string()),
        ]
    );
    assert_eq!(targets.targets()[2].arn(), Some(format!("arn:aws:organizations::{MGMT}:ou/{}/{ou}", org.org_id).as_str()));
}

#[tokio::test]
async fn create_describe_update_delete_and_tags() {
    let org = Org::new().await;
    let out = org
        .mgmt
        .create_policy()
        .r#type(PolicyType::TagPolicy)
        .name("Cost centers")
        .description("")
        .content(TAG)
        .tags(tag("team", "finops"))
        .send()
        .await
        .unwrap();
    let policy = out.policy().unwrap();
    let summary = policy.policy_summary().unwrap();
    let id = summary.id().unwrap().to_string();
    assert!(is_customer_policy_id(&id), "{id}");
    assert_eq!(policy.content(), Some(TAG));
    assert_eq!(summary.name(), Some("Cost centers"));
    assert_eq!(summary.description(), Some(""));
    assert!(!summary.aws_managed());
    assert_eq!(summary.arn(), Some(format!("arn:aws:organizations::{MGMT}:policy/{}/tag_policy/{id}", org.org_id).as_str()));

    let described = org.mgmt.describe_policy().policy_id(&id).send().await.unwrap();
    assert_eq!(described.policy(), Some(policy));

    // Tags on the policy.
    let tags = org.mgmt.list_tags_for_resource().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "finops")]);
    org.mgmt.tag_resource().resource_id(&id).tags(tag("env", "prod")).send().await.unwrap();
    org.mgmt.untag_resource().resource_id(&id).tag_keys("team").send().await.unwrap();
    let tags = org.mgmt.list_tags_for_resource().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("env", "prod")]);
    expect_err(org.mgmt.tag_resource().resource_id("p-FullAWSAccess").tags(tag("a", "b")).send().await, "TargetNotFoundException", None);
    expect_err(org.mgmt.list_tags_for_resource().resource_id("p-nothere1").send().await, "TargetNotFoundException", None);

    // ListPolicies answers summaries without content (raw body check).
    let raw = raw_call(&org.server, MGMT, "ListPolicies", r#"{"Filter":"TAG_POLICY"}"#).await;
    assert_eq!(raw.status, 200);
    let first = &raw.body["Policies"][0];
    assert_eq!(first["Id"], id.as_str());
    assert!(first.get("Content").is_none(), "{first}");
    assert_eq!(first["AwsManaged"], false);

    // Update: name, description, content; the type never changes.
    let new_content = r#"{"tags":{"project":{"tag_key":{"@@assign":"Project"}}}}"#;
    let updated = org.mgmt.update_policy().policy_id(&id).name("Projects").description("new").content(new_content).send().await.unwrap();
    let p = updated.policy().unwrap();
    assert_eq!(p.content(), Some(new_content));
    assert_eq!(p.policy_summary().unwrap().name(), Some("Projects"));
    assert_eq!(p.policy_summary().unwrap().description(), Some("new"));
    assert_eq!(p.policy_summary().unwrap().r#type(), Some(&PolicyType::TagPolicy));
    // Only a name: the rest stays.
    let updated = org.mgmt.update_policy().policy_id(&id).name("Projects 2").send().await.unwrap();
    assert_eq!(updated.policy().unwrap().content(), Some(new_content));
    assert_eq!(updated.policy().unwrap().policy_summary().unwrap().description(), Some("new"));

    org.mgmt.delete_policy().policy_id(&id).send().await.unwrap();
    expect_err(org.mgmt.describe_policy().policy_id(&id).send().await, "PolicyNotFoundException", None);
    expect_err(org.mgmt.delete_policy().policy_id(&id).send().await, "PolicyNotFoundException", None);
    expect_err(org.mgmt.update_policy().policy_id(&id).name("x").send().await, "PolicyNotFoundException", None);
    // Its tags went with it.
    expect_err(org.mgmt.list_tags_for_resource().resource_id(&id).send().await, "TargetNotFoundException", None);
    assert!(org.mgmt.list_policies().filter(PolicyType::TagPolicy).send().await.unwrap().policies().is_empty());
}

#[tokio::test]
async fn create_and_update_errors() {
    let config = CoreConfig {
        policy_limits: LimitsTable::new().with(EnginePolicyType::BackupPolicy, Limits { max_policies_per_org: 2, ..EnginePolicyType::BackupPolicy.default_limits() }),
        ..CoreConfig::default()
    };
    let org = Org::with_config(config).await;

    // Malformed content: the message names the JSON path.
    let bad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}"#;
    let f = fail(org.mgmt.create_policy().r#type(PolicyType::ServiceControlPolicy).name("bad").description("").content(bad).send().await);
    assert_eq!(f.code, "MalformedPolicyDocumentException");
    assert!(f.message.contains("Statement[0].Effect"), "{}", f.message);
    let f = fail(org.mgmt.create_policy().r#type(PolicyType::TagPolicy).name("bad").description("").content("{not json").send().await);
    assert_eq!(f.code, "MalformedPolicyDocumentException");
    assert!(f.message.contains("not valid JSON"), "{}", f.message);
    // Over the size quota (SCP: 10,240 characters).
    let big = format!("{}{}}}", &SCP[..SCP.len() - 1], " ".repeat(10_241 - SCP.len()));
    assert_eq!(big.chars().count(), 10_241);
    expect_err(
        org.mgmt.create_policy().r#type(PolicyType::ServiceControlPolicy).name("big").description("").content(&big).send().await,
        "ConstraintViolationException",
        Some("POLICY_CONTENT_LIMIT_EXCEEDED"),
    );
    let ok = format!("{}{}}}", &SCP[..SCP.len() - 1], " ".repeat(10_240 - SCP.len()));
    create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "exactly at the limit", &ok).await;

    // Names are unique per type (the AWS-managed policy's name included).
    let id = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "Deny S3", SCP).await;
    expect_err(
        org.mgmt.create_policy().r#type(PolicyType::ServiceControlPolicy).name("Deny S3").description("").content(SCP).send().await,
        "DuplicatePolicyException",
        None,
    );
    expect_err(
        org.mgmt.create_policy().r#type(PolicyType::ServiceControlPolicy).name("FullAWSAccess").description("").content(SCP).send().await,
        "DuplicatePolicyException",
        None,
    );
    create_policy(&org.mgmt, PolicyType::TagPolicy, "Deny S3", TAG).await;
    let other = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "Other", SCP).await;
    expect_err(org.mgmt.update_policy().policy_id(&other).name("Deny S3").send().await, "DuplicatePolicyException", None);
    // Renaming to its own name is fine.
    org.mgmt.update_policy().policy_id(&id).name("Deny S3").send().await.unwrap();
    // Update validates content against the policy's type.
    let f = fail(org.mgmt.update_policy().policy_id(&id).content(TAG).send().await);
    assert_eq!(f.code, "MalformedPolicyDocumentException");
    expect_err(org.mgmt.update_policy().policy_id(&id).content(&big).send().await, "ConstraintViolationException", Some("POLICY_CONTENT_LIMIT_EXCEEDED"));
    assert_eq!(org.mgmt.describe_policy().policy_id(&id).send().await.unwrap().policy().unwrap().content(), Some(SCP));

    // Per-organization count (configured to 2 backup policies).
    let backup = r#"{"plans":{"p":{"regions":{"@@assign":["us-east-1"]},"rules":{"r":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},"target_backup_vault_name":{"@@assign":"Default"}}}}}}"#;
    create_policy(&org.mgmt, PolicyType::BackupPolicy, "b1", backup).await;
    create_policy(&org.mgmt, PolicyType::BackupPolicy, "b2", backup).await;
    expect_err(
        org.mgmt.create_policy().r#type(PolicyType::BackupPolicy).name("b3").description("").content(backup).send().await,
        "ConstraintViolationException",
        Some("POLICY_NUMBER_LIMIT_EXCEEDED"),
    );

    // AWS-managed policies are immutable.
    expect_err(org.mgmt.update_policy().policy_id("p-FullAWSAccess").name("Mine").send().await, "InvalidInputException", Some("IMMUTABLE_POLICY"));
    expect_err(org.mgmt.delete_policy().policy_id("p-FullAWSAccess").send().await, "InvalidInputException", Some("IMMUTABLE_POLICY"));
    expect_err(org.mgmt.delete_policy().policy_id("p-RCPFullAWSAccess").send().await, "InvalidInputException", Some("IMMUTABLE_POLICY"));

    // Callers: members are refused, outsiders are not in an organization.
    let member = org.create_account("Member").await;
    expect_err(
        org.client(&member).create_policy().r#type(PolicyType::TagPolicy).name("m").description("").content(TAG).send().await,
        "AccessDeniedException",
        None,
    );
    expect_err(org.client(&member).list_policies().filter(PolicyType::TagPolicy).send().await, "AccessDeniedException", None);
    expect_err(
        org.client(OUTSIDER).create_policy().r#type(PolicyType::TagPolicy).name("m").description("").content(TAG).send().await,
        "AWSOrganizationsNotInUseException",
        None,
    );
    expect_err(org.client(OUTSIDER).describe_policy().policy_id("p-FullAWSAccess").send().await, "AWSOrganizationsNotInUseException", None);
}

#[tokio::test]
async fn consolidated_billing_organizations_have_no_policy_types() {
    let server = canopy_server::testing::TestServer::start().await;
    let mgmt = client_for(&server.endpoint, MGMT);
    mgmt.create_organization().feature_set(OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
    let root = mgmt.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    assert!(mgmt.list_roots().send().await.unwrap().roots()[0].policy_types().is_empty());
    assert!(policies_for(&mgmt, &root, PolicyType::ServiceControlPolicy).await.is_empty());
    expect_err(
        mgmt.create_policy().r#type(PolicyType::TagPolicy).name("t").description("").content(TAG).send().await,
        "PolicyTypeNotAvailableForOrganizationException",
        None,
    );
    expect_err(
        mgmt.enable_policy_type().root_id(&root).policy_type(PolicyType::ServiceControlPolicy).send().await,
        "PolicyTypeNotAvailableForOrganizationException",
        None,
    );
    expect_err(mgmt.attach_policy().policy_id("p-FullAWSAccess").target_id(&root).send().await, "PolicyTypeNotEnabledException", None);
}

#[tokio::test]
async fn attach_and_detach_rules() {
    let config = CoreConfig {
        policy_limits: LimitsTable::new().with(
            EnginePolicyType::ServiceControlPolicy,
            Limits { max_attachments_per_target: 3, ..EnginePolicyType::ServiceControlPolicy.default_limits() },
        ),
        ..CoreConfig::default()
    };
    let org = Org::with_config(config).await;
    let ou = org.create_ou(&org.root_id, "Workloads").await;
    let account = org.create_account("Workload").await;
    let deny_a = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "A", SCP).await;
    let deny_b = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "B", SCP).await;
    let deny_c = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "C", SCP).await;

    attach(&org.mgmt, &deny_b, &ou).await;
    attach(&org.mgmt, &deny_a, &ou).await;
    // Attachment order, not id or name order.
    assert_eq!(policies_for(&org.mgmt, &ou, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess", deny_b.as_str(), deny_a.as_str()]);
    expect_err(org.mgmt.attach_policy().policy_id(&deny_a).target_id(&ou).send().await, "DuplicatePolicyAttachmentException", None);
    // The per-target maximum (configured to 3).
    expect_err(
        org.mgmt.attach_policy().policy_id(&deny_c).target_id(&ou).send().await,
        "ConstraintViolationException",
        Some("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"),
    );
    // FullAWSAccess can be detached while another SCP stays.
    org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(&ou).send().await.unwrap();
    org.mgmt.detach_policy().policy_id(&deny_b).target_id(&ou).send().await.unwrap();
    expect_err(
        org.mgmt.detach_policy().policy_id(&deny_a).target_id(&ou).send().await,
        "ConstraintViolationException",
        Some("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"),
    );
    expect_err(
        org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(&account).send().await,
        "ConstraintViolationException",
        Some("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"),
    );
    expect_err(org.mgmt.detach_policy().policy_id(&deny_b).target_id(&ou).send().await, "PolicyNotAttachedException", None);
    // Detach + re-attach moves a customer policy to the end; the default policy is listed first.
    attach(&org.mgmt, &deny_b, &ou).await;
    attach(&org.mgmt, "p-FullAWSAccess", &ou).await;
    assert_eq!(policies_for(&org.mgmt, &ou, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess", deny_a.as_str(), deny_b.as_str()]);
    assert_eq!(targets_of(&org.mgmt, &deny_a).await, vec![ou.clone()]);

    // Unknown policy / target.
    expect_err(org.mgmt.attach_policy().policy_id("p-unknown12").target_id(&ou).send().await, "PolicyNotFoundException", None);
    expect_err(org.mgmt.attach_policy().policy_id(&deny_c).target_id("ou-zzzz-zzzzzzzz").send().await, "TargetNotFoundException", None);
    expect_err(org.mgmt.attach_policy().policy_id(&deny_c).target_id(OUTSIDER).send().await, "TargetNotFoundException", None);
    expect_err(org.mgmt.detach_policy().policy_id("p-unknown12").target_id(&ou).send().await, "PolicyNotFoundException", None);
    expect_err(org.mgmt.list_policies_for_target().target_id("r-zzzz").filter(PolicyType::ServiceControlPolicy).send().await, "TargetNotFoundException", None);
    expect_err(org.mgmt.list_targets_for_policy().policy_id("p-unknown12").send().await, "PolicyNotFoundException", None);

    // A type not enabled in the root.
    let tag_policy = create_policy(&org.mgmt, PolicyType::TagPolicy, "T", TAG).await;
    expect_err(org.mgmt.attach_policy().policy_id(&tag_policy).target_id(&account).send().await, "PolicyTypeNotEnabledException", None);

    // A policy still attached can't be deleted; once detached it can.
    expect_err(org.mgmt.delete_policy().policy_id(&deny_a).send().await, "PolicyInUseException", None);
    org.mgmt.detach_policy().policy_id(&deny_a).target_id(&ou).send().await.unwrap();
    org.mgmt.delete_policy().policy_id(&deny_a).send().await.unwrap();

    // Member callers can't attach.
    expect_err(org.client(&account).attach_policy().policy_id(&deny_c).target_id(&account).send().await, "AccessDeniedException", None);

    // Removing an account or deleting an OU drops its attachments.
    attach(&org.mgmt, &deny_c, &account).await;
    org.mgmt.remove_account_from_organization().account_id(&account).send().await.unwrap();
    assert!(!targets_of(&org.mgmt, &deny_c).await.contains(&account));
    assert!(!targets_of(&org.mgmt, "p-FullAWSAccess").await.contains(&account));
    org.mgmt.delete_organizational_unit().organizational_unit_id(&ou).send().await.unwrap();
    assert!(targets_of(&org.mgmt, &deny_b).await.is_empty());
    org.mgmt.delete_policy().policy_id(&deny_b).send().await.unwrap();
}

/// The default policy is attached to every target without a row of its own (the store records
/// where it was detached): its listings, its detachment and re-attachment, and what forgets a
/// detachment (disabling the type, leaving the organization).
#[tokio::test]
async fn the_default_policy_follows_every_target_until_detached() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Parent").await;
    let child = org.create_ou(&ou, "Child").await;
    let first = org.create_account("First").await;
    let second = org.create_account("Second").await;
    let everyone = vec![org.root_id.clone(), MGMT.to_string(), ou.clone(), child.clone(), first.clone(), second.clone()];
    // Creation order, whatever the page size.
    for page in [1, 2, 20] {
        assert_eq!(targets_of_paged(&org.mgmt, "p-FullAWSAccess", page).await, everyone, "page of {page}");
    }
    let listed = org.mgmt.list_targets_for_policy().policy_id("p-FullAWSAccess").max_results(20).send().await.unwrap();
    let types: Vec<_> = listed.targets().iter().map(|t| t.r#type().unwrap().clone()).collect();
    assert_eq!(
        types,
        [TargetType::Root, TargetType::Account, TargetType::OrganizationalUnit, TargetType::OrganizationalUnit, TargetType::Account, TargetType::Account]
    );
    expect_err(org.mgmt.attach_policy().policy_id("p-FullAWSAccess").target_id(&child).send().await, "DuplicatePolicyAttachmentException", None);

    // Detached from the parent OU and the first account, each keeping another SCP.
    let deny = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "Deny", SCP).await;
    for target in [&ou, &first] {
        attach(&org.mgmt, &deny, target).await;
        org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(target).send().await.unwrap();
        assert_eq!(policies_for(&org.mgmt, target, PolicyType::ServiceControlPolicy).await, [deny.as_str()]);
        expect_err(org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(target).send().await, "PolicyNotAttachedException", None);
        // The last SCP stays.
        expect_err(org.mgmt.detach_policy().policy_id(&deny).target_id(target).send().await, "ConstraintViolationException", Some("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"));
    }
    let remaining = vec![org.root_id.clone(), MGMT.to_string(), child.clone(), second.clone()];
    for page in [1, 3, 20] {
        assert_eq!(targets_of_paged(&org.mgmt, "p-FullAWSAccess", page).await, remaining, "page of {page}");
    }
    assert_eq!(policies_for(&org.mgmt, &child, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    // New targets get it, wherever they are created.
    let grandchild = org.create_ou(&ou, "Grandchild").await;
    assert_eq!(policies_for(&org.mgmt, &grandchild, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    // Re-attached to the account: listed first again, the other SCP can now go.
    attach(&org.mgmt, "p-FullAWSAccess", &first).await;
    assert_eq!(policies_for(&org.mgmt, &first, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess", deny.as_str()]);
    org.mgmt.detach_policy().policy_id(&deny).target_id(&first).send().await.unwrap();

    // Leaving the organization forgets a detachment: the account comes back with the default.
    attach(&org.mgmt, &deny, &second).await;
    org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(&second).send().await.unwrap();
    org.mgmt.remove_account_from_organization().account_id(&second).send().await.unwrap();
    assert!(!targets_of(&org.mgmt, "p-FullAWSAccess").await.contains(&second));
    let invited = org.mgmt.invite_account_to_organization().target(
        aws_sdk_organizations::types::HandshakeParty::builder()
            .id(&second)
            .r#type(aws_sdk_organizations::types::HandshakePartyType::Account)
            .build()
            .unwrap(),
    );
    let handshake = invited.send().await.unwrap().handshake().unwrap().id().unwrap().to_string();
    org.client(&second).accept_handshake().handshake_id(&handshake).send().await.unwrap();
    assert_eq!(policies_for(&org.mgmt, &second, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);

    // Disabling the type forgets every detachment: re-enabled, the default is everywhere again.
    org.mgmt.disable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();
    assert!(targets_of(&org.mgmt, "p-FullAWSAccess").await.is_empty());
    assert!(policies_for(&org.mgmt, &ou, PolicyType::ServiceControlPolicy).await.is_empty());
    enable(&org, PolicyType::ServiceControlPolicy).await;
    for target in [&ou, &child, &grandchild, &first, &second] {
        assert_eq!(policies_for(&org.mgmt, target, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"], "{target}");
    }
    assert_eq!(targets_of(&org.mgmt, "p-FullAWSAccess").await.len(), 7);
    // A token from before migration 15 (the lists' old scope) is refused, not read in the new
    // order, where it would skip targets.
    for (op, body) in [
        ("ListTargetsForPolicy", format!("ListTargetsForPolicy/{}/p-FullAWSAccess", org.org_id)),
        ("ListPoliciesForTarget", format!("ListPoliciesForTarget/{}/{}/SERVICE_CONTROL_POLICY", org.org_id, ou)),
    ] {
        let token = canopy_core::paging::encode(&body, 0);
        let request = match op {
            "ListTargetsForPolicy" => format!(r#"{{"PolicyId":"p-FullAWSAccess","NextToken":"{token}"}}"#),
            _ => format!(r#"{{"TargetId":"{ou}","Filter":"SERVICE_CONTROL_POLICY","NextToken":"{token}"}}"#),
        };
        let raw = raw_call(&org.server, MGMT, op, &request).await;
        assert_eq!((raw.status, raw.body["Reason"].as_str()), (400, Some("INVALID_NEXT_TOKEN")), "{op}: {}", raw.body);
    }

    // An OU deleted with the default detached goes from every listing.
    attach(&org.mgmt, &deny, &grandchild).await;
    org.mgmt.detach_policy().policy_id("p-FullAWSAccess").target_id(&grandchild).send().await.unwrap();
    org.mgmt.delete_organizational_unit().organizational_unit_id(&grandchild).send().await.unwrap();
    assert_eq!(targets_of(&org.mgmt, "p-FullAWSAccess").await.len(), 6);
    assert!(targets_of(&org.mgmt, &deny).await.is_empty());
}

#[tokio::test]
async fn enable_and_disable_policy_types() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Prod").await;
    let child = org.create_ou(&ou, "Prod Child").await;
    let account = org.create_account("Prod Account").await;

    // RCP: the default goes everywhere that exists, and to what is created later.
    let out = org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ResourceControlPolicy).send().await.unwrap();
    let types: Vec<_> = out.root().unwrap().policy_types().iter().map(|p| p.r#type().unwrap().clone()).collect();
    assert_eq!(types, [PolicyType::ServiceControlPolicy, PolicyType::ResourceControlPolicy]);
    for target in [org.root_id.as_str(), ou.as_str(), child.as_str(), account.as_str(), MGMT] {
        assert_eq!(policies_for(&org.mgmt, target, PolicyType::ResourceControlPolicy).await, ["p-RCPFullAWSAccess"], "{target}");
    }
    let later = org.create_ou(&child, "Later").await;
    assert_eq!(policies_for(&org.mgmt, &later, PolicyType::ResourceControlPolicy).await, ["p-RCPFullAWSAccess"]);
    assert_eq!(policies_for(&org.mgmt, &later, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"]);
    // RCPFullAWSAccess can't be detached, even with another RCP attached.
    let rcp = create_policy(&org.mgmt, PolicyType::ResourceControlPolicy, "R", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#).await;
    attach(&org.mgmt, &rcp, &ou).await;
    expect_err(
        org.mgmt.detach_policy().policy_id("p-RCPFullAWSAccess").target_id(&ou).send().await,
        "InvalidInputException",
        Some("NON_DETACHABLE_POLICY"),
    );

    expect_err(
        org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ResourceControlPolicy).send().await,
        "PolicyTypeAlreadyEnabledException",
        None,
    );
    expect_err(
        org.mgmt.enable_policy_type().root_id("r-zzzz").policy_type(PolicyType::TagPolicy).send().await,
        "RootNotFoundException",
        None,
    );
    expect_err(org.client(&account).enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::TagPolicy).send().await, "AccessDeniedException", None);

    // Disabling SCP detaches every SCP everywhere; the policies stay.
    let scp = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "S", SCP).await;
    attach(&org.mgmt, &scp, &account).await;
    let out = org.mgmt.disable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();
    let types: Vec<_> = out.root().unwrap().policy_types().iter().map(|p| p.r#type().unwrap().clone()).collect();
    assert_eq!(types, [PolicyType::ResourceControlPolicy]);
    assert!(targets_of(&org.mgmt, "p-FullAWSAccess").await.is_empty());
    assert!(targets_of(&org.mgmt, &scp).await.is_empty());
    org.mgmt.describe_policy().policy_id(&scp).send().await.unwrap();
    assert_eq!(policies_for(&org.mgmt, &ou, PolicyType::ResourceControlPolicy).await, ["p-RCPFullAWSAccess", rcp.as_str()]);
    expect_err(org.mgmt.attach_policy().policy_id(&scp).target_id(&account).send().await, "PolicyTypeNotEnabledException", None);
    expect_err(
        org.mgmt.disable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ServiceControlPolicy).send().await,
        "PolicyTypeNotEnabledException",
        None,
    );
    // New OUs while SCP is disabled get no SCP.
    let bare = org.create_ou(&org.root_id, "Bare").await;
    assert!(policies_for(&org.mgmt, &bare, PolicyType::ServiceControlPolicy).await.is_empty());
    // Re-enabling restores only FullAWSAccess on every node.
    enable(&org, PolicyType::ServiceControlPolicy).await;
    for target in [org.root_id.as_str(), ou.as_str(), child.as_str(), later.as_str(), bare.as_str(), account.as_str(), MGMT] {
        assert_eq!(policies_for(&org.mgmt, target, PolicyType::ServiceControlPolicy).await, ["p-FullAWSAccess"], "{target}");
    }

    // Management types attach nothing by default (SECURITYHUB_POLICY needs its service's trusted access).
    org.mgmt.enable_aws_service_access().service_principal("securityhub.amazonaws.com").send().await.unwrap();
    enable(&org, PolicyType::SecurityhubPolicy).await;
    enable(&org, PolicyType::TagPolicy).await;
    assert!(policies_for(&org.mgmt, &org.root_id, PolicyType::TagPolicy).await.is_empty());
}

#[tokio::test]
async fn trusted_access_requirement() {
    // Enforced by default: the type needs its service's trusted access first.
    let org = Org::new().await;
    for (t, service) in [(PolicyType::SecurityhubPolicy, "securityhub.amazonaws.com"), (PolicyType::InspectorPolicy, "inspector2.amazonaws.com")] {
        let f = fail(org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(t.clone()).send().await);
        assert_eq!((f.code.as_str(), f.reason.as_deref()), ("ConstraintViolationException", Some("SERVICE_ACCESS_NOT_ENABLED")), "{t:?}");
        assert!(f.message.contains(service), "{}", f.message);
        org.mgmt.enable_aws_service_access().service_principal(service).send().await.unwrap();
        enable(&org, t.clone()).await;
    }
    // Types without a service requirement are unaffected.
    enable(&org, PolicyType::BackupPolicy).await;
    // Switched off, the requirement goes away.
    let lax = Org::with_config(CoreConfig { enforce_policy_service_access: false, ..CoreConfig::default() }).await;
    enable(&lax, PolicyType::SecurityhubPolicy).await;
}

#[tokio::test]
async fn lists_need_a_filter_and_page() {
    let org = Org::new().await;
    // Filter is required (the SDK would refuse to send without it).
    let raw = raw_call(&org.server, MGMT, "ListPolicies", "{}").await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.body["__type"], "InvalidInputException");
    assert_eq!(raw.body["Reason"], "INPUT_REQUIRED");
    let raw = raw_call(&org.server, MGMT, "ListPoliciesForTarget", &format!(r#"{{"TargetId":"{}"}}"#, org.root_id)).await;
    assert_eq!(raw.body["__type"], "InvalidInputException");
    assert_eq!(raw.body["Reason"], "INPUT_REQUIRED");
    let raw = raw_call(&org.server, MGMT, "ListPolicies", r#"{"Filter":"NOT_A_TYPE"}"#).await;
    assert_eq!(raw.body["__type"], "InvalidInputException");

    // ListPolicies pages: the managed policy first, then creation order.
    let mut created = vec!["p-FullAWSAccess".to_string()];
    for i in 0..6 {
        created.push(create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, &format!("scp-{i}"), SCP).await);
    }
    let first = org.mgmt.list_policies().filter(PolicyType::ServiceControlPolicy).max_results(3).send().await.unwrap();
    assert_eq!(first.policies().len(), 3);
    assert!(first.next_token().is_some());
    let pages = org.mgmt.list_policies().filter(PolicyType::ServiceControlPolicy).max_results(2).into_paginator().send().try_collect().await.unwrap();
    assert_eq!(pages.len(), 4);
    let all: Vec<String> = pages.iter().flat_map(|p| p.policies().iter().map(|p| p.id().unwrap().to_string())).collect();
    assert_eq!(all, created);
    // Exactly a page: no token on the last one.
    let last = org.mgmt.list_policies().filter(PolicyType::ServiceControlPolicy).max_results(7).send().await.unwrap();
    assert_eq!(last.policies().len(), 7);
    assert!(last.next_token().is_none());
    // A token belongs to its list.
    let token = first.next_token().unwrap();
    expect_err(
        org.mgmt.list_policies().filter(PolicyType::TagPolicy).next_token(token).send().await,
        "InvalidInputException",
        Some("INVALID_NEXT_TOKEN"),
    );

    // ListPoliciesForTarget and ListTargetsForPolicy page too.
    let ou = org.create_ou(&org.root_id, "Paged").await;
    for id in &created[1..6] {
        attach(&org.mgmt, id, &ou).await;
    }
    assert_eq!(policies_for_paged(&org.mgmt, &ou, PolicyType::ServiceControlPolicy, 2).await, created[..6].to_vec());
    let mut expected_targets = vec![org.root_id.clone(), MGMT.to_string(), ou.clone()];
    for i in 0..3 {
        expected_targets.push(org.create_ou(&org.root_id, &format!("more-{i}")).await);
    }
    assert_eq!(targets_of_paged(&org.mgmt, "p-FullAWSAccess", 1).await, expected_targets);
}

#[tokio::test]
async fn effective_policies() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Finance").await;
    let account = org.create_account("Finance Account").await;
    org.mgmt.move_account().account_id(&account).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.unwrap();
    let other = org.create_account("Other").await;

    // Type not enabled: nothing applies.
    expect_err(
        org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&account).send().await,
        "EffectivePolicyNotFoundException",
        None,
    );
    enable(&org, PolicyType::TagPolicy).await;
    expect_err(
        org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&account).send().await,
        "EffectivePolicyNotFoundException",
        None,
    );
    let root_policy = create_policy(
        &org.mgmt,
        PolicyType::TagPolicy,
        "root",
        r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["100"]}}}}"#,
    )
    .await;
    let ou_policy = create_policy(&org.mgmt, PolicyType::TagPolicy, "ou", r#"{"tags":{"costcenter":{"tag_value":{"@@append":["200"]}}}}"#).await;
    attach(&org.mgmt, &root_policy, &org.root_id).await;
    attach(&org.mgmt, &ou_policy, &ou).await;

    let out = org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&account).send().await.unwrap();
    let e = out.effective_policy().unwrap();
    assert_eq!(e.target_id(), Some(account.as_str()));
    assert_eq!(e.policy_type(), Some(&EffectivePolicyType::TagPolicy));
    assert!(e.last_updated_timestamp().is_some());
    let content: serde_json::Value = serde_json::from_str(e.policy_content().unwrap()).unwrap();
    assert_eq!(content, serde_json::json!({"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["100","200"]}}}));
    // The other account only inherits the root's.
    let out = org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&other).send().await.unwrap();
    let content: serde_json::Value = serde_json::from_str(out.effective_policy().unwrap().policy_content().unwrap()).unwrap();
    assert_eq!(content, serde_json::json!({"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["100"]}}}));
    // Management policies apply to the management account too.
    let out = org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await.unwrap();
    assert_eq!(out.effective_policy().unwrap().target_id(), Some(MGMT));

    // A member gets its own without TargetId, or naming itself; not another account's.
    let member = org.client(&account);
    let own = member.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await.unwrap();
    assert_eq!(own.effective_policy().unwrap().target_id(), Some(account.as_str()));
    member.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&account).send().await.unwrap();
    expect_err(
        member.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&other).send().await,
        "AccessDeniedException",
        None,
    );
    // A member the resource policy grants DescribeEffectivePolicy reads other accounts' too, as
    // a service delegated administrator does (the organization reads).
    let grant = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
        "Action": "organizations:DescribeEffectivePolicy", "Resource": "*"}]});
    org.mgmt.put_resource_policy().content(grant.to_string()).send().await.unwrap();
    let read = member.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&other).send().await.unwrap();
    assert_eq!(read.effective_policy().unwrap().target_id(), Some(other.as_str()));
    org.mgmt.delete_resource_policy().send().await.unwrap();
    org.mgmt.enable_aws_service_access().service_principal("securityhub.amazonaws.com").send().await.unwrap();
    org.mgmt.register_delegated_administrator().account_id(&other).service_principal("securityhub.amazonaws.com").send().await.unwrap();
    let admin = org.client(&other);
    let read = admin.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&account).send().await.unwrap();
    assert_eq!(read.effective_policy().unwrap().target_id(), Some(account.as_str()));
    // Roots and OUs are not supported targets; unknown accounts are not found.
    for target in [org.root_id.as_str(), ou.as_str()] {
        expect_err(
            org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(target).send().await,
            "InvalidInputException",
            Some("TARGET_NOT_SUPPORTED"),
        );
    }
    expect_err(
        org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(OUTSIDER).send().await,
        "TargetNotFoundException",
        None,
    );
    expect_err(
        org.client(OUTSIDER).describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await,
        "AWSOrganizationsNotInUseException",
        None,
    );
    // SCP/RCP have no effective policy: not even a valid enum value.
    let raw = raw_call(&org.server, MGMT, "DescribeEffectivePolicy", r#"{"PolicyType":"SERVICE_CONTROL_POLICY"}"#).await;
    assert_eq!(raw.body["__type"], "InvalidInputException");

    // Detaching changes the answer at once.
    org.mgmt.detach_policy().policy_id(&ou_policy).target_id(&ou).send().await.unwrap();
    let out = org.mgmt.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).target_id(&account).send().await.unwrap();
    let content: serde_json::Value = serde_json::from_str(out.effective_policy().unwrap().policy_content().unwrap()).unwrap();
    assert_eq!(content["tags"]["costcenter"]["tag_value"], serde_json::json!(["100"]));

    // Nothing invalid here.
    let invalid = org.mgmt.list_accounts_with_invalid_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await.unwrap();
    assert!(invalid.accounts().is_empty());
    assert_eq!(invalid.policy_type(), Some(&EffectivePolicyType::TagPolicy));
    let errors = org.mgmt.list_effective_policy_validation_errors().account_id(&account).policy_type(EffectivePolicyType::TagPolicy).send().await.unwrap();
    assert!(errors.effective_policy_validation_errors().is_empty());
    assert_eq!(errors.account_id(), Some(account.as_str()));
    assert_eq!(errors.path(), Some(format!("{}/{}/{ou}/{account}/", org.org_id, org.root_id).as_str()));
    assert!(errors.evaluation_timestamp().is_some());
    expect_err(
        org.mgmt.list_effective_policy_validation_errors().account_id(OUTSIDER).policy_type(EffectivePolicyType::TagPolicy).send().await,
        "AccountNotFoundException",
        None,
    );
    expect_err(
        org.mgmt.list_effective_policy_validation_errors().account_id(&account).policy_type(EffectivePolicyType::BackupPolicy).send().await,
        "EffectivePolicyNotFoundException",
        None,
    );
    expect_err(
        member.list_accounts_with_invalid_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await,
        "AccessDeniedException",
        None,
    );
}

/// Two individually valid backup policies whose merged plan has 11 rules (more than 10).
#[tokio::test]
async fn invalid_effective_policies_are_reported() {
    let org = Org::new().await;
    enable(&org, PolicyType::BackupPolicy).await;
    let ou = org.create_ou(&org.root_id, "Backed up").await;
    let accounts = [org.create_account("B1").await, org.create_account("B2").await, org.create_account("B3").await];
    for a in &accounts[..2] {
        org.mgmt.move_account().account_id(a).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.unwrap();
    }
    let rules = |prefix: &str, n: usize| -> String {
        (0..n)
            .map(|i| format!(r#""{prefix}{i}":{{"schedule_expression":{{"@@assign":"cron(0 5 ? * * *)"}},"target_backup_vault_name":{{"@@assign":"Default"}}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let p1 = format!(r#"{{"plans":{{"daily":{{"regions":{{"@@assign":["us-east-1"]}},"rules":{{{}}}}}}}}}"#, rules("a", 6));
    let p2 = format!(r#"{{"plans":{{"daily":{{"rules":{{{}}}}}}}}}"#, rules("b", 5));
    let root_policy = create_policy(&org.mgmt, PolicyType::BackupPolicy, "six rules", &p1).await;
    let ou_policy = create_policy(&org.mgmt, PolicyType::BackupPolicy, "five more", &p2).await;
    attach(&org.mgmt, &root_policy, &org.root_id).await;
    attach(&org.mgmt, &ou_policy, &ou).await;

    let invalid = org.mgmt.list_accounts_with_invalid_effective_policy().policy_type(EffectivePolicyType::BackupPolicy).send().await.unwrap();
    let ids: Vec<_> = invalid.accounts().iter().map(|a| a.id().unwrap().to_string()).collect();
    assert_eq!(ids, accounts[..2].to_vec());
    // Paged one by one.
    let paged = org
        .mgmt
        .list_accounts_with_invalid_effective_policy()
        .policy_type(EffectivePolicyType::BackupPolicy)
        .max_results(1)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = paged.iter().flat_map(|p| p.accounts().iter().map(|a| a.id().unwrap().to_string())).collect();
    assert_eq!(ids, accounts[..2].to_vec());

    let out = org.mgmt.list_effective_policy_validation_errors().account_id(&accounts[0]).policy_type(EffectivePolicyType::BackupPolicy).send().await.unwrap();
    let errors = out.effective_policy_validation_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].error_code(), Some("ELEMENTS_TOO_MANY"));
    assert_eq!(errors[0].path_to_error(), Some("plans.daily.rules"));
    assert_eq!(errors[0].contributing_policies(), [root_policy.clone(), ou_policy.clone()]);
    assert!(!errors[0].error_message().unwrap_or_default().is_empty());
    // The third account is fine.
    let out = org.mgmt.list_effective_policy_validation_errors().account_id(&accounts[2]).policy_type(EffectivePolicyType::BackupPolicy).send().await.unwrap();
    assert!(out.effective_policy_validation_errors().is_empty());
}

#[tokio::test]
async fn a_list_token_is_refused_by_the_next_organization_of_the_same_account() {
    let org = Org::new().await;
    let p = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "Second", SCP).await;
    attach(&org.mgmt, &p, MGMT).await;
    let first = org.mgmt.list_policies_for_target().target_id(MGMT).filter(PolicyType::ServiceControlPolicy).max_results(1).send().await.unwrap();
    let token = first.next_token().expect("two SCPs on the management account: a second page").to_string();
    org.mgmt.detach_policy().policy_id(&p).target_id(MGMT).send().await.unwrap();
    org.mgmt.delete_policy().policy_id(&p).send().await.unwrap();
    org.mgmt.delete_organization().send().await.unwrap();

    // The same management account founds another organization, with the same two-policy list.
    org.mgmt.create_organization().send().await.unwrap();
    let p = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "Second", SCP).await;
    attach(&org.mgmt, &p, MGMT).await;
    expect_err(
        org.mgmt.list_policies_for_target().target_id(MGMT).filter(PolicyType::ServiceControlPolicy).next_token(token).send().await,
        "InvalidInputException",
        Some("INVALID_NEXT_TOKEN"),
    );
}

#[tokio::test]
async fn a_policy_attached_only_to_purged_accounts_can_be_deleted() {
    // No retention after closure: a closed account is purged at once.
    let org = Org::with_config(CoreConfig { closed_account_retention_ms: 0, ..CoreConfig::default() }).await;
    let p = create_policy(&org.mgmt, PolicyType::ServiceControlPolicy, "OnGone", SCP).await;
    let gone = org.create_account("Gone").await;
    let stays = org.create_account("Stays").await;
    attach(&org.mgmt, &p, &gone).await;
    attach(&org.mgmt, &p, &stays).await;
    org.mgmt.close_account().account_id(&gone).send().await.unwrap();
    // Still attached to a listed account: in use.
    expect_err(org.mgmt.delete_policy().policy_id(&p).send().await, "PolicyInUseException", None);
    org.mgmt.detach_policy().policy_id(&p).target_id(&stays).send().await.unwrap();
    let targets = org.mgmt.list_targets_for_policy().policy_id(&p).send().await.unwrap();
    assert!(targets.targets().is_empty(), "{targets:?}");
    // The purged account's attachment neither lists nor keeps the policy in use.
    org.mgmt.delete_policy().policy_id(&p).send().await.expect("DeletePolicy");
    expect_err(org.mgmt.describe_policy().policy_id(&p).send().await, "PolicyNotFoundException", None);
}
