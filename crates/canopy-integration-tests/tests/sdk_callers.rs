//! Who may call what: every one of the 63 operations (rows) called through the official SDK by
//! five kinds of caller (columns), each cell a real call with input that is valid for that
//! caller, checked against the outcome api-facts §2 gives (the "Caller" column and §2.12):
//!
//! - `M`: the management account;
//! - `DA`: a member registered as delegated administrator of a service (sso.amazonaws.com);
//! - `RP`: a member the resource (delegation) policy grants policy management and policy reads;
//! - `Plain`: a member with no delegation;
//! - `Out`: an account outside any organization.
//!
//! A cell is `ok` or the exact error code (`Code` or `Code/REASON`). Rows run in table order
//! against one organization; the
//! destructive ones (DeleteResourcePolicy, DeleteOrganization, LeaveOrganization) come last.

mod common;

use std::collections::BTreeSet;
use std::fmt::Debug;

use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_organizations::types::{
    ChildType, EffectivePolicyType, HandshakeParty, HandshakePartyType, PolicyType, ResponsibilityTransferType,
};
use aws_sdk_organizations::Client;
use aws_smithy_types::DateTime;
use common::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    M,
    Da,
    Rp,
    Plain,
    Out,
}

const WHO: [Who; 5] = [Who::M, Who::Da, Who::Rp, Who::Plain, Who::Out];

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::M => "m",
            Who::Da => "da",
            Who::Rp => "rp",
            Who::Plain => "plain",
            Who::Out => "out",
        }
    }
}

const SSO: &str = "sso.amazonaws.com";
const TAG_DOC: &str = r#"{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}"#;
const OK: &str = "ok";
const AD: &str = "AccessDeniedException";
const NIU: &str = "AWSOrganizationsNotInUseException";
const HNF: &str = "HandshakeNotFoundException";

struct Row {
    op: &'static str,
    /// Expected outcome for M, DA, RP, Plain, Out.
    expect: [&'static str; 5],
}

const fn row(op: &'static str, expect: [&'static str; 5]) -> Row {
    Row { op, expect }
}

/// The table. Reads open to M+DA (api-facts §2.12) deny RP and Plain because the resource
/// policy of this fixture grants only policy management and policy reads.
const TABLE: &[Row] = &[
    // Organization
    row("DescribeOrganization", [OK, OK, OK, OK, NIU]),
    row("ListRoots", [OK, OK, AD, AD, NIU]),
    row("EnableAllFeatures", ["HandshakeConstraintViolationException/ORGANIZATION_ALREADY_HAS_ALL_FEATURES", AD, AD, AD, NIU]),
    // Accounts
    row("CreateAccount", [OK, AD, AD, AD, NIU]),
    row("CreateGovCloudAccount", [OK, AD, AD, AD, NIU]),
    row("DescribeCreateAccountStatus", [OK, OK, AD, AD, NIU]),
    row("ListCreateAccountStatus", [OK, OK, AD, AD, NIU]),
    row("DescribeAccount", [OK, OK, AD, AD, NIU]),
    row("ListAccounts", [OK, OK, AD, AD, NIU]),
    row("ListAccountsForParent", [OK, OK, AD, AD, NIU]),
    row("MoveAccount", [OK, AD, AD, AD, NIU]),
    row("CloseAccount", [OK, AD, AD, AD, NIU]),
    row("RemoveAccountFromOrganization", [OK, AD, AD, AD, NIU]),
    // Tree
    row("CreateOrganizationalUnit", [OK, AD, AD, AD, NIU]),
    row("DescribeOrganizationalUnit", [OK, OK, AD, AD, NIU]),
    row("UpdateOrganizationalUnit", [OK, AD, AD, AD, NIU]),
    row("DeleteOrganizationalUnit", [OK, AD, AD, AD, NIU]),
    row("ListOrganizationalUnitsForParent", [OK, OK, AD, AD, NIU]),
    row("ListChildren", [OK, OK, AD, AD, NIU]),
    row("ListParents", [OK, OK, AD, AD, NIU]),
    // Policies (RP: granted by the resource policy)
    row("CreatePolicy", [OK, AD, OK, AD, NIU]),
    row("DescribePolicy", [OK, OK, OK, AD, NIU]),
    row("UpdatePolicy", [OK, AD, OK, AD, NIU]),
    row("DeletePolicy", [OK, AD, OK, AD, NIU]),
    row("ListPolicies", [OK, OK, OK, AD, NIU]),
    row("ListPoliciesForTarget", [OK, OK, OK, AD, NIU]),
    row("ListTargetsForPolicy", [OK, OK, OK, AD, NIU]),
    row("AttachPolicy", [OK, AD, OK, AD, NIU]),
    row("DetachPolicy", [OK, AD, OK, AD, NIU]),
    row("EnablePolicyType", [OK, AD, OK, AD, NIU]),
    row("DisablePolicyType", [OK, AD, OK, AD, NIU]),
    // Effective policies (members get their own)
    row("DescribeEffectivePolicy", [OK, OK, OK, OK, NIU]),
    row("ListAccountsWithInvalidEffectivePolicy", [OK, OK, AD, AD, NIU]),
    row("ListEffectivePolicyValidationErrors", [OK, OK, AD, AD, NIU]),
    // Handshakes (an invitation to an account none of the callers is)
    row("InviteAccountToOrganization", [OK, AD, AD, AD, NIU]),
    row("DescribeHandshake", [OK, OK, HNF, HNF, HNF]),
    row("AcceptHandshake", [AD, AD, HNF, HNF, HNF]),
    row("DeclineHandshake", [AD, AD, HNF, HNF, HNF]),
    row("CancelHandshake", [OK, AD, HNF, HNF, HNF]),
    row("ListHandshakesForAccount", [OK, OK, OK, OK, OK]),
    row("ListHandshakesForOrganization", [OK, OK, AD, AD, NIU]),
    // Trusted access and delegated administrators
    row("EnableAWSServiceAccess", [OK, AD, AD, AD, NIU]),
    row("DisableAWSServiceAccess", [OK, AD, AD, AD, NIU]),
    row("ListAWSServiceAccessForOrganization", [OK, OK, AD, AD, NIU]),
    row("RegisterDelegatedAdministrator", [OK, AD, AD, AD, NIU]),
    row("DeregisterDelegatedAdministrator", [OK, AD, AD, AD, NIU]),
    row("ListDelegatedAdministrators", [OK, OK, AD, AD, NIU]),
    row("ListDelegatedServicesForAccount", [OK, OK, AD, AD, NIU]),
    // Tagging (RP: granted)
    row("TagResource", [OK, AD, OK, AD, NIU]),
    row("UntagResource", [OK, AD, OK, AD, NIU]),
    row("ListTagsForResource", [OK, OK, OK, AD, NIU]),
    // Responsibility transfers
    row("InviteOrganizationToTransferResponsibility", [OK, AD, AD, AD, NIU]),
    row("DescribeResponsibilityTransfer", ["ResponsibilityTransferNotFoundException", AD, AD, AD, NIU]),
    row("ListInboundResponsibilityTransfers", [OK, AD, AD, AD, NIU]),
    row("ListOutboundResponsibilityTransfers", [OK, AD, AD, AD, NIU]),
    row("UpdateResponsibilityTransfer", ["ResponsibilityTransferNotFoundException", AD, AD, AD, NIU]),
    row("TerminateResponsibilityTransfer", ["ResponsibilityTransferNotFoundException", AD, AD, AD, NIU]),
    // The resource policy (RP: DescribeResourcePolicy is granted)
    row("PutResourcePolicy", [OK, AD, AD, AD, NIU]),
    row("DescribeResourcePolicy", [OK, OK, OK, AD, NIU]),
    row("DeleteResourcePolicy", [OK, AD, AD, AD, NIU]),
    // Lifecycle, last: Out creates an organization (a fresh outsider account), members leave.
    row("CreateOrganization", ["AlreadyInOrganizationException", "AlreadyInOrganizationException", "AlreadyInOrganizationException", "AlreadyInOrganizationException", OK]),
    row("DeleteOrganization", ["OrganizationNotEmptyException", AD, AD, AD, NIU]),
    row(
        "LeaveOrganization",
        ["MasterCannotLeaveOrganizationException", "ConstraintViolationException/CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG", OK, OK, NIU],
    ),
];

/// The organization every row runs against, and the per-caller resources the rows use.
struct Fixture {
    org: Org,
    da: String,
    rp: String,
    plain: String,
    ou: String,
    empty_ou: String,
    spare_move: String,
    spare_close: String,
    spare_remove: String,
    spare_register: String,
    car_id: String,
    /// A TAG_POLICY attached to the root (every account has an effective tag policy).
    tag_policy: String,
    /// Per caller: a policy to delete, one to attach and detach.
    delete_policy: Vec<(Who, String)>,
    attach_policy: Vec<(Who, String)>,
    handshakes: Vec<(&'static str, String)>,
    other_mgmt: String,
    resource_policy: String,
}

impl Fixture {
    fn client(&self, who: Who) -> Client {
        self.org.client(match who {
            Who::M => MGMT,
            Who::Da => &self.da,
            Who::Rp => &self.rp,
            Who::Plain => &self.plain,
            Who::Out => OUTSIDER,
        })
    }
    fn per(&self, list: &[(Who, String)], who: Who) -> String {
        list.iter().find(|(w, _)| *w == who).map(|(_, id)| id.clone()).expect("per-caller resource")
    }
    fn handshake(&self, op: &str) -> String {
        self.handshakes.iter().find(|(o, _)| *o == op).map(|(_, id)| id.clone()).expect("handshake of the row")
    }
}

async fn create_policy(client: &Client, name: &str) -> String {
    let out = client.create_policy().name(name).description("").content(TAG_DOC).r#type(PolicyType::TagPolicy).send().await.unwrap();
    out.policy().unwrap().policy_summary().unwrap().id().unwrap().to_string()
}

async fn invite(client: &Client, account: &str) -> String {
    let target = HandshakeParty::builder().id(account).r#type(HandshakePartyType::Account).build().unwrap();
    let out = client.invite_account_to_organization().target(target).send().await.unwrap();
    out.handshake().unwrap().id().unwrap().to_string()
}

fn grant(rp: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PolicyAdmin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{rp}:root"}},
           "Action":["organizations:CreatePolicy","organizations:UpdatePolicy","organizations:DeletePolicy","organizations:AttachPolicy",
                     "organizations:DetachPolicy","organizations:EnablePolicyType","organizations:DisablePolicyType",
                     "organizations:TagResource","organizations:UntagResource","organizations:DescribePolicy","organizations:ListPolicies",
                     "organizations:ListPoliciesForTarget","organizations:ListTargetsForPolicy","organizations:ListTagsForResource",
                     "organizations:DescribeResourcePolicy"],
           "Resource":"*"}}]}}"#
    )
}

async fn fixture() -> Fixture {
    let org = Org::new().await;
    let m = org.mgmt.clone();
    let da = org.create_account("Service Admin").await;
    let rp = org.create_account("Policy Admin").await;
    let plain = org.create_account("Plain").await;
    let spare_move = org.create_account("Spare Move").await;
    let spare_close = org.create_account("Spare Close").await;
    let spare_remove = org.create_account("Spare Remove").await;
    let spare_register = org.create_account("Spare Register").await;
    let car = m.create_account().account_name("Status").email("status@example.org").send().await.unwrap();
    let car_id = car.create_account_status().unwrap().id().unwrap().to_string();
    wait_for_account(&m, &car_id).await;
    let ou = org.create_ou(&org.root_id, "Shared").await;
    let empty_ou = org.create_ou(&org.root_id, "Doomed").await;

    m.enable_aws_service_access().service_principal(SSO).send().await.unwrap();
    m.enable_aws_service_access().service_principal("config.amazonaws.com").send().await.unwrap();
    m.enable_aws_service_access().service_principal("ram.amazonaws.com").send().await.unwrap();
    m.register_delegated_administrator().account_id(&da).service_principal(SSO).send().await.unwrap();
    let put = m.put_resource_policy().content(grant(&rp)).send().await.unwrap();
    let resource_policy = put.resource_policy().unwrap().resource_policy_summary().unwrap().id().unwrap().to_string();

    m.enable_policy_type().root_id(&org.root_id).policy_type(PolicyType::TagPolicy).send().await.unwrap();
    let tag_policy = create_policy(&m, "root-tags").await;
    m.attach_policy().policy_id(&tag_policy).target_id(&org.root_id).send().await.unwrap();
    let mut delete_policy = Vec::new();
    let mut attach_policy = Vec::new();
    for who in WHO {
        delete_policy.push((who, create_policy(&m, &format!("delete-{}", who.label())).await));
        attach_policy.push((who, create_policy(&m, &format!("attach-{}", who.label())).await));
    }

    // One invitation per handshake row, each to an account that is none of the callers.
    let mut handshakes = Vec::new();
    for (op, account) in [("DescribeHandshake", "444444444401"), ("AcceptHandshake", "444444444402"), ("DeclineHandshake", "444444444403"), ("CancelHandshake", "444444444404")] {
        handshakes.push((op, invite(&m, account).await));
    }

    // Another organization, whose management account the transfer invitation targets.
    let other_mgmt = "888888888888".to_string();
    org.client(&other_mgmt).create_organization().send().await.expect("the other organization");

    Fixture {
        org,
        da,
        rp,
        plain,
        ou,
        empty_ou,
        spare_move,
        spare_close,
        spare_remove,
        spare_register,
        car_id,
        tag_policy,
        delete_policy,
        attach_policy,
        handshakes,
        other_mgmt,
        resource_policy,
    }
}

/// The outcome of a call: `ok`, or the error code (with `/REASON` when the answer has one).
fn outcome<T: Debug, E: ProvideErrorMetadata + Debug>(result: Result<T, SdkError<E>>) -> String {
    match result {
        Ok(_) => OK.to_string(),
        Err(err) => {
            let reason = err
                .raw_response()
                .and_then(|raw| raw.body().bytes())
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| v.get("Reason").and_then(|r| r.as_str()).map(str::to_string));
            let message = err.message().unwrap_or_default().to_string();
            let code = match err {
                SdkError::ServiceError(ctx) => ctx.into_err().code().map(str::to_string),
                other => panic!("not a service answer (invalid input?): {other:?}"),
            };
            let code = code.expect("error code");
            // A "not implemented" answer shows its message, so a mismatch says what happened.
            if code == "UnsupportedAPIEndpointException" {
                return format!("{code}: {message}");
            }
            match reason {
                Some(r) => format!("{code}/{r}"),
                None => code,
            }
        }
    }
}

/// The first day of next month, midnight UTC (a valid transfer start).
fn next_month_start() -> DateTime {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (year, month, _) = canopy_calendar::civil_from_days(now.div_euclid(86_400));
    let (y, m) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    DateTime::from_secs(canopy_calendar::days_from_civil(y, m, 1) * 86_400)
}

async fn call(fx: &Fixture, op: &str, who: Who) -> String {
    let c = fx.client(who);
    let root = fx.org.root_id.as_str();
    let label = who.label();
    let tag_type = PolicyType::TagPolicy;
    // Types each granted caller enables and then disables.
    let own_type = if who == Who::M { PolicyType::ChatbotPolicy } else { PolicyType::AiservicesOptOutPolicy };
    match op {
        "DescribeOrganization" => outcome(c.describe_organization().send().await),
        "ListRoots" => outcome(c.list_roots().send().await),
        "EnableAllFeatures" => outcome(c.enable_all_features().send().await),
        "CreateAccount" => outcome(c.create_account().account_name(format!("New {label}")).email(format!("new-{label}@example.org")).send().await),
        "CreateGovCloudAccount" => {
            outcome(c.create_gov_cloud_account().account_name(format!("Gov {label}")).email(format!("gov-{label}@example.org")).send().await)
        }
        "DescribeCreateAccountStatus" => outcome(c.describe_create_account_status().create_account_request_id(&fx.car_id).send().await),
        "ListCreateAccountStatus" => outcome(c.list_create_account_status().send().await),
        "DescribeAccount" => outcome(c.describe_account().account_id(&fx.plain).send().await),
        "ListAccounts" => outcome(c.list_accounts().send().await),
        "ListAccountsForParent" => outcome(c.list_accounts_for_parent().parent_id(root).send().await),
        "MoveAccount" => outcome(c.move_account().account_id(&fx.spare_move).source_parent_id(root).destination_parent_id(&fx.ou).send().await),
        "CloseAccount" => outcome(c.close_account().account_id(&fx.spare_close).send().await),
        "RemoveAccountFromOrganization" => outcome(c.remove_account_from_organization().account_id(&fx.spare_remove).send().await),
        "CreateOrganizationalUnit" => outcome(c.create_organizational_unit().parent_id(root).name(format!("OU {label}")).send().await),
        "DescribeOrganizationalUnit" => outcome(c.describe_organizational_unit().organizational_unit_id(&fx.ou).send().await),
        "UpdateOrganizationalUnit" => outcome(c.update_organizational_unit().organizational_unit_id(&fx.ou).name(format!("Shared {label}")).send().await),
        "DeleteOrganizationalUnit" => outcome(c.delete_organizational_unit().organizational_unit_id(&fx.empty_ou).send().await),
        "ListOrganizationalUnitsForParent" => outcome(c.list_organizational_units_for_parent().parent_id(root).send().await),
        "ListChildren" => outcome(c.list_children().parent_id(root).child_type(ChildType::OrganizationalUnit).send().await),
        "ListParents" => outcome(c.list_parents().child_id(&fx.ou).send().await),
        "CreatePolicy" => outcome(c.create_policy().name(format!("new-{label}")).description("").content(TAG_DOC).r#type(tag_type).send().await),
        "DescribePolicy" => outcome(c.describe_policy().policy_id(&fx.tag_policy).send().await),
        "UpdatePolicy" => outcome(c.update_policy().policy_id(fx.per(&fx.attach_policy, who)).description(format!("by {label}")).send().await),
        "DeletePolicy" => outcome(c.delete_policy().policy_id(fx.per(&fx.delete_policy, who)).send().await),
        "ListPolicies" => outcome(c.list_policies().filter(tag_type).send().await),
        "ListPoliciesForTarget" => outcome(c.list_policies_for_target().target_id(root).filter(tag_type).send().await),
        "ListTargetsForPolicy" => outcome(c.list_targets_for_policy().policy_id(&fx.tag_policy).send().await),
        "AttachPolicy" => outcome(c.attach_policy().policy_id(fx.per(&fx.attach_policy, who)).target_id(&fx.ou).send().await),
        "DetachPolicy" => outcome(c.detach_policy().policy_id(fx.per(&fx.attach_policy, who)).target_id(&fx.ou).send().await),
        "EnablePolicyType" => outcome(c.enable_policy_type().root_id(root).policy_type(own_type).send().await),
        "DisablePolicyType" => outcome(c.disable_policy_type().root_id(root).policy_type(own_type).send().await),
        "DescribeEffectivePolicy" => outcome(c.describe_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await),
        "ListAccountsWithInvalidEffectivePolicy" => {
            outcome(c.list_accounts_with_invalid_effective_policy().policy_type(EffectivePolicyType::TagPolicy).send().await)
        }
        "ListEffectivePolicyValidationErrors" => outcome(
            c.list_effective_policy_validation_errors().account_id(&fx.plain).policy_type(EffectivePolicyType::TagPolicy).send().await,
        ),
        "InviteAccountToOrganization" => {
            let target = HandshakeParty::builder().id(format!("5555555555{:02}", who as u8)).r#type(HandshakePartyType::Account).build().unwrap();
            outcome(c.invite_account_to_organization().target(target).send().await)
        }
        "DescribeHandshake" => outcome(c.describe_handshake().handshake_id(fx.handshake(op)).send().await),
        "AcceptHandshake" => outcome(c.accept_handshake().handshake_id(fx.handshake(op)).send().await),
        "DeclineHandshake" => outcome(c.decline_handshake().handshake_id(fx.handshake(op)).send().await),
        "CancelHandshake" => outcome(c.cancel_handshake().handshake_id(fx.handshake(op)).send().await),
        "ListHandshakesForAccount" => outcome(c.list_handshakes_for_account().send().await),
        "ListHandshakesForOrganization" => outcome(c.list_handshakes_for_organization().send().await),
        "EnableAWSServiceAccess" => outcome(c.enable_aws_service_access().service_principal("backup.amazonaws.com").send().await),
        "DisableAWSServiceAccess" => outcome(c.disable_aws_service_access().service_principal("ram.amazonaws.com").send().await),
        "ListAWSServiceAccessForOrganization" => outcome(c.list_aws_service_access_for_organization().send().await),
        "RegisterDelegatedAdministrator" => outcome(
            c.register_delegated_administrator().account_id(&fx.spare_register).service_principal("config.amazonaws.com").send().await,
        ),
        "DeregisterDelegatedAdministrator" => outcome(
            c.deregister_delegated_administrator().account_id(&fx.spare_register).service_principal("config.amazonaws.com").send().await,
        ),
        "ListDelegatedAdministrators" => outcome(c.list_delegated_administrators().send().await),
        "ListDelegatedServicesForAccount" => outcome(c.list_delegated_services_for_account().account_id(&fx.da).send().await),
        "TagResource" => outcome(c.tag_resource().resource_id(&fx.tag_policy).tags(tag(&format!("by-{label}"), "yes")).send().await),
        "UntagResource" => outcome(c.untag_resource().resource_id(&fx.tag_policy).tag_keys(format!("by-{label}")).send().await),
        "ListTagsForResource" => outcome(c.list_tags_for_resource().resource_id(&fx.tag_policy).send().await),
        "InviteOrganizationToTransferResponsibility" => {
            let target = HandshakeParty::builder().id(&fx.other_mgmt).r#type(HandshakePartyType::Account).build().unwrap();
            outcome(
                c.invite_organization_to_transfer_responsibility()
                    .r#type(ResponsibilityTransferType::Billing)
                    .target(target)
                    .start_timestamp(next_month_start())
                    .source_name(format!("Billing by {label}"))
                    .send()
                    .await,
            )
        }
        "DescribeResponsibilityTransfer" => outcome(c.describe_responsibility_transfer().id("rt-abcdefgh").send().await),
        "ListInboundResponsibilityTransfers" => outcome(c.list_inbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).send().await),
        "ListOutboundResponsibilityTransfers" => outcome(c.list_outbound_responsibility_transfers().r#type(ResponsibilityTransferType::Billing).send().await),
        "UpdateResponsibilityTransfer" => outcome(c.update_responsibility_transfer().id("rt-abcdefgh").name("Renamed").send().await),
        "TerminateResponsibilityTransfer" => outcome(c.terminate_responsibility_transfer().id("rt-abcdefgh").send().await),
        "PutResourcePolicy" => outcome(c.put_resource_policy().content(grant(&fx.rp)).send().await),
        "DescribeResourcePolicy" => outcome(c.describe_resource_policy().send().await),
        "DeleteResourcePolicy" => outcome(c.delete_resource_policy().send().await),
        // An outsider is any account in no organization: a fresh one, so `Out` stays outside.
        "CreateOrganization" => {
            let c = if who == Who::Out { fx.org.client("777777777777") } else { c };
            outcome(c.create_organization().send().await)
        }
        "DeleteOrganization" => outcome(c.delete_organization().send().await),
        "LeaveOrganization" => outcome(c.leave_organization().send().await),
        other => panic!("no call for {other}"),
    }
}

/// The 63 operations of the model (api-facts §2).
const OPERATIONS: [&str; 63] = [
    "AcceptHandshake", "AttachPolicy", "CancelHandshake", "CloseAccount", "CreateAccount", "CreateGovCloudAccount",
    "CreateOrganization", "CreateOrganizationalUnit", "CreatePolicy", "DeclineHandshake", "DeleteOrganization",
    "DeleteOrganizationalUnit", "DeletePolicy", "DeleteResourcePolicy", "DeregisterDelegatedAdministrator",
    "DescribeAccount", "DescribeCreateAccountStatus", "DescribeEffectivePolicy", "DescribeHandshake",
    "DescribeOrganization", "DescribeOrganizationalUnit", "DescribePolicy", "DescribeResourcePolicy",
    "DescribeResponsibilityTransfer", "DetachPolicy", "DisableAWSServiceAccess", "DisablePolicyType",
    "EnableAWSServiceAccess", "EnableAllFeatures", "EnablePolicyType", "InviteAccountToOrganization",
    "InviteOrganizationToTransferResponsibility", "LeaveOrganization", "ListAWSServiceAccessForOrganization",
    "ListAccounts", "ListAccountsForParent", "ListAccountsWithInvalidEffectivePolicy", "ListChildren",
    "ListCreateAccountStatus", "ListDelegatedAdministrators", "ListDelegatedServicesForAccount",
    "ListEffectivePolicyValidationErrors", "ListHandshakesForAccount", "ListHandshakesForOrganization",
    "ListInboundResponsibilityTransfers", "ListOrganizationalUnitsForParent", "ListOutboundResponsibilityTransfers",
    "ListParents", "ListPolicies", "ListPoliciesForTarget", "ListRoots", "ListTagsForResource", "ListTargetsForPolicy",
    "MoveAccount", "PutResourcePolicy", "RegisterDelegatedAdministrator", "RemoveAccountFromOrganization",
    "TagResource", "TerminateResponsibilityTransfer", "UntagResource", "UpdateOrganizationalUnit", "UpdatePolicy",
    "UpdateResponsibilityTransfer",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_for_every_kind_of_caller() {
    let rows: BTreeSet<&str> = TABLE.iter().map(|r| r.op).collect();
    assert_eq!(rows.len(), TABLE.len(), "an operation appears twice");
    assert_eq!(rows, OPERATIONS.iter().copied().collect::<BTreeSet<_>>(), "the table covers the 63 operations");

    let fx = fixture().await;
    assert!(fx.resource_policy.starts_with("rp-"));
    let mut mismatches = Vec::new();
    for row in TABLE {
        for (i, who) in WHO.iter().enumerate() {
            let got = call(&fx, row.op, *who).await;
            if got != row.expect[i] {
                mismatches.push(format!("{} as {:?}: expected {}, got {}", row.op, who, row.expect[i], got));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} cells differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
