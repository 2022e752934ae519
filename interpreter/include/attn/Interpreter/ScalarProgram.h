//===- ScalarProgram.h - compiled scalar regions ------------------*- C++ -*-===//
//
// A score, mask or map body runs once per attention element, so it is
// compiled once into a flat list of instructions over numbered slots instead
// of being re-walked through the IR each time.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INTERPRETER_SCALARPROGRAM_H
#define ATTN_INTERPRETER_SCALARPROGRAM_H

#include "attn/Interpreter/Interpreter.h"

#include "mlir/IR/Block.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

#include <string>

namespace attn {
namespace regionops {
struct Rule;
} // namespace regionops
} // namespace attn

namespace attn::interp {

/// Builds an llvm::Error whose message names `op` and its location.
llvm::Error errorAt(mlir::Operation *op, const llvm::Twine &message);

/// Operands a scalar op may have (tensor.extract: the tensor and up to 8
/// indices).
constexpr size_t kMaxOperands = 9;

/// One scalar operation over slots: its registry rule, result slot, operand
/// slots, and the operation itself (for its predicate and types).
struct Instr {
  const regionops::Rule *rule;
  int result;
  llvm::SmallVector<int, 3> operands;
  mlir::Operation *op;
  /// The value of an arith.constant, evaluated once.
  double constant = 0;
};

/// A compiled scalar block. Slots hold scalars as double (integers exactly,
/// up to 2^53); tensor-typed block arguments refer to host tensors.
class ScalarProgram {
public:
  /// Compiles `block` (ending in attn.yield, scf.yield or func.return).
  /// Fails naming the first op the interpreter cannot execute.
  static llvm::Expected<ScalarProgram> compile(mlir::Block &block);

  /// Runs the program. `args` gives one scalar per block argument (ignored
  /// for tensor arguments), `tensors` one pointer per block argument (null
  /// for scalars). Returns the yielded scalars in `results`.
  llvm::Error run(llvm::ArrayRef<double> args,
                  llvm::ArrayRef<const Tensor *> tensors,
                  llvm::SmallVectorImpl<double> &results) const;

  /// Evaluates one scalar op on given operand values (used for the scalar
  /// ops of a function body outside any region).
  static llvm::Expected<double> evalOne(mlir::Operation *op,
                                        llvm::ArrayRef<double> operands,
                                        llvm::ArrayRef<const Tensor *> tensors);

private:
  unsigned numArgs = 0;
  unsigned numSlots = 0;
  std::vector<Instr> instrs;
  llvm::SmallVector<int> yielded;
};

} // namespace attn::interp

#endif // ATTN_INTERPRETER_SCALARPROGRAM_H
