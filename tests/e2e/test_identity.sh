#!/usr/bin/env bash
# Strict auth end to end: its own `canopy serve --auth strict` on a fresh data directory, the
# first credentials issued with `canopy credentials create` while it runs, then the aws CLI
# (create-organization, sts get-caller-identity, create-account, sts assume-role, a call as the
# member) and boto3 (assume_role, then act as the member). Every check is counted.
#
# Usage: test_identity.sh RESULTS_FILE   (BIN = the canopy binary; `aws` on PATH; PY = a python
# with boto3). Writes "PASSED FAILED" to RESULTS_FILE.
set -uo pipefail

RESULTS=${1:-/dev/null}
BIN=${BIN:?BIN must name the canopy binary}
PY=${PY:-python3}
MGMT=111111111111
LABEL=identity
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
# Only the endpoint and the credentials file; no profile or config of the machine.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
start_strict_server "$T"
ENDPOINT=$AWS_ENDPOINT_URL
if grep -q "canopy credentials create --account" "$T/server.log"; then pass "start-up says how to make the first credentials"; else fail "no hint in: $(head -n 5 "$T/server.log")"; fi
if [ "$(stat -c %a "$T/data/canopy-master.key" 2>/dev/null)" = "600" ]; then pass "master key file beside the database, mode 600"; else fail "master key file: $(ls -l "$T/data" 2>&1)"; fi

check_error "unsigned request" MissingAuthenticationTokenException aws organizations describe-organization --no-sign-request
check_error "unknown key" UnrecognizedClientException env AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=x aws organizations describe-organization
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$ENDPOINT/canopy/v1/reset")
check "no reset endpoint in strict auth" "404" "$code"

# --- the first credentials, issued while the server runs ---------------------------------------
if "$BIN" credentials create --account "$MGMT" --database "$T/data/" >"$T/credentials" 2>"$T/create.err"; then
  pass "credentials create"
else
  fail "credentials create: $(cat "$T/create.err")"
fi
check_re "shared-credentials format" '^\[default\] aws_access_key_id = AKIA[A-Z2-7]{16} aws_secret_access_key = [A-Za-z0-9+/]{40}$' "$(tr '\n' ' ' <"$T/credentials" | sed 's/ $//')"
AKID=$(sed -n 's/^aws_access_key_id = //p' "$T/credentials")
SECRET=$(sed -n 's/^aws_secret_access_key = //p' "$T/credentials")
if [ -z "$SECRET" ] || grep -rqF -- "$SECRET" "$T/data" "$T/server.log"; then
  fail "the secret appears in the database or the log"
else
  pass "the secret is neither in the database nor in the log"
fi

OUT=$(aws organizations create-organization --feature-set ALL --query Organization.MasterAccountId --output text 2>&1)
check "create-organization with issued credentials" "$MGMT" "$OUT"
OUT=$(aws sts get-caller-identity --query '[Account,Arn,UserId]' --output text 2>&1)
check "sts get-caller-identity" "$MGMT	arn:aws:iam::$MGMT:root	$MGMT" "$OUT"
check_error "wrong secret (Organizations)" InvalidSignatureException env AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY=wrongwrongwrong aws organizations describe-organization
check_error "wrong secret (STS)" SignatureDoesNotMatch env AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY=wrongwrongwrong aws sts get-caller-identity

# --- a member account and its role -------------------------------------------------------------
CAR=$(aws organizations create-account --account-name Member --email member@example.org --query CreateAccountStatus.Id --output text 2>&1)
MEMBER=""
for _ in $(seq 1 100); do
  read -r STATE MEMBER <<<"$(aws organizations describe-create-account-status --create-account-request-id "$CAR" --query 'CreateAccountStatus.[State,AccountId]' --output text 2>&1)"
  [ "$STATE" = "SUCCEEDED" ] && break
  sleep 0.1
done
check_re "member account created" '^[0-9]{12}$' "$MEMBER"
ROLE="arn:aws:iam::$MEMBER:role/OrganizationAccountAccessRole"
OUT=$(aws sts assume-role --role-arn "$ROLE" --role-session-name e2e --duration-seconds 900 \
  --query 'join(`" "`, [Credentials.AccessKeyId, Credentials.SecretAccessKey, Credentials.SessionToken, AssumedRoleUser.Arn])' --output text 2>&1)
read -r SAK SSK STOK SARN <<<"$OUT"
check_re "sts assume-role" '^ASIA[A-Z2-7]{16}$' "$SAK"
check "assumed role ARN" "arn:aws:sts::$MEMBER:assumed-role/OrganizationAccountAccessRole/e2e" "$SARN"
as_member() { env AWS_ACCESS_KEY_ID="$SAK" AWS_SECRET_ACCESS_KEY="$SSK" AWS_SESSION_TOKEN="$STOK" "$@"; }
OUT=$(as_member aws sts get-caller-identity --query Account --output text 2>&1)
check "get-caller-identity as the member" "$MEMBER" "$OUT"
OUT=$(as_member aws organizations describe-organization --query Organization.MasterAccountId --output text 2>&1)
check "describe-organization as the member" "$MGMT" "$OUT"
check_error "a member cannot list accounts" AccessDeniedException as_member aws organizations list-accounts
check_error "session without its token" UnrecognizedClientException env AWS_ACCESS_KEY_ID="$SAK" AWS_SECRET_ACCESS_KEY="$SSK" aws organizations describe-organization
check_error "assume a role that does not exist" AccessDenied aws sts assume-role --role-arn "arn:aws:iam::$MEMBER:role/Nope" --role-session-name e2e
check_error "the member may not assume its own role" AccessDenied as_member aws sts assume-role --role-arn "$ROLE" --role-session-name again

# --- boto3: assume_role, then act as the member -------------------------------------------------
if OUT=$("$PY" - "$ROLE" "$MEMBER" "$MGMT" 2>&1 <<'EOF'
import sys, boto3
role, member, mgmt = sys.argv[1:]
creds = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="boto3")["Credentials"]
session = boto3.session.Session(
    aws_access_key_id=creds["AccessKeyId"],
    aws_secret_access_key=creds["SecretAccessKey"],
    aws_session_token=creds["SessionToken"],
)
me = session.client("sts").get_caller_identity()
assert me["Account"] == member, me
assert me["Arn"] == f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/boto3", me
org = session.client("organizations").describe_organization()["Organization"]
assert org["MasterAccountId"] == mgmt, org
print("ok")
EOF
); then check "boto3 assume_role then act as the member" "ok" "$OUT"; else fail "boto3: $OUT"; fi

# --- session parameters: a session policy limits the session, tags and source identity ----------
cat >"$T/session-policy.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "organizations:Describe*", "Resource": "*"}]}
JSON
OUT=$(aws sts assume-role --role-arn "$ROLE" --role-session-name scoped --duration-seconds 900 \
  --policy "file://$T/session-policy.json" --tags Key=team,Value=blue --source-identity alice \
  --query 'join(`" "`, [Credentials.AccessKeyId, Credentials.SecretAccessKey, Credentials.SessionToken, SourceIdentity])' --output text 2>&1)
read -r PAK PSK PTOK PSRC <<<"$OUT"
check "assume-role with a session policy, tags and a source identity" "alice" "$PSRC"
as_scoped() { env AWS_ACCESS_KEY_ID="$PAK" AWS_SECRET_ACCESS_KEY="$PSK" AWS_SESSION_TOKEN="$PTOK" "$@"; }
OUT=$(as_scoped aws organizations describe-organization --query Organization.MasterAccountId --output text 2>&1)
check "the session policy allows describe-organization" "$MGMT" "$OUT"
check_error "the session policy allows nothing else" AccessDeniedException as_scoped aws organizations leave-organization
OUT=$(as_scoped aws organizations leave-organization 2>&1)
if [[ "$OUT" == *"because no session policy allows the organizations:LeaveOrganization action"* ]]; then pass "the refusal names the session policy"; else fail "session policy refusal: $OUT"; fi
check_error "a malformed session policy" MalformedPolicyDocument aws sts assume-role --role-arn "$ROLE" --role-session-name bad --policy '{"Statement":'
if OUT=$("$PY" - "$ROLE" 2>&1 <<'EOF'
import sys, boto3, botocore
role = sys.argv[1]
sts = boto3.client("sts")
try:
    sts.assume_role(RoleArn=role, RoleSessionName="many", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    print("51 tags accepted")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "ValidationError", e.response
r = sts.assume_role(RoleArn=role, RoleSessionName="tagged", Tags=[{"Key": "team", "Value": "blue"}], TransitiveTagKeys=["team"], SourceIdentity="bob")
assert r["SourceIdentity"] == "bob", r
print("ok")
EOF
); then check "boto3: session tags checked, source identity echoed" "ok" "$OUT"; else fail "boto3 session parameters: $OUT"; fi

# --- listing and revoking keys while the server runs --------------------------------------------
"$BIN" credentials create --account "$MGMT" --name ci --database "$T/data/" >"$T/ci-credentials" 2>/dev/null
CI_AKID=$(sed -n 's/^aws_access_key_id = //p' "$T/ci-credentials")
CI_SECRET=$(sed -n 's/^aws_secret_access_key = //p' "$T/ci-credentials")
as_ci() { env AWS_ACCESS_KEY_ID="$CI_AKID" AWS_SECRET_ACCESS_KEY="$CI_SECRET" "$@"; }
OUT=$(as_ci aws sts get-caller-identity --query Arn --output text 2>&1)
check "a second key, for the IAM user ci" "arn:aws:iam::$MGMT:user/ci" "$OUT"
LIST=$("$BIN" credentials list --account "$MGMT" --database "$T/data/" 2>/dev/null)
check "credentials list shows both keys" "2" "$(grep -cE "^($AKID|$CI_AKID) " <<<"$LIST")"
if grep -qF -- "$CI_SECRET" <<<"$LIST"; then fail "credentials list prints a secret"; else pass "credentials list prints no secret"; fi
check_re "credentials list names the principal" "$CI_AKID +$MGMT +[0-9T:Z-]+ +arn:aws:iam::$MGMT:user/ci" "$(grep -F "$CI_AKID" <<<"$LIST")"
if "$BIN" credentials revoke "$CI_AKID" --database "$T/data/" 2>"$T/revoke.err"; then pass "credentials revoke"; else fail "credentials revoke: $(cat "$T/revoke.err")"; fi
sleep 1.2
check_error "a revoked key is refused by the running server" UnrecognizedClientException as_ci aws organizations describe-organization
OUT=$(aws organizations describe-organization --query Organization.MasterAccountId --output text 2>&1)
check "the other key still works" "$MGMT" "$OUT"
if "$BIN" credentials revoke "$CI_AKID" --database "$T/data/" 2>"$T/revoke.err"; then
  fail "revoking an unknown key succeeded"
else
  check_re "revoking an unknown key fails and says so" "no access key" "$(cat "$T/revoke.err")"
fi

if grep -q "panicked" "$T/server.log"; then fail "a panic in the strict server's log"; else pass "no panic in the server log"; fi
