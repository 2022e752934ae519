//===- Runtime.cpp - compiling variants into plans, with caches -----------===//

#include "RuntimeImpl.h"
#include "Validate.h"

#include "CudaDriver.h"
#include "EmbeddedHeaders.h"
#include "HostInfo.h"

#include "attn/emu/PrivateFiles.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

using namespace attn;
using namespace attn::detail;
using namespace attn::jit;

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

namespace {
std::string env(const char *name) {
  const char *value = std::getenv(name);
  return value ? value : "";
}

/// The archs attn compiles cubins for (attn::codegen::lookupCudaArch).
constexpr const char *kKnownArchs[] = {"sm_80", "sm_86", "sm_89", "sm_90",
                                       "sm_90a"};

bool knownArch(const std::string &arch) {
  for (const char *name : kKnownArchs)
    if (arch == name)
      return true;
  return false;
}

/// The error of asking for an arch attn does not compile for.
Status unknownArchError(const std::string &arch) {
  std::string known;
  for (const char *name : kKnownArchs)
    known += (known.empty() ? "" : ", ") + std::string(name);
  return Status::error("unknown arch '" + arch + "' (attn supports " + known +
                       ")");
}

/// Auto without a GPU says so once per process, not once per compile.
std::atomic<bool> autoNoticeGiven{false};
} // namespace

RuntimeConfig RuntimeConfig::fromEnvironment() {
  RuntimeConfig c;
  if (std::string dir = env("ATTN_CACHE_DIR"); !dir.empty())
    c.cacheDir = dir;
  else if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty())
    c.cacheDir = xdg + "/attn";
  else if (std::string home = env("HOME"); !home.empty())
    c.cacheDir = home + "/.cache/attn";
  c.diskCache = !c.cacheDir.empty();
  if (std::string max = env("ATTN_CACHE_MAX_BYTES"); !max.empty())
    if (!parseByteCount(max, &c.cacheMaxBytes)) {
      std::cerr << "attn: warning: ATTN_CACHE_MAX_BYTES='" << max
                << "' is not a positive byte count (e.g. 500M, 2G); using "
                   "2G"
                << std::endl;
      c.cacheMaxBytes = kDefaultCacheMaxBytes;
    }
  c.dumpDir = env("ATTN_DUMP_DIR");
  c.tuningDb = env("ATTN_TUNING_DB");
  if (std::string mode = env("ATTN_SPLIT_KV"); !mode.empty())
    if (!parseSplitKvMode(mode, c.splitKv) ||
        c.splitKv == SplitKvMode::Default) {
      std::cerr << "attn: warning: ATTN_SPLIT_KV='" << mode
                << "' is not auto, never or always; using auto" << std::endl;
      c.splitKv = SplitKvMode::Auto;
    }
  return c;
}

//===----------------------------------------------------------------------===//
// RuntimeImpl
//===----------------------------------------------------------------------===//

BufferImpl::~BufferImpl() { std::free(host); }

RuntimeImpl::RuntimeImpl(RuntimeConfig config)
    : cfg(std::move(config)),
      cache(
          cfg.cacheDir, cfg.diskCache,
          [this](const std::string &line) { diagnose(line); },
          cfg.cacheMaxBytes),
      plans(cfg.memoryCachePlans) {}

RuntimeImpl::~RuntimeImpl() = default;

void RuntimeImpl::diagnose(const std::string &line) const {
  if (cfg.diagnostic)
    cfg.diagnostic(line);
  else
    std::cerr << line << std::endl;
}

RuntimeStats RuntimeImpl::stats() const {
  RuntimeStats s;
  s.compiles = counters.compiles;
  s.memoryHits = counters.memoryHits;
  s.planDiskHits = counters.planDiskHits;
  s.frontendRuns = counters.frontendRuns;
  s.artifactDiskHits = counters.artifactDiskHits;
  s.nvrtcRuns = counters.nvrtcRuns;
  s.hostCompilerRuns = counters.hostCompilerRuns;
  s.corruptEntries = counters.corruptEntries;
  s.diskWriteFailures = counters.diskWriteFailures;
  s.staleEntries = counters.staleEntries;
  s.splitKvCompiles = counters.splitKvCompiles;
  s.splitKvUnavailable = counters.splitKvUnavailable;
  s.shortRowsCompiles = counters.shortRowsCompiles;
  s.shortRowsUnavailable = counters.shortRowsUnavailable;
  s.packedCompiles = counters.packedCompiles;
  s.packedUnavailable = counters.packedUnavailable;
  s.tunedCompiles = counters.tunedCompiles;
  s.layoutCompiles = counters.layoutCompiles;
  s.tunedUnavailable = counters.tunedUnavailable;
  return s;
}

Expected<DeviceKind> RuntimeImpl::resolveDevice(DeviceKind device) {
  if (device == DeviceKind::Emu)
    return DeviceKind::Emu;
  const cuda::GpuInfo *gpu = nullptr;
  std::string why;
  if (cuda::loadDriver(&gpu, &why))
    return DeviceKind::Cuda;
  if (device == DeviceKind::Cuda)
    return Status::error("device cuda: " + why);
  if (!autoNoticeGiven.exchange(true))
    diagnose("attn: note: no usable GPU (" + why +
             "); device auto runs on the CPU emulator (emu)");
  return DeviceKind::Emu;
}

Expected<Target> RuntimeImpl::resolveTarget(const CompileOptions &options) {
  auto device = resolveDevice(options.device);
  if (!device)
    return device.status();
  Target t;
  t.device = *device;
  if (t.device == DeviceKind::Emu) {
    // The emulator runs the kernel the arch asked for gets (sm_90a: the
    // wgmma schedule); none: any arch's.
    if (!options.arch.empty() && !knownArch(options.arch))
      return unknownArchError(options.arch);
    if (!options.arch.empty())
      t.arch = options.arch;
    return t;
  }
  const cuda::GpuInfo *gpu = nullptr;
  std::string why;
  cuda::loadDriver(&gpu, &why);
  int cc = gpu->major * 10 + gpu->minor;
  std::string running = "sm_" + std::to_string(cc);
  if (!options.arch.empty()) {
    if (!knownArch(options.arch))
      return unknownArchError(options.arch);
    t.arch = options.arch;
    // A cubin only for the GPU it will run on; PTX (JIT-compiled by the
    // driver) for any other arch asked for.
    t.cubin = options.arch == running ||
              (options.arch == "sm_90a" && running == "sm_90");
    return t;
  }
  if (running == "sm_90") {
    // A compute-capability-9.0 GPU runs sm_90a's arch-specific features:
    // the wgmma schedule (CompileOptions::arch = "sm_90" asks for the
    // portable mma.sync kernels instead).
    t.arch = "sm_90a";
    t.cubin = true;
  } else if (knownArch(running)) {
    t.arch = running;
    t.cubin = true;
  } else if (cc > 90) {
    // Newer than any arch attn knows: PTX for the newest, which the driver
    // compiles for the GPU.
    t.arch = "sm_90";
    t.cubin = false;
  } else {
    return Status::error("GPU " + std::to_string(gpu->ordinal) + " (" +
                         gpu->name + ") is " + running +
                         "; attn's kernels need sm_80 or newer");
  }
  return t;
}

void RuntimeImpl::write(std::string_view kind, const Digest &key,
                        std::string_view ext, std::string_view payload) {
  if (cache.writable() && !cache.write(kind, key, ext, payload))
    ++counters.diskWriteFailures;
}

void RuntimeImpl::dump(const std::string &name, std::string_view contents) {
  if (cfg.dumpDir.empty())
    return;
  bool written = false;
  if (makeDirectories(cfg.dumpDir) == 0) {
    int dir = ::open(cfg.dumpDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      written = attn::emu::writeFileAtomically(dir, name, {contents});
      ::close(dir);
    }
  }
  if (!written)
    diagnose("attn: warning: cannot write '" + cfg.dumpDir + "/" + name +
             "' (ATTN_DUMP_DIR)");
}

Expected<PlanSpec> RuntimeImpl::obtainSpec(std::string_view text,
                                           std::string_view bufferName,
                                           const FrontendOptions &options,
                                           const Frontend *frontend,
                                           const Digest &key, bool useDisk,
                                           bool *fromDisk) {
  std::string payload;
  PlanSpec spec;
  *fromDisk = false;
  switch (useDisk ? cache.read("plan", key, ".plan", &payload)
                  : CacheRead::Miss) {
  case CacheRead::Hit:
    switch (deserializePlanSpec(payload, &spec)) {
    case PlanDecode::Ok:
      ++counters.planDiskHits;
      *fromDisk = true;
      return spec;
    case PlanDecode::OtherVersion:
      // Another runtime's layout: rebuilt (and overwritten), never misread.
      ++counters.staleEntries;
      break;
    case PlanDecode::Malformed:
      ++counters.corruptEntries;
      break;
    }
    break;
  case CacheRead::Corrupt:
    ++counters.corruptEntries;
    break;
  case CacheRead::Miss:
    break;
  }
  ++counters.frontendRuns;
  std::string error;
  bool ok;
  if (frontend) {
    ok = (*frontend)(options, &spec, &error);
  } else {
    const CompilerApi *api = findCompiler(&error);
    ok = api && api->compileText(text, bufferName, options, &spec, &error);
  }
  if (!ok)
    return Status::error(error);
  write("plan", key, ".plan", serializePlanSpec(spec));
  return spec;
}

Status RuntimeImpl::buildEmu(PlanImpl &plan) {
  // One .so holds every kernel of the plan (one translation unit).
  std::string unit = plan.spec.source();
  plan.hostCompiler = cfg.hostCompiler;
  std::string error;
  std::string compiler = hostCompilerIdentity(cfg.hostCompiler, cache, &error);
  if (compiler.empty())
    return Status::error(error);
  EmuKeyInputs inputs{unit,
                      embeddedHeadersDigest(),
                      compiler,
                      emuCompilerFlags(),
                      emulatorFingerprint(),
                      cpuIdentity()};
  Digest key = emuArtifactKey(inputs);
  std::vector<std::string> names;
  for (KernelInfo &kernel : plan.spec.kernels) {
    kernel.artifact = "so";
    kernel.cacheKey = key.hex();
    names.push_back(kernel.name);
  }
  std::string label = plan.spec.mainKernel().name + ".cu", image;
  CacheRead read = cache.read("emu", key, ".so", &image);
  if (read == CacheRead::Hit) {
    // Loaded from the checked bytes themselves; an entry that passed its
    // checksum but does not load or lacks a kernel is rebuilt.
    auto loaded = loadEmuKernel(image, label, names);
    if (loaded) {
      ++counters.artifactDiskHits;
      plan.emu = *loaded;
      return Status::success();
    }
  }
  if (read != CacheRead::Miss)
    ++counters.corruptEntries;
  ++counters.hostCompilerRuns;
  auto built = buildEmuKernel(unit, label, cfg.hostCompiler, names, &image);
  if (!built)
    return built.status();
  write("emu", key, ".so", image);
  plan.emu = *built;
  return Status::success();
}

Status RuntimeImpl::buildCuda(PlanImpl &plan, const Target &target) {
  // One module holds every kernel of the plan (one translation unit).
  std::string unit = plan.spec.source();
  const KernelInfo &main = plan.spec.mainKernel();
  const cuda::GpuInfo *gpu = nullptr;
  std::string error;
  if (!cuda::loadDriver(&gpu, &error))
    return Status::error("device cuda: " + error);
  CudaKeyInputs inputs;
  inputs.source = unit;
  inputs.headersDigest = embeddedHeadersDigest();
  inputs.arch = target.arch;
  inputs.cubin = target.cubin;
  // The wrapper's options live in codegen (in the compiler fingerprint).
  inputs.options = std::string("nvrtc-wrapper ") + compilerFingerprint();
  inputs.nvrtc = nvrtcIdentity();
  Digest key = cudaArtifactKey(inputs);
  for (KernelInfo &kernel : plan.spec.kernels) {
    kernel.arch = target.arch;
    kernel.artifact = target.cubin ? "cubin" : "ptx";
    kernel.cacheKey = key.hex();
  }
  std::string ext = target.cubin ? ".cubin" : ".ptx";
  std::vector<CudaKernelRef> kernels;
  for (const KernelInfo &kernel : plan.spec.kernels)
    kernels.push_back({kernel.name, kernel.dynamicSmemBytes});
  std::string image;
  CacheRead read = cache.read("cuda", key, ext, &image);
  if (read == CacheRead::Hit) {
    // cuModuleLoadData of the checked bytes in memory; an image that passed
    // its checksum but does not load is rebuilt once.
    dump(main.name + "-" + key.hex().substr(0, 8) + ext, image);
    auto module = loadCudaModule(image, kernels);
    if (module) {
      ++counters.artifactDiskHits;
      plan.cuda = *module;
      plan.ordinal = gpu->ordinal;
      return Status::success();
    }
  }
  if (read != CacheRead::Miss)
    ++counters.corruptEntries;
  const CompilerApi *api = findCompiler(&error);
  if (!api)
    return Status::error(error);
  CudaCompileRequest request;
  request.source = unit;
  request.programName = main.name + ".cu";
  request.arch = target.arch;
  request.cubin = target.cubin;
  request.headers = &embeddedHeaders();
  std::string log;
  ++counters.nvrtcRuns;
  if (!api->compileCuda(request, &image, &log, &error))
    return Status::error(error);
  dump(main.name + "-" + key.hex().substr(0, 8) + ext, image);
  auto module = loadCudaModule(image, kernels);
  if (!module)
    return module.status();
  // Only an image that loads is kept.
  write("cuda", key, ext, image);
  plan.cuda = *module;
  plan.ordinal = gpu->ordinal;
  return Status::success();
}

int RuntimeImpl::multiprocessors(const Target &target) const {
  if (target.device == DeviceKind::Emu)
    return std::max(1, cfg.emuMultiprocessors);
  const cuda::GpuInfo *gpu = nullptr;
  std::string why;
  return cuda::loadDriver(&gpu, &why) ? std::max(1, gpu->multiprocessors) : 1;
}

Expected<std::shared_ptr<PlanImpl>>
RuntimeImpl::build(std::string_view text, std::string_view bufferName,
                   const CompileOptions &options, const Target &target,
                   const Frontend *frontend, int64_t splitKv, bool packGqa,
                   SequenceLayout layout) {
  FrontendOptions frontOptions = frontendOptions(options, target);
  frontOptions.splitKv = splitKv;
  frontOptions.packGqa = packGqa;
  frontOptions.layout = layout;
  Digest pkey = planKey(text, frontOptions, compilerFingerprint(),
                        embeddedHeadersDigest());
  bool fromDisk = false;
  auto plan = buildFromSpec(text, bufferName, options, target, frontend,
                            frontOptions, pkey, /*useDisk=*/true, &fromDisk);
  if (plan || !fromDisk)
    return plan;
  // A plan entry that passed its checksum but whose kernels do not build or
  // load (say, forged): that entry alone is rebuilt, from the MLIR, once.
  ++counters.corruptEntries;
  return buildFromSpec(text, bufferName, options, target, frontend,
                       frontOptions, pkey, /*useDisk=*/false, &fromDisk);
}

Expected<std::shared_ptr<PlanImpl>> RuntimeImpl::buildFromSpec(
    std::string_view text, std::string_view bufferName,
    const CompileOptions &options, const Target &target,
    const Frontend *frontend, const FrontendOptions &frontOptions,
    const Digest &pkey, bool useDisk, bool *fromDisk) {
  auto spec = obtainSpec(text, bufferName, frontOptions, frontend, pkey,
                         useDisk, fromDisk);
  if (!spec)
    return spec.status();
  // A refusal of the split-KV lowering, of packing or of a sequence layout
  // has nothing to build.
  if (spec->kernels.empty() && !frontOptions.splitKv &&
      !frontOptions.packGqa && frontOptions.layout.dense())
    return Status::error("the compiler returned no kernel for '" +
                         spec->signature.function + "'");
  return planOfSpec(std::move(*spec), options, target, frontOptions.packGqa,
                    pkey.hex().substr(0, 8));
}

Expected<std::shared_ptr<PlanImpl>>
RuntimeImpl::planOfSpec(PlanSpec spec, const CompileOptions &options,
                        const Target &target, bool packedGqa,
                        const std::string &dumpTag) {
  auto plan = std::make_shared<PlanImpl>();
  plan->spec = std::move(spec);
  plan->device = target.device;
  plan->target = target;
  plan->options = options;
  plan->multiprocessors = multiprocessors(target);
  plan->defaultSplitKv = cfg.splitKv;
  plan->packedGqa = packedGqa;
  if (plan->spec.kernels.empty())
    return plan;
  dump(plan->spec.mainKernel().name + "-" + dumpTag + ".cu",
       plan->spec.source());
  Status built = target.device == DeviceKind::Cuda ? buildCuda(*plan, target)
                                                   : buildEmu(*plan);
  if (!built.ok())
    return built;
  return plan;
}

Expected<Plan> RuntimeImpl::compile(std::string_view text,
                                    std::string_view bufferName,
                                    const CompileOptions &options,
                                    const Frontend *frontend) {
  ++counters.compiles;
  auto target = resolveTarget(options);
  if (!target)
    return target.status();
  Digest key = memoryKey(text, options, *target);
  auto lookup = [&]() -> std::shared_ptr<const PlanImpl> {
    std::lock_guard<std::mutex> lock(mapMutex);
    return plans.find(key);
  };
  if (auto hit = lookup()) {
    ++counters.memoryHits;
    return Plan(hit);
  }
  std::lock_guard<std::mutex> compiling(compileMutex);
  if (auto hit = lookup()) { // another thread compiled it meanwhile
    ++counters.memoryHits;
    return Plan(hit);
  }
  auto plan = build(text, bufferName, options, *target, frontend, 0);
  if (!plan)
    return plan.status();
  // What the split-KV plan is compiled from when a run first picks it (by
  // the compiler's text entry point: an in-memory module may be gone by
  // then; its printed text is the same variant).
  (*plan)->runtime = weak_from_this();
  (*plan)->text = std::string(text);
  (*plan)->bufferName = std::string(bufferName);
  std::lock_guard<std::mutex> lock(mapMutex);
  plans.insert(key, *plan);
  return Plan(*plan);
}

Expected<Plan> RuntimeImpl::adopt(PlanSpec spec,
                                  const CompileOptions &options) {
  ++counters.compiles;
  auto target = resolveTarget(options);
  if (!target)
    return target.status();
  if (spec.kernels.empty())
    return Status::error("the launch plan of '" + spec.signature.function +
                         "' has no kernel");
  // Its rows and splits are the emitted ones: the launch-time choices
  // (fewer rows, a split-KV plan, a tuned schedule) are not made for it.
  CompileOptions asEmitted = options;
  asEmitted.blockM = spec.mainKernel().blockM;
  asEmitted.kvSplits = 0;
  auto plan = planOfSpec(std::move(spec), asEmitted, *target,
                         /*packedGqa=*/false, "adopted");
  if (!plan)
    return plan.status();
  // No runtime to derive other plans from: it runs as emitted.
  return Plan(std::shared_ptr<const PlanImpl>(std::move(*plan)));
}

std::shared_ptr<const PlanImpl>
RuntimeImpl::derivedPlan(const PlanImpl &plain, const CompileOptions &options,
                         int64_t splits, std::atomic<uint64_t> &compiles,
                         const std::string &what, std::string *why,
                         bool packGqa, SequenceLayout layout) {
  packGqa = packGqa || plain.packedGqa;
  Digest key =
      memoryKey(plain.text, options, plain.target, splits, packGqa, layout);
  auto lookup = [&]() -> std::shared_ptr<const PlanImpl> {
    std::lock_guard<std::mutex> lock(mapMutex);
    return plans.find(key);
  };
  if (std::shared_ptr<const PlanImpl> hit = lookup())
    return hit;
  std::lock_guard<std::mutex> compiling(compileMutex);
  if (std::shared_ptr<const PlanImpl> hit = lookup())
    return hit;
  ++compiles;
  auto built = build(plain.text, plain.bufferName, options, plain.target,
                     nullptr, splits, packGqa, layout);
  if (!built) {
    // The lowering's refusals are specs; this is a failure to build the
    // artifact (or to reach the compiler): said once, not retried.
    diagnose("attn: warning: the " + what + " of '" +
             plain.spec.signature.function + "' failed to build; running " +
             "the plan it derives from: " + built.message());
    *why = built.message();
    return nullptr;
  }
  // What a plan derived from this one is compiled from in turn (the 64-row
  // plan's own split-KV plan).
  (*built)->runtime = plain.runtime;
  (*built)->text = plain.text;
  (*built)->bufferName = plain.bufferName;
  std::lock_guard<std::mutex> lock(mapMutex);
  plans.insert(key, *built);
  return *built;
}

std::shared_ptr<const PlanImpl> RuntimeImpl::splitPlan(const PlanImpl &plain,
                                                       std::string *why) {
  std::shared_ptr<const PlanImpl> plan =
      // Split count 1 asks for the plan whose count each launch chooses
      // (attn.kv_splits): one compile serves every count.
      derivedPlan(plain, plain.options, /*splits=*/1,
                  counters.splitKvCompiles, "split-KV plan", why);
  if (plan && plan->spec.kernels.empty()) {
    *why = plan->spec.unavailable;
    plan = nullptr;
  }
  if (!plan)
    ++counters.splitKvUnavailable;
  return plan;
}

std::shared_ptr<const PlanImpl>
RuntimeImpl::layoutPlan(const PlanImpl &plain, int64_t rows, bool split,
                        SequenceLayout layout, std::string *why) {
  CompileOptions options = plain.options;
  if (rows > 0)
    options.blockM = rows;
  std::shared_ptr<const PlanImpl> plan = derivedPlan(
      plain, options, split ? 1 : 0, counters.layoutCompiles,
      layout.describe() + (split ? " split-KV" : "") + " plan", why,
      /*packGqa=*/false, layout);
  if (plan && plan->spec.kernels.empty()) {
    *why = plan->spec.unavailable;
    plan = nullptr;
  }
  return plan;
}

std::shared_ptr<const PlanImpl>
RuntimeImpl::tunedPlan(const PlanImpl &plain, const TuningSchedule &schedule,
                       std::string *why) {
  CompileOptions options = plain.options;
  options.blockM = schedule.blockM;
  options.blockN = schedule.blockN;
  options.warps = schedule.warps;
  options.stages = schedule.stages;
  options.kernelPath = schedule.path;
  std::shared_ptr<const PlanImpl> plan =
      derivedPlan(plain, options, 0, counters.tunedCompiles,
                  "tuning-database plan", why);
  if (plan && plan->spec.kernels.empty()) {
    *why = plan->spec.unavailable;
    plan = nullptr;
  }
  if (!plan)
    ++counters.tunedUnavailable;
  return plan;
}

const TuningDb *RuntimeImpl::tuningDb() {
  std::call_once(tuningOnce, [&] {
    if (cfg.tuningDb.empty())
      return;
    std::string error;
    if (!tuning.load(cfg.tuningDb, error)) {
      diagnose("attn: warning: the tuning database is not used: " + error);
      return;
    }
    tuningLoaded = true;
  });
  return tuningLoaded ? &tuning : nullptr;
}

std::shared_ptr<const PlanImpl>
RuntimeImpl::rowsPlan(const PlanImpl &plain, int64_t rows, bool packGqa,
                      std::string *why) {
  CompileOptions options = plain.options;
  options.blockM = rows;
  std::string what = (packGqa ? "GQA-packed " : "") + std::to_string(rows) +
                     "-row plan";
  std::shared_ptr<const PlanImpl> plan = derivedPlan(
      plain, options, 0,
      packGqa ? counters.packedCompiles : counters.shortRowsCompiles, what,
      why, packGqa);
  if (plan && plan->spec.kernels.empty()) {
    *why = plan->spec.unavailable;
    plan = nullptr;
  } else if (plan && plan->spec.mainKernel().blockM != rows) {
    *why = "the variant's Q tile is not attn-tile's to choose (kernel IR)";
    plan = nullptr;
  }
  if (!plan)
    ++(packGqa ? counters.packedUnavailable : counters.shortRowsUnavailable);
  return plan;
}

Expected<Buffer> RuntimeImpl::allocate(DeviceKind device, std::size_t bytes) {
  auto resolved = resolveDevice(device);
  if (!resolved)
    return resolved.status();
  auto impl = std::make_shared<BufferImpl>();
  impl->device = *resolved;
  impl->bytes = bytes;
  if (*resolved == DeviceKind::Emu) {
    // Checked first: with overcommit, an allocation beyond memory succeeds
    // and the process dies when it touches the pages.
    if (Status s = checkHostMemory(bytes, 0,
                                   "a buffer of " + std::to_string(bytes) +
                                       " bytes");
        !s.ok())
      return s;
    // DLPack promises 256-byte aligned data.
    size_t rounded = (std::max<size_t>(bytes, 1) + 255) / 256 * 256;
    impl->host = std::aligned_alloc(256, rounded);
    if (!impl->host)
      return Status::error("cannot allocate " + std::to_string(bytes) +
                           " bytes");
    return Buffer(impl);
  }
  auto memory = allocateDevice(bytes);
  if (!memory)
    return memory.status();
  impl->memory = *memory;
  const cuda::GpuInfo *gpu = nullptr;
  std::string why;
  cuda::loadDriver(&gpu, &why);
  impl->ordinal = gpu ? gpu->ordinal : 0;
  return Buffer(impl);
}

//===----------------------------------------------------------------------===//
// Runtime and Buffer
//===----------------------------------------------------------------------===//

Runtime::Runtime(RuntimeConfig config)
    : impl(std::make_shared<RuntimeImpl>(std::move(config))) {}

Runtime::~Runtime() = default;

Runtime &Runtime::global() {
  // Never destroyed: plans may outlive static destruction order (and the
  // CUDA driver may be gone by then).
  static Runtime *runtime = new Runtime();
  return *runtime;
}

Expected<Plan> Runtime::compileFile(const std::string &path,
                                    const CompileOptions &options) {
  std::string text;
  if (!readFile(path, &text))
    return Status::error("cannot read '" + path + "': " + std::strerror(errno));
  return impl->compile(text, path, options, nullptr);
}

Expected<Plan> Runtime::compileText(std::string_view mlir,
                                    const CompileOptions &options,
                                    std::string_view bufferName) {
  return impl->compile(mlir, bufferName, options, nullptr);
}

Expected<BackwardPlan>
Runtime::compileBackwardFile(const std::string &path,
                             const CompileOptions &options,
                             const BackwardOptions &backward) {
  std::string text;
  if (!readFile(path, &text))
    return Status::error("cannot read '" + path + "': " + std::strerror(errno));
  return impl->compileBackward(text, path, options, backward);
}

Expected<BackwardPlan>
Runtime::compileBackwardText(std::string_view mlir,
                             const CompileOptions &options,
                             const BackwardOptions &backward,
                             std::string_view bufferName) {
  return impl->compileBackward(mlir, bufferName, options, backward);
}

Expected<DeviceKind> Runtime::resolveDevice(DeviceKind device) {
  return impl->resolveDevice(device);
}

Expected<Buffer> Runtime::allocate(DeviceKind device, std::size_t bytes) {
  return impl->allocate(device, bytes);
}

RuntimeStats Runtime::stats() const { return impl->stats(); }

const RuntimeConfig &Runtime::config() const { return impl->config(); }

bool Runtime::diskCacheUsable() const { return impl->disk().writable(); }

void *Buffer::data() const {
  if (!impl)
    return nullptr;
  return impl->host ? impl->host
                    : reinterpret_cast<void *>(impl->memory->pointer);
}

std::size_t Buffer::size() const { return impl ? impl->bytes : 0; }

DLDevice Buffer::dlDevice() const {
  if (!impl || impl->device == DeviceKind::Emu)
    return DLDevice{kDLCPU, 0};
  return DLDevice{kDLCUDA, impl->ordinal};
}

Status Buffer::copyFromHost(const void *src, std::size_t bytes,
                            std::size_t offset) {
  if (!impl || offset > impl->bytes || bytes > impl->bytes - offset)
    return Status::error("copy of " + std::to_string(bytes) +
                         " bytes at offset " + std::to_string(offset) +
                         " overruns a buffer of " + std::to_string(size()));
  if (impl->host) {
    std::memcpy(static_cast<char *>(impl->host) + offset, src, bytes);
    return Status::success();
  }
  return copyToDevice(impl->memory->pointer + offset, src, bytes);
}

Status Buffer::copyToHost(void *dst, std::size_t bytes,
                          std::size_t offset) const {
  if (!impl || offset > impl->bytes || bytes > impl->bytes - offset)
    return Status::error("copy of " + std::to_string(bytes) +
                         " bytes at offset " + std::to_string(offset) +
                         " overruns a buffer of " + std::to_string(size()));
  if (impl->host) {
    std::memcpy(dst, static_cast<const char *>(impl->host) + offset, bytes);
    return Status::success();
  }
  return attn::jit::copyToHost(dst, impl->memory->pointer + offset, bytes);
}
