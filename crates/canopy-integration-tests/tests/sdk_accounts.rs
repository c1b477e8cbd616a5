//! The official AWS SDK for Rust against Canopy: accounts (CreateAccount and its status,
//! Describe/ListAccounts, ListAccountsForParent, MoveAccount, CloseAccount,
//! RemoveAccountFromOrganization) and pagination.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::operation::close_account::CloseAccountError;
use aws_sdk_organizations::operation::create_account::CreateAccountError;
use aws_sdk_organizations::operation::list_accounts::ListAccountsError;
use aws_sdk_organizations::types::{
    AccountJoinedMethod, ChildType, AccountState, AccountStatus, ConstraintViolationExceptionReason,
    CreateAccountFailureReason, CreateAccountState, InvalidInputExceptionReason,
    OrganizationFeatureSet,
};
use canopy_core::CoreConfig;
use canopy_server::testing::TestServer;
use common::*;

#[tokio::test]
async fn create_account_and_status() {
    let org = Org::new().await;
    let out = org
        .mgmt
        .create_account()
        .account_name("Prod Workloads")
        .email("prod@example.org")
        .send()
        .await
        .unwrap();
    let status = out.create_account_status().unwrap();
    let request_id = status.id().unwrap().to_string();
    assert!(is_car_id(&request_id), "request id {request_id}");
    assert_eq!(status.state(), Some(&CreateAccountState::InProgress), "the call answers IN_PROGRESS");
    assert_eq!(status.account_name(), Some("Prod Workloads"));
    assert!(status.requested_timestamp().is_some());
    assert!(status.account_id().is_none(), "no AccountId before success");
    assert!(status.failure_reason().is_none());

    let described = org.mgmt.describe_create_account_status().create_account_request_id(&request_id).send().await.unwrap();
    let done = described.create_account_status().unwrap();
    assert_eq!(done.id(), Some(request_id.as_str()));
    assert_eq!(done.state(), Some(&CreateAccountState::Succeeded));
    let account_id = done.account_id().expect("AccountId on SUCCEEDED").to_string();
    assert!(is_account_id(&account_id));
    assert_ne!(account_id, MGMT);
    assert!(done.completed_timestamp().is_some());
    assert!(done.requested_timestamp().is_some());
    assert!(done.completed_timestamp().unwrap() >= done.requested_timestamp().unwrap());
    assert!(done.failure_reason().is_none());

    let account = org.mgmt.describe_account().account_id(&account_id).send().await.unwrap();
    let account = account.account().unwrap();
    assert_eq!(account.id(), Some(account_id.as_str()));
    assert_eq!(account.arn(), Some(org.account_arn(&account_id).as_str()), "ARN carries the management account id");
    assert_eq!(account.name(), Some("Prod Workloads"));
    assert_eq!(account.email(), Some("prod@example.org"));
    assert_eq!(account.status(), Some(&AccountStatus::Active));
    assert_eq!(account.state(), Some(&AccountState::Active));
    assert_eq!(account.joined_method(), Some(&AccountJoinedMethod::Created));
    assert!(account.joined_timestamp().is_some());
    assert_eq!(account.paths(), [format!("{}/{}/{account_id}/", org.org_id, org.root_id)]);
}

#[tokio::test]
async fn create_account_with_tags_and_role_name() {
    let org = Org::new().await;
    let out = org
        .mgmt
        .create_account()
        .account_name("Tagged")
        .email("tagged@example.org")
        .role_name("MyAdminRole")
        .iam_user_access_to_billing(aws_sdk_organizations::types::IamUserAccessToBilling::Deny)
        .tags(tag("env", "prod"))
        .tags(tag("cost-center", ""))
        .send()
        .await
        .unwrap();
    let id = wait_for_account(&org.mgmt, out.create_account_status().unwrap().id().unwrap()).await;
    let tags = org.mgmt.list_tags_for_resource().resource_id(&id).send().await.unwrap();
    let got: BTreeSet<_> = tags.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    assert_eq!(got, BTreeSet::from([("env".into(), "prod".into()), ("cost-center".into(), "".into())]));
}

#[tokio::test]
async fn create_account_invalid_input() {
    let org = Org::new().await;
    // Reserved role-name prefix.
    let r = org.mgmt.create_account().account_name("X").email("x@example.org").role_name("AWSServiceRoleForSupport").send().await;
    let err = expect_err(r, "InvalidInputException", Some("INVALID_ROLE_NAME"));
    match err {
        CreateAccountError::InvalidInputException(e) => assert_eq!(e.reason(), Some(&InvalidInputExceptionReason::InvalidRoleName)),
        other => panic!("{other:?}"),
    }
    // Role name outside the pattern.
    let r = org.mgmt.create_account().account_name("X").email("x@example.org").role_name("bad role!").send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_PATTERN"));
    // Invalid email.
    let r = org.mgmt.create_account().account_name("X").email("not-an-email").send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_PATTERN"));
    // Name too long (creation caps at 50).
    let r = org.mgmt.create_account().account_name("n".repeat(51)).email("x@example.org").send().await;
    expect_err(r, "InvalidInputException", Some("MAX_LENGTH_EXCEEDED"));
    // Invalid tags fail the whole request.
    let r = org.mgmt.create_account().account_name("X").email("x@example.org").tags(tag("aws:owner", "me")).send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_SYSTEM_TAGS_PARAMETER"));
    let r = org.mgmt.create_account().account_name("X").email("x@example.org").tags(tag("k", "1")).tags(tag("k", "2")).send().await;
    expect_err(r, "InvalidInputException", Some("DUPLICATE_TAG_KEY"));
    // None of these created anything.
    let statuses = org.mgmt.list_create_account_status().send().await.unwrap();
    assert!(statuses.create_account_statuses().is_empty(), "{statuses:?}");
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 1);
}

#[tokio::test]
async fn duplicate_email_fails_in_the_status() {
    let org = Org::new().await;
    org.create_account("First").await; // first@example.org
    let out = org.mgmt.create_account().account_name("Second").email("first@example.org").send().await.expect("the call itself succeeds");
    let status = out.create_account_status().unwrap();
    assert_eq!(status.state(), Some(&CreateAccountState::InProgress));
    let d = org.mgmt.describe_create_account_status().create_account_request_id(status.id().unwrap()).send().await.unwrap();
    let d = d.create_account_status().unwrap();
    assert_eq!(d.state(), Some(&CreateAccountState::Failed));
    assert_eq!(d.failure_reason(), Some(&CreateAccountFailureReason::EmailAlreadyExists));
    assert!(d.account_id().is_none());
    assert!(d.completed_timestamp().is_some());
    // No second account appeared.
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 2);
}

#[tokio::test]
async fn describe_create_account_status_not_found() {
    let org = Org::new().await;
    let r = org.mgmt.describe_create_account_status().create_account_request_id("car-0123456789abcdef").send().await;
    expect_err(r, "CreateAccountStatusNotFoundException", None);
    let r = org.mgmt.describe_create_account_status().create_account_request_id("car-X").send().await;
    let f = fail(r);
    assert_eq!(f.code, "InvalidInputException", "{f:?}");
}

#[tokio::test]
async fn email_outside_the_documented_rules_fails_in_the_status() {
    let org = Org::new().await;
    // Each passes the model's pattern but breaks one of CreateAccount's documented email rules.
    for email in [".lead@example.com", "a;b@example.com", "ab@-example.com", "ab@exa_mple.com", "ab@example.com."] {
        let out = org.mgmt.create_account().account_name("Odd").email(email).send().await.expect("the call itself succeeds");
        let id = out.create_account_status().unwrap().id().unwrap().to_string();
        let d = org.mgmt.describe_create_account_status().create_account_request_id(&id).send().await.unwrap();
        let d = d.create_account_status().unwrap();
        assert_eq!((d.state(), d.failure_reason()), (Some(&CreateAccountState::Failed), Some(&CreateAccountFailureReason::InvalidEmail)), "{email}");
        assert!(d.account_id().is_none(), "{email}");
    }
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 1, "no account was made");
}

#[tokio::test]
async fn list_create_account_status_with_states_filter() {
    let org = Org::new().await;
    let ok1 = org.create_account("Ok One").await;
    let ok2 = org.create_account("Ok Two").await;
    let failed = org.mgmt.create_account().account_name("Dup").email("ok-one@example.org").send().await.unwrap();
    let failed_id = failed.create_account_status().unwrap().id().unwrap().to_string();

    let all = org.mgmt.list_create_account_status().send().await.unwrap();
    assert_eq!(all.create_account_statuses().len(), 3);
    assert!(all.next_token().is_none());

    let succeeded = org.mgmt.list_create_account_status().states(CreateAccountState::Succeeded).send().await.unwrap();
    let ids: BTreeSet<_> = succeeded.create_account_statuses().iter().map(|s| s.account_id().unwrap().to_string()).collect();
    assert_eq!(ids, BTreeSet::from([ok1, ok2]));
    assert!(succeeded.create_account_statuses().iter().all(|s| s.state() == Some(&CreateAccountState::Succeeded)));

    let failed_list = org.mgmt.list_create_account_status().states(CreateAccountState::Failed).send().await.unwrap();
    let f = failed_list.create_account_statuses();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].id(), Some(failed_id.as_str()));
    assert_eq!(f[0].failure_reason(), Some(&CreateAccountFailureReason::EmailAlreadyExists));

    let in_progress = org.mgmt.list_create_account_status().states(CreateAccountState::InProgress).send().await.unwrap();
    assert!(in_progress.create_account_statuses().is_empty());

    let both = org
        .mgmt
        .list_create_account_status()
        .states(CreateAccountState::Succeeded)
        .states(CreateAccountState::Failed)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(both.iter().map(|p| p.create_account_statuses().len()).sum::<usize>(), 3);
}

#[tokio::test]
async fn account_creation_delay_shows_in_progress_first() {
    let config = CoreConfig { account_creation_delay_ms: 1500, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let out = org.mgmt.create_account().account_name("Slow").email("slow@example.org").send().await.unwrap();
    let request_id = out.create_account_status().unwrap().id().unwrap().to_string();
    let d = org.mgmt.describe_create_account_status().create_account_request_id(&request_id).send().await.unwrap();
    let s = d.create_account_status().unwrap();
    assert_eq!(s.state(), Some(&CreateAccountState::InProgress));
    assert!(s.account_id().is_none() && s.completed_timestamp().is_none());
    let listed = org.mgmt.list_create_account_status().states(CreateAccountState::InProgress).send().await.unwrap();
    assert_eq!(listed.create_account_statuses().len(), 1);
    // Not an account of the organization yet.
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 1);
    assert_eq!(root_account_children(&org).await, vec![MGMT.to_string()]);

    let id = wait_for_account(&org.mgmt, &request_id).await;
    let accounts = org.mgmt.list_accounts().send().await.unwrap();
    assert!(accounts.accounts().iter().any(|a| a.id() == Some(id.as_str())));
    assert_eq!(root_account_children(&org).await, vec![MGMT.to_string(), id]);
}

/// The ids ListChildren gives for the accounts directly under the root, in its order.
async fn root_account_children(org: &Org) -> Vec<String> {
    let out = org.mgmt.list_children().parent_id(&org.root_id).child_type(aws_sdk_organizations::types::ChildType::Account).send().await.unwrap();
    out.children().iter().filter_map(|c| c.id().map(str::to_string)).collect()
}

#[tokio::test]
async fn account_quota() {
    let config = CoreConfig { max_accounts: 3, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    org.create_account("One").await;
    org.create_account("Two").await;
    let r = org.mgmt.create_account().account_name("Three").email("three@example.org").send().await;
    let err = expect_err(r, "ConstraintViolationException", Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"));
    match err {
        CreateAccountError::ConstraintViolationException(c) => {
            assert_eq!(c.reason(), Some(&ConstraintViolationExceptionReason::AccountNumberLimitExceeded))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 3);
}

#[tokio::test]
async fn purged_accounts_leave_the_account_quota() {
    // No retention after closure: a closed account is purged (gone from the organization) at once.
    let config = CoreConfig { max_accounts: 3, closed_account_retention_ms: 0, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let one = org.create_account("One").await;
    org.create_account("Two").await;
    expect_err(
        org.mgmt.create_account().account_name("Three").email("three@example.org").send().await,
        "ConstraintViolationException",
        Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"),
    );
    org.mgmt.close_account().account_id(&one).send().await.unwrap();
    let listed: Vec<String> =
        org.mgmt.list_accounts().send().await.unwrap().accounts().iter().filter_map(|a| a.id().map(str::to_string)).collect();
    assert!(!listed.contains(&one), "a purged account is not listed: {listed:?}");
    assert!(!root_account_children(&org).await.contains(&one), "nor is it a child of the root");
    let three = org.create_account("Three").await;
    assert_eq!(org.mgmt.list_accounts().send().await.unwrap().accounts().len(), 3, "management, Two and {three}");
}

#[tokio::test]
async fn describe_account_not_found() {
    let org = Org::new().await;
    expect_err(org.mgmt.describe_account().account_id("000000000000").send().await, "AccountNotFoundException", None);
    // An account that exists elsewhere (another organization) is not found either.
    let other = client_for(&org.server.endpoint, "222222222222");
    other.create_organization().send().await.unwrap();
    expect_err(org.mgmt.describe_account().account_id("222222222222").send().await, "AccountNotFoundException", None);
    let f = fail(org.mgmt.describe_account().account_id("12345").send().await);
    assert_eq!((f.code.as_str(), f.reason.as_deref()), ("InvalidInputException", Some("INVALID_PATTERN")), "{f:?}");
}

#[tokio::test]
async fn list_accounts_pagination_45_accounts() {
    let org = Org::new().await;
    let mut expected = BTreeSet::from([MGMT.to_string()]);
    for i in 0..44 {
        expected.insert(org.create_account(&format!("Account {i:02}")).await);
    }
    assert_eq!(expected.len(), 45);

    let mut seen = BTreeSet::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = org.mgmt.list_accounts().max_results(20).set_next_token(token.clone()).send().await.unwrap();
        sizes.push(out.accounts().len());
        for a in out.accounts() {
            let id = a.id().unwrap().to_string();
            assert!(is_account_id(&id));
            assert_eq!(a.arn(), Some(org.account_arn(&id).as_str()));
            assert_eq!(a.status(), Some(&AccountStatus::Active));
            assert_eq!(a.state(), Some(&AccountState::Active));
            assert!(a.joined_timestamp().is_some() && a.joined_method().is_some());
            assert!(a.email().is_some() && a.name().is_some());
            assert_eq!(a.paths(), [format!("{}/{}/{id}/", org.org_id, org.root_id)]);
            assert!(seen.insert(id), "account listed twice");
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, vec![20, 20, 5], "pages of 20/20/5, no token after the last");
    assert_eq!(seen, expected, "includes the management account, nothing missing");

    // No MaxResults: pages of at most 20; the paginator collects everything.
    let first = org.mgmt.list_accounts().send().await.unwrap();
    assert!(first.accounts().len() <= 20 && first.next_token().is_some());
    let pages = org.mgmt.list_accounts().into_paginator().send().try_collect().await.unwrap();
    let all: Vec<_> = pages.iter().flat_map(|p| p.accounts()).collect();
    assert_eq!(all.iter().map(|a| a.id().unwrap().to_string()).collect::<BTreeSet<_>>(), expected);
    assert_eq!(all.len(), 45);
    let pages = org.mgmt.list_accounts().max_results(7).into_paginator().send().try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.accounts().len()).collect::<Vec<_>>(), vec![7, 7, 7, 7, 7, 7, 3]);
}

#[tokio::test]
async fn list_accounts_invalid_paging_input() {
    let org = Org::new().await;
    let r = org.mgmt.list_accounts().max_results(21).send().await;
    let err = expect_err(r, "InvalidInputException", Some("MAX_VALUE_EXCEEDED"));
    match err {
        ListAccountsError::InvalidInputException(e) => assert_eq!(e.reason(), Some(&InvalidInputExceptionReason::MaxValueExceeded)),
        other => panic!("{other:?}"),
    }
    let r = org.mgmt.list_accounts().max_results(0).send().await;
    expect_err_or_client_rejection(r, "InvalidInputException", Some("MIN_VALUE_EXCEEDED"));
    let raw = raw_call(&org.server, MGMT, "ListAccounts", r#"{"MaxResults":0}"#).await;
    assert_eq!((raw.body["__type"].as_str(), raw.body["Reason"].as_str()), (Some("InvalidInputException"), Some("MIN_VALUE_EXCEEDED")), "{}", raw.body);
    let r = org.mgmt.list_accounts().next_token("garbage-token").send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));
    // MaxResults applies to the other lists too.
    let r = org.mgmt.list_accounts_for_parent().parent_id(&org.root_id).max_results(25).send().await;
    expect_err(r, "InvalidInputException", Some("MAX_VALUE_EXCEEDED"));
    let r = org.mgmt.list_roots().next_token("garbage-token").send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));
}

#[tokio::test]
async fn list_accounts_for_parent() {
    let org = Org::new().await;
    let ou = org.create_ou(&org.root_id, "Apps").await;
    let a = org.create_account("Alpha").await;
    let b = org.create_account("Beta").await;
    let c = org.create_account("Gamma").await;
    for id in [&b, &c] {
        org.mgmt.move_account().account_id(id).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.unwrap();
    }
    let ids = |out: &[aws_sdk_organizations::types::Account]| out.iter().map(|a| a.id().unwrap().to_string()).collect::<BTreeSet<_>>();
    let at_root = org.mgmt.list_accounts_for_parent().parent_id(&org.root_id).send().await.unwrap();
    assert_eq!(ids(at_root.accounts()), BTreeSet::from([MGMT.to_string(), a.clone()]));
    let in_ou = org.mgmt.list_accounts_for_parent().parent_id(&ou).send().await.unwrap();
    assert_eq!(ids(in_ou.accounts()), BTreeSet::from([b.clone(), c.clone()]));
    for acct in in_ou.accounts() {
        assert_eq!(acct.paths(), [format!("{}/{}/{ou}/{}/", org.org_id, org.root_id, acct.id().unwrap())]);
    }
    // Paginated, 1 per page.
    let p1 = org.mgmt.list_accounts_for_parent().parent_id(&ou).max_results(1).send().await.unwrap();
    assert_eq!(p1.accounts().len(), 1);
    let p2 = org.mgmt.list_accounts_for_parent().parent_id(&ou).max_results(1).next_token(p1.next_token().unwrap()).send().await.unwrap();
    assert_eq!(p2.accounts().len(), 1);
    assert!(p2.next_token().is_none());
    assert_ne!(p1.accounts()[0].id(), p2.accounts()[0].id());
    // A ListAccountsForParent token is not a ListAccounts token.
    let r = org.mgmt.list_accounts().next_token(p1.next_token().unwrap()).send().await;
    expect_err(r, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));

    let r = org.mgmt.list_accounts_for_parent().parent_id(format!("ou-{}-zzzzzzzz", org.root_id.trim_start_matches("r-"))).send().await;
    expect_err(r, "ParentNotFoundException", None);
}

#[tokio::test]
async fn move_account_and_its_errors() {
    let org = Org::new().await;
    let ou1 = org.create_ou(&org.root_id, "One").await;
    let ou2 = org.create_ou(&org.root_id, "Two").await;
    let account = org.create_account("Mover").await;
    let missing_ou = format!("ou-{}-zzzzzzzz", org.root_id.trim_start_matches("r-"));

    org.mgmt.move_account().account_id(&account).source_parent_id(&org.root_id).destination_parent_id(&ou1).send().await.expect("MoveAccount");
    let d = org.mgmt.describe_account().account_id(&account).send().await.unwrap();
    assert_eq!(d.account().unwrap().paths(), [format!("{}/{}/{ou1}/{account}/", org.org_id, org.root_id)]);
    let parents = org.mgmt.list_parents().child_id(&account).send().await.unwrap();
    assert_eq!(parents.parents()[0].id(), Some(ou1.as_str()));

    let mv = |src: &str, dst: &str, acct: &str| {
        org.mgmt.move_account().account_id(acct).source_parent_id(src).destination_parent_id(dst).send()
    };
    expect_err(mv(&missing_ou, &ou2, &account).await, "SourceParentNotFoundException", None);
    expect_err(mv(&ou1, &missing_ou, &account).await, "DestinationParentNotFoundException", None);
    expect_err(mv(&ou1, &ou1, &account).await, "DuplicateAccountException", None);
    // Wrong source: the account is in ou1, not the root.
    expect_err(mv(&org.root_id, &ou2, &account).await, "AccountNotFoundException", None);
    // Unknown account.
    expect_err(mv(&org.root_id, &ou2, "000000000000").await, "AccountNotFoundException", None);
    // The account did not move.
    let d = org.mgmt.describe_account().account_id(&account).send().await.unwrap();
    assert_eq!(d.account().unwrap().paths(), [format!("{}/{}/{ou1}/{account}/", org.org_id, org.root_id)]);

    // OU to OU, then the management account into an OU and back.
    mv(&ou1, &ou2, &account).await.expect("OU to OU");
    mv(&org.root_id, &ou2, MGMT).await.expect("the management account can move too");
    let in_ou2 = org.mgmt.list_accounts_for_parent().parent_id(&ou2).send().await.unwrap();
    assert_eq!(in_ou2.accounts().len(), 2);
    mv(&ou2, &org.root_id, MGMT).await.unwrap();
}

#[tokio::test]
async fn close_account() {
    let org = Org::new().await;
    let account = org.create_account("Closing").await;

    let r = org.mgmt.close_account().account_id(MGMT).send().await;
    let err = expect_err(r, "ConstraintViolationException", Some("CANNOT_CLOSE_MANAGEMENT_ACCOUNT"));
    assert!(matches!(err, CloseAccountError::ConstraintViolationException(_)));

    org.mgmt.close_account().account_id(&account).send().await.expect("CloseAccount");
    let d = org.mgmt.describe_account().account_id(&account).send().await.unwrap();
    let a = d.account().unwrap();
    assert_eq!(a.status(), Some(&AccountStatus::Suspended));
    assert_eq!(a.state(), Some(&AccountState::Closed));
    // Still listed (90-day window), with the closed state.
    let all = org.mgmt.list_accounts().send().await.unwrap();
    let listed = all.accounts().iter().find(|x| x.id() == Some(account.as_str())).expect("closed account still listed");
    assert_eq!(listed.state(), Some(&AccountState::Closed));
    assert_eq!(listed.status(), Some(&AccountStatus::Suspended));

    let err = expect_err(org.mgmt.close_account().account_id(&account).send().await, "AccountAlreadyClosedException", None);
    assert!(matches!(err, CloseAccountError::AccountAlreadyClosedException(_)));
    expect_err(org.mgmt.close_account().account_id("000000000000").send().await, "AccountNotFoundException", None);
    // A closed account cannot be removed (it leaves by itself after the post-closure period).
    let f = fail(org.mgmt.remove_account_from_organization().account_id(&account).send().await);
    assert_eq!(f.code, "ConstraintViolationException", "{f:?}");
}

#[tokio::test]
async fn close_account_requires_all_features() {
    let server = TestServer::start().await;
    let mgmt = client_for(&server.endpoint, MGMT);
    mgmt.create_organization().feature_set(OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
    let account = create_account_with(&mgmt, "CB Member", "cb@example.org").await;
    let r = mgmt.close_account().account_id(&account).send().await;
    expect_err(r, "ConstraintViolationException", Some("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"));
    let d = mgmt.describe_account().account_id(&account).send().await.unwrap();
    assert_eq!(d.account().unwrap().state(), Some(&AccountState::Active));
}

#[tokio::test]
async fn close_account_with_delay_is_pending_closure_first() {
    let config = CoreConfig { account_closure_delay_ms: 1500, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let account = org.create_account("Slow Close").await;
    org.mgmt.close_account().account_id(&account).send().await.unwrap();
    let d = org.mgmt.describe_account().account_id(&account).send().await.unwrap();
    assert_eq!(d.account().unwrap().status(), Some(&AccountStatus::PendingClosure));
    assert_eq!(d.account().unwrap().state(), Some(&AccountState::PendingClosure));
    // Closing again while pending: ConflictException (Canopy's choice) or AccountAlreadyClosed.
    let f = fail(org.mgmt.close_account().account_id(&account).send().await);
    assert!(
        f.code == "ConflictException" || f.code == "AccountAlreadyClosedException",
        "second close while pending: {f:?}"
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let d = org.mgmt.describe_account().account_id(&account).send().await.unwrap();
    assert_eq!(d.account().unwrap().status(), Some(&AccountStatus::Suspended));
    assert_eq!(d.account().unwrap().state(), Some(&AccountState::Closed));
}

#[tokio::test]
async fn remove_account_from_organization() {
    let org = Org::new().await;
    let account = org.create_account("Leaver").await;
    org.mgmt.tag_resource().resource_id(&account).tags(tag("owner", "team-a")).send().await.unwrap();

    expect_err(
        org.mgmt.remove_account_from_organization().account_id(MGMT).send().await,
        "MasterCannotLeaveOrganizationException",
        None,
    );
    org.mgmt.remove_account_from_organization().account_id(&account).send().await.expect("RemoveAccountFromOrganization");

    expect_err(org.mgmt.describe_account().account_id(&account).send().await, "AccountNotFoundException", None);
    expect_err(org.mgmt.list_tags_for_resource().resource_id(&account).send().await, "TargetNotFoundException", None);
    let all = org.mgmt.list_accounts().send().await.unwrap();
    assert!(all.accounts().iter().all(|a| a.id() != Some(account.as_str())));
    let children = org.mgmt.list_children().parent_id(&org.root_id).child_type(aws_sdk_organizations::types::ChildType::Account).send().await.unwrap();
    assert_eq!(children.children().len(), 1);
    expect_err(org.mgmt.remove_account_from_organization().account_id(&account).send().await, "AccountNotFoundException", None);
    // The removed account is standalone now.
    expect_err(org.client(&account).describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
}

#[tokio::test]
async fn leave_organization() {
    let config = CoreConfig { min_account_age_for_removal_ms: 0, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let leaver = org.create_account("Self Leaver").await;
    let stayer = org.create_account("Stayer").await;
    org.mgmt.tag_resource().resource_id(&leaver).tags(tag("owner", "team-a")).send().await.unwrap();

    // The management account can't leave; an account outside any organization has nothing to leave.
    expect_err(org.mgmt.leave_organization().send().await, "MasterCannotLeaveOrganizationException", None);
    expect_err(org.client(OUTSIDER).leave_organization().send().await, "AWSOrganizationsNotInUseException", None);

    // An SCP on the member can deny leaving (organizations:LeaveOrganization).
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;
    let p = org
        .mgmt
        .create_policy()
        .name("StayPut")
        .description("no leaving")
        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .content(deny)
        .send()
        .await
        .unwrap();
    let policy_id = p.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
    org.mgmt.attach_policy().policy_id(&policy_id).target_id(&stayer).send().await.unwrap();
    let f = fail(org.client(&stayer).leave_organization().send().await);
    assert_eq!(f.code, "AccessDeniedException", "{f:?}");
    assert!(f.message.contains("organizations:LeaveOrganization with an explicit deny in a service control policy"), "{f:?}");
    org.mgmt.describe_account().account_id(&stayer).send().await.expect("still a member");

    // The member leaves: gone from the organization, its tags and attachments with it.
    org.client(&leaver).leave_organization().send().await.expect("LeaveOrganization");
    expect_err(org.mgmt.describe_account().account_id(&leaver).send().await, "AccountNotFoundException", None);
    expect_err(org.client(&leaver).describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(org.client(&leaver).leave_organization().send().await, "AWSOrganizationsNotInUseException", None);
    let listed = org.mgmt.list_accounts().send().await.unwrap();
    assert!(listed.accounts().iter().all(|a| a.id() != Some(leaver.as_str())));
    // It may found its own organization, with no tags left over.
    let own = org.client(&leaver);
    own.create_organization().send().await.unwrap();
    assert!(own.list_tags_for_resource().resource_id(&leaver).send().await.unwrap().tags().is_empty());
}

#[tokio::test]
async fn leave_organization_wait_period() {
    let config = CoreConfig { min_account_age_for_removal_ms: canopy_core::config::DAY_MS, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let account = org.create_account("Too Young To Leave").await;
    expect_err(org.client(&account).leave_organization().send().await, "ConstraintViolationException", Some("WAIT_PERIOD_ACTIVE"));
    org.mgmt.describe_account().account_id(&account).send().await.expect("still a member");
}

#[tokio::test]
async fn remove_account_tags_are_gone_for_good() {
    // Tags are deleted with the membership: the account, made the management account of a new
    // organization, has no tags.
    let org = Org::new().await;
    let account = org.create_account("Tagged Leaver").await;
    org.mgmt.tag_resource().resource_id(&account).tags(tag("owner", "team-a")).send().await.unwrap();
    org.mgmt.remove_account_from_organization().account_id(&account).send().await.unwrap();
    let own = org.client(&account);
    own.create_organization().send().await.unwrap();
    let tags = own.list_tags_for_resource().resource_id(&account).send().await.unwrap();
    assert!(tags.tags().is_empty(), "{:?}", tags.tags());
}

#[tokio::test]
async fn remove_account_wait_period() {
    let config = CoreConfig { min_account_age_for_removal_ms: canopy_core::config::DAY_MS, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let account = org.create_account("Too Young").await;
    let r = org.mgmt.remove_account_from_organization().account_id(&account).send().await;
    expect_err(r, "ConstraintViolationException", Some("WAIT_PERIOD_ACTIVE"));
    org.mgmt.describe_account().account_id(&account).send().await.expect("still a member");
}

#[tokio::test]
async fn duplicate_email_is_case_insensitive() {
    let org = Org::new().await;
    org.create_account("Mixed").await; // mixed@example.org
    let out = org.mgmt.create_account().account_name("Upper").email("MIXED@Example.org").send().await.unwrap();
    let d = org.mgmt.describe_create_account_status().create_account_request_id(out.create_account_status().unwrap().id().unwrap()).send().await.unwrap();
    assert_eq!(d.create_account_status().unwrap().failure_reason(), Some(&CreateAccountFailureReason::EmailAlreadyExists));
}

/// An AWS account's email is unique across AWS, not only within one organization. Canopy checks
/// within the organization only; this documents the gap (api-facts is silent on the scope).
#[tokio::test]
async fn duplicate_email_across_organizations() {
    let org = Org::new().await;
    org.create_account("Shared").await; // shared@example.org
    let other = org.client("222222222222");
    other.create_organization().send().await.unwrap();
    let out = other.create_account().account_name("Shared Too").email("shared@example.org").send().await.unwrap();
    let d = other.describe_create_account_status().create_account_request_id(out.create_account_status().unwrap().id().unwrap()).send().await.unwrap();
    assert_eq!(d.create_account_status().unwrap().failure_reason(), Some(&CreateAccountFailureReason::EmailAlreadyExists));
}

#[tokio::test]
async fn the_legacy_status_is_left_out_when_asked() {
    let config = CoreConfig { account_status_field: false, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let id = org.create_account("NoStatus").await;
    let d = org.mgmt.describe_account().account_id(&id).send().await.unwrap();
    let a = d.account().unwrap();
    assert_eq!((a.state(), a.status()), (Some(&AccountState::Active), None));
    let listed = org.mgmt.list_accounts().send().await.unwrap();
    assert_eq!(listed.accounts().len(), 2);
    assert!(listed.accounts().iter().all(|a| a.status().is_none() && a.state() == Some(&AccountState::Active)));
    let under_root = org.mgmt.list_accounts_for_parent().parent_id(&org.root_id).send().await.unwrap();
    assert!(under_root.accounts().iter().all(|a| a.status().is_none() && a.state().is_some()));

    // By default both are there.
    let org = Org::new().await;
    let id = org.create_account("WithStatus").await;
    let d = org.mgmt.describe_account().account_id(&id).send().await.unwrap();
    let a = d.account().unwrap();
    assert_eq!((a.state(), a.status()), (Some(&AccountState::Active), Some(&AccountStatus::Active)));
}

#[tokio::test]
async fn a_closed_account_calls_nothing_and_a_purged_one_is_in_no_organization() {
    // No retention after closure: a closed account is purged at once.
    let config = CoreConfig { closed_account_retention_ms: 0, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let gone = org.create_account("Gone").await;
    let member = org.client(&gone);
    assert_eq!(member.describe_organization().send().await.unwrap().organization().unwrap().id(), Some(org.org_id.as_str()));
    org.mgmt.close_account().account_id(&gone).send().await.unwrap();
    expect_err(member.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(member.leave_organization().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(org.mgmt.describe_account().account_id(&gone).send().await, "AccountNotFoundException", None);

    // Inside the retention window (90 days by default) the organization still lists the closed
    // account, but the account is suspended: it can call nothing.
    let org = Org::new().await;
    let closed = org.create_account("Closed").await;
    org.mgmt.close_account().account_id(&closed).send().await.unwrap();
    let member = org.client(&closed);
    let closed_message = format!("Account {closed} is closed or being closed: a closed account can't call AWS Organizations.");
    let e = member.describe_organization().send().await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Some("AccessDeniedException"), Some(closed_message.as_str())));
    expect_err(member.leave_organization().send().await, "AccessDeniedException", None);
    let d = org.mgmt.describe_account().account_id(&closed).send().await.unwrap();
    assert_eq!(d.account().unwrap().state(), Some(&AccountState::Closed));
}

#[tokio::test]
async fn an_ou_whose_accounts_were_purged_can_be_deleted() {
    // No retention after closure: a closed account is purged (has left) at once.
    let config = CoreConfig { closed_account_retention_ms: 0, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let ou = org.create_ou(&org.root_id, "Emptied").await;
    let gone = org.create_account("Gone").await;
    org.mgmt.move_account().account_id(&gone).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.unwrap();
    let stays = org.create_account("Stays").await;
    org.mgmt.move_account().account_id(&stays).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await.unwrap();
    org.mgmt.close_account().account_id(&gone).send().await.unwrap();
    // An account that has not left keeps the OU from being deleted.
    expect_err(
        org.mgmt.delete_organizational_unit().organizational_unit_id(&ou).send().await,
        "OrganizationalUnitNotEmptyException",
        None,
    );
    org.mgmt.move_account().account_id(&stays).source_parent_id(&ou).destination_parent_id(&org.root_id).send().await.unwrap();
    let left = org.mgmt.list_accounts_for_parent().parent_id(&ou).send().await.unwrap();
    assert!(left.accounts().is_empty(), "the purged account is not listed: {left:?}");
    org.mgmt.delete_organizational_unit().organizational_unit_id(&ou).send().await.unwrap();
    expect_err(
        org.mgmt.describe_organizational_unit().organizational_unit_id(&ou).send().await,
        "OrganizationalUnitNotFoundException",
        None,
    );
    // The organization's lists still work, and the purged account stays gone.
    let listed: Vec<String> =
        org.mgmt.list_accounts().send().await.unwrap().accounts().iter().filter_map(|a| a.id().map(str::to_string)).collect();
    assert!(listed.contains(&stays) && !listed.contains(&gone), "{listed:?}");
    assert!(!root_account_children(&org).await.contains(&gone));
    expect_err(org.mgmt.describe_account().account_id(&gone).send().await, "AccountNotFoundException", None);
}

#[tokio::test]
async fn pages_skip_hidden_accounts_and_filtered_statuses_instead_of_coming_back_empty() {
    // Purged at once after closure: purged accounts stay in the store but are never listed.
    let config = CoreConfig { closed_account_retention_ms: 0, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let mut kept = Vec::new();
    for i in 0..6 {
        let id = org.create_account(&format!("Acct{i}")).await;
        if i % 3 == 0 {
            kept.push(id);
        } else {
            org.mgmt.close_account().account_id(&id).send().await.unwrap();
        }
    }
    // Management account, Acct0, Acct3: one per page of 1, never an empty page with a token.
    let mut token: Option<String> = None;
    let mut listed = Vec::new();
    loop {
        let page = org.mgmt.list_accounts().max_results(1).set_next_token(token.clone()).send().await.unwrap();
        assert_eq!(page.accounts().len(), 1, "a page with a token is full: {page:?}");
        listed.extend(page.accounts().iter().filter_map(|a| a.id().map(str::to_string)));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, [vec![MGMT.to_string()], kept.clone()].concat());
    let mut token: Option<String> = None;
    let mut children = Vec::new();
    loop {
        let page = org.mgmt.list_children().parent_id(&org.root_id).child_type(ChildType::Account).max_results(1).set_next_token(token.clone()).send().await.unwrap();
        assert_eq!(page.children().len(), 1, "{page:?}");
        children.extend(page.children().iter().filter_map(|c| c.id().map(str::to_string)));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(children, listed);

    // No creation is in progress or failed: the filtered list is empty in one answer, with no token.
    let none = org
        .mgmt
        .list_create_account_status()
        .states(CreateAccountState::InProgress)
        .states(CreateAccountState::Failed)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert!(none.create_account_statuses().is_empty() && none.next_token().is_none(), "{none:?}");
    // The States filter is a set: a token made under one order continues the list under another.
    let first = org
        .mgmt
        .list_create_account_status()
        .states(CreateAccountState::Succeeded)
        .states(CreateAccountState::Failed)
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(first.create_account_statuses().len(), 4);
    let rest = org
        .mgmt
        .list_create_account_status()
        .states(CreateAccountState::Failed)
        .states(CreateAccountState::Succeeded)
        .states(CreateAccountState::Failed)
        .max_results(4)
        .set_next_token(first.next_token().map(str::to_string))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.create_account_statuses().len(), 2);
    assert!(rest.next_token().is_none());
}

/// An invitation of `account` from the organization `from` manages; returns the handshake id.
async fn invite_by_id(from: &aws_sdk_organizations::Client, account: &str) -> String {
    use aws_sdk_organizations::types::{HandshakeParty, HandshakePartyType};
    let target = HandshakeParty::builder().id(account).r#type(HandshakePartyType::Account).build().unwrap();
    let out = from.invite_account_to_organization().target(target).send().await.unwrap_or_else(|e| panic!("invite {account}: {e:?}"));
    out.handshake().and_then(|h| h.id()).expect("handshake id").to_string()
}

#[tokio::test]
async fn a_closed_account_stays_closed_when_its_organization_is_deleted() {
    let org = Org::new().await;
    let closed = org.create_account("Closed").await;
    org.mgmt.close_account().account_id(&closed).send().await.unwrap();
    org.mgmt.delete_organization().send().await.unwrap();
    let member = org.client(&closed);
    // It neither founds an organization nor joins one.
    expect_err(member.create_organization().send().await, "AccessDeniedException", None);
    let other = org.client("222222222222");
    other.create_organization().send().await.unwrap();
    let h = invite_by_id(&other, &closed).await;
    expect_err(member.accept_handshake().handshake_id(&h).send().await, "AccessDeniedException", None);
    expect_err(member.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    let listed = other.list_accounts().send().await.unwrap();
    assert_eq!(listed.accounts().len(), 1, "{listed:?}");

    // Purged after its closure, it is in no organization for an invitation either, and can't
    // accept one.
    let config = CoreConfig { closed_account_retention_ms: 0, ..CoreConfig::default() };
    let org = Org::with_config(config).await;
    let gone = org.create_account("Gone").await;
    org.mgmt.close_account().account_id(&gone).send().await.unwrap();
    let member = org.client(&gone);
    expect_err(member.create_organization().send().await, "AccessDeniedException", None);
    let other = org.client("222222222222");
    other.create_organization().send().await.unwrap();
    let h = invite_by_id(&other, &gone).await;
    expect_err(member.accept_handshake().handshake_id(&h).send().await, "AccessDeniedException", None);
}
