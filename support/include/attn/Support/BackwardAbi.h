//===- BackwardAbi.h - the launch description of backward kernels -*- C++ -*-===//
//
// What the backward emitter (attn/Codegen/BackwardKernels.h) tells a host
// about the kernels it emitted: their tensors, the dimension classes whose
// sizes bind them, their grids and shared memory. Plain C++: the runtime
// links it without LLVM.
//
// Kernel ABI: every kernel takes one `attn_bwd_params` struct: one
// BackwardTensorAbi per tensor of BackwardKernels::tensors, then one double
// per scalar argument of the backward function (all fields 8 bytes).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_BACKWARDABI_H
#define ATTN_SUPPORT_BACKWARDABI_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attn::abi {

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
  /// The dimension class of every dimension of each argument (empty for a
  /// scalar) and of each result: what the sizes of the tensors bound to
  /// them must agree on.
  std::vector<std::vector<unsigned>> argClasses, resultClasses;
};

/// Sizes of every dimension class from the argument shapes (`argShapes[a]`
/// empty for a scalar argument); an error names an unsizable class.
std::optional<std::vector<int64_t>>
resolveBackwardDims(const BackwardKernels &kernels,
                    const std::vector<std::vector<int64_t>> &argShapes,
                    std::string *error);

/// The CTA count of `kernel` for dimension sizes `dimSizes`.
int64_t backwardKernelCtas(const BackwardKernel &kernel,
                           const std::vector<int64_t> &dimSizes);

/// The shape of tensor `t` (a workspace) for `dimSizes`.
std::vector<int64_t> backwardWorkspaceShape(const BackwardKernels &kernels,
                                            const BackwardTensor &t,
                                            const std::vector<int64_t> &dimSizes);

} // namespace attn::abi

#endif // ATTN_SUPPORT_BACKWARDABI_H
