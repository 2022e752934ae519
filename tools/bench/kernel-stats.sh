#!/usr/bin/env bash
#===- kernel-stats.sh - static figures of the tensor-core kernels ----------===#
#
# Registers, spills, stack, shared memory, CTAs per SM (A100, H100), .text
# bytes per static mma.sync and SASS slots per unit of work in the KV loop
# (from the x1 and x2 unrolled kernels) for f16 causal attention, beside
# FlashAttention-2's figures. Usage: tools/bench/kernel-stats.sh [BUILD_DIR]
# [--quick]. (tools/bench/bench.sh keeps the timings.)
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec /usr/bin/python3 "$root/tools/bench/kernel_stats.py" "${1:-$root/build}" "${@:2}"
