#!/usr/bin/env bash
# End-to-end: the real `canopy` binary, driven by boto3 (test_*boto3.py) and the aws CLI
# (test_*.sh), as users call it: the tree, policies, invitations (test_governance*),
# delegation, the resource policy, GovCloud and transfers (test_delegation*) on one dev-auth
# server; test_identity.sh and test_strict_governance.sh run strict-auth servers of their own
# (issued keys per account, STS, assume-role, tampered and expired signatures).
#
#   tests/e2e/run.sh
#
# Environment:
#   CANOPY_VENV  virtualenv with boto3 + awscli (default <repo>/.venv; created if missing)
#   CANOPY_BIN   a prebuilt canopy binary (default: cargo build --release -p canopy-cli)
#
# Prints one `PASS`/`FAIL` line per test case and ends with `N passed, M failed`; exits non-zero
# on any failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VENV=${CANOPY_VENV:-$REPO/.venv}

give_up() {
  echo "e2e: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# 1. Python tools.
if ! "$VENV/bin/python" -c 'import boto3' >/dev/null 2>&1 || [ ! -x "$VENV/bin/aws" ]; then
  echo "e2e: setting up $VENV (boto3, awscli)" >&2
  python3 -m venv "$VENV" || give_up "python3 -m venv $VENV failed"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check boto3 awscli || give_up "pip install boto3 awscli failed"
fi
PY="$VENV/bin/python"

# 2. The binary.
BIN=${CANOPY_BIN:-}
if [ -z "$BIN" ]; then
  echo "e2e: building canopy (release)" >&2
  (cd "$REPO" && cargo build --release -p canopy-cli --bin canopy) || give_up "cargo build failed"
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/canopy"
fi
[ -x "$BIN" ] || give_up "no canopy binary at $BIN"

# 3. The server, on an ephemeral port with a file database in a temp dir.
TMP=$(mktemp -d)
"$BIN" serve --listen 127.0.0.1:0 --database "$TMP/canopy-data" >"$TMP/stdout" 2>"$TMP/server.log" &
PID=$!
cleanup() {
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null
  fi
  wait "$PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

ENDPOINT=""
for _ in $(seq 1 300); do
  ENDPOINT=$(sed -n 's|^canopy listening on \(http://[^ ]*\).*|\1|p' "$TMP/stdout" | head -n 1)
  [ -n "$ENDPOINT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/server.log" >&2; give_up "canopy exited before listening"; }
  sleep 0.1
done
[ -n "$ENDPOINT" ] || give_up "canopy did not print its listening line within 30 s"
echo "e2e: $(head -n 1 "$TMP/stdout")" >&2

# Clients: only the endpoint and static credentials; no profile or config file of the machine.
export AWS_ENDPOINT_URL="$ENDPOINT"
export AWS_ACCESS_KEY_ID=111111111111
export AWS_SECRET_ACCESS_KEY=x
export AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN

reset_store() {
  "$PY" - "$ENDPOINT" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/canopy/v1/reset", data=b"", method="POST")
with urllib.request.urlopen(req, timeout=10) as r:
    assert r.status == 200, r.status
EOF
}

# Each script writes "PASSED FAILED" to the results file it is given.
passed=0
failed=0
add_results() { # file name
  if [ -s "$1" ]; then
    read -r p f <"$1"
    passed=$((passed + p))
    failed=$((failed + f))
  else
    echo "FAIL $2: the script ended without reporting its results" >&2
    failed=$((failed + 1))
  fi
}

echo "== boto3"
"$PY" "$HERE/test_boto3.py" "$TMP/results.boto3"
add_results "$TMP/results.boto3" test_boto3.py

if ! reset_store; then
  echo "FAIL reset: POST /canopy/v1/reset"
  failed=$((failed + 1))
fi

echo "== aws CLI"
PATH="$VENV/bin:$PATH" PY="$PY" bash "$HERE/test_cli.sh" "$TMP/results.cli"
add_results "$TMP/results.cli" test_cli.sh

# Policies and governance (handshakes): each script builds its own organization on an empty store.
for script in test_policies_boto3.py test_policies_cli.sh \
  test_governance_boto3.py \
  test_governance.sh \
  test_delegation_boto3.py \
  test_delegation.sh; do
  if ! reset_store; then
    echo "FAIL reset: POST /canopy/v1/reset"
    failed=$((failed + 1))
  fi
  echo "== $script"
  case $script in
    *.py) "$PY" "$HERE/$script" "$TMP/results.$script" ;;
    *.sh) PATH="$VENV/bin:$PATH" PY="$PY" bash "$HERE/$script" "$TMP/results.$script" ;;
  esac
  add_results "$TMP/results.$script" "$script"
done

# Strict auth: the script runs its own `serve --auth strict` on a fresh data directory.
echo "== test_identity.sh"
PATH="$VENV/bin:$PATH" PY="$PY" BIN="$BIN" bash "$HERE/test_identity.sh" "$TMP/results.identity"
add_results "$TMP/results.identity" test_identity.sh
echo "== test_strict_governance.sh"
PATH="$VENV/bin:$PATH" PY="$PY" BIN="$BIN" bash "$HERE/test_strict_governance.sh" "$TMP/results.strict_governance"
add_results "$TMP/results.strict_governance" test_strict_governance.sh

if ! kill -0 "$PID" 2>/dev/null; then
  echo "FAIL server: canopy died during the run" >&2
  tail -n 30 "$TMP/server.log" >&2
  failed=$((failed + 1))
fi
if grep -q "panicked" "$TMP/server.log"; then
  echo "FAIL server: a panic in the server log" >&2
  grep -n -A3 "panicked" "$TMP/server.log" | head -n 20 >&2
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
