//===- MaskAnalysis.cpp - compile-time classification of mask tiles -------===//
//
// Abstract interpretation of a mask region over one tile. Integer values are
// affine forms in (i, j) with exact ranges over the tile, or intervals once
// the arithmetic leaves the affine world; i1 values are true, false or
// unknown. Every transfer function over-approximates the interpreter's
// semantics (ScalarProgram.cpp), which the exhaustive tests check.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Block.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace attn;

const char *attn::stringifyTileClass(TileClass c) {
  switch (c) {
  case TileClass::Full: return "full";
  case TileClass::Empty: return "empty";
  case TileClass::Partial: return "partial";
  }
  return "?";
}

namespace {

enum class Tri { False, True, Unknown };

Tri triNot(Tri a) {
  return a == Tri::Unknown ? a : (a == Tri::True ? Tri::False : Tri::True);
}
Tri triAnd(Tri a, Tri b) {
  if (a == Tri::False || b == Tri::False)
    return Tri::False;
  return a == Tri::True && b == Tri::True ? Tri::True : Tri::Unknown;
}
Tri triOr(Tri a, Tri b) {
  if (a == Tri::True || b == Tri::True)
    return Tri::True;
  return a == Tri::False && b == Tri::False ? Tri::False : Tri::Unknown;
}
Tri triOf(bool b) { return b ? Tri::True : Tri::False; }

/// An abstract value. For integers: if `affine`, the value is exactly
/// c0 + ci·i + cj·j; [lo, hi] always bounds it over the tile. `known` is
/// false when nothing is known (data read from tensors, float math).
struct Abs {
  bool known = false;
  bool affine = false;
  int64_t c0 = 0, ci = 0, cj = 0;
  int64_t lo = 0, hi = 0;
  Tri truth = Tri::Unknown; // for i1 values

  static Abs unknown() { return Abs(); }
  static Abs boolean(Tri t) {
    Abs a;
    a.known = t != Tri::Unknown;
    a.truth = t;
    return a;
  }
  bool isConstant() const { return known && lo == hi; }
};

/// Evaluates a mask region abstractly over one tile.
class TileEvaluator {
public:
  TileEvaluator(const MaskContext &ctx, const Tile &tile)
      : ctx(ctx), tile(tile) {}

  Tri run(Block &block);

private:
  Abs affine(int64_t c0, int64_t ci, int64_t cj) const;
  Abs interval(int64_t lo, int64_t hi) const;
  Abs constant(int64_t c) const { return affine(c, 0, 0); }
  Abs add(const Abs &a, const Abs &b, int64_t sign) const;
  Abs mul(const Abs &a, const Abs &b) const;
  Abs divByConstant(const Abs &a, int64_t c, bool floor) const;
  Abs remByConstant(const Abs &a, int64_t c) const;
  Abs minMax(const Abs &a, const Abs &b, bool isMax) const;
  Tri compare(arith::CmpIPredicate p, const Abs &a, const Abs &b) const;
  Abs transfer(Operation &op);

  Abs extract(tensor::ExtractOp op);

  const MaskContext &ctx;
  const Tile &tile;
  llvm::DenseMap<mlir::Value, Abs> values;
  llvm::DenseMap<mlir::Value, const TensorView *> tensors;
};

} // namespace

Abs TileEvaluator::affine(int64_t c0, int64_t ci, int64_t cj) const {
  Abs a;
  a.known = a.affine = true;
  a.c0 = c0;
  a.ci = ci;
  a.cj = cj;
  int64_t iLast = tile.i1 - 1, jLast = tile.j1 - 1;
  a.lo = c0 + std::min(ci * tile.i0, ci * iLast) +
         std::min(cj * tile.j0, cj * jLast);
  a.hi = c0 + std::max(ci * tile.i0, ci * iLast) +
         std::max(cj * tile.j0, cj * jLast);
  return a;
}

Abs TileEvaluator::interval(int64_t lo, int64_t hi) const {
  if (lo == hi)
    return constant(lo);
  Abs a;
  a.known = true;
  a.lo = lo;
  a.hi = hi;
  return a;
}

Abs TileEvaluator::add(const Abs &a, const Abs &b, int64_t sign) const {
  if (!a.known || !b.known)
    return Abs::unknown();
  if (a.affine && b.affine)
    return affine(a.c0 + sign * b.c0, a.ci + sign * b.ci, a.cj + sign * b.cj);
  return sign > 0 ? interval(a.lo + b.lo, a.hi + b.hi)
                  : interval(a.lo - b.hi, a.hi - b.lo);
}

Abs TileEvaluator::mul(const Abs &a, const Abs &b) const {
  if (!a.known || !b.known)
    return Abs::unknown();
  if (a.affine && b.isConstant())
    return affine(a.c0 * b.lo, a.ci * b.lo, a.cj * b.lo);
  if (b.affine && a.isConstant())
    return affine(b.c0 * a.lo, b.ci * a.lo, b.cj * a.lo);
  int64_t c[] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};
  return interval(*std::min_element(c, c + 4), *std::max_element(c, c + 4));
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}

/// Division by a positive constant is monotone: the range maps end to end.
Abs TileEvaluator::divByConstant(const Abs &a, int64_t c, bool floor) const {
  if (!a.known || c <= 0)
    return Abs::unknown();
  if (c == 1)
    return a;
  if (floor)
    return interval(floorDiv(a.lo, c), floorDiv(a.hi, c));
  return interval(a.lo / c, a.hi / c);
}

/// x rem c for c > 0: exact when the range stays inside one period.
Abs TileEvaluator::remByConstant(const Abs &a, int64_t c) const {
  if (!a.known || c <= 0)
    return Abs::unknown();
  if (a.lo >= 0) {
    if (a.lo / c == a.hi / c)
      return interval(a.lo % c, a.hi % c);
    return interval(0, c - 1);
  }
  if (a.hi <= 0 && a.lo / c == a.hi / c)
    return interval(a.lo % c, a.hi % c);
  return interval(-(c - 1), c - 1);
}

Abs TileEvaluator::minMax(const Abs &a, const Abs &b, bool isMax) const {
  if (!a.known || !b.known)
    return Abs::unknown();
  // When one side dominates over the whole tile the result keeps its form
  // (the usual case for clamps at the borders of a neighborhood).
  Abs diff = add(a, b, -1);
  if (diff.lo >= 0)
    return isMax ? a : b;
  if (diff.hi <= 0)
    return isMax ? b : a;
  return isMax ? interval(std::max(a.lo, b.lo), std::max(a.hi, b.hi))
               : interval(std::min(a.lo, b.lo), std::min(a.hi, b.hi));
}

Tri TileEvaluator::compare(arith::CmpIPredicate p, const Abs &a,
                           const Abs &b) const {
  using P = arith::CmpIPredicate;
  if (!a.known || !b.known)
    return Tri::Unknown;
  bool isUnsigned = p == P::ult || p == P::ule || p == P::ugt || p == P::uge;
  if (isUnsigned) {
    // Unsigned order equals signed order when both sides have the same
    // sign; a negative value is larger than any non-negative one.
    bool aNeg = a.hi < 0, bNeg = b.hi < 0;
    bool aNonNeg = a.lo >= 0, bNonNeg = b.lo >= 0;
    if (!((aNeg || aNonNeg) && (bNeg || bNonNeg)))
      return Tri::Unknown;
    if (aNeg != bNeg) {
      bool aLarger = aNeg;
      switch (p) {
      case P::ult: case P::ule: return triOf(!aLarger);
      default: return triOf(aLarger);
      }
    }
    p = p == P::ult ? P::slt : p == P::ule ? P::sle : p == P::ugt ? P::sgt
                                                                  : P::sge;
  }
  // d = a - b ranges over [lo, hi]: exact for affine forms.
  Abs d = add(a, b, -1);
  switch (p) {
  case P::eq:
    if (d.lo == 0 && d.hi == 0)
      return Tri::True;
    return d.lo > 0 || d.hi < 0 ? Tri::False : Tri::Unknown;
  case P::ne:
    return triNot(compare(P::eq, a, b));
  case P::slt:
    return d.hi < 0 ? Tri::True : d.lo >= 0 ? Tri::False : Tri::Unknown;
  case P::sle:
    return d.hi <= 0 ? Tri::True : d.lo > 0 ? Tri::False : Tri::Unknown;
  case P::sgt:
    return compare(P::slt, b, a);
  case P::sge:
    return compare(P::sle, b, a);
  default:
    return Tri::Unknown;
  }
}

/// An extraction from a captured integer tensor whose contents are known:
/// the range of the tensor over the box of index ranges (bounded in size, as
/// a kernel's per-tile summary would be).
Abs TileEvaluator::extract(tensor::ExtractOp op) {
  const TensorView *view = tensors.lookup(op.getTensor());
  if (!view || !op.getType().isIntOrIndex())
    return Abs::unknown();
  size_t rank = view->shape.size();
  SmallVector<int64_t> lo(rank), hi(rank);
  int64_t boxSize = 1;
  for (size_t d = 0; d < rank; ++d) {
    Abs index = values.lookup(op.getIndices()[d]);
    if (!index.known || view->shape[d] == 0)
      return Abs::unknown();
    // Out-of-range indices fail at run time; the classes only have to be
    // right for the elements that exist.
    lo[d] = std::clamp<int64_t>(index.lo, 0, view->shape[d] - 1);
    hi[d] = std::clamp<int64_t>(index.hi, 0, view->shape[d] - 1);
    if (lo[d] > hi[d])
      return Abs::unknown();
    boxSize *= hi[d] - lo[d] + 1;
    if (boxSize > (int64_t(1) << 16))
      return Abs::unknown();
  }
  SmallVector<int64_t> at(lo);
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (int64_t k = 0; k < boxSize; ++k) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset = offset * view->shape[d] + at[d];
    mn = std::min(mn, view->data[offset]);
    mx = std::max(mx, view->data[offset]);
    for (int d = static_cast<int>(rank) - 1; d >= 0; --d) {
      if (++at[d] <= hi[d])
        break;
      at[d] = lo[d];
    }
  }
  return interval(static_cast<int64_t>(mn), static_cast<int64_t>(mx));
}

/// The transfer function of one op.
Abs TileEvaluator::transfer(Operation &op) {
  auto in = [&](unsigned k) { return values.lookup(op.getOperand(k)); };
  bool isBool = op.getNumResults() == 1 &&
                op.getResult(0).getType().isInteger(1);
  return llvm::TypeSwitch<Operation *, Abs>(&op)
      .Case([&](arith::ConstantOp c) {
        if (auto i = dyn_cast<IntegerAttr>(c.getValue())) {
          if (isBool)
            return Abs::boolean(triOf(i.getValue().getBoolValue()));
          return constant(i.getValue().getSExtValue());
        }
        return Abs::unknown();
      })
      .Case([&](arith::AddIOp) { return add(in(0), in(1), 1); })
      .Case([&](arith::SubIOp) { return add(in(0), in(1), -1); })
      .Case([&](arith::MulIOp) { return mul(in(0), in(1)); })
      .Case<arith::FloorDivSIOp, arith::DivSIOp, arith::DivUIOp>([&](auto) {
        Abs d = in(1);
        bool floor = isa<arith::FloorDivSIOp>(op) || in(0).lo >= 0;
        if (isa<arith::DivUIOp>(op) && in(0).lo < 0)
          return Abs::unknown();
        return d.isConstant() ? divByConstant(in(0), d.lo, floor)
                              : Abs::unknown();
      })
      .Case([&](arith::CeilDivSIOp) {
        Abs a = in(0), d = in(1);
        if (!a.known || !d.isConstant() || d.lo <= 0)
          return Abs::unknown();
        return interval(-floorDiv(-a.lo, d.lo), -floorDiv(-a.hi, d.lo));
      })
      .Case<arith::RemSIOp, arith::RemUIOp>([&](auto) {
        Abs d = in(1);
        if (isa<arith::RemUIOp>(op) && in(0).lo < 0)
          return Abs::unknown();
        return d.isConstant() ? remByConstant(in(0), d.lo) : Abs::unknown();
      })
      .Case([&](math::AbsIOp) {
        Abs a = in(0);
        if (!a.known || a.lo >= 0)
          return a;
        if (a.hi <= 0)
          return add(constant(0), a, -1);
        return interval(0, std::max(-a.lo, a.hi));
      })
      .Case([&](arith::MaxSIOp) { return minMax(in(0), in(1), true); })
      .Case([&](arith::MinSIOp) { return minMax(in(0), in(1), false); })
      .Case<arith::MaxUIOp, arith::MinUIOp>([&](auto) {
        if (in(0).lo < 0 || in(1).lo < 0)
          return Abs::unknown();
        return minMax(in(0), in(1), isa<arith::MaxUIOp>(op));
      })
      .Case<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
            arith::ExtUIOp, arith::TruncIOp>([&](auto) {
        // i1 → integer extensions map true to 1 (ext u) or -1 (ext s).
        Abs a = in(0);
        if (op.getOperand(0).getType().isInteger(1)) {
          if (a.truth == Tri::Unknown)
            return interval(isa<arith::ExtSIOp>(op) ? -1 : 0,
                            isa<arith::ExtSIOp>(op) ? 0 : 1);
          int64_t one = isa<arith::ExtSIOp>(op) ? -1 : 1;
          return constant(a.truth == Tri::True ? one : 0);
        }
        if (isBool || !a.known)
          return Abs::unknown();
        // Otherwise a value keeps its form when the cast cannot change it
        // (tile_class.h's tc::cast is the same rule): a zero extension of a
        // possibly negative range (a captured i8, say) or a narrowing that
        // does not fit is unknown.
        auto bits = [](Type t) {
          return t.isIndex() ? 64 : static_cast<int>(t.getIntOrFloatBitWidth());
        };
        int from = bits(op.getOperand(0).getType()), to = bits(op.getResult(0).getType());
        if (isa<arith::ExtUIOp, arith::IndexCastUIOp>(op) && to > from &&
            a.lo < 0)
          return Abs::unknown();
        if (to < 64 && to < from) {
          int64_t limit = int64_t(1) << (to - 1);
          if (a.lo < -limit || a.hi >= limit)
            return Abs::unknown();
        }
        return a;
      })
      .Case([&](arith::CmpIOp c) -> Abs {
        if (op.getOperand(0).getType().isInteger(1)) {
          Tri a = in(0).truth, b = in(1).truth;
          if (a == Tri::Unknown || b == Tri::Unknown)
            return Abs::boolean(Tri::Unknown);
          if (c.getPredicate() == arith::CmpIPredicate::eq)
            return Abs::boolean(triOf(a == b));
          if (c.getPredicate() == arith::CmpIPredicate::ne)
            return Abs::boolean(triOf(a != b));
          return Abs::boolean(Tri::Unknown);
        }
        return Abs::boolean(compare(c.getPredicate(), in(0), in(1)));
      })
      .Case<arith::AndIOp, arith::OrIOp, arith::XOrIOp>([&](auto) -> Abs {
        if (!isBool) {
          Abs a = in(0), b = in(1);
          if (!a.isConstant() || !b.isConstant())
            return Abs::unknown();
          int64_t r = isa<arith::AndIOp>(op)  ? (a.lo & b.lo)
                      : isa<arith::OrIOp>(op) ? (a.lo | b.lo)
                                              : (a.lo ^ b.lo);
          return constant(r);
        }
        Tri a = in(0).truth, b = in(1).truth;
        if (isa<arith::AndIOp>(op))
          return Abs::boolean(triAnd(a, b));
        if (isa<arith::OrIOp>(op))
          return Abs::boolean(triOr(a, b));
        if (a == Tri::Unknown || b == Tri::Unknown)
          return Abs::boolean(Tri::Unknown);
        return Abs::boolean(triOf(a != b));
      })
      .Case([&](arith::SelectOp) -> Abs {
        Tri c = in(0).truth;
        Abs t = in(1), f = in(2);
        if (c == Tri::True)
          return t;
        if (c == Tri::False)
          return f;
        if (isBool) {
          // Unknown condition: the result is known only if both agree.
          if (t.truth == f.truth)
            return t;
          // select(c, x, false) = c && x; select(c, true, x) = c || x.
          if (f.truth == Tri::False)
            return Abs::boolean(triAnd(c, t.truth));
          if (t.truth == Tri::True)
            return Abs::boolean(triOr(c, f.truth));
          return Abs::boolean(Tri::Unknown);
        }
        if (!t.known || !f.known)
          return Abs::unknown();
        return interval(std::min(t.lo, f.lo), std::max(t.hi, f.hi));
      })
      .Case([&](tensor::ExtractOp e) {
        return isBool ? Abs::boolean(Tri::Unknown) : extract(e);
      })
      .Default([&](Operation *) {
        return isBool ? Abs::boolean(Tri::Unknown) : Abs::unknown();
      });
}

Tri TileEvaluator::run(Block &block) {
  // Block arguments: b, h, i, j, nq, nk, captures…
  int64_t fixed[] = {ctx.b, ctx.h, 0, 0, ctx.nq, ctx.nk};
  for (auto [idx, arg] : llvm::enumerate(block.getArguments())) {
    if (idx == 2)
      values[arg] = affine(0, 1, 0);
    else if (idx == 3)
      values[arg] = affine(0, 0, 1);
    else if (idx < 6)
      values[arg] = constant(fixed[idx]);
    else if (idx - 6 < ctx.captureScalars.size() &&
             ctx.captureScalars[idx - 6] && arg.getType().isIntOrIndex())
      values[arg] = constant(*ctx.captureScalars[idx - 6]);
    else
      values[arg] = Abs::unknown();
    if (idx >= 6 && idx - 6 < ctx.captureTensors.size() &&
        ctx.captureTensors[idx - 6])
      tensors[arg] = &*ctx.captureTensors[idx - 6];
  }
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      return values.lookup(op.getOperand(0)).truth;
    if (op.getNumResults() == 1)
      values[op.getResult(0)] = transfer(op);
  }
  return Tri::Unknown;
}

/// The ops TileEvaluator::transfer models; anything else is unknown.
static bool isModelled(Operation &op) {
  return isa<arith::ConstantOp, arith::AddIOp, arith::SubIOp, arith::MulIOp,
             arith::FloorDivSIOp, arith::DivSIOp, arith::DivUIOp,
             arith::CeilDivSIOp, arith::RemSIOp, arith::RemUIOp, math::AbsIOp,
             arith::MaxSIOp, arith::MinSIOp, arith::MaxUIOp, arith::MinUIOp,
             arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
             arith::ExtUIOp, arith::TruncIOp, arith::CmpIOp, arith::AndIOp,
             arith::OrIOp, arith::XOrIOp, arith::SelectOp>(op);
}

MaskAnalysis::MaskAnalysis(Region &mask) : region(&mask) {
  for (Operation &op : mask.front()) {
    if (isa<tensor::ExtractOp>(op)) {
      readsTensors = true;
      continue;
    }
    if (!isModelled(op) && !op.hasTrait<OpTrait::IsTerminator>() &&
        unmodelled.empty())
      unmodelled = op.getName().getStringRef().str();
  }
}

TileClass MaskAnalysis::classify(const MaskContext &context,
                                 const Tile &tile) const {
  TileEvaluator evaluator(context, tile);
  switch (evaluator.run(region->front())) {
  case Tri::True: return TileClass::Full;
  case Tri::False: return TileClass::Empty;
  case Tri::Unknown: return TileClass::Partial;
  }
  return TileClass::Partial;
}
