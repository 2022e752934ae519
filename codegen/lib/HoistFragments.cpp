//===- HoistFragments.cpp - -attn-hoist-fragments -------------------------===//
//
// The row operand of a contraction in a KV loop that the loop does not change
// (the Q tile) becomes an attn.load_fragments before the loop: the
// tensor-core kernel reads it into mma A fragments once, not per KV tile.
// Fragments past kMaxHoistedFragmentRegisters would crowd out the
// accumulators: such an operand stays in global memory, read per KV tile.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Schedule.h"
#include "attn/Dialect/KernelAttrs.h"

namespace attn::codegen {
#define GEN_PASS_DEF_ATTNHOISTFRAGMENTS
#include "attn/Codegen/Passes.h.inc"
} // namespace attn::codegen

using namespace mlir;
using namespace attn;

void attn::codegen::hoistFragments(func::FuncOp func) {
  ScheduleAttr schedule = decidedSchedule(func);
  char row = rowLetterOf(func);
  // A staged Q tile is read from shared memory per KV tile (-attn-stage-kv).
  if (!schedule || schedule.getPath() != KernelPath::Mma || !row ||
      schedule.getQStaged())
    return;
  SmallVector<scf::ForOp> loops = codegen::kvLoopsOf(func);
  for (scf::ForOp loop : loops) {
    DenseMap<Value, Value> hoisted;
    loop.walk([&](ContractOp op) {
      Equation eq = op.getEquation().getValue();
      for (auto [k, input] : llvm::enumerate(op.getInputs())) {
        Type elem = cast<ShapedType>(input.getType()).getElementType();
        if (eq.inputs[k].find(row) == std::string::npos ||
            input.getDefiningOp<LoadFragmentsOp>() ||
            !loop.isDefinedOutsideOfLoop(input) || !(elem.isF16() || elem.isBF16()))
          continue;
        auto type = cast<RankedTensorType>(input.getType());
        int64_t cols = type.getRank() ? type.getShape().back() : 0;
        if (!ShapedType::isDynamic(cols) &&
            aFragmentRegisters(schedule.getRowsPerWarp(), cols) >
                kMaxHoistedFragmentRegisters)
          continue;
        Value &fragments = hoisted[input];
        if (!fragments) {
          OpBuilder b(loop);
          fragments = LoadFragmentsOp::create(b, loop.getLoc(), input.getType(),
                                              input);
        }
        op->setOperand(k, fragments);
      }
    });
  }
}

namespace {
struct AttnHoistFragmentsPass
    : attn::codegen::impl::AttnHoistFragmentsBase<AttnHoistFragmentsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      attn::codegen::hoistFragments(func);
  }
};
} // namespace
