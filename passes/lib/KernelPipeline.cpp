//===- KernelPipeline.cpp - Level 1 IR to kernel IR -----------------------===//
//
// The one definition of the lowering the runtime and the fuzzer run, so that
// what is fuzzed is what is compiled.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

void attn::addKernelPipeline(mlir::OpPassManager &pm,
                             const KernelPipelineOptions &options) {
  pm.addPass(createAttnDecompose());
  AttnTileOptions tile;
  tile.blockM = options.blockM;
  pm.addPass(createAttnTile(tile));
  AttnOnlineOptions online;
  online.tileN = options.blockN;
  pm.addPass(createAttnOnline(online));
  if (options.kvSplits > 0) {
    AttnSplitKVOptions split;
    split.splits = options.kvSplits;
    split.inPlace = true;
    pm.addPass(createAttnSplitKV(split));
  }
  pm.addPass(createAttnFuse());
  pm.addPass(mlir::createCSEPass());
}
