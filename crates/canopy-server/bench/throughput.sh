#!/usr/bin/env bash
# Requests per second of `canopy serve` on DescribeOrganization (a read) with request logging on.
# Needs wrk (Debian: apt-get install wrk). Loopback only; bounded in time.
# Usage: throughput.sh [PATH_TO_CANOPY] [SECONDS] [CONNECTIONS]. Target: > 20,000 req/s on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-target}/release/canopy}"
secs="${2:-5}"
conns="${3:-32}"
out="$(mktemp)"; log="$(mktemp)"
"$bin" serve --listen 127.0.0.1:0 --database memory >"$out" 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$out" "$log"' EXIT
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.01; done
addr="$(sed -n 's/^canopy listening on \(http:[^ ]*\).*/\1/p' "$out")"
# An organization for account 111111111111 so the reads succeed.
curl -s -o /dev/null -X POST "$addr/" -H 'X-Amz-Target: AWSOrganizationsV20161128.CreateOrganization' \
  -H 'Authorization: AWS4-HMAC-SHA256 Credential=111111111111/20261129/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=ab' \
  -d '{"FeatureSet":"ALL"}'
wrk -t1 -c"$conns" -d"${secs}s" -s "$here/describe.lua" "$addr/"
echo "log lines written: $(wc -l <"$log")"
