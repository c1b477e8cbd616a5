#!/usr/bin/env python3
"""boto3 against a running Canopy: invitations and handshakes as the accounts involved make them.

The management account invites one account by id and one by email; each invitee, with its own
credentials (dev auth: a 12-digit access key id is that account), lists its handshakes and
accepts or declines; the refusals AWS documents; and a CONSOLIDATED_BILLING organization moving
to all features.

Usage: test_governance_boto3.py RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>
set; an empty store). Prints one PASS/FAIL line per case and writes "PASSED FAILED" to
RESULTS_FILE.
"""

import re
import sys

from e2e_support import MGMT, client, eq, run_cases
from e2e_support import expect_error as _expect_error


def expect_error(code, fn, *args, reason=None, **kwargs):
    """Here an error without `reason` must carry no Reason at all."""
    return _expect_error(code, fn, *args, reason=reason, **kwargs)


assert re.fullmatch(r"\d{12}", MGMT), "AWS_ACCESS_KEY_ID must be a 12-digit account id"
BY_ID = "222222222222"
BY_EMAIL = "333333333333"
# A standalone account Canopy has not seen yet has the address account-<id>@example.com.
EMAIL = f"Account-{BY_EMAIL}@Example.com"
STRANGER = "999999999999"
HANDSHAKE_ID = r"h-[0-9a-z]{8,32}"


org = client()
S = {}  # state shared by the cases


def received(account_id, **kwargs):
    pages = client(account_id).get_paginator("list_handshakes_for_account").paginate(**kwargs)
    return [h for page in pages for h in page["Handshakes"]]


def sent(**kwargs):
    pages = org.get_paginator("list_handshakes_for_organization").paginate(**kwargs)
    return [h for page in pages for h in page["Handshakes"]]


def test_create_organization():
    S["org_id"] = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]


def test_invite_by_account_id():
    h = org.invite_account_to_organization(
        Target={"Id": BY_ID, "Type": "ACCOUNT"}, Notes="Join us", Tags=[{"Key": "team", "Value": "red"}]
    )["Handshake"]
    assert re.fullmatch(HANDSHAKE_ID, h["Id"]), h["Id"]
    eq(h["Arn"], f"arn:aws:organizations::{MGMT}:handshake/{S['org_id']}/invite/{h['Id']}", "Arn")
    eq(h["Action"], "INVITE", "Action")
    eq(h["State"], "OPEN", "State")
    eq(h["Parties"], [{"Id": S["org_id"], "Type": "ORGANIZATION"}, {"Id": BY_ID, "Type": "ACCOUNT"}], "Parties")
    eq([r["Type"] for r in h["Resources"]], ["ORGANIZATION", "ACCOUNT", "NOTES"], "resource types")
    eq(h["Resources"][2]["Value"], "Join us", "NOTES")
    eq((h["ExpirationTimestamp"] - h["RequestedTimestamp"]).days, 15, "expiry")
    S["by_id"] = h["Id"]


def test_invite_by_email():
    h = org.invite_account_to_organization(Target={"Id": EMAIL, "Type": "EMAIL"})["Handshake"]
    eq(h["Parties"][1], {"Id": EMAIL, "Type": "EMAIL"}, "email party")
    eq(h["Resources"][1], {"Type": "EMAIL", "Value": EMAIL}, "email resource")
    S["by_email"] = h["Id"]


def test_invitees_see_their_invitations():
    mine = received(BY_ID)
    eq([h["Id"] for h in mine], [S["by_id"]], "handshakes of the invitee by id")
    eq([h["Id"] for h in received(BY_EMAIL)], [S["by_email"]], "handshakes of the invitee by email")
    eq(received(STRANGER), [], "a stranger receives nothing")
    eq(client(BY_ID).describe_handshake(HandshakeId=S["by_id"])["Handshake"]["State"], "OPEN", "described")
    expect_error("HandshakeNotFoundException", client(STRANGER).describe_handshake, HandshakeId=S["by_id"])
    expect_error("AWSOrganizationsNotInUseException", client(BY_ID).describe_organization)


def test_accept_and_decline():
    h = client(BY_ID).accept_handshake(HandshakeId=S["by_id"])["Handshake"]
    eq(h["State"], "ACCEPTED", "accepted")
    h = client(BY_EMAIL).decline_handshake(HandshakeId=S["by_email"])["Handshake"]
    eq(h["State"], "DECLINED", "declined")


def test_new_member_sees_the_organization():
    o = client(BY_ID).describe_organization()["Organization"]
    eq(o["Id"], S["org_id"], "organization of the new member")
    eq(o["MasterAccountId"], MGMT, "management account")
    expect_error("AWSOrganizationsNotInUseException", client(BY_EMAIL).describe_organization)


def test_list_accounts_shows_invited():
    accounts = {a["Id"]: a for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
    eq(sorted(accounts), sorted([MGMT, BY_ID]), "accounts")
    eq(accounts[BY_ID]["JoinedMethod"], "INVITED", "JoinedMethod")
    eq(accounts[MGMT]["JoinedMethod"], "INVITED", "management JoinedMethod (as AWS shows it)")
    eq(org.list_tags_for_resource(ResourceId=BY_ID)["Tags"], [{"Key": "team", "Value": "red"}], "invitation tags")
    eq([p["Id"] for p in org.list_parents(ChildId=BY_ID)["Parents"]], [org.list_roots()["Roots"][0]["Id"]], "under the root")


def test_refusals():
    member = client(BY_ID)
    expect_error("AccessDeniedException", member.invite_account_to_organization, Target={"Id": "444444444444", "Type": "ACCOUNT"})
    expect_error("AccessDeniedException", member.list_handshakes_for_organization)
    expect_error("HandshakeAlreadyInStateException", member.accept_handshake, HandshakeId=S["by_id"])
    expect_error("HandshakeAlreadyInStateException", client(BY_EMAIL).decline_handshake, HandshakeId=S["by_email"])
    expect_error("InvalidHandshakeTransitionException", client(BY_EMAIL).accept_handshake, HandshakeId=S["by_email"])
    expect_error("HandshakeConstraintViolationException", org.invite_account_to_organization,
                 Target={"Id": BY_ID, "Type": "ACCOUNT"}, reason="ALREADY_IN_AN_ORGANIZATION")
    expect_error("InvalidInputException", org.invite_account_to_organization,
                 Target={"Id": S["org_id"], "Type": "ORGANIZATION"}, reason="INVALID_PARTY_TYPE_TARGET")
    h = org.invite_account_to_organization(Target={"Id": "444444444444", "Type": "ACCOUNT"})["Handshake"]
    expect_error("DuplicateHandshakeException", org.invite_account_to_organization, Target={"Id": "444444444444", "Type": "ACCOUNT"})
    expect_error("AccessDeniedException", client("444444444444").cancel_handshake, HandshakeId=h["Id"])
    eq(org.cancel_handshake(HandshakeId=h["Id"])["Handshake"]["State"], "CANCELED", "canceled")
    expect_error("HandshakeAlreadyInStateException", org.cancel_handshake, HandshakeId=h["Id"])
    expect_error("InvalidHandshakeTransitionException", client("444444444444").accept_handshake, HandshakeId=h["Id"])
    expect_error("HandshakeNotFoundException", org.describe_handshake, HandshakeId="h-0000000000")
    expect_error("InvalidInputException", org.list_handshakes_for_organization,
                 Filter={"ActionType": "INVITE", "ParentHandshakeId": h["Id"]}, reason="MAX_LIMIT_EXCEEDED_FILTER")
    expect_error("HandshakeConstraintViolationException", org.enable_all_features, reason="ORGANIZATION_ALREADY_HAS_ALL_FEATURES")


def test_organization_lists_what_it_sent():
    states = [(h["Parties"][1]["Id"], h["State"]) for h in sent(PaginationConfig={"PageSize": 1})]
    eq(states, [(BY_ID, "ACCEPTED"), (EMAIL, "DECLINED"), ("444444444444", "CANCELED")], "sent handshakes")
    eq(len(sent(Filter={"ActionType": "INVITE"})), 3, "filtered by action")
    eq(sent(Filter={"ActionType": "ENABLE_ALL_FEATURES"}), [], "no migration")


def test_consolidated_billing_moves_to_all_features():
    mgmt, member = client("555555555555"), client("666666666666")
    cb = mgmt.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
    inv = mgmt.invite_account_to_organization(Target={"Id": "666666666666", "Type": "ACCOUNT"})["Handshake"]
    member.accept_handshake(HandshakeId=inv["Id"])
    parent = mgmt.enable_all_features()["Handshake"]
    eq((parent["Action"], parent["State"]), ("ENABLE_ALL_FEATURES", "REQUESTED"), "migration handshake")
    eq(parent["Parties"], [{"Id": cb["Id"], "Type": "ORGANIZATION"}], "migration parties")
    expect_error("HandshakeConstraintViolationException", mgmt.invite_account_to_organization,
                 Target={"Id": "777777777777", "Type": "ACCOUNT"}, reason="INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES")
    children = received("666666666666", Filter={"ParentHandshakeId": parent["Id"]})
    eq(len(children), 1, "one request for the invited member")
    eq(member.accept_handshake(HandshakeId=children[0]["Id"])["Handshake"]["State"], "ACCEPTED", "member approved")
    approvals = received("555555555555", Filter={"ActionType": "APPROVE_ALL_FEATURES"})
    eq([a["State"] for a in approvals], ["REQUESTED"], "approval for the management account")
    eq(mgmt.accept_handshake(HandshakeId=approvals[0]["Id"])["Handshake"]["State"], "ACCEPTED", "approved")
    eq(mgmt.describe_organization()["Organization"]["FeatureSet"], "ALL", "feature set")
    eq(mgmt.describe_handshake(HandshakeId=parent["Id"])["Handshake"]["State"], "ACCEPTED", "migration done")


if __name__ == "__main__":
    sys.exit(run_cases("governance-boto3", globals()))
