#!/usr/bin/env bash
# Builds attn and runs every test (GoogleTest units and the lit suite) via ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${ATTN_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
