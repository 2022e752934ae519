//===- MemoryPlan.h - what an attn-run invocation will hold -----*- C++ -*-===//
//
// attn-run computes the host memory a run needs before it allocates any of
// it -- the inputs, the device's buffers (emulator copies, split-KV
// workspaces, tile summaries, staging for the runtime), the results, the
// reference interpreter's peak (from the IR: attn/Interpreter/Footprint.h)
// -- and refuses (exit 2) with the figures when that exceeds what the host
// can give (attn/Support/HostMemory.h) or --max-memory.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTNRUN_MEMORYPLAN_H
#define ATTN_TOOLS_ATTNRUN_MEMORYPLAN_H

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Interpreter/Inputs.h"
#include "attn/Support/HostMemory.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace attn::run {

/// One thing a run holds, described ("q [1,8,20000,64] as float64").
struct MemoryPart {
  std::string what;
  uint64_t bytes = 0;
};

/// What a run holds: the inputs throughout; the device's run; then, its
/// buffers freed, the results with the reference or the .npy writer.
struct MemoryNeed {
  std::vector<MemoryPart> inputs, run, after;
  /// inputs + the larger of run and after.
  uint64_t peak() const;
};

/// What the run is.
struct MemoryRequest {
  /// The reference (untransformed, retyped) and the function that runs.
  mlir::func::FuncOp refFunc, runFunc;
  const attn::interp::BoundShapes *shapes = nullptr;
  /// "ref", "emu" (attn-run's own emulator path), "cuda" or "auto"/"emu"
  /// through the runtime (viaRuntime).
  std::string device;
  bool viaRuntime = false;
  /// emu: the emitted launch plan (workspaces, summaries, tile rows).
  const attn::codegen::CudaPlan *emuPlan = nullptr;
  bool check = false, save = false, race = false;
  /// The split count of a split-KV plan whose count is chosen at launch.
  int64_t kvSplits = 1;
};

/// Itemises what `request` will hold.
MemoryNeed memoryNeed(const MemoryRequest &request);

/// Refuses `need` when its peak exceeds `limit`, with the figures, the
/// parts that weigh most and what to do.
llvm::Error checkMemory(const MemoryNeed &need, const HostMemoryLimit &limit);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTNRUN_MEMORYPLAN_H
