#!/usr/bin/env python3
"""boto3 against a running Canopy: trusted access, delegated administrators of services, the
resource (delegation) policy, CreateGovCloudAccount and responsibility transfers, each call made
by the account it concerns (dev auth: a 12-digit access key id is that account).

Usage: test_delegation_boto3.py RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>
set; an empty store). Prints one PASS/FAIL line per case and writes "PASSED FAILED" to
RESULTS_FILE. Cases run in order and share state (S): a case that fails leaves later ones to
report what they can.
"""

import datetime
import json
import re
import sys
import time

from botocore.exceptions import ClientError
from e2e_support import MGMT, client, eq, run_cases
from e2e_support import expect_error as _expect_error


def expect_error(code, fn, *args, reason=None, **kwargs):
    """Here an error without `reason` must carry no Reason at all."""
    return _expect_error(code, fn, *args, reason=reason, **kwargs)


assert re.fullmatch(r"\d{12}", MGMT), "AWS_ACCESS_KEY_ID must be a 12-digit account id"
OTHER_MGMT = "222222222222"  # management account of a second organization (transfers)
CB_MGMT = "555555555555"  # management account of a CONSOLIDATED_BILLING organization
OUTSIDER = "999999999999"
NOT_A_MEMBER = "123456789012"
SSO = "sso.amazonaws.com"
CONFIG_SVC = "config.amazonaws.com"
TAG_SVC = "tagpolicies.tag.amazonaws.com"
TAG_DOC = '{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}'
SCP_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}'


org = client()
S = {}  # state shared by the cases


def create_account(name):
    """CreateAccount, then DescribeCreateAccountStatus until it succeeds; the new account's id."""
    status = org.create_account(AccountName=name, Email=f"{name.lower()}@example.org")["CreateAccountStatus"]
    for _ in range(100):
        status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        if status["State"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    eq(status["State"], "SUCCEEDED", f"creation of {name}")
    return status["AccountId"]


def all_accounts(c=org):
    return [a for page in c.get_paginator("list_accounts").paginate() for a in page["Accounts"]]


def admins(c=org, **kwargs):
    pages = c.get_paginator("list_delegated_administrators").paginate(**kwargs)
    return [d for page in pages for d in page["DelegatedAdministrators"]]


def statement(principal, actions, policy_type=None, sid="Grant"):
    s = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{principal}:root"}, "Action": actions, "Resource": "*"}
    if policy_type:
        s["Condition"] = {"StringEquals": {"organizations:PolicyType": policy_type}}
    return json.dumps({"Version": "2012-10-17", "Statement": [s]})


def first_of_next_month():
    now = datetime.datetime.now(datetime.timezone.utc)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime.datetime(year, month, 1, tzinfo=datetime.timezone.utc)


def last_ms_of_month(start):
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime.datetime(year, month, 1, tzinfo=datetime.timezone.utc) - datetime.timedelta(milliseconds=1)


# --- set-up ----------------------------------------------------------------------------------------


def test_create_organization():
    o = org.create_organization(FeatureSet="ALL")["Organization"]
    S["org_id"] = o["Id"]
    S["root"] = org.list_roots()["Roots"][0]["Id"]
    S["admin"] = create_account("Admin")
    S["plain"] = create_account("Plain")
    S["ou"] = org.create_organizational_unit(ParentId=S["root"], Name="Apps")["OrganizationalUnit"]["Id"]


# --- trusted access ---------------------------------------------------------------------------------


def test_trusted_access_enable_list_disable():
    eq(org.list_aws_service_access_for_organization()["EnabledServicePrincipals"], [], "nothing enabled at first")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    org.enable_aws_service_access(ServicePrincipal=SSO)
    org.enable_aws_service_access(ServicePrincipal=CONFIG_SVC)
    listed = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    eq([p["ServicePrincipal"] for p in listed], [SSO, CONFIG_SVC], "enabled principals")
    for p in listed:
        assert isinstance(p["DateEnabled"], datetime.datetime), p
        assert before <= p["DateEnabled"] <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5), p
    org.disable_aws_service_access(ServicePrincipal=CONFIG_SVC)
    listed = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    eq([p["ServicePrincipal"] for p in listed], [SSO], "after disabling AWS Config")


def test_trusted_access_refusals():
    e = expect_error("InvalidInputException", org.enable_aws_service_access, ServicePrincipal="nope.amazonaws.com",
                     reason="UNRECOGNIZED_SERVICE_PRINCIPAL")
    assert "nope.amazonaws.com" in e.response["Error"]["Message"], e.response["Error"]["Message"]
    expect_error("AccessDeniedException", client(S["plain"]).enable_aws_service_access, ServicePrincipal=CONFIG_SVC)
    expect_error("AccessDeniedException", client(S["plain"]).list_aws_service_access_for_organization)
    expect_error("AWSOrganizationsNotInUseException", client(OUTSIDER).list_aws_service_access_for_organization)


def test_consolidated_billing_organization_has_no_trusted_access():
    cb = client(CB_MGMT)
    eq(cb.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]["FeatureSet"], "CONSOLIDATED_BILLING", "feature set")
    expect_error("ConstraintViolationException", cb.enable_aws_service_access, ServicePrincipal=SSO,
                 reason="ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")
    eq(cb.list_aws_service_access_for_organization()["EnabledServicePrincipals"], [], "nothing enabled")


# --- delegated administrators -------------------------------------------------------------------------


def test_register_delegated_administrator():
    org.register_delegated_administrator(AccountId=S["admin"], ServicePrincipal=SSO)
    everyone = admins()
    eq([d["Id"] for d in everyone], [S["admin"]], "delegated administrators")
    d = everyone[0]
    eq(d["Arn"], f"arn:aws:organizations::{MGMT}:account/{S['org_id']}/{S['admin']}", "Arn")
    eq((d["Name"], d["Email"], d["JoinedMethod"]), ("Admin", "admin@example.org", "CREATED"), "Name, Email, JoinedMethod")
    eq(d.get("State", "ACTIVE"), "ACTIVE", "State")
    assert isinstance(d["DelegationEnabledDate"], datetime.datetime) and isinstance(d["JoinedTimestamp"], datetime.datetime), d
    eq([x["Id"] for x in admins(ServicePrincipal=SSO)], [S["admin"]], "filtered by IAM Identity Center")
    # AWS Config's trusted access is back on, with no administrator.
    org.enable_aws_service_access(ServicePrincipal=CONFIG_SVC)
    eq(admins(ServicePrincipal=CONFIG_SVC), [], "filtered by AWS Config")
    services = org.list_delegated_services_for_account(AccountId=S["admin"])["DelegatedServices"]
    eq([s["ServicePrincipal"] for s in services], [SSO], "delegated services")
    assert isinstance(services[0]["DelegationEnabledDate"], datetime.datetime), services


def test_register_refusals():
    reg = org.register_delegated_administrator
    expect_error("ConstraintViolationException", reg, AccountId=MGMT, ServicePrincipal=SSO,
                 reason="CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
    expect_error("AccountNotFoundException", reg, AccountId=NOT_A_MEMBER, ServicePrincipal=SSO)
    expect_error("AccountAlreadyRegisteredException", reg, AccountId=S["admin"], ServicePrincipal=SSO)
    # GuardDuty supports a delegated administrator but has no trusted access here.
    expect_error("ConstraintViolationException", reg, AccountId=S["plain"], ServicePrincipal="guardduty.amazonaws.com",
                 reason="SERVICE_ACCESS_NOT_ENABLED")
    expect_error("InvalidInputException", reg, AccountId=S["plain"], ServicePrincipal="nope.amazonaws.com",
                 reason="UNRECOGNIZED_SERVICE_PRINCIPAL")
    expect_error("AccessDeniedException", client(S["admin"]).register_delegated_administrator,
                 AccountId=S["plain"], ServicePrincipal=CONFIG_SVC)
    expect_error("AccountNotRegisteredException", org.list_delegated_services_for_account, AccountId=S["plain"])
    eq([d["Id"] for d in admins()], [S["admin"]], "refusals registered nobody")


def test_delegated_administrator_reads():
    admin = client(S["admin"])
    eq(sorted(a["Id"] for a in all_accounts(admin)), sorted([MGMT, S["admin"], S["plain"]]), "ListAccounts as the administrator")
    ou = admin.describe_organizational_unit(OrganizationalUnitId=S["ou"])["OrganizationalUnit"]
    eq((ou["Id"], ou["Name"]), (S["ou"], "Apps"), "DescribeOrganizationalUnit as the administrator")
    scps = admin.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    eq([p["Id"] for p in scps], ["p-FullAWSAccess"], "ListPolicies as the administrator")
    eq([d["Id"] for d in admins(admin)], [S["admin"]], "ListDelegatedAdministrators as the administrator")
    eq(admin.describe_organization()["Organization"]["Id"], S["org_id"], "DescribeOrganization")
    # Every read AWS opens to a service's delegated administrator (api-facts §2.12) answers it:
    # with its result, or with the operation's own business error, never AccessDenied.
    car = org.list_create_account_status()["CreateAccountStatuses"][0]["Id"]
    reads = {
        "DescribeAccount": lambda: admin.describe_account(AccountId=S["plain"]),
        "DescribeCreateAccountStatus": lambda: admin.describe_create_account_status(CreateAccountRequestId=car),
        "DescribeEffectivePolicy": lambda: admin.describe_effective_policy(PolicyType="TAG_POLICY"),
        "DescribePolicy": lambda: admin.describe_policy(PolicyId="p-FullAWSAccess"),
        "DescribeResourcePolicy": lambda: admin.describe_resource_policy(),
        "ListAccountsForParent": lambda: admin.list_accounts_for_parent(ParentId=S["root"]),
        "ListAWSServiceAccessForOrganization": lambda: admin.list_aws_service_access_for_organization(),
        "ListChildren": lambda: admin.list_children(ParentId=S["root"], ChildType="ORGANIZATIONAL_UNIT"),
        "ListCreateAccountStatus": lambda: admin.list_create_account_status(),
        "ListDelegatedServicesForAccount": lambda: admin.list_delegated_services_for_account(AccountId=S["admin"]),
        "ListHandshakesForOrganization": lambda: admin.list_handshakes_for_organization(),
        "ListOrganizationalUnitsForParent": lambda: admin.list_organizational_units_for_parent(ParentId=S["root"]),
        "ListParents": lambda: admin.list_parents(ChildId=S["plain"]),
        "ListPoliciesForTarget": lambda: admin.list_policies_for_target(TargetId=S["root"], Filter="SERVICE_CONTROL_POLICY"),
        "ListRoots": lambda: admin.list_roots(),
        "ListTagsForResource": lambda: admin.list_tags_for_resource(ResourceId=S["plain"]),
        "ListTargetsForPolicy": lambda: admin.list_targets_for_policy(PolicyId="p-FullAWSAccess"),
    }
    # The business errors a read may give here: no resource policy, no effective tag policy.
    allowed_errors = {"DescribeResourcePolicy": "ResourcePolicyNotFoundException",
                      "DescribeEffectivePolicy": "EffectivePolicyNotFoundException"}
    for name, call in reads.items():
        try:
            call()
        except ClientError as e:
            eq(e.response["Error"]["Code"], allowed_errors.get(name), f"{name} as the delegated administrator")
    # A plain member reads none of it.
    expect_error("AccessDeniedException", client(S["plain"]).list_accounts)
    expect_error("AccessDeniedException", client(S["plain"]).describe_organizational_unit, OrganizationalUnitId=S["ou"])


def test_delegated_administrator_writes_are_denied():
    admin = client(S["admin"])
    expect_error("AccessDeniedException", admin.create_organizational_unit, ParentId=S["root"], Name="Nope")
    expect_error("AccessDeniedException", admin.create_policy, Name="n", Description="", Content=SCP_DOC, Type="SERVICE_CONTROL_POLICY")
    expect_error("AccessDeniedException", admin.attach_policy, PolicyId="p-FullAWSAccess", TargetId=S["ou"])
    eq([o["Name"] for o in org.list_organizational_units_for_parent(ParentId=S["root"])["OrganizationalUnits"]], ["Apps"], "no OU made")


def test_delegated_administrator_cannot_be_removed():
    expect_error("ConstraintViolationException", org.remove_account_from_organization, AccountId=S["admin"],
                 reason="CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
    expect_error("ConstraintViolationException", client(S["admin"]).leave_organization,
                 reason="CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
    eq(org.describe_account(AccountId=S["admin"])["Account"]["Status"], "ACTIVE", "still a member")


def test_deregister_then_reads_are_denied():
    org.deregister_delegated_administrator(AccountId=S["admin"], ServicePrincipal=SSO)
    eq(admins(), [], "no delegated administrator left")
    expect_error("AccountNotRegisteredException", org.deregister_delegated_administrator, AccountId=S["admin"], ServicePrincipal=SSO)
    expect_error("AccountNotRegisteredException", org.list_delegated_services_for_account, AccountId=S["admin"])
    admin = client(S["admin"])
    expect_error("AccessDeniedException", admin.list_accounts)
    expect_error("AccessDeniedException", admin.describe_organizational_unit, OrganizationalUnitId=S["ou"])
    expect_error("AccessDeniedException", admin.list_policies, Filter="SERVICE_CONTROL_POLICY")


def test_disabling_trusted_access_deregisters_the_service_administrators():
    # AWS Config admits several delegated administrators; the paginator follows NextToken.
    for account in (S["admin"], S["plain"]):
        org.register_delegated_administrator(AccountId=account, ServicePrincipal=CONFIG_SVC)
    paged = admins(ServicePrincipal=CONFIG_SVC, PaginationConfig={"PageSize": 1})
    eq([d["Id"] for d in paged], [S["admin"], S["plain"]], "AWS Config's administrators, one per page")
    eq(len(client(S["plain"]).list_accounts()["Accounts"]), 3, "an administrator of AWS Config reads too")
    org.disable_aws_service_access(ServicePrincipal=CONFIG_SVC)
    eq(admins(), [], "no administrator once AWS Config's trusted access is off")
    expect_error("AccessDeniedException", client(S["plain"]).list_accounts)
    expect_error("ConstraintViolationException", org.register_delegated_administrator, AccountId=S["plain"], ServicePrincipal=CONFIG_SVC,
                 reason="SERVICE_ACCESS_NOT_ENABLED")


# --- the resource (delegation) policy -------------------------------------------------------------------


def test_resource_policy_put_with_tags_and_describe():
    expect_error("ResourcePolicyNotFoundException", org.describe_resource_policy)
    # The delegate may manage tag policies, and nothing else.
    org.enable_aws_service_access(ServicePrincipal=TAG_SVC)
    org.enable_policy_type(RootId=S["root"], PolicyType="TAG_POLICY")
    content = statement(
        S["plain"],
        ["organizations:CreatePolicy", "organizations:AttachPolicy", "organizations:DescribePolicy", "organizations:ListPolicies"],
        policy_type="TAG_POLICY",
    )
    rp = org.put_resource_policy(Content=content, Tags=[{"Key": "team", "Value": "platform"}])["ResourcePolicy"]
    summary = rp["ResourcePolicySummary"]
    assert re.fullmatch(r"rp-[0-9a-z]{8}", summary["Id"]), summary
    eq(summary["Arn"], f"arn:aws:organizations::{MGMT}:resourcepolicy/{S['org_id']}/{summary['Id']}", "Arn")
    eq(rp["Content"], content, "Content in the answer")
    described = org.describe_resource_policy()["ResourcePolicy"]
    eq(described["Content"], content, "Content round-trips")
    eq(described["ResourcePolicySummary"], summary, "summary")
    eq(org.list_tags_for_resource(ResourceId=summary["Id"])["Tags"], [{"Key": "team", "Value": "platform"}], "tags")
    S["rp"] = summary["Id"]


def test_resource_policy_grantee_manages_tag_policies_only():
    delegate = client(S["plain"])
    p = delegate.create_policy(Name="cost", Description="cost centers", Content=TAG_DOC, Type="TAG_POLICY")["Policy"]["PolicySummary"]
    eq((p["Type"], p["AwsManaged"]), ("TAG_POLICY", False), "created by the delegate")
    delegate.attach_policy(PolicyId=p["Id"], TargetId=S["ou"])
    attached = org.list_policies_for_target(TargetId=S["ou"], Filter="TAG_POLICY")["Policies"]
    eq([x["Id"] for x in attached], [p["Id"]], "attached by the delegate")
    eq(delegate.describe_policy(PolicyId=p["Id"])["Policy"]["Content"], TAG_DOC, "described by the delegate")
    eq([x["Id"] for x in delegate.list_policies(Filter="TAG_POLICY")["Policies"]], [p["Id"]], "listed by the delegate")
    # Not an SCP, neither a new one nor the management account's.
    expect_error("AccessDeniedException", delegate.create_policy, Name="deny", Description="", Content=SCP_DOC,
                 Type="SERVICE_CONTROL_POLICY")
    expect_error("AccessDeniedException", delegate.attach_policy, PolicyId="p-FullAWSAccess", TargetId=S["ou"])
    expect_error("AccessDeniedException", delegate.list_policies, Filter="SERVICE_CONTROL_POLICY")
    # Nor an action the grant leaves out, nor anything for another member.
    expect_error("AccessDeniedException", delegate.delete_policy, PolicyId=p["Id"])
    expect_error("AccessDeniedException", client(S["admin"]).create_policy, Name="x", Description="", Content=TAG_DOC, Type="TAG_POLICY")
    S["tag_policy"] = p["Id"]


def test_resource_policy_replace():
    content = statement(S["plain"], ["organizations:DescribePolicy"], policy_type="TAG_POLICY", sid="ReadOnly")
    e = expect_error("InvalidInputException", org.put_resource_policy, Content=content, Tags=[{"Key": "k", "Value": "v"}])
    assert "UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED" in e.response["Error"]["Message"], e.response["Error"]
    rp = org.put_resource_policy(Content=content)["ResourcePolicy"]
    eq(rp["ResourcePolicySummary"]["Id"], S["rp"], "replacing keeps the id")
    eq(org.describe_resource_policy()["ResourcePolicy"]["Content"], content, "replaced content")
    delegate = client(S["plain"])
    eq(delegate.describe_policy(PolicyId=S["tag_policy"])["Policy"]["PolicySummary"]["Name"], "cost", "still granted")
    expect_error("AccessDeniedException", delegate.create_policy, Name="c2", Description="", Content=TAG_DOC, Type="TAG_POLICY")
    S["rp_content"] = content


def test_resource_policy_malformed_content():
    # The model lists no MalformedPolicyDocumentException for PutResourcePolicy: AWS answers
    # InvalidInputException with the reason INVALID_RESOURCE_POLICY_JSON.
    expect_error("InvalidInputException", org.put_resource_policy, Content="{not json", reason="INVALID_RESOURCE_POLICY_JSON")
    bad_effect = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Maybe", "Principal": "*", "Action": "organizations:ListRoots", "Resource": "*"}]})
    expect_error("InvalidInputException", org.put_resource_policy, Content=bad_effect, reason="INVALID_RESOURCE_POLICY_JSON")
    not_delegable = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "organizations:CreateAccount", "Resource": "*"}]})
    expect_error("InvalidInputException", org.put_resource_policy, Content=not_delegable, reason="UNSUPPORTED_ACTION_IN_RESOURCE_POLICY")
    eq(org.describe_resource_policy()["ResourcePolicy"]["Content"], S["rp_content"], "refusals leave it unchanged")
    expect_error("AccessDeniedException", client(S["plain"]).put_resource_policy, Content=S["rp_content"])


def test_resource_policy_delete():
    expect_error("AccessDeniedException", client(S["plain"]).delete_resource_policy)
    org.delete_resource_policy()
    expect_error("ResourcePolicyNotFoundException", org.describe_resource_policy)
    expect_error("ResourcePolicyNotFoundException", org.delete_resource_policy)
    expect_error("TargetNotFoundException", org.list_tags_for_resource, ResourceId=S["rp"])
    expect_error("AccessDeniedException", client(S["plain"]).describe_policy, PolicyId=S["tag_policy"])


# AWS's documented example "View organization, OUs, accounts, and policies" (Organizations user
# guide, resource-based policy examples): the reads a delegation policy can grant a member.
DOCUMENTED_READS = [
    "DescribeOrganization", "DescribeOrganizationalUnit", "DescribeAccount", "DescribePolicy", "DescribeEffectivePolicy",
    "ListRoots", "ListOrganizationalUnitsForParent", "ListParents", "ListChildren", "ListAccounts", "ListAccountsForParent",
    "ListPolicies", "ListPoliciesForTarget", "ListTargetsForPolicy", "ListTagsForResource",
]


def test_resource_policy_grants_the_documented_reads():
    member = client(S["plain"])
    org.put_resource_policy(Content=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DelegatingNecessaryDescribeListActions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{S['plain']}:root"},
        "Action": [f"organizations:{a}" for a in DOCUMENTED_READS], "Resource": "*"}]}))
    calls = {
        "ListAccounts": lambda: member.list_accounts(),
        "ListRoots": lambda: member.list_roots(),
        "DescribeOrganizationalUnit": lambda: member.describe_organizational_unit(OrganizationalUnitId=S["ou"]),
        "DescribeAccount": lambda: member.describe_account(AccountId=S["admin"]),
        "ListOrganizationalUnitsForParent": lambda: member.list_organizational_units_for_parent(ParentId=S["root"]),
        "ListParents": lambda: member.list_parents(ChildId=S["admin"]),
        "ListChildren": lambda: member.list_children(ParentId=S["root"], ChildType="ACCOUNT"),
        "ListAccountsForParent": lambda: member.list_accounts_for_parent(ParentId=S["root"]),
        "ListPolicies": lambda: member.list_policies(Filter="SERVICE_CONTROL_POLICY"),
        "DescribePolicy": lambda: member.describe_policy(PolicyId="p-FullAWSAccess"),
        "ListPoliciesForTarget": lambda: member.list_policies_for_target(TargetId=S["root"], Filter="SERVICE_CONTROL_POLICY"),
        "ListTargetsForPolicy": lambda: member.list_targets_for_policy(PolicyId="p-FullAWSAccess"),
        "ListTagsForResource": lambda: member.list_tags_for_resource(ResourceId=S["admin"]),
    }
    denied = []
    try:
        for name, call in calls.items():
            try:
                call()
            except ClientError as e:
                denied.append(f"{name}: {e.response['Error']['Code']}")
        # Writes stay out of reach.
        expect_error("AccessDeniedException", member.create_organizational_unit, ParentId=S["root"], Name="Nope")
    finally:
        org.delete_resource_policy()
    eq(denied, [], "reads the policy grants, refused")


# --- GovCloud ------------------------------------------------------------------------------------------


def test_create_gov_cloud_account():
    status = org.create_gov_cloud_account(AccountName="Gov", Email="gov@example.org", Tags=[{"Key": "env", "Value": "gov"}])[
        "CreateAccountStatus"]
    assert re.fullmatch(r"car-[a-z0-9]{8,32}", status["Id"]), status
    eq(status["State"], "IN_PROGRESS", "the call answers IN_PROGRESS")
    eq(status["AccountName"], "Gov", "AccountName")
    for _ in range(100):
        status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        if status["State"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    eq(status["State"], "SUCCEEDED", "state")
    commercial, gov = status["AccountId"], status["GovCloudAccountId"]
    assert re.fullmatch(r"\d{12}", commercial) and re.fullmatch(r"\d{12}", gov) and commercial != gov, status
    listed = {a["Id"]: a for a in all_accounts()}
    assert commercial in listed and gov not in listed, sorted(listed)
    eq((listed[commercial]["Name"], listed[commercial]["Email"], listed[commercial]["JoinedMethod"]), ("Gov", "gov@example.org", "CREATED"),
       "the commercial account")
    eq(org.list_tags_for_resource(ResourceId=commercial)["Tags"], [{"Key": "env", "Value": "gov"}], "tags on the commercial account")
    expect_error("AccountNotFoundException", org.describe_account, AccountId=gov)
    statuses = org.list_create_account_status()["CreateAccountStatuses"]
    eq([s.get("GovCloudAccountId") for s in statuses if s["Id"] == status["Id"]], [gov], "listed status")
    expect_error("AccessDeniedException", client(S["plain"]).create_gov_cloud_account, AccountName="X", Email="x@example.org")


# --- responsibility transfers ---------------------------------------------------------------------------


def test_transfer_invite():
    other = client(OTHER_MGMT)
    S["other_org"] = other.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    start = first_of_next_month()
    h = org.invite_organization_to_transfer_responsibility(
        Type="BILLING", Target={"Id": OTHER_MGMT, "Type": "ACCOUNT"}, StartTimestamp=start, SourceName="Billing of B",
        Notes="please accept")["Handshake"]
    eq((h["Action"], h["State"]), ("TRANSFER_RESPONSIBILITY", "REQUESTED"), "handshake")
    eq(h["Arn"], f"arn:aws:organizations::{MGMT}:handshake/{S['org_id']}/transfer_responsibility/{h['Id']}", "Arn")
    eq(h["Parties"], [{"Id": S["org_id"], "Type": "ORGANIZATION"}, {"Id": OTHER_MGMT, "Type": "ACCOUNT"}], "Parties")
    resources = {r["Type"]: r.get("Value") for r in h["Resources"]}
    assert re.fullmatch(r"rt-[0-9a-z]{8,32}", resources.get("RESPONSIBILITY_TRANSFER", "")), resources
    eq(resources.get("TRANSFER_TYPE"), "BILLING", "TRANSFER_TYPE")
    eq(resources.get("NOTES"), "please accept", "NOTES")
    S["h_transfer"], S["transfer"], S["start"] = h["Id"], resources["RESPONSIBILITY_TRANSFER"], start
    expect_error("DuplicateHandshakeException", org.invite_organization_to_transfer_responsibility,
                 Type="BILLING", Target={"Id": OTHER_MGMT, "Type": "ACCOUNT"}, StartTimestamp=start, SourceName="again")


def test_transfer_refusals():
    start = first_of_next_month()
    expect_error("AccessDeniedException", client(S["plain"]).invite_organization_to_transfer_responsibility,
                 Type="BILLING", Target={"Id": OTHER_MGMT, "Type": "ACCOUNT"}, StartTimestamp=start, SourceName="n")
    expect_error("HandshakeConstraintViolationException", org.invite_organization_to_transfer_responsibility,
                 Type="BILLING", Target={"Id": MGMT, "Type": "ACCOUNT"}, StartTimestamp=start, SourceName="n",
                 reason="SOURCE_AND_TARGET_CANNOT_MATCH")
    expect_error("InvalidInputException", org.invite_organization_to_transfer_responsibility,
                 Type="BILLING", Target={"Id": OTHER_MGMT, "Type": "ACCOUNT"}, StartTimestamp=start + datetime.timedelta(days=1),
                 SourceName="n", reason="START_DATE_NOT_BEGINNING_OF_MONTH")
    expect_error("AccessDeniedException", client(OTHER_MGMT).cancel_handshake, HandshakeId=S["h_transfer"])
    expect_error("AccessDeniedException", org.accept_handshake, HandshakeId=S["h_transfer"])


def test_transfer_accepted_by_the_other_management_account():
    other = client(OTHER_MGMT)
    received = [h for page in other.get_paginator("list_handshakes_for_account").paginate() for h in page["Handshakes"]]
    eq([(h["Id"], h["Action"], h["State"]) for h in received], [(S["h_transfer"], "TRANSFER_RESPONSIBILITY", "REQUESTED")],
       "the other management account's handshakes")
    eq(other.accept_handshake(HandshakeId=S["h_transfer"])["Handshake"]["State"], "ACCEPTED", "accepted")


def test_transfer_both_sides_list_and_describe():
    other = client(OTHER_MGMT)
    t = S["transfer"]
    inbound = org.list_inbound_responsibility_transfers(Type="BILLING")["ResponsibilityTransfers"]
    eq([(x["Id"], x["Status"]) for x in inbound], [(t, "ACCEPTED")], "the inviter's inbound transfers")
    eq(org.list_outbound_responsibility_transfers(Type="BILLING")["ResponsibilityTransfers"], [], "the inviter's outbound transfers")
    outbound = other.list_outbound_responsibility_transfers(Type="BILLING")["ResponsibilityTransfers"]
    eq([(x["Id"], x["Status"]) for x in outbound], [(t, "ACCEPTED")], "the other side's outbound transfers")
    eq(other.list_inbound_responsibility_transfers(Type="BILLING")["ResponsibilityTransfers"], [], "the other side's inbound transfers")
    mine = org.describe_responsibility_transfer(Id=t)["ResponsibilityTransfer"]
    eq(mine["Arn"], f"arn:aws:organizations::{MGMT}:transfer/{S['org_id']}/billing/inbound/{t}", "inviter's Arn")
    eq((mine["Name"], mine["Type"], mine["Status"]), ("Billing of B", "BILLING", "ACCEPTED"), "Name, Type, Status")
    eq(mine["Source"]["ManagementAccountId"], OTHER_MGMT, "Source")
    eq(mine["Target"]["ManagementAccountId"], MGMT, "Target")
    eq(mine["StartTimestamp"], S["start"], "StartTimestamp")
    theirs = other.describe_responsibility_transfer(Id=t)["ResponsibilityTransfer"]
    eq(theirs["Arn"], f"arn:aws:organizations::{OTHER_MGMT}:transfer/{S['other_org']}/billing/outbound/{t}", "other side's Arn")
    expect_error("ResponsibilityTransferNotFoundException", client(CB_MGMT).describe_responsibility_transfer, Id=t)
    expect_error("AccessDeniedException", client(S["plain"]).list_inbound_responsibility_transfers, Type="BILLING")


def test_transfer_rename_and_delete_refused():
    other = client(OTHER_MGMT)
    renamed = other.update_responsibility_transfer(Id=S["transfer"], Name="Paid by A")["ResponsibilityTransfer"]
    eq(renamed["Name"], "Paid by A", "renamed")
    eq(org.describe_responsibility_transfer(Id=S["transfer"])["ResponsibilityTransfer"]["Name"], "Paid by A", "seen by the inviter")
    # The other organization has no member, so the transfer is what stops its deletion.
    expect_error("ConstraintViolationException", other.delete_organization, reason="ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS")


def test_transfer_terminate():
    ended = org.terminate_responsibility_transfer(Id=S["transfer"])["ResponsibilityTransfer"]
    eq(ended["Status"], "WITHDRAWN", "Status")
    eq(ended["EndTimestamp"], last_ms_of_month(S["start"]), "ends with the start month")
    eq(client(OTHER_MGMT).describe_responsibility_transfer(Id=S["transfer"])["ResponsibilityTransfer"]["Status"], "WITHDRAWN", "other side")
    expect_error("ResponsibilityTransferAlreadyInStatusException", client(OTHER_MGMT).terminate_responsibility_transfer, Id=S["transfer"])
    # In force until it ends: the organization still can't be deleted.
    expect_error("ConstraintViolationException", client(OTHER_MGMT).delete_organization, reason="ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS")


if __name__ == "__main__":
    sys.exit(run_cases("delegation-boto3", globals()))
