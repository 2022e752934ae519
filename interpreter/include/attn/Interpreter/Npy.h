//===- Npy.h - reading and writing NumPy .npy files ------------*- C++ -*-===//
//
// .npy support for interpreter values. Reads what numpy writes: versions
// 1.0-3.0, C or Fortran order, little-endian float16/float32/float64/int32/
// int64 elements; big-endian, object (pickled) and other dtypes are refused
// with a message saying how to convert. Writes version 1.0, C order. attn-run
// saves its inputs and outputs this way so that independent checks (numpy)
// and later runs (`--load`) see exactly the same data.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_INTERPRETER_NPY_H
#define ATTN_INTERPRETER_NPY_H

#include "attn/Interpreter/Interpreter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace attn::interp {

/// Element types of the .npy files this library reads and writes.
enum class NpyDType { F2, F4, F8, I4, I8 };

/// The NumPy `descr` of `dtype`, e.g. "<f4".
llvm::StringRef npyDescr(NpyDType dtype);

/// Writes `value` (a scalar becomes a 0-d array) to `path` as `dtype`.
/// Integer dtypes require integral values in range.
llvm::Error writeNpy(llvm::StringRef path, const Tensor &value, NpyDType dtype);

/// What a .npy header declares.
struct NpyHeader {
  std::vector<int64_t> shape;
  NpyDType dtype = NpyDType::F8;
};

/// Reads the array in `path`; its element type is taken from the header and
/// stored in `*dtype` when non-null. A 0-d array becomes a scalar. `path`
/// must be a regular file (after following symbolic links; a device such as
/// /dev/zero, a FIFO or a directory is refused unread), and the shape its
/// header declares must match the bytes it holds, which is checked before
/// the elements are allocated. Errors name the file.
llvm::Expected<Tensor> readNpy(llvm::StringRef path, NpyDType *dtype = nullptr);

/// The header of the .npy file `path`, checked as readNpy checks it (a
/// regular file whose size matches the declared shape), without reading
/// the elements.
llvm::Expected<NpyHeader> readNpyHeader(llvm::StringRef path);

} // namespace attn::interp

#endif // ATTN_INTERPRETER_NPY_H
