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

# Left out here, run by scripts/test.sh: the tests that repeat a path over
# every example, at model sizes or at several tile shapes. Instrumented,
# attn-run and the emulator's host side run about 5x slower, and the whole
# suite took 2873 s of CI's 5400 on 2026-12-07 (CI then ran out of time in
# the fuzzer's build). Every path they take is still run sanitized by a
# smaller test (named beside each group). ATTN_SANITIZE_ALL=1 runs them too.
heavy_lit=(
  # every example: decode, paged, varlen-decode, serving models
  #   (sanitized: emu-dynamic-heads, emu-low-weights, attn-run-varlen,
  #   varlen-all-examples; units VarlenTest, PagedKvTest)
  examples/decode-all-examples examples/decode-packing examples/varlen-decode
  examples/paged-all-examples examples/serving-models examples/emu-mla
  examples/emu-sink-logits
  # every example's backward, masks at several sizes (sanitized:
  #   backward-emu-variants, backward-determinism, attn-run-backward,
  #   codegen/backward-tile-skipping; units BackwardTest)
  examples/backward.test examples/backward-emu.test
  examples/backward-tile-skipping codegen/emit-backward
  # the preservation and bug-catching harnesses over every example
  #   (sanitized: the passes' own lit tests, emu-catches-bugs)
  examples/kernel-preserves examples/split-kv-preserves
  examples/online-preserves examples/decompose-preserves
  examples/fold-exp2-preserves examples/kernel-catches-bugs
  # every example on the emulator, at several head dims or schedules
  #   (sanitized: examples.test, emu-memcheck, emu-plans, emu-tile-counters)
  examples/emu-all-examples examples/emu-head-dims examples/emu-differential
  examples/kernel-counters examples/document-skipping
  # every example on the sm_90a wgmma schedule (sanitized: codegen/wgmma,
  #   which runs one wgmma kernel in the emulator; units WgmmaTest,
  #   NvrtcEmitTest.WgmmaKernelCompilesWithoutSpillsForSm90a)
  examples/emu-wgmma
  # reports over every example (sanitized: emit-ptx-cubin, attn-report;
  #   units CostModelTest, NvrtcEmitTest) and the catalogue (attn-catalogue;
  #   units VariantBuilderTest)
  codegen/resources codegen/cost-model tools/report-loop-iterations
  examples/catalogue
)
heavy_units=(
  # emulator runs at several plans (sanitized: the other EmuRunTest and
  # LaunchPlanTest cases); the race checker's runner is never instrumented.
  EmuRunTest.RunOptionsCountCheckAndFixTheSplitCount
  EmuRunTest.AlibiCaptureCompact
  LaunchPlanTest.DecodingPicksTheSplitKvPlan
  LaunchPlanTest.PackedRegionsSeeTheirOwnHeadsRowsAndLengths
  LaunchPlanTest.DecodingPacksTheQueryHeadsOfAGqaGroup
  LaunchPlanTest.VariantsPackingRefusesRunUnpacked
  LaunchPlanTest.SixteenQueriesOfSoftmaxSplitToo
  LaunchPlanTest.ATuningDatabaseEntrySetsTheScheduleAtLaunch
  BackwardTest.KernelsRunWithoutDataRaces
)
filter=()
if [ "${ATTN_SANITIZE_ALL:-0}" != 1 ]; then
  export LIT_FILTER_OUT="$(IFS='|'; echo "${heavy_lit[*]}")"
  filter=(-E "^($(IFS='|'; echo "${heavy_units[*]}"))\$")
fi
ctest --output-on-failure -j"$(nproc)" "${filter[@]}" "$@"
