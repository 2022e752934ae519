//===- Inputs.h - seeded test inputs for a variant ----------------*- C++ -*-===//
//
// Binds the dynamic sizes of a variant's function (q, k, v, then captures)
// and draws its inputs: q, k, v standard normal; each capture from the
// generator its `attn.gen` argument attribute declares (never all zeros).
// Shared by attn-run, the semantic-preservation harness and unit tests.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INTERPRETER_INPUTS_H
#define ATTN_INTERPRETER_INPUTS_H

#include "attn/Interpreter/Interpreter.h"

#include <map>
#include <optional>
#include <string>

namespace attn::interp {

/// Sizes of the named dimensions of a variant: b (batch), hq, hkv (heads),
/// nq, nk (lengths). Unset entries are taken from static dims, else defaults.
struct SizeBindings {
  std::optional<int64_t> b, hq, hkv, nq, nk;
};

/// The concrete shape of every function argument, after binding.
struct BoundShapes {
  std::vector<std::vector<int64_t>> args;
  /// Final values of the named sizes.
  std::map<std::string, int64_t> sizes;
};

/// Resolves every argument's shape. Fails with a message naming the argument
/// and dimension if a binding contradicts a static size, or a capture has a
/// dynamic dimension without an `attn.dims` entry.
llvm::Expected<BoundShapes> bindShapes(mlir::func::FuncOp func,
                                       const SizeBindings &bindings);

/// Draws seeded inputs for all arguments. Floating-point q, k, v are rounded
/// to `qkvType` (their IR element type when null).
llvm::Expected<std::vector<Tensor>> makeInputs(mlir::func::FuncOp func,
                                              const BoundShapes &shapes,
                                              uint64_t seed,
                                              mlir::Type qkvType = {});

/// The values an integer (or index) element type accepts from outside:
/// [-2^(w-1), 2^w - 1] (the signed and the unsigned reading of w bits), at
/// most +-2^53, the integers a float64 Tensor holds exactly.
std::pair<double, double> integerRange(mlir::Type elementType);

/// Checks that every element of `value`, the input `name` of element type
/// `elementType`, is an integer in integerRange when the type is an integer
/// or index type (floats pass). NaN, 1e300 or 2^63 in an integer capture are
/// errors naming the input, the element and the range.
llvm::Error checkIntegerValues(llvm::StringRef name, const Tensor &value,
                               mlir::Type elementType);

} // namespace attn::interp

#endif // ATTN_INTERPRETER_INPUTS_H
