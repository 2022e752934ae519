//===- RegionOps.h - the scalar ops of attn regions, defined once -*- C++ -*-===//
//
// Score, mask and map regions, the masks of attn.tile_class and the scalar
// code of kernel IR are written with upstream arith, math and tensor ops.
// This registry is the one place that says which of them attn supports and
// what each one means to every consumer:
//  - evaluate: its value in float64 / int64 (the reference interpreter);
//  - emitCuda: its CUDA C++ expression (the emitter; calls into the device
//    library's attn/device/scalar.h);
//  - transfer: its abstract transfer function in the mask domain of
//    attn/device/tile_class.h, by number (the compiler's MaskAnalysis and the
//    emitted tile classification both call tc::apply with it).
//  - derivative: its tangent (forward-mode derivative) as new arith/math
//    ops, from which -attn-derive-backward builds the backward cascade.
// The region verifiers reject any op without a rule at its location, so an
// unsupported op never reaches a later stage.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_REGIONOPS_H
#define ATTN_DIALECT_REGIONOPS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Region.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace attn::regionops {

/// The value of an op in the reference interpreter, or why there is none
/// (a static message: integer division by zero, say).
struct EvalResult {
  double value = 0;
  const char *error = nullptr;
};

/// A call of the mask domain's transfer function `op` (tc::Op) with its
/// immediates (tc::apply's imm0..imm2).
struct TcCall {
  int op = 0;
  int64_t imm[3] = {0, 0, 0};
};

/// Everything attn knows about one scalar op.
struct Rule {
  /// The op's name ("arith.addf").
  llvm::StringLiteral name;
  /// The float64 oracle: `x` holds one value per operand (integers exactly,
  /// i1 as 0 or 1). Integer results wrap to their bit width. Null for tensor
  /// reads, which the interpreter performs on its own tensors.
  EvalResult (*evaluate)(mlir::Operation *op, const double *x) = nullptr;
  /// The CUDA C++ expression of the op's result from its operands' C++
  /// expressions; none when the op's attributes are not supported (a
  /// non-scalar constant). Null for tensor reads (the emitter reads memory).
  std::optional<std::string> (*emitCuda)(mlir::Operation *op,
                                         llvm::ArrayRef<std::string> in) =
      nullptr;
  /// The abstract transfer in the mask domain. Null: the result is unknown
  /// (float math), which only ever makes a tile partial. Tensor reads are
  /// summarised by each consumer from the data it has.
  TcCall (*transfer)(mlir::Operation *op) = nullptr;
  /// tensor.extract / tensor.dim: a read of a captured tensor.
  bool isTensorRead = false;
  /// The tangent of the op's (float) result, built at `b` from `dx`, the
  /// tangents of its operands (null: zero, as for every integer operand),
  /// the op itself supplying the primal operands and result. Returns null
  /// when the tangent is zero (a piecewise-constant op: floor, round).
  /// Null for ops whose result is not a float: no derivative flows through
  /// integers and booleans, so they need none.
  mlir::Value (*derivative)(mlir::OpBuilder &b, mlir::Operation *op,
                            llvm::ArrayRef<mlir::Value> dx) = nullptr;
};

/// The rule of `op`, or null when attn does not support it.
const Rule *lookup(mlir::Operation *op);
/// The rule of the op named `name`, or null.
const Rule *lookup(llvm::StringRef name);
/// Every rule, in a stable order (for documentation and tests).
llvm::ArrayRef<Rule> allRules();

/// The tangent of `op`'s result given its operands' tangents `dx` (null:
/// zero): null when all of `dx` are null or the op's result is not a float,
/// else its rule's derivative. Fails (with an error at `op`) for a float op
/// that has no derivative rule.
llvm::FailureOr<mlir::Value> tangent(mlir::OpBuilder &b, mlir::Operation *op,
                                     llvm::ArrayRef<mlir::Value> dx);

/// What an op needs to run where the scf.if branch holding it is not taken
/// (attn-if-convert evaluates both branches and selects): the operands to
/// replace by a safe value there, so that nothing divides by zero, shifts
/// past the width, converts an out-of-range float or reads out of bounds.
enum class SpeculationGuard {
  None,        ///< pure scalar arithmetic: safe as it is
  Divisor,     ///< integer division or remainder: operand 1 becomes 1
  ShiftAmount, ///< shifts: operand 1 becomes 0
  FloatSource, ///< float-to-integer conversions: operand 0 becomes 0.0
  Indices,     ///< tensor.extract / tensor.dim: every index becomes 0
};
/// The guard `op` needs (a region op: one with a rule).
SpeculationGuard speculationGuard(mlir::Operation *op);

/// Checks that every op in `region` (one block ending in its terminator) has
/// a rule and scalar result types, emitting an error at the first op that
/// does not: "'math.sinh' is not supported in the 'score' region of attn ops
/// (supported math ops: ...)". scf.if with scalar results is accepted, its
/// branches held to the same rules (attn-if-convert removes it).
llvm::LogicalResult verifyRegion(mlir::Region &region,
                                 llvm::StringRef regionName);

/// The C++ type holding a scalar of `type` in registers (index and i64 as
/// long long, f16/bf16 as float), or none for other types.
std::optional<std::string> cppType(mlir::Type type, bool isUnsigned = false);

/// C++ spelling of a float constant as a value of `type` (f64 as double, any
/// other float as float): hex literals are exact and locale-independent;
/// non-finite values go through their bit pattern.
std::string floatLiteral(const llvm::APFloat &value, mlir::Type type);

} // namespace attn::regionops

#endif // ATTN_DIALECT_REGIONOPS_H
