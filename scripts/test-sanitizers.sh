#!/usr/bin/env bash
# Builds attn under AddressSanitizer + UndefinedBehaviorSanitizer in its own
# directory (${ATTN_SANITIZE_BUILD_DIR:-build-sanitize}, -DATTN_SANITIZE=ON)
# and runs every test there (ctest: the GoogleTest units and the lit suite,
# whose tools are then the instrumented attn-opt and attn-run). The main
# build is untouched. What it covers and what it cannot: README, "Tests".
# Usage: scripts/test-sanitizers.sh [ctest flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_C_COMPILER=clang-22 \
    -DATTN_SANITIZE=ON \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$build"
cd "$build"
# Any report fails the test it happens in. allow_user_poisoning=0: LLVM's
# BumpPtrAllocator poisons the unused part of a slab when the code that
# starts the slab is instrumented (ours, inlining it for an attribute's
# storage) but not when the code that allocates from it is (Debian's
# libMLIR.so, for builtin attributes), so reads of MLIR's own storage would
# be reported as use-after-poison; real heap errors are still caught.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:allow_user_poisoning=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
ctest --output-on-failure -j"$(nproc)" "$@"
