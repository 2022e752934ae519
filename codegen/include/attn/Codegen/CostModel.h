//===- CostModel.h - a static cost model of generated kernels ----*- C++ -*-===//
//
// Predicts the run time of a compiled kernel on a named GPU from its own
// static facts, with no GPU: the PTX instruction mix of one KV-loop
// iteration by class, the SASS issue slots of that iteration (from the
// cubin's .text of the x1- and x2-unrolled interior loop), ptxas' registers
// and the shared memory (occupancy), and the work of a run (CTAs, KV-loop
// iterations in total and in the longest CTA, DRAM bytes) from the tile
// report. The model and its assumptions are documented in docs/cost-model.md;
// the targets' published peaks are data (codegen/lib/GpuTargets.def).
//
// The model is a roofline per resource: each KV iteration of a CTA asks the
// SM for issue slots, tensor-core flops, MUFU operations and shared-memory
// wavefronts; the whole run asks the device for DRAM bytes. Each resource's
// time is its demand over its throughput on the SMs the grid occupies; the
// longest CTA cannot run faster than alone on an SM (the latency term); the
// prediction is the largest of these plus a launch overhead, and `bound`
// names the term that set it. Nothing in it knows a schedule or a variant.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_COSTMODEL_H
#define ATTN_CODEGEN_COSTMODEL_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>

namespace attn::codegen {

/// Warp instructions of a stretch of PTX by class (PTX is per thread: one
/// instruction is one warp instruction), with what the memory classes move.
struct InstructionMix {
  /// Tensor-core work in m16n8k16 units (2,048 MACs, 4,096 flops each): an
  /// mma.sync of shape mMnNkK counts M·N·K / 2048.
  double mma = 0;
  /// ldmatrix instructions.
  double ldmatrix = 0;
  /// Multi-function-unit operations (ex2, lg2, rcp, rsqrt, sqrt, sin, cos,
  /// tanh approximations).
  double mufu = 0;
  /// Warp shuffles.
  double shuffle = 0;
  /// Barriers and cp.async group waits and commits.
  double barrier = 0;
  /// Instructions that read or write shared memory (ld/st/atom.shared,
  /// ldmatrix) and the wavefronts (128-byte shared-memory cycles) they need
  /// without bank conflicts. cp.async counts as a global access: what it
  /// stages is the work's (KernelWork::stagedBytesPerIteration), since the
  /// staging loop it sits in runs several times per statement.
  double sharedAccesses = 0, sharedWavefronts = 0;
  /// Instructions that address global memory and the bytes a warp moves.
  double globalAccesses = 0, globalBytes = 0;
  /// Every other instruction (integer and float ALU, conversions, moves,
  /// branches, predicates).
  double other = 0;
  /// Every instruction counted.
  double total = 0;

  InstructionMix &operator-=(const InstructionMix &rhs);
  InstructionMix operator-(const InstructionMix &rhs) const {
    InstructionMix r = *this;
    return r -= rhs;
  }
};

/// The instruction mix of the entry function `kernel` in `ptx`; an error
/// when `ptx` has no such entry.
llvm::Expected<InstructionMix> countPtxInstructions(llvm::StringRef ptx,
                                                    llvm::StringRef kernel);

/// The size of the section `.text.<kernel>` of an ELF cubin; an error when
/// `cubin` is not an ELF file or has no such section.
llvm::Expected<int64_t> cubinTextBytes(llvm::StringRef cubin,
                                       llvm::StringRef kernel);

/// Bytes of one SASS instruction on sm_70 and later.
inline constexpr int64_t kSassInstructionBytes = 16;

/// A GPU's published peaks and limits (GpuTargets.def).
struct GpuTarget {
  std::string name;
  /// The arch whose cubins run on it ("sm_80", "sm_90").
  std::string arch;
  int64_t multiprocessors = 0;
  /// Boost clock, GHz: the clock the published peaks are quoted at.
  double clockGhz = 0;
  /// Dense f16 tensor-core flops per SM per clock (the published peak over
  /// SMs and clock), and the fraction of it mma.sync reaches (1 on Ampere;
  /// on Hopper only wgmma reaches the peak).
  double tensorFlopsPerClock = 0, mmaSyncFraction = 1;
  /// Warp instructions issued per SM per clock (one per scheduler).
  double issuePerClock = 4;
  /// MUFU operations (lanes) per SM per clock.
  double mufuPerClock = 16;
  /// Shared-memory wavefronts (128 bytes) per SM per clock.
  double sharedWavefrontsPerClock = 1;
  /// DRAM bandwidth, GB/s, and the share of it one SM can keep in flight
  /// alone (a multiple of bandwidth / SMs).
  double dramGBps = 0, perSmDramShare = 3;
  /// L2 capacity, bytes, and L2 read bandwidth, bytes per clock.
  double l2Bytes = 0, l2BytesPerClock = 0;
  /// Occupancy limits per SM.
  int64_t registersPerSm = 65536, smemPerSm = 0, threadsPerSm = 2048,
          ctasPerSm = 32;
  /// Launch overhead per kernel, microseconds.
  double launchUs = 3;
};

/// Every target the model knows, in GpuTargets.def's order.
llvm::ArrayRef<GpuTarget> gpuTargets();

/// The known targets that run cubins of `arch` (sm_80: A100; sm_90: H100).
std::vector<const GpuTarget *> gpuTargetsForArch(llvm::StringRef arch);

/// One KV-loop iteration of one warp, measured statically: the PTX mix and
/// the SASS issue slots (the x2- minus x1-unrolled .text over 16 bytes).
struct LoopFacts {
  InstructionMix mix;
  double sassSlots = 0;
};

/// A kernel's run: its static facts and the work of a launch.
struct KernelWork {
  std::string name;
  /// Threads per CTA, registers per thread, shared memory per CTA (static
  /// plus dynamic), bytes.
  int64_t threads = 0, registers = 0, smemBytes = 0;
  /// The contractions run on wgmma (sm_90a): the target's whole tensor
  /// peak, not its mma.sync share.
  bool wgmma = false;
  /// The KV loop, or none for a kernel without one (a merge): then only its
  /// DRAM bytes and launch count.
  std::optional<LoopFacts> loop;
  /// CTAs launched.
  int64_t ctas = 0;
  /// KV-loop iterations over all CTAs, and in the longest CTA.
  int64_t iterations = 0, maxIterationsPerCta = 0;
  /// Bytes one KV iteration of a CTA reads (the K and V tile: from L2, or
  /// DRAM on a miss), and of those the bytes it stages in shared memory
  /// (tensor cores).
  double loadBytesPerIteration = 0, stagedBytesPerIteration = 0;
  /// L2 reuse: the K/V bytes of one (batch, KV head) slice, the slices, and
  /// the CTAs that read the same slice (Q tiles x query heads per KV head x
  /// splits; launched together, as the grid's x dimension is fastest).
  double kvBytesPerSlice = 0;
  int64_t kvSlices = 0, ctasPerKvSlice = 1;
  /// DRAM bytes read and written outside the KV loop (Q, O, lse,
  /// workspaces).
  double otherDramBytes = 0;
};

/// The prediction for one kernel on one target. Times in microseconds.
struct CostEstimate {
  std::string target;
  /// CTAs resident per SM (occupancy: registers, shared memory, threads).
  int64_t ctasPerSm = 0;
  /// SMs the grid occupies, and waves of resident CTAs.
  int64_t activeSms = 0;
  double waves = 0;
  /// Per KV iteration of one CTA, in SM cycles: issue, tensor, MUFU and
  /// shared memory.
  double issueCycles = 0, tensorCycles = 0, mufuCycles = 0,
         sharedCycles = 0;
  /// Whole run: each resource's time, the longest CTA alone on an SM
  /// (latency), L2, DRAM, and the launch.
  double issueUs = 0, tensorUs = 0, mufuUs = 0, sharedUs = 0, latencyUs = 0,
         l2Us = 0, dramUs = 0, launchUs = 0;
  /// Bytes read through L2 and from DRAM, and tensor-core flops of the run.
  double l2Bytes = 0, dramBytes = 0, flops = 0;
  /// The prediction, the term that set it ("issue", "tensor", "mufu",
  /// "shared", "latency", "l2", "dram", "launch") and the fraction of the
  /// target's dense f16 tensor peak the run reaches.
  double predictedUs = 0;
  std::string bound;
  double fractionOfPeak = 0;
  /// The target's dense f16 tensor peak (TFLOP/s) and DRAM bandwidth (GB/s),
  /// the roofs a roofline of the estimate is drawn against.
  double peakTflops = 0, dramGBps = 0;
};

/// CTAs of `threads` threads, `registers` registers each and `smemBytes`
/// bytes of shared memory that fit on one SM of `target` (registers are
/// allocated per warp in units of 256; 1 KB of shared memory is reserved
/// per CTA).
int64_t residentCtasPerSm(const GpuTarget &target, int64_t threads,
                          int64_t registers, int64_t smemBytes);

/// Estimates `work` on `target`.
CostEstimate estimateCost(const KernelWork &work, const GpuTarget &target);

/// The sum of a plan's kernels run one after the other: times add, the
/// bound is the costliest kernel's.
CostEstimate sumCosts(llvm::ArrayRef<CostEstimate> kernels);

/// Writes `estimate` as the attributes of a JSON object (figures to three
/// significant digits, so the output is stable). `perKernel`: with the
/// occupancy and the per-iteration cycles (a sumCosts total has none).
void writeCost(llvm::json::OStream &j, const CostEstimate &estimate,
               bool perKernel = true);

} // namespace attn::codegen

#endif // ATTN_CODEGEN_COSTMODEL_H
