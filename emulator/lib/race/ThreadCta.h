//===- ThreadCta.h - One CTA as OS threads, for TSan ----------*- C++ -*-===//
//
// The race checker's counterpart of CtaRunner: every CUDA thread of a CTA is
// an OS thread, so ThreadSanitizer sees the kernel's real concurrency. The
// kernel source, cuda_emu.h and the device library are the same as in the
// fiber emulator; only the Runtime table behind them differs.
//
// What TSan is told synchronises (and nothing else, so that races are not
// hidden behind the emulator's own locks):
//  - __syncthreads: every thread of the CTA with every other;
//  - __syncwarp: the lanes of its mask;
//  - thread start and end (the CTA's threads start after the host wrote the
//    inputs and are joined before the results are read).
//  - named barriers (bar.arrive releases, bar.sync releases and acquires);
//  - a TMA copy: made by the CTA's "TMA unit" (a TSan fiber), after what the
//    issuing thread did before and, for a load, before what a thread does
//    once it saw the mbarrier phase the copy completes.
// Shuffles, votes, ldmatrix and mma exchange values through a per-warp
// scratch buffer under a lock that TSan is told to ignore: on a GPU they move
// registers and order no memory, so two lanes exchanging a value must not
// make their shared-memory accesses look ordered.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMULATOR_RACE_THREADCTA_H
#define ATTN_EMULATOR_RACE_THREADCTA_H

#include "attn/emu/cuda_emu.h"

#include "../RunnerSupport.h"

#include "Tsan.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace attn::emu::race {

/// Errors of one run, shared by all CTAs (thread-safe).
class ErrorLog {
public:
  void record(std::string message);
  std::uint64_t count() const;
  std::vector<std::string> messages() const;

private:
  mutable std::mutex mutex;
  std::uint64_t total = 0;
  std::vector<std::string> kept;
};

/// The launch as the runner sees it.
struct CtaLaunch {
  std::string kernelName;
  dim3 grid, block;
  std::size_t dynamicSharedBytes = 0;
  KernelEntry entry = nullptr;
  const void *params = nullptr;
  const Runtime *runtime = nullptr;
  ErrorLog *errors = nullptr;
};

/// Memory one running CTA uses, allocated once per concurrently running CTA
/// and reused: the warp scratch is registered with TSan as racy by design
/// (see above), and such a registration must never cover memory that is
/// later handed out for something else.
struct CtaSlot {
  CtaSlot(unsigned numWarps, std::size_t dynamicSharedBytes);
  std::unique_ptr<unsigned char[]> scratchStorage;
  unsigned char *scratch; ///< numWarps x 2 x kWarpScratchBytes
  std::unique_ptr<unsigned char[]> staticSharedStorage;
  unsigned char *staticShared;
  std::unique_ptr<unsigned char[]> dynamicSharedStorage;
  unsigned char *dynamicShared;
  std::size_t dynamicSharedBytes;
};

/// Static shared memory one CTA may allocate (as in the fiber emulator).
inline constexpr std::size_t kStaticSharedCapacity = 256 * 1024;

/// Thrown inside a CTA's threads once the CTA cannot continue (a barrier
/// that can never complete); each thread unwinds to its start routine.
struct CtaAbandoned {};

class ThreadCta {
public:
  ThreadCta(const CtaLaunch &launch, CtaSlot &slot, std::uint64_t linearCta);
  ~ThreadCta();
  ThreadCta(const ThreadCta &) = delete;
  ThreadCta &operator=(const ThreadCta &) = delete;

  /// Starts one OS thread per CUDA thread (returns at once).
  void start();
  /// Waits for every thread; true if the CTA ran to completion.
  bool join();

  /// The CTA and thread the calling OS thread runs as (null outside).
  static ThreadCta *currentCta();
  ThreadState *current();

  // Runtime services for the calling thread.
  void syncThreads(const char *file, unsigned line);
  void syncWarp(unsigned mask, const char *op, const char *file, unsigned line);
  unsigned char *warpScratch();
  void *staticShared(const void *key, std::size_t bytes, const char *name);
  void cpAsync(void *dst, const void *src, unsigned bytes, unsigned srcBytes,
               const char *file, unsigned line);
  void cpAsyncCommit();
  void cpAsyncWait(unsigned pendingGroups);
  // sm_90 primitives (attn/device/sm90.h), as Runtime documents them.
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
  void mbarrierPhaseSeen(const void *barrier, unsigned parity);
  /// Records an error attributed to the calling thread; it keeps running.
  void threadError(const std::string &message);

private:
  struct PendingCopy {
    void *dst;
    unsigned bytes;
    unsigned char data[16];
  };
  /// A wgmma or TMA store in flight: the shared-memory chunks it reads
  /// (checked unchanged and, for TSan, read again at its wait) and, for a
  /// wgmma, the accumulator registers it lands in.
  struct PendingAsync {
    std::vector<const unsigned char *> chunks;
    std::uint64_t hash = 0;
    float *acc = nullptr;
    std::vector<float> values;
    unsigned *inFlight = nullptr;
    const char *file = nullptr;
    unsigned line = 0;
  };
  struct Thread {
    ThreadState pub;
    std::vector<PendingCopy> copies;    ///< issued, not landed, oldest first
    std::vector<std::size_t> groupEnds; ///< end of each committed group
    std::vector<PendingAsync> wgmmas, tmaStores;
    std::vector<std::size_t> wgmmaGroupEnds, tmaStoreGroupEnds;
    /// What the TMA unit did for this thread's stores, for their wait.
    char tmaStoreToken = 0;
    /// Waiting for an mbarrier phase (mbarrierSpin): which one.
    bool spinning = false;
    const void *spinBarrier = nullptr;
    unsigned spinParity = 0;
    const char *spinOp = nullptr, *spinFile = nullptr;
    unsigned spinLine = 0;
    bool exited = false;
  };
  struct NamedBarrier : runner::NamedBarrierPhase {
    std::condition_variable released;
    unsigned waiters = 0; ///< threads blocked in bar.sync
    std::uint64_t generation = 0;
    char syncObjects[2]; ///< TSan sync objects, alternating by generation
  };
  struct Warp {
    std::condition_variable released;
    unsigned arrived = 0, exited = 0, mask = 0;
    const char *op = nullptr, *file = nullptr;
    unsigned line = 0;
    std::uint64_t generation = 0; ///< completed collectives
    unsigned char *scratch;       ///< two kWarpScratchBytes buffers
    /// TSan sync objects of __syncwarp, alternating by generation so that a
    /// lane already at the next collective cannot leak into the previous.
    char syncObjects[2];
  };
  struct StaticAllocation {
    const void *key;
    std::size_t offset, bytes;
  };

  void threadMain(unsigned index);
  /// Blocks at a barrier until `released` (under `lock`), counting the
  /// caller as waiting; unwinds if the CTA is abandoned meanwhile.
  template <typename Released>
  void wait(std::unique_lock<std::mutex> &lock, std::condition_variable &cv,
            Released released);
  void threadExited(Thread &thread);
  /// Records `message`, abandons the CTA (waking every waiter) and unwinds
  /// the caller. Call with `lock` held.
  [[noreturn]] void fatal(std::unique_lock<std::mutex> &lock,
                          const std::string &message);
  /// Abandons the CTA if every live thread now waits (a deadlock) and no
  /// thread waiting for an mbarrier phase can go on. Call with the CTA lock
  /// held.
  void checkDeadlock(std::unique_lock<std::mutex> &lock);
  /// Lands the wgmmas or TMA stores [0, count) of `pending`, checking that
  /// the shared memory they read did not change (`what`, `waitOp`: their
  /// names in the message).
  void retire(std::vector<PendingAsync> &pending,
              std::vector<std::size_t> &groupEnds, unsigned pendingGroups,
              const char *what, const char *waitOp);
  /// Why no thread can proceed, once every thread waits or has exited.
  std::string stuckMessage() const;
  void wakeEveryone();
  Thread &self();
  std::string ctaPrefix() const;
  std::string threadName(const Thread &thread) const;
  bool isShared(const void *address, std::size_t bytes) const;
  /// The TSan sync object of the phases of parity `parity` of the mbarrier
  /// at `barrier`: the TMA unit releases a load's writes to the phase its
  /// bytes complete, and a thread that saw that phase complete acquires it.
  static const void *phaseObject(const void *barrier, unsigned parity);

  const CtaLaunch &launch;
  CtaSlot &slot;
  uint3 ctaid{};
  unsigned numThreads;
  std::vector<Thread> threads;
  std::unique_ptr<Warp[]> warps;
  std::vector<std::thread> osThreads;

  /// Guards all CTA state below and in `warps` (TSan is told to ignore it:
  /// the barriers annotate the ordering they really give).
  std::mutex mutex;
  std::condition_variable blockReleased;
  unsigned blockArrived = 0;
  std::uint64_t blockGeneration = 0;
  const char *blockFile = nullptr;
  unsigned blockLine = 0;
  unsigned blockFirstWaiter = 0;
  /// TSan sync objects of __syncthreads, alternating by generation.
  char blockSyncObjects[2];
  /// Named barriers 1-15 (bar.sync / bar.arrive).
  NamedBarrier namedBarriers[16];
  /// Wakes threads waiting for an mbarrier phase to look again: the device
  /// library updates mbarriers with atomics this runner does not see.
  std::condition_variable spinWake;
  /// The TMA unit: copies are its accesses, ordered after what the issuing
  /// thread did before (issueToken) and before the waiters of the mbarrier
  /// they complete.
  tsan::AsyncUnit tmaUnit{"TMA unit"};
  char issueToken = 0;
  /// Threads blocked at a barrier that has not been released yet.
  unsigned waiting = 0;
  unsigned exitedCount = 0;
  bool abandoned = false;

  std::size_t staticSharedUsed = 0;
  std::vector<StaticAllocation> staticAllocations;
};

} // namespace attn::emu::race

#endif // ATTN_EMULATOR_RACE_THREADCTA_H
