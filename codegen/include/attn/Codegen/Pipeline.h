//===- Pipeline.h - the compile pipeline, defined once -----------*- C++ -*-===//
//
// Level 1 IR to scheduled kernel IR: the one pipeline every tool uses
// (attn-opt's --emit on Level 1 IR, attn-run, the JIT runtime, the
// benchmarks), and `attn-pipeline{...}` in textual pass pipelines. Its
// options are the compile-time knobs of a variant: tile sizes, warps,
// stages, the KV loop's unroll factor, the element type, KV splits, the
// target arch and kernel path. It lives with the backend because its last
// passes decide the CUDA schedule.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_PIPELINE_H
#define ATTN_CODEGEN_PIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace attn {

/// The options of attn-pipeline.
struct AttnPipelineOptions
    : public mlir::PassPipelineOptions<AttnPipelineOptions> {
  Option<int64_t> blockM{
      *this, "block-m",
      llvm::cl::desc("query rows per CTA (the Q tile); 0: attn-tile's choice "
                     "(128 for f16/bf16 with head dims up to 128, else 64)"),
      llvm::cl::init(0)};
  Option<int64_t> blockN{
      *this, "block-n",
      llvm::cl::desc("keys per KV tile (0: attn-online's heuristic)"),
      llvm::cl::init(0)};
  Option<int64_t> warps{
      *this, "warps",
      llvm::cl::desc("warps per CTA (0: attn-schedule's choice: on tensor "
                     "cores 32 rows per warp for Q tiles of 128 rows or "
                     "more when the accumulators fit, else 16; more "
                     "warps than 16-row tiles share each 16 rows, "
                     "splitting O's columns: col_groups)"),
      llvm::cl::init(0)};
  Option<int64_t> stages{*this, "stages",
                         llvm::cl::desc("K/V pipeline stages"),
                         llvm::cl::init(2)};
  Option<int64_t> unroll{*this, "unroll",
                         llvm::cl::desc("KV loop unroll factor"),
                         llvm::cl::init(1)};
  Option<std::string> dtype{
      *this, "dtype",
      llvm::cl::desc("element type of q, k, v and o: f16, bf16, f32 "
                     "(empty: as written)"),
      llvm::cl::init("")};
  Option<int64_t> splitKv{
      *this, "split-kv",
      llvm::cl::desc("the split-KV launch plan: 0: none; 1: split every "
                     "KV loop, the split count chosen at launch "
                     "(attn.kv_splits); N >= 2: N splits compiled in"),
      llvm::cl::init(0)};
  Option<bool> foldExp2{*this, "fold-exp2",
                        llvm::cl::desc("fold log2(e) into the scores (exp2)"),
                        llvm::cl::init(true)};
  Option<bool> leanMaps{*this, "lean-maps",
                        llvm::cl::desc("-attn-lean-maps: fold constant "
                                       "multiplies, anchored exp2 per row"),
                        llvm::cl::init(true)};
  Option<bool> keyBounds{
      *this, "key-bounds",
      llvm::cl::desc("narrow KV loops to the keys a Q tile can attend to"),
      llvm::cl::init(true)};
  Option<std::string> arch{
      *this, "arch",
      llvm::cl::desc("CUDA arch (sm_80, sm_90, ...); empty: any"),
      llvm::cl::init("")};
  Option<std::string> path{
      *this, "path", llvm::cl::desc("kernel path: auto, simt or mma"),
      llvm::cl::init("auto")};
};

/// Adds attn-pipeline's passes to `pm` (a builtin.module pass manager):
/// [attn-set-dtype,] attn-decompose, [attn-fold-exp2,] attn-tile,
/// attn-online, [attn-split-kv{in-place},] attn-fuse, cse, [attn-lean-maps,]
/// attn-set-target, attn-schedule, attn-hoist-fragments, attn-stage-kv,
/// attn-mark-accumulate, attn-specialize-interior.
void buildAttnPipeline(mlir::OpPassManager &pm,
                       const AttnPipelineOptions &options);

/// Registers `attn-pipeline` for textual pipelines and the tools' flags.
void registerAttnPipeline();

} // namespace attn

#endif // ATTN_CODEGEN_PIPELINE_H
