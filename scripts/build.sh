#!/usr/bin/env bash
# Configures (once) and builds attn in ${ATTN_BUILD_DIR:-build}.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cxx=clang++-22; cc=clang-22
  command -v "$cxx" >/dev/null || { cxx=g++; cc=gcc; }
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
cmake --build "$build"
