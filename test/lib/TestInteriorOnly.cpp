//===- TestInteriorOnly.cpp - the interior version alone ------------------===//
//
// tools/bench/kernel-stats.sh measures the SASS that one interior KV tile
// costs (FlashAttention-2's figure is its unmasked loop's): this pass makes
// every tile take the interior version of -attn-specialize-interior, so the
// difference between the x2- and x1-unrolled kernels is that version alone.
// The kernel it leaves is wrong at the edges; it is never run.
//
//===----------------------------------------------------------------------===//

#include "TestPasses.h"

#include "attn/Codegen/KernelCost.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace attn;

namespace {

struct InteriorOnly : public PassWrapper<InteriorOnly, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(InteriorOnly)
  StringRef getArgument() const final { return "test-attn-interior-only"; }
  StringRef getDescription() const final {
    return "Measurement only: every KV tile takes the interior version";
  }
  void runOnOperation() final {
    codegen::forceInteriorTiles(getOperation());
  }
};

} // namespace

void attn::test::registerInteriorOnlyPass() {
  PassRegistration<InteriorOnly>();
}
