//===- BackwardKernels.h - CUDA kernels of a derived backward ----*- C++ -*-===//
//
// The backward of a variant as CUDA kernels, emitted from the function
// -attn-derive-backward builds (`<name>_backward`: the reverse-mode
// derivative of the einsum cascade), so that no normalizer, score region or
// capture has kernel code of its own. The emitter reads the cascade:
//  - the dimensions of all its tensors are unified into classes (one per loop
//    of the index space: batch, heads, query rows, keys, head dims; GQA's
//    query head is the pair (KV head, group member));
//  - a reduction over the keys (a row result: D-like row sums, dQ) is a
//    *row sweep*: a Q-parallel kernel, each CTA owning a block of query rows
//    and looping over key tiles; a reduction over the query rows (dK, dV) is
//    a *column sweep*: a KV-parallel kernel, each CTA owning a block of keys
//    and looping over query tiles (FlashAttention-2's structure). The score
//    tile's element-wise values (S, P, dP, dS) are recomputed per tile into
//    shared memory and read by every reduction of the kernel;
//  - reductions are ordered by what they read (a sum that needs another sum
//    runs in a later sweep), element-wise values are recomputed where they
//    are needed, and the gradient of a captured table (attn.scatter_add) is
//    a point-wise kernel over its domain;
//  - by default dQ (a row result read by nothing but the gradient) is
//    accumulated by the column sweep with f32 atomics, as FlashAttention-2
//    does; the deterministic mode computes it by a row sweep instead and sums
//    capture gradients per CTA and then in a fixed order, so two runs give
//    bit-identical gradients.
// Arithmetic is f32 SIMT (the tensor-core path of the backward is not built
// yet). Every global access goes through the device library's accessors.
//
// Kernel ABI: every kernel takes one `attn_bwd_params` struct: one
// BackwardTensorAbi per tensor of BackwardKernels::tensors, then one double
// per scalar argument of the backward function.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_BACKWARDKERNELS_H
#define ATTN_CODEGEN_BACKWARDKERNELS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::codegen {

/// How to emit the backward kernels.
struct BackwardEmitOptions {
  /// Query rows per tile (row sweeps: per CTA) and keys per tile (column
  /// sweeps: per CTA).
  int64_t blockM = 32, blockN = 32;
  /// Threads per CTA.
  int64_t threads = 128;
  /// No atomics: dQ by a row sweep, capture gradients summed per CTA and
  /// then in a fixed order.
  bool deterministic = false;
};

/// The most dimensions of a tensor the ABI carries.
constexpr unsigned kBackwardMaxRank = 8;

/// One tensor in the kernels' parameter struct (the generated source
/// declares the same layout as `attn_bwd_tensor`). Strides in elements;
/// `extent` is the number of elements the accessors may reach.
struct BackwardTensorAbi {
  void *data = nullptr;
  int64_t extent = 0;
  int64_t size[kBackwardMaxRank] = {};
  int64_t stride[kBackwardMaxRank] = {};
};

/// One dimension class of the backward's index space: where its size comes
/// from. Exactly one of the four is set.
struct BackwardDim {
  /// The size when the IR fixes it, else -1.
  int64_t staticSize = -1;
  /// The size of dimension `dim` of function argument `arg`.
  int arg = -1, dim = -1;
  /// The product of these classes' sizes (a query head that is GQA's (KV
  /// head, group member) pair).
  std::vector<unsigned> productOf;
  /// The size of class `quotientOf` divided by the sizes of `quotientBy`
  /// (the group of GQA when the query and KV head counts are dynamic).
  int quotientOf = -1;
  std::vector<unsigned> quotientBy;
};

/// One dimension of a workspace: a class's size, or the CTA count of a
/// kernel (per-CTA partial sums of the deterministic mode).
struct BackwardWorkspaceDim {
  int dimClass = -1;
  int ctasOfKernel = -1;
};

/// One tensor the kernels read or write.
struct BackwardTensor {
  enum class Kind {
    /// A tensor argument of the backward function (read only).
    Argument,
    /// A result of the backward function (a gradient, f32; written).
    Gradient,
    /// The runtime's f32 scratch (zero-filled before the first kernel).
    Workspace,
  };
  Kind kind = Kind::Argument;
  /// Argument or result number; for a workspace its ordinal.
  unsigned index = 0;
  /// "a0", "g1", "w2" with what it holds ("w2 (row sums of %12)").
  std::string name;
  /// Workspace: its dimensions, row-major and compact.
  std::vector<BackwardWorkspaceDim> dims;
};

/// What one kernel computes (decides its grid).
enum class BackwardKernelRole {
  /// Q-parallel: CTAs own query-row blocks and loop over keys.
  RowSweep,
  /// KV-parallel: CTAs own key blocks and loop over query rows.
  ColumnSweep,
  /// One thread per element of a domain (a capture gradient's scatter, a
  /// result written from the sweeps' values).
  Pointwise,
  /// Deterministic mode: one thread per capture element sums the per-CTA
  /// partials in CTA order.
  SumPartials,
};

/// "row-sweep", "column-sweep", "pointwise" or "sum-partials".
const char *backwardKernelRoleName(BackwardKernelRole role);

/// One kernel, in launch order.
struct BackwardKernel {
  std::string name;
  BackwardKernelRole role = BackwardKernelRole::Pointwise;
  /// CTAs = ceil(prod(sizes of productClasses) / productDivisor) x
  /// prod(ceil(size(c) / block) for (c, block) in blockedClasses); a 1-D
  /// grid.
  std::vector<unsigned> productClasses;
  int64_t productDivisor = 1;
  std::vector<std::pair<unsigned, int64_t>> blockedClasses;
  int64_t threads = 128;
  int64_t dynamicSmemBytes = 0;
  /// One line: what it computes ("row sums %9, %16; dQ ...").
  std::string summary;
};

/// The backward's kernels and what launching them needs.
struct BackwardKernels {
  /// The backward function's name.
  std::string function;
  /// The CUDA C++ of every kernel (one translation unit).
  std::string source;
  std::vector<BackwardDim> dims;
  /// The parameter struct's tensors, in order.
  std::vector<BackwardTensor> tensors;
  /// The function's scalar arguments (by argument number), in the order of
  /// the struct's doubles.
  std::vector<unsigned> scalarArgs;
  std::vector<BackwardKernel> kernels;
  bool deterministic = false;
};

/// Emits the kernels of `backward` (a function built by
/// -attn-derive-backward). Fails with an error at the op the emitter cannot
/// place (a reduction over both keys and rows, a dynamic head dimension).
mlir::FailureOr<BackwardKernels>
emitBackwardKernels(mlir::func::FuncOp backward,
                    const BackwardEmitOptions &options);

/// Sizes of every dimension class from the argument shapes (`argShapes[a]`
/// empty for a scalar argument); an error names an unsizable class.
llvm::Expected<std::vector<int64_t>>
resolveBackwardDims(const BackwardKernels &kernels,
                    llvm::ArrayRef<std::vector<int64_t>> argShapes);

/// The CTA count of `kernel` for dimension sizes `dimSizes`.
int64_t backwardKernelCtas(const BackwardKernel &kernel,
                           llvm::ArrayRef<int64_t> dimSizes);

/// The shape of tensor `t` (a workspace) for `dimSizes`.
std::vector<int64_t> backwardWorkspaceShape(const BackwardKernels &kernels,
                                            const BackwardTensor &t,
                                            llvm::ArrayRef<int64_t> dimSizes);

} // namespace attn::codegen

#endif // ATTN_CODEGEN_BACKWARDKERNELS_H
