//===- RaceMain.cpp - attn-race: a kernel run as OS threads under TSan ----===//
//
// The main program of a race-checking executable. The host (RaceCheck.cpp)
// links one kernel source, compiled with -fsanitize=thread, against this
// library and runs it as
//
//   <executable> LAUNCH_FILE RESULT_FILE
//
// It reads the launch (RaceWire.h), gives the parameter blob pointers to its
// own copies of the buffers, runs the grid a few CTAs at a time with one OS
// thread per CUDA thread, and writes the buffers and its errors back.
// ThreadSanitizer reports races itself (TSAN_OPTIONS, set by the host, sends
// them to a log file) and sets the exit status.
//
// Exit status: 0 clean, 1 kernel errors (barriers, bounds), 2 bad usage or
// I/O, and TSan's exitcode (66 by default) when it reported anything.
//
//===----------------------------------------------------------------------===//

#include "RaceWire.h"
#include "ThreadCta.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

using namespace attn::emu;
using namespace attn::emu::race;

namespace {

ThreadCta &cta() {
  ThreadCta *c = ThreadCta::currentCta();
  if (!c) {
    std::fputs("attn-race: CUDA builtin used outside a kernel thread\n",
               stderr);
    std::abort();
  }
  return *c;
}

ThreadState *current() { return cta().current(); }
void syncThreads(const char *file, unsigned line) {
  cta().syncThreads(file, line);
}
void syncWarp(unsigned mask, const char *op, const char *file, unsigned line) {
  cta().syncWarp(mask, op, file, line);
}
unsigned char *warpScratch() { return cta().warpScratch(); }
void *staticShared(const void *key, std::size_t bytes, const char *name) {
  return cta().staticShared(key, bytes, name);
}
void cpAsync(void *dst, const void *src, unsigned bytes, unsigned srcBytes,
             const char *file, unsigned line) {
  cta().cpAsync(dst, src, bytes, srcBytes, file, line);
}
void cpAsyncCommit() { cta().cpAsyncCommit(); }
void cpAsyncWait(unsigned pendingGroups) { cta().cpAsyncWait(pendingGroups); }
// Counters and memcheck belong to the fiber emulator; their flags are off.
void globalAccess(const GlobalAccess &) {}
void outOfBounds(const GlobalAccess &access) {
  cta().threadError(std::string(access.op) + " out of bounds at " +
                    (access.file ? access.file : "?") + ":" +
                    std::to_string(access.line) + ": index " +
                    std::to_string(access.index) + ", extent " +
                    std::to_string(access.extent));
}
void countTile(int) {}
void uninitialisedShared(const char *, const void *, unsigned, const char *,
                         unsigned) {}
void error(const char *message) { cta().threadError(message); }
void namedBarrier(unsigned id, unsigned count, bool arriveOnly,
                  const char *file, unsigned line) {
  cta().namedBarrier(id, count, arriveOnly, file, line);
}
void mbarrierSpin(const void *barrier, unsigned parity, const char *op,
                  const char *file, unsigned line) {
  cta().mbarrierSpin(barrier, parity, op, file, line);
}
void wgmmaFence() { cta().wgmmaFence(); }
void wgmmaIssue(const WgmmaIssue &issue) { cta().wgmmaIssue(issue); }
void wgmmaCommit() { cta().wgmmaCommit(); }
void wgmmaWait(unsigned pendingGroups) { cta().wgmmaWait(pendingGroups); }
void tmaCopy(const TmaCopy &copy) { cta().tmaCopy(copy); }
void tmaStoreCommit() { cta().tmaStoreCommit(); }
void tmaStoreWait(unsigned pendingGroups, const char *file, unsigned line) {
  cta().tmaStoreWait(pendingGroups, file, line);
}
void mbarrierPhaseSeen(const void *barrier, unsigned parity) {
  cta().mbarrierPhaseSeen(barrier, parity);
}

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

int usage(const char *message) {
  std::fprintf(stderr, "attn-race: %s\n", message);
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3)
    return usage("usage: attn-race LAUNCH_FILE RESULT_FILE");
  WireLaunch wire;
  if (!readLaunch(argv[1], wire))
    return usage("cannot read the launch file (missing, truncated or from "
                 "another version)");

  // The kernel is linked into this executable; its entry is exported.
  std::string symbol = "attn_emu_entry_" + wire.kernelName;
  auto entry =
      reinterpret_cast<KernelEntry>(dlsym(RTLD_DEFAULT, symbol.c_str()));
  if (!entry)
    return usage(("no kernel '" + wire.kernelName +
                  "' in this executable (is it exported with "
                  "ATTN_KERNEL_ENTRY?)")
                     .c_str());

  // Point the parameter blob at this process' copies of the buffers.
  for (const WireRelocation &r : wire.relocations) {
    if (r.buffer >= wire.buffers.size() ||
        r.paramOffset + sizeof(void *) > wire.params.size() ||
        r.offset > wire.buffers[r.buffer].bytes.size())
      return usage("the launch file has a bad pointer relocation");
    unsigned char *target = wire.buffers[r.buffer].bytes.data() + r.offset;
    std::memcpy(wire.params.data() + r.paramOffset, &target, sizeof target);
  }

  ErrorLog errors;
  CtaLaunch launch;
  launch.kernelName = wire.kernelName;
  launch.grid = dim3(wire.grid[0], wire.grid[1], wire.grid[2]);
  launch.block = dim3(wire.block[0], wire.block[1], wire.block[2]);
  launch.dynamicSharedBytes = wire.dynamicSharedBytes;
  launch.entry = entry;
  launch.params = wire.params.data();
  launch.runtime = &kRuntime;
  launch.errors = &errors;

  std::uint64_t numCtas =
      std::uint64_t(launch.grid.x) * launch.grid.y * launch.grid.z;
  unsigned numThreads = launch.block.x * launch.block.y * launch.block.z;
  unsigned concurrent = static_cast<unsigned>(std::max<std::uint64_t>(
      1, std::min<std::uint64_t>(wire.concurrentCtas, numCtas)));
  std::vector<std::unique_ptr<CtaSlot>> slots;
  for (unsigned i = 0; i < concurrent; ++i)
    slots.push_back(std::make_unique<CtaSlot>((numThreads + 31) / 32,
                                              launch.dynamicSharedBytes));

  // Groups of CTAs run at once; a group is joined before the next starts
  // (which orders them: races between CTAs of different groups are not seen).
  WireResult result;
  bool stop = false;
  for (std::uint64_t first = 0; first < numCtas && !stop; first += concurrent) {
    std::vector<std::unique_ptr<ThreadCta>> group;
    for (unsigned i = 0; i < concurrent && first + i < numCtas; ++i)
      group.push_back(
          std::make_unique<ThreadCta>(launch, *slots[i], first + i));
    for (auto &c : group)
      c->start();
    for (auto &c : group) {
      if (c->join())
        ++result.ctasCompleted;
      else
        stop = true; // as the fiber emulator: a broken CTA ends the launch
    }
  }

  result.errorCount = errors.count();
  result.errors = errors.messages();
  for (WireBuffer &b : wire.buffers)
    result.buffers.push_back(std::move(b));
  if (!writeResult(argv[2], result))
    return usage("cannot write the result file");
  return result.errorCount ? 1 : 0;
}
