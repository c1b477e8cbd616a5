#!/usr/bin/env bash
# The aws CLI against a running Canopy: invitations and handshakes. The management account
# invites one account by id and one by email; each invitee answers with its own credentials
# (dev auth: a 12-digit access key id is that account). Every check is counted.
#
# Usage: test_governance.sh RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>, ...
# set; `aws` on PATH; an empty store). Writes "PASSED FAILED" to RESULTS_FILE.
set -uo pipefail

RESULTS=${1:-/dev/null}
MGMT=$AWS_ACCESS_KEY_ID
BY_ID=222222222222
BY_EMAIL=333333333333
# A standalone account Canopy has not seen yet has the address account-<id>@example.com.
EMAIL="account-$BY_EMAIL@example.com"
LABEL=governance-cli
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"

org() { aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
# as ACCOUNT command... — the same, with that account's credentials.
as() {
  local account=$1
  shift
  AWS_ACCESS_KEY_ID=$account aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "$@"
}

run create-organization org create-organization --feature-set ALL --query 'Organization.Id' --output text
ORG_ID=$OUT

# --- invitations ----------------------------------------------------------------------------
run invite-by-id org invite-account-to-organization --target "Id=$BY_ID,Type=ACCOUNT" --notes "Join us" \
  --tags Key=team,Value=red --query 'Handshake.[Id,Arn,Action,State]' --output text
read -r H_ID H_ARN H_ACTION H_STATE <<<"$OUT"
check_re "handshake id" '^h-[0-9a-z]{8,32}$' "$H_ID"
check "handshake arn" "arn:aws:organizations::$MGMT:handshake/$ORG_ID/invite/$H_ID" "$H_ARN"
check "handshake action" "INVITE" "$H_ACTION"
check "handshake state" "OPEN" "$H_STATE"
run invite-by-email org invite-account-to-organization --target "Id=$EMAIL,Type=EMAIL" \
  --query 'Handshake.[Id,Parties[1].Type,Parties[1].Id]' --output text
read -r H_EMAIL P_TYPE P_ID <<<"$OUT"
check "email party" "EMAIL $EMAIL" "$P_TYPE $P_ID"
check_error "duplicate invitation" DuplicateHandshakeException org invite-account-to-organization --target "Id=$BY_ID,Type=ACCOUNT"

# --- each invitee, with its own credentials -----------------------------------------------------
run list-by-id as "$BY_ID" list-handshakes-for-account --query 'Handshakes[].Id' --output text
check "invitee by id lists its invitation" "$H_ID" "$OUT"
run list-by-email as "$BY_EMAIL" list-handshakes-for-account --query 'Handshakes[].Id' --output text
check "invitee by email lists its invitation" "$H_EMAIL" "$OUT"
run list-stranger as 999999999999 list-handshakes-for-account --query 'length(Handshakes)' --output text
check "a stranger lists nothing" "0" "$OUT"
check_error "a stranger can't describe it" HandshakeNotFoundException as 999999999999 describe-handshake --handshake-id "$H_ID"

run accept as "$BY_ID" accept-handshake --handshake-id "$H_ID" --query 'Handshake.State' --output text
check "accepted" "ACCEPTED" "$OUT"
run decline as "$BY_EMAIL" decline-handshake --handshake-id "$H_EMAIL" --query 'Handshake.State' --output text
check "declined" "DECLINED" "$OUT"

# --- the result ---------------------------------------------------------------------------------
run member-describe-org as "$BY_ID" describe-organization --query 'Organization.[Id,MasterAccountId]' --output text
check "new member sees the organization" "$ORG_ID	$MGMT" "$OUT"
check_error "the declining account is in no organization" AWSOrganizationsNotInUseException as "$BY_EMAIL" describe-organization
run list-accounts org list-accounts --query "Accounts[?Id=='$BY_ID'].JoinedMethod" --output text
check "joined by invitation" "INVITED" "$OUT"
run list-tags org list-tags-for-resource --resource-id "$BY_ID" --query 'Tags[0].[Key,Value]' --output text
check "invitation tags applied" "team	red" "$OUT"
run list-sent org list-handshakes-for-organization --query 'Handshakes[].State' --output text
check "organization's handshakes" "ACCEPTED	DECLINED" "$OUT"

# --- refusals -----------------------------------------------------------------------------------
check_error "a member can't invite" AccessDeniedException as "$BY_ID" invite-account-to-organization --target "Id=444444444444,Type=ACCOUNT"
check_error "accepting twice" HandshakeAlreadyInStateException as "$BY_ID" accept-handshake --handshake-id "$H_ID"
check_error "accepting a declined invitation" InvalidHandshakeTransitionException as "$BY_EMAIL" accept-handshake --handshake-id "$H_EMAIL"
check_error "the sender can't accept" AccessDeniedException org accept-handshake --handshake-id "$H_EMAIL"
check_error "inviting a member" HandshakeConstraintViolationException org invite-account-to-organization --target "Id=$BY_ID,Type=ACCOUNT"
run invite-third org invite-account-to-organization --target "Id=444444444444,Type=ACCOUNT" --query 'Handshake.Id' --output text
H_THIRD=$OUT
check_error "the invitee can't cancel" AccessDeniedException as 444444444444 cancel-handshake --handshake-id "$H_THIRD"
run cancel org cancel-handshake --handshake-id "$H_THIRD" --query 'Handshake.State' --output text
check "canceled" "CANCELED" "$OUT"
check_error "a canceled invitation can't be accepted" InvalidHandshakeTransitionException as 444444444444 accept-handshake --handshake-id "$H_THIRD"
check_error "all features already" HandshakeConstraintViolationException org enable-all-features

report "$RESULTS"
