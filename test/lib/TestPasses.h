//===- TestPasses.h - deliberate miscompilations for the tests -*- C++ -*-===//
//
// Test-only passes that break kernel IR on purpose, so the end-to-end checks
// can prove they catch a wrongly skipped tile, a missing mask, a key range
// off by one tile or a single misclassified tile. Registered in attn-opt and
// attn-run (whose --emit-debug=drop-mask|kv-bound runs them), never part of
// a compile pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_LIB_TESTPASSES_H
#define ATTN_TEST_LIB_TESTPASSES_H

namespace attn::test {

/// Registers test-attn-force-tile-class, test-attn-shift-kv-bounds,
/// test-attn-misclassify-tile and test-attn-interior-only.
void registerTestPasses();

/// Registers test-attn-interior-only (a measurement aid of kernel-stats).
void registerInteriorOnlyPass();

} // namespace attn::test

#endif // ATTN_TEST_LIB_TESTPASSES_H
