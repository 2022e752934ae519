#!/usr/bin/env bash
# Fuzzes attn's compile path (test/fuzz/FuzzCompile.cpp: nesting check,
# parse, verify, the compile pipeline, the CUDA emitter) with libFuzzer under
# ASan + UBSan for SECONDS (default 60), starting from the examples and the
# seeds in test/fuzz/seeds. Builds attn-fuzz in its own directory
# (${ATTN_FUZZ_BUILD_DIR:-build-fuzz}, -DATTN_FUZZ=ON), so the main build is
# untouched. Exits non-zero when the fuzzer finds a crash; the input that
# crashes is left in that directory's fuzz-artifacts/.
# Usage: scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
shift || true
"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_CXX_COMPILER=clang++-22 -DCMAKE_C_COMPILER=clang-22 \
    -DATTN_FUZZ=ON \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$build" --target attn-fuzz
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$build/fuzz-artifacts"
# The scratch corpus comes first: libFuzzer adds what it finds there and
# leaves the checked-in seeds alone.
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:allow_user_poisoning=0 \
  "$build/test/fuzz/attn-fuzz" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=4096 -dict="$root/test/fuzz/attn.dict" \
    -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1 "$@" \
    "$corpus" "$root/test/fuzz/seeds" "$root/examples"
