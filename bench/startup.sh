#!/usr/bin/env bash
# Startup time of `canopy serve`: spawn → first successful GET /canopy/v1/health, over
# STARTUP_RUNS runs (default 10), for an in-memory store, a fresh file store (first start creates
# the database) and a file store already holding 10,000 accounts and 2,000 OUs (loaded through the
# API first; STARTUP_LOADED=0 skips it). Target: < 100 ms. Loopback only; bounded in time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RUNS="${STARTUP_RUNS:-10}"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
ensure_curl
ensure_venv
ensure_canopy
bench_tmp
rows=()
rows+=("$("$PY" "$BENCH_DIR/startup.py" "$CANOPY_BIN" "memory store" "$RUNS" memory)")
rows+=("$("$PY" "$BENCH_DIR/startup.py" "$CANOPY_BIN" "file store, fresh directory" "$RUNS" fresh-file)")
if [ "${STARTUP_LOADED:-1}" != 0 ]; then
  db="$BENCH_TMP/loaded-data/"
  start_canopy loader "$db" --max-accounts 20000 --max-ous 2100
  log "loading 10,000 accounts and 2,000 OUs into $db"
  "$PY" "$BENCH_DIR/load.py" "$CANOPY_URL" --accounts 10000 --ous 2000 2>/dev/null
  kill -TERM "$CANOPY_PID"; wait "$CANOPY_PID" 2>/dev/null || true
  rows+=("$("$PY" "$BENCH_DIR/startup.py" "$CANOPY_BIN" "file store, 10,000 accounts + 2,000 OUs" "$RUNS" "$db" --max-accounts 20000)")
fi
echo "| store (spawn → first healthy answer, $RUNS runs) | median | max | min |"
echo "|---|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
