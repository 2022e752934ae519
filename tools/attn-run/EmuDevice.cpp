//===- EmuDevice.cpp - attn-run's bridge to the CPU emulator ---------------===//

#include "EmuDevice.h"

#include "attn/emu/KernelLibrary.h"
#include "attn/emu/RaceCheck.h"

#include <chrono>
#include <fstream>

using namespace attn::run;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

EmuViolation toEmuViolation(const attn::emu::MemoryViolation &v) {
  EmuViolation out;
  out.kind = attn::emu::kindName(v.kind);
  out.kernel = v.kernel;
  out.accessor = v.accessor;
  out.buffer = v.buffer;
  out.file = v.file;
  out.line = v.line;
  out.index = v.index;
  out.extent = v.extent;
  out.cta[0] = v.cta.x;
  out.cta[1] = v.cta.y;
  out.cta[2] = v.cta.z;
  out.thread[0] = v.thread.x;
  out.thread[1] = v.thread.y;
  out.thread[2] = v.thread.z;
  out.message = v.describe();
  return out;
}

/// Runs the kernel again as OS threads under ThreadSanitizer, on copies of
/// the buffers (the fiber run's results stay what --check compares).
bool checkRaces(const std::string &name, const EmuLaunch &launch,
                const std::vector<attn::emu::LaunchConfig> &configs,
                EmuChecks &checks, std::string *error) {
  auto start = std::chrono::steady_clock::now();
  auto executable = attn::emu::RaceExecutable::compileSource(
      launch.source, name, attn::emu::RaceBuildOptions(), error);
  if (!executable)
    return false;
  attn::emu::RaceRunOptions options;
  options.copyBack = false;
  for (size_t k = 0; k < launch.kernels.size(); ++k) {
    attn::emu::RaceCheckResult result;
    if (!executable->run(launch.kernels[k].name, launch.params,
                         launch.paramBytes, configs[k], options, result,
                         error))
      return false;
    if (!result.launch.ok()) {
      *error = "the kernel failed under the race checker:\n" +
               result.launch.message();
      return false;
    }
    for (std::string &report : result.reports)
      checks.raceReports.push_back(std::move(report));
    checks.dataRaces += result.dataRaces;
  }
  checks.raceSeconds = secondsSince(start);
  return true;
}

} // namespace

bool attn::run::runOnEmulator(const EmuLaunch &launch, EmuTimes &times,
                              EmuChecks &checks, std::string *error) {
  // --keep-cuda writes the user's copy; the compile works on a private one
  // (under $TMPDIR, removed before the kernel runs, so that a kernel that
  // crashes the process leaves no file behind) named like it in
  // diagnostics.
  std::string name = launch.keepSourcePath;
  if (name.empty())
    name = (launch.kernels.empty() ? std::string("attn-kernel")
                                   : launch.kernels.front().name) +
           ".cu";
  else {
    std::ofstream out(name);
    out << launch.source;
    if (!out) {
      *error = "cannot write '" + name + "'";
      return false;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  attn::emu::HostCompileOptions options;
  auto library = attn::emu::KernelLibrary::compileSource(launch.source, name,
                                                         options, error);
  if (!library)
    return false;
  auto t1 = std::chrono::steady_clock::now();
  times.compile = std::chrono::duration<double>(t1 - t0).count();
  std::vector<attn::emu::LaunchConfig> configs;
  for (const EmuKernel &kernel : launch.kernels) {
    attn::emu::LaunchConfig config(
        kernel.name, dim3(kernel.grid[0], kernel.grid[1], kernel.grid[2]),
        dim3(kernel.block), kernel.dynamicSmemBytes);
    config.countGlobalAccesses = launch.counters;
    config.countTiles = launch.counters;
    config.memcheck = launch.memcheck;
    for (const EmuBuffer &b : launch.buffers)
      config.buffers.push_back({b.name, b.data, b.bytes, b.writable});
    attn::emu::LaunchResult result =
        library->launch(kernel.name, launch.params, config);
    configs.push_back(config);

    checks.globalLoads += result.globalLoads;
    checks.globalStores += result.globalStores;
    checks.globalBytesRead += result.globalBytesRead;
    checks.globalBytesWritten += result.globalBytesWritten;
    checks.tilesFull += result.tilesFull;
    checks.tilesPartial += result.tilesPartial;
    checks.tilesInterior += result.tilesInterior;
    checks.violationCount += result.memoryViolationCount;
    for (const attn::emu::MemoryViolation &v : result.memoryViolations)
      checks.violations.push_back(toEmuViolation(v));
    // Under --memcheck violations are findings to report; anything else
    // that went wrong (deadlocks, and violations without --memcheck) fails
    // the run.
    bool onlyViolations = result.errorCount == result.memoryViolationCount;
    if (!result.ok() && !(launch.memcheck && onlyViolations)) {
      *error = "the emulated kernel " + kernel.name + " failed:\n" +
               result.message();
      return false;
    }
  }
  times.launch = secondsSince(t1);
  if (launch.race)
    return checkRaces(name, launch, configs, checks, error);
  return true;
}
