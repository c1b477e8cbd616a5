#!/usr/bin/env bash
# Resident memory of `canopy serve` (durable SQLite file store) with 10,000 accounts and 2,000 OUs,
# loaded through the API with parallel requests, after a warm read pass; then the same database
# is reopened by a fresh process and measured again (startup time to the first healthy answer,
# RSS after the same read pass). Target: RSS < 60 MiB. Loopback only; bounded in time.
# Environment: MEM_ACCOUNTS [10000], MEM_OUS [2000], MEM_WORKERS [16], CANOPY_BIN (else builds).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export BENCH_DIR
ACCOUNTS="${MEM_ACCOUNTS:-10000}"
OUS="${MEM_OUS:-2000}"
WORKERS="${MEM_WORKERS:-16}"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
ensure_curl
ensure_venv
ensure_canopy
bench_tmp
db="$BENCH_TMP/canopy-data/"
limits=(--max-accounts 20000 --max-ous $((OUS + 100)))

# Canopy's warnings and errors are kept (a failed request's cause is in them) and shown if the
# load fails; the request lines are not written (only RSS is measured here).
export BENCH_CANOPY_LOG_FILE="${BENCH_CANOPY_LOG_FILE:-$BENCH_TMP/canopy.log}"
export CANOPY_LOG="${CANOPY_LOG:-warn}"
start_canopy mem1 "$db" "${limits[@]}"
log "canopy at $CANOPY_URL (file store $db), RSS empty: $(rss_kib "$CANOPY_PID") KiB"
"$PY" "$BENCH_DIR/load.py" "$CANOPY_URL" --accounts "$ACCOUNTS" --ous "$OUS" --workers "$WORKERS" || {
  echo "--- canopy's warnings and errors:" >&2; tail -n 50 "$BENCH_CANOPY_LOG_FILE" >&2; exit 1; }
rss1="$(rss_kib "$CANOPY_PID")"; hwm1="$(awk '/^VmHWM:/ {print $2}' "/proc/$CANOPY_PID/status")"
kill -TERM "$CANOPY_PID"; wait "$CANOPY_PID" 2>/dev/null || true

t0="$(date +%s%N)"
start_canopy mem2 "$db" "${limits[@]}"
t1="$(date +%s%N)"
rss_start="$(rss_kib "$CANOPY_PID")"
# The same warm read pass against the reopened store (no writes: the organization exists).
"$PY" - "$CANOPY_URL" "$ACCOUNTS" <<'PY'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("load", os.path.join(os.environ["BENCH_DIR"], "load.py"))
load = importlib.util.module_from_spec(spec); spec.loader.exec_module(load)
url, n, token = sys.argv[1], 0, None
while True:
    page = load.call(url, "ListAccounts", {"MaxResults": 20, **({"NextToken": token} if token else {})})
    n += len(page["Accounts"]); token = page.get("NextToken")
    if not token: break
assert n == int(sys.argv[2]) + 1, n
PY
rss2="$(rss_kib "$CANOPY_PID")"
dbsize="$(du -sk "$db" | cut -f1)"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
cat <<OUT
| measurement ($ACCOUNTS accounts, $OUS OUs, durable file store) | value |
|---|---|
| RSS after loading through the API + warm ListAccounts pass | $(mib "$rss1") (peak VmHWM $(mib "$hwm1")) |
| RSS of a fresh process on the same database, just started | $(mib "$rss_start") |
| RSS of that process after a warm ListAccounts pass | $(mib "$rss2") |
| reopen: spawn → first healthy answer (includes the harness's polling) | $(( (t1 - t0) / 1000000 )) ms |
| database on disk | $(mib "$dbsize") |
OUT
