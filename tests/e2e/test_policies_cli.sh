#!/usr/bin/env bash
# The aws CLI against a running Canopy: policies. Every policy type enabled, created from a file,
# attached at the root, an OU and an account and inherited (describe-effective-policy for the
# management types, list-policies-for-target for SCP/RCP); broken and oversize documents; the
# attachment rules; disabling a type; the invalid-effective-policy commands; tags; pagination.
# Every check is counted.
#
# Usage: test_policies_cli.sh RESULTS_FILE   (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=<12 digits>, ...
# set; `aws` on PATH; the server holds no organization for that account). Writes "PASSED FAILED"
# to RESULTS_FILE.
set -uo pipefail

RESULTS=${1:-/dev/null}
MGMT=$AWS_ACCESS_KEY_ID
PY=${PY:-python3}
passed=0
failed=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

org() { aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
as_member() { AWS_ACCESS_KEY_ID=$1 aws organizations --endpoint-url "$AWS_ENDPOINT_URL" "${@:2}"; }

pass() { passed=$((passed + 1)); echo "PASS cli-policies $1"; }
fail() { failed=$((failed + 1)); echo "FAIL cli-policies $1"; }

# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
# check_error NAME CODE [REASON|TEXT] -- command... : must fail with (CODE) and, when given, answer
# that Reason (an upper-case word: read from the response body that --debug prints, as the CLI
# does not show it) or mention TEXT in its message.
check_error() {
  local name=$1 code=$2 text="" out rc want
  shift 2
  if [ "$1" != "--" ]; then text=$1; shift; fi
  shift
  out=$("$@" --debug 2>&1)
  rc=$?
  want=$text
  [[ "$text" =~ ^[A-Z_]+$ ]] && want="\"Reason\":\"$text\""
  if [ $rc -ne 0 ] && [[ "$out" == *"($code)"* ]] && [[ "$out" == *"$want"* ]]; then
    pass "$name"
  else
    fail "$name: rc=$rc, wanted ($code) with [$want], got: $(grep -E "\($code\)|An error occurred" <<<"$out" | tail -n 3)"
  fi
}
# run NAME command... — the command must succeed; its stdout goes to $OUT.
run() {
  local name=$1
  shift
  if OUT=$("$@" 2>"$WORK/err"); then
    return 0
  fi
  fail "$name: $(cat "$WORK/err")"
  OUT=""
  return 1
}
# json_eq NAME EXPECTED_JSON ACTUAL_JSON — compares parsed JSON values.
json_eq() {
  local verdict
  verdict=$("$PY" -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print("same" if a==b else "differ")' "$2" "$3" 2>&1)
  if [ "$verdict" = same ]; then pass "$1"; else fail "$1: expected $2, got $3 ($verdict)"; fi
}
create_account() { # name -> prints the account id
  local car state acct
  car=$(org create-account --email "$1@example.org" --account-name "$1" --query CreateAccountStatus.Id --output text) || return 1
  for _ in $(seq 1 100); do
    read -r state acct < <(org describe-create-account-status --create-account-request-id "$car" --query 'CreateAccountStatus.[State,AccountId]' --output text)
    [ "$state" != IN_PROGRESS ] && break
    sleep 0.1
  done
  [ "$state" = SUCCEEDED ] && echo "$acct"
}
# create_policy TYPE NAME FILE -> prints the policy id (content read with file://).
create_policy() {
  org create-policy --type "$1" --name "$2" --description "$2 (cli)" --content "file://$3" --query Policy.PolicySummary.Id --output text
}

# --- organization ---------------------------------------------------------------------------------
run create-organization org create-organization --feature-set ALL --query Organization.Id --output text
ORG_ID=$OUT
run list-roots org list-roots --query 'Roots[0].Id' --output text
ROOT=$OUT
run create-ou org create-organizational-unit --parent-id "$ROOT" --name Apps --query OrganizationalUnit.Id --output text
OU=$OUT
ACCT=$(create_account cli-pol-1) && pass "create account" || fail "create account"
run move-account org move-account --account-id "$ACCT" --source-parent-id "$ROOT" --destination-parent-id "$OU"

# --- enable every type ------------------------------------------------------------------------------
TYPES=(SERVICE_CONTROL_POLICY RESOURCE_CONTROL_POLICY TAG_POLICY BACKUP_POLICY AISERVICES_OPT_OUT_POLICY CHATBOT_POLICY
  DECLARATIVE_POLICY_EC2 SECURITYHUB_POLICY SECURITYHUB_CSPM_POLICY INSPECTOR_POLICY UPGRADE_ROLLOUT_POLICY BEDROCK_POLICY
  S3_POLICY NETWORK_SECURITY_DIRECTOR_POLICY GUARDDUTY_POLICY)
# As in AWS, SECURITYHUB_POLICY / INSPECTOR_POLICY need their service's trusted access first.
run trusted-securityhub org enable-aws-service-access --service-principal securityhub.amazonaws.com
run trusted-inspector2 org enable-aws-service-access --service-principal inspector2.amazonaws.com
for t in "${TYPES[@]:1}"; do
  run "enable $t" org enable-policy-type --root-id "$ROOT" --policy-type "$t" --query "Root.PolicyTypes[?Type=='$t'].Status | [0]" --output text
  check "enable $t answers ENABLED" "ENABLED" "$OUT"
done
run list-roots-types org list-roots --query 'length(Roots[0].PolicyTypes)' --output text
check "fifteen types enabled" "15" "$OUT"
check_error "enable twice" PolicyTypeAlreadyEnabledException -- org enable-policy-type --root-id "$ROOT" --policy-type TAG_POLICY

# --- management types: root, OU, account; effective policy of the account ---------------------------
# One line per type: TYPE|root document|OU document|account document|expected effective document.
cat >"$WORK/mgmt.txt" <<'EOF'
TAG_POLICY|{"tags":{"CostCenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["100"]}}}}|{"tags":{"costcenter":{"tag_value":{"@@append":["200"]}}}}|{"tags":{"team":{"tag_key":{"@@assign":"Team"}}}}|{"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["100","200"]},"team":{"tag_key":"Team"}}}
BACKUP_POLICY|{"plans":{"daily":{"regions":{"@@assign":["us-east-1"]},"rules":{"r":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},"target_backup_vault_name":{"@@assign":"Default"}}}}}}|{"plans":{"daily":{"regions":{"@@append":["eu-west-1"]}}}}|{"plans":{"daily":{"regions":{"@@remove":["us-east-1"]}}}}|{"plans":{"daily":{"regions":["eu-west-1"],"rules":{"r":{"schedule_expression":"cron(0 5 ? * * *)","target_backup_vault_name":"Default"}}}}}
AISERVICES_OPT_OUT_POLICY|{"services":{"default":{"opt_out_policy":{"@@assign":"optOut"}}}}|{"services":{"lex":{"opt_out_policy":{"@@assign":"optIn"}}}}|{"services":{"default":{"opt_out_policy":{"@@assign":"optIn"}}}}|{"services":{"default":{"opt_out_policy":"optIn"},"lex":{"opt_out_policy":"optIn"}}}
CHATBOT_POLICY|{"chatbot":{"platforms":{"slack":{"client":{"@@assign":"enabled"}}}}}|{"chatbot":{"platforms":{"slack":{"workspaces":{"@@assign":["T1"]}}}}}|{"chatbot":{"default":{"client":{"@@assign":"disabled"}}}}|{"chatbot":{"platforms":{"slack":{"client":"enabled","workspaces":["T1"]}},"default":{"client":"disabled"}}}
DECLARATIVE_POLICY_EC2|{"ec2_attributes":{"image_block_public_access":{"state":{"@@assign":"block_new_sharing"}}}}|{"ec2_attributes":{"snapshot_block_public_access":{"state":{"@@assign":"block_all_sharing"}}}}|{"ec2_attributes":{"serial_console_access":{"status":{"@@assign":"disabled"}}}}|{"ec2_attributes":{"image_block_public_access":{"state":"block_new_sharing"},"snapshot_block_public_access":{"state":"block_all_sharing"},"serial_console_access":{"status":"disabled"}}}
SECURITYHUB_POLICY|{"securityhub":{"enable_in_regions":{"@@assign":["us-east-1"]},"disable_in_regions":{"@@assign":[]}}}|{"securityhub":{"enable_in_regions":{"@@append":["eu-west-1"]}}}|{"securityhub":{"disable_in_regions":{"@@assign":["ap-south-1"]}}}|{"securityhub":{"enable_in_regions":["us-east-1","eu-west-1"],"disable_in_regions":["ap-south-1"]}}
SECURITYHUB_CSPM_POLICY|{"securityhub_cspm":{"cspm_enablement":{"enable_in_regions":{"@@assign":["ALL_SUPPORTED"]},"disable_in_regions":{"@@assign":[]}}}}|{"securityhub_cspm":{"cspm_enablement":{"disable_in_regions":{"@@append":["eu-west-1"]}}}}|{"securityhub_cspm":{"cspm_enablement":{"disable_in_regions":{"@@append":["eu-west-2"]}}}}|{"securityhub_cspm":{"cspm_enablement":{"enable_in_regions":["ALL_SUPPORTED"],"disable_in_regions":["eu-west-1","eu-west-2"]}}}
INSPECTOR_POLICY|{"inspector":{"enablement":{"lambda_standard_scanning":{"enable_in_regions":{"@@assign":["us-east-1"]},"disable_in_regions":{"@@assign":[]}}}}}|{"inspector":{"enablement":{"lambda_code_scanning":{"enable_in_regions":{"@@assign":["us-east-1"]},"disable_in_regions":{"@@assign":[]}}}}}|{"inspector":{"enablement":{"lambda_standard_scanning":{"disable_in_regions":{"@@append":["eu-west-1"]}}}}}|{"inspector":{"enablement":{"lambda_standard_scanning":{"enable_in_regions":["us-east-1"],"disable_in_regions":["eu-west-1"]},"lambda_code_scanning":{"enable_in_regions":["us-east-1"],"disable_in_regions":[]}}}}
UPGRADE_ROLLOUT_POLICY|{"upgrade_rollout":{"default":{"patch_order":{"@@assign":"last"}}}}|{"upgrade_rollout":{"default":{"patch_order":{"@@assign":"first"}}}}|{"upgrade_rollout":{"tags":{"tier":{"tag_values":{"gold":{"patch_order":{"@@assign":"second"}}}}}}}|{"upgrade_rollout":{"default":{"patch_order":"first"},"tags":{"tier":{"tag_values":{"gold":{"patch_order":"second"}}}}}}
BEDROCK_POLICY|{"bedrock":{"guardrail_inference":{"us-east-1":{"c1":{"identifier":{"@@assign":"arn:aws:bedrock:us-east-1:MGMT:guardrail/g:1"}}}}}}|{"bedrock":{"guardrail_inference":{"us-east-1":{"c1":{"input_tags":{"@@assign":"honor"}}}}}}|{"bedrock":{"guardrail_inference":{"us-east-1":{"c1":{"input_tags":{"@@assign":"ignore"}}}}}}|{"bedrock":{"guardrail_inference":{"us-east-1":{"c1":{"identifier":"arn:aws:bedrock:us-east-1:MGMT:guardrail/g:1","input_tags":"ignore"}}}}}
S3_POLICY|{"s3_attributes":{"public_access_block_configuration":{"@@assign":"all","@@operators_allowed_for_child_policies":["@@none"]}}}|{"s3_attributes":{"public_access_block_configuration":{"@@assign":"none"}}}|{"s3_attributes":{"public_access_block_configuration":{"@@assign":"none"}}}|{"s3_attributes":{"public_access_block_configuration":"all"}}
NETWORK_SECURITY_DIRECTOR_POLICY|{"network_security_director":{"enablement":{"network_security_scan":{"enable_in_regions":{"@@assign":["us-east-1"]},"disable_in_regions":{"@@assign":[]}}}}}|{"network_security_director":{"enablement":{"network_security_scan":{"enable_in_regions":{"@@append":["us-west-2"]}}}}}|{"network_security_director":{"enablement":{"network_security_scan":{"enable_in_regions":{"@@remove":["us-east-1"]}}}}}|{"network_security_director":{"enablement":{"network_security_scan":{"enable_in_regions":["us-west-2"],"disable_in_regions":[]}}}}
GUARDDUTY_POLICY|{"guardduty":{"default":{"malware_protection":{"@@assign":"enabled"}}}}|{"guardduty":{"default":{"runtime_monitoring":{"@@assign":"enabled"}}}}|{"guardduty":{"default":{"malware_protection":{"@@assign":"disabled"}}}}|{"guardduty":{"default":{"malware_protection":"disabled","runtime_monitoring":"enabled"}}}
EOF
sed -i "s/MGMT/$MGMT/g" "$WORK/mgmt.txt"
declare -A ROOT_POLICY
while IFS='|' read -r t at_root at_ou at_acct expected; do
  i=0
  for target in "$ROOT" "$OU" "$ACCT"; do
    i=$((i + 1))
    case $i in 1) content=$at_root ;; 2) content=$at_ou ;; 3) content=$at_acct ;; esac
    printf '%s' "$content" >"$WORK/p.json"
    if pid=$(create_policy "$t" "$t-$i" "$WORK/p.json" 2>"$WORK/err"); then
      [ $i = 1 ] && ROOT_POLICY[$t]=$pid
      run "attach $t-$i" org attach-policy --policy-id "$pid" --target-id "$target"
      run "list-policies-for-target $t-$i" org list-policies-for-target --target-id "$target" --filter "$t" --query 'Policies[].Id' --output text
      check "$t attached directly to $target" "$pid" "$OUT"
    else
      fail "create $t-$i: $(cat "$WORK/err")"
    fi
  done
  run "describe-effective-policy $t" org describe-effective-policy --policy-type "$t" --target-id "$ACCT" --query EffectivePolicy.PolicyContent --output text
  json_eq "$t inherited root -> OU -> account" "$expected" "$OUT"
done <"$WORK/mgmt.txt"

# The member reads its own effective policy without --target-id.
run member-effective as_member "$ACCT" describe-effective-policy --policy-type TAG_POLICY --query EffectivePolicy.TargetId --output text
check "member reads its own effective policy" "$ACCT" "$OUT"
check_error "effective policy of an OU" InvalidInputException TARGET_NOT_SUPPORTED -- org describe-effective-policy --policy-type TAG_POLICY --target-id "$OU"
check_error "effective SCP" InvalidInputException -- org describe-effective-policy --policy-type SERVICE_CONTROL_POLICY --target-id "$ACCT"

# --- SCP and RCP -------------------------------------------------------------------------------------
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["ec2:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}' >"$WORK/scp.json"
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-none"}}}]}' >"$WORK/rcp.json"
SCP=$(create_policy SERVICE_CONTROL_POLICY region-lock "$WORK/scp.json") && pass "create SCP" || fail "create SCP"
RCP=$(create_policy RESOURCE_CONTROL_POLICY sqs-perimeter "$WORK/rcp.json") && pass "create RCP" || fail "create RCP"
for target in "$ROOT" "$OU" "$ACCT"; do
  run "attach SCP $target" org attach-policy --policy-id "$SCP" --target-id "$target"
  run "attach RCP $target" org attach-policy --policy-id "$RCP" --target-id "$target"
  run "scps of $target" org list-policies-for-target --target-id "$target" --filter SERVICE_CONTROL_POLICY --query 'Policies[].Id' --output text
  check "SCPs on $target" "p-FullAWSAccess	$SCP" "$OUT"
  run "rcps of $target" org list-policies-for-target --target-id "$target" --filter RESOURCE_CONTROL_POLICY --query 'Policies[].Id' --output text
  check "RCPs on $target" "p-RCPFullAWSAccess	$RCP" "$OUT"
done
run targets-scp org list-targets-for-policy --policy-id "$SCP" --output json
COUNT=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; print(sorted(t["Type"] for t in json.load(sys.stdin)["Targets"]))')
check "SCP targets" "['ACCOUNT', 'ORGANIZATIONAL_UNIT', 'ROOT']" "$COUNT"
run describe-scp org describe-policy --policy-id "$SCP" --query Policy.Content --output text
check "SCP content kept as sent" "$(cat "$WORK/scp.json")" "$OUT"

check_error "duplicate attachment" DuplicatePolicyAttachmentException -- org attach-policy --policy-id "$SCP" --target-id "$OU"
check_error "detach what is not attached" PolicyNotAttachedException -- org detach-policy --policy-id "${ROOT_POLICY[TAG_POLICY]}" --target-id "$OU"
check_error "delete an attached policy" PolicyInUseException -- org delete-policy --policy-id "$SCP"
check_error "detach the RCP default" InvalidInputException NON_DETACHABLE_POLICY -- org detach-policy --policy-id p-RCPFullAWSAccess --target-id "$OU"
run detach-full org detach-policy --policy-id p-FullAWSAccess --target-id "$ACCT"
check_error "detach the last SCP" ConstraintViolationException MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED -- org detach-policy --policy-id "$SCP" --target-id "$ACCT"
check_error "update an AWS managed policy" InvalidInputException IMMUTABLE_POLICY -- org update-policy --policy-id p-FullAWSAccess --name x
check_error "delete an AWS managed policy" InvalidInputException IMMUTABLE_POLICY -- org delete-policy --policy-id p-RCPFullAWSAccess
check_error "attach an unknown policy" PolicyNotFoundException -- org attach-policy --policy-id p-unknown00 --target-id "$OU"

# New OUs and accounts get both defaults.
run create-ou-2 org create-organizational-unit --parent-id "$OU" --name Later --query OrganizationalUnit.Id --output text
OU2=$OUT
run defaults-ou2 org list-policies-for-target --target-id "$OU2" --filter RESOURCE_CONTROL_POLICY --query 'Policies[].Id' --output text
check "new OU gets RCPFullAWSAccess" "p-RCPFullAWSAccess" "$OUT"
ACCT2=$(create_account cli-pol-2) && pass "create account 2" || fail "create account 2"
run defaults-acct2 org list-policies-for-target --target-id "$ACCT2" --filter SERVICE_CONTROL_POLICY --query 'Policies[].Id' --output text
check "new account gets FullAWSAccess" "p-FullAWSAccess" "$OUT"

# --- broken and oversize documents ---------------------------------------------------------------------
# TYPE|document|text the message must contain (JSON path)
cat >"$WORK/broken.txt" <<'EOF'
SERVICE_CONTROL_POLICY|{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}]}|Statement[0].NotPrincipal
SERVICE_CONTROL_POLICY|{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Extra":1}}|Statement.Extra
RESOURCE_CONTROL_POLICY|{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}|Statement[0].Principal
TAG_POLICY|{"tags":{"cc":{"tag_value":{"@@assign":["a"],"extra":{}}}}}|tags.cc.tag_value
BACKUP_POLICY|{"plans":{"p":{"rules":{"r":{"lifecycle":{"delete_after_days":{"@@append":["5"]}}}}}}}|plans.p.rules.r.lifecycle.delete_after_days.@@append
AISERVICES_OPT_OUT_POLICY|{"services":{"lex":{"opt_out_policy":{"@@assign":"optOut","@@operators_allowed_for_child_policies":["@@append"]}}}}|services.lex.opt_out_policy.@@operators_allowed_for_child_policies
CHATBOT_POLICY|{"chatbot":{"platforms":{"teams":{}}}}|chatbot.platforms.teams
DECLARATIVE_POLICY_EC2|{"ec2_attributes":{"instance_metadata_defaults":{"http_tokens":{"@@assign":"always"}}}}|ec2_attributes.instance_metadata_defaults.http_tokens.@@assign
SECURITYHUB_POLICY|["securityhub"]|JSON object
SECURITYHUB_CSPM_POLICY|{"securityhub_cspm":{"cspm_enablement":{"enable_in_regions":{"@@assign":["us-east-1"]},"enable_in_regions":{"@@assign":[]}}}}|duplicate key
INSPECTOR_POLICY|{"inspector":{"enablement":{"ec2_scanning":{"enable_in_regions":{"@@ASSIGN":["us-east-1"]}}}}}|inspector.enablement.ec2_scanning.enable_in_regions.@@ASSIGN
UPGRADE_ROLLOUT_POLICY|{"upgrade_rollout":{"default":{"patch_order":{"@@assign":1}}}}|upgrade_rollout.default.patch_order.@@assign
BEDROCK_POLICY|{"bedrock":{"guardrail_inference":{"us-east-1":{"c":{"identifier":{"@@assign":"not-an-arn"}}}}}}|bedrock.guardrail_inference.us-east-1.c.identifier.@@assign
S3_POLICY|{"s3_attributes":{"public_access_block_configuration":{"@@remove":["all"]}}}|s3_attributes.public_access_block_configuration.@@remove
NETWORK_SECURITY_DIRECTOR_POLICY|{"network_security_director":{"enablement":{"scan":{}}}}|network_security_director.enablement.scan
GUARDDUTY_POLICY|{"guardduty":{"default":{"x":{"@@assign":"a","@@bogus":1}}}}|guardduty.default.x.@@bogus
EOF
n=0
while IFS='|' read -r t content text; do
  n=$((n + 1))
  printf '%s' "$content" >"$WORK/broken.json"
  check_error "broken $t ($text)" MalformedPolicyDocumentException "$text" -- org create-policy --type "$t" --name "broken-$n" --description "" --content "file://$WORK/broken.json"
done <"$WORK/broken.txt"
printf '%s' '{"tags":{"cc":{"tag_key":"CC"}}}' >"$WORK/broken.json"
check_error "update-policy with a broken document" MalformedPolicyDocumentException "tags.cc.tag_key" -- org update-policy --policy-id "${ROOT_POLICY[TAG_POLICY]}" --content "file://$WORK/broken.json"
# 2,501 characters of AI opt-out policy (limit 2,500) and 10,241 of SCP (limit 10,240).
"$PY" -c 'import sys; base="{\"services\":{\"default\":{\"opt_out_policy\":{\"@@assign\":\"optOut\"}}}}"; sys.stdout.write(base[:-1] + " " * (2501 - len(base)) + "}")' >"$WORK/big.json"
check_error "oversize AI opt-out policy" ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED -- org create-policy --type AISERVICES_OPT_OUT_POLICY --name big --description "" --content "file://$WORK/big.json"
"$PY" -c 'import sys; base=open(sys.argv[1]).read(); sys.stdout.write(base[:-1] + " " * (10241 - len(base)) + "}")' "$WORK/scp.json" >"$WORK/big.json"
check_error "oversize SCP" ConstraintViolationException POLICY_CONTENT_LIMIT_EXCEEDED -- org update-policy --policy-id "$SCP" --content "file://$WORK/big.json"
"$PY" -c 'import sys; base=open(sys.argv[1]).read(); sys.stdout.write(base[:-1] + " " * (10240 - len(base)) + "}")' "$WORK/scp.json" >"$WORK/big.json"
run "SCP of exactly 10,240 characters" org update-policy --policy-id "$SCP" --content "file://$WORK/big.json" --query 'length(Policy.Content)' --output text
check "SCP of exactly 10,240 characters accepted" "10240" "$OUT"

# --- invalid effective policies -----------------------------------------------------------------------
"$PY" -c 'import json,sys; print(json.dumps({"plans":{"big":{"regions":{"@@assign":["us-east-1"]},"rules":{f"{sys.argv[1]}{i}":{"schedule_expression":{"@@assign":"cron(0 5 ? * * *)"},"target_backup_vault_name":{"@@assign":"Default"}} for i in range(6)}}}}))' a >"$WORK/bk-a.json"
"$PY" -c 'import json,sys; print(json.dumps({"plans":{"big":{"rules":{f"{sys.argv[1]}{i}":{"schedule_expression":{"@@assign":"cron(0 6 ? * * *)"},"target_backup_vault_name":{"@@assign":"Default"}} for i in range(5)}}}}))' b >"$WORK/bk-b.json"
BKA=$(create_policy BACKUP_POLICY big-a "$WORK/bk-a.json") && pass "create big-a" || fail "create big-a"
BKB=$(create_policy BACKUP_POLICY big-b "$WORK/bk-b.json") && pass "create big-b" || fail "create big-b"
run attach-bka org attach-policy --policy-id "$BKA" --target-id "$OU2"
run move-acct2 org move-account --account-id "$ACCT2" --source-parent-id "$ROOT" --destination-parent-id "$OU2"
run attach-bkb org attach-policy --policy-id "$BKB" --target-id "$ACCT2"
run invalid-accounts org list-accounts-with-invalid-effective-policy --policy-type BACKUP_POLICY --query 'Accounts[].Id' --output text
check "account with an invalid effective backup policy" "$ACCT2" "$OUT"
run validation-errors org list-effective-policy-validation-errors --account-id "$ACCT2" --policy-type BACKUP_POLICY --output json
SUMMARY=$(printf '%s' "$OUT" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
e = [x for x in d["EffectivePolicyValidationErrors"] if x["ErrorCode"] == "ELEMENTS_TOO_MANY"][0]
print(d["Path"], e["PathToError"], ",".join(sorted(e["ContributingPolicies"])))')
check "validation error: path, element, contributing policies" "$ORG_ID/$ROOT/$OU/$OU2/$ACCT2/ plans.big.rules $(printf '%s\n' "$BKA" "$BKB" | sort | paste -sd,)" "$SUMMARY"
run detach-bkb org detach-policy --policy-id "$BKB" --target-id "$ACCT2"
run invalid-accounts-2 org list-accounts-with-invalid-effective-policy --policy-type BACKUP_POLICY --query 'length(Accounts)' --output text
check "fixed after detaching" "0" "$OUT"

# --- tags on a policy -----------------------------------------------------------------------------------
run tag-policy org tag-resource --resource-id "$SCP" --tags Key=owner,Value=security Key=tier,Value=1
run untag-policy org untag-resource --resource-id "$SCP" --tag-keys tier
run list-tags-policy org list-tags-for-resource --resource-id "$SCP" --query 'Tags[].[Key,Value]' --output text
check "policy tags" "$(printf 'owner\tsecurity')" "$OUT"

# --- pagination -----------------------------------------------------------------------------------------
for i in 1 2 3 4 5; do
  printf '{"s3_attributes":{"public_access_block_configuration":{"@@assign":"all"}}}' >"$WORK/s3.json"
  create_policy S3_POLICY "s3-page-$i" "$WORK/s3.json" >/dev/null || fail "create s3-page-$i"
done
run list-policies-paged org list-policies --filter S3_POLICY --page-size 2 --output json
COUNT=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; ids=[p["Id"] for p in json.load(sys.stdin)["Policies"]]; print(len(ids) if len(ids)==len(set(ids)) else "duplicates")')
check "list-policies --page-size 2 sees all eight S3 policies" "8" "$COUNT"
run list-policies-max-items org list-policies --filter S3_POLICY --max-items 3 --page-size 2 --output json
NEXT=$(printf '%s' "$OUT" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(len(d["Policies"]), "yes" if d.get("NextToken") else "no")')
check "--max-items 3 returns 3 and a token" "3 yes" "$NEXT"

# --- disabling a type ------------------------------------------------------------------------------------
run disable-tag org disable-policy-type --root-id "$ROOT" --policy-type TAG_POLICY --query "length(Root.PolicyTypes[?Type=='TAG_POLICY'])" --output text
check "TAG_POLICY no longer listed on the root" "0" "$OUT"
run targets-after-disable org list-targets-for-policy --policy-id "${ROOT_POLICY[TAG_POLICY]}" --query 'length(Targets)' --output text
check "tag policy detached by disable" "0" "$OUT"
run policies-after-disable org list-policies --filter TAG_POLICY --query 'length(Policies)' --output text
check "tag policies kept" "3" "$OUT"
check_error "effective policy of a disabled type" EffectivePolicyNotFoundException -- org describe-effective-policy --policy-type TAG_POLICY --target-id "$ACCT"
check_error "attach while disabled" PolicyTypeNotEnabledException -- org attach-policy --policy-id "${ROOT_POLICY[TAG_POLICY]}" --target-id "$ROOT"
check_error "disable twice" PolicyTypeNotEnabledException -- org disable-policy-type --root-id "$ROOT" --policy-type TAG_POLICY

echo "$passed $failed" >"$RESULTS"
echo "cli-policies: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
