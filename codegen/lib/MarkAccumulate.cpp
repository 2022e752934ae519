//===- MarkAccumulate.cpp - -attn-mark-accumulate -------------------------===//
//
// Records two decisions of the tensor-core path on its contractions:
// attn.accumulate (the mma adds onto the consumer map's tile: P·V onto the
// rescaled O) and attn.range_scale (an f16 row operand scaled into range per
// row before the mma). Contractions.cpp holds the analyses.
//
//===----------------------------------------------------------------------===//

#include "Contractions.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/KernelAttrs.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNMARKACCUMULATE
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

void attn::codegen::markAccumulate(func::FuncOp func) {
  ScheduleAttr schedule = decidedSchedule(func);
  char row = rowLetterOf(func);
  if (!schedule || schedule.getPath() != KernelPath::Mma || !row)
    return;
  func.walk([&](ContractOp op) {
    auto loop = op->getParentOfType<scf::ForOp>();
    if (!loop || !isKvLoop(loop))
      return;
    if (detail::needsRangeScale(op, row))
      setRangeScaled(op);
    if (detail::accumulatingMap(op, row))
      setAccumulated(op);
  });
}

namespace {
struct AttnMarkAccumulatePass
    : attn::codegen::impl::AttnMarkAccumulateBase<AttnMarkAccumulatePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      attn::codegen::markAccumulate(func);
  }
};
} // namespace
