//===- Launch.cpp - Emulator launches and the kernel-facing Runtime table ----===//
//
// Validates a launch, spreads its CTAs over worker threads (each with its own
// CtaRunner) and implements the Runtime table that kernel code calls through
// cuda_emu.h by forwarding to the runner active on the calling OS thread.
//
//===----------------------------------------------------------------------===//

#include "CtaRunner.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace attn::emu {

extern thread_local CtaRunner *activeRunner;

namespace {

CtaRunner &runner() {
  if (!activeRunner) {
    // Kernel code called outside a launch (e.g. a device function called
    // directly from host code): there is no CUDA thread to answer for.
    std::fputs("attn emulator: CUDA builtin used outside an emulator launch\n",
               stderr);
    std::abort();
  }
  return *activeRunner;
}

ThreadState *current() { return runner().current(); }
void syncThreads(const char *file, unsigned line) {
  runner().syncThreads(file, line);
}
void syncWarp(unsigned mask, const char *op, const char *file, unsigned line) {
  runner().syncWarp(mask, op, file, line);
}
unsigned char *warpScratch() { return runner().warpScratch(); }
void *staticShared(const void *key, std::size_t bytes, const char *name) {
  return runner().staticShared(key, bytes, name);
}
void cpAsync(void *dst, const void *src, unsigned bytes, unsigned srcBytes,
             const char *file, unsigned line) {
  runner().cpAsync(dst, src, bytes, srcBytes, file, line);
}
void cpAsyncCommit() { runner().cpAsyncCommit(); }
void cpAsyncWait(unsigned pendingGroups) { runner().cpAsyncWait(pendingGroups); }
void globalAccess(const GlobalAccess &access) {
  runner().globalAccess(access);
}
void outOfBounds(const GlobalAccess &access) { runner().outOfBounds(access); }
void countTile(int kind) { runner().countTile(kind); }
void uninitialisedShared(const char *op, const void *address, unsigned bytes,
                         const char *file, unsigned line) {
  runner().uninitialisedShared(op, address, bytes, file, line);
}
void error(const char *message) { runner().threadError(message); }
void namedBarrier(unsigned id, unsigned count, bool arriveOnly,
                  const char *file, unsigned line) {
  runner().namedBarrier(id, count, arriveOnly, file, line);
}
void mbarrierSpin(const void *barrier, unsigned parity, const char *op,
                  const char *file, unsigned line) {
  runner().mbarrierSpin(barrier, parity, op, file, line);
}
void wgmmaFence() { runner().wgmmaFence(); }
void wgmmaIssue(const WgmmaIssue &issue) { runner().wgmmaIssue(issue); }
void wgmmaCommit() { runner().wgmmaCommit(); }
void wgmmaWait(unsigned pendingGroups) { runner().wgmmaWait(pendingGroups); }
void tmaCopy(const TmaCopy &copy) { runner().tmaCopy(copy); }
void tmaStoreCommit() { runner().tmaStoreCommit(); }
void tmaStoreWait(unsigned pendingGroups, const char *file, unsigned line) {
  runner().tmaStoreWait(pendingGroups, file, line);
}
// The fiber emulator lands a TMA load when a thread waits for it.
void mbarrierPhaseSeen(const void *, unsigned) {}

// In the order of Runtime's members.
// clang-format off
const Runtime kRuntime = {
    kAbiVersion, current, syncThreads, syncWarp, warpScratch, staticShared,
    cpAsync, cpAsyncCommit, cpAsyncWait, globalAccess, outOfBounds, countTile,
    uninitialisedShared, error, namedBarrier, mbarrierSpin, wgmmaFence,
    wgmmaIssue, wgmmaCommit, wgmmaWait, tmaCopy, tmaStoreCommit, tmaStoreWait,
    mbarrierPhaseSeen,
};
// clang-format on

std::string validate(const LaunchConfig &config, KernelEntry entry) {
  const dim3 &g = config.grid, &b = config.block;
  if (!entry)
    return "no kernel entry point";
  if (!g.x || !g.y || !g.z || !b.x || !b.y || !b.z)
    return "grid and block dimensions must be positive";
  if (static_cast<unsigned long long>(b.x) * b.y * b.z > 1024)
    return "a CTA has at most 1024 threads";
  if (g.y > 65535 || g.z > 65535)
    return "gridDim.y and gridDim.z are at most 65535";
  return {};
}

} // namespace

const Runtime *runtimeTable() { return &kRuntime; }

std::string LaunchResult::message() const {
  std::string out;
  for (const std::string &e : errors)
    out += e + "\n";
  if (errorCount > errors.size())
    out += "(" + std::to_string(errorCount - errors.size()) +
           " more errors)\n";
  return out;
}

LaunchResult launchEntry(KernelEntry entry, const void *params,
                         const LaunchConfig &config) {
  if (std::string problem = validate(config, entry); !problem.empty()) {
    LaunchResult result;
    result.errorCount = 1;
    result.errors.push_back("kernel '" + config.kernelName +
                            "': invalid launch: " + problem);
    return result;
  }
  std::uint64_t numCtas = static_cast<std::uint64_t>(config.grid.x) *
                          config.grid.y * config.grid.z;
  LaunchState launch(config, entry, params, numCtas);
  unsigned workers = config.numWorkers;
  if (!workers)
    workers = std::max(1u, std::thread::hardware_concurrency());
  workers = static_cast<unsigned>(
      std::min<std::uint64_t>(workers, numCtas));

  try {
    std::vector<std::unique_ptr<CtaRunner>> runners;
    for (unsigned i = 0; i < workers; ++i)
      runners.push_back(std::make_unique<CtaRunner>(launch));
    // The calling thread is worker 0.
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < workers; ++i)
      threads.emplace_back([&runners, i] { runners[i]->run(); });
    runners[0]->run();
    for (std::thread &t : threads)
      t.join();
  } catch (const std::exception &e) {
    launch.recordError("kernel '" + config.kernelName + "': " + e.what());
  }
  return std::move(launch.result);
}

} // namespace attn::emu
