//===- Decompose.cpp - attn.attention to its einsum cascade ---------------===//
//
// -attn-decompose: rewrites attn.attention into attn.contract / attn.map /
// attn.reduce (the 3-pass reference cascade of FuseMax). Each normalizer is
// defined here by its cascade; the later passes read the cascade, not the
// normalizer's name.
//
//===----------------------------------------------------------------------===//

#include "CascadeUtils.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace attn {
#define GEN_PASS_DEF_ATTNDECOMPOSE
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;
using namespace attn;

namespace {

/// The index letters of one attention, and the size of every letter. With
/// GQA (G > 1, or a group size only known at run time) the query head
/// splits into (KV head `k`, group member `g`), so every contraction stays a
/// plain einsum.
struct Letters {
  bool grouped;
  std::string heads; // "h" or "kg"
  std::string q, k, v, scores, rows, out;
  std::map<char, int64_t> size;

  RankedTensorType type(StringRef term, Type element) const {
    SmallVector<int64_t> shape;
    for (char c : term)
      shape.push_back(size.at(c));
    return RankedTensorType::get(shape, element);
  }
};

/// Builds the cascade of one attention op.
class CascadeBuilder {
public:
  CascadeBuilder(AttentionOp op, OpBuilder &b) : op(op), b(b), loc(op.getLoc()) {}

  LogicalResult build();

private:
  /// Creates an attn.map over `inputs` whose body `fill` computes the
  /// element from (indices, input elements, captures).
  using BodyFn = MapBodyFn;
  mlir::Value map(StringRef eq, ValueRange inputs, ValueRange captures,
                  RankedTensorType type, BodyFn fill);
  /// x / rowSum, with 0 where the row sum is 0 (a row with no weight).
  mlir::Value divideByRowSum(mlir::Value x, mlir::Value rowSum);
  mlir::Value scores();
  /// The mask region kept as a private function (b, h, i, j, nq, nk,
  /// captures…) -> i1 beside the op's function, for tile classification.
  FlatSymbolRefAttr maskFunction();
  mlir::Value contractPV(mlir::Value p);
  /// The query head h of a row index (b, h, i) or (b, k, g, i): k·G + g when
  /// grouped. `caps` ends with the run-time group size when G is dynamic
  /// (see rowCaptures).
  mlir::Value queryHead(OpBuilder &bb, ValueRange idx, ValueRange caps);
  /// The captures of a per-row map reading the sink logits: σ, then G when
  /// it is a run-time value.
  SmallVector<mlir::Value> rowCaptures();
  /// σ_h of a row, read from the sink logits (the first row capture).
  mlir::Value sinkLogit(OpBuilder &bb, ValueRange idx, ValueRange caps);
  /// Builds (σ_h, m, l) -> a row value.
  using SinkRowFn = llvm::function_ref<mlir::Value(
      OpBuilder &, mlir::Value sigma, mlir::Value m, mlir::Value l)>;
  /// A per-row map of the row max m and sum l that reads σ_h.
  mlir::Value sinkRowMap(mlir::Value m, mlir::Value l, SinkRowFn fill);
  /// D = l + e^(σ_h − m): the softmax denominator with the sink. A row with
  /// no attended key (m = −inf) gets D = +inf, hence p = 0; σ_h = −inf adds
  /// nothing.
  mlir::Value sinkDenominator(mlir::Value m, mlir::Value l);
  /// lse = M + log(l·e^(m − M) + e^(σ_h − M)) with M = max(m, σ_h): finite
  /// for any finite σ_h, σ_h for a row with no attended key.
  mlir::Value sinkLse(mlir::Value m, mlir::Value l);
  mlir::Value f32Const(OpBuilder &bb, double v) {
    return arith::ConstantOp::create(bb, loc, bb.getF32FloatAttr(v));
  }
  /// select(cond, 0, value): guards fully masked rows against 0/0 and
  /// -inf - -inf.
  mlir::Value zeroIf(OpBuilder &bb, mlir::Value cond, mlir::Value value) {
    return arith::SelectOp::create(bb, loc, cond, f32Const(bb, 0.0), value);
  }
  /// Inlines `region`'s body with its block arguments bound to `args` and
  /// returns the yielded value.
  mlir::Value inlineRegion(OpBuilder &bb, Region &region, ValueRange args);

  AttentionOp op;
  OpBuilder &b;
  Location loc;
  Letters L;
  mlir::Value nq, nk;
  /// The group size G = Hq / Hkv (grouped form only): a constant, or an
  /// index value computed from the head counts.
  OpFoldResult group;
  Type f32;
};

} // namespace

mlir::Value CascadeBuilder::inlineRegion(OpBuilder &bb, Region &region,
                                         ValueRange args) {
  IRMapping mapping;
  Block &block = region.front();
  mapping.map(block.getArguments(), args);
  for (Operation &inner : block.without_terminator())
    bb.clone(inner, mapping);
  return mapping.lookup(block.getTerminator()->getOperand(0));
}

mlir::Value CascadeBuilder::map(StringRef eq, ValueRange inputs,
                                ValueRange captures, RankedTensorType type,
                                BodyFn fill) {
  return buildMap(b, loc, eq, inputs, captures, type, fill).getResult();
}

/// s = score(scale · q·k, b, h, i, j, nq, nk, captures…), masked entries
/// replaced by the normalizer's "no weight" value (−inf, or 0 for `none`).
mlir::Value CascadeBuilder::scores() {
  mlir::Value q = op.getQ();
  if (L.grouped) {
    // [B, Hq, Nq, D] -> [B, Hkv, G, Nq, D].
    auto type = L.type(L.q, cast<RankedTensorType>(q.getType()).getElementType());
    SmallVector<OpFoldResult> shape{
        tensor::getMixedSize(b, loc, q, 0),
        tensor::getMixedSize(b, loc, op.getK(), 1), group,
        tensor::getMixedSize(b, loc, q, 2), tensor::getMixedSize(b, loc, q, 3)};
    q = tensor::ExpandShapeOp::create(
        b, loc, type, q, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}},
        shape);
  }
  auto qk = ContractOp::create(b, loc, L.type(L.scores, f32),
                               EinsumAttr::fromText(b.getContext(), L.q + "," + L.k + "->" + L.scores),
                               CombineKind::Mul, ReduceKind::Add,
                               ValueRange{q, op.getK()});
  // Captures: nq, nk, the variant's captures, then a run-time group size
  // (later passes append the grid offsets).
  SmallVector<mlir::Value> captures{nq, nk};
  captures.append(op.getCaptures().begin(), op.getCaptures().end());
  bool grouped = L.grouped;
  std::optional<int64_t> staticGroup = getConstantIntValue(group);
  if (grouped && !staticGroup)
    captures.push_back(cast<mlir::Value>(group));
  double scale = op.getEffectiveScale();
  bool isNone = op.getNormalizer().getKind() == NormalizerKind::None;
  Region &scoreRegion = op.getScore(), &maskRegion = op.getMask();
  return map(L.scores + "->" + L.scores, qk.getResult(), captures,
             L.type(L.scores, f32),
             [&](OpBuilder &bb, Location loc, ValueRange idx, ValueRange in,
                 ValueRange caps) -> mlir::Value {
               // Query head h = k·G + g when grouped.
               mlir::Value bIdx = idx[0], h = queryHead(bb, idx, caps);
               ValueRange rest = idx.drop_front(grouped ? 3 : 2);
               if (grouped && !staticGroup)
                 caps = caps.drop_back();
               mlir::Value i = rest[0], j = rest[1];
               mlir::Value s = arith::MulFOp::create(bb, loc, in[0],
                                                     f32Const(bb, scale));
               SmallVector<mlir::Value> indexArgs{bIdx, h, i, j, caps[0], caps[1]};
               ValueRange userCaps = caps.drop_front(2);
               if (!scoreRegion.empty()) {
                 SmallVector<mlir::Value> args{s};
                 args.append(indexArgs);
                 args.append(userCaps.begin(), userCaps.end());
                 s = inlineRegion(bb, scoreRegion, args);
               }
               if (!maskRegion.empty()) {
                 SmallVector<mlir::Value> args(indexArgs);
                 args.append(userCaps.begin(), userCaps.end());
                 mlir::Value attend = inlineRegion(bb, maskRegion, args);
                 double masked =
                     isNone ? 0.0 : -std::numeric_limits<double>::infinity();
                 auto select = arith::SelectOp::create(bb, loc, attend, s,
                                                       f32Const(bb, masked));
                 // -attn-fuse finds the mask here to drop it on full tiles,
                 // and classifies tiles with the mask kept as a function.
                 // Without a module (an analysis decomposing a detached
                 // copy) there is no function to keep, nor a kernel to fuse.
                 if (FlatSymbolRefAttr fn = maskFunction())
                   setMaskFunction(select, fn.getValue());
                 s = select;
               }
               return s;
             });
}

FlatSymbolRefAttr CascadeBuilder::maskFunction() {
  auto parent = op->getParentOfType<func::FuncOp>();
  auto module = parent ? parent->getParentOfType<ModuleOp>() : ModuleOp();
  if (!module)
    return {};
  Block &mask = op.getMask().front();
  OpBuilder mb(parent);
  auto type = mb.getFunctionType(mask.getArgumentTypes(), mb.getI1Type());
  // Detached until the symbol table places it (before the variant): a
  // clash with an existing name renames it.
  auto fn = func::FuncOp::create(loc, parent.getName().str() + "_mask", type);
  fn.setPrivate();
  SymbolTable(module).insert(fn, parent->getIterator());
  Block *body = fn.addEntryBlock();
  OpBuilder fb = OpBuilder::atBlockEnd(body);
  mlir::Value attend = inlineRegion(fb, op.getMask(), body->getArguments());
  func::ReturnOp::create(fb, loc, attend);
  return FlatSymbolRefAttr::get(fn.getSymNameAttr());
}

mlir::Value CascadeBuilder::divideByRowSum(mlir::Value x, mlir::Value rowSum) {
  return map(L.scores + "," + L.rows + "->" + L.scores, ValueRange{x, rowSum},
             {}, L.type(L.scores, f32),
             [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                 ValueRange) -> mlir::Value {
               auto zero = arith::CmpFOp::create(
                   bb, loc, arith::CmpFPredicate::OEQ, in[1], f32Const(bb, 0.0));
               auto r = arith::DivFOp::create(bb, loc, in[0], in[1]);
               return zeroIf(bb, zero, r);
             });
}

mlir::Value CascadeBuilder::queryHead(OpBuilder &bb, ValueRange idx,
                                      ValueRange caps) {
  if (!L.grouped)
    return idx[1];
  mlir::Value g;
  if (std::optional<int64_t> staticGroup = getConstantIntValue(group))
    g = arith::ConstantIndexOp::create(bb, loc, *staticGroup);
  else
    g = caps.back();
  auto kg = arith::MulIOp::create(bb, loc, idx[1], g);
  return arith::AddIOp::create(bb, loc, kg, idx[2]);
}

SmallVector<mlir::Value> CascadeBuilder::rowCaptures() {
  SmallVector<mlir::Value> caps{op.getSinkLogits()};
  if (op.getGqaPacked())
    caps.push_back(nq);
  else if (L.grouped && !getConstantIntValue(group))
    caps.push_back(cast<mlir::Value>(group));
  return caps;
}

mlir::Value CascadeBuilder::sinkLogit(OpBuilder &bb, ValueRange idx,
                                      ValueRange caps) {
  if (std::optional<int64_t> packed = op.getGqaPacked()) {
    // Row r of head h' is query head h'·G + r / (Nq'/G) (attn-pack-gqa).
    auto g = arith::ConstantIndexOp::create(bb, loc, *packed);
    auto rows = arith::DivUIOp::create(bb, loc, caps[1], g);
    auto member = arith::DivUIOp::create(bb, loc, idx[2], rows);
    auto first = arith::MulIOp::create(bb, loc, idx[1], g);
    auto h = arith::AddIOp::create(bb, loc, first, member);
    return tensor::ExtractOp::create(bb, loc, caps[0], h.getResult());
  }
  mlir::Value h = queryHead(bb, idx, caps);
  return tensor::ExtractOp::create(bb, loc, caps[0], h);
}

mlir::Value CascadeBuilder::sinkRowMap(mlir::Value m, mlir::Value l,
                                       SinkRowFn fill) {
  return map(L.rows + "," + L.rows + "->" + L.rows, ValueRange{m, l},
             rowCaptures(), L.type(L.rows, f32),
             [&](OpBuilder &bb, Location, ValueRange idx, ValueRange in,
                 ValueRange caps) -> mlir::Value {
               return fill(bb, sinkLogit(bb, idx, caps), in[0], in[1]);
             });
}

mlir::Value CascadeBuilder::sinkDenominator(mlir::Value m, mlir::Value l) {
  return sinkRowMap(m, l, [&](OpBuilder &bb, mlir::Value sigma,
                              mlir::Value rowMax,
                              mlir::Value rowSum) -> mlir::Value {
    auto noSink = arith::CmpFOp::create(
        bb, loc, arith::CmpFPredicate::OEQ, sigma,
        f32Const(bb, -std::numeric_limits<double>::infinity()));
    auto d = arith::SubFOp::create(bb, loc, sigma, rowMax);
    auto sink = zeroIf(bb, noSink, math::ExpOp::create(bb, loc, d));
    return arith::AddFOp::create(bb, loc, rowSum, sink);
  });
}

mlir::Value CascadeBuilder::sinkLse(mlir::Value m, mlir::Value l) {
  return sinkRowMap(m, l, [&](OpBuilder &bb, mlir::Value sigma,
                              mlir::Value rowMax,
                              mlir::Value rowSum) -> mlir::Value {
    mlir::Value negInf = f32Const(bb, -std::numeric_limits<double>::infinity());
    auto top = arith::MaximumFOp::create(bb, loc, rowMax, sigma);
    auto empty = arith::CmpFOp::create(bb, loc, arith::CmpFPredicate::OEQ,
                                       top, negInf);
    auto rowShift = arith::SubFOp::create(bb, loc, rowMax, top);
    auto rowPart = arith::MulFOp::create(
        bb, loc, rowSum, math::ExpOp::create(bb, loc, rowShift));
    auto sinkShift = arith::SubFOp::create(bb, loc, sigma, top);
    auto sum = arith::AddFOp::create(bb, loc, rowPart,
                                     math::ExpOp::create(bb, loc, sinkShift));
    auto lse = arith::AddFOp::create(bb, loc, top,
                                     math::LogOp::create(bb, loc, sum));
    return arith::SelectOp::create(bb, loc, empty, negInf, lse);
  });
}

mlir::Value CascadeBuilder::contractPV(mlir::Value p) {
  return ContractOp::create(b, loc, L.type(L.out, f32),
                            EinsumAttr::fromText(b.getContext(), L.scores + "," + L.v + "->" + L.out),
                            CombineKind::Mul, ReduceKind::Add,
                            ValueRange{p, op.getV()});
}

LogicalResult CascadeBuilder::build() {
  auto qT = op.getQ().getType(), kT = op.getK().getType(),
       vT = op.getV().getType();
  int64_t hq = qT.getDimSize(1), hkv = kT.getDimSize(1);
  f32 = b.getF32Type();
  // One head letter only when Hq = Hkv is known at compile time; a dynamic
  // head count makes the group size G = Hq / Hkv a run-time value (1 for
  // Hq = Hkv, as for MHA), which the grouped form carries.
  bool bothStatic = !ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv);
  L.grouped = !bothStatic || hq != hkv;
  int64_t kvN = !ShapedType::isDynamic(kT.getDimSize(2)) ? kT.getDimSize(2)
                                                          : vT.getDimSize(2);
  int64_t batch = qT.getDimSize(0);
  for (auto t : {kT, vT})
    if (ShapedType::isDynamic(batch))
      batch = t.getDimSize(0);
  L.size = {{'b', batch},          {'i', qT.getDimSize(2)}, {'j', kvN},
            {'d', qT.getDimSize(3)}, {'f', vT.getDimSize(3)}};
  if (L.grouped) {
    L.size['k'] = hkv;
    L.size['g'] = bothStatic ? hq / hkv : ShapedType::kDynamic;
    if (bothStatic) {
      group = b.getIndexAttr(hq / hkv);
    } else {
      // Hq % Hkv is checked at run time by the interpreter, attn-run and
      // the runtime's validation.
      auto hqV = tensor::DimOp::create(b, loc, op.getQ(), 1);
      auto hkvV = tensor::DimOp::create(b, loc, op.getK(), 1);
      group = arith::DivUIOp::create(b, loc, hqV, hkvV).getResult();
    }
    L.heads = "kg";
    L.k = "bkjd";
    L.v = "bkjf";
  } else {
    L.size['h'] = hq;
    L.heads = "h";
    L.k = "bhjd";
    L.v = "bhjf";
  }
  L.q = "b" + L.heads + "id";
  L.scores = "b" + L.heads + "ij";
  L.rows = "b" + L.heads + "i";
  L.out = "b" + L.heads + "if";

  nq = tensor::DimOp::create(b, loc, op.getQ(), 2);
  nk = tensor::DimOp::create(b, loc, op.getK(), 2);
  mlir::Value s = scores();
  std::string sRows = L.scores + "->" + L.rows;
  std::string sWithRows = L.scores + "," + L.rows + "->" + L.scores;
  auto scoresType = L.type(L.scores, f32), rowsType = L.type(L.rows, f32);
  mlir::Value o, lse;
  NormalizerAttr norm = op.getNormalizer();
  switch (norm.getKind()) {
  case NormalizerKind::Softmax: {
    // m = max_j s; e = exp(s - m); l = Σ_j e; p = e / l; o = p·v;
    // lse = m + log l. Rows with no attended key have m = -inf and l = 0:
    // e, p and o are 0 there and lse is -inf.
    mlir::Value m = ReduceOp::create(b, loc, rowsType, ReduceKind::Max,
                                     EinsumAttr::fromText(b.getContext(), sRows), s);
    mlir::Value e = map(
        sWithRows, ValueRange{s, m}, {}, scoresType,
        [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
            ValueRange) -> mlir::Value {
          auto emptyRow = arith::CmpFOp::create(
              bb, loc, arith::CmpFPredicate::OEQ, in[1],
              f32Const(bb, -std::numeric_limits<double>::infinity()));
          auto d = arith::SubFOp::create(bb, loc, in[0], in[1]);
          auto ex = math::ExpOp::create(bb, loc, d);
          return zeroIf(bb, emptyRow, ex);
        });
    mlir::Value l = ReduceOp::create(b, loc, rowsType, ReduceKind::Add,
                                     EinsumAttr::fromText(b.getContext(), sRows), e);
    if (op.getSinkLogits()) {
      // The sink is one more key of score σ_h and no value: a per-row term
      // of the denominator and of the lse, computed from the final m and l
      // (after the KV loop, so the online rewrite defers p = e / D past the
      // P·V sum as it defers e / l).
      mlir::Value d = sinkDenominator(m, l);
      o = contractPV(divideByRowSum(e, d));
      if (op.getLse())
        lse = sinkLse(m, l);
      break;
    }
    mlir::Value p = divideByRowSum(e, l);
    o = contractPV(p);
    if (op.getLse())
      lse = map(L.rows + "," + L.rows + "->" + L.rows, ValueRange{m, l}, {},
                rowsType,
                [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                    ValueRange) -> mlir::Value {
                  auto zero = arith::CmpFOp::create(
                      bb, loc, arith::CmpFPredicate::OEQ, in[1],
                      f32Const(bb, 0.0));
                  auto logL = math::LogOp::create(bb, loc, in[1]);
                  auto sum = arith::AddFOp::create(bb, loc, in[0], logL);
                  return arith::SelectOp::create(
                      bb, loc, zero,
                      f32Const(bb, -std::numeric_limits<double>::infinity()),
                      sum);
                });
    break;
  }
  case NormalizerKind::Sigmoid: {
    // p = σ(s + bias), bias = -ln(nk) unless given; masked s = -inf gives 0.
    FloatAttr bias = norm.getBias();
    mlir::Value p = map(
        L.scores + "->" + L.scores, s, nk, scoresType,
        [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
            ValueRange caps) -> mlir::Value {
          mlir::Value bv;
          if (bias) {
            bv = f32Const(bb, bias.getValueAsDouble());
          } else {
            auto n = arith::IndexCastOp::create(bb, loc, bb.getI64Type(), caps[0]);
            auto nf = arith::SIToFPOp::create(bb, loc, f32, n);
            auto logN = math::LogOp::create(bb, loc, nf);
            bv = arith::NegFOp::create(bb, loc, logN);
          }
          auto x = arith::AddFOp::create(bb, loc, in[0], bv);
          auto negX = arith::NegFOp::create(bb, loc, x);
          auto ex = math::ExpOp::create(bb, loc, negX);
          auto den = arith::AddFOp::create(bb, loc, f32Const(bb, 1.0), ex);
          return arith::DivFOp::create(bb, loc, f32Const(bb, 1.0), den);
        });
    o = contractPV(p);
    break;
  }
  case NormalizerKind::Softplus: {
    // p = softplus(s) = max(s, 0) + log1p(exp(-|s|)); l = Σ_j p; o = (p/l)·v.
    mlir::Value p = map(
        L.scores + "->" + L.scores, s, {}, scoresType,
        [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
            ValueRange) -> mlir::Value {
          auto isMasked = arith::CmpFOp::create(
              bb, loc, arith::CmpFPredicate::OEQ, in[0],
              f32Const(bb, -std::numeric_limits<double>::infinity()));
          auto pos = arith::MaximumFOp::create(bb, loc, in[0], f32Const(bb, 0.0));
          auto abs = math::AbsFOp::create(bb, loc, in[0]);
          auto negAbs = arith::NegFOp::create(bb, loc, abs);
          auto ex = math::ExpOp::create(bb, loc, negAbs);
          auto lp = math::Log1pOp::create(bb, loc, ex);
          auto sp = arith::AddFOp::create(bb, loc, pos, lp);
          return zeroIf(bb, isMasked, sp);
        });
    mlir::Value l = ReduceOp::create(b, loc, rowsType, ReduceKind::Add,
                                     EinsumAttr::fromText(b.getContext(), sRows), p);
    mlir::Value a = divideByRowSum(p, l);
    o = contractPV(a);
    break;
  }
  case NormalizerKind::None:
    o = contractPV(s);
    break;
  }

  // Back to the op's result types: element type of o, [B, Hq, ...] heads.
  Type oElement = op.getO().getType().getElementType();
  if (oElement != f32)
    o = map(L.out + "->" + L.out, o, {}, L.type(L.out, oElement),
            [&](OpBuilder &bb, Location loc, ValueRange, ValueRange in,
                ValueRange) -> mlir::Value {
              return arith::TruncFOp::create(bb, loc, oElement, in[0]);
            });
  if (L.grouped) {
    o = tensor::CollapseShapeOp::create(
        b, loc, op.getO().getType(), o,
        SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}});
    if (lse)
      lse = tensor::CollapseShapeOp::create(
          b, loc, op.getLse().getType(), lse,
          SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}});
  }
  auto castIfNeeded = [&](mlir::Value v, Type want) -> mlir::Value {
    if (v.getType() == want)
      return v;
    return tensor::CastOp::create(b, loc, want, v);
  };
  SmallVector<mlir::Value> results{castIfNeeded(o, op.getO().getType())};
  if (op.getLse())
    results.push_back(castIfNeeded(lse, op.getLse().getType()));
  op->replaceAllUsesWith(results);
  op->erase();
  return success();
}

LogicalResult attn::decomposeAttention(AttentionOp op) {
  // The cascade's maps copy the regions: straight-line code only.
  convertRegionIfs(op);
  OpBuilder b(op);
  return CascadeBuilder(op, b).build();
}

namespace {
struct AttnDecomposePass
    : attn::impl::AttnDecomposeBase<AttnDecomposePass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      if (failed(decomposeAttention(op)))
        return signalPassFailure();
  }
};
} // namespace
