//! The official AWS SDK for Rust against Canopy: trusted access of services, delegated
//! administrators of services, the resource (delegation) policy, and what each of them lets a
//! member account do.

mod common;

use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use aws_sdk_organizations::Client;
use common::*;

const SSO: &str = "sso.amazonaws.com";
const CONFIG: &str = "config.amazonaws.com";
const TAG_DOC: &str = r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}"#;
const BACKUP_DOC: &str = r#"{"plans":{"p":{"regions":{"@@assign":["us-east-1"]},"rules":{"r":{"target_backup_vault_name":{"@@assign":"v"}}},"selections":{"tags":{"t":{"iam_role_arn":{"@@assign":"arn:aws:iam::$account:role/R"},"tag_key":{"@@assign":"k"},"tag_value":{"@@assign":["v"]}}}}}}}"#;

async fn enable_access(org: &Org, service: &str) {
    org.mgmt.enable_aws_service_access().service_principal(service).send().await.unwrap_or_else(|e| panic!("EnableAWSServiceAccess {service}: {e:?}"));
}

async fn register(org: &Org, account: &str, service: &str) {
    org.mgmt
        .register_delegated_administrator()
        .account_id(account)
        .service_principal(service)
        .send()
        .await
        .unwrap_or_else(|e| panic!("RegisterDelegatedAdministrator {account} {service}: {e:?}"));
}

async fn enabled_services(client: &Client) -> Vec<String> {
    let out = client.list_aws_service_access_for_organization().send().await.unwrap();
    out.enabled_service_principals().iter().map(|p| p.service_principal().unwrap().to_string()).collect()
}

async fn admins(client: &Client, service: Option<&str>) -> Vec<String> {
    let out = client.list_delegated_administrators().set_service_principal(service.map(str::to_string)).send().await.unwrap();
    out.delegated_administrators().iter().map(|d| d.id().unwrap().to_string()).collect()
}

fn grant(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

#[tokio::test]
async fn trusted_access_enable_list_disable() {
    let org = Org::new().await;
    assert!(enabled_services(&org.mgmt).await.is_empty());
    enable_access(&org, SSO).await;
    enable_access(&org, CONFIG).await;
    let first = org.mgmt.list_aws_service_access_for_organization().send().await.unwrap();
    let sso_date = first.enabled_service_principals()[0].date_enabled().cloned().expect("DateEnabled");
    // Enabling again succeeds and keeps the first date.
    enable_access(&org, SSO).await;
    let again = org.mgmt.list_aws_service_access_for_organization().send().await.unwrap();
    assert_eq!(again.enabled_service_principals()[0].date_enabled(), Some(&sso_date));
    assert_eq!(enabled_services(&org.mgmt).await, [SSO, CONFIG]);

    // Pages.
    enable_access(&org, "ram.amazonaws.com").await;
    let page = org.mgmt.list_aws_service_access_for_organization().max_results(2).send().await.unwrap();
    assert_eq!(page.enabled_service_principals().len(), 2);
    let rest = org.mgmt.list_aws_service_access_for_organization().next_token(page.next_token().expect("a second page")).send().await.unwrap();
    assert_eq!(rest.enabled_service_principals()[0].service_principal(), Some("ram.amazonaws.com"));
    assert!(rest.next_token().is_none());

    // Unknown principals, members and outsiders.
    let f = fail(org.mgmt.enable_aws_service_access().service_principal("nope.amazonaws.com").send().await);
    assert_eq!((f.code.as_str(), f.reason.as_deref()), ("InvalidInputException", Some("UNRECOGNIZED_SERVICE_PRINCIPAL")));
    assert!(f.message.contains("nope.amazonaws.com"), "{}", f.message);
    expect_err(org.mgmt.disable_aws_service_access().service_principal("nope.amazonaws.com").send().await, "InvalidInputException", Some("UNRECOGNIZED_SERVICE_PRINCIPAL"));
    let member = org.client(&org.create_account("Member").await);
    expect_err(member.enable_aws_service_access().service_principal(SSO).send().await, "AccessDeniedException", None);
    expect_err(member.list_aws_service_access_for_organization().send().await, "AccessDeniedException", None);
    expect_err(org.client(OUTSIDER).list_aws_service_access_for_organization().send().await, "AWSOrganizationsNotInUseException", None);

    // Disable; disabling what is not enabled succeeds too.
    org.mgmt.disable_aws_service_access().service_principal(SSO).send().await.unwrap();
    org.mgmt.disable_aws_service_access().service_principal(SSO).send().await.unwrap();
    assert_eq!(enabled_services(&org.mgmt).await, [CONFIG, "ram.amazonaws.com"]);

    // A service that owns an enabled policy type keeps its access.
    enable_access(&org, "securityhub.amazonaws.com").await;
    org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::SecurityhubPolicy).send().await.unwrap();
    expect_err(
        org.mgmt.disable_aws_service_access().service_principal("securityhub.amazonaws.com").send().await,
        "ConstraintViolationException",
        Some("POLICY_TYPE_ENABLED_FOR_THIS_SERVICE"),
    );
    org.mgmt.disable_policy_type().root_id(&org.root_id).policy_type(PolicyType::SecurityhubPolicy).send().await.unwrap();
    org.mgmt.disable_aws_service_access().service_principal("securityhub.amazonaws.com").send().await.unwrap();
}

#[tokio::test]
async fn consolidated_billing_organizations_have_no_trusted_access() {
    let server = canopy_server::testing::TestServer::start().await;
    let mgmt = client_for(&server.endpoint, MGMT);
    mgmt.create_organization().feature_set(OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
    expect_err(mgmt.enable_aws_service_access().service_principal(SSO).send().await, "ConstraintViolationException", Some("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"));
    expect_err(
        mgmt.register_delegated_administrator().account_id("222222222222").service_principal(SSO).send().await,
        "ConstraintViolationException",
        Some("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"),
    );
    expect_err(mgmt.put_resource_policy().content(grant("")).send().await, "ConstraintViolationException", Some("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"));
}

#[tokio::test]
async fn delegated_administrator_rules() {
    let org = Org::new().await;
    let a = org.create_account("Admin A").await;
    let b = org.create_account("Admin B").await;
    let closed = org.create_account("Closed").await;

    let reg = |account: &str, service: &str| {
        org.mgmt.register_delegated_administrator().account_id(account).service_principal(service).send()
    };
    expect_err(reg(&a, SSO).await, "ConstraintViolationException", Some("SERVICE_ACCESS_NOT_ENABLED"));
    enable_access(&org, SSO).await;
    expect_err(reg(MGMT, SSO).await, "ConstraintViolationException", Some("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"));
    expect_err(reg("123456789012", SSO).await, "AccountNotFoundException", None);
    expect_err(reg(&a, "nope.amazonaws.com").await, "InvalidInputException", Some("UNRECOGNIZED_SERVICE_PRINCIPAL"));
    // A recognized service without delegated administrators.
    enable_access(&org, "ram.amazonaws.com").await;
    expect_err(reg(&a, "ram.amazonaws.com").await, "InvalidInputException", Some("UNRECOGNIZED_SERVICE_PRINCIPAL"));
    org.mgmt.close_account().account_id(&closed).send().await.unwrap();
    expect_err(reg(&closed, SSO).await, "ConstraintViolationException", Some("CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR"));

    register(&org, &a, SSO).await;
    expect_err(reg(&a, SSO).await, "AccountAlreadyRegisteredException", None);
    // IAM Identity Center admits one delegated administrator, AWS Config three.
    expect_err(reg(&b, SSO).await, "ConstraintViolationException", Some("MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED"));
    enable_access(&org, CONFIG).await;
    register(&org, &b, CONFIG).await;
    register(&org, &a, CONFIG).await;

    // Lists: by service in registration order; without a filter, each account once.
    assert_eq!(admins(&org.mgmt, Some(CONFIG)).await, [b.clone(), a.clone()]);
    assert_eq!(admins(&org.mgmt, Some(SSO)).await, [a.as_str()]);
    assert_eq!(admins(&org.mgmt, None).await, [a.clone(), b.clone()]);
    let out = org.mgmt.list_delegated_administrators().service_principal(SSO).send().await.unwrap();
    let d = &out.delegated_administrators()[0];
    assert_eq!(d.arn(), Some(org.account_arn(&a).as_str()));
    assert_eq!(d.name(), Some("Admin A"));
    assert_eq!(d.email(), Some("admin-a@example.org"));
    assert!(d.delegation_enabled_date().is_some() && d.joined_timestamp().is_some() && d.status().is_some() && d.state().is_some());
    let page = org.mgmt.list_delegated_administrators().max_results(1).send().await.unwrap();
    assert_eq!(page.delegated_administrators().len(), 1);
    assert!(page.next_token().is_some());
    expect_err(
        org.mgmt.list_delegated_administrators().service_principal("nope.amazonaws.com").send().await,
        "InvalidInputException",
        Some("UNRECOGNIZED_SERVICE_PRINCIPAL"),
    );

    let services = org.mgmt.list_delegated_services_for_account().account_id(&a).send().await.unwrap();
    let names: Vec<_> = services.delegated_services().iter().map(|s| s.service_principal().unwrap()).collect();
    assert_eq!(names, [SSO, CONFIG]);
    assert!(services.delegated_services()[0].delegation_enabled_date().is_some());
    expect_err(org.mgmt.list_delegated_services_for_account().account_id(&closed).send().await, "AccountNotRegisteredException", None);
    expect_err(org.mgmt.list_delegated_services_for_account().account_id("123456789012").send().await, "AccountNotFoundException", None);

    // Deregister.
    let dereg = |account: &str, service: &str| {
        org.mgmt.deregister_delegated_administrator().account_id(account).service_principal(service).send()
    };
    expect_err(dereg(&b, SSO).await, "AccountNotRegisteredException", None);
    expect_err(dereg("123456789012", SSO).await, "AccountNotFoundException", None);
    expect_err(dereg(&a, "nope.amazonaws.com").await, "InvalidInputException", Some("UNRECOGNIZED_SERVICE_PRINCIPAL"));
    expect_err(org.client(&a).deregister_delegated_administrator().account_id(&a).service_principal(SSO).send().await, "AccessDeniedException", None);
    dereg(&a, SSO).await.unwrap();
    assert!(admins(&org.mgmt, Some(SSO)).await.is_empty());
    register(&org, &b, SSO).await;

    // Disabling trusted access deregisters the service's administrators.
    org.mgmt.disable_aws_service_access().service_principal(CONFIG).send().await.unwrap();
    assert!(admins(&org.mgmt, Some(CONFIG)).await.is_empty());
    assert_eq!(admins(&org.mgmt, None).await, [b.as_str()]);
    expect_err(org.mgmt.list_delegated_services_for_account().account_id(&a).send().await, "AccountNotRegisteredException", None);
}

#[tokio::test]
async fn a_service_delegated_administrator_reads_but_does_not_write() {
    let org = Org::new().await;
    let admin_id = org.create_account("Admin").await;
    let plain_id = org.create_account("Plain").await;
    enable_access(&org, SSO).await;
    register(&org, &admin_id, SSO).await;
    let admin = org.client(&admin_id);
    let plain = org.client(&plain_id);

    // Reads of the organization.
    let accounts = admin.list_accounts().send().await.unwrap();
    assert_eq!(accounts.accounts().len(), 3);
    admin.describe_account().account_id(&plain_id).send().await.unwrap();
    admin.describe_organization().send().await.unwrap();
    assert_eq!(admin.list_roots().send().await.unwrap().roots()[0].id(), Some(org.root_id.as_str()));
    admin.list_children().parent_id(&org.root_id).child_type(aws_sdk_organizations::types::ChildType::Account).send().await.unwrap();
    admin.list_policies().filter(PolicyType::ServiceControlPolicy).send().await.unwrap();
    admin.describe_policy().policy_id("p-FullAWSAccess").send().await.unwrap();
    admin.list_tags_for_resource().resource_id(&plain_id).send().await.unwrap();
    assert_eq!(admins(&admin, None).await, [admin_id.as_str()]);
    assert_eq!(enabled_services(&admin).await, [SSO]);
    admin.list_delegated_services_for_account().account_id(&admin_id).send().await.unwrap();
    // The plain member reads none of it.
    expect_err(plain.list_accounts().send().await, "AccessDeniedException", None);
    expect_err(plain.list_delegated_administrators().send().await, "AccessDeniedException", None);
    expect_err(plain.list_policies().filter(PolicyType::ServiceControlPolicy).send().await, "AccessDeniedException", None);

    // No writes.
    expect_err(admin.create_organizational_unit().parent_id(&org.root_id).name("X").send().await, "AccessDeniedException", None);
    expect_err(admin.create_account().account_name("X").email("x@example.org").send().await, "AccessDeniedException", None);
    expect_err(
        admin.create_policy().name("n").description("d").content(TAG_DOC).r#type(PolicyType::TagPolicy).send().await,
        "AccessDeniedException",
        None,
    );
    expect_err(admin.tag_resource().resource_id(&plain_id).tags(tag("k", "v")).send().await, "AccessDeniedException", None);
    expect_err(admin.enable_aws_service_access().service_principal(CONFIG).send().await, "AccessDeniedException", None);
    expect_err(admin.register_delegated_administrator().account_id(&plain_id).service_principal(SSO).send().await, "AccessDeniedException", None);
    expect_err(admin.put_resource_policy().content(grant("")).send().await, "AccessDeniedException", None);
}

#[tokio::test]
async fn a_delegated_administrator_cannot_leave_or_be_removed() {
    let org = Org::new().await;
    let admin_id = org.create_account("Admin").await;
    let other_id = org.create_account("Other").await;
    enable_access(&org, SSO).await;
    enable_access(&org, CONFIG).await;
    register(&org, &admin_id, SSO).await;
    register(&org, &other_id, CONFIG).await;
    expect_err(
        org.mgmt.remove_account_from_organization().account_id(&admin_id).send().await,
        "ConstraintViolationException",
        Some("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG"),
    );
    expect_err(org.client(&other_id).leave_organization().send().await, "ConstraintViolationException", Some("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG"));
    // Still members.
    org.mgmt.describe_account().account_id(&admin_id).send().await.unwrap();
    org.mgmt.deregister_delegated_administrator().account_id(&admin_id).service_principal(SSO).send().await.unwrap();
    org.mgmt.remove_account_from_organization().account_id(&admin_id).send().await.unwrap();
    org.mgmt.deregister_delegated_administrator().account_id(&other_id).service_principal(CONFIG).send().await.unwrap();
    org.client(&other_id).leave_organization().send().await.unwrap();
}

#[tokio::test]
async fn resource_policy_put_describe_delete() {
    let org = Org::new().await;
    let member_id = org.create_account("Member").await;
    expect_err(org.mgmt.describe_resource_policy().send().await, "ResourcePolicyNotFoundException", None);
    expect_err(org.mgmt.delete_resource_policy().send().await, "ResourcePolicyNotFoundException", None);

    let first = grant(&format!(r#"{{"Sid":"Read","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{member_id}:root"}},"Action":["organizations:Describe*","organizations:List*"],"Resource":"*"}}"#));
    let out = org.mgmt.put_resource_policy().content(&first).tags(tag("team", "platform")).send().await.unwrap();
    let policy = out.resource_policy().unwrap();
    let summary = policy.resource_policy_summary().unwrap();
    let id = summary.id().unwrap().to_string();
    assert!(id.strip_prefix("rp-").is_some_and(|r| r.len() == 8 && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())), "{id}");
    assert_eq!(summary.arn(), Some(format!("arn:aws:organizations::{MGMT}:resourcepolicy/{}/{id}", org.org_id).as_str()));
    assert_eq!(policy.content(), Some(first.as_str()));
    let tags = org.mgmt.list_tags_for_resource().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("team", "platform")]);

    // Replacing keeps the id; tags only on the creating call.
    let second = grant(&format!(r#"{{"Effect":"Allow","Principal":{{"AWS":"{member_id}"}},"Action":"organizations:DescribeOrganization","Resource":"*"}}"#));
    let f = fail(org.mgmt.put_resource_policy().content(&second).tags(tag("k", "v")).send().await);
    assert_eq!(f.code, "InvalidInputException");
    assert!(f.message.contains("UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED"), "{}", f.message);
    let out = org.mgmt.put_resource_policy().content(&second).send().await.unwrap();
    assert_eq!(out.resource_policy().unwrap().resource_policy_summary().unwrap().id(), Some(id.as_str()));
    let described = org.mgmt.describe_resource_policy().send().await.unwrap();
    assert_eq!(described.resource_policy().unwrap().content(), Some(second.as_str()));
    // Tag operations reach the resource policy.
    org.mgmt.tag_resource().resource_id(&id).tags(tag("env", "prod")).send().await.unwrap();
    org.mgmt.untag_resource().resource_id(&id).tag_keys("team").send().await.unwrap();
    let tags = org.mgmt.list_tags_for_resource().resource_id(&id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| t.key()).collect::<Vec<_>>(), ["env"]);

    // Refused documents: the model's reasons, naming the element.
    let bad = [
        ("{not json", "INVALID_RESOURCE_POLICY_JSON", ""),
        (r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"organizations:ListRoots","Resource":"*"}]}"#, "INVALID_RESOURCE_POLICY_JSON", "Statement[0].Effect"),
        (r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"organizations:ListRoots","Resource":"*"}]}"#, "INVALID_PRINCIPAL", "Statement[0].Principal.AWS"),
        (r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"organizations:CreateAccount","Resource":"*"}]}"#, "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY", "Statement[0].Action"),
        (r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"organizations:ListRoots","Resource":"arn:aws:s3:::b"}]}"#, "UNSUPPORTED_RESOURCE_IN_RESOURCE_POLICY", "Statement[0].Resource"),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"organizations:CreatePolicy","Resource":"*","Condition":{"StringEquals":{"organizations:PolicyType":"NOT_A_TYPE"}}}]}"#,
            "UNSUPPORTED_POLICY_TYPE_IN_RESOURCE_POLICY",
            "organizations:PolicyType",
        ),
    ];
    for (doc, reason, path) in bad {
        let f = fail(org.mgmt.put_resource_policy().content(doc).send().await);
        assert_eq!((f.code.as_str(), f.reason.as_deref()), ("InvalidInputException", Some(reason)), "{doc}");
        assert!(f.message.contains(path), "{doc}: {}", f.message);
    }
    // Over 40,000 characters: refused by the model's length constraint.
    let huge = format!("{{\"Version\":\"2012-10-17\",\"Id\":\"{}\",\"Statement\":[]}}", "x".repeat(40_000));
    expect_err_or_client_rejection(org.mgmt.put_resource_policy().content(huge).send().await, "InvalidInputException", Some("MAX_LENGTH_EXCEEDED"));
    // The stored policy is untouched by refusals.
    let described = org.mgmt.describe_resource_policy().send().await.unwrap();
    assert_eq!(described.resource_policy().unwrap().content(), Some(second.as_str()));

    // Only the management account writes it; the policy's own grant lets the member read it.
    let member = org.client(&member_id);
    expect_err(member.put_resource_policy().content(&first).send().await, "AccessDeniedException", None);
    expect_err(member.delete_resource_policy().send().await, "AccessDeniedException", None);
    expect_err(member.describe_resource_policy().send().await, "AccessDeniedException", None);
    org.mgmt.put_resource_policy().content(&first).send().await.unwrap();
    member.describe_resource_policy().send().await.unwrap();

    org.mgmt.delete_resource_policy().send().await.unwrap();
    expect_err(org.mgmt.describe_resource_policy().send().await, "ResourcePolicyNotFoundException", None);
    expect_err(org.mgmt.list_tags_for_resource().resource_id(&id).send().await, "TargetNotFoundException", None);
    // A new one gets a new id.
    let out = org.mgmt.put_resource_policy().content(&first).send().await.unwrap();
    assert_ne!(out.resource_policy().unwrap().resource_policy_summary().unwrap().id(), Some(id.as_str()));
}

#[tokio::test]
async fn a_resource_policy_grant_lets_a_member_manage_one_policy_type() {
    let org = Org::new().await;
    let delegate_id = org.create_account("Delegate").await;
    let other_id = org.create_account("Other").await;
    let ou = org.create_ou(&org.root_id, "Apps").await;
    for t in [PolicyType::TagPolicy, PolicyType::BackupPolicy] {
        org.mgmt.enable_policy_type().root_id(&org.root_id).policy_type(t).send().await.unwrap();
    }
    let doc = grant(&format!(
        r#"{{"Sid":"TagPolicies","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{delegate_id}:root"}},
            "Action":["organizations:CreatePolicy","organizations:UpdatePolicy","organizations:AttachPolicy","organizations:DetachPolicy","organizations:DescribePolicy","organizations:ListPolicies"],
            "Resource":"*",
            "Condition":{{"StringEquals":{{"organizations:PolicyType":"TAG_POLICY"}}}}}}"#
    ));
    org.mgmt.put_resource_policy().content(doc).send().await.unwrap();
    let delegate = org.client(&delegate_id);
    let other = org.client(&other_id);

    // The granted type.
    let created = delegate.create_policy().name("cost").description("").content(TAG_DOC).r#type(PolicyType::TagPolicy).send().await.unwrap();
    let tag_policy = created.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
    delegate.attach_policy().policy_id(&tag_policy).target_id(&ou).send().await.unwrap();
    let attached = org.mgmt.list_policies_for_target().target_id(&ou).filter(PolicyType::TagPolicy).send().await.unwrap();
    assert_eq!(attached.policies()[0].id(), Some(tag_policy.as_str()));
    delegate.update_policy().policy_id(&tag_policy).description("cost centers").send().await.unwrap();
    delegate.describe_policy().policy_id(&tag_policy).send().await.unwrap();
    let listed = delegate.list_policies().filter(PolicyType::TagPolicy).send().await.unwrap();
    assert_eq!(listed.policies().len(), 1);
    delegate.detach_policy().policy_id(&tag_policy).target_id(&ou).send().await.unwrap();

    // Another type, an action the policy does not grant, or another member: refused.
    expect_err(
        delegate.create_policy().name("b").description("").content(BACKUP_DOC).r#type(PolicyType::BackupPolicy).send().await,
        "AccessDeniedException",
        None,
    );
    expect_err(delegate.list_policies().filter(PolicyType::BackupPolicy).send().await, "AccessDeniedException", None);
    expect_err(delegate.delete_policy().policy_id(&tag_policy).send().await, "AccessDeniedException", None);
    expect_err(
        delegate.enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::ChatbotPolicy).send().await,
        "AccessDeniedException",
        None,
    );
    expect_err(delegate.tag_resource().resource_id(&tag_policy).tags(tag("k", "v")).send().await, "AccessDeniedException", None);
    expect_err(delegate.create_organizational_unit().parent_id(&org.root_id).name("X").send().await, "AccessDeniedException", None);
    expect_err(delegate.list_accounts().send().await, "AccessDeniedException", None);
    expect_err(
        other.create_policy().name("o").description("").content(TAG_DOC).r#type(PolicyType::TagPolicy).send().await,
        "AccessDeniedException",
        None,
    );
    // An SCP-type policy of the management account stays out of reach.
    let scp = org
        .mgmt
        .create_policy()
        .name("deny")
        .description("")
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#)
        .r#type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let scp_id = scp.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
    expect_err(delegate.attach_policy().policy_id(&scp_id).target_id(&ou).send().await, "AccessDeniedException", None);

    // Without the policy, nothing.
    org.mgmt.delete_resource_policy().send().await.unwrap();
    expect_err(delegate.describe_policy().policy_id(&tag_policy).send().await, "AccessDeniedException", None);
}

#[tokio::test]
async fn a_resource_policy_grant_opens_the_organization_reads_it_names() {
    let org = Org::new().await;
    let reader_id = org.create_account("Reader").await;
    let other_id = org.create_account("Other").await;
    let ou = org.create_ou(&org.root_id, "Apps").await;
    let doc = grant(&format!(
        r#"{{"Sid":"Inventory","Effect":"Allow","Principal":{{"AWS":"{reader_id}"}},
            "Action":["organizations:ListAccounts","organizations:DescribeOrganizationalUnit","organizations:ListChildren"],
            "Resource":"*"}}"#
    ));
    let reader = org.client(&reader_id);
    // Before the grant a plain member reads nothing.
    expect_err(reader.list_accounts().send().await, "AccessDeniedException", None);
    org.mgmt.put_resource_policy().content(doc).send().await.unwrap();

    let accounts = reader.list_accounts().send().await.unwrap();
    let mut ids: Vec<_> = accounts.accounts().iter().map(|a| a.id().unwrap().to_string()).collect();
    ids.sort();
    let mut expected = vec![MGMT.to_string(), reader_id.clone(), other_id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let described = reader.describe_organizational_unit().organizational_unit_id(&ou).send().await.unwrap();
    assert_eq!(described.organizational_unit().unwrap().name(), Some("Apps"));
    let children = reader.list_children().parent_id(&org.root_id).child_type(aws_sdk_organizations::types::ChildType::OrganizationalUnit).send().await.unwrap();
    assert_eq!(children.children()[0].id(), Some(ou.as_str()));

    // Reads it does not name, writes, and other members stay refused.
    expect_err(reader.list_roots().send().await, "AccessDeniedException", None);
    expect_err(reader.describe_account().account_id(&other_id).send().await, "AccessDeniedException", None);
    expect_err(reader.create_organizational_unit().parent_id(&org.root_id).name("X").send().await, "AccessDeniedException", None);
    expect_err(org.client(&other_id).list_accounts().send().await, "AccessDeniedException", None);

    // A Deny statement for the same action wins over the Allow.
    let with_deny = grant(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{reader_id}"}},"Action":"organizations:List*","Resource":"*"}},
           {{"Effect":"Deny","Principal":{{"AWS":"{reader_id}"}},"Action":"organizations:ListAccounts","Resource":"*"}}"#
    ));
    org.mgmt.put_resource_policy().content(with_deny).send().await.unwrap();
    expect_err(reader.list_accounts().send().await, "AccessDeniedException", None);
    reader.list_roots().send().await.unwrap();
}

#[tokio::test]
async fn a_resource_policy_naming_one_role_grants_that_role_alone() {
    let org = Org::new().await;
    let member_id = org.create_account("Member").await;
    let member = org.client(&member_id);
    // Naming a role of the account grants that role's sessions, not the account's root user
    // (dev auth's caller).
    let doc = grant(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{member_id}:role/OnlyThisRole"}},
            "Action":"organizations:ListAccounts","Resource":"*"}}"#
    ));
    org.mgmt.put_resource_policy().content(doc).send().await.unwrap();
    expect_err(member.list_accounts().send().await, "AccessDeniedException", None);
    // Naming the account (or its root) grants every principal of it.
    let doc = grant(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{member_id}:root"}},
            "Action":"organizations:ListAccounts","Resource":"*"}}"#
    ));
    org.mgmt.put_resource_policy().content(doc).send().await.unwrap();
    member.list_accounts().send().await.unwrap();
}

#[tokio::test]
async fn a_resource_policy_principal_of_another_partition_is_invalid() {
    let server = canopy_server::testing::TestServer::start().await;
    let mgmt = client_in_region(&server.endpoint, MGMT, "cn-north-1");
    mgmt.create_organization().send().await.unwrap();
    let doc = grant(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"organizations:ListAccounts","Resource":"*"}"#);
    expect_err(mgmt.put_resource_policy().content(doc).send().await, "InvalidInputException", Some("INVALID_PRINCIPAL"));
    let doc = grant(r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws-cn:iam::222222222222:root"},"Action":"organizations:ListAccounts","Resource":"*"}"#);
    mgmt.put_resource_policy().content(doc).send().await.unwrap();
}

#[tokio::test]
async fn a_closed_administrator_counts_until_purged() {
    use std::sync::Arc;
    use canopy_core::{CoreConfig, ManualClock};
    let clock = Arc::new(ManualClock::new(1_767_225_600_000)); // 2026-01-01
    let server = canopy_server::testing::TestServer::start_with_clock(CoreConfig::default(), clock.clone(), canopy_server::ServerConfig::default()).await;
    let org = Org::with_server(server).await;
    let first = org.create_account("First").await;
    let second = org.create_account("Second").await;
    enable_access(&org, SSO).await;
    register(&org, &first, SSO).await;
    org.mgmt.close_account().account_id(&first).send().await.unwrap();
    // Closed (SUSPENDED) but still in the organization: still the administrator, still counted.
    assert_eq!(admins(&org.mgmt, Some(SSO)).await, [first.as_str()]);
    expect_err(
        org.mgmt.register_delegated_administrator().account_id(&second).service_principal(SSO).send().await,
        "ConstraintViolationException",
        Some("MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED"),
    );
    // Purged after the retention period: gone from the list, and the place is free.
    clock.advance_ms(91 * 24 * 3600 * 1000);
    assert!(admins(&org.mgmt, Some(SSO)).await.is_empty());
    // Not even as an empty page with a token.
    let page = org.mgmt.list_delegated_administrators().max_results(1).send().await.unwrap();
    assert!(page.delegated_administrators().is_empty() && page.next_token().is_none(), "{page:?}");
    register(&org, &second, SSO).await;
    assert_eq!(admins(&org.mgmt, None).await, [second.as_str()]);
    let page = org.mgmt.list_delegated_administrators().max_results(1).send().await.unwrap();
    assert_eq!(page.delegated_administrators().len(), 1);
    assert!(page.next_token().is_none(), "{page:?}");
}

/// `canopy serve`'s flags: `--service-principal NAME[=N]` adds a principal with its cap,
/// `--no-default-service-principals` drops the defaults, and
/// `--enforce-policy-service-access=false` lifts the trusted-access requirement of EnablePolicyType.
#[tokio::test]
async fn serve_flags_shape_the_service_principals() {
    let bin = canopy_binary();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let within = std::time::Duration::from_secs(60);
    let serve = spawn_serve(
        &bin,
        std::ffi::OsStr::new("memory"),
        &["--service-principal", "custom.example.com=2", "--no-default-service-principals", "--enforce-policy-service-access=false"],
        &log,
        within,
    )
    .await;
    let mgmt = client_for(&serve.endpoint, MGMT);
    mgmt.create_organization().send().await.unwrap();
    let root = mgmt.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    expect_err(mgmt.enable_aws_service_access().service_principal(SSO).send().await, "InvalidInputException", Some("UNRECOGNIZED_SERVICE_PRINCIPAL"));
    mgmt.enable_aws_service_access().service_principal("custom.example.com").send().await.unwrap();
    let mut accounts = Vec::new();
    for name in ["One", "Two", "Three"] {
        accounts.push(create_account_with(&mgmt, name, &format!("{}@example.org", name.to_lowercase())).await);
    }
    for a in &accounts[..2] {
        mgmt.register_delegated_administrator().account_id(a).service_principal("custom.example.com").send().await.unwrap();
    }
    expect_err(
        mgmt.register_delegated_administrator().account_id(&accounts[2]).service_principal("custom.example.com").send().await,
        "ConstraintViolationException",
        Some("MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED"),
    );
    mgmt.enable_policy_type().root_id(&root).policy_type(PolicyType::InspectorPolicy).send().await.unwrap();

    // A malformed principal is refused at start.
    let out = std::process::Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", "memory", "--service-principal", "bad principal!=1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--service-principal"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_closed_delegated_administrator_keeps_no_rights() {
    let org = Org::new().await;
    let admin = org.create_account("Admin").await;
    enable_access(&org, CONFIG).await;
    register(&org, &admin, CONFIG).await;
    let as_admin = org.client(&admin);
    assert!(as_admin.list_accounts().send().await.is_ok());
    org.mgmt.close_account().account_id(&admin).send().await.unwrap();
    // Suspended: its delegated reads are refused with the rest.
    expect_err(as_admin.list_accounts().send().await, "AccessDeniedException", None);
    expect_err(as_admin.describe_organization().send().await, "AccessDeniedException", None);
}
