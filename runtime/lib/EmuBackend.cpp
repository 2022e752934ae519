//===- EmuBackend.cpp - plans on the CPU emulator -------------------------===//

#include "EmuBackend.h"

#include "attn/emu/KernelLibrary.h"
#include "attn/emu/RaceCheck.h"

#include <algorithm>
#include <chrono>
#include <mutex>

using namespace attn;
using namespace attn::jit;

struct attn::jit::EmuKernel {
  std::unique_ptr<attn::emu::KernelLibrary> library;
};

std::string attn::jit::emuCompilerFlags() {
  std::string flags;
  for (const std::string &f : attn::emu::HostCompileOptions().flags)
    flags += (flags.empty() ? "" : " ") + f;
  return flags;
}

namespace {
/// The library, once every kernel of `kernels` is found in it.
Expected<std::shared_ptr<EmuKernel>>
withKernels(std::unique_ptr<attn::emu::KernelLibrary> library,
            const std::vector<std::string> &kernels) {
  for (const std::string &kernel : kernels)
    if (!library->lookup(kernel))
      return Status::error("the kernel library '" + library->name() +
                           "' has no kernel '" + kernel + "'");
  return std::make_shared<EmuKernel>(EmuKernel{std::move(library)});
}
} // namespace

Expected<std::shared_ptr<EmuKernel>>
attn::jit::buildEmuKernel(std::string_view source, const std::string &name,
                          const std::string &compiler,
                          const std::vector<std::string> &kernels,
                          std::string *image) {
  attn::emu::HostCompileOptions host;
  host.compiler = compiler;
  std::string error;
  auto library =
      attn::emu::KernelLibrary::compileSource(source, name, host, &error, image);
  if (!library)
    return Status::error(error);
  return withKernels(std::move(library), kernels);
}

Expected<std::shared_ptr<EmuKernel>>
attn::jit::loadEmuKernel(std::string_view image, const std::string &name,
                         const std::vector<std::string> &kernels) {
  std::string error;
  auto library = attn::emu::KernelLibrary::loadImage(image, name, &error);
  if (!library)
    return Status::error(error);
  return withKernels(std::move(library), kernels);
}

namespace {

MemoryViolationReport reportOf(const attn::emu::MemoryViolation &v) {
  MemoryViolationReport out;
  out.kind = attn::emu::kindName(v.kind);
  out.kernel = v.kernel;
  out.accessor = v.accessor;
  out.buffer = v.buffer;
  out.file = v.file;
  out.line = v.line;
  out.index = v.index;
  out.extent = v.extent;
  unsigned cta[3] = {v.cta.x, v.cta.y, v.cta.z};
  unsigned thread[3] = {v.thread.x, v.thread.y, v.thread.z};
  std::copy(cta, cta + 3, out.cta);
  std::copy(thread, thread + 3, out.thread);
  out.message = v.describe();
  return out;
}

attn::emu::LaunchConfig configOf(const EmuLaunch &launch) {
  attn::emu::LaunchConfig config(
      launch.kernelName, dim3(launch.grid[0], launch.grid[1], launch.grid[2]),
      dim3(launch.threads), launch.dynamicSmemBytes);
  config.countGlobalAccesses = launch.countGlobalAccesses;
  config.countTiles = launch.countTiles;
  config.memcheck = launch.memcheck;
  config.buffers = launch.buffers;
  return config;
}

} // namespace

Status attn::jit::launchEmu(const EmuKernel &kernel,
                            const std::vector<EmuLaunch> &launches,
                            RunStats *stats) {
  // One launch at a time: each already spreads its CTAs over every core,
  // and the emulator's documentation promises nothing about concurrent
  // launches. A plan's kernels may interleave with another run's: each run
  // has its own buffers.
  static std::mutex mutex;
  for (const EmuLaunch &launch : launches) {
    attn::emu::LaunchConfig config = configOf(launch);
    attn::emu::LaunchResult result;
    {
      std::lock_guard<std::mutex> lock(mutex);
      result = kernel.library->launch(launch.kernelName, launch.params, config);
    }
    if (stats) {
      stats->device = DeviceKind::Emu;
      stats->ctas += result.ctasCompleted;
      stats->globalLoads += result.globalLoads;
      stats->globalStores += result.globalStores;
      stats->globalBytesRead += result.globalBytesRead;
      stats->globalBytesWritten += result.globalBytesWritten;
      stats->tilesFull += result.tilesFull;
      stats->tilesPartial += result.tilesPartial;
      stats->tilesInterior += result.tilesInterior;
      if (launch.memcheckReports) {
        stats->memoryViolationCount += result.memoryViolationCount;
        for (const attn::emu::MemoryViolation &v : result.memoryViolations)
          stats->memoryViolations.push_back(reportOf(v));
      }
    }
    // Reported violations are findings; anything else that went wrong
    // (deadlocks, and violations not reported) fails the run.
    bool onlyViolations = result.errorCount == result.memoryViolationCount;
    if (!result.ok() && !(launch.memcheckReports && stats && onlyViolations))
      return Status::error("the kernel '" + launch.kernelName +
                           "' failed on the emulator:\n" + result.message());
  }
  return Status::success();
}

Status attn::jit::raceCheckEmu(std::string_view source,
                               const std::string &name,
                               const std::string &compiler,
                               const std::vector<EmuLaunch> &launches,
                               std::size_t paramBytes, RunStats *stats) {
  auto start = std::chrono::steady_clock::now();
  attn::emu::RaceBuildOptions build;
  build.compiler = compiler;
  std::string error;
  auto executable =
      attn::emu::RaceExecutable::compileSource(source, name, build, &error);
  if (!executable)
    return Status::error(error);
  attn::emu::RaceRunOptions options;
  options.copyBack = false;
  RunStats ignored;
  RunStats &out = stats ? *stats : ignored;
  for (const EmuLaunch &launch : launches) {
    attn::emu::RaceCheckResult result;
    if (!executable->run(launch.kernelName, launch.params, paramBytes,
                         configOf(launch), options, result, &error))
      return Status::error(error);
    if (!result.launch.ok())
      return Status::error("the kernel '" + launch.kernelName +
                           "' failed under the race checker:\n" +
                           result.launch.message());
    for (std::string &report : result.reports)
      out.raceReports.push_back(std::move(report));
    out.dataRaces += result.dataRaces;
  }
  out.raceSeconds = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  return Status::success();
}
