#!/usr/bin/env bash
#===- tools/bench/decode.sh - decode figures (issue: Decode) ---------------===#
#
# Prints (not a test) for Llama-3-8B's decode shape (B=1, Hq=32, Hkv=8,
# d=128, f16, one query, Nk keys; tools/bench/llama3_8b_decode.mlir), dense
# and bottom-right causal, run through the runtime (`attn-run --device=auto
# --bench --check`: a GPU when one is visible, else the emulator): the plan
# the runtime chose (Q-tile rows, GQA packing, split-KV, split count and
# why), the CTAs launched, the global bytes read against the model
# B·Hkv·Nk·(D+Dv)·2 B (every K/V byte read once per KV head), alone and
# with Q and the split-KV workspace added, and, on a GPU, the median time.
#
# Usage: tools/bench/decode.sh [BUILD_DIR] [NK]   (defaults: build, 8192)
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
nk=${2:-8192}
run=$build/tools/attn-run/attn-run
variant=$root/tools/bench/llama3_8b_decode.mlir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ATTN_CACHE_DIR=$tmp/cache

echo "machine: $(nproc) cores, $(date -u +%Y-%m-%d); decode B=1 Hq=32 Hkv=8 d=128 f16 Nq=1 Nk=$nk"
for entry in dense bottom_right; do
  "$run" "$variant" --entry=$entry --device=auto --bench --check --nq=1 --nk="$nk" \
    --json >"$tmp/$entry.json" 2>"$tmp/$entry.err" || { cat "$tmp/$entry.err" >&2; exit 1; }
  /usr/bin/python3 - "$tmp/$entry.json" "$entry" "$nk" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
entry, nk = sys.argv[2], int(sys.argv[3])
b = r["bench"]
model = 1 * 8 * nk * (128 + 128) * 2
read = b.get("global_bytes_read")
ok = all(c["pass"] for c in r["check"])
print(f"{entry}: plan {b['plan']}, block_m {b['block_m']}, kernels {b['kernels']}")
print(f"  why: {b['plan_reason']}")
print(f"  CTAs launched: {b.get('ctas')}; check: {'PASS' if ok else 'FAIL'}")
if read is not None:
    # Q once (f16), and the split-KV workspace: what the partials write
    # beyond o (f16), which the merge reads back.
    q = 32 * 128 * 2
    ws = max(b.get("global_bytes_written", 0) - 32 * 128 * 2, 0)
    print(f"  global bytes read: {read} (model, K/V once per KV head: {model}; "
          f"ratio {read / model:.3f})")
    print(f"  with Q ({q}) and the workspace ({ws}): {model + q + ws}; "
          f"ratio {read / (model + q + ws):.3f}")
if b.get("median_ms") is not None:
    print(f"  median: {b['median_ms']:.4f} ms")
PY
done
