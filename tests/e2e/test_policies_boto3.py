#!/usr/bin/env python3
"""boto3 against a running Canopy: every policy type enabled, created, attached at the root, an OU
and an account, inherited, validated; the attachment rules and their errors; disabling a type;
the invalid-effective-policy operations; tags on policies; ListPolicies pagination.

Usage: test_policies_boto3.py RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>, ...
set; the server must hold no organization for that account)

Each case is a function run in order (later cases use what earlier ones built). Prints one
PASS/FAIL line per case and writes "PASSED FAILED" to RESULTS_FILE.
"""

import json
import re
import sys

from e2e_support import MGMT, client, eq, expect_error, run_cases

assert re.fullmatch(r"\d{12}", MGMT), "AWS_ACCESS_KEY_ID must be a 12-digit account id"


org = client()
S = {}  # state shared by the cases

POLICY_ID = re.compile(r"^p-[0-9a-zA-Z_]{8,128}$")


def doc(value):
    return json.dumps(value, separators=(",", ":"))


def create(t, name, content, **kw):
    p = org.create_policy(Type=t, Name=name, Description=f"{name} (e2e)", Content=content, **kw)["Policy"]
    s = p["PolicySummary"]
    assert POLICY_ID.match(s["Id"]) and s["Id"] not in ("p-FullAWSAccess", "p-RCPFullAWSAccess"), s["Id"]
    eq(s["Type"], t, "type")
    eq(s["AwsManaged"], False, "AwsManaged")
    eq(s["Arn"], f"arn:aws:organizations::{MGMT}:policy/{S['org_id']}/{t.lower()}/{s['Id']}", "policy ARN")
    eq(p["Content"], content, "content kept exactly as sent")
    return s["Id"]


def direct(target, t):
    """Ids of the policies of type t directly attached to target (every page)."""
    ids = []
    for page in org.get_paginator("list_policies_for_target").paginate(TargetId=target, Filter=t, PaginationConfig={"PageSize": 2}):
        ids += [p["Id"] for p in page["Policies"]]
    return ids


def targets(policy_id):
    out = []
    for page in org.get_paginator("list_targets_for_policy").paginate(PolicyId=policy_id, PaginationConfig={"PageSize": 2}):
        out += [t["TargetId"] for t in page["Targets"]]
    return out


def effective(t, account):
    out = org.describe_effective_policy(PolicyType=t, TargetId=account)["EffectivePolicy"]
    eq(out["PolicyType"], t, "effective PolicyType")
    eq(out["TargetId"], account, "effective TargetId")
    assert out.get("LastUpdatedTimestamp") is not None, "LastUpdatedTimestamp"
    return json.loads(out["PolicyContent"])


def new_account(name):
    st = org.create_account(Email=f"{name}@example.org", AccountName=name)["CreateAccountStatus"]
    for _ in range(200):
        if st["State"] != "IN_PROGRESS":
            break
        st = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
    eq(st["State"], "SUCCEEDED", f"creation of {name}")
    return st["AccountId"]


# Per management type: (policy at the root, at the OU, at the account) and the effective policy
# of the account under the OU. The account directly under the root sees only the root's policy.
MANAGEMENT = {
    "TAG_POLICY": (
        {"tags": {"CostCenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["100", "200"]}, "enforced_for": {"@@assign": ["ec2:instance"]}}}},
        {"tags": {"costcenter": {"tag_value": {"@@append": ["300"]}}}},
        {"tags": {"costcenter": {"tag_value": {"@@remove": ["100"]}}, "project": {"tag_key": {"@@assign": "Project"}}}},
        {"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["200", "300"], "enforced_for": ["ec2:instance"]}, "project": {"tag_key": "Project"}}},
    ),
    "BACKUP_POLICY": (
        {"plans": {"Daily": {"regions": {"@@assign": ["us-east-1"]}, "rules": {"Nightly": {"schedule_expression": {"@@assign": "cron(0 5 ? * * *)"}, "target_backup_vault_name": {"@@assign": "Default"}}}}}},
        {"plans": {"daily": {"regions": {"@@append": ["eu-west-1"]}}}},
        {"plans": {"daily": {"rules": {"nightly": {"target_backup_vault_name": {"@@assign": "Vault2"}}}}}},
        {"plans": {"daily": {"regions": ["us-east-1", "eu-west-1"], "rules": {"nightly": {"schedule_expression": "cron(0 5 ? * * *)", "target_backup_vault_name": "Vault2"}}}}},
    ),
    "AISERVICES_OPT_OUT_POLICY": (
        {"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}},
        {"services": {"lex": {"opt_out_policy": {"@@assign": "optIn"}}}},
        {"services": {"polly": {"opt_out_policy": {"@@assign": "optIn"}}}},
        {"services": {"default": {"opt_out_policy": "optOut"}, "lex": {"opt_out_policy": "optIn"}, "polly": {"opt_out_policy": "optIn"}}},
    ),
    "CHATBOT_POLICY": (
        {"chatbot": {"platforms": {"slack": {"client": {"@@assign": "enabled"}, "workspaces": {"@@assign": ["T0001"]}}}}},
        {"chatbot": {"platforms": {"slack": {"workspaces": {"@@append": ["T0002"]}}}}},
        {"chatbot": {"platforms": {"chime": {"client": {"@@assign": "disabled"}}}}},
        {"chatbot": {"platforms": {"slack": {"client": "enabled", "workspaces": ["T0001", "T0002"]}, "chime": {"client": "disabled"}}}},
    ),
    "DECLARATIVE_POLICY_EC2": (
        {"ec2_attributes": {"serial_console_access": {"status": {"@@assign": "disabled"}}}},
        {"ec2_attributes": {"image_block_public_access": {"state": {"@@assign": "block_new_sharing"}}}},
        {"ec2_attributes": {"serial_console_access": {"status": {"@@assign": "enabled"}}}},
        {"ec2_attributes": {"serial_console_access": {"status": "enabled"}, "image_block_public_access": {"state": "block_new_sharing"}}},
    ),
    "SECURITYHUB_POLICY": (
        {"securityhub": {"enable_in_regions": {"@@assign": ["ALL_SUPPORTED"]}, "disable_in_regions": {"@@assign": []}}},
        {"securityhub": {"disable_in_regions": {"@@append": ["eu-west-1"]}}},
        {"securityhub": {"disable_in_regions": {"@@append": ["ap-south-1"]}}},
        {"securityhub": {"enable_in_regions": ["ALL_SUPPORTED"], "disable_in_regions": ["eu-west-1", "ap-south-1"]}},
    ),
    "SECURITYHUB_CSPM_POLICY": (
        {"securityhub_cspm": {"cspm_enablement": {"enable_in_regions": {"@@assign": ["us-east-1"]}, "disable_in_regions": {"@@assign": []}}}},
        {"securityhub_cspm": {"cspm_enablement": {"enable_in_regions": {"@@append": ["eu-west-1"]}}}},
        {"securityhub_cspm": {"cspm_enablement": {"disable_in_regions": {"@@append": ["ap-south-1"]}}}},
        {"securityhub_cspm": {"cspm_enablement": {"enable_in_regions": ["us-east-1", "eu-west-1"], "disable_in_regions": ["ap-south-1"]}}},
    ),
    "INSPECTOR_POLICY": (
        {"inspector": {"enablement": {"ec2_scanning": {"enable_in_regions": {"@@assign": ["us-east-1"]}, "disable_in_regions": {"@@assign": []}}}}},
        {"inspector": {"enablement": {"ecr_scanning": {"enable_in_regions": {"@@assign": ["eu-west-1"]}, "disable_in_regions": {"@@assign": []}}}}},
        {"inspector": {"enablement": {"ec2_scanning": {"enable_in_regions": {"@@append": ["eu-west-1"]}}}}},
        {"inspector": {"enablement": {"ec2_scanning": {"enable_in_regions": ["us-east-1", "eu-west-1"], "disable_in_regions": []}, "ecr_scanning": {"enable_in_regions": ["eu-west-1"], "disable_in_regions": []}}}},
    ),
    "UPGRADE_ROLLOUT_POLICY": (
        {"upgrade_rollout": {"default": {"patch_order": {"@@assign": "first"}}}},
        {"upgrade_rollout": {"tags": {"env": {"tag_values": {"prod": {"patch_order": {"@@assign": "last"}}}}}}},
        {"upgrade_rollout": {"default": {"patch_order": {"@@assign": "second"}}}},
        {"upgrade_rollout": {"default": {"patch_order": "second"}, "tags": {"env": {"tag_values": {"prod": {"patch_order": "last"}}}}}},
    ),
    "BEDROCK_POLICY": (
        {"bedrock": {"guardrail_inference": {"us-east-1": {"config_1": {"identifier": {"@@assign": f"arn:aws:bedrock:us-east-1:{MGMT}:guardrail/g1:1"}, "input_tags": {"@@assign": "honor"}}}}}},
        {"bedrock": {"guardrail_inference": {"us-east-1": {"config_1": {"input_tags": {"@@assign": "ignore"}}}}}},
        {"bedrock": {"guardrail_inference": {"eu-west-1": {"config_2": {"identifier": {"@@assign": f"arn:aws:bedrock:eu-west-1:{MGMT}:guardrail/g2:3"}}}}}},
        {"bedrock": {"guardrail_inference": {
            "us-east-1": {"config_1": {"identifier": f"arn:aws:bedrock:us-east-1:{MGMT}:guardrail/g1:1", "input_tags": "ignore"}},
            "eu-west-1": {"config_2": {"identifier": f"arn:aws:bedrock:eu-west-1:{MGMT}:guardrail/g2:3"}}}}},
    ),
    "S3_POLICY": (
        {"s3_attributes": {"public_access_block_configuration": {"@@assign": "all"}}},
        {"s3_attributes": {"public_access_block_configuration": {"@@assign": "none"}}},
        {"s3_attributes": {"public_access_block_configuration": {"@@assign": "all"}}},
        {"s3_attributes": {"public_access_block_configuration": "all"}},
    ),
    "NETWORK_SECURITY_DIRECTOR_POLICY": (
        {"network_security_director": {"enablement": {"network_security_scan": {"enable_in_regions": {"@@assign": ["us-east-1"]}, "disable_in_regions": {"@@assign": []}}}}},
        {"network_security_director": {"enablement": {"network_security_scan": {"enable_in_regions": {"@@append": ["eu-west-1"]}}}}},
        {"network_security_director": {"enablement": {"network_security_scan": {"disable_in_regions": {"@@append": ["ap-south-1"]}}}}},
        {"network_security_director": {"enablement": {"network_security_scan": {"enable_in_regions": ["us-east-1", "eu-west-1"], "disable_in_regions": ["ap-south-1"]}}}},
    ),
    "GUARDDUTY_POLICY": (
        {"guardduty": {"default": {"s3_data_events": {"@@assign": "enabled"}}}},
        {"guardduty": {"default": {"eks_audit_logs": {"@@assign": "enabled"}}}},
        {"guardduty": {"default": {"s3_data_events": {"@@assign": "disabled"}}}},
        {"guardduty": {"default": {"s3_data_events": "disabled", "eks_audit_logs": "enabled"}}},
    ),
}

SCP_DENY = {"Version": "2012-10-17", "Statement": [{"Sid": "NoLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}
RCP_DENY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
FULL_AWS_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
RCP_FULL_AWS_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
ALL_TYPES = ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"] + list(MANAGEMENT)


# ---------------------------------------------------------------------------------------------


def test_setup_organization():
    o = org.create_organization(FeatureSet="ALL")["Organization"]
    S["org_id"] = o["Id"]
    S["root"] = org.list_roots()["Roots"][0]["Id"]
    S["ou"] = org.create_organizational_unit(ParentId=S["root"], Name="Workloads")["OrganizationalUnit"]["Id"]
    S["acct"] = new_account("pol-ou-member")
    org.move_account(AccountId=S["acct"], SourceParentId=S["root"], DestinationParentId=S["ou"])
    S["root_acct"] = new_account("pol-root-member")
    assert re.fullmatch(r"o-[a-z0-9]{10,32}", S["org_id"]), S["org_id"]


def test_enable_every_type():
    root = S["root"]
    eq([p["Type"] for p in org.list_roots()["Roots"][0]["PolicyTypes"]], ["SERVICE_CONTROL_POLICY"], "SCPs enabled at creation")
    # As in AWS, SECURITYHUB_POLICY / INSPECTOR_POLICY need their service's trusted access first.
    for service in ("securityhub.amazonaws.com", "inspector2.amazonaws.com"):
        org.enable_aws_service_access(ServicePrincipal=service)
    for t in ALL_TYPES[1:]:
        out = org.enable_policy_type(RootId=root, PolicyType=t)["Root"]
        assert {"Type": t, "Status": "ENABLED"} in out["PolicyTypes"], out["PolicyTypes"]
    types = {p["Type"]: p["Status"] for p in org.list_roots()["Roots"][0]["PolicyTypes"]}
    eq(sorted(types), sorted(ALL_TYPES), "all fifteen types enabled")
    eq(set(types.values()), {"ENABLED"}, "statuses")
    expect_error("PolicyTypeAlreadyEnabledException", org.enable_policy_type, RootId=root, PolicyType="TAG_POLICY")
    expect_error("RootNotFoundException", org.enable_policy_type, RootId="r-zz99", PolicyType="TAG_POLICY")


def test_aws_managed_policies_everywhere():
    for pid, t, content in [("p-FullAWSAccess", "SERVICE_CONTROL_POLICY", FULL_AWS_ACCESS), ("p-RCPFullAWSAccess", "RESOURCE_CONTROL_POLICY", RCP_FULL_AWS_ACCESS)]:
        p = org.describe_policy(PolicyId=pid)["Policy"]
        eq(p["PolicySummary"]["AwsManaged"], True, f"{pid} AwsManaged")
        eq(p["PolicySummary"]["Arn"], f"arn:aws:organizations::aws:policy/{t.lower()}/{pid}", f"{pid} ARN")
        eq(json.loads(p["Content"]), content, f"{pid} content")
        eq(sorted(targets(pid)), sorted([S["root"], S["ou"], S["acct"], S["root_acct"], MGMT]), f"{pid} attached everywhere")
        listed = org.list_policies(Filter=t)["Policies"]
        eq(listed[0]["Id"], pid, f"{pid} listed first")
        expect_error("InvalidInputException", org.update_policy, PolicyId=pid, Name="x", reason="IMMUTABLE_POLICY")
        expect_error("InvalidInputException", org.delete_policy, PolicyId=pid, reason="IMMUTABLE_POLICY")
    # New OUs and accounts get both defaults while the types are enabled.
    ou2 = org.create_organizational_unit(ParentId=S["ou"], Name="Later")["OrganizationalUnit"]["Id"]
    acct = new_account("pol-later")
    for target in (ou2, acct):
        eq(direct(target, "SERVICE_CONTROL_POLICY"), ["p-FullAWSAccess"], f"SCP default on {target}")
        eq(direct(target, "RESOURCE_CONTROL_POLICY"), ["p-RCPFullAWSAccess"], f"RCP default on {target}")
        eq(direct(target, "TAG_POLICY"), [], f"no management default on {target}")
    org.move_account(AccountId=acct, SourceParentId=S["root"], DestinationParentId=ou2)
    S["later_ou"], S["later_acct"] = ou2, acct


def test_management_types_attach_and_inherit():
    S["mgmt_policies"] = {}
    for t, (at_root, at_ou, at_acct, expected) in MANAGEMENT.items():
        ids = []
        for where, target, content in [("root", S["root"], at_root), ("ou", S["ou"], at_ou), ("acct", S["acct"], at_acct)]:
            pid = create(t, f"{t.lower()}-{where}", doc(content))
            org.attach_policy(PolicyId=pid, TargetId=target)
            eq(direct(target, t), [pid], f"{t} attached to {where}")
            eq(targets(pid), [target], f"{t} {where} targets")
            ids.append(pid)
        S["mgmt_policies"][t] = ids
        got = effective(t, S["acct"])
        eq(got, expected, f"{t} effective policy of the account under the OU")
        root_only = effective(t, S["root_acct"])
        eq(root_only, json.loads(json.dumps(expected_root_only(t, at_root))), f"{t} effective policy of the account under the root")
        # The member account reads its own effective policy without naming itself.
        mine = json.loads(client(S["acct"]).describe_effective_policy(PolicyType=t)["EffectivePolicy"]["PolicyContent"])
        eq(mine, expected, f"{t} effective policy read by the member itself")


def expected_root_only(t, at_root):
    """The root's document rendered as an effective policy: operators dropped, keys lower-cased."""
    def render(node):
        if isinstance(node, dict):
            if "@@assign" in node:
                return node["@@assign"]
            return {k.lower(): render(v) for k, v in node.items() if not k.startswith("@@")}
        return node
    return render(at_root)


def test_effective_policy_errors():
    expect_error("InvalidInputException", org.describe_effective_policy, PolicyType="TAG_POLICY", TargetId=S["ou"], reason="TARGET_NOT_SUPPORTED")
    expect_error("InvalidInputException", org.describe_effective_policy, PolicyType="TAG_POLICY", TargetId=S["root"], reason="TARGET_NOT_SUPPORTED")
    expect_error("InvalidInputException", org.describe_effective_policy, PolicyType="SERVICE_CONTROL_POLICY", TargetId=S["acct"])
    expect_error("TargetNotFoundException", org.describe_effective_policy, PolicyType="TAG_POLICY", TargetId="000000000000")
    # An account with nothing of the type on its path (nothing attached at the later OU/account
    # and the root policy is detached below) — use a type whose root policy we detach briefly.
    t = "S3_POLICY"
    root_pid = S["mgmt_policies"][t][0]
    org.detach_policy(PolicyId=root_pid, TargetId=S["root"])
    expect_error("EffectivePolicyNotFoundException", org.describe_effective_policy, PolicyType=t, TargetId=S["root_acct"])
    org.attach_policy(PolicyId=root_pid, TargetId=S["root"])
    eq(effective(t, S["root_acct"]), {"s3_attributes": {"public_access_block_configuration": "all"}}, "re-attached")
    # A member cannot read another account's effective policy.
    expect_error("AccessDeniedException", client(S["acct"]).describe_effective_policy, PolicyType="TAG_POLICY", TargetId=S["root_acct"])


def test_attachment_order_decides_same_node_conflicts():
    # Two tag policies on the same account assign tag_key: the one attached first wins; detach
    # and re-attach moves it last.
    a = create("TAG_POLICY", "order-a", doc({"tags": {"owner": {"tag_key": {"@@assign": "OWNER"}}}}))
    b = create("TAG_POLICY", "order-b", doc({"tags": {"owner": {"tag_key": {"@@assign": "Owner"}}}}))
    acct = S["later_acct"]
    org.attach_policy(PolicyId=a, TargetId=acct)
    org.attach_policy(PolicyId=b, TargetId=acct)
    eq(effective("TAG_POLICY", acct)["tags"]["owner"], {"tag_key": "OWNER"}, "first attached wins")
    org.detach_policy(PolicyId=a, TargetId=acct)
    org.attach_policy(PolicyId=a, TargetId=acct)
    eq(direct(acct, "TAG_POLICY"), [b, a], "re-attached policy listed last")
    eq(effective("TAG_POLICY", acct)["tags"]["owner"], {"tag_key": "Owner"}, "after re-attachment the other wins")
    for p in (a, b):
        org.detach_policy(PolicyId=p, TargetId=acct)
        org.delete_policy(PolicyId=p)


def test_child_control_blocks_lower_levels():
    root_p = create("TAG_POLICY", "locked-root", doc({"tags": {"env": {"tag_value": {"@@assign": ["prod", "dev"], "@@operators_allowed_for_child_policies": ["@@none"]}}}}))
    ou_p = create("TAG_POLICY", "locked-ou", doc({"tags": {"env": {"tag_value": {"@@append": ["test"]}}}}))
    org.attach_policy(PolicyId=root_p, TargetId=S["root"])
    org.attach_policy(PolicyId=ou_p, TargetId=S["ou"])
    eq(effective("TAG_POLICY", S["acct"])["tags"]["env"], {"tag_value": ["prod", "dev"]}, "@@append blocked by @@none")
    for p, target in ((root_p, S["root"]), (ou_p, S["ou"])):
        org.detach_policy(PolicyId=p, TargetId=target)
        org.delete_policy(PolicyId=p)


def test_scp_and_rcp_attach_everywhere():
    scp = create("SERVICE_CONTROL_POLICY", "deny-leave", doc(SCP_DENY))
    rcp = create("RESOURCE_CONTROL_POLICY", "deny-plain-s3", doc(RCP_DENY))
    for target in (S["root"], S["ou"], S["acct"]):
        org.attach_policy(PolicyId=scp, TargetId=target)
        org.attach_policy(PolicyId=rcp, TargetId=target)
        eq(direct(target, "SERVICE_CONTROL_POLICY"), ["p-FullAWSAccess", scp], f"SCPs on {target}")
        eq(direct(target, "RESOURCE_CONTROL_POLICY"), ["p-RCPFullAWSAccess", rcp], f"RCPs on {target}")
    eq(sorted(targets(scp)), sorted([S["root"], S["ou"], S["acct"]]), "SCP targets")
    summaries = org.list_targets_for_policy(PolicyId=scp)["Targets"]
    kinds = {t["TargetId"]: (t["Type"], t["Name"]) for t in summaries}
    eq(kinds[S["root"]], ("ROOT", "Root"), "root target summary")
    eq(kinds[S["ou"]], ("ORGANIZATIONAL_UNIT", "Workloads"), "OU target summary")
    eq(kinds[S["acct"]][0], "ACCOUNT", "account target summary")
    # Inheritance is not a direct attachment: the later OU below Workloads lists only its default.
    eq(direct(S["later_ou"], "SERVICE_CONTROL_POLICY"), ["p-FullAWSAccess"], "inherited SCPs are not listed")
    # SCPs and RCPs have no effective policy.
    expect_error("InvalidInputException", org.describe_effective_policy, PolicyType="RESOURCE_CONTROL_POLICY", TargetId=S["acct"])
    S["scp"], S["rcp"] = scp, rcp


def test_attachment_errors():
    scp, rcp, acct = S["scp"], S["rcp"], S["acct"]
    expect_error("DuplicatePolicyAttachmentException", org.attach_policy, PolicyId=scp, TargetId=acct)
    expect_error("DuplicatePolicyAttachmentException", org.attach_policy, PolicyId="p-FullAWSAccess", TargetId=acct)
    expect_error("PolicyNotAttachedException", org.detach_policy, PolicyId=scp, TargetId=S["root_acct"])
    expect_error("PolicyInUseException", org.delete_policy, PolicyId=scp)
    expect_error("PolicyNotFoundException", org.attach_policy, PolicyId="p-doesnotexist", TargetId=acct)
    expect_error("TargetNotFoundException", org.attach_policy, PolicyId=scp, TargetId="000000000000")
    expect_error("TargetNotFoundException", org.attach_policy, PolicyId=scp, TargetId="ou-zz99-zzzzzzzz")
    # The RCP default can never be detached, even with another RCP attached.
    expect_error("InvalidInputException", org.detach_policy, PolicyId="p-RCPFullAWSAccess", TargetId=acct, reason="NON_DETACHABLE_POLICY")
    # FullAWSAccess can go once another SCP is attached (allow-list strategy)...
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=acct)
    eq(direct(acct, "SERVICE_CONTROL_POLICY"), [scp], "FullAWSAccess detached")
    # ...but the last SCP of a target cannot.
    expect_error("ConstraintViolationException", org.detach_policy, PolicyId=scp, TargetId=acct, reason="MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    expect_error("ConstraintViolationException", org.detach_policy, PolicyId="p-FullAWSAccess", TargetId=S["root_acct"], reason="MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    org.attach_policy(PolicyId="p-FullAWSAccess", TargetId=acct)
    eq(direct(acct, "SERVICE_CONTROL_POLICY"), ["p-FullAWSAccess", scp], "FullAWSAccess back, listed first (the default policy always is)")


def test_attachment_quota_per_target():
    # SCP: 10 per target (2026); the OU has FullAWSAccess + deny-leave: 8 more fit, the 11th fails.
    extra = [create("SERVICE_CONTROL_POLICY", f"quota-{i}", doc(SCP_DENY)) for i in range(9)]
    for pid in extra[:8]:
        org.attach_policy(PolicyId=pid, TargetId=S["ou"])
    eq(len(direct(S["ou"], "SERVICE_CONTROL_POLICY")), 10, "ten SCPs on the OU")
    expect_error("ConstraintViolationException", org.attach_policy, PolicyId=extra[8], TargetId=S["ou"], reason="MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    # RCP: 5 per target, the default included.
    rcps = [create("RESOURCE_CONTROL_POLICY", f"rquota-{i}", doc(RCP_DENY)) for i in range(4)]
    for pid in rcps[:3]:
        org.attach_policy(PolicyId=pid, TargetId=S["ou"])
    eq(len(direct(S["ou"], "RESOURCE_CONTROL_POLICY")), 5, "five RCPs on the OU")
    expect_error("ConstraintViolationException", org.attach_policy, PolicyId=rcps[3], TargetId=S["ou"], reason="MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    # Inherited policies do not count: the OU's child still takes its own.
    org.attach_policy(PolicyId=extra[8], TargetId=S["later_ou"])
    for pid in extra[:8]:
        org.detach_policy(PolicyId=pid, TargetId=S["ou"])
    org.detach_policy(PolicyId=extra[8], TargetId=S["later_ou"])
    for pid in rcps[:3]:
        org.detach_policy(PolicyId=pid, TargetId=S["ou"])
    for pid in extra + rcps:
        org.delete_policy(PolicyId=pid)
    expect_error("PolicyNotFoundException", org.describe_policy, PolicyId=extra[0])


BROKEN = [
    # (type, content, text the message must contain: the JSON path and the problem)
    ("SERVICE_CONTROL_POLICY", "{", "not valid JSON"),
    ("SERVICE_CONTROL_POLICY", '{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}', 'duplicate key "Version"'),
    ("SERVICE_CONTROL_POLICY", "[]", "JSON object"),
    ("SERVICE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}), "Statement[0].Principal"),
    ("SERVICE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}), "Statement[0].Effect"),
    ("SERVICE_CONTROL_POLICY", doc({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}), "Version"),
    ("SERVICE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": [], "Resource": "*"}]}), "Statement[0].Action"),
    ("SERVICE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*"}]}), "Statement[0]"),
    ("RESOURCE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}), "Statement[0].Effect"),
    ("RESOURCE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "NotAction": "s3:*", "Resource": "*"}]}), "Statement[0].NotAction"),
    ("RESOURCE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]}), "Statement[0].Action"),
    ("RESOURCE_CONTROL_POLICY", doc({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]}), "Statement[0].Principal"),
    ("TAG_POLICY", doc({"tagz": {}}), "tagz"),
    ("TAG_POLICY", doc({"tags": {"cc": {"tag_key": {"@@asign": "CC"}}}}), "tags.cc.tag_key.@@asign"),
    ("TAG_POLICY", doc({"tags": {"cc": {"tag_key": "CC"}}}), "tags.cc.tag_key"),
    ("TAG_POLICY", doc({"tags": {"cc": {"tag_key": {"@@append": ["CC"]}}}}), "tags.cc.tag_key.@@append"),
    ("TAG_POLICY", doc({"tags": {"cc": {"tag_value": {"@@assign": ["*a*"]}}}}), "tags.cc.tag_value.@@assign[0]"),
    ("TAG_POLICY", doc({"tags": {"cc": {"tag_value": {"@@operators_allowed_for_child_policies": ["@@none", "@@assign"]}}}}), "tags.cc.tag_value.@@operators_allowed_for_child_policies"),
    ("BACKUP_POLICY", doc({"plans": {"p": {"regions": {"@@assign": "us-east-1"}}}}), "plans.p.regions.@@assign"),
    ("AISERVICES_OPT_OUT_POLICY", doc({"services": {"lex": {"opt_out_policy": {"@@append": ["optIn"]}}}}), "services.lex.opt_out_policy.@@append"),
    ("AISERVICES_OPT_OUT_POLICY", doc({"services": {"lex": {"opt_out_policy": {"@@assign": "optin"}}}}), "services.lex.opt_out_policy.@@assign"),
    ("CHATBOT_POLICY", doc({"chatbot": {"platforms": {"slack": {"client": {"@@assign": "maybe"}}}}}), "chatbot.platforms.slack.client.@@assign"),
    ("DECLARATIVE_POLICY_EC2", doc({"ec2_attributes": {"serial_console_access": {"status": {"@@assign": "on"}}}}), "ec2_attributes.serial_console_access.status.@@assign"),
    ("SECURITYHUB_POLICY", doc({"securityhub": {"enable_in_regions": {"@@assign": "us-east-1"}}}), "securityhub.enable_in_regions.@@assign"),
    ("SECURITYHUB_CSPM_POLICY", doc({"securityhub_cspm": {"cspm_enablement": {"enable_in_regions": {"@@assign": 5}}}}), "securityhub_cspm.cspm_enablement.enable_in_regions.@@assign"),
    ("INSPECTOR_POLICY", doc({"inspector": {"enablement": {"ec2_scan": {"enable_in_regions": {"@@assign": []}}}}}), "inspector.enablement.ec2_scan"),
    ("UPGRADE_ROLLOUT_POLICY", doc({"upgrade_rollout": {"default": {"patch_order": {"@@assign": "third"}}}}), "upgrade_rollout.default.patch_order.@@assign"),
    ("BEDROCK_POLICY", doc({"bedrock": {"guardrail_inference": {"us-east-1": {"c": {"input_tags": {"@@assign": "maybe"}}}}}}), "bedrock.guardrail_inference.us-east-1.c.input_tags.@@assign"),
    ("S3_POLICY", doc({"s3_attributes": {"public_access_block_configuration": {"@@assign": "some"}}}), "s3_attributes.public_access_block_configuration.@@assign"),
    ("NETWORK_SECURITY_DIRECTOR_POLICY", doc({"network_security_director": {"enablement": {"network_security_scan": {"enable_in_regions": {"@@assign": "x"}}}}}), "network_security_director.enablement.network_security_scan.enable_in_regions.@@assign"),
    ("GUARDDUTY_POLICY", doc({"guardduty": {"x": "bare"}}), "guardduty.x"),
    ("GUARDDUTY_POLICY", doc({"guard": {}}), "guard"),
]


def test_broken_documents_at_create_and_update():
    assert {t for t, _, _ in BROKEN} == set(ALL_TYPES), "every type has broken documents"
    for i, (t, content, needle) in enumerate(BROKEN):
        expect_error("MalformedPolicyDocumentException", org.create_policy, Type=t, Name=f"broken-{i}", Description="", Content=content, message_has=needle)
    # UpdatePolicy validates the same way and leaves the stored policy unchanged.
    for t, ids in S["mgmt_policies"].items():
        pid = ids[0]
        before = org.describe_policy(PolicyId=pid)["Policy"]["Content"]
        for bt, content, needle in BROKEN:
            if bt == t:
                expect_error("MalformedPolicyDocumentException", org.update_policy, PolicyId=pid, Content=content, message_has=needle)
        eq(org.describe_policy(PolicyId=pid)["Policy"]["Content"], before, f"{t} unchanged after refused updates")
    for bt, content, needle in BROKEN:
        if bt == "SERVICE_CONTROL_POLICY":
            expect_error("MalformedPolicyDocumentException", org.update_policy, PolicyId=S["scp"], Content=content, message_has=needle)
    # Nothing was created.
    for t in ALL_TYPES:
        names = [p["Name"] for page in org.get_paginator("list_policies").paginate(Filter=t) for p in page["Policies"]]
        assert not any(n.startswith("broken-") for n in names), names


def test_size_limits():
    # Sizes count every character of Content as sent (2026 figures).
    for t, limit in [("SERVICE_CONTROL_POLICY", 10240), ("RESOURCE_CONTROL_POLICY", 5120), ("TAG_POLICY", 10000), ("AISERVICES_OPT_OUT_POLICY", 2500), ("BACKUP_POLICY", 10000), ("S3_POLICY", 10000)]:
        base = {"SERVICE_CONTROL_POLICY": doc(SCP_DENY), "RESOURCE_CONTROL_POLICY": doc(RCP_DENY)}.get(t) or doc(MANAGEMENT[t][0])
        fits = base[:-1] + " " * (limit - len(base)) + "}"
        eq(len(fits), limit, "padded size")
        pid = create(t, f"size-{t.lower()}", fits)
        over = base[:-1] + " " * (limit + 1 - len(base)) + "}"
        expect_error("ConstraintViolationException", org.create_policy, Type=t, Name=f"size-over-{t.lower()}", Description="", Content=over, reason="POLICY_CONTENT_LIMIT_EXCEEDED")
        expect_error("ConstraintViolationException", org.update_policy, PolicyId=pid, Content=over, reason="POLICY_CONTENT_LIMIT_EXCEEDED")
        org.delete_policy(PolicyId=pid)


def test_update_describe_and_names():
    pid = S["mgmt_policies"]["TAG_POLICY"][2]
    new = doc({"tags": {"project": {"tag_key": {"@@assign": "PROJECT"}}}})
    p = org.update_policy(PolicyId=pid, Name="tag-account-renamed", Description="changed", Content=new)["Policy"]
    eq((p["PolicySummary"]["Name"], p["PolicySummary"]["Description"], p["Content"]), ("tag-account-renamed", "changed", new), "UpdatePolicy answer")
    eq(org.describe_policy(PolicyId=pid)["Policy"]["Content"], new, "DescribePolicy after update")
    eq(effective("TAG_POLICY", S["acct"])["tags"]["project"], {"tag_key": "PROJECT"}, "the update reaches the effective policy")
    expect_error("DuplicatePolicyException", org.update_policy, PolicyId=pid, Name="tag_policy-root")
    expect_error("DuplicatePolicyException", org.create_policy, Type="TAG_POLICY", Name="tag_policy-ou", Description="", Content=new)
    expect_error("DuplicatePolicyException", org.create_policy, Type="SERVICE_CONTROL_POLICY", Name="FullAWSAccess", Description="", Content=doc(SCP_DENY))
    # Names are unique per type: the same name in another type is fine.
    other = create("BACKUP_POLICY", "tag_policy-ou", doc(MANAGEMENT["BACKUP_POLICY"][0]))
    org.delete_policy(PolicyId=other)


def test_invalid_effective_policy_operations():
    # Two backup policies, each valid alone (6 rules), merge into one plan with 12 rules (> 10).
    def plan(prefix):
        return {"plans": {"big": {"regions": {"@@assign": ["us-east-1"]}, "rules": {f"{prefix}{i}": {"schedule_expression": {"@@assign": "cron(0 5 ? * * *)"}, "target_backup_vault_name": {"@@assign": "Default"}} for i in range(6)}}}}
    a = create("BACKUP_POLICY", "big-a", doc(plan("a")))
    b = create("BACKUP_POLICY", "big-b", doc(plan("b")))
    acct = S["later_acct"]
    eq(org.list_effective_policy_validation_errors(AccountId=acct, PolicyType="BACKUP_POLICY")["EffectivePolicyValidationErrors"], [], "valid before")
    org.attach_policy(PolicyId=a, TargetId=S["later_ou"])
    org.attach_policy(PolicyId=b, TargetId=acct)
    out = org.list_effective_policy_validation_errors(AccountId=acct, PolicyType="BACKUP_POLICY")
    eq(out["AccountId"], acct, "AccountId")
    eq(out["PolicyType"], "BACKUP_POLICY", "PolicyType")
    eq(out["Path"], f"{S['org_id']}/{S['root']}/{S['ou']}/{S['later_ou']}/{acct}/", "Path")
    assert out.get("EvaluationTimestamp") is not None, "EvaluationTimestamp"
    errors = out["EffectivePolicyValidationErrors"]
    too_many = [e for e in errors if e["ErrorCode"] == "ELEMENTS_TOO_MANY"]
    eq(len(too_many), 1, f"one ELEMENTS_TOO_MANY in {errors}")
    e = too_many[0]
    eq(e["PathToError"], "plans.big.rules", "PathToError")
    assert a in e["ContributingPolicies"] and b in e["ContributingPolicies"], e
    assert "12" in e["ErrorMessage"], e["ErrorMessage"]
    listed = [x["Id"] for page in org.get_paginator("list_accounts_with_invalid_effective_policy").paginate(PolicyType="BACKUP_POLICY") for x in page["Accounts"]]
    eq(listed, [acct], "ListAccountsWithInvalidEffectivePolicy")
    eq(org.list_accounts_with_invalid_effective_policy(PolicyType="TAG_POLICY")["Accounts"], [], "no invalid tag policies")
    # Paging the findings one by one.
    pages = list(org.get_paginator("list_effective_policy_validation_errors").paginate(AccountId=acct, PolicyType="BACKUP_POLICY", PaginationConfig={"PageSize": 1}))
    eq(sum(len(p["EffectivePolicyValidationErrors"]) for p in pages), len(errors), "paged findings")
    expect_error("AccessDeniedException", client(acct).list_accounts_with_invalid_effective_policy, PolicyType="BACKUP_POLICY")
    expect_error("AccountNotFoundException", org.list_effective_policy_validation_errors, AccountId="000000000000", PolicyType="BACKUP_POLICY")
    # Fixing it (detaching one) clears the findings.
    org.detach_policy(PolicyId=b, TargetId=acct)
    eq(org.list_accounts_with_invalid_effective_policy(PolicyType="BACKUP_POLICY")["Accounts"], [], "fixed")
    eq(org.list_effective_policy_validation_errors(AccountId=acct, PolicyType="BACKUP_POLICY")["EffectivePolicyValidationErrors"], [], "no findings")
    org.detach_policy(PolicyId=a, TargetId=S["later_ou"])
    org.delete_policy(PolicyId=a)
    org.delete_policy(PolicyId=b)


def test_tags_on_policies():
    pid = create("TAG_POLICY", "tagged", doc(MANAGEMENT["TAG_POLICY"][1]), Tags=[{"Key": "team", "Value": "platform"}])
    eq(org.list_tags_for_resource(ResourceId=pid)["Tags"], [{"Key": "team", "Value": "platform"}], "tags from CreatePolicy")
    org.tag_resource(ResourceId=pid, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "security"}])
    tags = sorted((t["Key"], t["Value"]) for t in org.list_tags_for_resource(ResourceId=pid)["Tags"])
    eq(tags, [("env", "prod"), ("team", "security")], "after TagResource")
    org.untag_resource(ResourceId=pid, TagKeys=["team"])
    eq(org.list_tags_for_resource(ResourceId=pid)["Tags"], [{"Key": "env", "Value": "prod"}], "after UntagResource")
    expect_error("InvalidInputException", org.tag_resource, ResourceId=pid, Tags=[{"Key": "aws:x", "Value": "1"}])
    org.delete_policy(PolicyId=pid)
    expect_error("TargetNotFoundException", org.list_tags_for_resource, ResourceId=pid)


def test_list_policies_pagination():
    made = [create("UPGRADE_ROLLOUT_POLICY", f"page-{i}", doc({"upgrade_rollout": {"default": {"patch_order": {"@@assign": "first"}}}})) for i in range(7)]
    want = S["mgmt_policies"]["UPGRADE_ROLLOUT_POLICY"] + made
    seen, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        out = org.list_policies(Filter="UPGRADE_ROLLOUT_POLICY", MaxResults=3, **kw)
        assert len(out["Policies"]) <= 3, out
        assert all("Content" not in p for p in out["Policies"]), "ListPolicies omits content"
        seen += [p["Id"] for p in out["Policies"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    eq(sorted(seen), sorted(want), "every policy once")
    eq(len(seen), len(set(seen)), "no duplicates")
    eq(pages, 4, "ten policies in pages of three")
    expect_error("InvalidInputException", org.list_policies, Filter="UPGRADE_ROLLOUT_POLICY", MaxResults=21)
    expect_error("InvalidInputException", org.list_policies, Filter="UPGRADE_ROLLOUT_POLICY", NextToken="not-a-token")
    scp_ids = [p["Id"] for page in org.get_paginator("list_policies").paginate(Filter="SERVICE_CONTROL_POLICY", PaginationConfig={"PageSize": 1}) for p in page["Policies"]]
    eq(scp_ids, ["p-FullAWSAccess", S["scp"]], "SCPs: the AWS managed one first")
    for pid in made:
        org.delete_policy(PolicyId=pid)


def test_disable_type_detaches_and_keeps():
    t = "TAG_POLICY"
    ids = S["mgmt_policies"][t]
    out = org.disable_policy_type(RootId=S["root"], PolicyType=t)["Root"]
    assert t not in [p["Type"] for p in out["PolicyTypes"]], out
    for pid in ids:
        eq(targets(pid), [], f"{pid} detached everywhere")
        eq(org.describe_policy(PolicyId=pid)["Policy"]["PolicySummary"]["Id"], pid, "policy kept")
    eq(sorted(p["Id"] for p in org.list_policies(Filter=t)["Policies"]), sorted(ids), "policies still listed")
    expect_error("EffectivePolicyNotFoundException", org.describe_effective_policy, PolicyType=t, TargetId=S["acct"])
    expect_error("PolicyTypeNotEnabledException", org.attach_policy, PolicyId=ids[0], TargetId=S["root"])
    expect_error("PolicyTypeNotEnabledException", org.disable_policy_type, RootId=S["root"], PolicyType=t)
    # Policies of a disabled type can still be created, updated, deleted.
    extra = create(t, "while-disabled", doc(MANAGEMENT[t][1]))
    org.delete_policy(PolicyId=extra)
    # Re-enabling restores no attachment.
    org.enable_policy_type(RootId=S["root"], PolicyType=t)
    for pid in ids:
        eq(targets(pid), [], f"{pid} still detached after re-enabling")


def test_disable_scps_and_reenable_restores_only_full_aws_access():
    scp = S["scp"]
    org.disable_policy_type(RootId=S["root"], PolicyType="SERVICE_CONTROL_POLICY")
    eq(targets(scp), [], "customer SCP detached")
    eq(targets("p-FullAWSAccess"), [], "FullAWSAccess detached")
    expect_error("PolicyTypeNotEnabledException", org.attach_policy, PolicyId=scp, TargetId=S["ou"])
    org.enable_policy_type(RootId=S["root"], PolicyType="SERVICE_CONTROL_POLICY")
    everywhere = sorted([S["root"], S["ou"], S["acct"], S["root_acct"], MGMT, S["later_ou"], S["later_acct"]])
    eq(sorted(targets("p-FullAWSAccess")), everywhere, "FullAWSAccess back on every node")
    eq(targets(scp), [], "the customer SCP stays detached")
    org.delete_policy(PolicyId=scp)
    # RCPs: disabling detaches the default as well; re-enabling restores it everywhere.
    org.disable_policy_type(RootId=S["root"], PolicyType="RESOURCE_CONTROL_POLICY")
    eq(targets("p-RCPFullAWSAccess"), [], "RCPFullAWSAccess detached")
    eq(targets(S["rcp"]), [], "customer RCP detached")
    org.enable_policy_type(RootId=S["root"], PolicyType="RESOURCE_CONTROL_POLICY")
    eq(sorted(targets("p-RCPFullAWSAccess")), everywhere, "RCPFullAWSAccess back on every node")


def test_consolidated_billing_has_no_policy_types():
    other_mgmt = "222222222222" if MGMT != "222222222222" else "333333333333"
    cb = client(other_mgmt)
    cb.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    root = cb.list_roots()["Roots"][0]
    eq(root["PolicyTypes"], [], "no policy types in a consolidated-billing organization")
    expect_error("PolicyTypeNotAvailableForOrganizationException", cb.enable_policy_type, RootId=root["Id"], PolicyType="TAG_POLICY")
    expect_error("PolicyTypeNotAvailableForOrganizationException", cb.create_policy, Type="TAG_POLICY", Name="x", Description="", Content=doc(MANAGEMENT["TAG_POLICY"][1]))
    cb.delete_organization()


def test_member_cannot_manage_policies():
    member = client(S["acct"])
    expect_error("AccessDeniedException", member.create_policy, Type="TAG_POLICY", Name="m", Description="", Content=doc(MANAGEMENT["TAG_POLICY"][1]))
    expect_error("AccessDeniedException", member.attach_policy, PolicyId=S["mgmt_policies"]["S3_POLICY"][0], TargetId=S["acct"])
    expect_error("AccessDeniedException", member.enable_policy_type, RootId=S["root"], PolicyType="TAG_POLICY")


if __name__ == "__main__":
    sys.exit(run_cases("boto3-policies", globals()))
