#!/usr/bin/env bash
# The main job: builds attn, compiles an example variant down to the kernel IR
# (decompose → exp2 folding → grid tiling → online rewrite → tile
# classification) and runs
# it, checking it against the float64 reference interpreter on Level 1.
# Until the CUDA backend lands, the compiled kernel IR runs on the reference
# device (the interpreter executes the grid, the KV loop and the skipped /
# full / partial tiles); see README "Status".
# Usage: scripts/run-example.sh [example.mlir] [attn-run flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" >/dev/null
example="${1:-$root/examples/causal.mlir}"
shift || true
pipeline="attn-decompose,attn-fold-exp2,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse"
echo "== pass count and tile report (attn-opt --report=json, nq = nk = 1024, 64x64 tiles)"
"$build/tools/attn-opt/attn-opt" "$example" --report=json --nq=1024 --nk=1024 --block-m=64 --block-n=64
ir="$(mktemp)"
trap 'rm -f "$ir"' EXIT
"$build/tools/attn-opt/attn-opt" "$example" --pass-pipeline="builtin.module($pipeline,cse)" -o "$ir"
echo "== kernel IR: $(wc -l < "$ir") lines (attn-opt --pass-pipeline='builtin.module($pipeline,cse)'); the KV loop:"
sed -n '/attn.tile_class/,/mask {/p' "$ir" | head -3
# 1e-6, not 1e-12: the f32 log2(e) of -attn-fold-exp2 moves results by ~1e-8.
echo "== attn-run --check (ragged sizes, f16 inputs)"
"$build/tools/attn-run/attn-run" "$example" --nq=333 --nk=333 --dtype=f16 \
  --pipeline="$pipeline" --check --tol=1e-6 --counters "$@"
