#!/usr/bin/env bash
# The aws CLI against a running Canopy: trusted access, delegated administrators of services, the
# resource (delegation) policy, create-gov-cloud-account and responsibility transfers, each call
# made with the credentials of the account it concerns (dev auth: a 12-digit access key id is
# that account). Reasons, which the CLI prints only with --debug, are read from the response body
# there. Every check is counted.
#
# Usage: test_delegation.sh RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>, ...
# set; `aws` on PATH; an empty store). Writes "PASSED FAILED" to RESULTS_FILE.
set -uo pipefail

RESULTS=${1:-/dev/null}
MGMT=$AWS_ACCESS_KEY_ID
OTHER=222222222222      # management account of a second organization (transfers)
CB=555555555555         # management account of a CONSOLIDATED_BILLING organization
NOT_A_MEMBER=123456789012
SSO=sso.amazonaws.com
CONFIG=config.amazonaws.com
TAG_DOC='{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"}}}}'
SCP_DOC='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}'
LABEL=delegation-cli
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"

org() { aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
# as ACCOUNT command... — the same, with that account's credentials.
as() {
  local account=$1
  shift
  AWS_ACCESS_KEY_ID=$account aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "$@"
}

# check_reason NAME CODE REASON command... — as check_error, and the response body (printed by
# --debug) carries "Reason":"REASON".
check_reason() {
  local name=$1 code=$2 reason=$3 out rc
  shift 3
  out=$("$@" --debug 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [[ "$out" == *"($code)"* ]] && [[ "$out" == *"\"Reason\":\"$reason\""* ]]; then
    pass "$name"
  else
    fail "$name: rc=$rc, wanted ($code) with Reason $reason, got: $(grep -E 'Response body|An error occurred' -A1 <<<"$out" | tail -n 3)"
  fi
}
# create_account NAME — prints the new account's id once its creation has succeeded.
create_account() {
  local car state id
  car=$(org create-account --account-name "$1" --email "$(tr 'A-Z' 'a-z' <<<"$1")@example.org" --query CreateAccountStatus.Id --output text) || return 1
  for _ in $(seq 1 100); do
    read -r state id <<<"$(org describe-create-account-status --create-account-request-id "$car" --query 'CreateAccountStatus.[State,AccountId]' --output text)"
    [ "$state" != IN_PROGRESS ] && break
    sleep 0.1
  done
  [ "$state" = SUCCEEDED ] && echo "$id"
}

run create-organization org create-organization --feature-set ALL --query 'Organization.Id' --output text
ORG_ID=$OUT
run list-roots org list-roots --query 'Roots[0].Id' --output text
ROOT=$OUT
ADMIN=$(create_account Admin)
check_re "account Admin created" '^[0-9]{12}$' "$ADMIN"
PLAIN=$(create_account Plain)
check_re "account Plain created" '^[0-9]{12}$' "$PLAIN"
run create-ou org create-organizational-unit --parent-id "$ROOT" --name Apps --query OrganizationalUnit.Id --output text
OU=$OUT

# --- trusted access ---------------------------------------------------------------------------------
run list-access-empty org list-aws-service-access-for-organization --query 'length(EnabledServicePrincipals)' --output text
check "no trusted access at first" "0" "$OUT"
run enable-sso org enable-aws-service-access --service-principal "$SSO"
run enable-config org enable-aws-service-access --service-principal "$CONFIG"
run list-access org list-aws-service-access-for-organization --query 'EnabledServicePrincipals[].ServicePrincipal' --output text
check "enabled principals" "$SSO	$CONFIG" "$OUT"
run list-access-dates org list-aws-service-access-for-organization --query 'EnabledServicePrincipals[].DateEnabled' --output text
# aws CLI v1 prints timestamps as epoch seconds: each DateEnabled is within a minute of now.
NOW=$(date -u +%s)
DATES_OK=$(awk -v now="$NOW" '{ ok = NF == 2; for (i = 1; i <= NF; i++) if ($i < now - 60 || $i > now + 60) ok = 0; print ok ? "yes" : "no" }' <<<"$OUT")
check "DateEnabled on each, now ($OUT)" "yes" "$DATES_OK"
run disable-config org disable-aws-service-access --service-principal "$CONFIG"
run list-access-after org list-aws-service-access-for-organization --query 'EnabledServicePrincipals[].ServicePrincipal' --output text
check "after disabling AWS Config" "$SSO" "$OUT"
check_reason "unknown principal refused" InvalidInputException UNRECOGNIZED_SERVICE_PRINCIPAL org enable-aws-service-access --service-principal nope.amazonaws.com
check_error "a member can't enable trusted access" AccessDeniedException as "$PLAIN" enable-aws-service-access --service-principal "$CONFIG"
run create-cb-org as "$CB" create-organization --feature-set CONSOLIDATED_BILLING --query Organization.FeatureSet --output text
check "a CONSOLIDATED_BILLING organization" "CONSOLIDATED_BILLING" "$OUT"
check_reason "no trusted access without all features" ConstraintViolationException ORGANIZATION_NOT_IN_ALL_FEATURES_MODE as "$CB" enable-aws-service-access --service-principal "$SSO"

# --- delegated administrators -------------------------------------------------------------------------
run register org register-delegated-administrator --account-id "$ADMIN" --service-principal "$SSO"
run list-admins org list-delegated-administrators --query 'DelegatedAdministrators[].[Id,Name,Email,Arn]' --output text
check "delegated administrators" "$ADMIN	Admin	admin@example.org	arn:aws:organizations::$MGMT:account/$ORG_ID/$ADMIN" "$OUT"
run list-admins-sso org list-delegated-administrators --service-principal "$SSO" --query 'DelegatedAdministrators[].Id' --output text
check "filtered by IAM Identity Center" "$ADMIN" "$OUT"
run enable-config-again org enable-aws-service-access --service-principal "$CONFIG"
run list-admins-config org list-delegated-administrators --service-principal "$CONFIG" --query 'length(DelegatedAdministrators)' --output text
check "filtered by AWS Config: none" "0" "$OUT"
# The CLI follows NextToken across pages of one (text output: a line per page).
run list-access-paged org list-aws-service-access-for-organization --page-size 1 --query 'EnabledServicePrincipals[].ServicePrincipal' --output text
check "trusted access, one per page" "$SSO"$'\n'"$CONFIG" "$OUT"
run list-services org list-delegated-services-for-account --account-id "$ADMIN" --query 'DelegatedServices[].[ServicePrincipal,DelegationEnabledDate!=null]' --output text
check "delegated services of the administrator" "$SSO	True" "$OUT"

check_reason "the management account can't be registered" ConstraintViolationException CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR \
  org register-delegated-administrator --account-id "$MGMT" --service-principal "$SSO"
check_error "a non-member can't be registered" AccountNotFoundException org register-delegated-administrator --account-id "$NOT_A_MEMBER" --service-principal "$SSO"
check_error "registering twice" AccountAlreadyRegisteredException org register-delegated-administrator --account-id "$ADMIN" --service-principal "$SSO"
check_reason "no registration without trusted access" ConstraintViolationException SERVICE_ACCESS_NOT_ENABLED \
  org register-delegated-administrator --account-id "$PLAIN" --service-principal guardduty.amazonaws.com
check_error "a plain member is no delegated administrator" AccountNotRegisteredException org list-delegated-services-for-account --account-id "$PLAIN"

# The administrator reads the organization, and writes nothing.
run admin-list-accounts as "$ADMIN" list-accounts --query 'length(Accounts)' --output text
check "list-accounts as the administrator" "3" "$OUT"
run admin-describe-ou as "$ADMIN" describe-organizational-unit --organizational-unit-id "$OU" --query 'OrganizationalUnit.[Id,Name]' --output text
check "describe-organizational-unit as the administrator" "$OU	Apps" "$OUT"
run admin-list-policies as "$ADMIN" list-policies --filter SERVICE_CONTROL_POLICY --query 'Policies[].Id' --output text
check "list-policies as the administrator" "p-FullAWSAccess" "$OUT"
check_error "the administrator can't create an OU" AccessDeniedException as "$ADMIN" create-organizational-unit --parent-id "$ROOT" --name Nope
check_error "the administrator can't create a policy" AccessDeniedException as "$ADMIN" create-policy --name n --description "" --content "$SCP_DOC" --type SERVICE_CONTROL_POLICY
check_error "the administrator can't attach a policy" AccessDeniedException as "$ADMIN" attach-policy --policy-id p-FullAWSAccess --target-id "$OU"
check_error "a plain member reads nothing" AccessDeniedException as "$PLAIN" list-accounts
check_reason "a delegated administrator can't be removed" ConstraintViolationException CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG \
  org remove-account-from-organization --account-id "$ADMIN"

run deregister org deregister-delegated-administrator --account-id "$ADMIN" --service-principal "$SSO"
run list-admins-after org list-delegated-administrators --query 'length(DelegatedAdministrators)' --output text
check "no delegated administrator left" "0" "$OUT"
check_error "deregistering twice" AccountNotRegisteredException org deregister-delegated-administrator --account-id "$ADMIN" --service-principal "$SSO"
check_error "deregistered: list-accounts denied" AccessDeniedException as "$ADMIN" list-accounts
check_error "deregistered: describe-organizational-unit denied" AccessDeniedException as "$ADMIN" describe-organizational-unit --organizational-unit-id "$OU"
check_error "deregistered: list-policies denied" AccessDeniedException as "$ADMIN" list-policies --filter SERVICE_CONTROL_POLICY

# --- the resource (delegation) policy -------------------------------------------------------------------
check_error "no resource policy yet" ResourcePolicyNotFoundException org describe-resource-policy
run enable-tag-access org enable-aws-service-access --service-principal tagpolicies.tag.amazonaws.com
run enable-tag-policies org enable-policy-type --root-id "$ROOT" --policy-type TAG_POLICY
GRANT=$(printf '{"Version":"2012-10-17","Statement":[{"Sid":"TagPolicies","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["organizations:CreatePolicy","organizations:AttachPolicy","organizations:DescribePolicy"],"Resource":"*","Condition":{"StringEquals":{"organizations:PolicyType":"TAG_POLICY"}}}]}' "$PLAIN")
run put-rp org put-resource-policy --content "$GRANT" --tags Key=team,Value=platform --query 'ResourcePolicy.ResourcePolicySummary.[Id,Arn]' --output text
read -r RP_ID RP_ARN <<<"$OUT"
check_re "resource policy id" '^rp-[0-9a-z]{8}$' "$RP_ID"
check "resource policy arn" "arn:aws:organizations::$MGMT:resourcepolicy/$ORG_ID/$RP_ID" "$RP_ARN"
run describe-rp org describe-resource-policy --query ResourcePolicy.Content --output text
check "content round-trips" "$GRANT" "$OUT"
run rp-tags org list-tags-for-resource --resource-id "$RP_ID" --query 'Tags[].[Key,Value]' --output text
check "resource policy tags" "team	platform" "$OUT"

run delegate-create-tag-policy as "$PLAIN" create-policy --name cost --description "cost centers" --content "$TAG_DOC" --type TAG_POLICY --query 'Policy.PolicySummary.[Id,Type]' --output text
read -r TAG_POLICY TAG_TYPE <<<"$OUT"
check "the grantee creates a tag policy" "TAG_POLICY" "$TAG_TYPE"
run delegate-attach as "$PLAIN" attach-policy --policy-id "$TAG_POLICY" --target-id "$OU"
run attached org list-policies-for-target --target-id "$OU" --filter TAG_POLICY --query 'Policies[].Id' --output text
check "the grantee attached it" "$TAG_POLICY" "$OUT"
check_error "the grantee can't create an SCP" AccessDeniedException as "$PLAIN" create-policy --name deny --description "" --content "$SCP_DOC" --type SERVICE_CONTROL_POLICY
check_error "the grantee can't attach an SCP" AccessDeniedException as "$PLAIN" attach-policy --policy-id p-FullAWSAccess --target-id "$OU"
check_error "another member has no grant" AccessDeniedException as "$ADMIN" create-policy --name x --description "" --content "$TAG_DOC" --type TAG_POLICY

READONLY=$(printf '{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"organizations:DescribePolicy","Resource":"*"}]}' "$PLAIN")
run replace-rp org put-resource-policy --content "$READONLY" --query 'ResourcePolicy.ResourcePolicySummary.Id' --output text
check "replacing keeps the id" "$RP_ID" "$OUT"
run describe-replaced org describe-resource-policy --query ResourcePolicy.Content --output text
check "replaced content" "$READONLY" "$OUT"
check_error "after the replacement the grantee can't create" AccessDeniedException as "$PLAIN" create-policy --name c2 --description "" --content "$TAG_DOC" --type TAG_POLICY
# PutResourcePolicy has no MalformedPolicyDocumentException in the model: AWS answers InvalidInput.
check_reason "malformed content refused" InvalidInputException INVALID_RESOURCE_POLICY_JSON org put-resource-policy --content '{not json'
run describe-unchanged org describe-resource-policy --query ResourcePolicy.Content --output text
check "a refusal leaves it unchanged" "$READONLY" "$OUT"
check_error "a member can't delete it" AccessDeniedException as "$PLAIN" delete-resource-policy
run delete-rp org delete-resource-policy
check_error "describe after delete" ResourcePolicyNotFoundException org describe-resource-policy
# Reads granted by the policy (AWS's documented example grants organizations:ListRoots, ListAccounts, ...).
READS=$(printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["organizations:List*","organizations:Describe*"],"Resource":"*"}]}' "$PLAIN")
run put-reads org put-resource-policy --content "$READS"
run grantee-list-roots as "$PLAIN" list-roots --query 'Roots[0].Id' --output text
check "a grantee of organizations:List* lists the roots" "$ROOT" "$OUT"
run grantee-list-accounts as "$PLAIN" list-accounts --query 'length(Accounts)' --output text
check "a grantee of organizations:List* lists the accounts" "3" "$OUT"
check_error "a read grant opens no write" AccessDeniedException as "$PLAIN" create-organizational-unit --parent-id "$ROOT" --name Nope
run delete-reads org delete-resource-policy
check_error "without the policy the reads are closed again" AccessDeniedException as "$PLAIN" list-roots

# --- GovCloud -------------------------------------------------------------------------------------------
run create-gov org create-gov-cloud-account --account-name Gov --email gov@example.org --query 'CreateAccountStatus.[Id,State]' --output text
read -r GOV_CAR GOV_STATE <<<"$OUT"
check "create-gov-cloud-account answers IN_PROGRESS" "IN_PROGRESS" "$GOV_STATE"
STATE="" COMMERCIAL="" GOV=""
for _ in $(seq 1 100); do
  read -r STATE COMMERCIAL GOV <<<"$(org describe-create-account-status --create-account-request-id "$GOV_CAR" --query 'CreateAccountStatus.[State,AccountId,GovCloudAccountId]' --output text 2>&1)"
  [ "$STATE" != IN_PROGRESS ] && break
  sleep 0.1
done
check "GovCloud request succeeded" "SUCCEEDED" "$STATE"
check_re "GovCloudAccountId in the status" '^[0-9]{12}$' "$GOV"
if [ "$GOV" != "$COMMERCIAL" ]; then pass "the GovCloud account has its own id"; else fail "GovCloudAccountId = AccountId = $GOV"; fi
run list-with-gov org list-accounts --query "Accounts[?Id=='$COMMERCIAL'].[Name,Email]" --output text
check "list-accounts shows the commercial account" "Gov	gov@example.org" "$OUT"
run list-without-gov org list-accounts --query "length(Accounts[?Id=='$GOV'])" --output text
check "the GovCloud account is not a member" "0" "$OUT"

# --- responsibility transfers ---------------------------------------------------------------------------
START=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-01T00:00:00Z)
# The last millisecond of the start month, in epoch seconds as aws CLI v1 prints it.
END_OF_START_MONTH="$(($(date -u -d "$(date -u +%Y-%m-01) +2 month" +%s) - 1)).999"
run other-org as "$OTHER" create-organization --feature-set ALL --query Organization.Id --output text
OTHER_ORG=$OUT
check_error "a member can't invite to transfer" AccessDeniedException as "$PLAIN" invite-organization-to-transfer-responsibility \
  --type BILLING --target "Id=$OTHER,Type=ACCOUNT" --start-timestamp "$START" --source-name n
run invite-transfer org invite-organization-to-transfer-responsibility --type BILLING --target "Id=$OTHER,Type=ACCOUNT" \
  --start-timestamp "$START" --source-name "Billing of B" --query 'Handshake.[Id,Action,State]' --output text
read -r H_T H_ACTION H_STATE <<<"$OUT"
check "transfer handshake" "TRANSFER_RESPONSIBILITY REQUESTED" "$H_ACTION $H_STATE"
run transfer-id org describe-handshake --handshake-id "$H_T" --query "Handshake.Resources[?Type=='RESPONSIBILITY_TRANSFER'].Value" --output text
T=$OUT
check_re "transfer id" '^rt-[0-9a-z]{8,32}$' "$T"
check_error "inviting again while pending" DuplicateHandshakeException org invite-organization-to-transfer-responsibility \
  --type BILLING --target "Id=$OTHER,Type=ACCOUNT" --start-timestamp "$START" --source-name again
run other-handshakes as "$OTHER" list-handshakes-for-account --query 'Handshakes[].[Id,Action,State]' --output text
check "the other management account lists the invitation" "$H_T	TRANSFER_RESPONSIBILITY	REQUESTED" "$OUT"
run other-accepts as "$OTHER" accept-handshake --handshake-id "$H_T" --query Handshake.State --output text
check "accepted" "ACCEPTED" "$OUT"

run inbound org list-inbound-responsibility-transfers --type BILLING --query 'ResponsibilityTransfers[].[Id,Status]' --output text
check "the inviter's inbound transfers" "$T	ACCEPTED" "$OUT"
run outbound-empty org list-outbound-responsibility-transfers --type BILLING --query 'length(ResponsibilityTransfers)' --output text
check "the inviter has no outbound transfer" "0" "$OUT"
run other-outbound as "$OTHER" list-outbound-responsibility-transfers --type BILLING --query 'ResponsibilityTransfers[].[Id,Status]' --output text
check "the other side's outbound transfers" "$T	ACCEPTED" "$OUT"
run describe-t org describe-responsibility-transfer --id "$T" \
  --query 'ResponsibilityTransfer.[Arn,Name,Source.ManagementAccountId,Target.ManagementAccountId]' --output text
check "described by the inviter" "arn:aws:organizations::$MGMT:transfer/$ORG_ID/billing/inbound/$T	Billing of B	$OTHER	$MGMT" "$OUT"
run other-describe-t as "$OTHER" describe-responsibility-transfer --id "$T" --query 'ResponsibilityTransfer.Arn' --output text
check "described by the other side" "arn:aws:organizations::$OTHER:transfer/$OTHER_ORG/billing/outbound/$T" "$OUT"
run rename as "$OTHER" update-responsibility-transfer --id "$T" --name "Paid by A" --query ResponsibilityTransfer.Name --output text
check "renamed" "Paid by A" "$OUT"
run renamed-seen org describe-responsibility-transfer --id "$T" --query ResponsibilityTransfer.Name --output text
check "the inviter sees the new name" "Paid by A" "$OUT"
check_reason "no deletion with an active transfer" ConstraintViolationException ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS as "$OTHER" delete-organization
run terminate org terminate-responsibility-transfer --id "$T" --query 'ResponsibilityTransfer.[Status,EndTimestamp]' --output text
read -r T_STATUS T_END <<<"$OUT"
check "terminated" "WITHDRAWN" "$T_STATUS"
check "ends with the start month" "$END_OF_START_MONTH" "$T_END"
check_error "terminating twice" ResponsibilityTransferAlreadyInStatusException as "$OTHER" terminate-responsibility-transfer --id "$T"
check_error "a third organization doesn't see it" ResponsibilityTransferNotFoundException as "$CB" describe-responsibility-transfer --id "$T"

report "$RESULTS"
