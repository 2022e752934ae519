//===- CudaEmitter.h - kernel IR to CUDA C++ ---------------------*- C++ -*-===//
//
// The first CUDA backend: a SIMT emitter from attn's kernel IR (the output of
// attn-decompose, attn-tile, attn-online, attn-fuse) to CUDA C++ that calls
// only the device library (runtime/include/attn/device/). One CUDA thread
// owns one query row of the Q tile and computes in f32; f16/bf16 tensors are
// read and written through the device library's conversions. K/V tiles are
// read straight from global memory through ld_global.
//
// Later steps (not here): shared-memory staging of K/V with cp.async, the
// tensor-core path (mma.sync m16n8k16 fragments, warps cooperating on a Q
// tile), split-KV launch plans and per-tile summaries of captured tensors for
// run-time block classification.
//
// Kernel ABI: one parameter struct passed by value whose fields are all 8
// bytes wide, in the order of CudaKernel::params (so a host can fill it as an
// array of 8-byte slots). Launch: grid (ceil(Nq / blockM), Hq, B), block
// (blockM); blockIdx.y enumerates the head loops of the IR's grid (for GQA
// the (KV head, group member) pairs, row-major, which is the query head).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_CUDAEMITTER_H
#define ATTN_CODEGEN_CUDAEMITTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn::codegen {

/// Deliberate miscompilations, to prove that the end-to-end checks catch a
/// broken kernel. Never use them for anything else.
enum class EmitDebug {
  None,
  /// Every attn.tile_class says "full": the mask is never evaluated.
  DropMask,
  /// Every KV loop stops one tile early.
  KvBound,
};

/// Parses "none", "drop-mask" or "kv-bound"; false for anything else.
bool parseEmitDebug(llvm::StringRef text, EmitDebug &out);

/// Emitter options.
struct CudaEmitOptions {
  EmitDebug debug = EmitDebug::None;
};

/// One 8-byte field of a kernel's parameter struct.
struct ParamField {
  enum class Kind { Pointer, Int64, Float64 };
  /// Field name: q, k, v, o, lse (pointers); q_extent, q_s0.. (elements);
  /// B, Hq, Hkv, Nq, Nk; c<N> (capture N: pointer or scalar), c<N>_extent,
  /// c<N>_n<d> (sizes), c<N>_s<d> (strides).
  std::string name;
  Kind kind;
};

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
  /// The parameter struct's fields, in order.
  std::vector<ParamField> params;
};

/// Emits the kernel for `func`, a function in kernel IR. Reports unsupported
/// ops and shapes as located errors on the offending op and fails.
mlir::FailureOr<CudaKernel> emitCudaKernel(mlir::func::FuncOp func,
                                           const CudaEmitOptions &options = {});

/// Emits one kernel per public function with a body into `os`.
mlir::LogicalResult emitCudaModule(mlir::ModuleOp module, llvm::raw_ostream &os,
                                   const CudaEmitOptions &options = {});

/// Registers `-attn-emit-cuda` (prints the module's CUDA source, or PTX / a
/// cubin compiled from it with NVRTC and ptxas' resource report).
void registerCodegenPasses();

} // namespace attn::codegen

#endif // ATTN_CODEGEN_CUDAEMITTER_H
