//===- Passes.h - attn passes -------------------------------------*- C++ -*-===//
//
// Pass declarations and the registration shared by every attn tool.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_PASSES_H
#define ATTN_PASSES_PASSES_H

#include "attn/Dialect/AttnDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace attn {

#define GEN_PASS_DECL
#include "attn/Passes/Passes.h.inc"

/// Rewrites one attention op into its einsum cascade (what -attn-decompose
/// does to every op). Fails, with a diagnostic on `op`, when the op cannot be
/// decomposed.
mlir::LogicalResult decomposeAttention(AttentionOp op);

/// The lowering from Level 1 IR to kernel IR.
struct KernelPipelineOptions {
  /// attn-tile's block-m and attn-online's tile-n (0: its heuristic).
  int64_t blockM = 64, blockN = 0;
  /// attn-split-kv{in-place splits=N} before attn-fuse; 0: none.
  int64_t kvSplits = 0;
};

/// Adds attn-decompose, attn-tile, attn-online, [attn-split-kv,] attn-fuse
/// and cse to `pm`: the pipeline the runtime compiles variants with (and
/// the fuzzer fuzzes).
void addKernelPipeline(mlir::OpPassManager &pm,
                       const KernelPipelineOptions &options);

#define GEN_PASS_REGISTRATION
#include "attn/Passes/Passes.h.inc"

} // namespace attn

#endif // ATTN_PASSES_PASSES_H
