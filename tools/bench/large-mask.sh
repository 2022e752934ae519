#!/usr/bin/env bash
#===- tools/bench/large-mask.sh - compile cost of large mask regions -------===#
#
# Prints (not a test; timings depend on the machine): for generated masks of
# N index operations (tools/bench/gen_large_mask.py), the NVRTC time of the
# tensor-core kernel for sm_90 (attn-opt --emit=cubin --report=json), the
# whole process' wall time and peak memory, and registers / spills. Regions
# above 64 ops are emitted as outlined functions (codegen/lib/Outline.cpp);
# inline, a 3,000-op mask took NVRTC 779 s and 3.2 GB.
#
# Usage: tools/bench/large-mask.sh [BUILD_DIR] [N...]   (default: build, 100 1000 3000)
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
shift || true
sizes=${*:-100 1000 3000}
opt=$build/tools/attn-opt/attn-opt
pipeline='builtin.module(attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},attn-fuse,cse)'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d), load $(cut -d' ' -f1 /proc/loadavg)"
for n in $sizes; do
  python3 "$root/tools/bench/gen_large_mask.py" "$n" > "$tmp/mask.mlir"
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$opt" "$tmp/mask.mlir" \
    --pass-pipeline="$pipeline" --emit=cubin --arch=sm_90 --report=json \
    -o "$tmp/k.cubin" > "$tmp/report.json"
  read -r wall rss < "$tmp/time"
  python3 - "$n" "$wall" "$rss" "$tmp/report.json" <<'PY'
import json, sys
n, wall, rss, path = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
report = json.load(open(path))
k = report["kernels"][0]
print(f"mask of {n:>5} ops: NVRTC {report['nvrtc_compile_ms'] / 1000:6.1f} s, "
      f"process {wall:6.1f} s, peak {rss / 1024:6.0f} MB, "
      f"{k['registers']} registers, {k['spill_stores_bytes']} B spilled")
PY
done
