#!/usr/bin/env bash
#===- tools/bench/bench.sh - compile and emulator timings ------------------===#
#
# Prints (not a test; timings depend on the machine):
#  (a) whole-process `attn-opt examples/causal.mlir ... --emit=cubin
#      --arch=sm_90 -o FILE`, median of 5 runs. There is no cubin cache yet,
#      so every run is an empty-cache compile. Also NVRTC's own share from
#      the resource report.
#  (b) `attn-run --device=emu --check` on causal attention, B=1 H=2 N=1024
#      d=64 f16 (tools/bench/causal_h2.mlir: examples/causal.mlir has 8
#      static heads), wall time, median of 3, and attn-run's own split.
# Targets: (a) <= 1.0 s, (b) <= 5 s.
#
# Usage: tools/bench/bench.sh [BUILD_DIR]   (default: build)
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
opt=$build/tools/attn-opt/attn-opt
run=$build/tools/attn-run/attn-run
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Median of the numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Wall seconds of one command (its output discarded, failure fatal).
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

echo "machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
gpu=none
command -v nvidia-smi >/dev/null 2>&1 && gpu=$(nvidia-smi -L 2>/dev/null | head -1 || echo none)
echo "gpu: ${gpu:-none}"

echo "(a) attn-opt causal --emit=cubin --arch=sm_90 (whole process, empty cache)"
for k in 1 2 3 4 5; do
  wall "$opt" "$root/examples/causal.mlir" --emit=cubin --arch=sm_90 -o "$tmp/causal.cubin"
done >"$tmp/a"
echo "    runs (s): $(awk '{printf "%.3f ", $1}' "$tmp/a")"
a=$(median <"$tmp/a")
printf '    median: %.3f s (target <= 1.0 s: %s), cubin %s bytes\n' "$a" \
  "$(echo "$a <= 1.0" | bc -l | sed 's/1/met/;s/0/NOT met/')" \
  "$(stat -c %s "$tmp/causal.cubin")"
for k in 1 2 3 4 5; do
  "$opt" "$root/examples/causal.mlir" --emit=cubin --arch=sm_90 --report=json |
    sed -n 's/.*"nvrtc_compile_ms": \([0-9]*\).*/\1/p'
done >"$tmp/nvrtc"
printf '    of which NVRTC (compile + ptxas), median: %s ms\n' "$(median <"$tmp/nvrtc")"

echo "(b) attn-run --device=emu --check, causal B=1 H=2 Nq=Nk=1024 d=64 f16"
for k in 1 2 3; do
  wall "$run" "$root/tools/bench/causal_h2.mlir" --device=emu --check \
    --b=1 --hq=2 --nq=1024 --nk=1024
  grep -E '^emu:' "$tmp/out" >>"$tmp/split"
done >"$tmp/b"
echo "    runs (s): $(awk '{printf "%.3f ", $1}' "$tmp/b")"
b=$(median <"$tmp/b")
printf '    median: %.3f s (target <= 5 s: %s)\n' "$b" \
  "$(echo "$b <= 5" | bc -l | sed 's/1/met/;s/0/NOT met/')"
echo "    attn-run's split (last run): $(tail -1 "$tmp/split" | sed 's/^emu: *//')"
