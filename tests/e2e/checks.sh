# Sourced by the aws CLI end-to-end scripts (set LABEL first): the PASS/FAIL counting, the checks,
# `run`, the report run.sh reads, and the start and stop of a strict-auth server of a script's own.

passed=0
failed=0
E2E_ERR=$(mktemp)

pass() { passed=$((passed + 1)); echo "PASS $LABEL $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $LABEL $1"; }

# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
# check_re NAME REGEX ACTUAL
check_re() {
  if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1: [$3] !~ $2"; fi
}
# check_error NAME CODE command... — the command must fail with the error code CODE.
check_error() {
  local name=$1 code=$2 out rc
  shift 2
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [[ "$out" == *"($code)"* ]]; then pass "$name"; else fail "$name: rc=$rc, wanted ($code), got: $out"; fi
}
# run NAME command... — the command must succeed; its stdout goes to $OUT.
run() {
  local name=$1
  shift
  if OUT=$("$@" 2>"$E2E_ERR"); then
    return 0
  fi
  fail "$name: $(cat "$E2E_ERR")"
  OUT=""
  return 1
}

# report RESULTS_FILE — writes "PASSED FAILED" for run.sh and the summary line; fails on any FAIL.
report() {
  rm -f "$E2E_ERR"
  echo "$passed $failed" >"$1"
  echo "$LABEL: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

# start_strict_server DIR — `$BIN serve --auth strict` on a fresh data directory DIR/data/, its
# stdout and log (DIR/stdout, DIR/server.log) beside it; sets SPID and exports AWS_ENDPOINT_URL.
# A server that does not start is a FAIL and ends the script.
start_strict_server() {
  "$BIN" serve --auth strict --listen 127.0.0.1:0 --database "$1/data/" >"$1/stdout" 2>"$1/server.log" &
  SPID=$!
  AWS_ENDPOINT_URL=""
  for _ in $(seq 1 300); do
    AWS_ENDPOINT_URL=$(sed -n 's|^canopy listening on \(http://[^ ]*\).*|\1|p' "$1/stdout" | head -n 1)
    [ -n "$AWS_ENDPOINT_URL" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$AWS_ENDPOINT_URL" ]; then
    fail "strict server did not start: $(tail -n 5 "$1/server.log")"
    exit 1
  fi
  export AWS_ENDPOINT_URL
}

# stop_server — SIGTERM to the server start_strict_server started, SIGKILL after 5 s.
stop_server() {
  if [ -n "${SPID:-}" ] && kill -0 "$SPID" 2>/dev/null; then
    kill -TERM "$SPID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null
  fi
}
