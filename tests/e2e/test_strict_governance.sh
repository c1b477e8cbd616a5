#!/usr/bin/env bash
# Strict auth end to end for governance: its own `canopy serve --auth strict` on a fresh data
# directory; `canopy credentials create` for the management account and for an outside account,
# each used through its own shared-credentials file. The outside account accepts an invitation
# with its own signed credentials; a session of OrganizationAccountAccessRole in a created
# account reads but can't manage; and requests signed badly: a wrong secret, a body changed after
# signing, a signature made 20 minutes ago (boto3 with a patched clock, and by hand with
# botocore's SigV4Auth), and the same signed request sent twice. Every check is counted.
#
# Replays: SigV4 binds a signature to its request and to a 15-minute window around its time, not
# to a single use, and AWS accepts the same signed request again within that window. Canopy does
# the same: a replayed read answers as the first copy did, a replayed write runs again (here a
# second CreateOrganizationalUnit, refused only because the first made the OU).
#
# Usage: test_strict_governance.sh RESULTS_FILE   (BIN = the canopy binary; `aws` on PATH; PY = a
# python with boto3). Writes "PASSED FAILED" to RESULTS_FILE.
set -uo pipefail

RESULTS=${1:-/dev/null}
BIN=${BIN:?BIN must name the canopy binary}
PY=${PY:-python3}
MGMT=111111111111
OUTSIDE=222222222222
LABEL=strict-governance
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"

T=$(mktemp -d)
finish() {
  stop_server
  rm -rf "$T"
  report "$RESULTS"
}
trap finish EXIT

# --- a strict server on an empty data directory --------------------------------------------------
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE="$T/mgmt.ini" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
start_strict_server "$T"
ENDPOINT=$AWS_ENDPOINT_URL

# --- credentials for the management account and for an outside account ---------------------------
for who in mgmt:$MGMT outside:$OUTSIDE; do
  if "$BIN" credentials create --account "${who#*:}" --database "$T/data/" >"$T/${who%%:*}.ini" 2>"$T/create.err"; then
    pass "credentials create for ${who%%:*} (${who#*:})"
  else
    fail "credentials create for ${who%%:*}: $(cat "$T/create.err")"
  fi
done
# as_outside command... — with the outside account's own credentials file.
as_outside() { AWS_SHARED_CREDENTIALS_FILE="$T/outside.ini" "$@"; }
key_of() { sed -n "s/^$2 = //p" "$T/$1.ini"; }

OUT=$(aws sts get-caller-identity --query Account --output text 2>&1)
check "the management key is the management account" "$MGMT" "$OUT"
OUT=$(as_outside aws sts get-caller-identity --query Account --output text 2>&1)
check "the outside key is the outside account" "$OUTSIDE" "$OUT"
ORG_ID=$(aws organizations create-organization --feature-set ALL --query Organization.Id --output text 2>&1)
check_re "create-organization" '^o-[a-z0-9]{10,32}$' "$ORG_ID"
check_error "the outside account is in no organization" AWSOrganizationsNotInUseException as_outside aws organizations describe-organization

# --- the outside account is invited and accepts with its own signed credentials ------------------
H=$(aws organizations invite-account-to-organization --target "Id=$OUTSIDE,Type=ACCOUNT" --query Handshake.Id --output text 2>&1)
check_re "invite the outside account" '^h-[0-9a-z]{8,32}$' "$H"
OUT=$(as_outside aws organizations list-handshakes-for-account --query 'Handshakes[].[Id,State]' --output text 2>&1)
check "the outside account lists its invitation" "$H	OPEN" "$OUT"
check_error "the management account can't accept its own invitation" AccessDeniedException aws organizations accept-handshake --handshake-id "$H"
OUT=$(as_outside aws organizations accept-handshake --handshake-id "$H" --query Handshake.State --output text 2>&1)
check "the outside account accepts" "ACCEPTED" "$OUT"
OUT=$(as_outside aws organizations describe-organization --query 'Organization.[Id,MasterAccountId]' --output text 2>&1)
check "the new member sees the organization" "$ORG_ID	$MGMT" "$OUT"
OUT=$(aws organizations list-accounts --query "Accounts[?Id=='$OUTSIDE'].JoinedMethod" --output text 2>&1)
check "joined by invitation" "INVITED" "$OUT"
check_error "the new member can't list accounts" AccessDeniedException as_outside aws organizations list-accounts

# A third account, invited by the address Canopy gives an account it has not seen
# (account-<id>@example.com), declines with its own issued key.
BY_EMAIL=333333333333
"$BIN" credentials create --account "$BY_EMAIL" --database "$T/data/" >"$T/by-email.ini" 2>/dev/null
as_by_email() { AWS_SHARED_CREDENTIALS_FILE="$T/by-email.ini" "$@"; }
HE=$(aws organizations invite-account-to-organization --target "Id=account-$BY_EMAIL@example.com,Type=EMAIL" --query Handshake.Id --output text 2>&1)
OUT=$(as_by_email aws organizations list-handshakes-for-account --query 'Handshakes[].Id' --output text 2>&1)
check "the account invited by email lists its invitation" "$HE" "$OUT"
check_error "the first invitee can't decline another's invitation" HandshakeNotFoundException as_outside aws organizations decline-handshake --handshake-id "$HE"
OUT=$(as_by_email aws organizations decline-handshake --handshake-id "$HE" --query Handshake.State --output text 2>&1)
check "the account invited by email declines" "DECLINED" "$OUT"

# --- a session of OrganizationAccountAccessRole in a created account ----------------------------
CAR=$(aws organizations create-account --account-name Member --email member@example.org --query CreateAccountStatus.Id --output text 2>&1)
MEMBER="" STATE=""
for _ in $(seq 1 100); do
  read -r STATE MEMBER <<<"$(aws organizations describe-create-account-status --create-account-request-id "$CAR" --query 'CreateAccountStatus.[State,AccountId]' --output text 2>&1)"
  [ "$STATE" = "SUCCEEDED" ] && break
  sleep 0.1
done
check_re "member account created" '^[0-9]{12}$' "$MEMBER"
OUT=$(aws sts assume-role --role-arn "arn:aws:iam::$MEMBER:role/OrganizationAccountAccessRole" --role-session-name admin \
  --query 'join(`" "`, [Credentials.AccessKeyId, Credentials.SecretAccessKey, Credentials.SessionToken])' --output text 2>&1)
read -r SAK SSK STOK <<<"$OUT"
check_re "assume OrganizationAccountAccessRole" '^ASIA[A-Z2-7]{16}$' "$SAK"
as_session() { env AWS_ACCESS_KEY_ID="$SAK" AWS_SECRET_ACCESS_KEY="$SSK" AWS_SESSION_TOKEN="$STOK" "$@"; }
OUT=$(as_session aws organizations describe-organization --query Organization.MasterAccountId --output text 2>&1)
check "the session may describe the organization" "$MGMT" "$OUT"
ROOT=$(aws organizations list-roots --query 'Roots[0].Id' --output text 2>&1)
check_error "the session can't create an OU (management only)" AccessDeniedException as_session aws organizations create-organizational-unit --parent-id "$ROOT" --name Nope
check_error "the session can't invite" AccessDeniedException as_session aws organizations invite-account-to-organization --target "Id=333333333333,Type=ACCOUNT"

# The session's account becomes a service delegated administrator, then a resource-policy grantee:
# what its account may do, the session may do (the role is the account's administrator).
check_error "before any delegation the session can't list accounts" AccessDeniedException as_session aws organizations list-accounts
aws organizations enable-aws-service-access --service-principal sso.amazonaws.com 2>&1
aws organizations register-delegated-administrator --account-id "$MEMBER" --service-principal sso.amazonaws.com 2>&1
OUT=$(as_session aws organizations list-accounts --query 'length(Accounts)' --output text 2>&1)
check "as a delegated administrator's session: list-accounts" "3" "$OUT"
check_error "a delegated administrator's session still can't create an OU" AccessDeniedException \
  as_session aws organizations create-organizational-unit --parent-id "$ROOT" --name Nope
aws organizations deregister-delegated-administrator --account-id "$MEMBER" --service-principal sso.amazonaws.com 2>&1
check_error "deregistered: the session can't list accounts" AccessDeniedException as_session aws organizations list-accounts
aws organizations enable-aws-service-access --service-principal tagpolicies.tag.amazonaws.com 2>&1
aws organizations enable-policy-type --root-id "$ROOT" --policy-type TAG_POLICY >/dev/null 2>&1
GRANT=$(printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"organizations:CreatePolicy","Resource":"*","Condition":{"StringEquals":{"organizations:PolicyType":"TAG_POLICY"}}}]}' "$MEMBER")
aws organizations put-resource-policy --content "$GRANT" >/dev/null 2>&1
OUT=$(as_session aws organizations create-policy --name cost --description "" --type TAG_POLICY \
  --content '{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}' --query Policy.PolicySummary.Type --output text 2>&1)
check "a grantee's session creates a tag policy" "TAG_POLICY" "$OUT"
check_error "a grantee's session can't create an SCP" AccessDeniedException as_session aws organizations create-policy --name deny \
  --description "" --type SERVICE_CONTROL_POLICY --content '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}'
check_error "the outside account (now a member, not named) can't create a tag policy" AccessDeniedException as_outside aws organizations create-policy \
  --name other --description "" --type TAG_POLICY --content '{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}'

# --- badly signed requests ------------------------------------------------------------------------
MGMT_AKID=$(key_of mgmt aws_access_key_id)
check_error "wrong secret" InvalidSignatureException env AWS_ACCESS_KEY_ID="$MGMT_AKID" AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrongwrongwrongwrongwrong \
  aws organizations describe-organization
check_error "the outside key with the management secret" InvalidSignatureException env AWS_ACCESS_KEY_ID="$(key_of outside aws_access_key_id)" \
  AWS_SECRET_ACCESS_KEY="$(key_of mgmt aws_secret_access_key)" aws organizations describe-organization

# The Python checks print one "PASS name" / "FAIL name: why" line each.
"$PY" - "$ENDPOINT" "$MGMT_AKID" "$(key_of mgmt aws_secret_access_key)" "$ORG_ID" "$ROOT" >"$T/py.out" 2>"$T/py.err" <<'EOF'
import datetime, json, sys, urllib.error, urllib.request
from unittest import mock

import boto3
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

endpoint, akid, secret, org_id, root = sys.argv[1:]
MINUTES_20 = datetime.timedelta(minutes=20)


def report(name, ok, why=""):
    print(f"PASS {name}" if ok else f"FAIL {name}: {why}", flush=True)


def signed(target, body, when=None, key=secret):
    """An Organizations request signed with SigV4 at `when` (default: now), ready to send."""
    req = AWSRequest(method="POST", url=endpoint + "/", data=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"AWSOrganizationsV20161128.{target}",
    })
    if when is None:
        SigV4Auth(Credentials(akid, key), "organizations", "us-east-1").add_auth(req)
    else:
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda: when):
            SigV4Auth(Credentials(akid, key), "organizations", "us-east-1").add_auth(req)
    return req.prepare()


def send(prepared, body=None):
    """(HTTP status, decoded JSON answer) of a prepared request, its body optionally replaced."""
    r = urllib.request.Request(prepared.url, data=prepared.body if body is None else body,
                               headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def error_type(answer):
    return answer.get("__type", "").rsplit("#", 1)[-1]


now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)

# A well-signed request first, so the later refusals are about the signature alone.
status, answer = send(signed("DescribeOrganization", {}))
report("a hand-signed request is accepted", status == 200 and answer["Organization"]["Id"] == org_id, f"{status} {answer}")

# Tampered: the body changed after signing.
prepared = signed("ListChildren", {"ParentId": root, "ChildType": "ACCOUNT"})
status, answer = send(prepared, body=json.dumps({"ParentId": root, "ChildType": "ORGANIZATIONAL_UNIT"}).encode())
report("a body changed after signing is refused", status == 400 and error_type(answer) == "InvalidSignatureException",
       f"{status} {answer}")

# Signed 20 minutes ago, by hand.
past = now - MINUTES_20
status, answer = send(signed("DescribeOrganization", {}, when=past))
stamp = past.strftime("%Y%m%dT%H%M%SZ")
report("a request signed 20 minutes ago is refused (SigV4Auth)",
       status == 400 and error_type(answer) == "InvalidSignatureException"
       and answer.get("message", answer.get("Message", "")).startswith(f"Signature expired: {stamp} is now earlier than"),
       f"{status} {answer}")
# And 20 minutes ahead.
status, answer = send(signed("DescribeOrganization", {}, when=now + MINUTES_20))
report("a request signed 20 minutes ahead is refused", status == 400 and error_type(answer) == "InvalidSignatureException",
       f"{status} {answer}")
# 10 minutes ago is inside the 15-minute window.
status, answer = send(signed("DescribeOrganization", {}, when=now - datetime.timedelta(minutes=10)))
report("a request signed 10 minutes ago is accepted", status == 200, f"{status} {answer}")

# STS (awsQuery) words the same refusal its own way: 403 SignatureDoesNotMatch.
sts_req = AWSRequest(method="POST", url=endpoint + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
with mock.patch.object(botocore.auth, "get_current_datetime", lambda: past):
    SigV4Auth(Credentials(akid, secret), "sts", "us-east-1").add_auth(sts_req)
sts_prepared = sts_req.prepare()
r = urllib.request.Request(sts_prepared.url, data=sts_prepared.body, headers=dict(sts_prepared.headers), method="POST")
try:
    with urllib.request.urlopen(r, timeout=10) as resp:
        report("an STS request signed 20 minutes ago is refused", False, f"{resp.status} {resp.read()[:200]!r}")
except urllib.error.HTTPError as e:
    text = e.read().decode()
    report("an STS request signed 20 minutes ago is refused",
           e.code == 403 and "<Code>SignatureDoesNotMatch</Code>" in text and "Signature expired" in text, f"{e.code} {text[:300]}")

# Signed 20 minutes ago by boto3 itself, its clock patched.
client = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=akid,
                      aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1, "mode": "standard"}))
with mock.patch.object(botocore.auth, "get_current_datetime", lambda: past):
    try:
        client.describe_organization()
        report("boto3 with a clock 20 minutes slow is refused", False, "the call succeeded")
    except ClientError as e:
        err = e.response["Error"]
        report("boto3 with a clock 20 minutes slow is refused",
               err["Code"] == "InvalidSignatureException" and err["Message"].startswith("Signature expired:"), err)
report("boto3 with the right clock is accepted", client.describe_organization()["Organization"]["Id"] == org_id)

# Replays within the window: accepted, as AWS accepts them.
prepared = signed("DescribeOrganization", {})
first, second = send(prepared), send(prepared)
report("a replayed read answers as the first copy", first[0] == 200 and second == first, f"{first} / {second}")
prepared = signed("CreateOrganizationalUnit", {"ParentId": root, "Name": "Replayed"})
first, second = send(prepared), send(prepared)
report("a replayed write runs again (the OU exists: DuplicateOrganizationalUnitException)",
       first[0] == 200 and first[1]["OrganizationalUnit"]["Name"] == "Replayed"
       and second[0] == 400 and error_type(second[1]) == "DuplicateOrganizationalUnitException",
       f"{first} / {second}")
ous = client.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
report("the replay made no second OU", [o["Name"] for o in ous] == ["Replayed"], ous)
EOF
PYRC=$?
while IFS= read -r line; do
  case $line in
    "PASS "*) pass "${line#PASS }" ;;
    "FAIL "*) fail "${line#FAIL }" ;;
  esac
done <"$T/py.out"
if [ $PYRC -ne 0 ]; then fail "the python checks stopped: $(tail -n 5 "$T/py.err")"; fi

if grep -q "panicked" "$T/server.log"; then fail "a panic in the strict server's log"; else pass "no panic in the server log"; fi
