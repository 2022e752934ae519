#!/usr/bin/env bash
# The main job: builds attn, compiles an example variant (Level 1 → einsum
# cascade → kernel IR with grid, online KV loop and tile classification →
# CUDA C++, on tensor cores for f16/bf16), and runs the generated kernel —
# in the CPU emulator with its counters and memcheck, then through the JIT
# runtime on a GPU when one is visible (else the emulator again) — checking
# each run against the float64 reference interpreter.
# Usage: scripts/run-example.sh [example.mlir] [attn-run flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" >/dev/null
example="${1:-$root/examples/causal.mlir}"
shift || true
echo "== pass count and tile report (attn-opt --report=json, nq = nk = 1024, 64x64 tiles)"
"$build/tools/attn-opt/attn-opt" "$example" --report=json --nq=1024 --nk=1024 --block-m=64 --block-n=64
cu="$(mktemp --suffix=.cu)"
trap 'rm -f "$cu"' EXIT
"$build/tools/attn-opt/attn-opt" "$example" --emit=cuda -o "$cu"
echo "== generated CUDA: $(wc -l < "$cu") lines (attn-opt --emit=cuda); kernel signature:"
grep -m1 -A1 '__global__' "$cu" || true
echo "== kernel IR on the reference device (attn-run --device=ref --check, ragged sizes)"
"$build/tools/attn-run/attn-run" "$example" --nq=333 --nk=333 --dtype=f16 \
  --pipeline=attn-pipeline --check --tol=1e-6 --counters | tail -4
echo "== generated kernel in the CPU emulator (attn-run --device=emu --check --counters --memcheck, ragged sizes)"
"$build/tools/attn-run/attn-run" "$example" --device=emu --nq=333 --nk=333 --dtype=f16 --check \
  --counters --memcheck "$@"
echo "== through the JIT runtime: GPU if visible, else the emulator (attn-run --device=auto --check)"
"$build/tools/attn-run/attn-run" "$example" --device=auto --nq=333 --nk=333 --dtype=f16 --check "$@"
