//===- Npy.h - reading and writing NumPy .npy files ---------------*- C++
//-*-===//
//
// Minimal .npy support for interpreter values: version 1.0 files in C order
// with little-endian float32/float64/int32/int64 elements. attn-run saves its
// inputs and outputs this way so that independent checks (numpy) and later
// runs (`--load`) see exactly the same data.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INTERPRETER_NPY_H
#define ATTN_INTERPRETER_NPY_H

#include "attn/Interpreter/Interpreter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace attn::interp {

/// Element types of the .npy files this library reads and writes.
enum class NpyDType { F4, F8, I4, I8 };

/// The NumPy `descr` of `dtype`, e.g. "<f4".
llvm::StringRef npyDescr(NpyDType dtype);

/// Writes `value` (a scalar becomes a 0-d array) to `path` as `dtype`.
/// Integer dtypes require integral values in range.
llvm::Error writeNpy(llvm::StringRef path, const Tensor &value, NpyDType dtype);

/// Reads the array in `path`; its element type is taken from the header and
/// stored in `*dtype` when non-null. A 0-d array becomes a scalar.
llvm::Expected<Tensor> readNpy(llvm::StringRef path, NpyDType *dtype = nullptr);

} // namespace attn::interp

#endif // ATTN_INTERPRETER_NPY_H
