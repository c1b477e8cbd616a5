//! STS through the official Rust SDK in dev auth: GetCallerIdentity, AssumeRole into the role
//! CreateAccount made (default and custom RoleName), acting as the member with the session,
//! and AssumeRole's refusals (missing role, untrusted caller, bad input, role chaining).

mod common;

use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use canopy_server::testing::TestServer;
use common::*;

fn sts_for(endpoint: &str, akid: &str, secret: &str, token: Option<&str>) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(akid, secret, token.map(str::to_owned), None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

fn orgs_as_session(endpoint: &str, c: &aws_sdk_sts::types::Credentials) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// The code and message of a failed STS call.
fn sts_err<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, aws_sdk_sts::error::SdkError<E>>) -> (String, String) {
    let e = r.expect_err("the call should fail");
    (e.code().unwrap_or_else(|| panic!("no code in {e:?}")).to_owned(), e.message().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn get_caller_identity_in_dev_auth_is_the_root_of_the_key_account() {
    let server = TestServer::start().await;
    let me = sts_for(&server.endpoint, MGMT, "x", None).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some(MGMT));
    assert_eq!(me.arn(), Some("arn:aws:iam::111111111111:root"));
    assert_eq!(me.user_id(), Some(MGMT));
    // Any other key is the default account.
    let me = sts_for(&server.endpoint, "AKIAIOSFODNN7EXAMPLE", "x", None).get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("123456789012"));
}

#[tokio::test]
async fn assume_role_into_a_created_account_then_act_as_the_member() {
    let org = Org::new().await;
    let member = org.create_account("Member One").await;
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let out = sts
        .assume_role()
        .role_arn(role_arn(&member, "OrganizationAccountAccessRole"))
        .role_session_name("admin@example.org")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap().clone();
    assert!(c.access_key_id().starts_with("ASIA") && c.access_key_id().len() == 20, "{}", c.access_key_id());
    assert_eq!(c.secret_access_key().len(), 40);
    assert!(c.session_token().len() > 100);
    // Default duration: one hour.
    let left = c.expiration().secs() - std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((3590..=3600).contains(&left), "expires in {left} s");
    let user = out.assumed_role_user().unwrap();
    assert_eq!(user.arn(), format!("arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/admin@example.org"));

    // The session is the member (dev auth resolves the ASIA key to its session).
    let me = sts_for(&org.server.endpoint, c.access_key_id(), c.secret_access_key(), Some(c.session_token()))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(member.as_str()));
    assert_eq!(me.arn(), Some(user.arn()));
    assert_eq!(me.user_id(), Some(user.assumed_role_id()));
    let as_member = orgs_as_session(&org.server.endpoint, &c);
    let described = as_member.describe_organization().send().await.unwrap();
    assert_eq!(described.organization().unwrap().master_account_id(), Some(MGMT));
    // A member cannot list the organization's accounts: the caller really is the member.
    let e = as_member.list_accounts().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn create_account_role_name_is_the_role_made() {
    let org = Org::new().await;
    let out = org
        .mgmt
        .create_account()
        .account_name("Custom")
        .email("custom@example.org")
        .role_name("Breakglass")
        .send()
        .await
        .unwrap();
    let member = wait_for_account(&org.mgmt, out.create_account_status().unwrap().id().unwrap()).await;
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let ok = sts.assume_role().role_arn(role_arn(&member, "Breakglass")).role_session_name("s1").send().await;
    assert!(ok.is_ok(), "{ok:?}");
    // The default role was not made.
    let (code, message) = sts_err(sts.assume_role().role_arn(role_arn(&member, "OrganizationAccountAccessRole")).role_session_name("s1").send().await);
    assert_eq!(code, "AccessDenied");
    assert_eq!(
        message,
        format!("User: arn:aws:iam::111111111111:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{member}:role/OrganizationAccountAccessRole")
    );
}

#[tokio::test]
async fn assume_role_refusals() {
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    let arn = role_arn(&member, "OrganizationAccountAccessRole");

    // The role trusts the management account only: an outsider and the member itself are denied.
    for caller in [OUTSIDER, member.as_str()] {
        let sts = sts_for(&org.server.endpoint, caller, "x", None);
        let (code, message) = sts_err(sts.assume_role().role_arn(&arn).role_session_name("s1").send().await);
        assert_eq!(code, "AccessDenied");
        assert!(message.contains(&format!("arn:aws:iam::{caller}:root is not authorized to perform: sts:AssumeRole")), "{message}");
    }
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    // No such account or role.
    let (code, _) = sts_err(sts.assume_role().role_arn(role_arn("333333333333", "OrganizationAccountAccessRole")).role_session_name("s1").send().await);
    assert_eq!(code, "AccessDenied");
    // A closed account is suspended: its role can't be assumed any more.
    let closed = org.create_account("Closed").await;
    sts.assume_role().role_arn(role_arn(&closed, "OrganizationAccountAccessRole")).role_session_name("s1").send().await.expect("before the closure");
    org.mgmt.close_account().account_id(&closed).send().await.unwrap();
    let (code, message) = sts_err(sts.assume_role().role_arn(role_arn(&closed, "OrganizationAccountAccessRole")).role_session_name("s1").send().await);
    assert_eq!(code, "AccessDenied");
    assert!(message.contains("is closed"), "{message}");

    // Input validation: ValidationError naming the field.
    // (RoleArn, RoleSessionName, DurationSeconds, expected message part)
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<i32>, &'a str);
    let cases: Vec<Case> = vec![
        (Some("not-an-arn"), Some("s1"), None, "not-an-arn is invalid"),
        (Some(&arn), Some("a"), None, "'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        (Some(&arn), Some("has space"), None, "'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern"),
        (Some(&arn), Some("s1"), Some(899), "'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"),
        (Some(&arn), Some("s1"), Some(43201), "'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"),
        (Some(&arn), Some("s1"), Some(7200), "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
    ];
    for (role, session, duration, needle) in cases {
        let r = sts.assume_role().set_role_arn(role.map(str::to_owned)).set_role_session_name(session.map(str::to_owned)).set_duration_seconds(duration).send().await;
        let (code, message) = sts_err(r);
        assert_eq!(code, "ValidationError", "{message}");
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }

    // Role chaining: a session may assume a role it is trusted for, for at most one hour.
    let c = sts.assume_role().role_arn(&arn).role_session_name("first").send().await.unwrap().credentials().unwrap().clone();
    let session = sts_for(&org.server.endpoint, c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
    // The member's role trusts the management account, not the member's own session.
    let (code, message) = sts_err(session.assume_role().role_arn(&arn).role_session_name("second").send().await);
    assert_eq!(code, "AccessDenied", "{message}");
    assert!(message.starts_with(&format!("User: arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/first is not authorized")), "{message}");
}

#[tokio::test]
async fn unknown_and_missing_actions() {
    let server = TestServer::start().await;
    let r = raw_form(&server, "Action=GetSessionToken&Version=2011-06-15").await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(r.contains("<Code>InvalidAction</Code>") && r.contains("Could not find operation GetSessionToken for version 2011-06-15"), "{r}");
    let r = raw_form(&server, "Version=2011-06-15").await;
    assert!(r.starts_with("HTTP/1.1 400") && r.contains("<Code>MissingAction</Code>"), "{r}");
    assert!(r.contains("<RequestId>") && r.contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"), "{r}");
}

async fn raw_form(server: &TestServer, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn scps_of_the_callers_account_apply_to_assume_role() {
    use aws_sdk_organizations::types::PolicyType;
    let org = Org::new().await;
    let target = org.create_account("Target").await;
    let caller = org.create_account("Caller").await;
    let other = org.create_account("Other").await;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}"#;
    let policy = org
        .mgmt
        .create_policy()
        .name("NoAssumeRole")
        .description("denies sts:AssumeRole")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(deny)
        .send()
        .await
        .unwrap();
    let summary = policy.policy().unwrap().policy_summary().unwrap();
    let (policy_id, policy_arn) = (summary.id().unwrap().to_string(), summary.arn().unwrap().to_string());
    org.mgmt.attach_policy().policy_id(&policy_id).target_id(&caller).send().await.unwrap();
    let arn = role_arn(&target, "OrganizationAccountAccessRole");

    // The member under the SCP is refused by it, before the role's trust is looked at.
    let sts = sts_for(&org.server.endpoint, &caller, "x", None);
    let (code, message) = sts_err(sts.assume_role().role_arn(&arn).role_session_name("s1").send().await);
    assert_eq!(code, "AccessDenied");
    assert_eq!(
        message,
        format!(
            "User: arn:aws:iam::{caller}:root is not authorized to perform: sts:AssumeRole on resource: {arn} with an explicit deny in a service control policy: {policy_arn}"
        )
    );
    // A member without it meets the role's trust (which admits only the management account).
    let sts = sts_for(&org.server.endpoint, &other, "x", None);
    let (code, message) = sts_err(sts.assume_role().role_arn(&arn).role_session_name("s1").send().await);
    assert_eq!(code, "AccessDenied");
    assert!(!message.contains("service control policy"), "{message}");
    // The caller's address is aws:SourceIp: a deny for calls from outside loopback spares it.
    let outside = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}"#;
    org.attach_scp("OfficeOnly", outside, &other).await;
    let (_, message) = sts_err(sts.assume_role().role_arn(&arn).role_session_name("s1").send().await);
    assert!(!message.contains("service control policy"), "{message}");
    // SCPs never restrict the management account, even attached at the root.
    org.mgmt.attach_policy().policy_id(&policy_id).target_id(&org.root_id).send().await.unwrap();
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    assert!(sts.assume_role().role_arn(&arn).role_session_name("s1").send().await.is_ok());
}

#[tokio::test]
async fn scps_see_who_signed_beyond_the_arn() {
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let out = sts.assume_role().role_arn(role_arn(&member, "OrganizationAccountAccessRole")).role_session_name("sess").send().await.unwrap();
    let session = orgs_as_session(&org.server.endpoint, out.credentials().unwrap());
    let role_id = out.assumed_role_user().unwrap().assumed_role_id().to_string();
    assert!(role_id.starts_with("AROA") && role_id.ends_with(":sess"), "{role_id}");
    let as_root = org.client(&member);
    let attach = |name: &'static str, condition: serde_json::Value| {
        let content = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "organizations:DescribeOrganization", "Resource": "*", "Condition": condition}]});
        let (org, member) = (&org, member.clone());
        async move { org.attach_scp(name, &content.to_string(), &member).await }
    };
    let detach = |id: String| {
        let (org, member) = (&org, member.clone());
        async move { org.detach(&id, &member).await }
    };
    let denied = |r: Result<_, aws_sdk_organizations::error::SdkError<_>>| match r {
        Ok(_) => false,
        Err(e) => {
            let e: aws_sdk_organizations::error::SdkError<aws_sdk_organizations::operation::describe_organization::DescribeOrganizationError> = e;
            assert_eq!(e.code(), Some("AccessDeniedException"), "{e:?}");
            true
        }
    };

    // Break-glass exemption by aws:userid: the session (AROA…:sess) passes, the root user (whose
    // userid is the account id) does not.
    let p = attach("BreakGlass", serde_json::json!({"StringNotLike": {"aws:userid": "AROA*:sess"}})).await;
    assert!(!denied(session.describe_organization().send().await));
    assert!(denied(as_root.describe_organization().send().await));
    detach(p).await;
    let p = attach("RootUser", serde_json::json!({"StringEquals": {"aws:userid": member.as_str()}})).await;
    assert!(!denied(session.describe_organization().send().await));
    assert!(denied(as_root.describe_organization().send().await));
    detach(p).await;
    // Temporary credentials carry aws:TokenIssueTime and aws:MultiFactorAuthPresent (false);
    // long-term keys carry neither.
    let p = attach("Sessions", serde_json::json!({"Null": {"aws:TokenIssueTime": "false"}, "Bool": {"aws:MultiFactorAuthPresent": "false"}})).await;
    assert!(denied(session.describe_organization().send().await));
    assert!(!denied(as_root.describe_organization().send().await));
    detach(p).await;
    let p = attach("NoUsername", serde_json::json!({"Null": {"aws:username": "false"}})).await;
    assert!(!denied(session.describe_organization().send().await));
    assert!(!denied(as_root.describe_organization().send().await));
    detach(p).await;
}

#[tokio::test]
async fn a_session_policy_limits_the_session() {
    use aws_sdk_sts::types::Tag;
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let arn = role_arn(&member, "OrganizationAccountAccessRole");
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"organizations:Describe*","Resource":"*"},
        {"Effect":"Deny","Action":"organizations:DescribeAccount","Resource":"*"}]}"#;
    let out = sts
        .assume_role()
        .role_arn(&arn)
        .role_session_name("scoped")
        .policy(policy)
        .source_identity("alice")
        .tags(Tag::builder().key("team").value("blue").build().unwrap())
        .transitive_tag_keys("team")
        .external_id("ext-123")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("alice"));
    let session = orgs_as_session(&org.server.endpoint, out.credentials().unwrap());
    let session_arn = out.assumed_role_user().unwrap().arn().to_string();
    // Allowed by the session policy.
    assert!(session.describe_organization().send().await.is_ok());
    // Not allowed by it: refused, whatever the role may do.
    let e = session.list_roots().send().await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDeniedException"));
    assert_eq!(
        e.message(),
        Some(format!("User: {session_arn} is not authorized to perform: organizations:ListRoots because no session policy allows the organizations:ListRoots action").as_str())
    );
    // Denied by it explicitly.
    let e = session.describe_account().account_id(&member).send().await.unwrap_err();
    assert_eq!(
        e.message(),
        Some(format!("User: {session_arn} is not authorized to perform: organizations:DescribeAccount with an explicit deny in a session policy").as_str())
    );
    // Without a session policy the same role's session is not limited.
    let plain = sts.assume_role().role_arn(&arn).role_session_name("plain").send().await.unwrap();
    assert_eq!(plain.source_identity(), None);
    let e = orgs_as_session(&org.server.endpoint, plain.credentials().unwrap()).list_roots().send().await.unwrap_err();
    // (A member may not list roots at all; that, not a session policy, is what refuses it.)
    assert!(!e.message().unwrap().contains("session policy"), "{e:?}");

    // The session's organization is a key its session policy can test.
    for (org_id, allowed) in [(org.org_id.clone(), true), ("o-aaaaaaaaaa".to_string(), false)] {
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}, "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": format!("{}/r-*", org.org_id)}}}]});
        let out = sts.assume_role().role_arn(&arn).role_session_name("org").policy(policy.to_string()).send().await.unwrap();
        let r = orgs_as_session(&org.server.endpoint, out.credentials().unwrap()).describe_organization().send().await;
        assert_eq!(r.is_ok(), allowed, "{org_id}: {r:?}");
    }

    // Policy variables are substituted under Version 2012-10-17 only; a session policy without
    // Version is read as IAM reads it, as 2008-10-17, where `${...}` is literal text.
    for (version, allowed) in [(Some("2012-10-17"), true), (None, false), (Some("2008-10-17"), false)] {
        let mut policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "organizations:DescribeOrganization",
            "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "${aws:PrincipalTag/team}"}}}]});
        if let Some(v) = version {
            policy["Version"] = v.into();
        }
        let out = sts
            .assume_role()
            .role_arn(&arn)
            .role_session_name("vars")
            .policy(policy.to_string())
            .tags(Tag::builder().key("team").value("blue").build().unwrap())
            .send()
            .await
            .unwrap();
        let r = orgs_as_session(&org.server.endpoint, out.credentials().unwrap()).describe_organization().send().await;
        assert_eq!(r.is_ok(), allowed, "{version:?}: {r:?}");
    }

    // The session's tags and source identity are keys SCPs can test.
    for (name, condition) in [
        ("BlueTeam", serde_json::json!({"StringEquals": {"aws:PrincipalTag/team": "blue"}})),
        ("Alice", serde_json::json!({"StringEquals": {"aws:SourceIdentity": "alice"}})),
    ] {
        let content = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": "organizations:DescribeOrganization", "Resource": "*", "Condition": condition}]});
        let id = org.attach_scp(name, &content.to_string(), &member).await;
        let e = session.describe_organization().send().await.unwrap_err();
        assert!(e.message().unwrap().contains("explicit deny in a service control policy"), "{name}: {e:?}");
        assert!(orgs_as_session(&org.server.endpoint, plain.credentials().unwrap()).describe_organization().send().await.is_ok(), "{name}");
        org.detach(&id, &member).await;
    }
}

#[tokio::test]
async fn assume_role_session_parameters_are_checked() {
    use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
    let org = Org::new().await;
    let member = org.create_account("Member").await;
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let arn = role_arn(&member, "OrganizationAccountAccessRole");
    let call = || sts.assume_role().role_arn(&arn).role_session_name("s1");
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();

    let (code, message) = sts_err(call().policy("{nope").send().await);
    assert_eq!(code, "MalformedPolicyDocument", "{message}");
    let (code, _) = sts_err(call().policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#).send().await);
    assert_eq!(code, "MalformedPolicyDocument");
    // IAM's rules for an identity policy's Version: optional, or either version.
    for ok in [
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ] {
        assert!(call().policy(ok).send().await.is_ok(), "{ok}");
    }
    let (code, message) = sts_err(call().policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#).send().await);
    assert_eq!(code, "MalformedPolicyDocument");
    assert!(message.contains("identity policies do not support Principal"), "{message}");
    // MFA is refused whichever of its two parameters comes.
    assert_eq!(sts_err(call().token_code("123456").send().await).0, "AccessDenied");
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"s3:*","Resource":"*"}}]}}"#,
        "a".repeat(2048)
    );
    assert_eq!(sts_err(call().policy(big).send().await).0, "PackedPolicyTooLarge");
    let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let (code, message) = sts_err(call().set_tags(Some(many)).send().await);
    assert_eq!(code, "ValidationError", "{message}");
    let (code, message) = sts_err(call().tags(tag("Team", "a")).tags(tag("team", "b")).send().await);
    assert_eq!((code.as_str(), message.contains("Duplicate tag keys")), ("InvalidParameterValue", true), "{message}");
    let (code, _) = sts_err(call().tags(tag("team", "a")).transitive_tag_keys("cost").send().await);
    assert_eq!(code, "InvalidParameterValue");
    let (code, message) = sts_err(call().tags(tag("bad<key", "a")).send().await);
    assert_eq!(code, "ValidationError", "{message}");
    assert_eq!(sts_err(call().source_identity("x").send().await).0, "ValidationError");
    let (code, message) = sts_err(call().policy_arns(PolicyDescriptorType::builder().arn("arn:aws:iam::aws:policy/ReadOnlyAccess").build()).send().await);
    assert_eq!(code, "InvalidParameterValue");
    assert!(message.contains("PolicyArns"), "{message}");
    assert_eq!(sts_err(call().serial_number("arn:aws:iam::111111111111:mfa/me").token_code("123456").send().await).0, "AccessDenied");
    assert_eq!(sts_err(call().external_id("x").send().await).0, "ValidationError");

    // A member passing session tags needs sts:TagSession, which an SCP can deny.
    let caller = org.create_account("Caller").await;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:TagSession","Resource":"*"}]}"#;
    org.attach_scp("NoTags", deny, &caller).await;
    let as_caller = sts_for(&org.server.endpoint, &caller, "x", None);
    let (code, message) = sts_err(as_caller.assume_role().role_arn(&arn).role_session_name("s1").tags(tag("team", "a")).send().await);
    assert_eq!(code, "AccessDenied");
    assert!(message.contains("sts:TagSession") && message.contains("service control policy"), "{message}");
    // Without tags it meets the role's trust instead.
    let (_, message) = sts_err(as_caller.assume_role().role_arn(&arn).role_session_name("s1").send().await);
    assert!(!message.contains("service control policy"), "{message}");
}

#[tokio::test]
async fn dev_auth_refuses_an_ended_session_or_one_of_another_partition() {
    use canopy_core::{CoreConfig, ManualClock};
    let clock = std::sync::Arc::new(ManualClock::new(1_767_225_600_000)); // 2026-01-01
    let server = TestServer::start_with_clock(CoreConfig::default(), clock.clone(), canopy_server::ServerConfig::default()).await;
    let org = Org::with_server(server).await;
    let member = org.create_account("Member").await;
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let out = sts.assume_role().role_arn(role_arn(&member, "OrganizationAccountAccessRole")).role_session_name("s1").duration_seconds(900).send().await.unwrap();
    let c = out.credentials().unwrap();
    let session = orgs_as_session(&org.server.endpoint, c);
    assert!(session.describe_organization().send().await.is_ok());
    // Signed for another partition's region: not this session, and not the default account.
    let cn = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::Config::builder()
            .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
            .endpoint_url(&org.server.endpoint)
            .region(aws_sdk_organizations::config::Region::new("cn-north-1"))
            .credentials_provider(Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned()), None, "test"))
            .retry_config(aws_sdk_organizations::config::retry::RetryConfig::disabled())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build(),
    );
    let e = cn.describe_organization().send().await.unwrap_err();
    assert_eq!(e.code(), Some("UnrecognizedClientException"), "{e:?}");
    // Once the session has ended: ExpiredToken, not the default account.
    clock.advance_ms(901_000);
    let e = session.describe_organization().send().await.unwrap_err();
    assert_eq!(e.code(), Some("ExpiredTokenException"), "{e:?}");
    let (code, _) = sts_err(sts_for(&org.server.endpoint, c.access_key_id(), c.secret_access_key(), Some(c.session_token())).get_caller_identity().send().await);
    assert_eq!(code, "ExpiredToken");
}

#[tokio::test]
async fn simulate_honours_a_session_policy() {
    // X leaves and founds its own organization; its role still trusts the old management
    // account, whose sessions in X are then sessions of a management account.
    let org = Org::new().await;
    let x = org.create_account("X").await;
    let as_x = org.client(&x);
    as_x.leave_organization().send().await.unwrap();
    as_x.create_organization().send().await.unwrap();
    let sts = sts_for(&org.server.endpoint, MGMT, "x", None);
    let arn = role_arn(&x, "OrganizationAccountAccessRole");
    let session_key = |policy: &'static str| {
        let sts = sts.clone();
        let arn = arn.clone();
        async move {
            let out = sts.assume_role().role_arn(arn).role_session_name("s1").policy(policy).send().await.unwrap();
            out.credentials().unwrap().access_key_id().to_string()
        }
    };
    let simulate_as = |key: String| {
        let addr = org.server.addr;
        let body = serde_json::json!({"principal": format!("arn:aws:iam::{x}:root"), "action": "s3:GetObject", "detail": true}).to_string();
        async move {
            let request = format!(
                "POST /canopy/v1/simulate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                 Authorization: AWS4-HMAC-SHA256 Credential={key}/20250101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0000\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let (status, body) = raw_exchange(addr, &request).await;
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let denied = session_key(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#).await;
    let (status, body) = simulate_as(denied).await;
    assert!(status >= 400 && body.contains("AccessDeniedException") && body.contains("organizations:DescribePolicy"), "{status} {body}");
    let allowed = session_key(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"organizations:DescribePolicy","Resource":"*"}]}"#).await;
    let (status, body) = simulate_as(allowed).await;
    assert_eq!(status, 200, "{body}");
}
