#!/usr/bin/env python3
"""boto3 against a running Canopy: a full organization lifecycle as a landing-zone tool runs it.

Usage: test_boto3.py RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>, ... set)

Each case is a function run in order (later cases use what earlier ones built). Prints one
PASS/FAIL line per case and writes "PASSED FAILED" to RESULTS_FILE.
"""

import datetime
import re
import sys
import time

from e2e_support import MGMT, client, eq, expect_error, run_cases

assert re.fullmatch(r"\d{12}", MGMT), "AWS_ACCESS_KEY_ID must be a 12-digit account id"


org = client()
S = {}  # state shared by the cases

ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
CAR_ID = re.compile(r"^car-[a-z0-9]{8,32}$")


def match(pattern, value, what=""):
    assert isinstance(value, str) and re.fullmatch(pattern, value), f"{what}: {value!r} !~ {pattern.pattern if hasattr(pattern, 'pattern') else pattern}"


def ou_id_pattern():
    return re.compile(r"^ou-" + S["root_id"][2:] + r"-[a-z0-9]{8,32}$")


# ---------------------------------------------------------------------------------------------


def test_create_organization():
    out = org.create_organization(FeatureSet="ALL")["Organization"]
    match(ORG_ID, out["Id"], "organization id")
    S["org_id"] = out["Id"]
    eq(out["Arn"], f"arn:aws:organizations::{MGMT}:organization/{out['Id']}", "organization ARN")
    eq(out["FeatureSet"], "ALL", "FeatureSet")
    eq(out["MasterAccountId"], MGMT, "MasterAccountId")
    eq(out["MasterAccountArn"], f"arn:aws:organizations::{MGMT}:account/{out['Id']}/{MGMT}", "MasterAccountArn")
    eq(out["MasterAccountEmail"], f"account-{MGMT}@example.com", "MasterAccountEmail")
    eq(out["AvailablePolicyTypes"], [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}], "AvailablePolicyTypes")
    expect_error("AlreadyInOrganizationException", org.create_organization)


def test_describe_organization_and_roots():
    out = org.describe_organization()["Organization"]
    eq(out["Id"], S["org_id"], "describe id")
    roots = org.list_roots()
    assert "NextToken" not in roots, roots
    eq(len(roots["Roots"]), 1, "one root")
    root = roots["Roots"][0]
    match(ROOT_ID, root["Id"], "root id")
    S["root_id"] = root["Id"]
    eq(root["Arn"], f"arn:aws:organizations::{MGMT}:root/{S['org_id']}/{root['Id']}", "root ARN")
    eq(root["Name"], "Root", "root name")
    eq(root["PolicyTypes"], [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}], "root policy types")
    expect_error("AWSOrganizationsNotInUseException", client("999999999999").describe_organization)


def test_ou_tree_three_levels():
    org_id, root = S["org_id"], S["root_id"]
    pat = ou_id_pattern()
    ous = {}
    for name, parent in [("Workloads", root), ("Prod", "Workloads"), ("Web", "Prod"), ("Sandbox", root)]:
        parent_id = ous[parent]["Id"] if parent in ous else parent
        ou = org.create_organizational_unit(ParentId=parent_id, Name=name)["OrganizationalUnit"]
        match(pat, ou["Id"], f"OU id of {name}")
        eq(ou["Name"], name, "OU name")
        eq(ou["Arn"], f"arn:aws:organizations::{MGMT}:ou/{org_id}/{ou['Id']}", "OU ARN")
        parent_path = ous[parent]["Path"] if parent in ous else f"{org_id}/{root}/"
        eq(ou["Path"], f"{parent_path}{ou['Id']}/", f"OU path of {name}")
        ous[name] = ou
    S["ous"] = {k: v["Id"] for k, v in ous.items()}
    described = org.describe_organizational_unit(OrganizationalUnitId=S["ous"]["Web"])["OrganizationalUnit"]
    eq(described, ous["Web"], "DescribeOrganizationalUnit")
    # Rename keeps the id.
    renamed = org.update_organizational_unit(OrganizationalUnitId=S["ous"]["Sandbox"], Name="Sandboxes")["OrganizationalUnit"]
    eq(renamed["Id"], S["ous"]["Sandbox"], "rename keeps the id")
    eq(renamed["Name"], "Sandboxes", "new name")
    listed = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    eq(sorted(o["Name"] for o in listed), ["Sandboxes", "Workloads"], "OUs under the root")


def test_ou_errors():
    root = S["root_id"]
    e = expect_error("DuplicateOrganizationalUnitException", org.create_organizational_unit, ParentId=root, Name="Workloads")
    expect_error("ParentNotFoundException", org.create_organizational_unit, ParentId=f"ou-{root[2:]}-zzzzzzzz", Name="X")
    expect_error("InvalidInputException", org.create_organizational_unit, ParentId=root, Name="n" * 129, reason="MAX_LENGTH_EXCEEDED")
    # Two more levels under Web reach the limit of five; a sixth is refused.
    l4 = org.create_organizational_unit(ParentId=S["ous"]["Web"], Name="L4")["OrganizationalUnit"]["Id"]
    l5 = org.create_organizational_unit(ParentId=l4, Name="L5")["OrganizationalUnit"]["Id"]
    expect_error("ConstraintViolationException", org.create_organizational_unit, ParentId=l5, Name="L6", reason="OU_DEPTH_LIMIT_EXCEEDED")
    expect_error("OrganizationalUnitNotEmptyException", org.delete_organizational_unit, OrganizationalUnitId=l4)
    org.delete_organizational_unit(OrganizationalUnitId=l5)
    org.delete_organizational_unit(OrganizationalUnitId=l4)
    expect_error("OrganizationalUnitNotFoundException", org.describe_organizational_unit, OrganizationalUnitId=l4)


def test_create_ten_accounts():
    requests = []
    for i in range(10):
        status = org.create_account(Email=f"member{i}@example.org", AccountName=f"Member {i}")["CreateAccountStatus"]
        match(CAR_ID, status["Id"], "create account request id")
        eq(status["State"], "IN_PROGRESS", "CreateAccount answers IN_PROGRESS")
        eq(status["AccountName"], f"Member {i}", "AccountName")
        assert isinstance(status["RequestedTimestamp"], datetime.datetime), status
        assert "AccountId" not in status, status
        requests.append(status["Id"])
    accounts = []
    for request_id in requests:  # poll like real tools do
        deadline = time.time() + 30
        while True:
            status = org.describe_create_account_status(CreateAccountRequestId=request_id)["CreateAccountStatus"]
            if status["State"] != "IN_PROGRESS":
                break
            assert time.time() < deadline, f"{request_id} still IN_PROGRESS"
            time.sleep(0.2)
        eq(status["State"], "SUCCEEDED", f"state of {request_id} ({status.get('FailureReason')})")
        match(ACCOUNT_ID, status["AccountId"], "AccountId")
        assert isinstance(status["CompletedTimestamp"], datetime.datetime), status
        accounts.append(status["AccountId"])
    eq(len(set(accounts)), 10, "ten distinct accounts")
    S["accounts"] = accounts
    statuses = org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
    eq(sorted(s["AccountId"] for s in statuses), sorted(accounts), "ListCreateAccountStatus SUCCEEDED")


def test_create_account_failures():
    status = org.create_account(Email="member0@example.org", AccountName="Duplicate")["CreateAccountStatus"]
    status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    eq(status["State"], "FAILED", "duplicate email state")
    eq(status["FailureReason"], "EMAIL_ALREADY_EXISTS", "duplicate email reason")
    failed = org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    eq(len(failed), 1, "one FAILED request")
    expect_error("InvalidInputException", org.create_account, Email="x@example.org", AccountName="X",
                 RoleName="AWSServiceRoleForX", reason="INVALID_ROLE_NAME")
    expect_error("CreateAccountStatusNotFoundException", org.describe_create_account_status,
                 CreateAccountRequestId="car-0123456789abcdef")


def test_describe_accounts():
    org_id, root = S["org_id"], S["root_id"]
    for i, account_id in enumerate(S["accounts"]):
        a = org.describe_account(AccountId=account_id)["Account"]
        eq(a["Id"], account_id, "Id")
        eq(a["Arn"], f"arn:aws:organizations::{MGMT}:account/{org_id}/{account_id}", "account ARN")
        eq(a["Email"], f"member{i}@example.org", "Email")
        eq(a["Name"], f"Member {i}", "Name")
        eq((a["Status"], a["State"]), ("ACTIVE", "ACTIVE"), "Status/State")
        eq(a["JoinedMethod"], "CREATED", "JoinedMethod")
        assert isinstance(a["JoinedTimestamp"], datetime.datetime), a
        eq(a["Paths"], [f"{org_id}/{root}/{account_id}/"], "Paths")
    expect_error("AccountNotFoundException", org.describe_account, AccountId="000000000000")
    expect_error("InvalidInputException", org.describe_account, AccountId="12345", reason="INVALID_PATTERN")


def test_move_accounts_into_ous():
    a, ous, root, org_id = S["accounts"], S["ous"], S["root_id"], S["org_id"]
    placement = {a[0]: "Web", a[1]: "Web", a[2]: "Web", a[3]: "Prod", a[4]: "Prod", a[5]: "Prod", a[6]: "Sandbox", a[7]: "Sandbox"}
    for account_id, ou in placement.items():
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ous[ou])
    S["placement"] = placement
    for ou in ["Web", "Prod", "Sandbox"]:
        listed = org.list_accounts_for_parent(ParentId=ous[ou])["Accounts"]
        eq(sorted(x["Id"] for x in listed), sorted(k for k, v in placement.items() if v == ou), f"accounts in {ou}")
    at_root = org.list_accounts_for_parent(ParentId=root)["Accounts"]
    eq(sorted(x["Id"] for x in at_root), sorted([MGMT, a[8], a[9]]), "accounts at the root")
    web = org.describe_account(AccountId=a[0])["Account"]
    eq(web["Paths"], [f"{org_id}/{root}/{ous['Workloads']}/{ous['Prod']}/{ous['Web']}/{a[0]}/"], "path of an account in Web")
    expect_error("DuplicateAccountException", org.move_account, AccountId=a[0], SourceParentId=ous["Web"], DestinationParentId=ous["Web"])
    expect_error("SourceParentNotFoundException", org.move_account, AccountId=a[0],
                 SourceParentId=f"ou-{root[2:]}-zzzzzzzz", DestinationParentId=root)
    expect_error("DestinationParentNotFoundException", org.move_account, AccountId=a[0],
                 SourceParentId=ous["Web"], DestinationParentId=f"ou-{root[2:]}-zzzzzzzz")
    expect_error("AccountNotFoundException", org.move_account, AccountId=a[0], SourceParentId=root, DestinationParentId=ous["Prod"])


def test_tags():
    a0, web, root = S["accounts"][0], S["ous"]["Web"], S["root_id"]
    for rid in [a0, web, root]:
        org.tag_resource(ResourceId=rid, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "platform"}])
        tags = org.list_tags_for_resource(ResourceId=rid)["Tags"]
        eq(sorted((t["Key"], t["Value"]) for t in tags), [("env", "prod"), ("owner", "platform")], f"tags of {rid}")
        org.untag_resource(ResourceId=rid, TagKeys=["owner"])
        tags = org.list_tags_for_resource(ResourceId=rid)["Tags"]
        eq(tags, [{"Key": "env", "Value": "prod"}], f"tags of {rid} after untag")
    # Tags via the paginator (no MaxResults for this list).
    pages = list(org.get_paginator("list_tags_for_resource").paginate(ResourceId=root))
    eq([t["Key"] for p in pages for t in p["Tags"]], ["env"], "paginated tags")
    expect_error("InvalidInputException", org.tag_resource, ResourceId=a0, Tags=[{"Key": "aws:x", "Value": "1"}],
                 reason="INVALID_SYSTEM_TAGS_PARAMETER")
    expect_error("InvalidInputException", org.tag_resource, ResourceId=a0,
                 Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}], reason="DUPLICATE_TAG_KEY")
    expect_error("ConstraintViolationException", org.tag_resource, ResourceId=web,
                 Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)], reason="MAX_TAG_LIMIT_EXCEEDED")
    expect_error("TargetNotFoundException", org.list_tags_for_resource, ResourceId="000000000000")
    expect_error("InvalidInputException", org.list_tags_for_resource, ResourceId="not-an-id")


def test_list_accounts_pagination():
    expected = sorted([MGMT] + S["accounts"])
    # boto3 paginator with MaxResults=3 per page.
    pages = list(org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 3}))
    eq([len(p["Accounts"]) for p in pages], [3, 3, 3, 2], "page sizes")
    assert "NextToken" not in pages[-1], "no NextToken on the last page"
    ids = [a["Id"] for p in pages for a in p["Accounts"]]
    eq(sorted(ids), expected, "paginated accounts (management included, no duplicates)")
    # By hand, with MaxResults and NextToken.
    ids, token, calls = [], None, 0
    while True:
        kwargs = {"MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        out = org.list_accounts(**kwargs)
        assert len(out["Accounts"]) <= 3
        ids += [a["Id"] for a in out["Accounts"]]
        token = out.get("NextToken")
        calls += 1
        if not token:
            break
        assert calls < 20, "pagination does not end"
    eq(sorted(ids), expected, "hand-paginated accounts")
    # Paginator over a parent.
    web = [a["Id"] for p in org.get_paginator("list_accounts_for_parent").paginate(
        ParentId=S["ous"]["Web"], PaginationConfig={"PageSize": 1}) for a in p["Accounts"]]
    eq(len(web), 3, "accounts in Web via the paginator")
    expect_error("InvalidInputException", org.list_accounts, MaxResults=21, reason="MAX_VALUE_EXCEEDED")
    expect_error("InvalidInputException", org.list_accounts, NextToken="garbage", reason="INVALID_NEXT_TOKEN")


def test_children_and_parents():
    ous, root, a = S["ous"], S["root_id"], S["accounts"]
    ou_children = org.list_children(ParentId=root, ChildType="ORGANIZATIONAL_UNIT")["Children"]
    eq(sorted(c["Id"] for c in ou_children), sorted([ous["Workloads"], ous["Sandbox"]]), "OU children of the root")
    assert all(c["Type"] == "ORGANIZATIONAL_UNIT" for c in ou_children)
    acct_children = [c for p in org.get_paginator("list_children").paginate(
        ParentId=ous["Prod"], ChildType="ACCOUNT", PaginationConfig={"PageSize": 2}) for c in p["Children"]]
    eq(sorted(c["Id"] for c in acct_children), sorted(a[3:6]), "account children of Prod")
    assert all(c["Type"] == "ACCOUNT" for c in acct_children)
    eq(org.list_children(ParentId=ous["Prod"], ChildType="ORGANIZATIONAL_UNIT")["Children"],
       [{"Id": ous["Web"], "Type": "ORGANIZATIONAL_UNIT"}], "OU children of Prod")
    eq(org.list_parents(ChildId=a[0])["Parents"], [{"Id": ous["Web"], "Type": "ORGANIZATIONAL_UNIT"}], "parent of a[0]")
    eq(org.list_parents(ChildId=ous["Workloads"])["Parents"], [{"Id": root, "Type": "ROOT"}], "parent of Workloads")
    eq(org.list_parents(ChildId=a[9])["Parents"], [{"Id": root, "Type": "ROOT"}], "parent of a[9]")
    expect_error("ChildNotFoundException", org.list_parents, ChildId="000000000000")


def test_member_access():
    member = client(S["accounts"][0])
    eq(member.describe_organization()["Organization"]["Id"], S["org_id"], "member sees its organization")
    expect_error("AccessDeniedException", member.list_accounts)
    expect_error("AccessDeniedException", member.create_organizational_unit, ParentId=S["root_id"], Name="X")
    expect_error("AlreadyInOrganizationException", member.create_organization)


def test_close_account():
    victim = S["accounts"][9]
    expect_error("ConstraintViolationException", org.close_account, AccountId=MGMT, reason="CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
    org.close_account(AccountId=victim)
    a = org.describe_account(AccountId=victim)["Account"]
    eq((a["Status"], a["State"]), ("SUSPENDED", "CLOSED"), "closed account Status/State")
    expect_error("AccountAlreadyClosedException", org.close_account, AccountId=victim)
    S["closed"] = victim


def test_remove_accounts():
    expect_error("MasterCannotLeaveOrganizationException", org.remove_account_from_organization, AccountId=MGMT)
    expect_error("OrganizationNotEmptyException", org.delete_organization)
    a0 = S["accounts"][0]
    org.tag_resource(ResourceId=a0, Tags=[{"Key": "leaving", "Value": "yes"}])
    for account_id in S["accounts"]:
        if account_id == S["closed"]:
            continue
        org.remove_account_from_organization(AccountId=account_id)
        expect_error("AccountNotFoundException", org.describe_account, AccountId=account_id)
    expect_error("TargetNotFoundException", org.list_tags_for_resource, ResourceId=a0)
    expect_error("AWSOrganizationsNotInUseException", client(a0).describe_organization)
    # The closed one is still listed; it can't be removed, it leaves on its own.
    remaining = sorted(a["Id"] for a in org.list_accounts()["Accounts"])
    eq(remaining, sorted([MGMT, S["closed"]]), "accounts left")
    expect_error("ConstraintViolationException", org.remove_account_from_organization, AccountId=S["closed"])


def test_delete_ous():
    ous = S["ous"]
    expect_error("OrganizationalUnitNotEmptyException", org.delete_organizational_unit, OrganizationalUnitId=ous["Workloads"])
    for name in ["Web", "Prod", "Workloads", "Sandbox"]:
        org.delete_organizational_unit(OrganizationalUnitId=ous[name])
        expect_error("OrganizationalUnitNotFoundException", org.describe_organizational_unit, OrganizationalUnitId=ous[name])
    eq(org.list_organizational_units_for_parent(ParentId=S["root_id"])["OrganizationalUnits"], [], "no OU left")


def test_delete_organization():
    org.delete_organization()
    expect_error("AWSOrganizationsNotInUseException", org.describe_organization)
    expect_error("AWSOrganizationsNotInUseException", org.list_accounts)
    again = org.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
    match(ORG_ID, again["Id"], "new organization id")
    assert again["Id"] != S["org_id"], "a new organization"
    eq(again["FeatureSet"], "CONSOLIDATED_BILLING", "FeatureSet")
    eq(again["AvailablePolicyTypes"], [], "CB org policy types")
    org.delete_organization()


def test_partition_cn():
    cn = client(MGMT, region="cn-north-1")
    out = cn.create_organization()["Organization"]
    assert out["Arn"].startswith(f"arn:aws-cn:organizations::{MGMT}:organization/o-"), out["Arn"]
    expect_error("AWSOrganizationsNotInUseException", org.describe_organization)
    cn.delete_organization()


if __name__ == "__main__":
    sys.exit(run_cases("boto3", globals()))
