//! The caller's principal (root user, or an STS assumed-role session) reaches the SCP check of
//! every Organizations call: conditions on aws:PrincipalArn and aws:PrincipalType tell a
//! member account's root user from a session of its OrganizationAccountAccessRole.

mod common;

use aws_credential_types::Credentials;
use aws_sdk_organizations::types::PolicyType;
use aws_sdk_sts::config::retry::RetryConfig;
use canopy_core::identity::NewCredential;
use canopy_core::{Canopy, CoreConfig, IdSource, RandomIds};
use canopy_server::secrets::new_secret_access_key;
use canopy_server::testing::TestServer;
use canopy_server::{AuthMode, MasterKey, ServerConfig};
use common::*;

fn sts_for(endpoint: &str, account: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(account, "x", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// An Organizations client acting as an STS session of `role` in `account`, assumed by `from`.
async fn session(org: &Org, from: &str, account: &str, role: &str, name: &str) -> aws_sdk_organizations::Client {
    let out = sts_for(&org.server.endpoint, from)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
        .role_session_name(name)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .endpoint_url(&org.server.endpoint)
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned()), None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_organizations::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

async fn attach_scp(org: &Org, target: &str, name: &str, content: &str) -> String {
    let p = org
        .mgmt
        .create_policy()
        .name(name)
        .description(name)
        .r#type(PolicyType::ServiceControlPolicy)
        .content(content)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreatePolicy {name}: {e:?}"));
    let id = p.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
    org.mgmt.attach_policy().policy_id(&id).target_id(target).send().await.unwrap();
    p.policy().unwrap().policy_summary().unwrap().arn().unwrap().to_string()
}

#[tokio::test]
async fn scp_conditions_see_the_assumed_role_session_not_the_root_user() {
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    let deny_role = attach_scp(
        &org,
        &member,
        "deny-the-access-role",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:Describe*","Resource":"*",
            "Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/OrganizationAccountAccessRole"}}}]}"#,
    )
    .await;

    // The member's root user is not the role: allowed.
    let root = org.client(&member);
    let described = root.describe_organization().send().await.unwrap();
    assert_eq!(described.organization().unwrap().id(), Some(org.org_id.as_str()));

    // A session of the role is denied, and the message names the session and the policy.
    let role = session(&org, MGMT, &member, "OrganizationAccountAccessRole", "ops-session").await;
    let f = fail(role.describe_organization().send().await);
    assert_eq!(f.code, "AccessDeniedException");
    assert_eq!(
        f.message,
        format!(
            "User: arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/ops-session is not authorized to perform: \
             organizations:DescribeOrganization with an explicit deny in a service control policy: {deny_role}"
        )
    );
    // Actions the condition's statement doesn't cover still pass for the session.
    role.list_handshakes_for_account().send().await.unwrap();
}

#[tokio::test]
async fn principal_type_tells_root_from_session() {
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    // Only the root user ("Account") is kept from listing its handshakes.
    attach_scp(
        &org,
        &member,
        "deny-root",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:ListHandshakesForAccount","Resource":"*",
            "Condition":{"StringEquals":{"aws:PrincipalType":"Account"}}}]}"#,
    )
    .await;
    let root = org.client(&member);
    let f = fail(root.list_handshakes_for_account().send().await);
    assert_eq!(f.code, "AccessDeniedException");
    assert!(f.message.starts_with(&format!("User: arn:aws:iam::{member}:root is not authorized")), "{}", f.message);
    let role = session(&org, MGMT, &member, "OrganizationAccountAccessRole", "s1").await;
    role.list_handshakes_for_account().send().await.unwrap();

    // The management account is never subject to SCPs, whoever signs.
    org.mgmt.list_handshakes_for_account().send().await.unwrap();
}

/// Strict auth: a key issued for an IAM user signs as that user (aws:PrincipalType "User").
#[tokio::test]
async fn strict_auth_iam_user_is_its_own_principal() {
    let (key, _) = MasterKey::generate();
    let canopy = Canopy::new(canopy_store::open("memory").unwrap(), CoreConfig::default());
    let config = ServerConfig { auth: AuthMode::Strict, master_key: Some(key.clone()), ..ServerConfig::default() };
    let server = TestServer::start_with_server_config(canopy, config).await;
    let mgmt = issue_key(MGMT, None, &server, &key).await;
    let org_id = mgmt.create_organization().send().await.unwrap().organization().unwrap().id().unwrap().to_string();
    let member = create_account_with(&mgmt, "Member", "member@example.org").await;
    let p = mgmt
        .create_policy()
        .name("deny-users")
        .description("d")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:DescribeOrganization","Resource":"*",
                "Condition":{"StringEquals":{"aws:PrincipalType":"User"}}}]}"#,
        )
        .send()
        .await
        .unwrap();
    let policy_id = p.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string();
    mgmt.attach_policy().policy_id(&policy_id).target_id(&member).send().await.unwrap();

    let alice = issue_key(&member, Some("alice"), &server, &key).await;
    let f = fail(alice.describe_organization().send().await);
    assert_eq!(f.code, "AccessDeniedException");
    assert!(f.message.starts_with(&format!("User: arn:aws:iam::{member}:user/alice is not authorized")), "{}", f.message);
    let member_root = issue_key(&member, None, &server, &key).await;
    assert_eq!(member_root.describe_organization().send().await.unwrap().organization().unwrap().id(), Some(org_id.as_str()));
}

/// A key issued for `account` (its root user, or `user`), as `canopy credentials create` does.
async fn issue_key(account: &str, user: Option<&str>, server: &TestServer, key: &MasterKey) -> aws_sdk_organizations::Client {
    let akid = RandomIds.access_key_id("AKIA");
    let secret = new_secret_access_key();
    let new = NewCredential { secret_sealed: key.seal(&akid, &secret), access_key_id: akid.clone(), session_token_sha256: None };
    server.canopy.create_credential("aws", account, user, new).await.unwrap();
    signed_client(&server.endpoint, &akid, &secret)
}

fn signed_client(endpoint: &str, akid: &str, secret: &str) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(akid, secret, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_organizations::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}
