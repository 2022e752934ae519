//===- KeyRange.cpp - per-Q-tile key range of a mask ----------------------===//
//
// A symbolic walk of the mask: index values are affine forms c + ci·i + cj·j
// whose constant part c is IR (it may depend on nq, nk, b, h and captures,
// all fixed for a tile), or ranges over the tile's rows for j-free values
// the walk cannot keep affine (min, max, division by constants); booleans
// are the keys they may hold for, a union of at most kMaxKeyIntervals
// intervals. A comparison that is affine in j bounds j from the extreme row;
// "and" intersects pairwise, "or" unites (two bands -- a window and sink
// tokens -- stay two intervals, so the gap between them is never visited).
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/KeyRange.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <optional>

using namespace mlir;
using namespace attn;

namespace {

/// Whether two index values are the same value or equal constants.
bool sameValue(mlir::Value a, mlir::Value b) {
  if (a == b)
    return true;
  auto ca = a.getDefiningOp<arith::ConstantIndexOp>();
  auto cb = b.getDefiningOp<arith::ConstantIndexOp>();
  return ca && cb && ca.value() == cb.value();
}

/// An index value cj·j + rest, where rest is affine c + ci·i (exact) or a
/// range [lo, hi] over the tile's rows; or unknown.
struct Sym {
  enum Kind { Affine, Rows, Unknown } kind = Unknown;
  mlir::Value c;
  int64_t ci = 0, cj = 0;
  mlir::Value lo, hi;
  /// When > 1 the value is X / div of X = cj·j + rest (cj > 0): floored, or
  /// truncated towards zero when `truncates` (then it may exceed the floor by
  /// one for negative X). Only comparisons look inside such a value.
  int64_t div = 1;
  bool truncates = false;
};

class KeyRangeBuilder {
public:
  KeyRangeBuilder(OpBuilder &b, Location loc, mlir::Value i0,
                  mlir::Value iLast, mlir::Value nk)
      : b(b), loc(loc), i0(i0), iLast(iLast), nk(nk) {}

  KeySet run(func::FuncOp mask, ArrayRef<mlir::Value> args);

private:
  mlir::Value cst(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return arith::AddIOp::create(b, loc, x, y);
  }
  mlir::Value sub(mlir::Value x, mlir::Value y) {
    return arith::SubIOp::create(b, loc, x, y);
  }
  mlir::Value mul(mlir::Value x, int64_t k) {
    return k == 1 ? x : arith::MulIOp::create(b, loc, x, cst(k)).getResult();
  }
  mlir::Value min(mlir::Value x, mlir::Value y) {
    return arith::MinSIOp::create(b, loc, x, y);
  }
  mlir::Value max(mlir::Value x, mlir::Value y) {
    return arith::MaxSIOp::create(b, loc, x, y);
  }
  /// `c ? x : y`, or x when both are the same (a bound that does not depend
  /// on the condition stays recognisable: unite() merges on it).
  mlir::Value pick(mlir::Value c, mlir::Value x, mlir::Value y) {
    return sameValue(x, y) ? x : arith::SelectOp::create(b, loc, c, x, y);
  }
  KeyRange all() { return {cst(0), sub(nk, cst(1))}; }
  KeyRange none() { return {cst(0), cst(-1)}; }

  Sym affine(mlir::Value c, int64_t ci, int64_t cj) {
    Sym s;
    s.kind = Sym::Affine;
    s.c = c;
    s.ci = ci;
    s.cj = cj;
    return s;
  }
  /// The range over the tile's rows of a j-free value.
  /// The range over the tile's rows of the j-free part of a value.
  std::pair<mlir::Value, mlir::Value> rowRange(const Sym &s) {
    if (s.kind == Sym::Rows)
      return {s.lo, s.hi};
    mlir::Value a = add(s.c, mul(i0, s.ci)), z = add(s.c, mul(iLast, s.ci));
    return s.ci >= 0 ? std::make_pair(a, z) : std::make_pair(z, a);
  }
  Sym rows(mlir::Value lo, mlir::Value hi) {
    Sym s;
    s.kind = Sym::Rows;
    s.lo = lo;
    s.hi = hi;
    return s;
  }
  bool jFree(const Sym &s) { return s.kind != Sym::Unknown && s.cj == 0; }
  /// [lo, hi] where `valid` holds, else a range wider than any key index
  /// (the comparisons then bound nothing).
  Sym rowsIf(mlir::Value valid, mlir::Value lo, mlir::Value hi) {
    mlir::Value wide = cst(int64_t(1) << 40);
    return rows(arith::SelectOp::create(b, loc, valid, lo, sub(cst(0), wide)),
                arith::SelectOp::create(b, loc, valid, hi, wide));
  }
  mlir::Value atLeast(mlir::Value x, int64_t k) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, x, cst(k));
  }

  Sym addSym(const Sym &x, const Sym &y, int64_t sign);
  Sym transferInt(Operation &op);
  KeyRange compare(arith::CmpIPredicate p, const Sym &x, const Sym &y);
  /// `x pred y` over values: min/max and |.| on a side distribute over the
  /// comparison (max(a, b) <= y is a <= y and b <= y), and a difference with
  /// a key block index on one side moves it across (a - j/C <= y is
  /// j/C >= a - y), before compare() sees the two sides.
  /// With `shift`, `x + shift pred y`: a term the walk represents, added to
  /// or subtracted from a side it does not (a clamped window's start + K),
  /// moves into the shift and the rules see the rest.
  KeySet compareValues(arith::CmpIPredicate p, mlir::Value x, mlir::Value y,
                       int depth = 0, std::optional<Sym> shift = {});
  /// `a - b pred y`.
  KeyRange compareDifference(arith::CmpIPredicate p, mlir::Value a,
                             mlir::Value b, const Sym &y);
  /// The keys for which `op`'s result may hold, or with `negate` may fail:
  /// a negation is pushed down to the comparisons (De Morgan; the inverse
  /// predicate is exact), since the complement of an over-approximation is
  /// not one.
  KeySet transferBool(Operation &op, bool negate = false, int depth = 0);
  KeySet unite(const KeySet &x, const KeySet &y);
  KeySet intersect(const KeySet &x, const KeySet &y);
  /// At most kMaxKeyIntervals intervals: the last ones merged into their
  /// hull (a superset: sound).
  KeySet capped(KeySet set);

  OpBuilder &b;
  Location loc;
  mlir::Value i0, iLast, nk;
  llvm::DenseMap<mlir::Value, Sym> ints;
  llvm::DenseMap<mlir::Value, KeySet> bools;
  IRMapping constants; // Mask values computable once per tile.
};

} // namespace

Sym KeyRangeBuilder::addSym(const Sym &x, const Sym &y, int64_t sign) {
  if (x.kind == Sym::Unknown || y.kind == Sym::Unknown || x.div > 1 ||
      y.div > 1)
    return Sym();
  Sym r;
  if (x.kind == Sym::Affine && y.kind == Sym::Affine) {
    r = affine(sign > 0 ? add(x.c, y.c) : sub(x.c, y.c), x.ci + sign * y.ci,
               0);
  } else {
    auto [xl, xh] = rowRange(x);
    auto [yl, yh] = rowRange(y);
    r = sign > 0 ? rows(add(xl, yl), add(xh, yh))
                 : rows(sub(xl, yh), sub(xh, yl));
  }
  r.cj = x.cj + sign * y.cj;
  return r;
}

/// Integer (index) ops. Anything not modelled is unknown, which only widens
/// the ranges.
Sym KeyRangeBuilder::transferInt(Operation &op) {
  auto in = [&](unsigned k) { return ints.lookup(op.getOperand(k)); };
  auto constOf = [&](unsigned k) -> std::optional<int64_t> {
    Sym s = in(k);
    if (s.kind != Sym::Affine || s.ci || s.cj)
      return std::nullopt;
    if (auto c = s.c.getDefiningOp<arith::ConstantIndexOp>())
      return c.value();
    return std::nullopt;
  };
  // The divisor of a division or remainder when it is fixed for the tile
  // but not a constant.
  auto perTileDivisor = [&]() -> std::optional<mlir::Value> {
    Sym s = in(1);
    if (s.kind != Sym::Affine || s.ci || s.cj || s.div > 1 || constOf(1))
      return std::nullopt;
    return s.c;
  };
  // Ops of j- and i-free operands are computed as they are, once per tile.
  auto perTile = [&](mlir::Value v) {
    Sym s = ints.lookup(v);
    return (s.kind == Sym::Affine && !s.ci && !s.cj) || constants.contains(v);
  };
  bool computable =
      op.getNumResults() == 1 && op.getNumRegions() == 0 &&
      (isa<arith::ArithDialect>(op.getDialect()) ||
       isa<tensor::ExtractOp, math::AbsIOp>(op)) &&
      llvm::all_of(op.getOperands(), perTile);
  if (computable) {
    IRMapping mapping;
    for (mlir::Value v : op.getOperands())
      mapping.map(v, constants.contains(v) ? constants.lookup(v)
                                           : ints.lookup(v).c);
    mlir::Value raw = b.clone(op, mapping)->getResult(0);
    // Later clones read the value in its own type; the affine form in index.
    constants.map(op.getResult(0), raw);
    mlir::Value r = raw;
    if (!r.getType().isIndex())
      r = arith::IndexCastOp::create(b, loc, b.getIndexType(), r);
    return affine(r, 0, 0);
  }
  return llvm::TypeSwitch<Operation *, Sym>(&op)
      .Case([&](arith::AddIOp) { return addSym(in(0), in(1), 1); })
      .Case([&](arith::SubIOp) { return addSym(in(0), in(1), -1); })
      .Case([&](arith::MulIOp) -> Sym {
        Sym x = in(0), y = in(1);
        std::optional<int64_t> k = constOf(1);
        if (!k) {
          std::swap(x, y);
          k = constOf(0);
        }
        if (k && x.kind == Sym::Rows && x.div == 1) {
          // A range over the rows (a strided neighbourhood's group start,
          // (i / s) * s): scaled, its ends swap for a negative factor.
          mlir::Value lo = mul(x.lo, *k), hi = mul(x.hi, *k);
          Sym r = *k >= 0 ? rows(lo, hi) : rows(hi, lo);
          r.cj = x.cj * *k;
          return r;
        }
        if (!k || x.kind != Sym::Affine || x.div > 1)
          return Sym();
        Sym r = affine(mul(x.c, *k), x.ci * *k, 0);
        r.cj = x.cj * *k;
        return r;
      })
      .Case<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
            arith::ExtUIOp>([&](auto) {
        return op.getOperand(0).getType().isInteger(1) ? Sym() : in(0);
      })
      .Case<arith::MinSIOp, arith::MaxSIOp>([&](auto) -> Sym {
        Sym x = in(0), y = in(1);
        if (!jFree(x) || !jFree(y) || x.div > 1 || y.div > 1)
          return Sym();
        auto [xl, xh] = rowRange(x);
        auto [yl, yh] = rowRange(y);
        return isa<arith::MinSIOp>(op) ? rows(min(xl, yl), min(xh, yh))
                                       : rows(max(xl, yl), max(xh, yh));
      })
      .Case([&](arith::CeilDivSIOp) -> Sym {
        // Of a j-free value by a positive constant: monotone over the rows.
        std::optional<int64_t> k = constOf(1);
        Sym x = in(0);
        if (!k || *k <= 0 || !jFree(x) || x.div > 1)
          return Sym();
        auto [xl, xh] = rowRange(x);
        mlir::Value kv = cst(*k);
        return rows(arith::CeilDivSIOp::create(b, loc, xl, kv),
                    arith::CeilDivSIOp::create(b, loc, xh, kv));
      })
      .Case<arith::FloorDivSIOp, arith::DivSIOp, arith::DivUIOp>(
          [&](auto) -> Sym {
            std::optional<int64_t> k = constOf(1);
            Sym x = in(0);
            if (!k && perTileDivisor() && jFree(x) && x.div == 1) {
              // By a value fixed for the tile (a GQA-packed variant's
              // rows per head, nq' / G): monotone over the rows when it is
              // positive (and, unsigned, the dividend is not negative).
              mlir::Value d = *perTileDivisor();
              auto [xl, xh] = rowRange(x);
              mlir::Value valid = atLeast(d, 1);
              if (isa<arith::DivUIOp>(op))
                valid = arith::AndIOp::create(b, loc, valid, atLeast(xl, 0));
              mlir::Value safe = max(d, cst(1));
              mlir::Value lo = arith::FloorDivSIOp::create(b, loc, xl, safe);
              mlir::Value hi = arith::FloorDivSIOp::create(b, loc, xh, safe);
              if (!isa<arith::FloorDivSIOp>(op))
                hi = add(hi, cst(1));
              return rowsIf(valid, lo, hi);
            }
            if (!k || *k <= 0 || x.kind == Sym::Unknown || x.div > 1)
              return Sym();
            if (x.cj > 0) {
              // A key block index (j / C): kept symbolic for comparisons.
              Sym r = x;
              r.div = *k;
              // Truncation equals the floor when X = cj·j + c >= 0, which
              // holds when the rest is a non-negative constant.
              auto c = x.kind == Sym::Affine && x.ci == 0
                           ? x.c.getDefiningOp<arith::ConstantIndexOp>()
                           : arith::ConstantIndexOp();
              bool nonNegative = c && c.value() >= 0;
              r.truncates = !isa<arith::FloorDivSIOp>(op) && !nonNegative;
              return r;
            }
            if (!jFree(x))
              return Sym();
            auto [xl, xh] = rowRange(x);
            mlir::Value kv = cst(*k);
            // Truncating (signed) division by k > 0 is monotone too: its
            // range is exactly the bounds' quotients.
            if (isa<arith::DivSIOp>(op))
              return rows(arith::DivSIOp::create(b, loc, xl, kv),
                          arith::DivSIOp::create(b, loc, xh, kv));
            // Floor division by k > 0 is monotone; so is the unsigned form
            // of a dividend that is not negative (then it is the floor).
            // A negative one reads as a huge unsigned value: no range.
            mlir::Value lo = arith::FloorDivSIOp::create(b, loc, xl, kv);
            mlir::Value hi = arith::FloorDivSIOp::create(b, loc, xh, kv);
            if (isa<arith::DivUIOp>(op))
              return rowsIf(atLeast(xl, 0), lo, hi);
            return rows(lo, hi);
          })
      .Case<arith::RemUIOp, arith::RemSIOp>([&](auto) -> Sym {
        // Of a j-free value by a constant or a value fixed for the tile (a
        // dilated neighbourhood's residue class; a GQA-packed variant's row
        // within its head): one stretch of the rows when the tile's rows
        // share a quotient, else anything from 0 to d - 1.
        Sym x = in(0);
        std::optional<mlir::Value> d = perTileDivisor();
        if (!d) {
          std::optional<int64_t> k = constOf(1);
          if (k && *k > 0)
            d = cst(*k);
        }
        if (!d || !jFree(x) || x.div > 1)
          return Sym();
        auto [xl, xh] = rowRange(x);
        mlir::Value valid = arith::AndIOp::create(b, loc, atLeast(*d, 1),
                                                  atLeast(xl, 0));
        mlir::Value safe = max(*d, cst(1));
        mlir::Value q0 = arith::FloorDivSIOp::create(b, loc, xl, safe);
        mlir::Value q1 = arith::FloorDivSIOp::create(b, loc, xh, safe);
        mlir::Value same = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::eq, q0, q1);
        mlir::Value base = arith::MulIOp::create(b, loc, q0, safe);
        mlir::Value lo = arith::SelectOp::create(b, loc, same, sub(xl, base),
                                                 cst(0));
        mlir::Value hi = arith::SelectOp::create(b, loc, same, sub(xh, base),
                                                 sub(safe, cst(1)));
        return rowsIf(valid, lo, hi);
      })
      .Default([&](Operation *) { return Sym(); });
}

/// The predicate of `y pred' x` equivalent to `x pred y`.
static arith::CmpIPredicate swapped(arith::CmpIPredicate p) {
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::slt: return P::sgt;
  case P::sle: return P::sge;
  case P::sgt: return P::slt;
  case P::sge: return P::sle;
  case P::ult: return P::ugt;
  case P::ule: return P::uge;
  case P::ugt: return P::ult;
  case P::uge: return P::ule;
  default: return p;
  }
}

/// The keys for which `x pred y` may hold, over the tile's rows.
KeyRange KeyRangeBuilder::compare(arith::CmpIPredicate p, const Sym &x,
                                  const Sym &y) {
  using P = arith::CmpIPredicate;
  bool isUnsigned = p == P::ult || p == P::ule || p == P::ugt || p == P::uge;
  if (y.div > 1 && x.div == 1 && p != P::eq && p != P::ne)
    return compare(swapped(p), y, x);
  if (x.div > 1 || y.div > 1) {
    // x = X / C against a j-free y: floor(X/C) <= y  <=>  X <= C·y + C - 1,
    // floor(X/C) >= y  <=>  X >= C·y. A truncated quotient may be one more
    // than the floor, which only loosens the lower side.
    if (x.div == 1 || y.div > 1 || !jFree(y) || isUnsigned)
      return p == P::eq ? KeyRange{max(compare(P::sle, x, y).lo,
                                       compare(P::sge, x, y).lo),
                                   min(compare(P::sle, x, y).hi,
                                       compare(P::sge, x, y).hi)}
                        : all();
    Sym X = x;
    X.div = 1;
    X.truncates = false;
    int64_t C = x.div;
    auto yRange = rowRange(y);
    mlir::Value yl = yRange.first, yh = yRange.second;
    auto scaled = [&](int64_t extra) {
      return rows(add(mul(yl, C), cst(extra)), add(mul(yh, C), cst(extra)));
    };
    switch (p) {
    case P::sle: return compare(P::sle, X, scaled(C - 1));
    case P::slt: return compare(P::sle, X, scaled(-1));
    case P::sge: return compare(P::sge, X, scaled(x.truncates ? -C : 0));
    case P::sgt:
      return compare(P::sge, X, scaled(x.truncates ? 0 : C));
    case P::eq: {
      KeyRange a = compare(P::sle, x, y), c = compare(P::sge, x, y);
      return {max(a.lo, c.lo), min(a.hi, c.hi)};
    }
    default: return all();
    }
  }
  // Normalise to d = x - y with d <= 0 (sle) or d <= -1 (slt).
  Sym d;
  int64_t slack;
  switch (p) {
  case P::sle: case P::ule: d = addSym(x, y, -1); slack = 0; break;
  case P::slt: case P::ult: d = addSym(x, y, -1); slack = -1; break;
  case P::sge: case P::uge: d = addSym(y, x, -1); slack = 0; break;
  case P::sgt: case P::ugt: d = addSym(y, x, -1); slack = -1; break;
  case P::eq: {
    KeyRange a = compare(P::sle, x, y), c = compare(P::sge, x, y);
    return {max(a.lo, c.lo), min(a.hi, c.hi)};
  }
  default:
    return all();
  }
  if (d.kind == Sym::Unknown)
    return all();
  KeyRange r;
  if (jFree(d)) {
    // No key dependence: all keys if some row may satisfy it, else none.
    auto [dl, dh] = rowRange(d);
    auto some = arith::CmpIOp::create(b, loc, P::sle, dl, cst(slack));
    KeyRange a = all(), n = none();
    r = {pick(some, a.lo, n.lo), pick(some, a.hi, n.hi)};
  } else {
    // cj·j + rest <= slack, rest over the rows in [restLo, restHi].
    Sym rest = d;
    rest.cj = 0;
    auto [restLo, restHi] = rowRange(rest);
    mlir::Value bound = sub(cst(slack), restLo); // cj·j <= bound (some row)
    mlir::Value a = cst(std::abs(d.cj));
    if (d.cj > 0)
      r = {cst(0), arith::FloorDivSIOp::create(b, loc, bound, a)};
    else // -|cj|·j <= bound  <=>  j >= ceil(-bound / |cj|)
      r = {arith::CeilDivSIOp::create(b, loc, sub(cst(0), bound), a),
           sub(nk, cst(1))};
    (void)restHi;
  }
  if (!isUnsigned)
    return r;
  // Unsigned order is the signed one when neither side can be negative;
  // otherwise give up (at run time) on this comparison.
  auto nonNegative = [&](const Sym &s) -> mlir::Value {
    if (s.kind == Sym::Unknown)
      return arith::ConstantIntOp::create(b, loc, 0, 1);
    mlir::Value lo;
    if (jFree(s)) {
      lo = rowRange(s).first;
    } else {
      Sym rest = s;
      rest.cj = 0;
      lo = add(rowRange(rest).first,
               s.cj >= 0 ? cst(0) : mul(sub(nk, cst(1)), s.cj));
    }
    return arith::CmpIOp::create(b, loc, P::sge, lo, cst(0));
  };
  auto ok = arith::AndIOp::create(b, loc, nonNegative(x), nonNegative(y));
  KeyRange a = all();
  return {pick(ok, r.lo, a.lo), pick(ok, r.hi, a.hi)};
}

KeyRange KeyRangeBuilder::compareDifference(arith::CmpIPredicate p,
                                            mlir::Value a, mlir::Value b,
                                            const Sym &sy) {
  Sym sa = ints.lookup(a), sb = ints.lookup(b);
  // The side with the key block index alone against the rest.
  if (sb.div > 1 && jFree(sa) && jFree(sy)) // b swapped(p) a - y
    return compare(swapped(p), sb, addSym(sa, sy, -1));
  if (sa.div > 1 && jFree(sb) && jFree(sy)) // a p y + b
    return compare(p, sa, addSym(sy, sb, 1));
  return compare(p, addSym(sa, sb, -1), sy);
}

KeySet KeyRangeBuilder::compareValues(arith::CmpIPredicate p, mlir::Value x,
                                      mlir::Value y, int depth,
                                      std::optional<Sym> shift) {
  using P = arith::CmpIPredicate;
  auto single = [](KeyRange r) { return KeySet{{r}}; };
  auto known = [&](mlir::Value v) {
    Sym s = ints.lookup(v);
    return s.kind != Sym::Unknown && s.div == 1;
  };
  // y - shift: the shift moved to the other side.
  auto lessShift = [&](const Sym &s) {
    return shift ? addSym(s, *shift, -1) : s;
  };
  auto plus = [&](mlir::Value v, int64_t sign) {
    Sym term = ints.lookup(v);
    if (sign < 0)
      term = addSym(affine(cst(0), 0, 0), term, -1);
    return shift ? addSym(*shift, term, 1) : term;
  };
  // Sides the symbolic walk represents are compared as they are, the shift
  // on y's side (x + s p y is x p y - s: a key block index x stays whole).
  if (ints.lookup(x).kind != Sym::Unknown &&
      ints.lookup(y).kind != Sym::Unknown)
    return single(compare(p, ints.lookup(x), lessShift(ints.lookup(y))));
  bool upper = p == P::sle || p == P::slt; // x bounded from above
  bool lower = p == P::sge || p == P::sgt;
  if (depth < 8 && (upper || lower) && ints.lookup(x).kind == Sym::Unknown) {
    Operation *def = x.getDefiningOp();
    if (auto m = dyn_cast_or_null<arith::MaxSIOp>(def)) {
      KeySet a = compareValues(p, m.getLhs(), y, depth + 1, shift),
             c = compareValues(p, m.getRhs(), y, depth + 1, shift);
      return upper ? intersect(a, c) : unite(a, c);
    }
    if (auto m = dyn_cast_or_null<arith::MinSIOp>(def)) {
      KeySet a = compareValues(p, m.getLhs(), y, depth + 1, shift),
             c = compareValues(p, m.getRhs(), y, depth + 1, shift);
      return upper ? unite(a, c) : intersect(a, c);
    }
    // u + k, k + u, u - k with k represented: (u pred y) shifted by ±k.
    if (auto add = dyn_cast_or_null<arith::AddIOp>(def)) {
      if (known(add.getRhs()))
        return compareValues(p, add.getLhs(), y, depth + 1,
                             plus(add.getRhs(), 1));
      if (known(add.getLhs()))
        return compareValues(p, add.getRhs(), y, depth + 1,
                             plus(add.getLhs(), 1));
    }
    auto diff = dyn_cast_or_null<arith::SubIOp>(def);
    if (diff && known(diff.getRhs()) && !known(diff.getLhs()))
      return compareValues(p, diff.getLhs(), y, depth + 1,
                           plus(diff.getRhs(), -1));
    // |a - b| = max(a - b, b - a).
    Sym sy = lessShift(ints.lookup(y));
    auto abs = dyn_cast_or_null<math::AbsIOp>(def);
    auto absDiff = abs ? abs.getOperand().getDefiningOp<arith::SubIOp>()
                       : arith::SubIOp();
    if (absDiff) {
      KeySet a = single(compareDifference(p, absDiff.getLhs(),
                                          absDiff.getRhs(), sy)),
             c = single(compareDifference(p, absDiff.getRhs(),
                                          absDiff.getLhs(), sy));
      return upper ? intersect(a, c) : unite(a, c);
    }
    if (diff)
      return single(compareDifference(p, diff.getLhs(), diff.getRhs(), sy));
  }
  // y on the left: the same rules from its side (x + s p y is
  // y - s swapped(p) x).
  if (depth < 8 && (upper || lower) && ints.lookup(y).kind == Sym::Unknown) {
    std::optional<Sym> back;
    if (shift)
      back = addSym(affine(cst(0), 0, 0), *shift, -1);
    return compareValues(swapped(p), y, x, depth + 1, back);
  }
  return single(compare(p, ints.lookup(x), lessShift(ints.lookup(y))));
}

KeySet KeyRangeBuilder::capped(KeySet set) {
  while (set.parts.size() > kMaxKeyIntervals) {
    KeyRange last = set.parts.pop_back_val();
    KeyRange &prev = set.parts.back();
    prev = {min(prev.lo, last.lo), max(prev.hi, last.hi)};
  }
  return set;
}

KeySet KeyRangeBuilder::unite(const KeySet &x, const KeySet &y) {
  KeySet r = x;
  for (const KeyRange &c : y.parts) {
    // Two ranges with a common end are one range (prefix-LM: [0, i] and
    // [0, p - 1]): merged, the loop stays a plain range.
    auto same = llvm::find_if(r.parts, [&](const KeyRange &a) {
      return sameValue(a.lo, c.lo) || sameValue(a.hi, c.hi);
    });
    if (same == r.parts.end()) {
      r.parts.push_back(c);
      continue;
    }
    *same = {min(same->lo, c.lo), max(same->hi, c.hi)};
  }
  return capped(std::move(r));
}

KeySet KeyRangeBuilder::intersect(const KeySet &x, const KeySet &y) {
  KeySet r;
  for (const KeyRange &a : x.parts)
    for (const KeyRange &c : y.parts)
      r.parts.push_back({max(a.lo, c.lo), min(a.hi, c.hi)});
  return capped(std::move(r));
}

/// Whether `v` is the i1 constant true.
static bool isTrue(mlir::Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  auto attr = c ? dyn_cast<IntegerAttr>(c.getValue()) : IntegerAttr();
  return attr && attr.getType().isInteger(1) && attr.getValue().isOne();
}

KeySet KeyRangeBuilder::transferBool(Operation &op, bool negate, int depth) {
  auto single = [](KeyRange r) { return KeySet{{r}}; };
  // Operand k's keys in the same polarity: memoised when positive; a
  // negation is pushed down through the operand's definition.
  auto operand = [&](unsigned k, bool flip = false) -> KeySet {
    mlir::Value v = op.getOperand(k);
    if (negate == flip) {
      auto it = bools.find(v);
      return it == bools.end() ? single(all()) : it->second;
    }
    Operation *def = v.getDefiningOp();
    // A deep chain of negations is rare; its keys are simply all.
    if (!def || depth > 8)
      return single(all());
    return transferBool(*def, /*negate=*/true, depth + 1);
  };
  return llvm::TypeSwitch<Operation *, KeySet>(&op)
      .Case([&](arith::ConstantOp c) {
        auto v = dyn_cast<IntegerAttr>(c.getValue());
        if (!v)
          return single(all());
        return single(v.getValue().isZero() != negate ? none() : all());
      })
      .Case([&](arith::CmpIOp c) {
        if (c.getLhs().getType().isInteger(1))
          return single(all());
        arith::CmpIPredicate p = c.getPredicate();
        return compareValues(negate ? arith::invertPredicate(p) : p,
                             c.getLhs(), c.getRhs());
      })
      .Case([&](arith::AndIOp) {
        return negate ? unite(operand(0), operand(1))
                      : intersect(operand(0), operand(1));
      })
      .Case([&](arith::OrIOp) {
        return negate ? intersect(operand(0), operand(1))
                      : unite(operand(0), operand(1));
      })
      .Case([&](arith::XOrIOp x) {
        // Negation (xor with true): the other operand, polarity flipped.
        if (isTrue(x.getRhs()))
          return operand(0, /*flip=*/true);
        if (isTrue(x.getLhs()))
          return operand(1, /*flip=*/true);
        return single(all());
      })
      .Case([&](arith::SelectOp) {
        // Either branch, in the same polarity (!select(c, a, b) is
        // select(c, !a, !b)).
        return unite(operand(1), operand(2));
      })
      .Default([&](Operation *) { return single(all()); });
}

KeySet KeyRangeBuilder::run(func::FuncOp mask, ArrayRef<mlir::Value> args) {
  Block &body = mask.getBody().front();
  // Arguments: b, h, i, j, nq, nk, captures…
  for (auto [k, arg] : llvm::enumerate(body.getArguments())) {
    if (k == 2)
      ints[arg] = affine(cst(0), 1, 0);
    else if (k == 3)
      ints[arg] = affine(cst(0), 0, 1);
    else if (arg.getType().isIndex())
      ints[arg] = affine(args[k], 0, 0);
    else if (isa<IntegerType>(arg.getType())) {
      ints[arg] = affine(arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                    args[k]),
                         0, 0);
      constants.map(arg, args[k]);
    }
    else
      constants.map(arg, args[k]); // Tensors, floats: usable as they are.
  }
  for (Operation &op : body) {
    if (isa<func::ReturnOp>(op)) {
      auto it = bools.find(op.getOperand(0));
      return it == bools.end() ? KeySet{{all()}} : it->second;
    }
    if (op.getNumResults() != 1)
      continue;
    mlir::Value r = op.getResult(0);
    if (r.getType().isInteger(1))
      bools[r] = transferBool(op);
    else if (r.getType().isIntOrIndex())
      ints[r] = transferInt(op);
  }
  return KeySet{{all()}};
}

KeySet attn::emitKeySet(OpBuilder &b, Location loc, func::FuncOp mask,
                        mlir::Value batch, mlir::Value head, mlir::Value i0,
                        mlir::Value iLast, mlir::Value nq, mlir::Value nk,
                        ValueRange captures) {
  SmallVector<mlir::Value> args{batch, head, i0, i0, nq, nk};
  args.append(captures.begin(), captures.end());
  return KeyRangeBuilder(b, loc, i0, iLast, nk).run(mask, args);
}

KeySet attn::emitQuerySet(OpBuilder &b, Location loc, func::FuncOp mask,
                          mlir::Value batch, mlir::Value head, mlir::Value j0,
                          mlir::Value jLast, mlir::Value nq, mlir::Value nk,
                          ValueRange captures) {
  // The mask with the roles of rows and keys exchanged, (b, h, j, i, nk, nq,
  // captures…): the keys of its row tile [j0, jLast] are the rows of the
  // key tile. A detached function, analysed and dropped.
  OpBuilder tb(mask.getContext());
  FunctionType type = mask.getFunctionType();
  SmallVector<Type> inputs(type.getInputs());
  const unsigned exchange[] = {0, 1, 3, 2, 5, 4};
  for (unsigned a = 0; a < 6; ++a)
    inputs[exchange[a]] = type.getInput(a);
  auto transposed = func::FuncOp::create(
      tb, mask.getLoc(), (mask.getName() + "_transposed").str(),
      tb.getFunctionType(inputs, type.getResults()));
  Block *entry = transposed.addEntryBlock();
  Block &body = mask.getBody().front();
  IRMapping mapping;
  for (BlockArgument arg : body.getArguments()) {
    unsigned a = arg.getArgNumber();
    mapping.map(arg, entry->getArgument(a < 6 ? exchange[a] : a));
  }
  tb.setInsertionPointToEnd(entry);
  for (Operation &op : body)
    tb.clone(op, mapping);
  KeySet set = emitKeySet(b, loc, transposed, batch, head, j0, jLast, nk, nq,
                          captures);
  transposed.erase();
  return set;
}

KeyRange attn::emitKeyRange(OpBuilder &b, Location loc, func::FuncOp mask,
                            mlir::Value batch, mlir::Value head,
                            mlir::Value i0, mlir::Value iLast, mlir::Value nq,
                            mlir::Value nk, ValueRange captures) {
  KeySet set =
      emitKeySet(b, loc, mask, batch, head, i0, iLast, nq, nk, captures);
  KeyRange hull = set.parts.front();
  for (const KeyRange &r : ArrayRef<KeyRange>(set.parts).drop_front())
    hull = {arith::MinSIOp::create(b, loc, hull.lo, r.lo),
            arith::MaxSIOp::create(b, loc, hull.hi, r.hi)};
  return hull;
}

mlir::Value attn::kvOffsetOf(scf::ForOp loop) {
  for (Operation &op : *loop.getBody())
    if (isKvOffset(&op))
      return op.getResult(0);
  return loop.getInductionVar();
}

mlir::Value attn::kvOffsetAt(OpBuilder &b, scf::ForOp loop, mlir::Value t) {
  mlir::Value offset = kvOffsetOf(loop);
  mlir::Value iv = loop.getInductionVar();
  if (offset == iv)
    return t;
  // The ops of the body between the counter and the offset (pure index
  // arithmetic of the counter and values from outside the loop).
  Block *body = loop.getBody();
  llvm::SetVector<Operation *> slice;
  SmallVector<mlir::Value> work{offset};
  while (!work.empty()) {
    mlir::Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != body || slice.contains(def))
      continue;
    slice.insert(def);
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  IRMapping mapping;
  mapping.map(iv, t);
  for (Operation &op : *body)
    if (slice.contains(&op)) {
      Operation *copy = b.clone(op, mapping);
      clearKvOffset(copy);
    }
  return mapping.lookup(offset);
}
