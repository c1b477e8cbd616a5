#!/usr/bin/env bash
# Differential test and speed comparison: Canopy vs @cloud-copilot/iam-simulate.
# Usage: bench/iam-simulate/run.sh [N=2000] [SEED=42] [ITER=5]
# Needs node/npm, python3 and cargo. Writes everything under $OUT (default /tmp/canopy-iam-simulate).
set -euo pipefail
N=${1:-2000}; SEED=${2:-42}; ITER=${3:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-/tmp/canopy-iam-simulate}
mkdir -p "$OUT"
cd "$HERE"
npm ci --no-audit --no-fund --silent
(cd "$ROOT" && cargo build --quiet --release -p canopy-policy --example diff_cases)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/diff_cases"
python3 gen.py "$N" "$SEED" > "$OUT/cases.json"
"$BIN" "$OUT/cases.json" --time "$ITER" > "$OUT/canopy.json" 2> "$OUT/canopy-time.json"
node run.mjs "$OUT/cases.json" "$OUT/sim.json" --time "$ITER" > "$OUT/sim-time.json"
status=0
python3 compare.py "$OUT/cases.json" "$OUT/canopy.json" "$OUT/sim.json" > "$OUT/report.md" || status=$?
python3 triage.py "$OUT/cases.json" "$OUT/canopy.json" "$OUT/sim.json" "$BIN" > "$OUT/classes.txt"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
c = json.load(open(out + "/canopy-time.json"))
s = json.load(open(out + "/sim-time.json"))
line = ("\n## Speed (same cases, in-process, after warm-up; mean per request, both layers)\n\n"
        f"- iam-simulate runSimulation (validate, load, evaluate, explain): {s['mean_us']:.1f} µs\n"
        f"- Canopy eval_case from the JSON documents with full explanation: {c['full_us']:.1f} µs "
        f"(iam-simulate / Canopy = {s['mean_us'] / c['full_us']:.1f}x)\n"
        f"- Canopy eval_case from the JSON documents, decision only: {c['decide_us']:.1f} µs "
        f"({s['mean_us'] / c['decide_us']:.1f}x)\n"
        f"- Canopy pre-compiled policies, evaluate_with without explanation: {c['precompiled_us']:.2f} µs "
        f"({s['mean_us'] / c['precompiled_us']:.0f}x)\n"
        f"- {c['requests']} timed requests per tool\n")
open(out + "/report.md", "a").write(line)
PY
sed -n '1,/^### /p' "$OUT/report.md" | sed '$d'
sed -n '/^## Speed/,$p' "$OUT/report.md"
echo; echo "Disagreement classes (each shrunk to one statement / one condition):"
grep '^==\|^disagreeing' "$OUT/classes.txt" || true
echo; echo "Full report: $OUT/report.md; classes with examples: $OUT/classes.txt"
exit $status
