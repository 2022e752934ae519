//===- KernelCost.h - the cost model's facts of a compiled plan --*- C++ -*-===//
//
// Gathers what attn/Codegen/CostModel.h needs for the kernels of a compiled
// module and given sizes: each kernel's KV-loop facts (measured on two
// extra compiles of its scheduled IR with every KV tile on the interior
// version, the loop unrolled x1 and x2: the difference is one interior
// iteration's PTX mix and SASS slots, as tools/bench/kernel-stats.sh
// measures it) and the work of a launch (CTAs, KV-loop iterations from the
// tile report of the Level 1 attention, DRAM bytes outside the loop). The
// resource report of `attn-opt --emit=cubin --report=json --nq= --nk=` adds
// the estimates per kernel and target.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_KERNELCOST_H
#define ATTN_CODEGEN_KERNELCOST_H

#include "attn/Codegen/CostModel.h"
#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Codegen/Pipeline.h"
#include "attn/Passes/TileReport.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attn::codegen {

/// Measurement only: every KV tile of `module`'s kernels takes the interior
/// version of -attn-specialize-interior (the edge version becomes dead code
/// the CUDA compiler drops). The kernel is wrong at the edges; never run it.
void forceInteriorTiles(mlir::ModuleOp module);

/// Sets the KV-loop unroll factor of every scheduled kernel in `module`.
void setKvUnroll(mlir::ModuleOp module, int64_t unroll);

/// The KV-loop facts of every kernel of `scheduled` (kernel IR after
/// attn-pipeline) compiled for `arch`, by kernel name; kernels without a KV
/// loop (merges, tile summaries) have none. Compiles two copies with NVRTC
/// (PTX and cubin each); `scheduled` is left as it is.
mlir::FailureOr<llvm::StringMap<LoopFacts>>
measureKvLoops(mlir::ModuleOp scheduled, llvm::StringRef arch);

/// The sizes of a costed run: the tile report's (nq, nk, batch for a dynamic
/// batch, captured scalars); the tile shape is each kernel's own.
using RunSizes = TileReportOptions;

/// Everything the estimates of one compiled module need besides ptxas'
/// resources, built once per module.
class PlanCosts {
public:
  /// Measures `scheduled`'s KV loops for `arch` and counts, for `sizes`, the
  /// tiles of each attention of `level1` (the module before the pipeline;
  /// functions match by name; one attention op per costed function). Fails
  /// with a located error for what the model cannot size (a dynamic head
  /// count, a function with several attention ops).
  static mlir::FailureOr<PlanCosts> build(mlir::ModuleOp level1,
                                          mlir::ModuleOp scheduled,
                                          llvm::StringRef arch,
                                          const RunSizes &sizes);

  /// The work of kernel `kernel` (with ptxas' `resources`) on `target`;
  /// none for a kernel this module did not plan.
  std::optional<KernelWork> work(const CudaKernel &kernel,
                                 const KernelResources &resources,
                                 const GpuTarget &target) const;

  /// `"cost": [...]` for one kernel: its estimate on each target of the
  /// arch (resource-report hook).
  void writeKernelCost(llvm::json::OStream &j, const CudaKernel &kernel,
                       const KernelResources &resources);

  /// `"plan_costs": [...]`: per function and target, the kernels of its
  /// launch plan one after the other (after every writeKernelCost).
  void writePlanCosts(llvm::json::OStream &j) const;

  /// The targets of the arch.
  const std::vector<const GpuTarget *> &targets() const { return gpuTargets; }

private:
  /// What a function's attention looks like at the sizes.
  struct Geometry {
    int64_t batch = 1, heads = 1, kvHeads = 1, nq = 0, nk = 0, d = 0, dv = 0;
    int64_t elementBytes = 2;
    bool writesLse = false;
    /// Tile counts per (block-m, block-n) a kernel uses.
    std::map<std::pair<int64_t, int64_t>, TileCounts> counts;
  };
  /// A planned kernel: its function and plan.
  struct Planned {
    std::string function;
    CudaKernel kernel;
    int64_t blockN = 0;
    int64_t workspaceBytesPerCta = 0;
  };

  std::vector<const GpuTarget *> gpuTargets;
  llvm::StringMap<LoopFacts> loops;
  std::map<std::string, Geometry> geometries;
  llvm::StringMap<Planned> planned;
  /// Functions in module order, each with its kernels in launch order.
  std::vector<std::pair<std::string, std::vector<std::string>>> functions;
  /// Estimates made by writeKernelCost: kernel -> one per target.
  llvm::StringMap<std::vector<CostEstimate>> estimates;
};

/// What `attn-opt --emit=cubin --arch=ARCH --report=json --nq= ...` prints
/// for `level1` compiled with attn-pipeline `pipeline` (its arch replaced by
/// `arch`): the cubin's resource report with each kernel's cost and the
/// plans' totals. `level1` is left as it is.
mlir::FailureOr<std::string> costReport(mlir::ModuleOp level1,
                                        const AttnPipelineOptions &pipeline,
                                        llvm::StringRef arch,
                                        const RunSizes &sizes);

} // namespace attn::codegen

#endif // ATTN_CODEGEN_KERNELCOST_H
