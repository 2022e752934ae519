//===- RegionOps.cpp - the scalar ops of attn regions, defined once -------===//
//
// One row per supported op: its float64 semantics, its CUDA spelling and its
// transfer function in the mask domain. Integer semantics follow arith: a
// result wraps to its bit width, i1 is 0 or 1, and unsigned ops read their
// operands' bits as unsigned. Floating-point values are never rounded to
// their declared type in the oracle (inputs are rounded once, up front).
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/RegionOps.h"
#include "attn/Dialect/KernelAttrs.h"

#include "attn/device/tile_class.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace attn::regionops;
namespace tc = attn::device::tc;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Bit width of an integer-like type: index is 64, iN is N.
static unsigned bitWidth(Type t) {
  if (auto it = dyn_cast<IntegerType>(t))
    return it.getWidth();
  return 64;
}
static unsigned resultBits(Operation *op) {
  return bitWidth(op->getResult(0).getType());
}
static unsigned operandBits(Operation *op) {
  return bitWidth(op->getOperand(0).getType());
}

/// Wraps a mathematical integer to a signed value of `width` bits (i1: 0/1).
static int64_t wrapSigned(int64_t v, unsigned width) {
  if (width == 1)
    return v & 1;
  if (width >= 64)
    return v;
  uint64_t mask = (uint64_t(1) << width) - 1;
  uint64_t u = static_cast<uint64_t>(v) & mask;
  if (u >> (width - 1))
    u |= ~mask;
  return static_cast<int64_t>(u);
}

/// Reinterprets a signed value of `width` bits as unsigned.
static uint64_t asUnsigned(int64_t v, unsigned width) {
  if (width >= 64)
    return static_cast<uint64_t>(v);
  return static_cast<uint64_t>(v) & ((uint64_t(1) << width) - 1);
}

/// Rounds a double to int64 the way fptosi would (out of range is undefined
/// in arith; saturate, NaN to 0, instead of undefined behaviour).
static int64_t toInt(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9.2e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

static EvalResult value(double v) { return {v, nullptr}; }
static EvalResult wrapped(Operation *op, int64_t v) {
  return value(static_cast<double>(wrapSigned(v, resultBits(op))));
}
/// Integer operand `k`: integers arrive as doubles; toInt is defined for
/// any double (NaN and out-of-range values saturate, never undefined).
static int64_t i(const double *x, int k) { return toInt(x[k]); }

/// Two's-complement a + b and a - b: computed in uint64 so that an overflow
/// wraps (as the hardware does) instead of being undefined.
static int64_t addWrap(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}
static int64_t subWrap(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}

static bool cmpF(arith::CmpFPredicate p, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  using P = arith::CmpFPredicate;
  switch (p) {
  case P::AlwaysFalse: return false;
  case P::OEQ: return !unordered && a == b;
  case P::OGT: return !unordered && a > b;
  case P::OGE: return !unordered && a >= b;
  case P::OLT: return !unordered && a < b;
  case P::OLE: return !unordered && a <= b;
  case P::ONE: return !unordered && a != b;
  case P::ORD: return !unordered;
  case P::UEQ: return unordered || a == b;
  case P::UGT: return unordered || a > b;
  case P::UGE: return unordered || a >= b;
  case P::ULT: return unordered || a < b;
  case P::ULE: return unordered || a <= b;
  case P::UNE: return unordered || a != b;
  case P::UNO: return unordered;
  case P::AlwaysTrue: return true;
  }
  return false;
}

static bool cmpI(arith::CmpIPredicate p, int64_t a, int64_t b,
                 unsigned width) {
  uint64_t ua = asUnsigned(a, width), ub = asUnsigned(b, width);
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::eq: return a == b;
  case P::ne: return a != b;
  case P::slt: return a < b;
  case P::sle: return a <= b;
  case P::sgt: return a > b;
  case P::sge: return a >= b;
  case P::ult: return ua < ub;
  case P::ule: return ua <= ub;
  case P::ugt: return ua > ub;
  case P::uge: return ua >= ub;
  }
  return false;
}

/// Integer division and remainder, with division by zero an error.
static EvalResult divide(Operation *op, const double *x) {
  if (i(x, 1) == 0)
    return {0, "integer division by zero"};
  int64_t a = i(x, 0), b = i(x, 1);
  unsigned w = resultBits(op);
  if (isa<arith::DivUIOp>(op))
    return wrapped(op, asUnsigned(a, w) / asUnsigned(b, w));
  if (isa<arith::RemUIOp>(op))
    return wrapped(op, asUnsigned(a, w) % asUnsigned(b, w));
  // INT64_MIN / -1 overflows in C++; arith wraps it.
  if (b == -1)
    return wrapped(op, isa<arith::RemSIOp>(op)
                           ? 0
                           : static_cast<int64_t>(0 - static_cast<uint64_t>(a)));
  if (isa<arith::DivSIOp>(op))
    return wrapped(op, a / b);
  if (isa<arith::RemSIOp>(op))
    return wrapped(op, a % b);
  int64_t q = a / b, r = a % b;
  if (isa<arith::FloorDivSIOp>(op))
    return wrapped(op, (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q);
  return wrapped(op, (r != 0 && ((r < 0) == (b < 0))) ? q + 1 : q);
}

//===----------------------------------------------------------------------===//
// CUDA spelling
//===----------------------------------------------------------------------===//

std::optional<std::string> attn::regionops::cppType(Type type,
                                                    bool isUnsigned) {
  if (type.isIndex() || type.isInteger(64))
    return std::string(isUnsigned ? "unsigned long long" : "long long");
  if (type.isInteger(32))
    return std::string(isUnsigned ? "unsigned int" : "int");
  if (type.isInteger(16))
    return std::string(isUnsigned ? "unsigned short" : "short");
  if (type.isInteger(8))
    return std::string(isUnsigned ? "unsigned char" : "signed char");
  if (type.isInteger(1))
    return std::string("bool");
  if (type.isF32() || type.isF16() || type.isBF16())
    return std::string("float");
  if (type.isF64())
    return std::string("double");
  return std::nullopt;
}

std::string attn::regionops::floatLiteral(const llvm::APFloat &value,
                                          Type type) {
  llvm::APFloat v = value;
  bool lost = false;
  if (type.isF64()) {
    v.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    if (!v.isFinite())
      return v.isNaN() ? "__longlong_as_double(0x7ff8000000000000LL)"
                       : (v.isNegative() ? "(-1.0 / 0.0)" : "(1.0 / 0.0)");
    char buf[64];
    v.convertToHexString(buf, 0, false, llvm::APFloat::rmNearestTiesToEven);
    return buf;
  }
  v.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  if (!v.isFinite()) {
    char buf[32];
    snprintf(buf, sizeof buf, "sc::f32_bits(0x%08xu)",
             static_cast<unsigned>(v.bitcastToAPInt().getZExtValue()));
    return buf;
  }
  char buf[64];
  v.convertToHexString(buf, 0, false, llvm::APFloat::rmNearestTiesToEven);
  return std::string(buf) + "f";
}

namespace {
using In = llvm::ArrayRef<std::string>;

/// The C++ type of the op's result and the unsigned type of its operands.
struct Types {
  std::string result, operandUnsigned;
  bool isBool;
  explicit Types(Operation *op) {
    Type r = op->getResult(0).getType();
    result = cppType(r).value_or("long long");
    Type operand = op->getNumOperands() ? op->getOperand(0).getType() : r;
    operandUnsigned = cppType(operand, true).value_or("unsigned long long");
    isBool = r.isInteger(1);
  }
};

std::string binary(In in, llvm::StringRef o) {
  return "(" + in[0] + " " + o.str() + " " + in[1] + ")";
}
std::string call(llvm::StringRef f, In in) {
  std::string s = f.str() + "(" + in[0];
  for (size_t k = 1; k < in.size(); ++k)
    s += ", " + in[k];
  return s + ")";
}
/// `(T)((U)a OP (U)b)`: an unsigned operation on the operands' bits.
std::string unsignedBinary(Operation *op, In in, llvm::StringRef o) {
  Types t(op);
  return "(" + t.result + ")((" + t.operandUnsigned + ")" + in[0] + " " +
         o.str() + " (" + t.operandUnsigned + ")" + in[1] + ")";
}
std::string selectBy(In in, llvm::StringRef cmp) {
  return "(" + in[0] + " " + cmp.str() + " " + in[1] + " ? " + in[0] + " : " +
         in[1] + ")";
}

std::string cmpiExpr(arith::CmpIPredicate p, In in, const std::string &u) {
  using P = arith::CmpIPredicate;
  const std::string &a = in[0], &b = in[1];
  auto un = [&](const std::string &x) { return "(" + u + ")" + x; };
  switch (p) {
  case P::eq: return "(" + a + " == " + b + ")";
  case P::ne: return "(" + a + " != " + b + ")";
  case P::slt: return "(" + a + " < " + b + ")";
  case P::sle: return "(" + a + " <= " + b + ")";
  case P::sgt: return "(" + a + " > " + b + ")";
  case P::sge: return "(" + a + " >= " + b + ")";
  case P::ult: return "(" + un(a) + " < " + un(b) + ")";
  case P::ule: return "(" + un(a) + " <= " + un(b) + ")";
  case P::ugt: return "(" + un(a) + " > " + un(b) + ")";
  case P::uge: return "(" + un(a) + " >= " + un(b) + ")";
  }
  return "false";
}

std::string cmpfExpr(arith::CmpFPredicate p, In in) {
  using P = arith::CmpFPredicate;
  const std::string &a = in[0], &b = in[1];
  std::string ord = "(" + a + " == " + a + " && " + b + " == " + b + ")";
  switch (p) {
  case P::AlwaysFalse: return "false";
  case P::AlwaysTrue: return "true";
  case P::OEQ: return "(" + a + " == " + b + ")";
  case P::OGT: return "(" + a + " > " + b + ")";
  case P::OGE: return "(" + a + " >= " + b + ")";
  case P::OLT: return "(" + a + " < " + b + ")";
  case P::OLE: return "(" + a + " <= " + b + ")";
  case P::ONE: return "(" + ord + " && " + a + " != " + b + ")";
  case P::ORD: return ord;
  case P::UEQ: return "!(" + a + " < " + b + " || " + a + " > " + b + ")";
  case P::UGT: return "!(" + a + " <= " + b + ")";
  case P::UGE: return "!(" + a + " < " + b + ")";
  case P::ULT: return "!(" + a + " >= " + b + ")";
  case P::ULE: return "!(" + a + " > " + b + ")";
  case P::UNE: return "!(" + a + " == " + b + ")";
  case P::UNO: return "!" + ord;
  }
  return "false";
}

//===----------------------------------------------------------------------===//
// Transfer functions
//===----------------------------------------------------------------------===//

TcCall tcOp(int op, int64_t imm0 = 0, int64_t imm1 = 0, int64_t imm2 = 0) {
  TcCall c;
  c.op = op;
  c.imm[0] = imm0;
  c.imm[1] = imm1;
  c.imm[2] = imm2;
  return c;
}
bool resultIsBool(Operation *op) {
  return op->getResult(0).getType().isInteger(1);
}
bool operandIsBool(Operation *op) {
  return op->getOperand(0).getType().isInteger(1);
}

/// index_cast / index_castui / extsi / extui / trunci.
TcCall castTransfer(Operation *op) {
  if (operandIsBool(op))
    return tcOp(tc::kOpExtBool, isa<arith::ExtSIOp>(op) ? 1 : 0);
  if (resultIsBool(op))
    return tcOp(tc::kOpUnknown);
  bool isUnsigned = isa<arith::ExtUIOp, arith::IndexCastUIOp>(op);
  return tcOp(tc::kOpCast, operandBits(op), resultBits(op), isUnsigned);
}
/// andi / ori / xori: three-valued logic on i1, constants on integers.
TcCall logicTransfer(Operation *op, int boolOp, int bitwise) {
  return resultIsBool(op) ? tcOp(boolOp) : tcOp(tc::kOpBitwise, bitwise);
}

//===----------------------------------------------------------------------===//
// Derivatives: each rule builds its result's tangent from its operands'
// tangents (null = zero) with arith/math ops, next to the primal op.
//===----------------------------------------------------------------------===//

/// Tangent arithmetic in the type of `op`'s result; a null operand is a zero
/// tangent and products with it fold away, so that only the derivatives that
/// flow are built.
struct Tangents {
  OpBuilder &b;
  Operation *op;
  Location loc;
  Type type;
  Tangents(OpBuilder &b, Operation *op)
      : b(b), op(op), loc(op->getLoc()), type(op->getResult(0).getType()) {}

  Value x(unsigned k) const { return op->getOperand(k); }
  Value y() const { return op->getResult(0); }
  Value c(double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
  }
  Value add(Value l, Value r) {
    if (!l || !r)
      return l ? l : r;
    return arith::AddFOp::create(b, loc, l, r);
  }
  Value neg(Value v) { return v ? arith::NegFOp::create(b, loc, v) : v; }
  Value sub(Value l, Value r) {
    if (!r)
      return l;
    return l ? Value(arith::SubFOp::create(b, loc, l, r)) : neg(r);
  }
  Value mul(Value l, Value r) {
    return l && r ? Value(arith::MulFOp::create(b, loc, l, r)) : Value();
  }
  Value div(Value l, Value r) {
    return l ? Value(arith::DivFOp::create(b, loc, l, r)) : Value();
  }
  /// select(cond, l, r) of two tangents, zero standing in for a null one.
  Value select(Value cond, Value l, Value r) {
    if (!l && !r)
      return {};
    return arith::SelectOp::create(b, loc, cond, l ? l : c(0), r ? r : c(0));
  }
  Value cmp(arith::CmpFPredicate pred, Value l, Value r) {
    return arith::CmpFOp::create(b, loc, pred, l, r);
  }
};
using Dx = llvm::ArrayRef<Value>;

Value dAdd(OpBuilder &b, Operation *op, Dx dx) {
  return Tangents(b, op).add(dx[0], dx[1]);
}
Value dSub(OpBuilder &b, Operation *op, Dx dx) {
  return Tangents(b, op).sub(dx[0], dx[1]);
}
Value dMul(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  return t.add(t.mul(dx[0], t.x(1)), t.mul(t.x(0), dx[1]));
}
/// d(a/b) = (da − (a/b)·db) / b.
Value dDiv(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  return t.div(t.sub(dx[0], t.mul(t.y(), dx[1])), t.x(1));
}
/// fmod(a, b) = a − trunc(a/b)·b, and trunc(a/b) = (a − fmod(a, b)) / b.
Value dRem(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  if (!dx[1])
    return dx[0];
  Value quotient = t.div(t.sub(t.x(0), t.y()), t.x(1));
  return t.sub(dx[0], t.mul(quotient, dx[1]));
}
Value dNeg(OpBuilder &b, Operation *op, Dx dx) {
  return Tangents(b, op).neg(dx[0]);
}
/// max/min (NaN-propagating or not): the tangent of the operand the result
/// equals (the first on a tie; the other when the first is a NaN maxnumf
/// ignored).
Value dPick(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  return t.select(t.cmp(arith::CmpFPredicate::OEQ, t.y(), t.x(0)), dx[0],
                  dx[1]);
}
Value dSelect(OpBuilder &b, Operation *op, Dx dx) {
  Value t = Tangents(b, op).select(op->getOperand(0), dx[1], dx[2]);
  // The tangent selects on the same condition: a mask's select stays one
  // (`attn.mask`), so that an analysis of the backward knows the tangent is
  // the false branch's wherever the mask removes the element.
  if (FlatSymbolRefAttr mask = attn::getMaskFunction(op))
    if (auto select = t ? t.getDefiningOp<arith::SelectOp>() : nullptr)
      attn::setMaskFunction(select, mask.getValue());
  return t;
}
Value dExtF(OpBuilder &b, Operation *op, Dx dx) {
  return arith::ExtFOp::create(b, op->getLoc(), op->getResult(0).getType(),
                               dx[0]);
}
Value dTruncF(OpBuilder &b, Operation *op, Dx dx) {
  return arith::TruncFOp::create(b, op->getLoc(), op->getResult(0).getType(),
                                 dx[0]);
}
/// A unary op with y' = factor(t): dy = factor · dx.
template <Value (*Factor)(Tangents &)>
Value dUnary(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  return t.mul(dx[0], Factor(t));
}
Value fExp(Tangents &t) { return t.y(); }
Value fExp2(Tangents &t) { return t.mul(t.y(), t.c(M_LN2)); }
Value fExpm1(Tangents &t) { return t.add(t.y(), t.c(1)); }
Value fLog(Tangents &t) { return t.div(t.c(1), t.x(0)); }
Value fLog2(Tangents &t) { return t.div(t.c(1 / M_LN2), t.x(0)); }
Value fLog10(Tangents &t) { return t.div(t.c(1 / M_LN10), t.x(0)); }
Value fLog1p(Tangents &t) { return t.div(t.c(1), t.add(t.x(0), t.c(1))); }
Value fTanh(Tangents &t) { return t.sub(t.c(1), t.mul(t.y(), t.y())); }
Value fSqrt(Tangents &t) { return t.div(t.c(0.5), t.y()); }
/// d x^(-1/2) = −½ x^(-3/2) = −½ y / x.
Value fRsqrt(Tangents &t) { return t.div(t.mul(t.c(-0.5), t.y()), t.x(0)); }
/// The sign of x (+1 at +0: a subgradient at the kink).
Value fAbs(Tangents &t) {
  return math::CopySignOp::create(t.b, t.loc, t.c(1), t.x(0));
}
Value fSin(Tangents &t) { return math::CosOp::create(t.b, t.loc, t.x(0)); }
Value fCos(Tangents &t) {
  return t.neg(math::SinOp::create(t.b, t.loc, t.x(0)));
}
Value fTan(Tangents &t) { return t.add(t.c(1), t.mul(t.y(), t.y())); }
Value fAtan(Tangents &t) {
  return t.div(t.c(1), t.add(t.c(1), t.mul(t.x(0), t.x(0))));
}
/// d erf(x) = 2/√π · e^(−x²).
Value fErf(Tangents &t) {
  Value e = math::ExpOp::create(t.b, t.loc, t.neg(t.mul(t.x(0), t.x(0))));
  return t.mul(t.c(M_2_SQRTPI), e);
}
/// d atan2(a, b) = (b·da − a·db) / (a² + b²).
Value dAtan2(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  Value norm = t.add(t.mul(t.x(0), t.x(0)), t.mul(t.x(1), t.x(1)));
  return t.div(t.sub(t.mul(t.x(1), dx[0]), t.mul(t.x(0), dx[1])), norm);
}
/// d a^b = b·a^(b−1)·da + a^b·ln(a)·db (the ln term only where b varies).
/// Where a factor is 0 its term is 0, not 0·inf: b = 0 (a^0 is constant),
/// and a^b = 0 (at a = 0, b > 0).
Value dPow(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  auto zeroWhere = [&](Value factor, Value term) -> Value {
    return arith::SelectOp::create(
        b, t.loc, t.cmp(arith::CmpFPredicate::OEQ, factor, t.c(0)), t.c(0),
        term);
  };
  Value da, db;
  if (dx[0]) {
    Value lower = math::PowFOp::create(b, t.loc, t.x(0), t.sub(t.x(1), t.c(1)));
    da = t.mul(dx[0], zeroWhere(t.x(1), t.mul(t.x(1), lower)));
  }
  if (dx[1])
    db = t.mul(dx[1], zeroWhere(t.y(), t.mul(t.y(), math::LogOp::create(
                                                        b, t.loc, t.x(0)))));
  return t.add(da, db);
}
/// copysign(a, b) = ±a: da · sign(a) · sign(b).
Value dCopySign(OpBuilder &b, Operation *op, Dx dx) {
  Tangents t(b, op);
  Value sa = math::CopySignOp::create(b, t.loc, t.c(1), t.x(0));
  Value sb = math::CopySignOp::create(b, t.loc, t.c(1), t.x(1));
  return t.mul(dx[0], t.mul(sa, sb));
}
/// floor, ceil, round: piecewise constant, zero almost everywhere.
Value dZero(OpBuilder &, Operation *, Dx) { return {}; }

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

#define FLOAT1(NAME, EXPR, CUDA, DERIVATIVE)                                   \
  Rule{NAME,                                                                   \
       [](Operation *, const double *x) { return value(EXPR); },              \
       [](Operation *, In in) -> std::optional<std::string> {                 \
         return call(CUDA, in);                                                \
       },                                                                      \
       nullptr, false, DERIVATIVE}

const Rule kRules[] = {
    // Constants.
    Rule{"arith.constant",
         [](Operation *op, const double *) -> EvalResult {
           Attribute attr = cast<arith::ConstantOp>(op).getValue();
           if (auto f = dyn_cast<FloatAttr>(attr))
             return value(f.getValueAsDouble());
           if (auto n = dyn_cast<IntegerAttr>(attr)) {
             if (n.getType().isInteger(1))
               return value(n.getValue().getZExtValue() ? 1.0 : 0.0);
             return value(static_cast<double>(n.getValue().getSExtValue()));
           }
           return {0, "only scalar constants are supported in scalar code"};
         },
         [](Operation *op, In) -> std::optional<std::string> {
           Attribute attr = cast<arith::ConstantOp>(op).getValue();
           Type type = op->getResult(0).getType();
           if (auto f = dyn_cast<FloatAttr>(attr))
             return floatLiteral(f.getValue(), type);
           if (auto n = dyn_cast<IntegerAttr>(attr)) {
             if (type.isInteger(1))
               return std::string(n.getValue().getBoolValue() ? "true"
                                                              : "false");
             int64_t v = n.getValue().getSExtValue();
             return std::to_string(v) + (type.isInteger(32) ? "" : "LL");
           }
           return std::nullopt;
         },
         [](Operation *op) {
           auto n = dyn_cast<IntegerAttr>(cast<arith::ConstantOp>(op).getValue());
           if (!n)
             return tcOp(tc::kOpUnknown);
           if (resultIsBool(op))
             return tcOp(tc::kOpBoolConstant,
                         n.getValue().getBoolValue() ? tc::kTrue : tc::kFalse);
           return tcOp(tc::kOpConstant, n.getValue().getSExtValue());
         }},

    // Floating-point arithmetic.
    Rule{"arith.addf",
         [](Operation *, const double *x) { return value(x[0] + x[1]); },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "+");
         },
         nullptr, false, dAdd},
    Rule{"arith.subf",
         [](Operation *, const double *x) { return value(x[0] - x[1]); },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "-");
         },
         nullptr, false, dSub},
    Rule{"arith.mulf",
         [](Operation *, const double *x) { return value(x[0] * x[1]); },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "*");
         },
         nullptr, false, dMul},
    // With fastmath<afn> (set by attn-lean-maps on an f32 reciprocal of a
    // divisor scaled away from subnormals and overflow): the hardware's
    // rcp.approx times the dividend.
    Rule{"arith.divf",
         [](Operation *, const double *x) { return value(x[0] / x[1]); },
         [](Operation *op, In in) -> std::optional<std::string> {
           auto flags = cast<arith::ArithFastMathInterface>(op)
                            .getFastMathFlagsAttr()
                            .getValue();
           if (bitEnumContainsAll(flags, arith::FastMathFlags::afn) &&
               op->getResult(0).getType().isF32())
             return call("sc::div_approx", in);
           return binary(in, "/");
         },
         nullptr, false, dDiv},
    Rule{"arith.remf",
         [](Operation *, const double *x) {
           return value(std::fmod(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::rem", in);
         },
         nullptr, false, dRem},
    Rule{"arith.negf", [](Operation *, const double *x) { return value(-x[0]); },
         [](Operation *, In in) -> std::optional<std::string> {
           return "(-" + in[0] + ")";
         },
         nullptr, false, dNeg},
    Rule{"arith.maximumf",
         [](Operation *, const double *x) {
           return value(std::isnan(x[0]) || std::isnan(x[1])
                            ? NAN
                            : std::max(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::maximumf", in);
         },
         nullptr, false, dPick},
    Rule{"arith.minimumf",
         [](Operation *, const double *x) {
           return value(std::isnan(x[0]) || std::isnan(x[1])
                            ? NAN
                            : std::min(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::minimumf", in);
         },
         nullptr, false, dPick},
    Rule{"arith.maxnumf",
         [](Operation *, const double *x) {
           return value(std::fmax(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::maxnumf", in);
         },
         nullptr, false, dPick},
    Rule{"arith.minnumf",
         [](Operation *, const double *x) {
           return value(std::fmin(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::minnumf", in);
         },
         nullptr, false, dPick},

    // Integer arithmetic.
    Rule{"arith.addi",
         [](Operation *op, const double *x) {
           return wrapped(op, addWrap(i(x, 0), i(x, 1)));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "+");
         },
         [](Operation *) { return tcOp(tc::kOpAddi); }},
    Rule{"arith.subi",
         [](Operation *op, const double *x) {
           return wrapped(op, subWrap(i(x, 0), i(x, 1)));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "-");
         },
         [](Operation *) { return tcOp(tc::kOpSubi); }},
    Rule{"arith.muli",
         [](Operation *op, const double *x) {
           return wrapped(op, static_cast<int64_t>(
                                  static_cast<uint64_t>(i(x, 0)) *
                                  static_cast<uint64_t>(i(x, 1))));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "*");
         },
         [](Operation *) { return tcOp(tc::kOpMuli); }},
    Rule{"arith.divsi", divide,
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "/");
         },
         [](Operation *) { return tcOp(tc::kOpDivsi); }},
    Rule{"arith.divui", divide,
         [](Operation *op, In in) -> std::optional<std::string> {
           return unsignedBinary(op, in, "/");
         },
         [](Operation *) { return tcOp(tc::kOpDivui); }},
    Rule{"arith.remsi", divide,
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "%");
         },
         [](Operation *) { return tcOp(tc::kOpRemsi); }},
    Rule{"arith.remui", divide,
         [](Operation *op, In in) -> std::optional<std::string> {
           return unsignedBinary(op, in, "%");
         },
         [](Operation *) { return tcOp(tc::kOpRemui); }},
    Rule{"arith.floordivsi", divide,
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::floordivsi", in);
         },
         [](Operation *) { return tcOp(tc::kOpFloordivsi); }},
    Rule{"arith.ceildivsi", divide,
         [](Operation *, In in) -> std::optional<std::string> {
           return call("sc::ceildivsi", in);
         },
         [](Operation *) { return tcOp(tc::kOpCeildivsi); }},
    Rule{"arith.maxsi",
         [](Operation *, const double *x) {
           return value(std::max(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return selectBy(in, ">");
         },
         [](Operation *) { return tcOp(tc::kOpMaxsi); }},
    Rule{"arith.minsi",
         [](Operation *, const double *x) {
           return value(std::min(x[0], x[1]));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return selectBy(in, "<");
         },
         [](Operation *) { return tcOp(tc::kOpMinsi); }},
    Rule{"arith.maxui",
         [](Operation *op, const double *x) {
           unsigned w = resultBits(op);
           return value(asUnsigned(i(x, 0), w) >= asUnsigned(i(x, 1), w)
                            ? x[0]
                            : x[1]);
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           std::string u = Types(op).operandUnsigned;
           return "((" + u + ")" + in[0] + " > (" + u + ")" + in[1] + " ? " +
                  in[0] + " : " + in[1] + ")";
         },
         [](Operation *) { return tcOp(tc::kOpMaxui); }},
    Rule{"arith.minui",
         [](Operation *op, const double *x) {
           unsigned w = resultBits(op);
           return value(asUnsigned(i(x, 0), w) <= asUnsigned(i(x, 1), w)
                            ? x[0]
                            : x[1]);
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           std::string u = Types(op).operandUnsigned;
           return "((" + u + ")" + in[0] + " < (" + u + ")" + in[1] + " ? " +
                  in[0] + " : " + in[1] + ")";
         },
         [](Operation *) { return tcOp(tc::kOpMinui); }},
    Rule{"arith.andi",
         [](Operation *op, const double *x) {
           return wrapped(op, i(x, 0) & i(x, 1));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return binary(in, Types(op).isBool ? "&&" : "&");
         },
         [](Operation *op) { return logicTransfer(op, tc::kOpAndBool, 0); }},
    Rule{"arith.ori",
         [](Operation *op, const double *x) {
           return wrapped(op, i(x, 0) | i(x, 1));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return binary(in, Types(op).isBool ? "||" : "|");
         },
         [](Operation *op) { return logicTransfer(op, tc::kOpOrBool, 1); }},
    Rule{"arith.xori",
         [](Operation *op, const double *x) {
           return wrapped(op, i(x, 0) ^ i(x, 1));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return binary(in, Types(op).isBool ? "!=" : "^");
         },
         [](Operation *op) { return logicTransfer(op, tc::kOpXorBool, 2); }},
    Rule{"arith.shli",
         [](Operation *op, const double *x) {
           unsigned w = resultBits(op);
           if (i(x, 1) < 0 || i(x, 1) >= w)
             return value(0.0);
           return wrapped(op,
                          static_cast<int64_t>(asUnsigned(i(x, 0), w) << i(x, 1)));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, "<<");
         }},
    Rule{"arith.shrsi",
         [](Operation *op, const double *x) {
           unsigned w = resultBits(op);
           if (i(x, 1) < 0 || i(x, 1) >= w)
             return value(i(x, 0) < 0 ? -1.0 : 0.0);
           return wrapped(op, i(x, 0) >> i(x, 1));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return binary(in, ">>");
         }},
    Rule{"arith.shrui",
         [](Operation *op, const double *x) {
           unsigned w = resultBits(op);
           if (i(x, 1) < 0 || i(x, 1) >= w)
             return value(0.0);
           return wrapped(op,
                          static_cast<int64_t>(asUnsigned(i(x, 0), w) >> i(x, 1)));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           Types t(op);
           return "(" + t.result + ")((" + t.operandUnsigned + ")" + in[0] +
                  " >> " + in[1] + ")";
         }},

    // Comparisons and selection.
    Rule{"arith.cmpi",
         [](Operation *op, const double *x) {
           return value(cmpI(cast<arith::CmpIOp>(op).getPredicate(), i(x, 0),
                             i(x, 1), operandBits(op))
                            ? 1.0
                            : 0.0);
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return cmpiExpr(cast<arith::CmpIOp>(op).getPredicate(), in,
                           Types(op).operandUnsigned);
         },
         [](Operation *op) {
           int64_t pred =
               static_cast<int64_t>(cast<arith::CmpIOp>(op).getPredicate());
           return tcOp(operandIsBool(op) ? tc::kOpCmpiBool : tc::kOpCmpi, pred);
         }},
    Rule{"arith.cmpf",
         [](Operation *op, const double *x) {
           return value(
               cmpF(cast<arith::CmpFOp>(op).getPredicate(), x[0], x[1]) ? 1.0
                                                                        : 0.0);
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return cmpfExpr(cast<arith::CmpFOp>(op).getPredicate(), in);
         }},
    Rule{"arith.select",
         [](Operation *, const double *x) {
           return value(x[0] != 0 ? x[1] : x[2]);
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return "(" + in[0] + " ? " + in[1] + " : " + in[2] + ")";
         },
         [](Operation *op) {
           return tcOp(resultIsBool(op) ? tc::kOpSelectBool : tc::kOpSelect);
         },
         false, dSelect},

    // Casts.
    Rule{"arith.index_cast",
         [](Operation *op, const double *x) { return wrapped(op, i(x, 0)); },
         [](Operation *op, In in) -> std::optional<std::string> {
           return "(" + Types(op).result + ")" + in[0];
         },
         castTransfer},
    Rule{"arith.index_castui",
         [](Operation *op, const double *x) {
           return wrapped(op, static_cast<int64_t>(
                                  asUnsigned(i(x, 0), operandBits(op))));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           Types t(op);
           return "(" + t.result + ")(" + t.operandUnsigned + ")" + in[0];
         },
         castTransfer},
    Rule{"arith.extsi",
         [](Operation *op, const double *x) {
           // An i1 holds 0 or 1; sign-extended, true is -1.
           if (operandIsBool(op))
             return wrapped(op, i(x, 0) ? -1 : 0);
           return wrapped(op, i(x, 0));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           Types t(op);
           if (operandIsBool(op))
             return "(" + in[0] + " ? (" + t.result + ")-1 : (" + t.result +
                    ")0)";
           return "(" + t.result + ")" + in[0];
         },
         castTransfer},
    Rule{"arith.extui",
         [](Operation *op, const double *x) {
           return wrapped(op, static_cast<int64_t>(
                                  asUnsigned(i(x, 0), operandBits(op))));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           Types t(op);
           if (operandIsBool(op))
             return "(" + in[0] + " ? (" + t.result + ")1 : (" + t.result +
                    ")0)";
           return "(" + t.result + ")(" + t.operandUnsigned + ")" + in[0];
         },
         castTransfer},
    Rule{"arith.trunci",
         [](Operation *op, const double *x) { return wrapped(op, i(x, 0)); },
         [](Operation *op, In in) -> std::optional<std::string> {
           if (resultIsBool(op))
             return "((" + in[0] + " & 1) != 0)";
           return "(" + Types(op).result + ")" + in[0];
         },
         castTransfer},
    Rule{"arith.sitofp",
         [](Operation *, const double *x) {
           return value(static_cast<double>(i(x, 0)));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return "(" + Types(op).result + ")" + in[0];
         }},
    Rule{"arith.uitofp",
         [](Operation *op, const double *x) {
           return value(
               static_cast<double>(asUnsigned(i(x, 0), operandBits(op))));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           Types t(op);
           return "(" + t.result + ")(" + t.operandUnsigned + ")" + in[0];
         }},
    Rule{"arith.fptosi",
         [](Operation *op, const double *x) {
           return wrapped(op, toInt(x[0]));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return "(" + Types(op).result + ")" + in[0];
         }},
    Rule{"arith.fptoui",
         [](Operation *op, const double *x) {
           return wrapped(op, toInt(x[0]));
         },
         [](Operation *op, In in) -> std::optional<std::string> {
           return "(" + Types(op).result + ")" + in[0];
         }},
    // The oracle keeps float64 everywhere: a float conversion changes the
    // declared type, not the value. The kernel rounds, as the hardware does.
    Rule{"arith.extf", [](Operation *, const double *x) { return value(x[0]); },
         [](Operation *op, In in) -> std::optional<std::string> {
           return "(" + Types(op).result + ")" + in[0];
         },
         nullptr, false, dExtF},
    Rule{"arith.truncf",
         [](Operation *, const double *x) { return value(x[0]); },
         [](Operation *op, In in) -> std::optional<std::string> {
           Type type = op->getResult(0).getType();
           if (type.isF16())
             return "sc::round_f16(" + in[0] + ")";
           if (type.isBF16())
             return "sc::round_bf16(" + in[0] + ")";
           return "(" + Types(op).result + ")" + in[0];
         },
         nullptr, false, dTruncF},

    // math.
    FLOAT1("math.exp", std::exp(x[0]), "sc::exp", dUnary<fExp>),
    // With fastmath<afn> (set by attn-lean-maps where the argument is a
    // weight relative to a running maximum): the hardware approximation.
    Rule{"math.exp2",
         [](Operation *, const double *x) { return value(std::exp2(x[0])); },
         [](Operation *op, In in) -> std::optional<std::string> {
           auto flags = cast<arith::ArithFastMathInterface>(op)
                            .getFastMathFlagsAttr()
                            .getValue();
           return call(bitEnumContainsAll(flags, arith::FastMathFlags::afn)
                           ? "sc::exp2_approx"
                           : "sc::exp2",
                       in);
         },
         nullptr, false, dUnary<fExp2>},
    FLOAT1("math.expm1", std::expm1(x[0]), "sc::expm1", dUnary<fExpm1>),
    FLOAT1("math.log", std::log(x[0]), "sc::log", dUnary<fLog>),
    FLOAT1("math.log2", std::log2(x[0]), "sc::log2", dUnary<fLog2>),
    FLOAT1("math.log10", std::log10(x[0]), "sc::log10", dUnary<fLog10>),
    FLOAT1("math.log1p", std::log1p(x[0]), "sc::log1p", dUnary<fLog1p>),
    FLOAT1("math.tanh", std::tanh(x[0]), "sc::tanh", dUnary<fTanh>),
    FLOAT1("math.sqrt", std::sqrt(x[0]), "sc::sqrt", dUnary<fSqrt>),
    FLOAT1("math.rsqrt", 1.0 / std::sqrt(x[0]), "sc::rsqrt", dUnary<fRsqrt>),
    FLOAT1("math.absf", std::fabs(x[0]), "sc::abs", dUnary<fAbs>),
    FLOAT1("math.sin", std::sin(x[0]), "sc::sin", dUnary<fSin>),
    FLOAT1("math.cos", std::cos(x[0]), "sc::cos", dUnary<fCos>),
    FLOAT1("math.tan", std::tan(x[0]), "sc::tan", dUnary<fTan>),
    FLOAT1("math.atan", std::atan(x[0]), "sc::atan", dUnary<fAtan>),
    FLOAT1("math.atan2", std::atan2(x[0], x[1]), "sc::atan2", dAtan2),
    FLOAT1("math.erf", std::erf(x[0]), "sc::erf", dUnary<fErf>),
    FLOAT1("math.powf", std::pow(x[0], x[1]), "sc::pow", dPow),
    FLOAT1("math.floor", std::floor(x[0]), "sc::floor", dZero),
    FLOAT1("math.ceil", std::ceil(x[0]), "sc::ceil", dZero),
    FLOAT1("math.round", std::round(x[0]), "sc::round", dZero),
    FLOAT1("math.copysign", std::copysign(x[0], x[1]), "sc::copysign", dCopySign),
    Rule{"math.absi",
         [](Operation *op, const double *x) {
           return wrapped(op, i(x, 0) < 0 ? static_cast<int64_t>(
                                                0 - static_cast<uint64_t>(i(x, 0)))
                                          : i(x, 0));
         },
         [](Operation *, In in) -> std::optional<std::string> {
           return "(" + in[0] + " < 0 ? -" + in[0] + " : " + in[0] + ")";
         },
         [](Operation *) { return tcOp(tc::kOpAbsi); }},

    // Reads of captured tensors.
    Rule{"tensor.extract", nullptr, nullptr, nullptr, /*isTensorRead=*/true},
    Rule{"tensor.dim", nullptr, nullptr, nullptr, /*isTensorRead=*/true},
};

#undef FLOAT1

} // namespace

//===----------------------------------------------------------------------===//
// Lookup and verification
//===----------------------------------------------------------------------===//

llvm::ArrayRef<Rule> attn::regionops::allRules() { return kRules; }

const Rule *attn::regionops::lookup(llvm::StringRef name) {
  static const llvm::StringMap<const Rule *> byName = [] {
    llvm::StringMap<const Rule *> map;
    for (const Rule &rule : kRules)
      map[rule.name] = &rule;
    return map;
  }();
  return byName.lookup(name);
}

const Rule *attn::regionops::lookup(Operation *op) {
  return lookup(op->getName().getStringRef());
}

FailureOr<Value> attn::regionops::tangent(OpBuilder &b, Operation *op,
                                          llvm::ArrayRef<Value> dx) {
  if (op->getNumResults() != 1 ||
      !isa<FloatType>(op->getResult(0).getType()) ||
      llvm::all_of(dx, [](Value t) { return !t; }))
    return Value();
  const Rule *rule = lookup(op);
  if (!rule || !rule->derivative)
    return op->emitOpError()
           << "has no derivative rule: the backward of a variant cannot "
              "differentiate through it (attn/Dialect/RegionOps.h lists the "
              "rules)";
  return rule->derivative(b, op, dx);
}

SpeculationGuard attn::regionops::speculationGuard(Operation *op) {
  if (isa<arith::DivSIOp, arith::DivUIOp, arith::RemSIOp, arith::RemUIOp,
          arith::FloorDivSIOp, arith::CeilDivSIOp>(op))
    return SpeculationGuard::Divisor;
  if (isa<arith::ShLIOp, arith::ShRSIOp, arith::ShRUIOp>(op))
    return SpeculationGuard::ShiftAmount;
  if (isa<arith::FPToSIOp, arith::FPToUIOp>(op))
    return SpeculationGuard::FloatSource;
  if (isa<tensor::ExtractOp, tensor::DimOp>(op))
    return SpeculationGuard::Indices;
  return SpeculationGuard::None;
}

/// True for the types a region's scalar code can hold in registers.
static bool isScalarType(Type type) {
  return cppType(type).has_value();
}

/// An scf.if in a region: scalar results, both branches when it yields,
/// each branch held to the region's rules (attn-if-convert turns it into
/// straight-line code with arith.select before anything else reads it).
static LogicalResult verifyRegionIf(scf::IfOp op, llvm::StringRef regionName) {
  if (op.getNumResults() == 0)
    return op.emitOpError() << "without results does nothing in the '"
                            << regionName
                            << "' region of attn ops (region code has no "
                               "side effects): yield the values it computes";
  for (Type type : op.getResultTypes())
    if (!isScalarType(type))
      return op.emitOpError() << "in the '" << regionName
                              << "' region must yield scalars, not " << type;
  for (Region *branch : {&op.getThenRegion(), &op.getElseRegion()})
    if (failed(verifyRegion(*branch, regionName)))
      return failure();
  return success();
}

LogicalResult attn::regionops::verifyRegion(Region &region,
                                            llvm::StringRef regionName) {
  for (Operation &op : region.front()) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    if (auto branch = dyn_cast<scf::IfOp>(op)) {
      if (failed(verifyRegionIf(branch, regionName)))
        return failure();
      continue;
    }
    const Rule *rule = lookup(&op);
    if (!rule) {
      llvm::StringRef dialect = op.getName().getDialectNamespace();
      std::string same;
      for (const Rule &r : kRules)
        if (r.name.starts_with((dialect + ".").str()))
          same += (same.empty() ? "" : ", ") + r.name.drop_front(dialect.size() + 1).str();
      InFlightDiagnostic diag = op.emitOpError()
                                << "is not supported in the '" << regionName
                                << "' region of attn ops";
      if (!same.empty())
        diag << " (supported " << dialect << " ops: " << same << ")";
      else
        diag << " (regions use scalar arith, math and tensor.extract/dim "
                "ops, and scf.if yielding scalars)";
      return diag;
    }
    if (op.getNumRegions() != 0)
      return op.emitOpError() << "with regions is not supported in the '"
                              << regionName << "' region of attn ops";
    if (op.getNumResults() != 1 ||
        !isScalarType(op.getResult(0).getType()))
      return op.emitOpError() << "in the '" << regionName
                              << "' region must have one scalar result "
                                 "(integer, index or float)";
    if (!rule->isTensorRead)
      for (Value operand : op.getOperands())
        if (!isScalarType(operand.getType()))
          return op.emitOpError()
                 << "in the '" << regionName << "' region: operand of type "
                 << operand.getType() << " is not a scalar";
    if (auto constant = dyn_cast<arith::ConstantOp>(op))
      if (!isa<IntegerAttr, FloatAttr>(constant.getValue()))
        return op.emitOpError() << "in the '" << regionName
                                << "' region must be a scalar constant";
  }
  return success();
}
