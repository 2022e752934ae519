//===- SetDtype.cpp - -attn-set-dtype: one variant, several element types -===//
//
// Retypes q, k, v and o of every public variant function to one element
// type: the same .mlir file compiled for f16, bf16 or f32.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/Passes.h"

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
  for (unsigned i = 0; i < 3; ++i)
    entry.getArgument(i).setType(
        withElementType(entry.getArgument(i).getType(), elementType));
  for (AttentionOp op : attentions)
    op.getO().setType(withElementType(op.getO().getType(), elementType));
  SmallVector<Type> results(func.getResultTypes());
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
