//! The official AWS SDK for Rust against Canopy: the organization lifecycle (Create / Describe /
//! Delete / ListRoots), who may call what, partitions, and operations that are not built yet.

mod common;

use aws_sdk_organizations::operation::create_organization::CreateOrganizationError;
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationError;
use aws_sdk_organizations::types::{AccountJoinedMethod, OrganizationFeatureSet, PolicyType, PolicyTypeStatus};
use canopy_server::testing::TestServer;
use common::*;

#[tokio::test]
async fn create_organization_all_features() {
    let server = TestServer::start().await;
    let mgmt = client_for(&server.endpoint, MGMT);
    let out = mgmt.create_organization().feature_set(OrganizationFeatureSet::All).send().await.unwrap();
    let org = out.organization().expect("Organization");
    let id = org.id().unwrap();
    assert_org_id(id);
    assert_eq!(org.arn(), Some(format!("arn:aws:organizations::{MGMT}:organization/{id}").as_str()));
    assert_eq!(org.feature_set(), Some(&OrganizationFeatureSet::All));
    assert_eq!(org.master_account_id(), Some(MGMT));
    assert_eq!(org.master_account_arn(), Some(format!("arn:aws:organizations::{MGMT}:account/{id}/{MGMT}").as_str()));
    assert_eq!(org.master_account_email(), Some(format!("account-{MGMT}@example.com").as_str()));
    let available = org.available_policy_types();
    assert_eq!(available.len(), 1, "AvailablePolicyTypes reports SCP only: {available:?}");
    assert_eq!(available[0].r#type(), Some(&PolicyType::ServiceControlPolicy));
    assert_eq!(available[0].status(), Some(&PolicyTypeStatus::Enabled));

    // Describe returns the same object.
    let described = mgmt.describe_organization().send().await.unwrap();
    assert_eq!(described.organization(), Some(org));

    // ListRoots: one root, SCP enabled on it.
    let roots = mgmt.list_roots().send().await.unwrap();
    assert_eq!(roots.roots().len(), 1);
    assert!(roots.next_token().is_none());
    let root = &roots.roots()[0];
    let root_id = root.id().unwrap();
    assert!(is_root_id(root_id), "root id {root_id}");
    assert_eq!(root.arn(), Some(format!("arn:aws:organizations::{MGMT}:root/{id}/{root_id}").as_str()));
    assert_eq!(root.name(), Some("Root"));
    let types: Vec<_> = root.policy_types().iter().map(|p| (p.r#type().cloned(), p.status().cloned())).collect();
    assert_eq!(types, vec![(Some(PolicyType::ServiceControlPolicy), Some(PolicyTypeStatus::Enabled))]);

    // The management account is an account of the organization.
    let me = mgmt.describe_account().account_id(MGMT).send().await.unwrap();
    let me = me.account().unwrap();
    assert_eq!(me.arn(), Some(format!("arn:aws:organizations::{MGMT}:account/{id}/{MGMT}").as_str()));
    assert_eq!(me.paths(), [format!("{id}/{root_id}/{MGMT}/")]);
    assert_eq!(me.joined_method(), Some(&AccountJoinedMethod::Invited), "AWS shows the management account as INVITED");
    assert!(me.joined_timestamp().is_some());
}

#[tokio::test]
async fn available_policy_types_follow_the_feature_set_not_the_root() {
    let server = TestServer::start().await;
    let mgmt = client_for(&server.endpoint, MGMT);
    mgmt.create_organization().send().await.unwrap();
    let root_id = mgmt.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    mgmt.disable_policy_type().root_id(&root_id).policy_type(PolicyType::ServiceControlPolicy).send().await.unwrap();
    let roots = mgmt.list_roots().send().await.unwrap();
    assert!(roots.roots()[0].policy_types().is_empty(), "the root has SCPs disabled: {roots:?}");
    // A type disabled in the root still appears enabled for an all-features organization
    // (DisablePolicyType's reference); the field only ever reports SCP.
    let org = mgmt.describe_organization().send().await.unwrap();
    let available: Vec<_> =
        org.organization().unwrap().available_policy_types().iter().map(|p| (p.r#type().cloned(), p.status().cloned())).collect();
    assert_eq!(available, vec![(Some(PolicyType::ServiceControlPolicy), Some(PolicyTypeStatus::Enabled))]);
}

#[tokio::test]
async fn create_organization_defaults_to_all_features() {
    let server = TestServer::start().await;
    let out = client_for(&server.endpoint, MGMT).create_organization().send().await.unwrap();
    assert_eq!(out.organization().unwrap().feature_set(), Some(&OrganizationFeatureSet::All));
}

#[tokio::test]
async fn create_organization_consolidated_billing() {
    let server = TestServer::start().await;
    let mgmt = client_for(&server.endpoint, MGMT);
    let out = mgmt.create_organization().feature_set(OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
    let org = out.organization().unwrap();
    assert_org_id(org.id().unwrap());
    assert_eq!(org.feature_set(), Some(&OrganizationFeatureSet::ConsolidatedBilling));
    assert!(org.available_policy_types().is_empty(), "CB org reports no policy types: {:?}", org.available_policy_types());
    let roots = mgmt.list_roots().send().await.unwrap();
    assert!(roots.roots()[0].policy_types().is_empty(), "no policy type enabled in a CB org");
    let described = mgmt.describe_organization().send().await.unwrap();
    assert_eq!(described.organization().unwrap().feature_set(), Some(&OrganizationFeatureSet::ConsolidatedBilling));
}

#[tokio::test]
async fn consolidated_billing_is_not_offered_in_govcloud() {
    let server = TestServer::start().await;
    let gov = client_in_region(&server.endpoint, MGMT, "us-gov-west-1");
    let refused = gov.create_organization().feature_set(OrganizationFeatureSet::ConsolidatedBilling).send().await;
    expect_err(refused, "ConstraintViolationException", Some("CREATE_ORGANIZATION_IN_BILLING_MODE_UNSUPPORTED_REGION"));
    expect_err(gov.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    // The same account may make an ALL-features organization there, and a CB one in the commercial partition.
    let org = gov.create_organization().send().await.unwrap();
    assert!(org.organization().unwrap().arn().unwrap().starts_with("arn:aws-us-gov:organizations::"));
    let commercial = client_for(&server.endpoint, MGMT);
    commercial.create_organization().feature_set(OrganizationFeatureSet::ConsolidatedBilling).send().await.unwrap();
}

#[tokio::test]
async fn create_organization_twice_is_already_in_organization() {
    let org = Org::new().await;
    let err = expect_err(org.mgmt.create_organization().send().await, "AlreadyInOrganizationException", None);
    assert!(matches!(err, CreateOrganizationError::AlreadyInOrganizationException(_)), "{err:?}");

    // A member account is in an organization too.
    let member = org.create_account("Member One").await;
    expect_err(org.client(&member).create_organization().send().await, "AlreadyInOrganizationException", None);
}

#[tokio::test]
async fn describe_organization_member_sees_it_outsider_does_not() {
    let org = Org::new().await;
    let mine = org.mgmt.describe_organization().send().await.unwrap();
    let member = org.create_account("Member").await;
    let theirs = org.client(&member).describe_organization().send().await.expect("a member may describe its organization");
    assert_eq!(theirs.organization(), mine.organization());
    assert_eq!(theirs.organization().unwrap().master_account_id(), Some(MGMT));
    assert_eq!(theirs.organization().unwrap().master_account_email(), Some(format!("account-{MGMT}@example.com").as_str()));

    let err = expect_err(
        org.client(OUTSIDER).describe_organization().send().await,
        "AWSOrganizationsNotInUseException",
        None,
    );
    assert!(matches!(err, DescribeOrganizationError::AwsOrganizationsNotInUseException(_)), "{err:?}");
}

#[tokio::test]
async fn delete_organization_lifecycle() {
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    // Members left → not empty.
    expect_err(org.mgmt.delete_organization().send().await, "OrganizationNotEmptyException", None);
    // A member can't delete it.
    expect_err(org.client(&member).delete_organization().send().await, "AccessDeniedException", None);
    // An outsider has no organization.
    expect_err(org.client(OUTSIDER).delete_organization().send().await, "AWSOrganizationsNotInUseException", None);

    org.mgmt.remove_account_from_organization().account_id(&member).send().await.unwrap();
    // OUs are deleted with the organization, the whole tree; they do not block.
    let top = org.create_ou(&org.root_id, "Leftover").await;
    let mid = org.create_ou(&top, "Mid").await;
    let leaf = org.create_ou(&mid, "Leaf").await;
    let sibling = org.create_ou(&org.root_id, "Sibling").await;
    org.mgmt.delete_organization().send().await.expect("DeleteOrganization");
    for id in [top, mid, leaf, sibling] {
        let stored = org.server.canopy.store().read(Box::new(move |tx| Ok(Box::new(tx.ou_get(&id)?) as _))).await.unwrap();
        assert_eq!(stored.downcast::<Option<canopy_core::OuRecord>>().unwrap().as_ref(), &None, "an OU outlived its organization");
    }

    expect_err(org.mgmt.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(org.mgmt.list_roots().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(org.mgmt.list_accounts().send().await, "AWSOrganizationsNotInUseException", None);
    expect_err(org.mgmt.delete_organization().send().await, "AWSOrganizationsNotInUseException", None);

    // The former management account can create a new organization, with new ids.
    let again = org.mgmt.create_organization().send().await.expect("create again");
    let new_id = again.organization().unwrap().id().unwrap();
    assert_org_id(new_id);
    assert_ne!(new_id, org.org_id);
    let roots = org.mgmt.list_roots().send().await.unwrap();
    assert_ne!(roots.roots()[0].id(), Some(org.root_id.as_str()));
    let accounts = org.mgmt.list_accounts().send().await.unwrap();
    let ids: Vec<_> = accounts.accounts().iter().filter_map(|a| a.id()).collect();
    assert_eq!(ids, vec![MGMT], "the new organization starts with the management account only");
    // The removed member is a standalone account and can create its own organization.
    client_for(&org.server.endpoint, &member).create_organization().send().await.expect("removed member creates an org");
}

#[tokio::test]
async fn closed_accounts_do_not_block_delete_organization() {
    let org = Org::new().await;
    let member = org.create_account("Closing").await;
    org.mgmt.close_account().account_id(&member).send().await.unwrap();
    org.mgmt.delete_organization().send().await.expect("closed members don't block DeleteOrganization");
    expect_err(org.mgmt.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
}

#[tokio::test]
async fn member_accounts_are_refused_management_operations() {
    let org = Org::new().await;
    let member_id = org.create_account("Member").await;
    let ou = org.create_ou(&org.root_id, "Team").await;
    let m = org.client(&member_id);
    const DENIED: &str = "AccessDeniedException";
    expect_err(m.list_roots().send().await, DENIED, None);
    expect_err(m.list_accounts().send().await, DENIED, None);
    expect_err(m.describe_account().account_id(MGMT).send().await, DENIED, None);
    expect_err(m.create_account().account_name("X").email("x@example.org").send().await, DENIED, None);
    expect_err(m.list_create_account_status().send().await, DENIED, None);
    expect_err(m.create_organizational_unit().parent_id(&org.root_id).name("Nope").send().await, DENIED, None);
    expect_err(m.update_organizational_unit().organizational_unit_id(&ou).name("Nope").send().await, DENIED, None);
    expect_err(m.delete_organizational_unit().organizational_unit_id(&ou).send().await, DENIED, None);
    expect_err(m.describe_organizational_unit().organizational_unit_id(&ou).send().await, DENIED, None);
    expect_err(m.list_children().parent_id(&org.root_id).child_type(aws_sdk_organizations::types::ChildType::Account).send().await, DENIED, None);
    expect_err(m.list_parents().child_id(&member_id).send().await, DENIED, None);
    expect_err(m.move_account().account_id(&member_id).source_parent_id(&org.root_id).destination_parent_id(&ou).send().await, DENIED, None);
    expect_err(m.close_account().account_id(&member_id).send().await, DENIED, None);
    expect_err(m.remove_account_from_organization().account_id(&member_id).send().await, DENIED, None);
    expect_err(m.tag_resource().resource_id(&member_id).tags(tag("k", "v")).send().await, DENIED, None);
    expect_err(m.untag_resource().resource_id(&member_id).tag_keys("k").send().await, DENIED, None);
    expect_err(m.list_tags_for_resource().resource_id(&member_id).send().await, DENIED, None);
    expect_err(m.delete_organization().send().await, DENIED, None);
    // Nothing changed.
    let children = org.mgmt.list_children().parent_id(&org.root_id).child_type(aws_sdk_organizations::types::ChildType::Account).send().await.unwrap();
    assert_eq!(children.children().len(), 2);
}

#[tokio::test]
async fn outsiders_get_not_in_use() {
    let org = Org::new().await;
    let o = org.client(OUTSIDER);
    const NOT_IN_USE: &str = "AWSOrganizationsNotInUseException";
    expect_err(o.list_roots().send().await, NOT_IN_USE, None);
    expect_err(o.list_accounts().send().await, NOT_IN_USE, None);
    expect_err(o.describe_account().account_id(MGMT).send().await, NOT_IN_USE, None);
    expect_err(o.create_organizational_unit().parent_id(&org.root_id).name("X").send().await, NOT_IN_USE, None);
    expect_err(o.create_account().account_name("X").email("x@example.org").send().await, NOT_IN_USE, None);
    expect_err(o.list_tags_for_resource().resource_id(&org.root_id).send().await, NOT_IN_USE, None);
}

#[tokio::test]
async fn partitions_are_separate() {
    let server = TestServer::start().await;
    let cn = client_in_region(&server.endpoint, MGMT, "cn-north-1");
    let out = cn.create_organization().send().await.expect("CreateOrganization in aws-cn");
    let cn_org = out.organization().unwrap();
    let cn_id = cn_org.id().unwrap().to_string();
    assert_eq!(cn_org.arn(), Some(format!("arn:aws-cn:organizations::{MGMT}:organization/{cn_id}").as_str()));
    assert_eq!(cn_org.master_account_arn(), Some(format!("arn:aws-cn:organizations::{MGMT}:account/{cn_id}/{MGMT}").as_str()));
    // "In the China (Ningxia) Region, no policy type is included" in AvailablePolicyTypes.
    assert_eq!(cn_org.available_policy_types(), &[]);
    let described = cn.describe_organization().send().await.unwrap();
    assert_eq!(described.organization().unwrap().available_policy_types(), &[]);
    let roots = cn.list_roots().send().await.unwrap();
    let root = &roots.roots()[0];
    assert!(root.arn().unwrap().starts_with(&format!("arn:aws-cn:organizations::{MGMT}:root/{cn_id}/")), "{root:?}");

    // The same account id in the aws partition has no organization...
    let aws = client_for(&server.endpoint, MGMT);
    expect_err(aws.describe_organization().send().await, "AWSOrganizationsNotInUseException", None);
    // ...and may create its own.
    let out = aws.create_organization().send().await.expect("CreateOrganization in aws");
    let aws_org = out.organization().unwrap();
    assert_ne!(aws_org.id(), Some(cn_id.as_str()));
    assert_eq!(aws_org.available_policy_types().len(), 1);
    assert!(aws_org.arn().unwrap().starts_with("arn:aws:organizations::"), "{aws_org:?}");

    // Accounts and OUs created in aws-cn carry aws-cn ARNs and stay there.
    let account = create_account_with(&cn, "China Member", "china@example.cn").await;
    let described = cn.describe_account().account_id(&account).send().await.unwrap();
    assert_eq!(described.account().unwrap().arn(), Some(format!("arn:aws-cn:organizations::{MGMT}:account/{cn_id}/{account}").as_str()));
    let ou = cn.create_organizational_unit().parent_id(root.id().unwrap()).name("CN").send().await.unwrap();
    assert!(ou.organizational_unit().unwrap().arn().unwrap().starts_with("arn:aws-cn:organizations::"));
    expect_err(aws.describe_account().account_id(&account).send().await, "AccountNotFoundException", None);
    let aws_accounts = aws.list_accounts().send().await.unwrap();
    assert_eq!(aws_accounts.accounts().len(), 1, "the aws organization only has its management account");
    // Each partition's DescribeOrganization answers its own organization.
    assert_eq!(cn.describe_organization().send().await.unwrap().organization().unwrap().id(), Some(cn_id.as_str()));
    assert_eq!(aws.describe_organization().send().await.unwrap().organization().unwrap().id(), aws_org.id());
}

#[tokio::test]
async fn every_operation_of_the_model_is_built() {
    let org = Org::new().await;
    // Every one of the model's operations answers with its own rules: called with an empty body
    // by the management account, by a member and by an account outside any organization, none
    // may answer "not implemented", a server error or an error without code and message.
    let member = org.create_account("member").await;
    assert_eq!(canopy_api::Operation::ALL.len(), 63);
    for op in canopy_api::Operation::ALL {
        for caller in [MGMT, member.as_str(), "999999999999"] {
            let reply = raw_call(&org.server, caller, op.name(), "{}").await;
            assert!(reply.status < 500, "{} as {caller}: HTTP {} {}", op.name(), reply.status, reply.body);
            if reply.status != 200 {
                let code = reply.body["__type"].as_str().unwrap_or_else(|| panic!("{}: no __type in {}", op.name(), reply.body));
                let message = reply.body["Message"].as_str().unwrap_or_else(|| panic!("{}: no Message in {}", op.name(), reply.body));
                assert!(
                    !(code == "UnsupportedAPIEndpointException" && message.contains("does not implement")),
                    "{} as {caller} is not built: {message}",
                    op.name()
                );
            }
        }
    }
}

#[tokio::test]
async fn unknown_operation_is_a_client_error() {
    let org = Org::new().await;
    let reply = raw_call(&org.server, MGMT, "NoSuchOperation", "{}").await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body["__type"].is_string(), "{}", reply.body);
}

/// No `null` anywhere in an answer: absent optional members are left out (api-facts §1.2).
fn assert_no_nulls(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::Null => panic!("null at {path}"),
        serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| assert_no_nulls(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| assert_no_nulls(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

#[tokio::test]
async fn wire_shapes_seen_by_raw_clients() {
    let org = Org::new().await;
    // Operations without input accept an empty body as well as `{}`.
    for body in ["", "{}"] {
        let r = raw_call(&org.server, MGMT, "DescribeOrganization", body).await;
        assert_eq!(r.status, 200, "body {body:?}: {}", r.body);
        assert_eq!(r.body["Organization"]["Id"].as_str(), Some(org.org_id.as_str()));
        assert_no_nulls(&r.body, "DescribeOrganization");
    }
    // CreateAccount's IN_PROGRESS answer leaves AccountId etc. out rather than null.
    let r = raw_call(&org.server, MGMT, "CreateAccount", r#"{"Email":"raw@example.org","AccountName":"Raw"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_no_nulls(&r.body, "CreateAccount");
    let status = &r.body["CreateAccountStatus"];
    assert!(status.get("AccountId").is_none() && status.get("FailureReason").is_none(), "{status}");
    assert!(status["RequestedTimestamp"].is_number(), "timestamps are epoch-second numbers: {status}");
    let car = status["Id"].as_str().unwrap();
    let d = raw_call(&org.server, MGMT, "DescribeCreateAccountStatus", &format!(r#"{{"CreateAccountRequestId":"{car}"}}"#)).await;
    let account = d.body["CreateAccountStatus"]["AccountId"].as_str().expect("AccountId").to_string();
    let ts = d.body["CreateAccountStatus"]["CompletedTimestamp"].as_f64().expect("numeric CompletedTimestamp");
    assert!(ts > 1.5e9 && ts < 1e10, "epoch seconds, not millis: {ts}");
    let a = raw_call(&org.server, MGMT, "DescribeAccount", &format!(r#"{{"AccountId":"{account}"}}"#)).await;
    assert_no_nulls(&a.body, "DescribeAccount");
    assert!(a.body["Account"]["JoinedTimestamp"].is_number(), "{}", a.body);
    // Operations without output answer 200 with an empty object (or nothing).
    let ou = org.create_ou(&org.root_id, "Raw").await;
    let del = raw_call(&org.server, MGMT, "DeleteOrganizationalUnit", &format!(r#"{{"OrganizationalUnitId":"{ou}"}}"#)).await;
    assert_eq!(del.status, 200);
    assert!(del.body.is_null() || del.body == serde_json::json!({}), "{}", del.body);
    // Missing required member → INPUT_REQUIRED; a wrong JSON type is invalid input, never a 500.
    let r = raw_call(&org.server, MGMT, "DescribeAccount", "{}").await;
    assert_eq!((r.status, r.body["__type"].as_str(), r.body["Reason"].as_str()), (400, Some("InvalidInputException"), Some("INPUT_REQUIRED")), "{}", r.body);
    let r = raw_call(&org.server, MGMT, "ListAccounts", r#"{"MaxResults":"ten"}"#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = raw_call(&org.server, MGMT, "ListAccounts", "{not json").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["__type"].is_string(), "{}", r.body);
}

#[tokio::test]
async fn organizations_are_isolated_from_each_other() {
    let a = Org::new().await;
    let b_client = a.client("222222222222");
    b_client.create_organization().send().await.unwrap();
    let b_root = b_client.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let b_ou = b_client.create_organizational_unit().parent_id(&b_root).name("B").send().await.unwrap();
    let b_ou = b_ou.organizational_unit().unwrap().id().unwrap().to_string();
    let b_car = b_client.create_account().account_name("B1").email("b1@example.org").send().await.unwrap();
    let b_car = b_car.create_account_status().unwrap().id().unwrap().to_string();
    let b_account = wait_for_account(&b_client, &b_car).await;

    // A's management account sees none of B's resources.
    let m = &a.mgmt;
    expect_err(m.describe_organizational_unit().organizational_unit_id(&b_ou).send().await, "OrganizationalUnitNotFoundException", None);
    expect_err(m.update_organizational_unit().organizational_unit_id(&b_ou).name("X").send().await, "OrganizationalUnitNotFoundException", None);
    expect_err(m.delete_organizational_unit().organizational_unit_id(&b_ou).send().await, "OrganizationalUnitNotFoundException", None);
    expect_err(m.create_organizational_unit().parent_id(&b_root).name("X").send().await, "ParentNotFoundException", None);
    expect_err(m.list_organizational_units_for_parent().parent_id(&b_root).send().await, "ParentNotFoundException", None);
    expect_err(m.list_accounts_for_parent().parent_id(&b_ou).send().await, "ParentNotFoundException", None);
    expect_err(m.describe_account().account_id(&b_account).send().await, "AccountNotFoundException", None);
    expect_err(m.close_account().account_id(&b_account).send().await, "AccountNotFoundException", None);
    expect_err(m.remove_account_from_organization().account_id(&b_account).send().await, "AccountNotFoundException", None);
    expect_err(m.list_parents().child_id(&b_account).send().await, "ChildNotFoundException", None);
    expect_err(m.describe_create_account_status().create_account_request_id(&b_car).send().await, "CreateAccountStatusNotFoundException", None);
    expect_err(m.tag_resource().resource_id(&b_root).tags(tag("k", "v")).send().await, "TargetNotFoundException", None);
    expect_err(m.list_tags_for_resource().resource_id(&b_ou).send().await, "TargetNotFoundException", None);
    expect_err(
        m.move_account().account_id(&b_account).source_parent_id(&b_root).destination_parent_id(&a.root_id).send().await,
        "AccountNotFoundException",
        None,
    );
    let listed = m.list_accounts().send().await.unwrap();
    assert_eq!(listed.accounts().iter().filter_map(|x| x.id()).collect::<Vec<_>>(), vec![MGMT]);
    // A ListAccounts token of B is not valid in A.
    let page = b_client.list_accounts().max_results(1).send().await.unwrap();
    expect_err(m.list_accounts().next_token(page.next_token().unwrap()).send().await, "InvalidInputException", Some("INVALID_NEXT_TOKEN"));
    // And B's resources are intact.
    b_client.describe_organizational_unit().organizational_unit_id(&b_ou).send().await.unwrap();
    b_client.describe_account().account_id(&b_account).send().await.unwrap();
}

#[tokio::test]
async fn non_account_access_keys_act_as_the_default_account() {
    let server = TestServer::start().await;
    let c = client_for(&server.endpoint, "AKIDEXAMPLE");
    let out = c.create_organization().send().await.unwrap();
    assert_eq!(out.organization().unwrap().master_account_id(), Some("123456789012"));
    // Any other non-account key is the same caller.
    let again = client_for(&server.endpoint, "ASIAOTHERKEY");
    assert_eq!(again.describe_organization().send().await.unwrap().organization(), out.organization());
}

/// Ids from the random source, except root ids: the first three are the same.
struct RepeatedRootIds {
    roots_made: std::sync::atomic::AtomicUsize,
}

impl canopy_core::IdSource for RepeatedRootIds {
    fn organization_id(&self) -> String {
        canopy_core::RandomIds.organization_id()
    }
    fn root_id(&self) -> String {
        match self.roots_made.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
            0..=2 => "r-same".to_string(),
            _ => canopy_core::RandomIds.root_id(),
        }
    }
    fn ou_id(&self, root_id: &str) -> String {
        canopy_core::RandomIds.ou_id(root_id)
    }
    fn account_id(&self) -> String {
        canopy_core::RandomIds.account_id()
    }
    fn create_account_request_id(&self) -> String {
        canopy_core::RandomIds.create_account_request_id()
    }
}

#[tokio::test]
async fn a_root_id_already_in_use_is_drawn_again() {
    let store = std::sync::Arc::new(canopy_store::SqliteStore::open_memory().unwrap());
    let env = canopy_core::Env {
        config: canopy_core::CoreConfig::default(),
        clock: std::sync::Arc::new(canopy_core::SystemClock),
        ids: std::sync::Arc::new(RepeatedRootIds { roots_made: 0.into() }),
    };
    let server = TestServer::start_with_server_config(canopy_core::Canopy::with_env(store, env), Default::default()).await;
    let first = client_for(&server.endpoint, "111111111111");
    first.create_organization().send().await.unwrap();
    // Root ids are unique across the store: the second organization's draw of "r-same" is
    // refused and drawn again, instead of failing the request with a 500.
    let second = client_for(&server.endpoint, "222222222222");
    second.create_organization().send().await.expect("CreateOrganization with a colliding root id");
    let r1 = first.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let r2 = second.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    assert_eq!(r1, "r-same");
    assert_ne!(r2, "r-same");
}
