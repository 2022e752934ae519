//===- MaskedIdentity.cpp - what a masked element adds to a reduction ----===//
//
// See attn/Passes/MaskedIdentity.h. The domain is a set of IEEE classes per
// float value (NaN, -inf, negative, zero, positive, +inf: ordered, so that
// comparisons and maxima work on classes) and a set of truth values per i1.
// Transfer functions are the IEEE rules on classes (0 × inf = NaN, inf −
// inf = NaN, x / 0 = ±inf, exp(−inf) = 0, overflow and underflow included);
// an op without one is unknown (every class, NaN too), which only ever
// fails a proof. The free values are enumerated case by case, so that a
// guard and the expression it guards see the same class of the row maximum
// (softmax's select(m = −inf, 0, exp(s − m)) is 0 at a masked s whether m is
// finite or −inf).
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/MaskedIdentity.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace attn;

namespace {

/// IEEE classes in their order (NaN first, unordered).
enum Cls : unsigned { NaN, NInf, NFin, Zero, PFin, PInf, kNumCls };
/// A set of classes (floats; integers by sign, in the finite classes'
/// bits) or of truth values (i1: bit 0 false, bit 1 true); kTop for an
/// integer of unknown sign.
using Set = unsigned;
constexpr Set bit(unsigned c) { return 1u << c; }
constexpr Set kAllFloat = (1u << kNumCls) - 1;
constexpr Set kFalse = 1, kTrue = 2, kBool = 3;
constexpr Set kTop = ~0u;
constexpr Set kFinite = bit(NFin) | bit(Zero) | bit(PFin);

Set classOf(double x) {
  if (std::isnan(x))
    return bit(NaN);
  if (std::isinf(x))
    return bit(x < 0 ? NInf : PInf);
  if (x == 0)
    return bit(Zero);
  return bit(x < 0 ? NFin : PFin);
}

int signOf(unsigned c) { return c < Zero ? -1 : c > Zero ? 1 : 0; }
bool isInf(unsigned c) { return c == NInf || c == PInf; }
unsigned infOf(int sign) { return sign < 0 ? NInf : PInf; }
unsigned finOf(int sign) { return sign < 0 ? NFin : PFin; }

/// Lifts a transfer on single classes to sets.
template <typename F> Set lift1(Set a, F f) {
  Set r = 0;
  for (unsigned x = 0; x < kNumCls; ++x)
    if (a & bit(x))
      r |= f(x);
  return r;
}
template <typename F> Set lift2(Set a, Set b, F f) {
  Set r = 0;
  for (unsigned x = 0; x < kNumCls; ++x)
    for (unsigned y = 0; y < kNumCls; ++y)
      if ((a & bit(x)) && (b & bit(y)))
        r |= f(x, y);
  return r;
}

unsigned negCls(unsigned x) {
  switch (x) {
  case NInf: return PInf;
  case NFin: return PFin;
  case PFin: return NFin;
  case PInf: return NInf;
  default: return x;
  }
}

Set add(unsigned x, unsigned y) {
  if (x == NaN || y == NaN || (isInf(x) && isInf(y) && x != y))
    return bit(NaN);
  if (isInf(x))
    return bit(x);
  if (isInf(y))
    return bit(y);
  if (x == Zero)
    return bit(y);
  if (y == Zero)
    return bit(x);
  if (x == y) // same sign: may overflow
    return bit(x) | bit(infOf(signOf(x)));
  return bit(NFin) | bit(Zero) | bit(PFin);
}

Set mul(unsigned x, unsigned y) {
  if (x == NaN || y == NaN || (x == Zero && isInf(y)) ||
      (y == Zero && isInf(x)))
    return bit(NaN);
  if (x == Zero || y == Zero)
    return bit(Zero);
  int s = signOf(x) * signOf(y);
  if (isInf(x) || isInf(y))
    return bit(infOf(s));
  return bit(finOf(s)) | bit(Zero) | bit(infOf(s));
}

Set div(unsigned x, unsigned y) {
  if (x == NaN || y == NaN || (x == Zero && y == Zero) ||
      (isInf(x) && isInf(y)))
    return bit(NaN);
  if (y == Zero) // the sign of a zero is not tracked
    return bit(NInf) | bit(PInf);
  if (x == Zero || isInf(y))
    return bit(Zero);
  int s = signOf(x) * signOf(y);
  if (isInf(x))
    return bit(infOf(s));
  return bit(finOf(s)) | bit(Zero) | bit(infOf(s));
}

/// The relations (bit 0 less, 1 equal, 2 greater) two ordered classes may
/// have.
unsigned relations(unsigned x, unsigned y) {
  if (x != y)
    return x < y ? 1 : 4;
  return x == NFin || x == PFin ? 7 : 2;
}

Set compare(arith::CmpFPredicate p, Set a, Set b) {
  using P = arith::CmpFPredicate;
  return lift2(a, b, [&](unsigned x, unsigned y) -> Set {
    bool unordered = x == NaN || y == NaN;
    auto holds = [&](unsigned rel) {
      switch (p) {
      case P::AlwaysFalse: return false;
      case P::AlwaysTrue: return true;
      case P::ORD: return !unordered;
      case P::UNO: return unordered;
      default: break;
      }
      bool u = p == P::UEQ || p == P::UGT || p == P::UGE || p == P::ULT ||
               p == P::ULE || p == P::UNE;
      if (unordered)
        return u;
      switch (p) {
      case P::OEQ: case P::UEQ: return rel == 2u;
      case P::ONE: case P::UNE: return rel != 2u;
      case P::OLT: case P::ULT: return rel == 1u;
      case P::OLE: case P::ULE: return rel != 4u;
      case P::OGT: case P::UGT: return rel == 4u;
      case P::OGE: case P::UGE: return rel != 1u;
      default: return true;
      }
    };
    if (unordered)
      return holds(0) ? kTrue : kFalse;
    Set r = 0;
    for (unsigned rel : {1u, 2u, 4u})
      if (relations(x, y) & rel)
        r |= holds(rel) ? kTrue : kFalse;
    return r;
  });
}

/// One unary math function on classes.
Set unary(Operation *op, Set a) {
  auto table = [&](std::initializer_list<Set> byClass) {
    SmallVector<Set, kNumCls> t(byClass);
    return lift1(a, [&](unsigned x) { return t[x]; });
  };
  const Set nan = bit(NaN), z = bit(Zero), pf = bit(PFin), nf = bit(NFin),
            pi = bit(PInf), ni = bit(NInf);
  return llvm::TypeSwitch<Operation *, Set>(op)
      // By class:          NaN  -inf      neg           zero  pos      +inf
      .Case<math::ExpOp, math::Exp2Op>(
          [&](auto) { return table({nan, z, z | pf, pf, pf | pi, pi}); })
      .Case([&](math::ExpM1Op) {
        return table({nan, nf, nf | z, z, pf | pi, pi});
      })
      .Case<math::LogOp, math::Log2Op, math::Log10Op>([&](auto) {
        return table({nan, nan, nan, ni, nf | z | pf, pi});
      })
      .Case([&](math::Log1pOp) {
        return table({nan, nan, nan | ni | nf | z, z, pf, pi});
      })
      .Case([&](math::TanhOp) { return table({nan, nf, nf, z, pf, pf}); })
      .Case([&](math::SqrtOp) { return table({nan, nan, nan, z, pf, pi}); })
      .Case([&](math::RsqrtOp) {
        return table({nan, nan, nan, ni | pi, pf, z});
      })
      .Case([&](math::AbsFOp) { return table({nan, pi, pf, z, pf, pi}); })
      .Case([&](arith::NegFOp) { return lift1(a, [](unsigned x) {
              return bit(negCls(x)); }); })
      .Case([&](arith::ExtFOp) { return a; })
      .Case([&](arith::TruncFOp) {
        return table({nan, ni, ni | nf | z, z, z | pf | pi, pi});
      })
      .Default([&](Operation *) { return kAllFloat; });
}

/// The abstract evaluation of one reduction's element-wise operands.
class Evaluator {
public:
  Evaluator(llvm::function_ref<bool(StringRef)> isMask,
            llvm::function_ref<bool(Value)> perElement,
            llvm::function_ref<bool(Value)> isPositive)
      : isMask(isMask), perElement(perElement), isPositive(isPositive) {}

  /// Collects the free values `v` reads (at a masked element): float
  /// tensors and scalars, enumerated by class; any other value is unknown
  /// (every class and truth value: eval's default).
  void collectFree(Value v) {
    if (!visited.insert(v).second)
      return;
    if (!perElement(v)) {
      addFree(v);
      return;
    }
    Operation *def = v.getDefiningOp();
    if (auto map = dyn_cast_or_null<MapOp>(def)) {
      for (Value in : map.getInputs())
        collectFree(in);
      for (Value cap : map.getCaptures())
        if (isa<FloatType>(cap.getType()))
          addFree(cap);
      return;
    }
    if (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                        tensor::CastOp>(def)) {
      collectFree(def->getOperand(0));
      return;
    }
    addFree(v); // a contraction over a head dimension, an argument
  }

  void addFree(Value v) {
    if (isa<FloatType>(getElementTypeOrSelf(v.getType())))
      free.insert(v);
  }

  /// The classes of `v` at a masked element, under `freeClass`.
  Set eval(Value v) {
    if (auto it = memo.find(v); it != memo.end())
      return it->second;
    Set r = kAllFloat;
    if (auto f = freeClass.find(v); f != freeClass.end()) {
      r = f->second;
    } else if (auto map = v.getDefiningOp<MapOp>()) {
      r = evalMap(map);
    } else if (Operation *def = v.getDefiningOp();
               isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                               tensor::CastOp>(def)) {
      r = eval(def->getOperand(0));
    }
    memo[v] = r;
    return r;
  }

  llvm::SetVector<Value> free;
  llvm::DenseMap<Value, Set> freeClass;
  llvm::DenseMap<Value, Set> memo;

private:
  Set evalMap(MapOp map) {
    Block &body = map.getBody().front();
    llvm::DenseMap<Value, Set> local;
    unsigned a = map.getEquation().getValue().output.size();
    for (unsigned k = 0; k < a; ++k)
      local[body.getArgument(k)] = kTop;
    for (Value in : map.getInputs())
      local[body.getArgument(a++)] = eval(in);
    for (Value cap : map.getCaptures()) {
      Set s = kTop;
      if (auto f = freeClass.find(cap); f != freeClass.end())
        s = f->second;
      else if (cap.getType().isIndex() && isPositive(cap))
        s = bit(PFin);
      local[body.getArgument(a++)] = s;
    }
    auto of = [&](Value x) {
      auto it = local.find(x);
      return it == local.end() ? kTop : it->second;
    };
    for (Operation &op : body.without_terminator()) {
      if (op.getNumResults() != 1)
        continue;
      SmallVector<Set> in;
      for (Value x : op.getOperands())
        in.push_back(of(x));
      local[op.getResult(0)] = transfer(&op, in);
    }
    Operation *yield = body.getTerminator();
    return yield->getNumOperands() ? of(yield->getOperand(0)) : kAllFloat;
  }

  Set transfer(Operation *op, ArrayRef<Set> in) {
    Type type = op->getResult(0).getType();
    bool isBool = type.isInteger(1);
    bool isFloat = isa<FloatType>(type);
    Set unknown = isBool ? kBool : isFloat ? kAllFloat : kTop;
    if (auto c = dyn_cast<arith::ConstantOp>(op)) {
      if (auto f = dyn_cast<FloatAttr>(c.getValue()))
        return classOf(f.getValueAsDouble());
      if (auto i = dyn_cast<IntegerAttr>(c.getValue()); i && isBool)
        return i.getValue().isZero() ? kFalse : kTrue;
      return unknown;
    }
    if (auto select = dyn_cast<arith::SelectOp>(op)) {
      FlatSymbolRefAttr fn = getMaskFunction(op);
      if (fn && isMask(fn.getValue()))
        return in[2]; // the mask removes this element
      Set c = in[0] == kTop ? kBool : in[0];
      Set r = 0;
      if (c & kTrue)
        r |= in[1];
      if (c & kFalse)
        r |= in[2];
      return r;
    }
    // Every float operand must be a float set (not kTop) for the rules.
    auto floatIn = [&](unsigned k) {
      return in[k] == kTop ? kAllFloat : in[k] & kAllFloat;
    };
    if (isFloat) {
      if (isa<arith::AddFOp>(op))
        return lift2(floatIn(0), floatIn(1), add);
      if (isa<arith::SubFOp>(op))
        return lift2(floatIn(0), floatIn(1), [](unsigned x, unsigned y) {
          return add(x, negCls(y));
        });
      if (isa<arith::MulFOp>(op))
        return lift2(floatIn(0), floatIn(1), mul);
      if (isa<arith::DivFOp>(op))
        return lift2(floatIn(0), floatIn(1), div);
      if (isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
              arith::MinNumFOp>(op)) {
        bool isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(op);
        bool propagates = isa<arith::MaximumFOp, arith::MinimumFOp>(op);
        return lift2(floatIn(0), floatIn(1), [&](unsigned x, unsigned y) {
          if (x == NaN || y == NaN) {
            if (propagates || (x == NaN && y == NaN))
              return bit(NaN);
            return bit(x == NaN ? y : x);
          }
          if (x == y)
            return bit(x);
          return bit(isMax ? std::max(x, y) : std::min(x, y));
        });
      }
      // Integers carry their sign in the finite classes' bits.
      if (isa<arith::SIToFPOp>(op))
        return in[0] == kTop ? kFinite : in[0] & kFinite;
      if (isa<arith::UIToFPOp>(op))
        return in[0] == kTop ? bit(Zero) | bit(PFin)
                             : lift1(in[0] & kFinite, [](unsigned x) {
                                 return bit(x == Zero ? Zero : PFin);
                               });
      if (op->getNumOperands() == 1 && isa<FloatType>(op->getOperand(0).getType()))
        return unary(op, floatIn(0));
      return kAllFloat;
    }
    if (isBool) {
      if (auto cmp = dyn_cast<arith::CmpFOp>(op))
        return compare(cmp.getPredicate(), floatIn(0), floatIn(1));
      auto b = [&](unsigned k) { return in[k] == kTop ? kBool : in[k]; };
      auto logic = [&](auto f) {
        Set r = 0;
        for (unsigned x : {0u, 1u})
          for (unsigned y : {0u, 1u})
            if ((b(0) & (1u << x)) && (b(1) & (1u << y)))
              r |= f(x, y) ? kTrue : kFalse;
        return r;
      };
      if (isa<arith::AndIOp>(op))
        return logic([](unsigned x, unsigned y) { return x && y; });
      if (isa<arith::OrIOp>(op))
        return logic([](unsigned x, unsigned y) { return x || y; });
      if (isa<arith::XOrIOp>(op))
        return logic([](unsigned x, unsigned y) { return x != y; });
      return kBool;
    }
    // Integer casts that keep the value (a sign-extended or index copy).
    if (isa<arith::IndexCastOp, arith::ExtSIOp>(op))
      return in[0];
    return kTop;
  }

  llvm::function_ref<bool(StringRef)> isMask;
  llvm::function_ref<bool(Value)> perElement;
  llvm::function_ref<bool(Value)> isPositive;
  llvm::DenseSet<Value> visited;
};

/// The free values are tried in these classes (NaN excluded: see the header).
constexpr unsigned kFreeClasses[] = {NInf, NFin, Zero, PFin, PInf};
/// More free values than this: not proven (5^7 cases are enough for every
/// cascade attn derives; a larger one is not worth the time).
constexpr unsigned kMaxFree = 7;

} // namespace

std::optional<std::string>
attn::whyNotIdentityWhereMasked(Operation *reduction,
                                llvm::function_ref<bool(StringRef)> isMask,
                                llvm::function_ref<bool(Value)> perElement,
                                llvm::function_ref<bool(Value)> isPositive) {
  bool isMax = false;
  if (auto c = dyn_cast<ContractOp>(reduction)) {
    if (c.getCombine() != CombineKind::Mul || c.getReduce() != ReduceKind::Add)
      return std::string("a contraction that is not a sum of products");
  } else if (auto r = dyn_cast<ReduceOp>(reduction)) {
    isMax = r.getKind() == ReduceKind::Max;
  } else {
    return std::string("not a reduction");
  }
  SmallVector<Value> element;
  for (Value in : reduction->getOperands())
    if (perElement(in))
      element.push_back(in);
  if (element.empty())
    return std::string("no operand varies per score element");

  Evaluator ev(isMask, perElement, isPositive);
  for (Value v : element)
    ev.collectFree(v);
  if (ev.free.size() > kMaxFree)
    return "more than " + std::to_string(kMaxFree) + " free values";

  // Every assignment of classes to the free values.
  unsigned n = ev.free.size();
  SmallVector<unsigned> digit(n, 0);
  while (true) {
    ev.memo.clear();
    ev.freeClass.clear();
    for (unsigned k = 0; k < n; ++k)
      ev.freeClass[ev.free[k]] = bit(kFreeClasses[digit[k]]);
    bool identity;
    if (isMax) {
      identity = ev.eval(element[0]) == bit(NInf);
    } else if (element.size() == 1 && isa<ReduceOp>(reduction)) {
      identity = ev.eval(element[0]) == bit(Zero);
    } else {
      // A product: an exact zero factor, the other element-wise factors
      // finite (0 × inf is NaN). Leaves are K, V, dO rows: see the header.
      bool zero = false, finite = true;
      for (Value v : element) {
        Set s = ev.eval(v);
        zero |= s == bit(Zero);
        finite &= s != 0 && (s & ~kFinite) == 0;
      }
      identity = zero && finite;
    }
    if (!identity)
      return std::string("a masked element's contribution is not provably "
                         "the identity");
    unsigned k = 0;
    while (k < n && ++digit[k] == std::size(kFreeClasses))
      digit[k++] = 0;
    if (k == n)
      break;
  }
  return std::nullopt;
}
