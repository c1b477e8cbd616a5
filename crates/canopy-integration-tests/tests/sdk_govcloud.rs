//! The official AWS SDK for Rust against Canopy: CreateGovCloudAccount (the commercial account
//! with CreateAccount's rules, its GovCloud (US) pair, GovCloudAccountId in the statuses, tags on
//! the commercial account, the GovCloud-enabled rule, partitions, closure of the pair).

mod common;

use aws_sdk_organizations::types::{AccountState, CreateAccountFailureReason, CreateAccountState};
use canopy_core::{CoreConfig, OpError};
use canopy_server::testing::TestServer;
use common::*;

const GOV_REGION: &str = "us-gov-west-1";

/// Runs CreateGovCloudAccount and waits for its status to succeed; returns (commercial, GovCloud) ids.
async fn create_pair(org: &Org, name: &str, email: &str) -> (String, String) {
    let out = org.mgmt.create_gov_cloud_account().account_name(name).email(email).send().await.expect("CreateGovCloudAccount");
    let request_id = out.create_account_status().and_then(|s| s.id()).expect("request id").to_string();
    let account_id = wait_for_account(&org.mgmt, &request_id).await;
    let status = org.mgmt.describe_create_account_status().create_account_request_id(&request_id).send().await.unwrap();
    let gov = status.create_account_status().and_then(|s| s.gov_cloud_account_id()).expect("GovCloudAccountId on SUCCEEDED").to_string();
    (account_id, gov)
}

/// The stored account `id` of `partition`, read straight from the server's store.
async fn stored_account(server: &TestServer, partition: &'static str, id: String) -> Option<canopy_core::AccountRecord> {
    let out = server
        .canopy
        .store()
        .read(Box::new(move |tx| tx.account_get(partition, &id).map(|a| Box::new(a) as _).map_err(OpError::from)))
        .await
        .expect("store read");
    *out.downcast::<Option<canopy_core::AccountRecord>>().expect("account record")
}

#[tokio::test]
async fn create_gov_cloud_account_pairs_a_govcloud_account() {
    let org = Org::new().await;
    let out = org
        .mgmt
        .create_gov_cloud_account()
        .account_name("Gov Workloads")
        .email("gov@example.org")
        .tags(tag("env", "gov"))
        .send()
        .await
        .unwrap();
    let status = out.create_account_status().unwrap();
    let request_id = status.id().unwrap().to_string();
    assert!(is_car_id(&request_id), "request id {request_id}");
    assert_eq!(status.state(), Some(&CreateAccountState::InProgress), "the call answers IN_PROGRESS");
    assert_eq!(status.account_name(), Some("Gov Workloads"));
    assert!(status.account_id().is_none() && status.gov_cloud_account_id().is_none(), "no ids before success");

    let described = org.mgmt.describe_create_account_status().create_account_request_id(&request_id).send().await.unwrap();
    let done = described.create_account_status().unwrap();
    assert_eq!(done.state(), Some(&CreateAccountState::Succeeded));
    let account_id = done.account_id().expect("AccountId").to_string();
    let gov_id = done.gov_cloud_account_id().expect("GovCloudAccountId").to_string();
    assert!(is_account_id(&account_id) && is_account_id(&gov_id), "{account_id} / {gov_id}");
    assert_ne!(account_id, gov_id, "the GovCloud account has its own id");

    // ListCreateAccountStatus reports the pair too; a plain CreateAccount has no GovCloud id.
    let plain = org.create_account("Plain").await;
    let listed = org.mgmt.list_create_account_status().send().await.unwrap();
    let statuses = listed.create_account_statuses();
    let gov_status = statuses.iter().find(|s| s.id() == Some(request_id.as_str())).expect("listed");
    assert_eq!(gov_status.gov_cloud_account_id(), Some(gov_id.as_str()));
    let plain_status = statuses.iter().find(|s| s.account_id() == Some(plain.as_str())).expect("plain listed");
    assert_eq!(plain_status.gov_cloud_account_id(), None);

    // The commercial account is an ordinary member, with the request's tags.
    let account = org.mgmt.describe_account().account_id(&account_id).send().await.unwrap();
    let account = account.account().unwrap();
    assert_eq!(account.name(), Some("Gov Workloads"));
    assert_eq!(account.email(), Some("gov@example.org"));
    assert_eq!(account.arn(), Some(org.account_arn(&account_id).as_str()));
    let tags = org.mgmt.list_tags_for_resource().resource_id(&account_id).send().await.unwrap();
    assert_eq!(tags.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("env", "gov")]);
    // The GovCloud account is not a member of the commercial organization.
    expect_err(org.mgmt.describe_account().account_id(&gov_id).send().await, "AccountNotFoundException", None);
    let commercial_ids: Vec<String> =
        org.mgmt.list_accounts().send().await.unwrap().accounts().iter().filter_map(|a| a.id().map(str::to_string)).collect();
    assert!(commercial_ids.contains(&account_id) && !commercial_ids.contains(&gov_id), "{commercial_ids:?}");

    // It is a standalone account of aws-us-gov, with the same name and email: signing for a
    // GovCloud region as that account, it can found a GovCloud organization of its own.
    let stored = stored_account(&org.server, "aws-us-gov", gov_id.clone()).await.expect("GovCloud account stored");
    assert_eq!((stored.name.as_str(), stored.email.as_str(), stored.org_id.as_deref()), ("Gov Workloads", "gov@example.org", None));
    let gov_client = client_in_region(&org.server.endpoint, &gov_id, GOV_REGION);
    let gov_org = gov_client.create_organization().send().await.unwrap();
    let gov_org = gov_org.organization().unwrap();
    assert_eq!(gov_org.master_account_email(), Some("gov@example.org"));
    assert!(gov_org.arn().unwrap().starts_with(&format!("arn:aws-us-gov:organizations::{gov_id}:organization/")), "{:?}", gov_org.arn());
}

#[tokio::test]
async fn business_failures_are_reported_in_the_status() {
    let org = Org::new().await;
    create_pair(&org, "First", "first@example.org").await;

    // The commercial email is taken: EMAIL_ALREADY_EXISTS, as for CreateAccount.
    let out = org.mgmt.create_gov_cloud_account().account_name("Again").email("FIRST@example.org").send().await.unwrap();
    let id = out.create_account_status().unwrap().id().unwrap().to_string();
    let status = org.mgmt.describe_create_account_status().create_account_request_id(&id).send().await.unwrap();
    let status = status.create_account_status().unwrap();
    assert_eq!(status.state(), Some(&CreateAccountState::Failed));
    assert_eq!(status.failure_reason(), Some(&CreateAccountFailureReason::EmailAlreadyExists));
    assert!(status.account_id().is_none() && status.gov_cloud_account_id().is_none());

    // An aws-us-gov account already has the email (a standalone GovCloud account, with the
    // address Canopy gives it on first use): the request fails with GOVCLOUD_ACCOUNT_ALREADY_EXISTS
    // and no commercial account is made.
    let gov_mgmt = client_in_region(&org.server.endpoint, "222222222222", GOV_REGION);
    gov_mgmt.create_organization().send().await.unwrap();
    let out = org.mgmt.create_gov_cloud_account().account_name("Gov Only").email("account-222222222222@example.com").send().await.unwrap();
    let id = out.create_account_status().unwrap().id().unwrap().to_string();
    let status = org.mgmt.describe_create_account_status().create_account_request_id(&id).send().await.unwrap();
    let status = status.create_account_status().unwrap();
    assert_eq!(status.state(), Some(&CreateAccountState::Failed));
    assert_eq!(status.failure_reason(), Some(&CreateAccountFailureReason::GovcloudAccountAlreadyExists));
    let emails: Vec<String> =
        org.mgmt.list_accounts().send().await.unwrap().accounts().iter().filter_map(|a| a.email().map(str::to_string)).collect();
    assert!(!emails.contains(&"account-222222222222@example.com".to_string()), "{emails:?}");

    // CreateAccount itself does not exist in the GovCloud (US) Regions.
    expect_err(
        gov_mgmt.create_account().account_name("Gov").email("gov@example.org").send().await,
        "UnsupportedAPIEndpointException",
        None,
    );
}

#[tokio::test]
async fn govcloud_enabled_rule_is_configurable() {
    // No management account enabled: refused before anything is written.
    let org = Org::with_config(CoreConfig { govcloud_enabled_accounts: Some(vec![]), ..CoreConfig::default() }).await;
    expect_err(
        org.mgmt.create_gov_cloud_account().account_name("X").email("x@example.org").send().await,
        "ConstraintViolationException",
        Some("MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED"),
    );
    assert!(org.mgmt.list_create_account_status().send().await.unwrap().create_account_statuses().is_empty());

    // Listed: allowed; another management account still refused.
    let org = Org::with_config(CoreConfig { govcloud_enabled_accounts: Some(vec![MGMT.to_string()]), ..CoreConfig::default() }).await;
    create_pair(&org, "Listed", "listed@example.org").await;
    let other = org.client("333333333333");
    other.create_organization().send().await.unwrap();
    expect_err(
        other.create_gov_cloud_account().account_name("Y").email("y@example.org").send().await,
        "ConstraintViolationException",
        Some("MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED"),
    );
}

#[tokio::test]
async fn callers_and_partitions() {
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    expect_err(
        org.client(&member).create_gov_cloud_account().account_name("X").email("x@example.org").send().await,
        "AccessDeniedException",
        None,
    );
    expect_err(
        org.client(OUTSIDER).create_gov_cloud_account().account_name("X").email("x@example.org").send().await,
        "AWSOrganizationsNotInUseException",
        None,
    );
    // A GovCloud (or China) organization has no such operation.
    let gov = client_in_region(&org.server.endpoint, "444444444444", GOV_REGION);
    gov.create_organization().send().await.unwrap();
    expect_err(gov.create_gov_cloud_account().account_name("X").email("x@example.org").send().await, "UnsupportedAPIEndpointException", None);
    let cn = client_in_region(&org.server.endpoint, "555555555555", "cn-north-1");
    expect_err(cn.create_gov_cloud_account().account_name("X").email("x@example.org").send().await, "UnsupportedAPIEndpointException", None);
}

#[tokio::test]
async fn create_account_rules_apply() {
    let org = Org::with_config(CoreConfig { max_accounts: 2, ..CoreConfig::default() }).await;
    expect_err(
        org.mgmt.create_gov_cloud_account().account_name("X").email("x@example.org").role_name("AWSServiceRoleForX").send().await,
        "InvalidInputException",
        Some("INVALID_ROLE_NAME"),
    );
    expect_err(
        org.mgmt.create_gov_cloud_account().account_name("X").email("x@example.org").tags(tag("aws:x", "1")).send().await,
        "InvalidInputException",
        Some("INVALID_SYSTEM_TAGS_PARAMETER"),
    );
    create_pair(&org, "One", "one@example.org").await;
    // The pair counts once (the commercial account) toward the organization's quota of 2.
    expect_err(
        org.mgmt.create_gov_cloud_account().account_name("Two").email("two@example.org").send().await,
        "ConstraintViolationException",
        Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"),
    );
}

#[tokio::test]
async fn closing_the_commercial_account_closes_its_govcloud_account() {
    let org = Org::new().await;
    let (account_id, gov_id) = create_pair(&org, "Closing", "closing@example.org").await;
    let (other_id, other_gov) = create_pair(&org, "Staying", "staying@example.org").await;
    org.mgmt.close_account().account_id(&account_id).send().await.unwrap();
    let account = org.mgmt.describe_account().account_id(&account_id).send().await.unwrap();
    assert_eq!(account.account().unwrap().state(), Some(&AccountState::Closed));
    let gov = stored_account(&org.server, "aws-us-gov", gov_id).await.expect("GovCloud account");
    assert!(gov.close_requested_ms.is_some(), "the GovCloud pair is closed with it: {gov:?}");
    // The other pair is untouched.
    let staying = stored_account(&org.server, "aws-us-gov", other_gov).await.expect("other GovCloud account");
    assert_eq!(staying.close_requested_ms, None);
    let other = org.mgmt.describe_account().account_id(&other_id).send().await.unwrap();
    assert_eq!(other.account().unwrap().state(), Some(&AccountState::Active));
}
