//===- Sparsify.cpp - -attn-sparsify: what kind of sparsity a mask has ----===//
//
// Tags every attention with the kind of tile classification its mask allows.
// The classification itself (attn/Analysis/MaskAnalysis.h) is run by the
// report and, later, by the tiler for concrete or launch-time sizes.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Passes.h"

namespace attn {
#define GEN_PASS_DEF_ATTNSPARSIFY
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {
struct AttnSparsifyPass : attn::impl::AttnSparsifyBase<AttnSparsifyPass> {
  void runOnOperation() override {
    getOperation()->walk([&](AttentionOp op) {
      SparsityKind kind = SparsityKind::Dense;
      if (!op.getMask().empty()) {
        MaskAnalysis analysis(op.getMask());
        kind = analysis.readsCapturedTensors() ? SparsityKind::Runtime
                                               : SparsityKind::Static;
        if (!analysis.firstUnmodelledOp().empty())
          op.emitRemark() << "mask analysis does not model '"
                          << analysis.firstUnmodelledOp()
                          << "': tiles depending on it are evaluated (partial)";
      }
      setSparsity(op, kind);
    });
  }
};
} // namespace
