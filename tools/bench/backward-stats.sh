#!/usr/bin/env bash
#===- backward-stats.sh - figures of the backward kernels ------------------===#
#
# ptxas' registers, spills and shared memory of every backward kernel of
# causal f16 attention (d64, d128; sm_80, sm_90; both modes) and the global
# traffic the emulator counts for a 1024 x 1024 causal backward beside
# FlashAttention-2's IO model. Usage: tools/bench/backward-stats.sh
# [BUILD_DIR] [--quick].
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec /usr/bin/python3 "$root/tools/bench/backward_stats.py" "${1:-$root/build}" "${@:2}"
