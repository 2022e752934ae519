//===- SetDtype.cpp - -attn-set-dtype: one variant, several element types -===//
//
// Retypes q, k, v and o of every public variant function to one element
// type: the same .mlir file compiled for f16, bf16 or f32. Several
// attention ops retype together, and function-level maps over their
// outputs follow when they compute in f32 between extf and truncf.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSwitch.h"

namespace attn {
#define GEN_PASS_DEF_ATTNSETDTYPE
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

/// `type` with its element type replaced by `elementType`.
static RankedTensorType withElementType(Type type, Type elementType) {
  auto tensor = cast<RankedTensorType>(type);
  return RankedTensorType::get(tensor.getShape(), elementType,
                               tensor.getEncoding());
}

Type attn::parseDtype(MLIRContext *context, llvm::StringRef dtype) {
  Builder b(context);
  return llvm::StringSwitch<Type>(dtype)
      .Case("f16", b.getF16Type())
      .Case("bf16", b.getBF16Type())
      .Case("f32", b.getF32Type())
      .Default(Type());
}

/// Retypes the body of the function-level map `map` whose inputs now hold
/// `elementType` where they held `old`: an input element read only by
/// arith.extf (the map computes in f32) and a result made by arith.truncf
/// follow; anything else computing on the old type is an error.
static LogicalResult retypeMap(MapOp map, Type old, Type elementType) {
  if (old == elementType)
    return success();
  Block &body = map.getBody().front();
  unsigned firstInput =
      cast<RankedTensorType>(map.getResult().getType()).getRank();
  auto refuse = [&](Operation *at) {
    return at->emitError("--dtype retypes this map's ")
           << old << " elements to " << elementType
           << ": write its arithmetic in f32, between arith.extf of its "
              "inputs and arith.truncf of its result";
  };
  for (auto [k, input] : llvm::enumerate(map.getInputs())) {
    BlockArgument arg = body.getArgument(firstInput + k);
    Type now = cast<RankedTensorType>(input.getType()).getElementType();
    if (arg.getType() == now)
      continue;
    for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
      auto ext = dyn_cast<arith::ExtFOp>(user);
      if (!ext)
        return refuse(user);
      if (ext.getType() == now) {
        ext.replaceAllUsesWith(arg);
        ext.erase();
      }
    }
    arg.setType(now);
  }
  auto result = cast<RankedTensorType>(map.getResult().getType());
  if (result.getElementType() != old)
    return success();
  Operation *yield = body.getTerminator();
  auto trunc = yield->getOperand(0).getDefiningOp<arith::TruncFOp>();
  if (!trunc)
    return refuse(yield);
  map.getResult().setType(withElementType(result, elementType));
  if (trunc.getIn().getType() == elementType) {
    yield->setOperand(0, trunc.getIn());
    if (trunc->use_empty())
      trunc.erase();
  } else {
    trunc.getResult().setType(elementType);
  }
  return success();
}

LogicalResult attn::setVariantDtype(func::FuncOp func, Type elementType) {
  auto attentions = llvm::to_vector(func.getOps<AttentionOp>());
  if (attentions.empty())
    return func.emitError("a dtype needs Level 1 IR: an attn.attention op in "
                          "'@")
           << func.getSymName() << "'";
  if (func.getNumArguments() < 3 || func.getNumResults() < 1)
    return func.emitError("'@")
           << func.getSymName() << "' does not take q, k, v and return o";
  Block &entry = func.getBody().front();
  for (unsigned i = 0; i < 3; ++i)
    if (!isa<RankedTensorType>(entry.getArgument(i).getType()))
      return func.emitError("argument ") << i << " is not a ranked tensor";
  if (!isa<RankedTensorType>(func.getResultTypes()[0]))
    return func.emitError("result 0 is not a ranked tensor");
  for (AttentionOp op : attentions)
    for (Value operand : {op.getQ(), op.getK(), op.getV()})
      if (!isa<BlockArgument>(operand) ||
          cast<BlockArgument>(operand).getOwner() != &entry)
        return op.emitError("a dtype needs the q, k, v of attn.attention to "
                            "be the function's arguments");
  // The q, k, v and o of every attention op (several attention ops in one
  // function share the dtype), then the function-level maps that read them
  // (an epilogue such as differential attention's o1 - λ·o2).
  Type old = cast<RankedTensorType>(entry.getArgument(0).getType())
                 .getElementType();
  for (unsigned i = 0; i < 3; ++i)
    entry.getArgument(i).setType(
        withElementType(entry.getArgument(i).getType(), elementType));
  for (AttentionOp op : attentions) {
    for (Value operand : {op.getQ(), op.getK(), op.getV()})
      operand.setType(withElementType(operand.getType(), elementType));
    op.getO().setType(withElementType(op.getO().getType(), elementType));
  }
  for (MapOp map : llvm::to_vector(func.getOps<MapOp>()))
    if (failed(retypeMap(map, old, elementType)))
      return failure();
  SmallVector<Type> results(func.getResultTypes());
  auto returned = entry.getTerminator()->getOperands();
  for (auto [k, type] : llvm::enumerate(results))
    if (k < returned.size() && isa<RankedTensorType>(type))
      type = returned[k].getType();
  results[0] = withElementType(results[0], elementType);
  func.setFunctionType(
      FunctionType::get(func.getContext(), entry.getArgumentTypes(), results));
  if (failed(verify(func)))
    return func.emitError("'@") << func.getSymName()
                                << "' does not verify after retyping to "
                                << elementType;
  return success();
}

namespace {
struct AttnSetDtypePass : attn::impl::AttnSetDtypeBase<AttnSetDtypePass> {
  using AttnSetDtypeBase::AttnSetDtypeBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Type elementType = parseDtype(module.getContext(), dtype);
    if (!elementType) {
      module.emitError("-attn-set-dtype: unknown dtype '")
          << dtype << "' (expected f16, bf16 or f32)";
      return signalPassFailure();
    }
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal() &&
          !func.getOps<AttentionOp>().empty() &&
          failed(setVariantDtype(func, elementType)))
        return signalPassFailure();
  }
};
} // namespace
