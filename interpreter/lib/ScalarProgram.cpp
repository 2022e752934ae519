//===- ScalarProgram.cpp - compiled scalar regions ------------------------===//
//
// Semantics of the upstream scalar ops (arith, math, tensor.extract/dim)
// in float64 / int64. Integer results wrap to their bit width like the
// hardware would; i1 is 0 or 1. Floating-point values are never rounded to
// their declared type: this is the float64 oracle.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/ScalarProgram.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace attn::interp;

llvm::Error attn::interp::errorAt(Operation *op, const llvm::Twine &message) {
  std::string text;
  llvm::raw_string_ostream os(text);
  // Locations print as file:line:col, like compiler diagnostics.
  Location loc = op->getLoc();
  if (auto named = dyn_cast<NameLoc>(loc))
    loc = named.getChildLoc();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn();
  else
    os << loc;
  os << ": '" << op->getName() << "': " << message;
  return llvm::createStringError(llvm::inconvertibleErrorCode(), os.str());
}

namespace {
enum Kind : unsigned {
  Constant, AddF, SubF, MulF, DivF, RemF, NegF, MaxF, MinF, MaxNumF, MinNumF,
  AddI, SubI, MulI, DivSI, DivUI, RemSI, RemUI, FloorDivSI, CeilDivSI, MaxSI,
  MinSI, MaxUI, MinUI, AndI, OrI, XOrI, ShLI, ShRSI, ShRUI, CmpI, CmpF, Select,
  IndexCast, IndexCastUI, SIToFP, UIToFP, FPToSI, FPToUI, ExtF, TruncF, ExtSI,
  ExtUI, TruncI, Exp, Exp2, ExpM1, Log, Log2, Log10, Log1p, Tanh, Sqrt, Rsqrt,
  AbsF, AbsI, Sin, Cos, Tan, Atan, Atan2, Erf, PowF, Floor, Ceil, Round,
  CopySign, Extract, Dim
};
} // namespace

static std::optional<Kind> kindOf(StringRef name) {
  return llvm::StringSwitch<std::optional<Kind>>(name)
      .Case("arith.constant", Constant)
      .Case("arith.addf", AddF).Case("arith.subf", SubF)
      .Case("arith.mulf", MulF).Case("arith.divf", DivF)
      .Case("arith.remf", RemF).Case("arith.negf", NegF)
      .Case("arith.maximumf", MaxF).Case("arith.minimumf", MinF)
      .Case("arith.maxnumf", MaxNumF).Case("arith.minnumf", MinNumF)
      .Case("arith.addi", AddI).Case("arith.subi", SubI)
      .Case("arith.muli", MulI).Case("arith.divsi", DivSI)
      .Case("arith.divui", DivUI).Case("arith.remsi", RemSI)
      .Case("arith.remui", RemUI).Case("arith.floordivsi", FloorDivSI)
      .Case("arith.ceildivsi", CeilDivSI).Case("arith.maxsi", MaxSI)
      .Case("arith.minsi", MinSI).Case("arith.maxui", MaxUI)
      .Case("arith.minui", MinUI).Case("arith.andi", AndI)
      .Case("arith.ori", OrI).Case("arith.xori", XOrI)
      .Case("arith.shli", ShLI).Case("arith.shrsi", ShRSI)
      .Case("arith.shrui", ShRUI).Case("arith.cmpi", CmpI)
      .Case("arith.cmpf", CmpF).Case("arith.select", Select)
      .Case("arith.index_cast", IndexCast)
      .Case("arith.index_castui", IndexCastUI)
      .Case("arith.sitofp", SIToFP).Case("arith.uitofp", UIToFP)
      .Case("arith.fptosi", FPToSI).Case("arith.fptoui", FPToUI)
      .Case("arith.extf", ExtF).Case("arith.truncf", TruncF)
      .Case("arith.extsi", ExtSI).Case("arith.extui", ExtUI)
      .Case("arith.trunci", TruncI)
      .Case("math.exp", Exp).Case("math.exp2", Exp2)
      .Case("math.expm1", ExpM1).Case("math.log", Log)
      .Case("math.log2", Log2).Case("math.log10", Log10)
      .Case("math.log1p", Log1p).Case("math.tanh", Tanh)
      .Case("math.sqrt", Sqrt).Case("math.rsqrt", Rsqrt)
      .Case("math.absf", AbsF).Case("math.absi", AbsI)
      .Case("math.sin", Sin).Case("math.cos", Cos).Case("math.tan", Tan)
      .Case("math.atan", Atan).Case("math.atan2", Atan2)
      .Case("math.erf", Erf).Case("math.powf", PowF)
      .Case("math.floor", Floor).Case("math.ceil", Ceil)
      .Case("math.round", Round).Case("math.copysign", CopySign)
      .Case("tensor.extract", Extract).Case("tensor.dim", Dim)
      .Default(std::nullopt);
}

/// Bit width of an integer-like type: index is 64, iN is N.
static unsigned bitWidth(Type t) {
  if (auto it = dyn_cast<IntegerType>(t))
    return it.getWidth();
  return 64;
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

/// Two's-complement a + b, a - b and a * b: computed in uint64 so that an
/// overflow wraps (as the hardware does) instead of being undefined.
static int64_t addWrap(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}
static int64_t subWrap(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}
static int64_t mulWrap(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) *
                              static_cast<uint64_t>(b));
}

/// Executes one instruction on operand values `x`. Errors are reported for
/// integer division by zero and out-of-bounds tensor accesses.
static llvm::Expected<double> execute(unsigned kind, Operation *op,
                                      double constant, const double *x,
                                      llvm::ArrayRef<const Tensor *> tensors) {
  Type rt = op->getNumResults() ? op->getResult(0).getType() : Type();
  unsigned w = rt ? bitWidth(rt) : 64;
  // Integer operands arrive as doubles; toInt64 is defined for any double
  // (an fptosi of NaN or of an out-of-range value saturates, never traps).
  auto i = [&](int k) { return toInt64(x[k]); };
  auto wrap = [&](int64_t v) { return static_cast<double>(wrapSigned(v, w)); };
  unsigned ow = op->getNumOperands() ? bitWidth(op->getOperand(0).getType())
                                     : 64;
  switch (kind) {
  case Constant: return constant;
  case AddF: return x[0] + x[1];
  case SubF: return x[0] - x[1];
  case MulF: return x[0] * x[1];
  case DivF: return x[0] / x[1];
  case RemF: return std::fmod(x[0], x[1]);
  case NegF: return -x[0];
  case MaxF:
    return std::isnan(x[0]) || std::isnan(x[1]) ? NAN : std::max(x[0], x[1]);
  case MinF:
    return std::isnan(x[0]) || std::isnan(x[1]) ? NAN : std::min(x[0], x[1]);
  case MaxNumF: return std::fmax(x[0], x[1]);
  case MinNumF: return std::fmin(x[0], x[1]);
  case AddI: return wrap(addWrap(i(0), i(1)));
  case SubI: return wrap(subWrap(i(0), i(1)));
  case MulI: return wrap(mulWrap(i(0), i(1)));
  case DivSI: case DivUI: case RemSI: case RemUI: case FloorDivSI:
  case CeilDivSI: {
    if (i(1) == 0)
      return errorAt(op, "integer division by zero");
    int64_t a = i(0), b = i(1);
    if (kind == DivUI)
      return wrap(asUnsigned(a, w) / asUnsigned(b, w));
    if (kind == RemUI)
      return wrap(asUnsigned(a, w) % asUnsigned(b, w));
    // INT64_MIN / -1 overflows: the quotient wraps to INT64_MIN, rem is 0.
    if (b == -1)
      return kind == RemSI ? 0.0 : wrap(subWrap(0, a));
    if (kind == DivSI)
      return wrap(a / b);
    if (kind == RemSI)
      return wrap(a % b);
    int64_t q = a / b, r = a % b;
    if (kind == FloorDivSI)
      return wrap((r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q);
    return wrap((r != 0 && ((r < 0) == (b < 0))) ? q + 1 : q);
  }
  case MaxSI: return std::max(i(0), i(1));
  case MinSI: return std::min(i(0), i(1));
  case MaxUI:
    return asUnsigned(i(0), w) >= asUnsigned(i(1), w) ? x[0] : x[1];
  case MinUI:
    return asUnsigned(i(0), w) <= asUnsigned(i(1), w) ? x[0] : x[1];
  case AndI: return wrap(i(0) & i(1));
  case OrI: return wrap(i(0) | i(1));
  case XOrI: return wrap(i(0) ^ i(1));
  // A shift by the width or more (or by a negative amount, i.e. a huge
  // unsigned one) is poison in MLIR; it shifts everything out here.
  case ShLI:
    return asUnsigned(i(1), w) >= w
               ? 0.0
               : wrap(static_cast<int64_t>(asUnsigned(i(0), w) << i(1)));
  case ShRSI:
    return asUnsigned(i(1), w) >= w ? (i(0) < 0 ? -1.0 : 0.0)
                                    : wrap(i(0) >> i(1));
  case ShRUI:
    return asUnsigned(i(1), w) >= w
               ? 0.0
               : wrap(static_cast<int64_t>(asUnsigned(i(0), w) >> i(1)));
  case CmpI:
    return cmpI(cast<arith::CmpIOp>(op).getPredicate(), i(0), i(1), ow) ? 1.0
                                                                         : 0.0;
  case CmpF:
    return cmpF(cast<arith::CmpFOp>(op).getPredicate(), x[0], x[1]) ? 1.0
                                                                     : 0.0;
  case Select: return x[0] != 0 ? x[1] : x[2];
  case IndexCast: case ExtSI: case TruncI: return wrap(i(0));
  case IndexCastUI: case ExtUI:
    return wrap(static_cast<int64_t>(asUnsigned(i(0), ow)));
  case SIToFP: return static_cast<double>(i(0));
  case UIToFP: return static_cast<double>(asUnsigned(i(0), ow));
  case FPToSI: return wrap(toInt64(x[0]));
  case FPToUI: return wrap(toInt64(x[0]));
  // The oracle keeps float64 everywhere: a float conversion changes the
  // declared type, not the value (inputs are rounded once, up front).
  case ExtF: case TruncF: return x[0];
  case Exp: return std::exp(x[0]);
  case Exp2: return std::exp2(x[0]);
  case ExpM1: return std::expm1(x[0]);
  case Log: return std::log(x[0]);
  case Log2: return std::log2(x[0]);
  case Log10: return std::log10(x[0]);
  case Log1p: return std::log1p(x[0]);
  case Tanh: return std::tanh(x[0]);
  case Sqrt: return std::sqrt(x[0]);
  case Rsqrt: return 1.0 / std::sqrt(x[0]);
  case AbsF: return std::fabs(x[0]);
  case AbsI: return wrap(i(0) < 0 ? subWrap(0, i(0)) : i(0));
  case Sin: return std::sin(x[0]);
  case Cos: return std::cos(x[0]);
  case Tan: return std::tan(x[0]);
  case Atan: return std::atan(x[0]);
  case Atan2: return std::atan2(x[0], x[1]);
  case Erf: return std::erf(x[0]);
  case PowF: return std::pow(x[0], x[1]);
  case Floor: return std::floor(x[0]);
  case Ceil: return std::ceil(x[0]);
  case Round: return std::round(x[0]);
  case CopySign: return std::copysign(x[0], x[1]);
  case Extract: case Dim: {
    const Tensor *t = tensors.empty() ? nullptr : tensors[0];
    if (!t)
      return errorAt(op, "operand is not a host tensor");
    if (kind == Dim) {
      int64_t d = i(1);
      if (d < 0 || d >= static_cast<int64_t>(t->shape.size()))
        return errorAt(op, "dimension " + llvm::Twine(d) +
                               " out of range for a rank-" +
                               llvm::Twine(t->shape.size()) + " tensor");
      return static_cast<double>(t->shape[d]);
    }
    int64_t index[8];
    size_t rank = t->shape.size();
    for (size_t d = 0; d < rank; ++d) {
      index[d] = i(1 + d);
      if (index[d] < 0 || index[d] >= t->shape[d])
        return errorAt(op, "index " + llvm::Twine(index[d]) +
                               " out of bounds for dimension " +
                               llvm::Twine(d) + " of size " +
                               llvm::Twine(t->shape[d]));
    }
    return t->data[t->offset(index)];
  }
  }
  return errorAt(op, "unhandled instruction");
}

/// The value of an arith.constant with a scalar (int, index, float) value.
static llvm::Expected<double> constantValue(Operation *op) {
  auto attr = cast<arith::ConstantOp>(op).getValue();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    if (i.getType().isInteger(1))
      return i.getValue().getZExtValue() ? 1.0 : 0.0;
    return static_cast<double>(i.getValue().getSExtValue());
  }
  return errorAt(op, "only scalar constants are supported in scalar code");
}

llvm::Expected<ScalarProgram> ScalarProgram::compile(Block &block) {
  ScalarProgram program;
  llvm::DenseMap<mlir::Value, int> slotOf;
  for (BlockArgument arg : block.getArguments())
    slotOf[arg] = program.numSlots++;
  program.numArgs = program.numSlots;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      for (mlir::Value v : op.getOperands())
        program.yielded.push_back(slotOf.lookup(v));
      break;
    }
    std::optional<Kind> kind = kindOf(op.getName().getStringRef());
    if (!kind)
      return errorAt(&op, "the reference interpreter cannot execute this op");
    if (op.getNumRegions() || op.getNumResults() != 1)
      return errorAt(&op, "expected a scalar op with one result");
    Instr instr{*kind, static_cast<int>(program.numSlots++), {}, &op};
    if (*kind == Constant) {
      llvm::Expected<double> c = constantValue(&op);
      if (!c)
        return c.takeError();
      instr.constant = *c;
    }
    for (mlir::Value v : op.getOperands()) {
      auto it = slotOf.find(v);
      if (it == slotOf.end())
        return errorAt(&op, "operand defined outside the region");
      instr.operands.push_back(it->second);
    }
    slotOf[op.getResult(0)] = instr.result;
    program.instrs.push_back(std::move(instr));
  }
  return program;
}

llvm::Error ScalarProgram::run(llvm::ArrayRef<double> args,
                               llvm::ArrayRef<const Tensor *> tensors,
                               llvm::SmallVectorImpl<double> &results) const {
  llvm::SmallVector<double, 64> slots(numSlots, 0.0);
  for (unsigned a = 0; a < numArgs && a < args.size(); ++a)
    slots[a] = args[a];
  double operands[8];
  for (const Instr &instr : instrs) {
    size_t n = std::min<size_t>(instr.operands.size(), 8);
    for (size_t k = 0; k < n; ++k)
      operands[k] = slots[instr.operands[k]];
    const Tensor *tensor = nullptr;
    if ((instr.kind == Extract || instr.kind == Dim) &&
        instr.operands[0] < static_cast<int>(tensors.size()))
      tensor = tensors[instr.operands[0]];
    llvm::Expected<double> r =
        execute(instr.kind, instr.op, instr.constant, operands,
                tensor ? llvm::ArrayRef<const Tensor *>(tensor)
                       : llvm::ArrayRef<const Tensor *>());
    if (!r)
      return r.takeError();
    slots[instr.result] = *r;
  }
  results.clear();
  for (int s : yielded)
    results.push_back(slots[s]);
  return llvm::Error::success();
}

llvm::Expected<double>
ScalarProgram::evalOne(Operation *op, llvm::ArrayRef<double> operands,
                       llvm::ArrayRef<const Tensor *> tensors) {
  std::optional<Kind> kind = kindOf(op->getName().getStringRef());
  if (!kind)
    return errorAt(op, "the reference interpreter cannot execute this op");
  double constant = 0;
  if (*kind == Constant) {
    llvm::Expected<double> c = constantValue(op);
    if (!c)
      return c.takeError();
    constant = *c;
  }
  double x[8] = {0};
  for (size_t k = 0; k < operands.size() && k < 8; ++k)
    x[k] = operands[k];
  return execute(*kind, op, constant, x, tensors);
}
