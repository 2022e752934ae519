#!/usr/bin/env bash
# The main job: builds attn, compiles an example variant and runs it.
# Usage: scripts/run-example.sh [example.mlir] [attn-run flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" >/dev/null
example="${1:-$root/examples/causal.mlir}"
shift || true
echo "== attn-opt --attn-decompose $example"
"$build/tools/attn-opt/attn-opt" --attn-decompose "$example"
echo "== attn-opt --attn-decompose --attn-analyze"
"$build/tools/attn-opt/attn-opt" --attn-decompose --attn-analyze "$example" -o /dev/null
echo "== attn-run --check $example"
"$build/tools/attn-run/attn-run" "$example" --nq=333 --nk=333 --check "$@"
