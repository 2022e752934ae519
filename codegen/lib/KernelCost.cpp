//===- KernelCost.cpp - the cost model's facts of a compiled plan ---------===//

#include "attn/Codegen/KernelCost.h"
#include "attn/Codegen/Schedule.h"
#include "attn/Codegen/Translate.h"
#include "attn/Dialect/KernelAttrs.h"
#include "attn/Support/KvSplits.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;
using namespace attn;
using namespace attn::codegen;

void attn::codegen::forceInteriorTiles(ModuleOp module) {
  // The condition becomes true: the CUDA compiler drops the edge version as
  // dead code, while the printer still sees both (and types them as in the
  // real kernel).
  module.walk([&](scf::IfOp op) {
    if (getTileBranch(op) != TileBranchKind::InteriorOrEdge)
      return;
    OpBuilder b(op);
    op.getConditionMutable().assign(
        arith::ConstantIntOp::create(b, op.getLoc(), 1, 1).getResult());
  });
}

void attn::codegen::setKvUnroll(ModuleOp module, int64_t unroll) {
  for (auto func : module.getOps<func::FuncOp>()) {
    scf::ForOp outer = outerGridLoop(func);
    ScheduleAttr s = outer ? getSchedule(outer) : ScheduleAttr();
    if (!s)
      continue;
    setSchedule(outer, ScheduleAttr::get(
                           s.getContext(), s.getBlockM(), s.getWarps(),
                           s.getStages(), s.getRowsPerWarp(), s.getPath(),
                           unroll, s.getFallback(), s.getQStaged(),
                           s.getColGroups(), s.getWgmma(), s.getPingpong()));
  }
}

FailureOr<llvm::StringMap<LoopFacts>>
attn::codegen::measureKvLoops(ModuleOp scheduled, llvm::StringRef arch) {
  struct Compiled {
    std::string ptx, cubin;
    std::vector<std::string> kernels;
  };
  auto compile = [&](int64_t unroll) -> FailureOr<Compiled> {
    OwningOpRef<ModuleOp> copy = scheduled.clone();
    forceInteriorTiles(*copy);
    setKvUnroll(*copy, unroll);
    TranslateOptions options;
    options.arch = arch.str();
    options.format = EmitFormat::Ptx;
    FailureOr<Translation> ptx = translateModule(*copy, options);
    options.format = EmitFormat::Cubin;
    if (failed(ptx))
      return failure();
    FailureOr<Translation> cubin = translateModule(*copy, options);
    if (failed(cubin))
      return failure();
    Compiled c{std::move(ptx->output), std::move(cubin->output), {}};
    for (auto &[function, plan] : ptx->plans)
      for (const CudaKernel &k : plan.kernels)
        c.kernels.push_back(k.name);
    return c;
  };
  FailureOr<Compiled> once = compile(1), twice = compile(2);
  if (failed(once) || failed(twice))
    return failure();
  llvm::StringMap<LoopFacts> loops;
  for (const std::string &name : once->kernels) {
    auto mix1 = countPtxInstructions(once->ptx, name);
    auto mix2 = countPtxInstructions(twice->ptx, name);
    auto text1 = cubinTextBytes(once->cubin, name);
    auto text2 = cubinTextBytes(twice->cubin, name);
    if (!mix1 || !mix2 || !text1 || !text2) {
      std::string why;
      auto note = [&](llvm::Error e) {
        if (e)
          why = llvm::toString(std::move(e));
      };
      note(mix1.takeError());
      note(mix2.takeError());
      note(text1.takeError());
      note(text2.takeError());
      return scheduled.emitError("cost model: measuring kernel '")
             << name << "': " << why;
    }
    LoopFacts facts{*mix2 - *mix1, double(*text2 - *text1) /
                                       double(kSassInstructionBytes)};
    // A kernel without a KV loop compiles the same both times.
    if (facts.mix.total <= 0 && facts.sassSlots <= 0)
      continue;
    facts.sassSlots = std::max(facts.sassSlots, 0.0);
    loops[name] = facts;
  }
  return loops;
}

FailureOr<PlanCosts> PlanCosts::build(ModuleOp level1, ModuleOp scheduled,
                                      llvm::StringRef arch,
                                      const RunSizes &sizes) {
  PlanCosts costs;
  costs.gpuTargets = gpuTargetsForArch(arch);
  if (costs.gpuTargets.empty()) {
    std::string known;
    for (const GpuTarget &t : codegen::gpuTargets())
      known += (known.empty() ? "" : ", ") + t.name + " (" + t.arch + ")";
    return scheduled.emitError("cost model: no target runs ")
           << arch << " cubins (known: " << known << ")";
  }
  if (sizes.nq < 0 || sizes.keyLength() < 0 || sizes.batch < 1)
    return scheduled.emitError(
        "cost model: needs nq >= 0, nk >= 0 and a batch of at least 1");
  FailureOr<llvm::StringMap<LoopFacts>> loops =
      measureKvLoops(scheduled, arch);
  if (failed(loops))
    return failure();
  costs.loops = std::move(*loops);
  // The plans, as the translation makes them.
  TranslateOptions options;
  options.arch = arch.str();
  FailureOr<Translation> source = translateModule(scheduled, options);
  if (failed(source))
    return failure();
  for (auto &[function, plan] : source->plans) {
    auto level1Func = level1.lookupSymbol<func::FuncOp>(function);
    auto kernelFunc = scheduled.lookupSymbol<func::FuncOp>(function);
    if (!level1Func || !kernelFunc)
      continue;
    SmallVector<AttentionOp> ops;
    level1Func.walk([&](AttentionOp op) { ops.push_back(op); });
    if (ops.size() != 1)
      return level1Func.emitError("cost model: a function with ")
             << ops.size() << " attention ops (it sizes one)";
    AttentionOp op = ops.front();
    auto q = op.getQ().getType(), v = op.getV().getType();
    Geometry g;
    g.batch = ShapedType::isDynamic(q.getDimSize(0)) ? sizes.batch
                                                     : q.getDimSize(0);
    g.heads = q.getDimSize(1);
    if (ShapedType::isDynamic(g.heads))
      return op.emitOpError("cost model: needs a static head count");
    g.nq = sizes.nq;
    g.nk = sizes.keyLength();
    g.kvHeads = ShapedType::isDynamic(op.getK().getType().getDimSize(1))
                    ? g.heads
                    : op.getK().getType().getDimSize(1);
    g.d = q.getDimSize(3);
    g.dv = v.getDimSize(3);
    // The element type the kernel reads (attn-pipeline's dtype may differ
    // from what is written).
    Type element = q.getElementType();
    if (kernelFunc.getNumArguments() > 0)
      if (auto shaped =
              dyn_cast<ShapedType>(kernelFunc.getArgument(0).getType()))
        element = shaped.getElementType();
    g.elementBytes = std::max<int64_t>(1, element.getIntOrFloatBitWidth() / 8);
    g.writesLse = op->getNumResults() > 1 && !op->getResult(1).use_empty();
    int64_t blockN = kvTileOf(kernelFunc);
    int64_t workspaceBytes = 0;
    for (int64_t elements : plan.workspaceElementsPerCta)
      workspaceBytes += 4 * elements;
    std::vector<std::string> names;
    for (const CudaKernel &k : plan.kernels) {
      names.push_back(k.name);
      costs.planned[k.name] = Planned{function, k, blockN, workspaceBytes};
      if (k.role != KernelRole::Whole && k.role != KernelRole::SplitPartials)
        continue;
      if (blockN <= 0)
        return kernelFunc.emitError("cost model: no constant KV tile in ")
               << function;
      RunSizes tileSizes = sizes;
      tileSizes.blockM = k.blockM;
      tileSizes.blockN = blockN;
      auto key = std::make_pair(k.blockM, blockN);
      if (g.counts.count(key))
        continue;
      FailureOr<TileCounts> counts = countTiles(op, tileSizes);
      if (failed(counts))
        return failure();
      g.counts[key] = *counts;
    }
    costs.geometries[function] = std::move(g);
    costs.functions.emplace_back(function, std::move(names));
  }
  return costs;
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::optional<KernelWork>
PlanCosts::work(const CudaKernel &kernel, const KernelResources &resources,
                const GpuTarget &target) const {
  auto it = planned.find(kernel.name);
  if (it == planned.end())
    return std::nullopt;
  const Planned &p = it->second;
  const Geometry &g = geometries.at(p.function);
  KernelWork w;
  w.name = kernel.name;
  w.threads = kernel.threads;
  w.wgmma = kernel.wgmma;
  w.registers = resources.registers;
  w.smemBytes = resources.staticSmemBytes + kernel.dynamicSmemBytes;
  int64_t slices = g.batch * g.heads;
  double eb = double(g.elementBytes);
  double rows = double(slices) * double(g.nq);
  double lseBytes = g.writesLse ? rows * 4.0 : 0.0;
  // The split count of the function's split-KV launch: compiled in, or the
  // one the runtime would choose for this target.
  auto splitsOf = [&](const CudaKernel &partials) -> int64_t {
    if (partials.splits > 0)
      return partials.splits;
    int64_t plain = ceilDiv(g.nq, partials.blockM) * slices;
    int64_t kvTiles = ceilDiv(g.nk, std::max<int64_t>(p.blockN, 1));
    return chooseKvSplits(plain, kvTiles, target.multiprocessors,
                          std::max<int64_t>(partials.maxSplits, 2),
                          /*force=*/true)
        .splits;
  };
  const CudaKernel *partials = nullptr;
  for (const auto &[name, other] : planned)
    if (other.function == p.function &&
        other.kernel.role == KernelRole::SplitPartials)
      partials = &other.kernel;
  int64_t qTiles = ceilDiv(g.nq, std::max<int64_t>(kernel.blockM, 1));
  // The workspaces hold a split's state per row of a merge CTA's Q tile;
  // only the rows that exist are written and read.
  double workspaceBytesPerRow = 0;
  for (const auto &[name, other] : planned)
    if (other.function == p.function &&
        other.kernel.role == KernelRole::SplitMerge)
      workspaceBytesPerRow = double(p.workspaceBytesPerCta) /
                             double(std::max<int64_t>(other.kernel.blockM, 1));
  switch (kernel.role) {
  case KernelRole::Whole:
  case KernelRole::SplitPartials: {
    int64_t splits =
        kernel.role == KernelRole::SplitPartials ? splitsOf(kernel) : 1;
    const TileCounts &c = g.counts.at({kernel.blockM, p.blockN});
    w.ctas = qTiles * slices * splits;
    w.iterations = c.slices > 0 ? c.iterations * slices / c.slices : 0;
    w.maxIterationsPerCta = ceilDiv(c.maxIterations, splits);
    if (auto loop = loops.find(kernel.name); loop != loops.end())
      w.loop = loop->second;
    // Each iteration reads one K and one V tile; the tensor-core path
    // stages them in shared memory.
    w.loadBytesPerIteration = double(p.blockN) * double(g.d + g.dv) * eb;
    if (kernel.path == "mma")
      w.stagedBytesPerIteration = w.loadBytesPerIteration;
    w.kvBytesPerSlice = double(g.nk) * double(g.d + g.dv) * eb;
    w.kvSlices = g.batch * g.kvHeads;
    w.ctasPerKvSlice = qTiles * (g.heads / std::max<int64_t>(g.kvHeads, 1)) *
                       splits;
    // Q is read by every split; O and lse are written once, or the
    // partial state of every split goes to the workspaces.
    w.otherDramBytes = rows * double(g.d) * eb * double(splits);
    if (kernel.role == KernelRole::Whole)
      w.otherDramBytes += rows * double(g.dv) * eb + lseBytes;
    else
      w.otherDramBytes += workspaceBytesPerRow * rows * double(splits);
    break;
  }
  case KernelRole::SplitMerge: {
    int64_t splits = partials ? splitsOf(*partials) : 1;
    w.ctas = qTiles * slices;
    w.otherDramBytes = workspaceBytesPerRow * rows * double(splits) +
                       rows * double(g.dv) * eb + lseBytes;
    break;
  }
  case KernelRole::TileSummaries:
    // Reads the captured tensors (sizes the report does not know): costed
    // as its launch.
    w.ctas = kernel.fixedGridX;
    break;
  }
  return w;
}

void PlanCosts::writeKernelCost(llvm::json::OStream &j,
                                const CudaKernel &kernel,
                                const KernelResources &resources) {
  std::vector<CostEstimate> made;
  for (const GpuTarget *t : gpuTargets)
    if (std::optional<KernelWork> w = work(kernel, resources, *t))
      made.push_back(estimateCost(*w, *t));
  if (made.empty())
    return;
  if (auto loop = loops.find(kernel.name); loop != loops.end()) {
    const LoopFacts &f = loop->second;
    j.attributeObject("kv_loop", [&] {
      j.attribute("sass_slots_per_warp", f.sassSlots);
      j.attributeObject("ptx_per_warp", [&] {
        j.attribute("mma_m16n8k16", f.mix.mma);
        j.attribute("ldmatrix", f.mix.ldmatrix);
        j.attribute("mufu", f.mix.mufu);
        j.attribute("shuffle", f.mix.shuffle);
        j.attribute("barrier", f.mix.barrier);
        j.attribute("shared_accesses", f.mix.sharedAccesses);
        j.attribute("shared_wavefronts", f.mix.sharedWavefronts);
        j.attribute("global_accesses", f.mix.globalAccesses);
        j.attribute("other", f.mix.other);
        j.attribute("total", f.mix.total);
      });
    });
  }
  j.attributeArray("cost", [&] {
    for (const CostEstimate &e : made)
      j.object([&] { writeCost(j, e); });
  });
  estimates[kernel.name] = std::move(made);
}

void PlanCosts::writePlanCosts(llvm::json::OStream &j) const {
  j.attributeArray("plan_costs", [&] {
    for (const auto &entry : functions)
      for (size_t t = 0; t < gpuTargets.size(); ++t) {
        const std::string &function = entry.first;
        const std::vector<std::string> &kernels = entry.second;
        std::vector<CostEstimate> parts;
        for (const std::string &k : kernels)
          if (auto it = estimates.find(k);
              it != estimates.end() && t < it->second.size())
            parts.push_back(it->second[t]);
        if (parts.empty())
          continue;
        j.object([&] {
          j.attribute("function", function);
          j.attribute("kernels", int64_t(parts.size()));
          writeCost(j, sumCosts(parts), /*perKernel=*/false);
        });
      }
  });
}

FailureOr<std::string> attn::codegen::costReport(
    ModuleOp level1, const AttnPipelineOptions &pipeline, llvm::StringRef arch,
    const RunSizes &sizes) {
  OwningOpRef<ModuleOp> module = level1.clone();
  PassManager pm(module->getContext());
  AttnPipelineOptions options;
  options.copyOptionValuesFrom(pipeline);
  options.arch = arch.str();
  buildAttnPipeline(pm, options);
  if (failed(pm.run(*module)))
    return failure();
  FailureOr<PlanCosts> costs = PlanCosts::build(level1, *module, arch, sizes);
  if (failed(costs))
    return failure();
  TranslateOptions translate;
  translate.format = EmitFormat::Cubin;
  translate.arch = arch.str();
  translate.resourceReport = true;
  translate.kernelReportExtras = [&](llvm::json::OStream &j,
                                     const CudaKernel &kernel,
                                     const KernelResources &resources) {
    costs->writeKernelCost(j, kernel, resources);
  };
  translate.reportExtras = [&](llvm::json::OStream &j) {
    costs->writePlanCosts(j);
  };
  FailureOr<Translation> translation = translateModule(*module, translate);
  if (failed(translation))
    return failure();
  return std::move(translation->resourceReport);
}
