# Shared set-up for the bench/ scripts (sourced, not run). Loopback only; every process started
# here is recorded in BENCH_PIDS and ended by bench_cleanup.
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
VENV="$BENCH_DIR/.venv"
PY="$VENV/bin/python"
BENCH_PIDS=()
BENCH_TMP=""

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  log "installing wrk (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q wrk >/dev/null 2>&1 \
    || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q wrk >/dev/null; } \
    || die "could not install wrk"
}

ensure_curl() {
  command -v curl >/dev/null 2>&1 && return 0
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q curl >/dev/null 2>&1 \
    || { as_root apt-get update -q >/dev/null && as_root apt-get install -y -q curl >/dev/null; } \
    || die "could not install curl"
}

ensure_venv() {
  local stamp="$VENV/.bench-requirements"
  if [ -x "$PY" ] && cmp -s "$BENCH_DIR/requirements.txt" "$stamp"; then return 0; fi
  log "creating $VENV with $(grep -v '^#' "$BENCH_DIR/requirements.txt" | tr '\n' ' ')"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$BENCH_DIR/requirements.txt" || die "pip install failed"
  cp "$BENCH_DIR/requirements.txt" "$stamp"
}

# Sets CANOPY_BIN (honours a preset CANOPY_BIN; otherwise builds the release binary).
ensure_canopy() {
  if [ -n "${CANOPY_BIN:-}" ]; then [ -x "$CANOPY_BIN" ] || die "CANOPY_BIN=$CANOPY_BIN is not executable"; return 0; fi
  local target="${CARGO_TARGET_DIR:-$REPO_DIR/target}"
  log "building canopy (release, target dir $target)"
  (cd "$REPO_DIR" && CARGO_TARGET_DIR="$target" cargo build --release -q -p canopy-cli) || die "cargo build failed"
  CANOPY_BIN="$target/release/canopy"
}

bench_tmp() {
  [ -n "$BENCH_TMP" ] || BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/canopy-bench.XXXXXX")"
}

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BENCH_PIDS=()
  if [ -n "$BENCH_TMP" ] && [ -z "${BENCH_KEEP_TMP:-}" ]; then rm -rf "$BENCH_TMP"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_canopy NAME DBSPEC [extra serve args...]; sets CANOPY_URL and CANOPY_PID.
#
# Canopy's log (one line per request) is formatted and written as usual, to /dev/null. Kept in a
# file on the database's disk, a run.sh's log (about 1 GB) was flushed by the kernel while the
# store waited on fdatasync: CreateOrganizationalUnit's p99 was 5.8–9.2 ms, against 3.8–4.2 ms
# (two full runs each). A pipe to a reader process instead stalled the HTTP thread whenever that
# reader waited for a core. BENCH_CANOPY_LOG_FILE=PATH appends the whole log to PATH instead.
start_canopy() {
  local name="$1" db="$2"; shift 2
  bench_tmp
  local out="$BENCH_TMP/$name.stdout" err="${BENCH_CANOPY_LOG_FILE:-/dev/null}"
  "$CANOPY_BIN" serve --listen 127.0.0.1:0 --database "$db" "$@" >"$out" 2>>"$err" &
  CANOPY_PID=$!
  BENCH_PIDS+=("$CANOPY_PID")
  CANOPY_URL=""
  for _ in $(seq 500); do
    CANOPY_URL="$(sed -n 's/^canopy listening on \(http:\/\/[^ ]*\).*/\1/p' "$out" 2>/dev/null | head -1)"
    [ -n "$CANOPY_URL" ] && break
    kill -0 "$CANOPY_PID" 2>/dev/null || {
      [ -f "$err" ] && cat "$err" >&2
      die "canopy exited during start (its log: BENCH_CANOPY_LOG_FILE=PATH)"
    }
    sleep 0.02
  done
  [ -n "$CANOPY_URL" ] || die "canopy did not print its listening address within 10 s"
  for _ in $(seq 500); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$CANOPY_URL/canopy/v1/health")" = 200 ] && return 0
    sleep 0.02
  done
  die "canopy not healthy within 10 s"
}

# start_moto; sets MOTO_URL and MOTO_PID.
start_moto() {
  bench_tmp
  local port; port="$(free_port)"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$BENCH_TMP/moto.stdout" 2>"$BENCH_TMP/moto.stderr" &
  MOTO_PID=$!
  BENCH_PIDS+=("$MOTO_PID")
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$MOTO_URL/moto-api/")" != 000 ] && return 0
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$BENCH_TMP/moto.stderr" >&2; die "moto_server exited during start"; }
    sleep 0.1
  done
  die "moto_server not answering within 30 s"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
