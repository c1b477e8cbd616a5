#!/usr/bin/env bash
# The aws CLI against a running Canopy: a short organization lifecycle. Every check is counted.
#
# Usage: test_cli.sh RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>, ... set;
# `aws` on PATH). Writes "PASSED FAILED" to RESULTS_FILE.
set -uo pipefail

RESULTS=${1:-/dev/null}
MGMT=$AWS_ACCESS_KEY_ID
PY=${PY:-python3}
LABEL=cli
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"

org() { aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

# --- organization -----------------------------------------------------------------------------
run create-organization org create-organization --feature-set ALL --query 'Organization.[Id,Arn,MasterAccountId]' --output text
read -r ORG_ID ORG_ARN MASTER <<<"$OUT"
check_re "organization id" '^o-[a-z0-9]{10,32}$' "$ORG_ID"
check "organization arn" "arn:aws:organizations::$MGMT:organization/$ORG_ID" "$ORG_ARN"
check "master account id" "$MGMT" "$MASTER"
run describe-organization org describe-organization --query 'Organization.FeatureSet' --output text
check "feature set" "ALL" "$OUT"

run list-roots org list-roots --query 'Roots[0].[Id,Name,PolicyTypes[0].Type]' --output text
read -r ROOT ROOT_NAME ROOT_POLICY <<<"$OUT"
check_re "root id" '^r-[0-9a-z]{4,32}$' "$ROOT"
check "root name" "Root" "$ROOT_NAME"
check "SCP enabled on the root" "SERVICE_CONTROL_POLICY" "$ROOT_POLICY"

# --- OUs ----------------------------------------------------------------------------------------
run create-ou org create-organizational-unit --parent-id "$ROOT" --name Workloads --query 'OrganizationalUnit.[Id,Path]' --output text
read -r OU OU_PATH <<<"$OUT"
check_re "ou id embeds the root suffix" "^ou-${ROOT#r-}-[a-z0-9]{8,32}$" "$OU"
check "ou path" "$ORG_ID/$ROOT/$OU/" "$OU_PATH"
run create-child-ou org create-organizational-unit --parent-id "$OU" --name Prod --query 'OrganizationalUnit.Id' --output text
CHILD_OU=$OUT
check_error "duplicate OU name" DuplicateOrganizationalUnitException org create-organizational-unit --parent-id "$ROOT" --name Workloads

# --- accounts -----------------------------------------------------------------------------------
ACCOUNTS=()
for i in 1 2 3; do
  run "create-account $i" org create-account --email "cli$i@example.org" --account-name "CLI $i" --query 'CreateAccountStatus.[Id,State]' --output text
  read -r CAR STATE <<<"$OUT"
  check_re "create account request id $i" '^car-[a-z0-9]{8,32}$' "$CAR"
  check "create account answers IN_PROGRESS $i" "IN_PROGRESS" "$STATE"
  STATE=IN_PROGRESS
  for _ in $(seq 1 100); do
    run "describe-create-account-status $i" org describe-create-account-status --create-account-request-id "$CAR" \
      --query 'CreateAccountStatus.[State,AccountId]' --output text || break
    read -r STATE ACCOUNT <<<"$OUT"
    [ "$STATE" != IN_PROGRESS ] && break
    sleep 0.2
  done
  check "account $i SUCCEEDED" "SUCCEEDED" "$STATE"
  check_re "account id $i" '^[0-9]{12}$' "$ACCOUNT"
  ACCOUNTS+=("$ACCOUNT")
done
A1=${ACCOUNTS[0]}
A2=${ACCOUNTS[1]}
A3=${ACCOUNTS[2]}

run describe-account org describe-account --account-id "$A1" --query 'Account.[Arn,Status,State,JoinedMethod,Email]' --output text
read -r ARN STATUS STATE JOINED EMAIL <<<"$OUT"
check "account arn" "arn:aws:organizations::$MGMT:account/$ORG_ID/$A1" "$ARN"
check "account status/state" "ACTIVE ACTIVE" "$STATUS $STATE"
check "joined method" "CREATED" "$JOINED"
check "email" "cli1@example.org" "$EMAIL"
check_error "unknown account" AccountNotFoundException org describe-account --account-id 000000000000

run move-account org move-account --account-id "$A1" --source-parent-id "$ROOT" --destination-parent-id "$CHILD_OU"
run move-account-2 org move-account --account-id "$A2" --source-parent-id "$ROOT" --destination-parent-id "$OU"
run list-accounts-for-parent org list-accounts-for-parent --parent-id "$CHILD_OU" --query 'Accounts[].Id' --output text
check "accounts in Prod" "$A1" "$OUT"
run describe-moved org describe-account --account-id "$A1" --query 'Account.Paths[0]' --output text
check "path after the move" "$ORG_ID/$ROOT/$OU/$CHILD_OU/$A1/" "$OUT"
run list-parents org list-parents --child-id "$A1" --query 'Parents[0].[Id,Type]' --output text
check "parent of the moved account" "$CHILD_OU	ORGANIZATIONAL_UNIT" "$OUT"
run list-children org list-children --parent-id "$ROOT" --child-type ORGANIZATIONAL_UNIT --query 'length(Children)' --output text
check "OU children of the root" "1" "$OUT"
check_error "duplicate account in destination" DuplicateAccountException org move-account --account-id "$A1" --source-parent-id "$CHILD_OU" --destination-parent-id "$CHILD_OU"

# The CLI paginates by itself: page size 1 still lists everything (4 accounts).
# (with text output the CLI applies --query page by page: count the ids instead)
run list-accounts-paged org list-accounts --page-size 1 --query 'Accounts[].Id' --output text
check "list-accounts with --page-size 1" "4" "$(printf '%s\n' $OUT | sort -u | wc -l | tr -d ' ')"
run list-accounts-ids org list-accounts --page-size 2 --output json
COUNT=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; a=json.load(sys.stdin)["Accounts"]; ids=[x["Id"] for x in a]; print(len(set(ids)) if len(ids)==len(set(ids)) else "duplicates")')
check "list-accounts --page-size 2 (no duplicates)" "4" "$COUNT"
run list-accounts-max-items org list-accounts --max-items 3 --page-size 2 --output json
NEXT=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d["Accounts"]), "yes" if d.get("NextToken") else "no")')
check "--max-items 3 returns 3 and a token" "3 yes" "$NEXT"
check_error "MaxResults above 20 (--page-size 21)" InvalidInputException org list-accounts --page-size 21

# --- tags ----------------------------------------------------------------------------------------
run tag-account org tag-resource --resource-id "$A1" --tags Key=env,Value=prod Key=team,Value=platform
run tag-root org tag-resource --resource-id "$ROOT" --tags Key=scope,Value=all
run tag-ou org tag-resource --resource-id "$OU" --tags Key=tier,Value=workloads
run list-tags org list-tags-for-resource --resource-id "$A1" --query 'sort_by(Tags,&Key)[].[Key,Value]' --output text
check "account tags" "$(printf 'env\tprod\nteam\tplatform')" "$OUT"
run untag org untag-resource --resource-id "$A1" --tag-keys team
run list-tags-2 org list-tags-for-resource --resource-id "$A1" --query 'Tags[].Key' --output text
check "account tags after untag" "env" "$OUT"
run list-tags-root org list-tags-for-resource --resource-id "$ROOT" --query 'Tags[0].Value' --output text
check "root tag" "all" "$OUT"
run list-tags-ou org list-tags-for-resource --resource-id "$OU" --query 'Tags[0].Value' --output text
check "ou tag" "workloads" "$OUT"
check_error "aws: tag prefix" InvalidInputException org tag-resource --resource-id "$A1" --tags Key=aws:x,Value=1

# --- closing, removing, deleting ----------------------------------------------------------------
check_error "close the management account" ConstraintViolationException org close-account --account-id "$MGMT"
run close-account org close-account --account-id "$A3"
run describe-closed org describe-account --account-id "$A3" --query 'Account.[Status,State]' --output text
check "closed account status/state" "SUSPENDED	CLOSED" "$OUT"
check_error "close twice" AccountAlreadyClosedException org close-account --account-id "$A3"

check_error "delete a non-empty organization" OrganizationNotEmptyException org delete-organization
check_error "remove the management account" MasterCannotLeaveOrganizationException org remove-account-from-organization --account-id "$MGMT"
run remove-1 org remove-account-from-organization --account-id "$A1"
run remove-2 org remove-account-from-organization --account-id "$A2"
check_error "removed account is gone" AccountNotFoundException org describe-account --account-id "$A1"

check_error "delete a non-empty OU" OrganizationalUnitNotEmptyException org delete-organizational-unit --organizational-unit-id "$OU"
run delete-child-ou org delete-organizational-unit --organizational-unit-id "$CHILD_OU"
run delete-ou org delete-organizational-unit --organizational-unit-id "$OU"
run list-ous org list-organizational-units-for-parent --parent-id "$ROOT" --query 'length(OrganizationalUnits)' --output text
check "no OU left" "0" "$OUT"

# Only the closed account is left besides the management account: it does not block deletion.
run delete-organization org delete-organization && pass "delete-organization"
check_error "no organization any more" AWSOrganizationsNotInUseException org describe-organization

report "$RESULTS"
