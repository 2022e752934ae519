//===- Pipeline.cpp - the compile pipeline, defined once ------------------===//

#include "attn/Codegen/Pipeline.h"
#include "attn/Codegen/Nvrtc.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void attn::buildAttnPipeline(OpPassManager &pm,
                             const AttnPipelineOptions &options) {
  // Branches in regions become selects, element-wise tensor ops maps: what
  // follows (--dtype's retyping of epilogue maps too) reads straight-line
  // regions and attn ops.
  pm.addPass(createAttnIfConvert());
  pm.addPass(createAttnElementwiseToMap());
  if (!options.dtype.empty()) {
    AttnSetDtypeOptions dtype;
    dtype.dtype = options.dtype;
    pm.addPass(createAttnSetDtype(dtype));
  }
  // A score region's -inf by index arithmetic is a mask (tiles skipped).
  pm.addPass(createAttnScoreMask());
  pm.addPass(createAttnDecompose());
  if (options.foldExp2)
    pm.addPass(createAttnFoldExp2());
  AttnTileOptions tile;
  tile.blockM = options.blockM;
  tile.warps = options.warps;
  tile.stages = options.stages;
  pm.addPass(createAttnTile(tile));
  AttnOnlineOptions online;
  online.tileN = options.blockN;
  // FlashAttention-3's 128-key tiles where the schedule will be wgmma's.
  if (auto arch = codegen::lookupCudaArch(options.arch))
    online.wgmmaTiles = arch->wgmma;
  pm.addPass(createAttnOnline(online));
  if (options.splitKv >= 1) {
    AttnSplitKVOptions split;
    // 1: the count is chosen at launch (attn.kv_splits).
    split.splits = options.splitKv == 1 ? 0 : options.splitKv;
    split.inPlace = true;
    pm.addPass(createAttnSplitKV(split));
  }
  AttnFuseOptions fuse;
  fuse.keyBounds = options.keyBounds;
  pm.addPass(createAttnFuse(fuse));
  pm.addPass(createCSEPass());
  if (options.leanMaps)
    pm.addPass(createAttnLeanMaps());
  AttnSetTargetOptions target;
  target.arch = options.arch;
  target.path = options.path;
  pm.addPass(createAttnSetTarget(target));
  codegen::AttnScheduleOptions schedule;
  schedule.warps = options.warps;
  schedule.stages = options.stages;
  schedule.unroll = options.unroll;
  pm.addPass(codegen::createAttnSchedule(schedule));
  pm.addPass(codegen::createAttnHoistFragments());
  pm.addPass(codegen::createAttnStageKv());
  pm.addPass(codegen::createAttnMarkAccumulate());
  pm.addPass(codegen::createAttnDeferRowSums());
  pm.addPass(codegen::createAttnSpecializeInterior());
  pm.addPass(codegen::createAttnFoldScoreScale());
  pm.addPass(codegen::createAttnNarrowIndices());
}

void attn::registerAttnPipeline() {
  PassPipelineRegistration<AttnPipelineOptions>(
      "attn-pipeline",
      "Level 1 IR to scheduled kernel IR: decompose, fold exp2, tile, online "
      "rewrite, [split KV,] fuse tile classification, lean map bodies, record "
      "the target, "
      "schedule (path, warps, staged K/V, register-resident Q, "
      "accumulation, interior tiles, the score scale folded into the row max "
      "and exp2, 32-bit index arithmetic in map bodies)",
      buildAttnPipeline);
}
