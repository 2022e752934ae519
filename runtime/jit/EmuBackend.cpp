//===- EmuBackend.cpp - plans on the CPU emulator -------------------------===//

#include "EmuBackend.h"

#include "attn/emu/KernelLibrary.h"

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

Status attn::jit::launchEmu(const EmuKernel &kernel,
                            const std::vector<EmuLaunch> &launches,
                            RunStats *stats) {
  // One launch at a time: each already spreads its CTAs over every core,
  // and the emulator's documentation promises nothing about concurrent
  // launches. A plan's kernels may interleave with another run's: each run
  // has its own buffers.
  static std::mutex mutex;
  for (const EmuLaunch &launch : launches) {
    attn::emu::LaunchConfig config(
        launch.kernelName, dim3(launch.grid[0], launch.grid[1], launch.grid[2]),
        dim3(launch.threads), launch.dynamicSmemBytes);
    config.countGlobalAccesses = launch.countGlobalAccesses;
    config.memcheck = launch.memcheck;
    config.buffers = launch.buffers;
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
    }
    if (!result.ok())
      return Status::error("the kernel '" + launch.kernelName +
                           "' failed on the emulator:\n" + result.message());
  }
  return Status::success();
}
