#!/usr/bin/env python3
"""Seeded generator of random but valid SCP/RCP authorization cases.

Each case is written in two forms so both engines see exactly the same question:
  - "canopy": {"scp": <vector case>, "rcp": <vector case or null>} in the format of
    /work/shared/spec/policy-vectors.json (kind "authorization"), one case per layer;
  - "sim": the iam-simulate Simulation input (SCP and RCP levels root first; iam-simulate adds
    RCPFullAWSAccess to every RCP level itself, Canopy gets it attached explicitly).

The principal is a member account's IAM role, so no Canopy exemption applies. Canopy runs with
derive_keys=false and the principal keys (aws:PrincipalArn, aws:PrincipalAccount) are supplied
explicitly, because iam-simulate derives nothing. Only global condition keys are used, so
iam-simulate does not drop any of them as "not valid for this action".

Usage: gen.py N SEED > cases.json
"""
import json
import random
import sys

ORG = "o-a1b2c3d4e5"
ROOT = "r-ab12"
MGMT = "111111111111"
ACCOUNTS = ["222222222222", "333333333333", "444444444444"]
OUS = ["ou-ab12-prod0001", "ou-ab12-dev00001", "ou-ab12-sbx00001", "ou-ab12-wkld0001"]
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"]
ROLES = ["Dev", "Admin", "AdminBreakglass", "platform-ci", "ReadOnly"]
TEAMS = ["platform", "platform-data", "dev", "Dev", "security"]

# (action, resource template, service); {a} = resource account, {r} = region.
REQUESTS = [
    ("s3:GetObject", "arn:aws:s3:::data-lake/raw/file.csv", "s3"),
    ("s3:GetObject", "arn:aws:s3:::logs-bucket/2026/a.log", "s3"),
    ("s3:PutObject", "arn:aws:s3:::data-lake/raw/file.csv", "s3"),
    ("s3:PutObject", "arn:aws:s3:::home-platform/notes.txt", "s3"),
    ("s3:ListBucket", "arn:aws:s3:::data-lake", "s3"),
    ("s3:DeleteBucket", "arn:aws:s3:::logs-bucket", "s3"),
    ("sqs:SendMessage", "arn:aws:sqs:{r}:{a}:orders-queue", "sqs"),
    ("sqs:DeleteQueue", "arn:aws:sqs:{r}:{a}:audit", "sqs"),
    ("kms:Decrypt", "arn:aws:kms:{r}:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab", "kms"),
    ("kms:Encrypt", "arn:aws:kms:{r}:{a}:key/1234abcd-12ab-34cd-56ef-1234567890ab", "kms"),
    ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:{r}:{a}:secret:prod/db-AbCdEf", "secretsmanager"),
    ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:{r}:{a}:secret:dev/api-XyZ123", "secretsmanager"),
    ("sts:AssumeRole", "arn:aws:iam::{a}:role/Admin", "sts"),
    ("sts:AssumeRole", "arn:aws:iam::{a}:role/Dev", "sts"),
    ("ec2:RunInstances", "arn:aws:ec2:{r}:{a}:instance/i-0123456789abcdef0", "ec2"),
    ("ec2:TerminateInstances", "arn:aws:ec2:{r}:{a}:instance/i-0123456789abcdef0", "ec2"),
    ("ec2:DescribeInstances", "*", "ec2"),
    ("iam:CreateRole", "arn:aws:iam::{a}:role/AdminNew", "iam"),
    ("iam:DeleteUser", "arn:aws:iam::{a}:user/alice", "iam"),
    ("iam:ListRoles", "*", "iam"),
    ("dynamodb:GetItem", "arn:aws:dynamodb:{r}:{a}:table/Orders", "dynamodb"),
    ("lambda:InvokeFunction", "arn:aws:lambda:{r}:{a}:function:billing", "lambda"),
]
RCP_SERVICES = {"s3", "sts", "sqs", "secretsmanager", "kms"}

SCP_ACTIONS = [
    "*", "s3:*", "s3:Get*", "s3:*Object", "s3:List*", "s3:PutObject", "S3:getobject",
    "ec2:*", "ec2:RunInstances", "ec2:Describe*", "ec2:*Instances", "iam:*", "iam:Create*",
    "iam:?eleteUser", "sqs:*", "sqs:Send*", "kms:*", "kms:Decrypt", "kms:*crypt",
    "secretsmanager:*", "secretsmanager:GetSecretValue", "sts:*", "sts:AssumeRole",
    "dynamodb:*", "dynamodb:Get*", "lambda:Invoke*",
]
RCP_ACTIONS = [
    "s3:*", "s3:Get*", "s3:*Object", "s3:List*", "s3:PutObject", "sqs:*", "sqs:Send*",
    "kms:*", "kms:Decrypt", "kms:*crypt", "secretsmanager:*", "secretsmanager:GetSecretValue",
    "sts:*", "sts:AssumeRole",
]
RESOURCES = [
    "*", "arn:aws:s3:::data-*", "arn:aws:s3:::data-*/*", "arn:aws:s3:::logs-bucket/*",
    "arn:aws:s3:::home-${aws:PrincipalTag/team}/*", "arn:aws:ec2:*:*:instance/*",
    "arn:aws:ec2:us-east-1:*:*", "arn:aws:iam::*:role/Admin*", "arn:aws:iam::{acct}:user/*",
    "arn:aws:sqs:*:{acct}:orders*", "arn:aws:sqs:eu-*:*:*", "arn:aws:kms:*:*:key/*",
    "arn:aws:secretsmanager:*:*:secret:prod/*", "arn:aws:dynamodb:eu-west-1:*:table/*",
    "arn:aws:lambda:*:*:function:*", "arn:aws:*:*:{acct}:*",
]


def pick(rng, xs, k=None):
    if k is None:
        return rng.choice(xs)
    return rng.sample(xs, k)


def one_or_list(rng, xs):
    return xs[0] if len(xs) == 1 and rng.random() < 0.6 else xs


# Condition families: key -> list of (operator, value generator).
def cond_entry(rng, accts):
    fam = rng.randrange(14)
    neg = rng.random() < 0.35
    ife = "IfExists" if rng.random() < 0.2 else ""
    if fam == 0:
        op = pick(rng, ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"])
        vals = pick(rng, ["us-east-1", "eu-west-1", "eu-*", "us-*", "ap-southeast-2"], rng.randint(1, 2))
        return op + ife, "aws:RequestedRegion", vals
    if fam == 1:
        op = pick(rng, ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike"])
        key = pick(rng, ["aws:PrincipalTag/team", "aws:principaltag/Team"])
        vals = pick(rng, ["platform", "platform-*", "dev", "security", "${aws:PrincipalTag/owner}"], rng.randint(1, 2))
        return op + ife, key, vals
    if fam == 2:
        op = pick(rng, ["ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals", "StringLike"])
        vals = pick(rng, ["arn:aws:iam::*:role/Admin*", "arn:aws:iam::%s:role/*" % pick(rng, accts),
                          "arn:aws:iam::*:role/platform-*", "arn:aws:iam::*:role/Dev"], rng.randint(1, 2))
        return op + ife, "aws:PrincipalArn", vals
    if fam == 3:
        op = pick(rng, ["StringEquals", "StringNotEquals"])
        return op + ife, "aws:PrincipalAccount", pick(rng, accts, rng.randint(1, 2))
    if fam == 4:
        return "Bool" + ife, pick(rng, ["aws:SecureTransport", "aws:MultiFactorAuthPresent", "aws:ViaAWSService"]), \
            [pick(rng, ["true", "false", "True"])]
    if fam == 5:
        op = pick(rng, ["NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals", "NumericNotEquals"])
        return op + ife, "aws:MultiFactorAuthAge", [pick(rng, ["3600", "300", "86400"])]
    if fam == 6:
        op = pick(rng, ["DateGreaterThan", "DateLessThan", "DateNotEquals", "DateGreaterThanEquals"])
        return op + ife, "aws:CurrentTime", [pick(rng, ["2026-01-01T00:00:00Z", "2027-06-30", "2026-11-29T12:00:00+02:00"])]
    if fam == 7:
        op = pick(rng, ["DateLessThan", "DateGreaterThan"])
        return op + ife, "aws:EpochTime", [pick(rng, ["1767225600", "1800000000"])]
    if fam == 8:
        op = pick(rng, ["IpAddress", "NotIpAddress"])
        return op + ife, "aws:SourceIp", pick(rng, ["10.0.0.0/8", "203.0.113.0/24", "192.0.2.10", "2001:db8::/32"], rng.randint(1, 2))
    if fam == 9:
        op = pick(rng, ["StringEquals", "StringNotEquals"])
        return op + ife, "aws:PrincipalOrgID", [pick(rng, [ORG, "o-zzzzzzzzzz"])]
    if fam == 10:
        pre = pick(rng, ["ForAnyValue:", "ForAllValues:"])
        op = pick(rng, ["StringEquals", "StringNotEquals", "StringLike"])
        vals = pick(rng, ["cloudformation.amazonaws.com", "athena.amazonaws.com", "*.amazonaws.com"], rng.randint(1, 2))
        return pre + op + ife, "aws:CalledVia", vals
    if fam == 11:
        pre = pick(rng, ["ForAnyValue:", "ForAllValues:"])
        op = pick(rng, ["StringLike", "StringNotLike"])
        vals = pick(rng, ["%s/%s/ou-ab12-prod0001/*" % (ORG, ROOT), "%s/%s/*" % (ORG, ROOT), "%s/%s/ou-ab12-sbx*" % (ORG, ROOT)], rng.randint(1, 2))
        return pre + op + ife, "aws:PrincipalOrgPaths", vals
    if fam == 12:
        key = pick(rng, ["aws:PrincipalTag/team", "aws:SourceIp", "aws:SecureTransport", "aws:CalledVia", "aws:MultiFactorAuthAge"])
        return "Null", key, [pick(rng, ["true", "false"])]
    # a multi-valued key without a set operator, or a single-valued key with one
    if rng.random() < 0.5:
        return pick(rng, ["StringEquals", "StringNotEquals"]), "aws:CalledVia", ["athena.amazonaws.com"]
    return pick(rng, ["ForAnyValue:StringEquals", "ForAllValues:StringNotEquals"]), "aws:RequestedRegion", ["us-east-1"]


def conditions(rng, accts):
    n = rng.choice([1, 1, 1, 2, 2, 3])
    out = {}
    for _ in range(n):
        op, key, vals = cond_entry(rng, accts)
        out.setdefault(op, {})[key] = one_or_list(rng, vals)
    return out


def statement(rng, effect, rcp, accts, req_service):
    st = {"Effect": effect}
    if rng.random() < 0.3:
        st["Sid"] = "S%d" % rng.randrange(1000)
    actions = RCP_ACTIONS if rcp else SCP_ACTIONS
    # bias towards the request's service so statements match often
    pool = [a for a in actions if a.lower().startswith(req_service + ":")] or actions
    def acts():
        k = rng.randint(1, 3)
        xs = [pick(rng, pool) if rng.random() < 0.6 else pick(rng, actions) for _ in range(k)]
        return one_or_list(rng, list(dict.fromkeys(xs)))
    if rcp:
        st["Principal"] = "*"
        st["Action"] = acts()
    elif rng.random() < 0.15:
        st["NotAction"] = acts()
    else:
        st["Action"] = acts()
    res = [r.replace("{acct}", pick(rng, accts)) for r in pick(rng, RESOURCES, rng.randint(1, 2))]
    if rng.random() < 0.35:
        res = ["*"]
    if rng.random() < 0.12 and res != ["*"]:
        st["NotResource"] = one_or_list(rng, res)
    else:
        st["Resource"] = one_or_list(rng, res)
    p_cond = 0.7 if effect == "Deny" else 0.3
    if rng.random() < p_cond:
        st["Condition"] = conditions(rng, accts)
    return st


def policy(rng, rcp, accts, req_service, level_needs_allow):
    stmts = []
    if not rcp and level_needs_allow:
        stmts.append(statement(rng, "Allow", False, accts, req_service))
    for _ in range(rng.randint(0 if stmts else 1, 3)):
        if rcp:
            eff = "Deny"
        else:
            eff = "Deny" if rng.random() < 0.45 else "Allow"
        stmts.append(statement(rng, eff, rcp, accts, req_service))
    rng.shuffle(stmts)
    return {"Version": "2012-10-17", "Statement": stmts if len(stmts) > 1 or rng.random() < 0.7 else stmts[0]}


FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
RCP_FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}


def path_for(rng, acct, depth):
    ous = pick(rng, OUS, depth - 2) if depth > 2 else []
    nodes = [{"id": ROOT, "type": "ROOT", "name": "Root"}]
    nodes += [{"id": o, "type": "ORGANIZATIONAL_UNIT", "name": o} for o in ous]
    if depth >= 2:
        nodes.append({"id": acct, "type": "ACCOUNT", "name": acct})
    return nodes


def org_paths(nodes):
    ous = [n["id"] for n in nodes if n["type"] == "ORGANIZATIONAL_UNIT"]
    return ["/".join([ORG, ROOT] + ous) + "/"]


def context(rng, principal_arn, pacct, ppath):
    c = {"aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": pacct}
    def maybe(p, k, v):
        if rng.random() < p:
            c[k] = v
    maybe(0.8, "aws:RequestedRegion", pick(rng, REGIONS))
    maybe(0.6, "aws:PrincipalTag/team", pick(rng, TEAMS))
    maybe(0.2, "aws:PrincipalTag/owner", pick(rng, TEAMS))
    maybe(0.6, "aws:SecureTransport", pick(rng, ["true", "false"]))
    maybe(0.5, "aws:MultiFactorAuthPresent", pick(rng, ["true", "false"]))
    maybe(0.4, "aws:MultiFactorAuthAge", pick(rng, ["120", "3600", "90000"]))
    maybe(0.5, "aws:ViaAWSService", pick(rng, ["true", "false"]))
    maybe(0.7, "aws:CurrentTime", pick(rng, ["2026-11-29T10:00:00Z", "2025-05-01T00:00:00Z", "2027-07-01T00:00:00Z"]))
    maybe(0.4, "aws:EpochTime", pick(rng, ["1764410400", "1900000000"]))
    maybe(0.6, "aws:SourceIp", pick(rng, ["10.1.2.3", "203.0.113.7", "198.51.100.1", "2001:db8::1"]))
    maybe(0.5, "aws:PrincipalOrgID", ORG)
    maybe(0.4, "aws:PrincipalOrgPaths", org_paths(ppath))
    if rng.random() < 0.4:
        c["aws:CalledVia"] = pick(rng, [[], ["athena.amazonaws.com"], ["cloudformation.amazonaws.com", "athena.amazonaws.com"], ["glue.amazonaws.com"]])
    return c


def gen_case(rng, i):
    pacct = pick(rng, ACCOUNTS)
    role = pick(rng, ROLES)
    parn = "arn:aws:iam::%s:role/%s" % (pacct, role)
    with_rcp = rng.random() < 0.5
    reqs = [r for r in REQUESTS if not with_rcp or (r[2] in RCP_SERVICES and r[1] != "*")]
    action, res_t, service = pick(rng, reqs)
    racct = pacct if rng.random() < 0.6 else pick(rng, [a for a in ACCOUNTS if a != pacct])
    region = pick(rng, REGIONS)
    resource = res_t.replace("{a}", racct).replace("{r}", region)
    accts = ACCOUNTS
    depth = rng.randint(2, 5)  # root, 0-3 OUs, account
    ppath = path_for(rng, pacct, depth)
    rpath = ppath if racct == pacct else path_for(rng, racct, rng.randint(2, 5))
    policies = {"p-FullAWSAccess": {"type": "SERVICE_CONTROL_POLICY", "aws_managed": True, "content": FULL}}
    attachments = {}
    sim_scps = []
    for n in ppath:
        ids = []
        sim_pols = []
        if rng.random() < 0.7:
            ids.append("p-FullAWSAccess")
        needs_allow = not ids and rng.random() < 0.85
        for j in range(rng.randint(0 if ids else 1, 3 - len(ids))):
            pid = "p-scp-%s-%d" % (n["id"], j)
            policies[pid] = {"type": "SERVICE_CONTROL_POLICY", "content": policy(rng, False, accts, service, needs_allow and j == 0)}
            ids.append(pid)
        rng.shuffle(ids)
        for pid in ids:
            sim_pols.append({"name": pid, "policy": policies[pid]["content"]})
        attachments[n["id"]] = ids
        sim_scps.append({"orgIdentifier": n["id"], "policies": sim_pols})
    ctx = context(rng, parn, pacct, ppath)
    request = {
        "principal": {"arn": parn, "type": "AssumedRole", "account": pacct},
        "action": action, "resource": resource, "resource_account": racct, "context": ctx,
    }
    opts = {"derive_keys": False}
    scp_case = {
        "id": "gen-%d-scp" % i, "kind": "authorization", "layer": "SCP",
        "org": {"management_account": MGMT, "enabled_policy_types": ["SERVICE_CONTROL_POLICY"], "path": ppath},
        "policies": policies, "attachments": attachments, "request": request, "options": opts,
    }
    rcp_case = None
    sim_rcps = []
    if with_rcp:
        rpols = {"p-RCPFullAWSAccess": {"type": "RESOURCE_CONTROL_POLICY", "aws_managed": True, "content": RCP_FULL}}
        ratt = {}
        for n in rpath:
            ids = []
            for j in range(rng.choice([0, 0, 1, 1, 2])):
                pid = "p-rcp-%s-%d" % (n["id"], j)
                rpols[pid] = {"type": "RESOURCE_CONTROL_POLICY", "content": policy(rng, True, accts, service, False)}
                ids.append(pid)
            ratt[n["id"]] = ["p-RCPFullAWSAccess"] + ids
            sim_rcps.append({"orgIdentifier": n["id"], "policies": [{"name": p, "policy": rpols[p]["content"]} for p in ids]})
        rcp_case = {
            "id": "gen-%d-rcp" % i, "kind": "authorization", "layer": "RCP",
            "org": {"management_account": MGMT, "enabled_policy_types": ["RESOURCE_CONTROL_POLICY"], "path": rpath,
                    "principal_path": ppath},
            "policies": rpols, "attachments": ratt, "request": request, "options": opts,
        }
    sim = {
        "request": {"principal": parn, "action": action, "resource": {"resource": resource, "accountId": racct},
                    "contextVariables": ctx},
        "identityPolicies": [{"name": "AllowAll", "policy": FULL}],
        "serviceControlPolicies": sim_scps,
        "resourceControlPolicies": sim_rcps,
    }
    return {"id": "gen-%d" % i, "canopy": {"scp": scp_case, "rcp": rcp_case}, "sim": sim}


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 42
    rng = random.Random(seed)
    json.dump([gen_case(rng, i) for i in range(n)], sys.stdout)


if __name__ == "__main__":
    main()
