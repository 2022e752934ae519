//===- PackGqa.cpp - -attn-pack-gqa: a GQA group's heads as query rows ----===//
//
// Decoding runs few query rows against many keys. With grouped-query
// attention (G = Hq / Hkv query heads per KV head) a Q tile per query head
// reads each K/V tile G times; this rewrite gives the variant the shape of
// plain multi-head attention over the KV heads instead: q [B, Hkv, G·Nq, D]
// with row r = g·Nq + i holding query head h·G + g, row i. Score and mask
// regions still see the variant's own h, i and nq, recomputed from the
// packed (h', r, nq'): nq = nq' / G, h = h'·G + r / nq, i = r mod nq — so
// any variant keeps its meaning, and one Q tile of the packed problem reads
// each K/V tile once for all G heads (FlashAttention-2's seqlen-ngroups
// swap, for any mask and score). The runtime passes the caller's q, o and
// lse as views of the packed shape: row r lies at g·stride(h) + i·stride(i),
// one stride when Nq = 1 or the heads are laid out contiguously (BHSD).
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"

namespace attn {
#define GEN_PASS_DEF_ATTNPACKGQA
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// `type` ([B, H, N, ...]) with H = heads and N multiplied by `group`.
RankedTensorType packedType(RankedTensorType type, int64_t heads,
                            int64_t group) {
  SmallVector<int64_t> shape(type.getShape());
  shape[1] = heads;
  if (!ShapedType::isDynamic(shape[2]))
    shape[2] *= group;
  return RankedTensorType::get(shape, type.getElementType(),
                               type.getEncoding());
}

/// Rewrites the index arguments (h, i, nq) of a score or mask region body,
/// whose first index argument (b) is `first`, into the variant's own from
/// the packed ones.
void recomputeIndices(Block &body, unsigned first, int64_t group) {
  BlockArgument h = body.getArgument(first + 1), i = body.getArgument(first + 2),
                nq = body.getArgument(first + 4);
  if (h.use_empty() && i.use_empty() && nq.use_empty())
    return;
  Location loc = body.getParentOp()->getLoc();
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  Value g = arith::ConstantIndexOp::create(b, loc, group);
  auto rows = arith::DivUIOp::create(b, loc, nq, g);
  // The row within the head, and the head: the group's first plus the
  // member the row belongs to.
  if (!i.use_empty()) {
    auto row = arith::RemUIOp::create(b, loc, i, rows);
    i.replaceAllUsesExcept(row, row);
  }
  if (!h.use_empty()) {
    auto member = arith::DivUIOp::create(b, loc, i, rows);
    auto first0 = arith::MulIOp::create(b, loc, h, g);
    auto head = arith::AddIOp::create(b, loc, first0, member);
    h.replaceAllUsesExcept(head, first0);
  }
  nq.replaceAllUsesExcept(rows, rows);
}

/// Why `func` cannot be packed, or "" when it can; `op` is its attention.
std::string refusal(func::FuncOp func, AttentionOp &op, int64_t &group) {
  auto ops = llvm::to_vector(func.getOps<AttentionOp>());
  if (ops.size() != 1)
    return "packing needs exactly one attn.attention in the function";
  op = ops.front();
  Block &entry = func.getBody().front();
  auto q = dyn_cast<BlockArgument>(op.getQ());
  if (!q || q.getOwner() != &entry || !q.hasOneUse())
    return "q is not a function argument read only by the attention";
  auto qType = dyn_cast<RankedTensorType>(op.getQ().getType());
  auto kType = dyn_cast<RankedTensorType>(op.getK().getType());
  if (!qType || !kType || qType.getRank() != 4 || kType.getRank() != 4)
    return "q and k are not [B, H, N, D] tensors";
  int64_t hq = qType.getDimSize(1), hkv = kType.getDimSize(1);
  if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hkv))
    return "the head counts are dynamic (the group size must be known when "
           "compiling)";
  if (hkv <= 0 || hq % hkv != 0 || hq / hkv < 2)
    return "no query-head groups (Hq = " + std::to_string(hq) +
           ", Hkv = " + std::to_string(hkv) + ")";
  group = hq / hkv;
  for (Value result : op->getResults())
    if (!result.hasOneUse() ||
        !isa<func::ReturnOp>(result.getUses().begin()->getOwner()))
      return "an output of the attention is not returned as it is";
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  for (Value v : ret.getOperands())
    if (v.getDefiningOp() != op.getOperation())
      return "the function returns more than the attention's outputs";
  // A capture sized by hq or nq would see the packed sizes.
  for (Value c : op.getCaptures()) {
    auto arg = dyn_cast<BlockArgument>(c);
    if (!arg || arg.getOwner() != &entry)
      continue;
    auto dims = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(),
                                                 "attn.dims");
    for (Attribute d : dims ? dims.getValue() : ArrayRef<Attribute>())
      if (auto s = dyn_cast<StringAttr>(d))
        if (s.getValue() == "hq" || s.getValue() == "nq")
          return "capture argument " + std::to_string(arg.getArgNumber()) +
                 " has a dimension bound to " + s.getValue().str();
  }
  return "";
}

} // namespace

FailureOr<int64_t> attn::packGqaGroups(func::FuncOp func, std::string &why) {
  AttentionOp op;
  int64_t group = 0;
  why = refusal(func, op, group);
  if (!why.empty())
    return failure();
  Block &entry = func.getBody().front();
  int64_t hkv = cast<RankedTensorType>(op.getK().getType()).getDimSize(1);
  auto q = cast<BlockArgument>(op.getQ());
  q.setType(packedType(cast<RankedTensorType>(q.getType()), hkv, group));
  for (Value result : op->getResults())
    result.setType(
        packedType(cast<RankedTensorType>(result.getType()), hkv, group));
  if (!op.getScore().empty())
    recomputeIndices(op.getScore().front(), 1, group);
  if (!op.getMask().empty())
    recomputeIndices(op.getMask().front(), 0, group);
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  func.setFunctionType(FunctionType::get(
      func.getContext(), entry.getArgumentTypes(), ret.getOperandTypes()));
  // The sink logits (G·Hkv of them) follow the rows through this.
  op.setGqaPacked(group);
  if (failed(verify(func))) {
    why = "the packed function does not verify";
    return failure();
  }
  return group;
}

namespace {
struct AttnPackGqaPass : attn::impl::AttnPackGqaBase<AttnPackGqaPass> {
  using AttnPackGqaBase::AttnPackGqaBase;
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || func.getOps<AttentionOp>().empty())
        continue;
      std::string why;
      if (failed(packGqaGroups(func, why)))
        func.emitRemark() << "not packed: " << why;
    }
  }
};
} // namespace
