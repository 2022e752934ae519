//===- BackwardPlan.cpp - backward plans: compile, bind, launch -----------===//
//
// The compiler derives the backward and emits its kernels
// (CompilerApi::compileBackwardText); their artifact is built like a plan's
// (RuntimeImpl::buildEmu / buildCuda, through the disk cache). A run binds
// the caller's DLPack tensors, in whatever strides they come, and the
// runtime's zeroed workspaces to the kernels' tensors
// (attn/Support/BackwardAbi.h) and launches the kernels in order.
//
//===----------------------------------------------------------------------===//

#include "CudaBackend.h"
#include "EmuBackend.h"
#include "RuntimeImpl.h"
#include "Validate.h"

#include "attn/Backward.h"
#include "attn/Support/BackwardAbi.h"

#include <cstring>

using namespace attn;
using namespace attn::jit;

namespace attn::detail {
struct BackwardPlanImpl {
  BackwardSpec spec;
  /// The kernels' artifact (one translation unit), built as a plan's.
  std::shared_ptr<PlanImpl> artifact;
  DeviceKind device = DeviceKind::Emu;
  std::vector<BackwardKernelInfo> kernels;
  std::vector<unsigned> captureGradients;
};
} // namespace attn::detail

using detail::BackwardPlanImpl;

Expected<BackwardPlan>
detail::RuntimeImpl::compileBackward(std::string_view text,
                                     std::string_view bufferName,
                                     const CompileOptions &options,
                                     const BackwardOptions &backward) {
  auto target = resolveTarget(options);
  if (!target)
    return target.status();
  std::string error;
  const CompilerApi *api = findCompiler(&error);
  if (!api)
    return Status::error(error);
  BackwardFrontendOptions front;
  front.entry = options.entry;
  front.dtype = options.dtype;
  front.deterministic = backward.deterministic;
  front.stateFromResults = backward.stateFromResults;
  auto impl = std::make_shared<BackwardPlanImpl>();
  {
    std::lock_guard<std::mutex> compiling(compileMutex);
    ++counters.frontendRuns;
    if (!api->compileBackwardText(text, bufferName, front, &impl->spec,
                                  &error))
      return Status::error(error);
  }
  const abi::BackwardKernels &bk = impl->spec.kernels;
  impl->device = target->device;
  for (const abi::BackwardKernel &k : bk.kernels)
    impl->kernels.push_back({k.name, abi::backwardKernelRoleName(k.role),
                             k.summary, k.threads, k.dynamicSmemBytes});
  for (int64_t a : impl->spec.gradientOf)
    if (a >= 3)
      impl->captureGradients.push_back(static_cast<unsigned>(a - 3));

  // The artifact: a plan spec holding the one translation unit.
  auto plan = std::make_shared<PlanImpl>();
  plan->device = target->device;
  plan->target = *target;
  plan->spec.signature = impl->spec.signature;
  for (const abi::BackwardKernel &k : bk.kernels) {
    KernelInfo info;
    info.name = k.name;
    info.threads = k.threads;
    info.dynamicSmemBytes = k.dynamicSmemBytes;
    info.path = "simt";
    if (plan->spec.kernels.empty())
      info.source = bk.source;
    plan->spec.kernels.push_back(info);
  }
  if (plan->spec.kernels.empty())
    return Status::error("the backward of '" + impl->spec.signature.function +
                         "' has no kernels");
  {
    std::lock_guard<std::mutex> compiling(compileMutex);
    ++counters.compiles;
    Status built = target->device == DeviceKind::Emu
                       ? buildEmu(*plan)
                       : buildCuda(*plan, *target);
    if (!built.ok())
      return built;
  }
  impl->artifact = plan;
  return BackwardPlan(impl);
}

namespace {

/// Elements of a DLTensor's dtype, in bytes.
size_t elementBytes(const DLTensor *t) {
  return (t->dtype.bits * t->dtype.lanes + 7) / 8;
}

bool sameType(DLDataType a, DLDataType b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

/// One tensor of a run: what the kernels bind, and its name in messages.
struct Bound {
  std::string name;
  const DLTensor *tensor = nullptr;
  bool writable = false;
};

/// The caller's tensors in the order of the backward function's arguments
/// (`args`, null for a scalar capture or an absent dlse) and results
/// (`results`), with the checks that need no sizes.
Status collect(const BackwardPlanImpl &p, const BackwardArguments &args,
               std::vector<Bound> &argTensors, std::vector<Bound> &results,
               std::vector<double> &scalars) {
  const BackwardSpec &spec = p.spec;
  size_t numForward = spec.signature.inputs.size();
  size_t numCaptures = numForward - 3;
  size_t numResults = spec.readsResults ? spec.signature.outputs.size() : 0;
  if (args.captures.size() != numCaptures)
    return Status::error("the variant takes " + std::to_string(numCaptures) +
                         " capture(s); BackwardArguments has " +
                         std::to_string(args.captures.size()));
  for (size_t a = 0; a < spec.argTypes.size(); ++a) {
    Bound b;
    if (a < numForward) {
      b.name = spec.signature.inputs[a].name;
      if (a == 0)
        b.tensor = args.q;
      else if (a == 1)
        b.tensor = args.k;
      else if (a == 2)
        b.tensor = args.v;
      else if (spec.argIsTensor[a])
        b.tensor = args.captures[a - 3].tensor;
    } else if (a < numForward + numResults) {
      size_t r = a - numForward;
      b.name = spec.signature.outputs[r].name;
      b.tensor = r == 0 ? args.o : args.lse;
    } else {
      size_t r = a - numForward - numResults;
      b.name = "d" + spec.signature.outputs[r].name;
      b.tensor = r == 0 ? args.dO : args.dLse;
    }
    if (!spec.argIsTensor[a]) {
      if (a >= numForward || args.captures[a - 3].tensor)
        return Status::error(b.name + ": the variant takes a scalar here, "
                                      "not a tensor");
      scalars.push_back(args.captures[a - 3].value);
    } else if (!b.tensor && a >= numForward && a < numForward + numResults) {
      return Status::error(b.name +
                           ": no tensor given (the plan reads the "
                           "forward's results: pass the " +
                           b.name + " the forward wrote)");
    } else if (!b.tensor && b.name != "dlse") {
      return Status::error(b.name + ": no tensor given");
    }
    argTensors.push_back(b);
  }
  if (args.dCaptures.size() != p.captureGradients.size())
    return Status::error("the variant has " +
                         std::to_string(p.captureGradients.size()) +
                         " capture gradient(s); BackwardArguments::dCaptures "
                         "has " + std::to_string(args.dCaptures.size()));
  for (int64_t of : spec.gradientOf) {
    Bound b;
    b.writable = true;
    b.name = "d" + spec.signature.inputs[of].name;
    if (of == 0)
      b.tensor = args.dq;
    else if (of == 1)
      b.tensor = args.dk;
    else if (of == 2)
      b.tensor = args.dv;
    else
      for (size_t c = 0; c < p.captureGradients.size(); ++c)
        if (p.captureGradients[c] == of - 3)
          b.tensor = args.dCaptures[c];
    if (!b.tensor)
      return Status::error(b.name + ": no tensor given");
    results.push_back(b);
  }
  return Status::success();
}

/// Checks dtype, rank, device and strides of `b` against `type` and
/// `classes`; sizes are checked once all are known.
Status checkTensor(const Bound &b, DLDataType type, size_t rank,
                   DeviceKind device) {
  const DLTensor *t = b.tensor;
  if (!sameType(t->dtype, type))
    return Status::error(b.name + ": dtype " + dtypeName(t->dtype) +
                         ", expected " + dtypeName(type));
  if (static_cast<size_t>(t->ndim) != rank)
    return Status::error(b.name + ": rank " + std::to_string(t->ndim) +
                         ", expected " + std::to_string(rank));
  if (rank > abi::kBackwardMaxRank)
    return Status::error(b.name + ": rank over " +
                         std::to_string(abi::kBackwardMaxRank));
  bool cpu = t->device.device_type == kDLCPU ||
             t->device.device_type == kDLCUDAHost;
  if (device == DeviceKind::Emu ? !cpu : t->device.device_type != kDLCUDA)
    return Status::error(b.name + ": the tensor is not in " +
                         std::string(device == DeviceKind::Emu
                                         ? "host memory (the emulator's)"
                                         : "GPU memory"));
  for (int d = 0; d < t->ndim; ++d)
    if (t->strides && t->strides[d] < 0)
      return Status::error(b.name + ": negative stride along dimension " +
                           std::to_string(d));
  if (!t->data)
    for (int d = 0; d < t->ndim; ++d)
      if (t->shape[d] != 0)
        return Status::error(b.name + ": null data pointer");
  return Status::success();
}

/// The kernels' view of a tensor.
abi::BackwardTensorAbi viewOf(const DLTensor *t) {
  abi::BackwardTensorAbi v;
  v.data = static_cast<char *>(t->data) + t->byte_offset;
  int64_t stride = 1, extent = 1;
  bool empty = false;
  for (int d = t->ndim; d-- > 0;) {
    v.size[d] = t->shape[d];
    v.stride[d] = t->strides ? t->strides[d] : stride;
    stride *= t->shape[d];
    empty |= t->shape[d] == 0;
    extent += (t->shape[d] - 1) * v.stride[d];
  }
  v.extent = empty ? 0 : extent;
  return v;
}

/// A run's bound tensors, sizes and scratch.
struct BackwardRun {
  std::vector<Bound> args, results;
  std::vector<double> scalars;
  std::vector<int64_t> dims;
  /// The runtime's buffers: one per workspace (then a zero dlse), in
  /// elements of f32, and where each starts.
  std::vector<std::vector<int64_t>> workspaceShapes;
  std::vector<size_t> workspaceOffset;
  size_t scratchFloats = 0;
  std::vector<int64_t> dlseShape;
  size_t dlseOffset = 0;
};

Status prepare(const BackwardPlanImpl &p, const BackwardArguments &args,
               BackwardRun &run) {
  const BackwardSpec &spec = p.spec;
  const abi::BackwardKernels &bk = spec.kernels;
  if (Status s = collect(p, args, run.args, run.results, run.scalars); !s.ok())
    return s;
  for (size_t a = 0; a < run.args.size(); ++a)
    if (run.args[a].tensor)
      if (Status s = checkTensor(run.args[a], spec.argTypes[a],
                                 bk.argClasses[a].size(), p.device);
          !s.ok())
        return s;
  for (size_t r = 0; r < run.results.size(); ++r)
    if (Status s = checkTensor(run.results[r], {kDLFloat, 32, 1},
                               bk.resultClasses[r].size(), p.device);
        !s.ok())
      return s;
  // Sizes: each class from the first tensor that binds it, then every
  // dimension of every tensor against them.
  std::vector<std::vector<int64_t>> shapes;
  for (const Bound &b : run.args) {
    shapes.emplace_back();
    if (b.tensor)
      shapes.back().assign(b.tensor->shape, b.tensor->shape + b.tensor->ndim);
  }
  // An absent dlse binds nothing (q gives its sizes first).
  for (size_t a = 0; a < run.args.size(); ++a)
    if (!run.args[a].tensor && spec.argIsTensor[a])
      shapes[a].assign(bk.argClasses[a].size(), -1);
  std::string why;
  auto dims = abi::resolveBackwardDims(bk, shapes, &why);
  if (!dims)
    return Status::error(why);
  run.dims = *dims;
  auto check = [&](const Bound &b, const std::vector<unsigned> &classes) {
    for (size_t d = 0; d < classes.size(); ++d) {
      int64_t want = run.dims[classes[d]];
      if (b.tensor->shape[d] != want) {
        std::string from;
        const abi::BackwardDim &dim = bk.dims[classes[d]];
        if (dim.staticSize >= 0)
          from = "the variant fixes it";
        else if (dim.arg >= 0)
          from = "as " + run.args[dim.arg].name + "'s dimension " +
                 std::to_string(dim.dim) + " gives";
        else
          from = "as the other tensors give";
        return Status::error(b.name + ": dimension " + std::to_string(d) +
                             " is " + std::to_string(b.tensor->shape[d]) +
                             ", expected " + std::to_string(want) + " (" +
                             from + ")");
      }
    }
    return Status::success();
  };
  for (size_t a = 0; a < run.args.size(); ++a)
    if (run.args[a].tensor)
      if (Status s = check(run.args[a], bk.argClasses[a]); !s.ok())
        return s;
  for (size_t r = 0; r < run.results.size(); ++r)
    if (Status s = check(run.results[r], bk.resultClasses[r]); !s.ok())
      return s;
  // Workspaces, then a zero dlse when the variant has lse and none came.
  for (const abi::BackwardTensor &t : bk.tensors) {
    if (t.kind != abi::BackwardTensor::Kind::Workspace)
      continue;
    run.workspaceShapes.push_back(abi::backwardWorkspaceShape(bk, t, run.dims));
    run.workspaceOffset.push_back(run.scratchFloats);
    int64_t n = 1;
    for (int64_t s : run.workspaceShapes.back())
      n *= s;
    run.scratchFloats += (n + 63) / 64 * 64;
  }
  for (size_t a = 0; a < run.args.size(); ++a)
    if (spec.argIsTensor[a] && !run.args[a].tensor) {
      for (unsigned c : bk.argClasses[a])
        run.dlseShape.push_back(run.dims[c]);
      run.dlseOffset = run.scratchFloats;
      int64_t n = 1;
      for (int64_t s : run.dlseShape)
        n *= s;
      run.scratchFloats += (n + 63) / 64 * 64;
    }
  return Status::success();
}

/// The parameter struct: every tensor's view (the scratch ones at
/// `scratch`), then the scalars.
std::vector<uint64_t> buildParams(const BackwardPlanImpl &p,
                                  const BackwardRun &run, char *scratch) {
  const abi::BackwardKernels &bk = p.spec.kernels;
  constexpr size_t kWords = sizeof(abi::BackwardTensorAbi) / 8;
  static_assert(sizeof(abi::BackwardTensorAbi) % 8 == 0);
  std::vector<uint64_t> params(bk.tensors.size() * kWords +
                               std::max<size_t>(1, run.scalars.size()));
  auto compact = [&](size_t offset, const std::vector<int64_t> &shape) {
    abi::BackwardTensorAbi v;
    v.data = scratch + offset * 4;
    int64_t stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      v.size[d] = shape[d];
      v.stride[d] = stride;
      stride *= shape[d];
    }
    v.extent = stride;
    return v;
  };
  size_t workspace = 0;
  for (size_t s = 0; s < bk.tensors.size(); ++s) {
    const abi::BackwardTensor &t = bk.tensors[s];
    abi::BackwardTensorAbi v;
    if (t.kind == abi::BackwardTensor::Kind::Argument) {
      const DLTensor *tensor = run.args[t.index].tensor;
      v = tensor ? viewOf(tensor) : compact(run.dlseOffset, run.dlseShape);
    } else if (t.kind == abi::BackwardTensor::Kind::Gradient) {
      v = viewOf(run.results[t.index].tensor);
    } else {
      v = compact(run.workspaceOffset[workspace],
                  run.workspaceShapes[workspace]);
      ++workspace;
    }
    std::memcpy(params.data() + s * kWords, &v, sizeof(v));
  }
  for (size_t k = 0; k < run.scalars.size(); ++k)
    std::memcpy(params.data() + bk.tensors.size() * kWords + k,
                &run.scalars[k], 8);
  return params;
}

/// The bytes a tensor's elements span, for memcheck.
attn::emu::GlobalBuffer spanOf(const Bound &b) {
  abi::BackwardTensorAbi v = viewOf(b.tensor);
  return {b.name, v.data, static_cast<size_t>(v.extent) * elementBytes(b.tensor),
          b.writable};
}

} // namespace

Status BackwardPlan::validate(const BackwardArguments &args) const {
  BackwardRun run;
  return prepare(*impl, args, run);
}

Status BackwardPlan::run(const BackwardArguments &args,
                         const RunOptions &options, RunStats *stats) const {
  const BackwardPlanImpl &p = *impl;
  if (options.memcheck && p.device != DeviceKind::Emu)
    return Status::error("memcheck (RunOptions::memcheck) runs on the "
                         "emulator; this plan is for cuda");
  if (options.raceCheck && p.device != DeviceKind::Emu)
    return Status::error("race checking (RunOptions::raceCheck) runs on the "
                         "emulator; this plan is for cuda");
  BackwardRun run;
  if (Status s = prepare(p, args, run); !s.ok())
    return s;
  const abi::BackwardKernels &bk = p.spec.kernels;
  if (stats) {
    *stats = RunStats();
    stats->device = p.device;
  }
  std::vector<int64_t> ctas;
  for (const abi::BackwardKernel &k : bk.kernels) {
    ctas.push_back(abi::backwardKernelCtas(k, run.dims));
    if (ctas.back() > 0x7fffffff)
      return Status::error("kernel " + k.name + " needs " +
                           std::to_string(ctas.back()) +
                           " CTAs, over CUDA's grid limit");
    if (stats && ctas.back() > 0)
      stats->kernels.push_back(k.name);
  }
  size_t scratchBytes = std::max<size_t>(4, run.scratchFloats * 4);

  if (p.device == DeviceKind::Cuda) {
    auto memory = allocateDevice(scratchBytes);
    if (!memory)
      return memory.status();
    std::vector<char> zeros(scratchBytes, 0);
    if (Status s = copyToDevice((*memory)->pointer, zeros.data(), scratchBytes);
        !s.ok())
      return s;
    std::vector<uint64_t> params =
        buildParams(p, run, reinterpret_cast<char *>((*memory)->pointer));
    std::vector<CudaLaunch> launches;
    for (size_t k = 0; k < bk.kernels.size(); ++k) {
      if (ctas[k] == 0)
        continue;
      CudaLaunch c;
      c.kernel = k;
      c.params = &params;
      c.grid[0] = static_cast<unsigned>(ctas[k]);
      c.threads = static_cast<unsigned>(bk.kernels[k].threads);
      c.dynamicSmemBytes = static_cast<unsigned>(bk.kernels[k].dynamicSmemBytes);
      launches.push_back(c);
    }
    if (Status s = launchCuda(*p.artifact->cuda, launches, options.stream);
        !s.ok())
      return s;
    // The workspaces are freed on return: wait for the kernels.
    const cuda::GpuInfo *gpu = nullptr;
    std::string error;
    const cuda::DriverApi *api = cuda::loadDriver(&gpu, &error);
    if (!api)
      return Status::error(error);
    if (cuda::CUresult r = api->cuStreamSynchronize(
            static_cast<cuda::CUstream>(options.stream)))
      return Status::error(api->callError("cuStreamSynchronize", r));
    return Status::success();
  }

  std::vector<float> scratch(scratchBytes / 4, 0.0f);
  std::vector<uint64_t> params =
      buildParams(p, run, reinterpret_cast<char *>(scratch.data()));
  // Memcheck checks against these; the race checker copies them (all the
  // memory the kernels touch).
  std::vector<attn::emu::GlobalBuffer> buffers;
  if (options.memcheck || options.raceCheck) {
    for (const Bound &b : run.args)
      if (b.tensor && viewOf(b.tensor).extent > 0)
        buffers.push_back(spanOf(b));
    for (const Bound &b : run.results)
      if (viewOf(b.tensor).extent > 0)
        buffers.push_back(spanOf(b));
    buffers.push_back({"runtime scratch (backward workspaces)", scratch.data(),
                       scratchBytes, true});
  }
  std::vector<EmuLaunch> launches;
  for (size_t k = 0; k < bk.kernels.size(); ++k) {
    if (ctas[k] == 0)
      continue;
    EmuLaunch e;
    e.kernelName = bk.kernels[k].name;
    e.params = params.data();
    e.grid[0] = static_cast<unsigned>(ctas[k]);
    e.threads = static_cast<unsigned>(bk.kernels[k].threads);
    e.dynamicSmemBytes = static_cast<size_t>(bk.kernels[k].dynamicSmemBytes);
    e.countGlobalAccesses = options.countGlobalAccesses;
    e.memcheck = options.memcheck;
    e.memcheckReports = options.memcheck && options.memcheckReports;
    e.buffers = buffers;
    launches.push_back(e);
  }
  if (Status s = launchEmu(*p.artifact->emu, launches, stats); !s.ok())
    return s;
  if (!options.raceCheck)
    return Status::success();
  return raceCheckEmu(bk.source, bk.kernels.front().name + ".cu",
                      p.artifact->hostCompiler, launches,
                      params.size() * sizeof(uint64_t), stats);
}

DeviceKind BackwardPlan::device() const { return impl->device; }

const Signature &BackwardPlan::signature() const {
  return impl->spec.signature;
}

const std::vector<unsigned> &BackwardPlan::captureGradients() const {
  return impl->captureGradients;
}

const std::vector<BackwardKernelInfo> &BackwardPlan::kernels() const {
  return impl->kernels;
}

const std::string &BackwardPlan::source() const {
  return impl->spec.kernels.source;
}

bool BackwardPlan::deterministic() const {
  return impl->spec.kernels.deterministic;
}

bool BackwardPlan::readsResults() const { return impl->spec.readsResults; }

const std::string &BackwardPlan::recomputesBecause() const {
  return impl->spec.recomputesBecause;
}
