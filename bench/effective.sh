#!/usr/bin/env bash
# Load figure for DescribeEffectivePolicy: the release binary, an organization built through boto3
# with a chain of five nested OUs and 5 policies of the type attached to every node (the root,
# each OU and the account), then wrk driving DescribeEffectivePolicy for one account.
#
# Two paths per policy type (TAG_POLICY and BACKUP_POLICY):
#   depth5     root, 3 OUs, account  = 5 nodes, 25 policies merged per request
#   max_depth  root, 5 OUs, account  = 7 nodes, 35 policies (the deepest path AWS allows)
# Each is measured with 1 connection (latency: the p50 target is under 1 ms) and with
# BENCH_CONNECTIONS connections (throughput). Loopback only; every process started is stopped.
#
# Usage: bench/effective.sh
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]        seconds of load per measurement
#   BENCH_WARMUP_SECONDS [1]  unmeasured warm-up per workload
#   BENCH_CONNECTIONS [16]    connections of the throughput runs
#   BENCH_WRK_THREADS [1]     wrk threads
#   BENCH_STORE [file]        `file` (durable SQLite in a temp dir) or `memory`
#   CANOPY_BIN                use this binary instead of building (cargo build --release -p canopy-cli)
#   CANOPY_LOG                Canopy's log filter (default: Canopy's own default, request log on)
# Output: a Markdown table on stdout, also written to bench/results/effective.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECS="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP_SECONDS:-1}"
CONNS="${BENCH_CONNECTIONS:-16}"
THREADS="${BENCH_WRK_THREADS:-1}"
STORE="${BENCH_STORE:-file}"
KEY=123456789012   # the management account (a 12-digit access key id is the caller's account)
RUN_ID="e$(date +%s)"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
ensure_curl
ensure_wrk
ensure_venv
ensure_canopy
bench_tmp

case "$STORE" in
  file) db="$BENCH_TMP/canopy-data/" ;;
  memory) db=memory ;;
  *) die "BENCH_STORE must be file or memory" ;;
esac
start_canopy canopy "$db"
log "canopy $("$CANOPY_BIN" --version 2>/dev/null || true) at $CANOPY_URL, store: $STORE"

# --- the organization -------------------------------------------------------------------------------
log "building the organization (5 nested OUs, 5 tag and 5 backup policies on every node)"
"$PY" - "$CANOPY_URL" "$BENCH_TMP/org.json" "$KEY" <<'EOF'
import json, sys, time
import boto3
from botocore.config import Config

endpoint, out_path, key = sys.argv[1:4]
org = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                   aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}))
PER_NODE = 5
SHARED = ["CostCenter", "Project", "Owner", "Environment", "DataClass"]


def tag_policy(l, j):
    """The same shapes as crates/canopy-policy/benches/effective.rs."""
    tags = {}
    for k, key_name in enumerate(SHARED):
        values = [f"{key_name}-{l}-{j}-{v}" for v in range(4)]
        mode = (j + k) % 3
        if l == 0:
            tv = {"@@assign": values, "@@operators_allowed_for_child_policies": ["@@append", "@@remove"]}
        elif mode == 0:
            tv = {"@@append": values}
        elif mode == 1:
            tv = {"@@remove": [f"{key_name}-{l - 1}-{j}-0"]}
        else:
            tv = {"@@append": [values[0]], "@@remove": [f"{key_name}-0-{j}-1"]}
        node = {"tag_key": {"@@assign": key_name}, "tag_value": tv,
                "enforced_for": {"@@append": ["ec2:instance", "s3:bucket", "dynamodb:table"]}}
        if l == 1:
            node["@@operators_allowed_for_child_policies"] = ["@@append", "@@remove"]
        tags[key_name.lower()] = node
    tags[f"team{l}x{j}"] = {"tag_key": {"@@assign": f"Team{l}x{j}"}, "tag_value": {"@@assign": ["alpha", "beta", "gamma*"]},
                            "report_required_tag_for": {"@@assign": ["ec2:instance", "rds:db"]}}
    return {"tags": tags}


def backup_policy(l, j):
    def rule(hour):
        return {"schedule_expression": {"@@assign": f"cron(0 {hour} ? * * *)"},
                "start_backup_window_minutes": {"@@assign": "60"},
                "complete_backup_window_minutes": {"@@assign": "600"},
                "target_backup_vault_name": {"@@assign": "Default"},
                "lifecycle": {"move_to_cold_storage_after_days": {"@@assign": "30"}, "delete_after_days": {"@@assign": "365"}},
                "copy_actions": {"arn:aws:backup:eu-west-1:$account:backup-vault:secondary": {
                    "target_backup_vault_arn": {"@@assign": "arn:aws:backup:eu-west-1:$account:backup-vault:secondary"},
                    "lifecycle": {"delete_after_days": {"@@assign": "120"}}}}}

    def plan(hour):
        return {"regions": {"@@append": ["us-east-1", "eu-west-1", f"ap-south-{1 + hour % 2}"]},
                "rules": {"daily": rule(hour), "weekly": rule(hour + 1)},
                "selections": {"tags": {"datatype": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/BackupRole"},
                                                     "tag_key": {"@@assign": "dataType"}, "tag_value": {"@@assign": ["PII", "RED"]}}}}}
    plans = {}
    if l == 0:
        plans["@@operators_allowed_for_child_policies"] = ["@@append", "@@assign"]
        plans[f"shared{j}"] = plan(j)
    else:
        plans[f"shared{j}"] = {"regions": {"@@append": [f"eu-central-{1 + l % 2}"]},
                               "rules": {"daily": {"schedule_expression": {"@@assign": f"cron(30 {l} ? * * *)"}}}}
    plans[f"plan{l}x{j}"] = plan(l + j)
    return {"plans": plans}


def new_account(name):
    st = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
    deadline = time.monotonic() + 30
    while st["State"] == "IN_PROGRESS":
        if time.monotonic() > deadline:
            sys.exit(f"{name} still IN_PROGRESS")
        time.sleep(0.01)
        st = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
    if st["State"] != "SUCCEEDED":
        sys.exit(f"{name}: {st}")
    return st["AccountId"]


org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
for t in ("TAG_POLICY", "BACKUP_POLICY"):
    org.enable_policy_type(RootId=root, PolicyType=t)
chain = [root]
for i in range(5):
    chain.append(org.create_organizational_unit(ParentId=chain[-1], Name=f"level-{i + 1}")["OrganizationalUnit"]["Id"])
accounts = {}
for name, parent_level in (("depth5", 3), ("max_depth", 5)):
    acct = new_account(f"effective-{name}")
    org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=chain[parent_level])
    accounts[name] = (acct, parent_level + 2)  # nodes on the path: root, OUs..., account
nodes = [(target, level) for level, target in enumerate(chain)] + [(a, n - 1) for a, n in accounts.values()]
for t, gen in (("TAG_POLICY", tag_policy), ("BACKUP_POLICY", backup_policy)):
    for target, level in nodes:
        for j in range(PER_NODE):
            content = json.dumps(gen(level, j), separators=(",", ":"))
            pid = org.create_policy(Type=t, Name=f"{t.lower()}-{target}-{j}", Description="bench", Content=content)["Policy"]["PolicySummary"]["Id"]
            org.attach_policy(PolicyId=pid, TargetId=target)
# Check the answers once: every policy's own key or plan is in the effective document.
for name, (acct, n) in accounts.items():
    for t, root_key, shared in (("TAG_POLICY", "tags", len(SHARED)), ("BACKUP_POLICY", "plans", PER_NODE)):
        doc = json.loads(org.describe_effective_policy(PolicyType=t, TargetId=acct)["EffectivePolicy"]["PolicyContent"])
        want = n * PER_NODE + shared
        if len(doc[root_key]) != want:
            sys.exit(f"{t} {name}: {len(doc[root_key])} entries under {root_key}, expected {want}")
json.dump({"accounts": {k: v[0] for k, v in accounts.items()}, "nodes": {k: v[1] for k, v in accounts.items()}}, open(out_path, "w"))
print(f"organization ready: {len(nodes)} nodes, {2 * len(nodes) * PER_NODE} policies", file=sys.stderr)
EOF

run_wrk() { # run_wrk BODY CONNECTIONS SECONDS PHASE
  BENCH_OP=DescribeEffectivePolicy BENCH_BODY="$1" BENCH_KEY="$KEY" BENCH_RUN="$RUN_ID-$4" \
    wrk -t"$THREADS" -c"$2" -d"${3}s" --timeout 10s -s "$BENCH_DIR/workload.lua" "$CANOPY_URL/"
}

results="$BENCH_TMP/results.tsv"; : >"$results"
for t in TAG_POLICY BACKUP_POLICY; do
  for path in depth5 max_depth; do
    acct="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["accounts"][sys.argv[2]])' "$BENCH_TMP/org.json" "$path")"
    nodes="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][sys.argv[2]])' "$BENCH_TMP/org.json" "$path")"
    body="{\"PolicyType\":\"$t\",\"TargetId\":\"$acct\"}"
    for conns in 1 "$CONNS"; do
      [ "$WARMUP" != 0 ] && run_wrk "$body" "$conns" "$WARMUP" warm >/dev/null
      log "$t $path ($nodes nodes, $((nodes * 5)) policies): ${SECS}s, $conns connection(s)"
      out="$(run_wrk "$body" "$conns" "$SECS" run)"
      line="$(grep '^BENCH_RESULT ' <<<"$out" | head -1)"
      [ -n "$line" ] || { echo "$out" >&2; die "wrk printed no result"; }
      log "  ${line#BENCH_RESULT }"
      printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$path" "$nodes" "$conns" "${line#BENCH_RESULT }" >>"$results"
    done
  done
done

mkdir -p "$BENCH_DIR/results"
{
  echo "DescribeEffectivePolicy on canopy ($STORE store), loopback, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d)."
  echo "5 policies attached to every node of the account's path; wrk keep-alive, $THREADS thread(s), ${SECS}s per row after ${WARMUP}s warm-up."
  echo
  echo "| type | path | policies merged | connections | req/s | p50 | p99 | errors |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  "$PY" - "$results" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    t, path, nodes, conns, js = line.rstrip("\n").split("\t", 4)
    r = json.loads(js)
    errors = r["non2xx"] + r["connect_err"] + r["read_err"] + r["write_err"] + r["timeouts"]
    print(f"| {t} | {path} ({nodes} nodes) | {int(nodes) * 5} | {conns} | {r['rps']:.0f} | {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms | {errors} |")
EOF
} | tee "$BENCH_DIR/results/effective.md"
