//===- SetTarget.cpp - -attn-set-target: the target, recorded in the IR ---===//

#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Passes.h"

namespace attn {
#define GEN_PASS_DEF_ATTNSETTARGET
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {
struct AttnSetTargetPass : attn::impl::AttnSetTargetBase<AttnSetTargetPass> {
  using AttnSetTargetBase::AttnSetTargetBase;
  void runOnOperation() override {
    std::optional<KernelPath> kernelPath = symbolizeKernelPath(path);
    if (!kernelPath) {
      getOperation().emitError("-attn-set-target: unknown path '")
          << path << "' (expected auto, simt or mma)";
      return signalPassFailure();
    }
    setTarget(getOperation(), arch, *kernelPath);
  }
};
} // namespace
