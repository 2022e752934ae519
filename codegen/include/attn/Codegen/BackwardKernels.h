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
//  - by default a row reduction whose tiles a column sweep of its level
//    covers (dQ; softmax's D) is accumulated by that sweep with f32 atomics,
//    as FlashAttention-2 does dQ; the deterministic mode gives it a row
//    sweep of its own and sums capture gradients per CTA and then in a
//    fixed order, so two runs give bit-identical gradients.
// Callers without the forward state emit `attn::buildRecomputingBackward`'s
// function, whose first sweeps recompute it.
// Arithmetic is f32 SIMT (the tensor-core path of the backward is not built
// yet). Every global access goes through the device library's accessors.
// The launch description and kernel ABI are attn/Support/BackwardAbi.h.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_BACKWARDKERNELS_H
#define ATTN_CODEGEN_BACKWARDKERNELS_H

#include "attn/Support/BackwardAbi.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::codegen {

/// How to emit the backward kernels.
struct BackwardEmitOptions {
  /// The rows (row sweeps) or keys (column sweeps) a CTA owns, and the keys
  /// or rows of each tile its loop visits. A kernel whose staged rows would
  /// not fit in 96 KB of shared memory beside its tiles and accumulators
  /// halves its block, down to `tile` (d64: 64, d128: 32).
  int64_t block = 64, tile = 32;
  /// Threads per CTA.
  int64_t threads = 128;
  /// No atomics: dQ by a row sweep, capture gradients summed per CTA and
  /// then in a fixed order.
  bool deterministic = false;
};

using abi::BackwardDim;
using abi::BackwardKernel;
using abi::BackwardKernelRole;
using abi::BackwardKernels;
using abi::BackwardTensor;
using abi::BackwardTensorAbi;
using abi::BackwardWorkspaceDim;
using abi::backwardKernelCtas;
using abi::backwardKernelRoleName;
using abi::backwardWorkspaceShape;
using abi::kBackwardMaxRank;
using abi::resolveBackwardDims;

/// Emits the kernels of `backward` (a function built by
/// -attn-derive-backward). Fails with an error at the op the emitter cannot
/// place (a reduction over both keys and rows, a dynamic head dimension).
mlir::FailureOr<BackwardKernels>
emitBackwardKernels(mlir::func::FuncOp backward,
                    const BackwardEmitOptions &options);

} // namespace attn::codegen

#endif // ATTN_CODEGEN_BACKWARDKERNELS_H
