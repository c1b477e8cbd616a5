#!/usr/bin/env bash
# Canopy on PostgreSQL beside SQLite: the core workloads of run.sh (same seed, same requests, wrk
# with keep-alive) against (1) one process on a SQLite file, (2) one process on PostgreSQL,
# (3) three processes on one PostgreSQL database, the connections split evenly over them (one
# wrk per replica, run at the same time; requests/s are summed, p50 is the mean of the three,
# p99 the worst). Each configuration gets a fresh database. Loopback only; stops what it starts
# and drops the databases it created.
#
# Usage: bench/postgres.sh
# Environment (defaults in brackets):
#   BENCH_POSTGRES [postgres://postgres@127.0.0.1:5432/postgres]  a server where this may CREATE DATABASE
#   BENCH_SECONDS [5]  BENCH_WARMUP_SECONDS [1]  BENCH_CONNECTIONS [32]  BENCH_WRK_THREADS [1]
#   BENCH_WORKLOADS [all]  BENCH_CONFIGS [sqlite,pg1,pg3]  BENCH_ACCOUNTS [200]  BENCH_OUS [10]
#   CANOPY_BIN   use this binary instead of building the release one
# Output: a Markdown table on stdout, also written to bench/results/postgres.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PG_ADMIN="${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
SECS="${BENCH_SECONDS:-5}"
WARMUP="${BENCH_WARMUP_SECONDS:-1}"
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_WRK_THREADS:-1}"
WORKLOADS="${BENCH_WORKLOADS:-all}"
CONFIGS="${BENCH_CONFIGS:-sqlite,pg1,pg3}"
ACCOUNTS="${BENCH_ACCOUNTS:-200}"
OUS="${BENCH_OUS:-10}"
KEY=123456789012
RUN_ID="p$(date +%s)"
PG_DBS=()

pg_cleanup() {
  bench_cleanup
  local db
  for db in "${PG_DBS[@]}"; do psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap pg_cleanup EXIT
trap 'exit 130' INT TERM
command -v psql >/dev/null 2>&1 || die "psql is needed (Debian: apt-get install postgresql-client)"
psql "$PG_ADMIN" -Atqc "SELECT 1" >/dev/null 2>&1 || die "cannot reach PostgreSQL at BENCH_POSTGRES"
ensure_curl
ensure_wrk
ensure_venv
ensure_canopy
bench_tmp
results="$BENCH_TMP/results.jsonl"; : >"$results"

run_wrk() { # run_wrk URL CONNECTIONS OP BODY SECONDS TAG
  BENCH_OP="$3" BENCH_BODY="$4" BENCH_KEY="$KEY" BENCH_RUN="$RUN_ID-$6" \
    wrk -t"$THREADS" -c"$2" -d"${5}s" --timeout 10s -s "$BENCH_DIR/workload.lua" "$1/"
}

probe() { # probe URL OP BODY -> HTTP status
  curl -s -o "$BENCH_TMP/probe.out" -w '%{http_code}' -X POST "$1/" \
    -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: AWSOrganizationsV20161128.$2" \
    -H 'X-Amz-Date: 20261129T000000Z' \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=$KEY/20261129/us-east-1/organizations/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=$(printf '0%.0s' $(seq 64))" \
    --data-binary "${3//\{\{n\}\}/probe-$RUN_ID}" --max-time 30 || echo 000
}

run_config() { # run_config NAME DATABASE REPLICAS
  local cfg="$1" db="$2" n="$3" urls=() i
  for i in $(seq 1 "$n"); do
    start_canopy "$cfg-$i" "$db" --max-ous 1000000 --max-accounts $((ACCOUNTS + 1000))
    urls+=("$CANOPY_URL")
  done
  log "$cfg: $n process(es): ${urls[*]}"
  "$PY" "$BENCH_DIR/seed.py" "${urls[0]}" "$BENCH_TMP/seed-$cfg.json" --ous "$OUS" --accounts "$ACCOUNTS" || die "seeding $cfg failed"
  "$PY" "$BENCH_DIR/benchlib.py" workloads "$BENCH_TMP/seed-$cfg.json" >"$BENCH_TMP/workloads-$cfg.tsv"
  local per=$(( CONNS / n )) name op body status
  while IFS=$'\t' read -r name op body; do
    [[ "$WORKLOADS" == all || ",$WORKLOADS," == *",$name,"* ]] || continue
    status="$(probe "${urls[0]}" "$op" "$body")"
    if [ "$status" != 200 ]; then
      log "$name on $cfg: probe answered HTTP $status: $(head -c 300 "$BENCH_TMP/probe.out")"
      printf '{"workload":"%s","config":"%s","failed":"HTTP %s"}\n' "$name" "$cfg" "$status" >>"$results"
      continue
    fi
    # One wrk per replica at once; waits for those wrk jobs only (the servers are children too).
    local wrks=()
    if [ "$WARMUP" != 0 ]; then
      for i in "${!urls[@]}"; do run_wrk "${urls[$i]}" "$per" "$op" "$body" "$WARMUP" "$cfg-w$i" >/dev/null & wrks+=($!); done
      wait "${wrks[@]}" || true
      wrks=()
    fi
    log "$name on $cfg: ${SECS}s, $per connections x $n"
    for i in "${!urls[@]}"; do run_wrk "${urls[$i]}" "$per" "$op" "$body" "$SECS" "$cfg-r$i" >"$BENCH_TMP/wrk-$cfg-$i.out" & wrks+=($!); done
    wait "${wrks[@]}" || true
    for i in "${!urls[@]}"; do
      line="$(grep '^BENCH_RESULT ' "$BENCH_TMP/wrk-$cfg-$i.out" | head -1)"
      [ -n "$line" ] || { cat "$BENCH_TMP/wrk-$cfg-$i.out" >&2; die "wrk printed no result for $name on $cfg"; }
      printf '{"workload":"%s","config":"%s",%s\n' "$name" "$cfg" "${line#BENCH_RESULT \{}" >>"$results"
    done
  done <"$BENCH_TMP/workloads-$cfg.tsv"
  for pid in "${BENCH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BENCH_PIDS=()
}

new_pg_db() {
  local db="canopy_bench_${RUN_ID}_$1"
  psql "$PG_ADMIN" -qc "CREATE DATABASE $db" >/dev/null || die "CREATE DATABASE $db failed"
  PG_DBS+=("$db")
  PG_URL="${PG_ADMIN%/*}/$db"
}

want() { [[ ",$CONFIGS," == *",$1,"* ]]; }
want sqlite && run_config sqlite "$BENCH_TMP/sqlite-data/" 1
if want pg1; then new_pg_db pg1; run_config pg1 "$PG_URL" 1; fi
if want pg3; then new_pg_db pg3; run_config pg3 "$PG_URL" 3; fi

mkdir -p "$BENCH_DIR/results"
{
  echo "Canopy on SQLite and PostgreSQL $(psql "$PG_ADMIN" -Atqc 'SHOW server_version'), loopback, $(nproc) CPUs, $(date -u +%Y-%m-%d)."
  echo "Organization: 1 org, $OUS OUs, $ACCOUNTS accounts. wrk, keep-alive, ${SECS}s × $CONNS connections per workload (split over the replicas), after ${WARMUP}s warm-up."
  echo "sqlite: one process, file store (WAL, synchronous=FULL). pg1 / pg3: one / three processes on one PostgreSQL database (SERIALIZABLE, synchronous_commit=on)."
  echo
  python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
configs = [c for c in ("sqlite", "pg1", "pg3") if any(r["config"] == c for r in rows)]
names = list(dict.fromkeys(r["workload"] for r in rows))
print("| workload | " + " | ".join(f"{c} req/s (p50 / p99 ms)" for c in configs) + " |")
print("|---|" + "---|" * len(configs))
for n in names:
    cells = []
    for c in configs:
        rs = [r for r in rows if r["workload"] == n and r["config"] == c]
        if not rs:
            cells.append("—"); continue
        if any("failed" in r for r in rs):
            cells.append("FAILED " + rs[0].get("failed", "")); continue
        errs = sum(r["non2xx"] + r["connect_err"] + r["read_err"] + r["write_err"] + r["timeouts"] for r in rs)
        rps = sum(r["rps"] for r in rs)
        p50 = sum(r["p50_us"] for r in rs) / len(rs) / 1000
        p99 = max(r["p99_us"] for r in rs) / 1000
        cells.append(f"{rps:,.0f} ({p50:.1f} / {p99:.1f})" + (f" — {errs} errors" if errs else ""))
    print(f"| {n} | " + " | ".join(cells) + " |")
EOF
} | tee "$BENCH_DIR/results/postgres.md"
