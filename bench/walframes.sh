#!/usr/bin/env bash
# WAL frames per write: how many pages Canopy's durable SQLite file store appends to its WAL
# (and fdatasyncs before answering) per operation, per workload and connection count. A count,
# not a rate: it moves little with the machine's load, so it shows what a storage change saves
# even on a busy machine. While a workload runs, a reader (walframes.py hold) keeps every frame
# in the WAL; walframes.py count then parses the frames appended. Each workload first runs
# unmeasured (WAL_WARMUP_SECONDS at 32 connections), so the indexes it writes have their
# steady-state size, not the seed's few rows. How many operations share a commit depends on the
# machine's speed, so the table also gives a figure that does not: with f1 the frames of a
# one-operation commit (1 connection) and F, C, N the frames, commits and operations at 32
# connections, "pages per extra op" = (F - f1·C) / (N - C), the pages each further operation adds
# to a commit.
#
# Usage: bench/walframes.sh
# Environment (defaults in brackets):
#   WAL_WORKLOADS [CreateOrganizationalUnit,TagResource,CreateAccount]
#   WAL_CONNECTIONS [1,32] (1 first)  WAL_SECONDS [5]  WAL_WARMUP_SECONDS [3]   BENCH_ACCOUNTS [200] BENCH_OUS [10]
#   CANOPY_BIN               use this binary instead of building
# Output: a Markdown table on stdout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WORKLOADS="${WAL_WORKLOADS:-CreateOrganizationalUnit,TagResource,CreateAccount}"
CONNS_LIST="${WAL_CONNECTIONS:-1,32}"
SECS="${WAL_SECONDS:-5}"
WARMUP="${WAL_WARMUP_SECONDS:-3}"
ACCOUNTS="${BENCH_ACCOUNTS:-200}"
OUS="${BENCH_OUS:-10}"
KEY=123456789012
RUN_ID="w$(date +%s)"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
ensure_curl
ensure_wrk
ensure_venv
ensure_canopy
bench_tmp
DB="$BENCH_TMP/canopy-data/canopy.db"
start_canopy canopy "$BENCH_TMP/canopy-data/" --max-ous 1000000 --max-accounts 1000000
log "canopy at $CANOPY_URL, file store $DB; seeding $OUS OUs, $ACCOUNTS accounts"
"$PY" "$BENCH_DIR/seed.py" "$CANOPY_URL" "$BENCH_TMP/seed.json" --ous "$OUS" --accounts "$ACCOUNTS" || die "seeding failed"
{
  "$PY" "$BENCH_DIR/benchlib.py" workloads "$BENCH_TMP/seed.json"
  printf 'CreateAccount\tCreateAccount\t{"AccountName":"bench-{{n}}","Email":"bench-{{n}}@example.com"}\n'
} >"$BENCH_TMP/workloads.tsv"

echo "| workload | connections | operations | commits | ops/commit | WAL frames | frames/op | KiB/op | distinct pages/commit | pages per extra op |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
IFS=, read -ra conns_list <<<"$CONNS_LIST"
IFS=, read -ra names <<<"$WORKLOADS"
for name in "${names[@]}"; do
  IFS=$'\t' read -r _ op body < <(grep -P "^$name\t" "$BENCH_TMP/workloads.tsv") || die "unknown workload $name"
  [ "$WARMUP" != 0 ] && BENCH_OP="$op" BENCH_BODY="$body" BENCH_KEY="$KEY" BENCH_RUN="$RUN_ID-warm" \
    wrk -t1 -c32 -d"${WARMUP}s" --timeout 10s -s "$BENCH_DIR/workload.lua" "$CANOPY_URL/" >/dev/null
  f1=""
  for c in "${conns_list[@]}"; do
    coproc HOLD { "$PY" "$BENCH_DIR/walframes.py" hold "$DB"; }
    BENCH_PIDS+=("$HOLD_PID")
    read -r ready <&"${HOLD[0]}"; [ "$ready" = held ] || die "the WAL holder did not start"
    start="$("$PY" "$BENCH_DIR/walframes.py" mark "$DB-wal")"
    out="$(BENCH_OP="$op" BENCH_BODY="$body" BENCH_KEY="$KEY" BENCH_RUN="$RUN_ID-$c" \
      wrk -t1 -c"$c" -d"${SECS}s" --timeout 10s -s "$BENCH_DIR/workload.lua" "$CANOPY_URL/")"
    sleep 0.5   # requests still in flight when wrk stopped reach the WAL
    json="$("$PY" "$BENCH_DIR/walframes.py" count "$DB-wal" "$start")"
    exec {HOLD[1]}>&-
    wait "$HOLD_PID" || true
    line="$(grep '^BENCH_RESULT ' <<<"$out" | head -1)"
    grep -q '"non2xx":0,' <<<"$line" || die "$name: errors during the run: $line"
    row="$("$PY" - "$name" "$c" "${line#BENCH_RESULT }" "$json" "$f1" <<'PYEOF'
import json, sys
name, c, w, f, f1 = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
n, commits = w["requests"], max(f["commits"], 1)
extra = "—"
if f1 and n > commits:
    extra = f"{(f['frames'] - float(f1) * commits) / (n - commits):.2f}"
print(f"| {name} | {c} | {n} | {f['commits']} | {n / commits:.1f} | {f['frames']} | {f['frames'] / n:.2f} | "
      f"{f['bytes'] / n / 1024:.1f} | {f['distinct_pages'] / commits:.1f} | {extra} |")
PYEOF
)"
    echo "$row"
    [ "$c" = 1 ] && f1="$(cut -d'|' -f8 <<<"$row" | tr -d ' ')"
  done
done
