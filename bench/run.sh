#!/usr/bin/env bash
# Load benchmark: Canopy (durable SQLite file store) against moto's server, same organization,
# same awsJson1.1 requests, driven by wrk with keep-alive. Sets everything up on a fresh machine
# (wrk from Debian, a venv with moto[server], a release build of canopy), runs bounded in time
# and stops every process it started. Loopback only.
#
# Usage: bench/run.sh
# Environment (defaults in brackets):
#   BENCH_CANOPY_SECONDS [10]  BENCH_MOTO_SECONDS [10]   seconds of load per workload and server
#   BENCH_WARMUP_SECONDS [1]   unmeasured warm-up per workload and server
#   BENCH_CONNECTIONS [32]     BENCH_MOTO_CONNECTIONS [same]   keep-alive connections
#   BENCH_WRK_THREADS [1]      wrk threads (the generator shares the machine with the server)
#   BENCH_WORKLOADS [all]      comma-separated subset, e.g. ListAccounts,TagResource
#   BENCH_SERVERS [canopy,moto]  which servers to run
#   BENCH_ACCOUNTS [200] BENCH_OUS [10]   organization size
#   CANOPY_BIN                 use this binary instead of building (cargo build --release -p canopy-cli)
#   CANOPY_LOG                 Canopy's log filter (default: Canopy's own default, request log on)
#   BENCH_CANOPY_LOG_FILE      append Canopy's log to this file (default: /dev/null; see
#                              start_canopy in lib.sh)
# Output: a Markdown table on stdout, also written to bench/results/latest.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CANOPY_SECS="${BENCH_CANOPY_SECONDS:-10}"
MOTO_SECS="${BENCH_MOTO_SECONDS:-10}"
WARMUP="${BENCH_WARMUP_SECONDS:-1}"
CONNS="${BENCH_CONNECTIONS:-32}"
MOTO_CONNS="${BENCH_MOTO_CONNECTIONS:-$CONNS}"
THREADS="${BENCH_WRK_THREADS:-1}"
WORKLOADS="${BENCH_WORKLOADS:-all}"
SERVERS="${BENCH_SERVERS:-canopy,moto}"
ACCOUNTS="${BENCH_ACCOUNTS:-200}"
OUS="${BENCH_OUS:-10}"
KEY=123456789012   # management account: moto's default account id; Canopy reads a 12-digit key id as the account
RUN_ID="b$(date +%s)"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
ensure_curl
ensure_wrk
ensure_venv
want() { [[ ",$SERVERS," == *",$1,"* ]]; }
want canopy && ensure_canopy
bench_tmp
results="$BENCH_TMP/results.jsonl"; : >"$results"
caveats="$BENCH_TMP/caveats.txt"; : >"$caveats"

declare -A URL SECS CONN
if want canopy; then
  start_canopy canopy "$BENCH_TMP/canopy-data/" --max-ous 1000000 --max-accounts $((ACCOUNTS + 1000))
  URL[canopy]="$CANOPY_URL"; SECS[canopy]="$CANOPY_SECS"; CONN[canopy]="$CONNS"
  log "canopy $("$CANOPY_BIN" --version 2>/dev/null || true) at $CANOPY_URL, file store $BENCH_TMP/canopy-data/"
fi
if want moto; then
  start_moto
  URL[moto]="$MOTO_URL"; SECS[moto]="$MOTO_SECS"; CONN[moto]="$MOTO_CONNS"
  log "moto_server $("$PY" -c 'import moto; print(moto.__version__)') at $MOTO_URL"
fi

servers=()
for s in canopy moto; do want "$s" && servers+=("$s"); done
for s in "${servers[@]}"; do
  log "seeding $s: 1 organization, $OUS OUs, $ACCOUNTS accounts"
  "$PY" "$BENCH_DIR/seed.py" "${URL[$s]}" "$BENCH_TMP/seed-$s.json" --ous "$OUS" --accounts "$ACCOUNTS" \
    || die "seeding $s failed"
  "$PY" "$BENCH_DIR/benchlib.py" workloads "$BENCH_TMP/seed-$s.json" >"$BENCH_TMP/workloads-$s.tsv"
done

probe() { # probe SERVER OP BODY -> prints HTTP status; body in $BENCH_TMP/probe.out
  curl -s -o "$BENCH_TMP/probe.out" -w '%{http_code}' -X POST "${URL[$1]}/" \
    -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Target: AWSOrganizationsV20161128.$2" \
    -H 'X-Amz-Date: 20261129T000000Z' \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=$KEY/20261129/us-east-1/organizations/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=$(printf '0%.0s' $(seq 64))" \
    --data-binary "${3//\{\{n\}\}/probe-$RUN_ID-$1}" --max-time 30 || echo 000
}

run_wrk() { # run_wrk SERVER OP BODY SECONDS PHASE
  BENCH_OP="$2" BENCH_BODY="$3" BENCH_KEY="$KEY" BENCH_RUN="$RUN_ID-$1-$5" \
    wrk -t"$THREADS" -c"${CONN[$1]}" -d"${4}s" --timeout 10s -s "$BENCH_DIR/workload.lua" "${URL[$1]}/"
}

names=()
while IFS=$'\t' read -r name _ _; do names+=("$name"); done <"$BENCH_TMP/workloads-${servers[0]}.tsv"
for name in "${names[@]}"; do
  [[ "$WORKLOADS" == all || ",$WORKLOADS," == *",$name,"* ]] || continue
  for s in "${servers[@]}"; do
    IFS=$'\t' read -r _ op body < <(grep -P "^$name\t" "$BENCH_TMP/workloads-$s.tsv")
    status="$(probe "$s" "$op" "$body")"
    if [ "$status" != 200 ]; then
      detail="$(head -c 300 "$BENCH_TMP/probe.out" | tr '\n' ' ')"
      log "$name on $s: probe answered HTTP $status: $detail"
      echo "- $name on $s: HTTP $status: $detail" >>"$caveats"
      printf '{"workload":"%s","server":"%s","probe_failed":"HTTP %s"}\n' "$name" "$s" "$status" >>"$results"
      continue
    fi
    [ "$WARMUP" != 0 ] && run_wrk "$s" "$op" "$body" "$WARMUP" warm >/dev/null
    log "$name on $s: ${SECS[$s]} s, ${CONN[$s]} connections, $THREADS wrk thread(s)"
    out="$(run_wrk "$s" "$op" "$body" "${SECS[$s]}" run)"
    line="$(grep '^BENCH_RESULT ' <<<"$out" | head -1)"
    [ -n "$line" ] || { echo "$out" >&2; die "wrk printed no result for $name on $s"; }
    json="${line#BENCH_RESULT \{}"
    printf '{"workload":"%s","server":"%s",%s\n' "$name" "$s" "$json" >>"$results"
    log "  $json"
    if grep -q '"non2xx":[1-9]\|_err":[1-9]\|"timeouts":[1-9]' <<<"$json"; then
      echo "- $name on $s: errors during the run: {$json" >>"$caveats"
    fi
  done
done

mkdir -p "$BENCH_DIR/results"
{
  echo "Canopy vs moto_server $("$PY" -c 'import moto; print(moto.__version__)'), loopback, $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d)."
  echo "Organization: 1 org, $OUS OUs, $ACCOUNTS accounts (seeded through boto3 on both). wrk, keep-alive,"
  echo "$THREADS thread(s); canopy ${CANOPY_SECS}s × $CONNS connections, moto ${MOTO_SECS}s × $MOTO_CONNS connections per workload, after ${WARMUP}s warm-up."
  echo "Canopy: durable SQLite file store (WAL, each batch fdatasync'd before it is answered), request log on (written to /dev/null, not to the database's disk), \`--max-ous 1000000\` (CreateOrganizationalUnit creates far more than the 2,000-OU quota)."
  echo
  "$PY" "$BENCH_DIR/benchlib.py" report "$results"
  if [ -s "$caveats" ]; then echo; echo "Failed or erroring workloads:"; cat "$caveats"; fi
} | tee "$BENCH_DIR/results/latest.md"
