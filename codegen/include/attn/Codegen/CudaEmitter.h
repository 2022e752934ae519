//===- CudaEmitter.h - kernel IR to CUDA C++ ---------------------*- C++ -*-===//
//
// The CUDA backend: attn's kernel IR (the output of attn-decompose,
// attn-tile, attn-online, attn-fuse) to CUDA C++ that calls only the device
// library (device/include/attn/device/). Two paths, chosen per kernel
// (attn::KernelPath, the dialect's enum of #attn.target):
//  - tensor cores (codegen/lib/MmaEmitter.cpp): f16/bf16, block-m/16 warps of
//    16 query rows, tiles in the mma.sync m16n8k16 accumulator layout, K/V
//    double-buffered in shared memory with cp.async;
//  - SIMT: one CUDA thread per query row of the Q tile, f32 arithmetic, K/V
//    read through ld_global.
// A function is a launch plan (emitCudaPlan): tile summaries of captured
// tensors, the kernel(s) proper, and for split-KV a merge kernel.
//
// Kernel ABI: one parameter struct passed by value whose fields are all 8
// bytes wide, in the order of CudaKernel::params (so a host can fill it as an
// array of 8-byte slots); every kernel of a plan takes the same struct.
// Launch: grid (ceil(Nq / blockM), Hq, B), block (CudaKernel::threads),
// CudaKernel::dynamicSmemBytes of dynamic shared memory; blockIdx.y
// enumerates the head loops of the IR's grid (for GQA the (KV head, group
// member) pairs, row-major, which is the query head).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_CUDAEMITTER_H
#define ATTN_CODEGEN_CUDAEMITTER_H

#include "attn/Dialect/AttnDialect.h"
#include "attn/Support/KernelAbi.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::codegen {

/// Deliberate miscompilations of the printer (decisions the kernel IR does
/// not spell out yet), to prove that the end-to-end checks catch a subtly
/// broken kernel. Never use them for anything else. Miscompilations of the
/// kernel IR itself are test passes (test/lib).
enum class EmitDebug {
  None,
  /// Tensor-core path: the K fragments of Q·Kᵀ come from the neighbouring
  /// n-tile (a fragment index off by one).
  FragmentIndex,
  /// Tensor-core path: V's fragments for P·V are read like K's, without the
  /// transposing ldmatrix.
  VUntransposed,
  /// Tensor-core path: the K/V pipeline waits for one cp.async group too
  /// few, so a stage may be read before it has landed.
  EarlyWait,
  /// Tensor-core path with col_groups > 1: S's exchange between a row
  /// group's warps reads the shared buffer without the barrier after its
  /// writes (a data race).
  ExchangeNoBarrier,
};

/// Parses "none", "fragment-index", "v-untransposed", "early-wait" or
/// "exchange-no-barrier"; false for anything else.
bool parseEmitDebug(llvm::StringRef text, EmitDebug &out);

/// Shared memory per CTA that every supported arch grants with the opt-in
/// (sm_86 / sm_89: 99 KB); the default limit of CudaEmitOptions.
constexpr int64_t kPortableMaxSmemBytes = 99 * 1024;

/// Per-thread arrays (SIMT tiles, fragments) a kernel may declare: a GPU
/// thread's local memory is at most 512 KB. The emulator's fiber stacks
/// (attn::emu::LaunchConfig::fiberStackBytes) are sized to hold this plus
/// the frames around it, so a kernel the emitter accepts never overflows one.
constexpr int64_t kMaxThreadArrayBytes = 512 * 1024;

/// The tensor-core path's tile limits: block-m (query rows per CTA, 16 per
/// warp) and block-n (keys per KV tile), both multiples of 16.
constexpr int64_t kMmaMaxBlockM = 128;
constexpr int64_t kMmaMaxBlockN = 256;

/// Threads per CTA a launch may have (the SIMT path: one per query row).
constexpr int64_t kMaxThreadsPerCta = 1024;

/// Emitter options.
struct CudaEmitOptions {
  EmitDebug debug = EmitDebug::None;
  /// Auto: tensor cores when the variant allows (f16/bf16 Q, K, V; head dims
  /// and tile sizes multiples of 16), else SIMT, keeping the reason. Simt:
  /// one thread per query row, f32 arithmetic. Mma: mma.sync m16n8k16, K/V
  /// staged in shared memory; an error when the variant does not fit.
  KernelPath path = KernelPath::Auto;
  /// Shared memory a CTA may use; a kernel needing more is an error (on the
  /// tensor-core path under KernelPath::Auto: a fallback to SIMT).
  int64_t maxSmemBytes = kPortableMaxSmemBytes;
  /// A variable-length batch (FlashAttention's varlen layout): q, o
  /// [total_q, Hq, D], k, v [total_k, Hkv, D] and lse [Hq, total_q] packed
  /// back to back, sequence b at rows [cu_seqlens_q[b], cu_seqlens_q[b+1])
  /// and [cu_seqlens_k[b], cu_seqlens_k[b+1]). The kernels take the two
  /// offset arrays (int32, B + 1 entries) and run each sequence as its own
  /// problem: CTA z reads its sequence's starts and lengths, and sees Nq and
  /// Nk, the packed tensors and the captures packed like them (a capture
  /// without a "b" entry in attn.dims: its "nq" or "nk" dimensions) from
  /// there. The grid is sized from the longest sequence. Plain plans only
  /// (no split-KV).
  bool varlen = false;
  /// A paged KV cache (vLLM's, FlashInfer's): k and v are pages
  /// [num_pages, page_size, Hkv, D] of a power-of-two size, sequence b's
  /// pages listed in row b of a block table (int32 [B, max_pages]) and its
  /// key count in seq_lens_k[b] (int32 [B]). Each CTA rebases the table on
  /// its sequence and takes Nk from it; the K/V loaders gather rows through
  /// the table (a tile may span pages). With `varlen` the queries are packed
  /// (cu_seqlens_q) and the keys paged; without, q is dense [B, Hq, Nq, D]
  /// and split-KV plans are allowed.
  bool pagedKv = false;
};

/// One 8-byte field of a kernel's parameter struct, typed (attn/Support/
/// KernelAbi.h): q, k, v, o, lse (pointers) with <t>_extent and <t>_s<d>
/// (strides in elements); B, Hq, Hkv, Nq, Nk; S (a split count chosen at
/// launch); ws<N>, sum<N> with their extents; c<N> (capture N: pointer or
/// scalar), c<N>_extent, c<N>_n<d> (sizes), c<N>_s<d> (strides);
/// cu_seqlens_q, cu_seqlens_k with their extents (varlen plans);
/// block_table (with its extent and row stride), seq_lens_k, page_shift
/// (paged KV plans).
using ParamField = abi::Field;

/// What a kernel is in its function's launch plan.
enum class KernelRole {
  /// The whole computation (a function without a split-KV plan).
  Whole,
  /// Split-KV, first launch: one CTA per (Q tile, head, split) writes the
  /// split's running values to the workspaces (grid.y = Hq x splits).
  SplitPartials,
  /// Split-KV, second launch: one CTA per (Q tile, head) merges the splits'
  /// values with the variant's combine and writes o (and lse).
  SplitMerge,
  /// Runs first when a mask reads captured integer tensors: min and max of
  /// every 16-element block of each such tensor's last dimension, which the
  /// other kernels' tile classification reads (sum<N> for capture N) to skip
  /// or run mask-free the tiles the data decides. A grid-stride loop:
  /// launch it with any grid (CudaKernel::fixedGridX).
  TileSummaries,
};

/// The most KV splits a launch of a split-KV plan whose count is chosen at
/// launch (attn.kv_splits) may use.
inline constexpr int64_t kMaxLaunchKvSplits = 64;

/// An emitted kernel.
struct CudaKernel {
  /// The `extern "C" __global__` function (also its ATTN_KERNEL_ENTRY name).
  std::string name;
  /// Complete CUDA C++ source; includes only attn/device headers.
  std::string source;
  /// Query rows per CTA (the Q tile, `block-m`): grid.x = ceil(Nq / blockM).
  int64_t blockM = 0;
  /// Threads per CTA (blockDim.x): blockM on the SIMT path, 32 x warps on
  /// the tensor-core path.
  int64_t threads = 0;
  /// Bytes of dynamic shared memory the launch must provide (and opt in to
  /// when over 48 KB).
  int64_t dynamicSmemBytes = 0;
  /// "simt" or "mma" (the tensor-core path).
  std::string path = "simt";
  /// On the tensor-core path: the contractions run on sm_90a's wgmma (the
  /// schedule's `wgmma`), not mma.sync.
  bool wgmma = false;
  /// K/V stages are loaded by TMA (tensor maps among the parameters) when
  /// the tensors allow it at launch (tma_view_ok), else by cp.async.
  bool tma = false;
  /// Under KernelPath::Auto, why the tensor-core path was not taken (empty
  /// when it was, or when it was not tried).
  std::string fallbackReason;
  /// The parameter struct's fields, in order.
  std::vector<ParamField> params;
  KernelRole role = KernelRole::Whole;
  /// KV splits (1 unless split-KV): grid.y = Hq x splits for SplitPartials.
  /// 0: chosen at launch (attn.kv_splits): the launcher picks S ≥ 1, binds
  /// the parameter `S` and sizes grid.y = Hq x S and the workspaces by it.
  int64_t splits = 1;
  /// When splits is 0: the most splits a launch may choose,
  /// kMaxLaunchKvSplits (the merge holds one factor per split per row).
  int64_t maxSplits = 0;
  /// TileSummaries: the grid (fixedGridX, 1, 1) it is meant to run with.
  int64_t fixedGridX = 0;
};

/// The kernels of one function in launch order, and the f32 workspaces that
/// pass values between them (parameters ws0, ws1, ... with ws<N>_extent).
struct CudaPlan {
  std::vector<CudaKernel> kernels;
  /// Per workspace: f32 elements per CTA of the merge grid (ceil(Nq /
  /// blockM) x Hq x B CTAs) and per split: blockM x the value's feature
  /// size. A launch allocates this x CTAs x its split count.
  std::vector<int64_t> workspaceElementsPerCta;
  /// Captures (numbered from 0 after q, k, v) with tile summaries: buffer
  /// sum<N> holds 2 x rows x ceil(last / 16) int64 values, rows being the
  /// product of the capture's other dimensions.
  std::vector<unsigned> summarizedCaptures;
};

/// Emits the kernel for `func`, a function in kernel IR without a split-KV
/// plan. Reports unsupported ops and shapes as located errors on the
/// offending op and fails.
mlir::FailureOr<CudaKernel> emitCudaKernel(mlir::func::FuncOp func,
                                           const CudaEmitOptions &options = {});

/// Emits every kernel of `func`'s launch plan: one kernel, or for a split-KV
/// function (a grid loop tagged attn.grid = "s", from -attn-split-kv) the
/// partial-state kernel followed by the merge kernel (always SIMT: it reads
/// a few values per row).
mlir::FailureOr<CudaPlan> emitCudaPlan(mlir::func::FuncOp func,
                                       const CudaEmitOptions &options = {});



} // namespace attn::codegen

#endif // ATTN_CODEGEN_CUDAEMITTER_H
