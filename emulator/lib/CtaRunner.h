//===- CtaRunner.h - Runs the CTAs of a launch as fibers (private) -*- C++ -*-===//
//
// Internal to AttnEmulator. A CtaRunner is one worker OS thread's machinery:
// fiber stacks, per-CTA shared memory and barrier state. It runs one CTA at a
// time, one fiber per CUDA thread, on Boost.Context's raw fcontext (no
// exceptions or allocation per switch). A fiber runs until it blocks at a
// barrier or warp collective; the runner resumes ready fibers round-robin and
// diagnoses a CTA in which no fiber can proceed.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMULATOR_CTARUNNER_H
#define ATTN_EMULATOR_CTARUNNER_H

#include "BufferMap.h"
#include "RunnerSupport.h"

#include "attn/emu/Emulator.h"

#include <boost/context/detail/fcontext.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace attn::emu {

/// State shared by the workers of one launch.
struct LaunchState {
  const LaunchConfig &config;
  KernelEntry entry;
  const void *params;
  std::uint64_t numCtas;
  std::atomic<std::uint64_t> nextCta{0};
  /// Set by a fatal error: workers take no further CTAs.
  std::atomic<bool> aborted{false};

  /// config.buffers, for memcheck's lookups.
  BufferMap buffers;

  std::mutex resultMutex;
  LaunchResult result;

  LaunchState(const LaunchConfig &config, KernelEntry entry,
              const void *params, std::uint64_t numCtas)
      : config(config), entry(entry), params(params), numCtas(numCtas),
        buffers(config.buffers) {}
  /// Records one error (thread-safe).
  void recordError(std::string message);
  /// Records one memory violation, also as an error (thread-safe).
  void recordViolation(MemoryViolation violation);
};

class CtaRunner {
public:
  explicit CtaRunner(LaunchState &launch);
  ~CtaRunner();
  CtaRunner(const CtaRunner &) = delete;
  CtaRunner &operator=(const CtaRunner &) = delete;

  /// Takes CTAs from the launch until none is left or the launch aborts, then
  /// adds this worker's counters to the launch result.
  void run();

  // Runtime services, called from inside a fiber of this runner.
  void syncThreads(const char *file, unsigned line);
  void syncWarp(unsigned mask, const char *op, const char *file,
                unsigned line);
  unsigned char *warpScratch();
  void *staticShared(const void *key, std::size_t bytes, const char *name);
  void cpAsync(void *dst, const void *src, unsigned bytes, unsigned srcBytes,
               const char *file, unsigned line);
  void cpAsyncCommit();
  void cpAsyncWait(unsigned pendingGroups);
  /// Counts an in-bounds global access and, with memcheck, checks it against
  /// the launch's buffers.
  void globalAccess(const GlobalAccess &access);
  /// Records an access outside the accessor's extent.
  void outOfBounds(const GlobalAccess &access);
  void countTile(int kind);
  void uninitialisedShared(const char *op, const void *address,
                           unsigned bytes, const char *file, unsigned line);
  void namedBarrier(unsigned id, unsigned count, bool arriveOnly,
                    const char *file, unsigned line);
  void mbarrierSpin(const void *barrier, unsigned parity, const char *op,
                    const char *file, unsigned line);
  void wgmmaFence();
  void wgmmaIssue(const WgmmaIssue &issue);
  void wgmmaCommit();
  void wgmmaWait(unsigned pendingGroups);
  void tmaCopy(const TmaCopy &copy);
  void tmaStoreCommit();
  void tmaStoreWait(unsigned pendingGroups, const char *file, unsigned line);
  /// Records an error attributed to the running thread; it keeps running.
  void threadError(const std::string &message);
  /// The running thread's state.
  ThreadState *current();

private:
  enum class FiberState {
    Ready,
    AtBlockBarrier,
    AtWarpBarrier,
    AtNamedBarrier,
    Exited
  };

  struct PendingCopy {
    void *dst;
    unsigned bytes;
    unsigned char data[16];
  };

  /// An issued wgmma that has not landed (WgmmaIssue, with its own copies).
  struct PendingWgmma {
    float *acc;
    unsigned *inFlight;
    std::vector<float> values;
    std::vector<const unsigned char *> chunks;
    std::uint64_t operandHash;
    const char *file;
    unsigned line;
  };

  /// A TMA load in flight: its box, gathered at issue (zero-filled outside
  /// the tensor), lands in shared memory when a thread waits on `barrier`.
  struct PendingTmaLoad {
    std::size_t dstOffset; ///< in dynamic shared memory
    std::vector<unsigned char> box;
    unsigned swizzleBits;
    std::uint64_t *barrier;
    const char *file;
    unsigned line;
  };
  /// A TMA store whose shared-memory source has not been released.
  struct PendingTmaStore {
    std::vector<const unsigned char *> chunks;
    std::uint64_t hash;
    const char *file;
    unsigned line;
  };

  struct Fiber {
    ThreadState pub;
    CtaRunner *runner;
    boost::context::detail::fcontext_t context;
    FiberState state;
    const char *waitOp;
    const char *waitFile;
    unsigned waitLine;
    unsigned waitMask;
    std::vector<PendingCopy> copies;  ///< issued, not landed, oldest first
    std::vector<std::size_t> groupEnds; ///< end of each committed group
    std::vector<PendingWgmma> wgmmas;   ///< issued, not landed, oldest first
    std::vector<std::size_t> wgmmaGroupEnds;
    std::vector<PendingTmaStore> tmaStores;
    std::vector<std::size_t> tmaStoreGroupEnds;
    /// Set when the fiber last suspended spinning on an mbarrier phase.
    bool spinning;
    const void *spinBarrier;
    unsigned spinParity;
  };

  /// One of the 16 hardware named barriers (0 is __syncthreads').

  struct Warp {
    unsigned arrived; ///< lanes waiting at the current collective
    unsigned exited;  ///< lanes whose thread returned
    unsigned mask;    ///< lanes the current collective waits for
    const char *op;
    const char *file;
    unsigned line;
    unsigned opCount; ///< completed collectives; selects the scratch buffer
    alignas(16) unsigned char scratch[2][kWarpScratchBytes];
  };

  struct StaticAllocation {
    const void *key;
    std::size_t offset, bytes;
  };

  static void fiberMain(boost::context::detail::transfer_t transfer);

  void runCta(std::uint64_t linearCta);
  void prepareCta(std::uint64_t linearCta);
  void resume(Fiber &fiber);
  /// Switches from the running fiber back to the scheduler loop.
  void suspend();
  void threadExited(Fiber &fiber);
  /// Records a CTA-fatal error, abandons the CTA and suspends for good.
  [[noreturn]] void fatal(const std::string &message);
  void diagnoseDeadlock();
  void release(unsigned first, unsigned count, unsigned mask);

  std::string ctaPrefix() const;
  /// A violation by the running thread, filled with kernel, CTA and thread.
  MemoryViolation violation(MemoryViolation::Kind kind, const char *op,
                            const char *file, unsigned line) const;
  std::string threadName(const Fiber &fiber) const;
  static std::string site(const char *file, unsigned line);
  bool isShared(const void *address, std::size_t bytes) const;
  /// "static+N" / "dynamic+N" for a shared-memory address, for diagnostics.
  std::string sharedOffset(const void *address) const;
  void landCopies(Fiber &fiber, std::size_t count);
  void landWgmmas(Fiber &fiber, std::size_t count);
  /// Lands the TMA loads that complete on `barrier`; whether there were any.
  bool landTmaLoads(const void *barrier);
  /// Memcheck: the tensor `map` describes lies inside one launch buffer.
  void checkTensorMap(const EmuTensorMap &map, bool isStore, const char *file,
                      unsigned line);

  LaunchState &launch;
  unsigned numThreads = 0;
  uint3 ctaid{};
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  Fiber *running = nullptr;
  boost::context::detail::fcontext_t schedulerContext = nullptr;
  bool ctaAborted = false;

  unsigned blockArrived = 0;
  unsigned exitedCount = 0;
  const char *blockFile = nullptr;
  unsigned blockLine = 0;
  unsigned blockFirstWaiter = 0;
  runner::NamedBarrierPhase namedBarriers[16] = {};
  std::vector<PendingTmaLoad> tmaLoads;

  unsigned char *stacks = nullptr; ///< one mapping: [guard page, stack] x n
  std::size_t stackSlotBytes = 0;
  std::size_t stackMappingBytes = 0;

  std::unique_ptr<unsigned char[]> staticSharedStorage;
  unsigned char *staticSharedBase = nullptr;
  std::size_t staticSharedUsed = 0;
  std::vector<StaticAllocation> staticAllocations;
  std::unique_ptr<unsigned char[]> dynamicSharedStorage;
  unsigned char *dynamicSharedBase = nullptr;

  std::uint64_t ctasCompleted = 0;
  std::uint64_t loads = 0, stores = 0, bytesRead = 0, bytesWritten = 0;
  std::uint64_t tilesFull = 0, tilesPartial = 0, tilesInterior = 0;
};

/// Static shared memory one CTA may allocate in the emulator (above any real
/// GPU's limit: checking limits is the emitter's job).
inline constexpr std::size_t kStaticSharedCapacity = 256 * 1024;

} // namespace attn::emu

#endif // ATTN_EMULATOR_CTARUNNER_H
