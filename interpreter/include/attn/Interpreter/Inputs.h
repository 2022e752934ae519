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

} // namespace attn::interp

#endif // ATTN_INTERPRETER_INPUTS_H
