//===- ThreadCta.cpp - One CTA as OS threads, for ThreadSanitizer ---------===//
//
// Barriers, warp collectives, shared memory, cp.async and the sm_90
// primitives (named barriers, mbarrier waits, TMA, wgmma) of the race runner.
// The semantics and diagnostics follow CtaRunner (the fiber emulator); the
// difference is that threads really run at once, so every wait is a
// condition variable and "can never complete" is decided from counts of
// waiting and exited threads instead of a scheduler's view.
//
//===----------------------------------------------------------------------===//

#include "../RunnerSupport.h"
#include "ThreadCta.h"

#include "Tsan.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>

namespace attn::emu::race {

namespace {

using namespace attn::emu::runner;

/// The CTA and thread the calling OS thread runs as.
thread_local ThreadCta *currentCtaOfThread = nullptr;
thread_local unsigned currentIndex = 0;
unsigned popcount(unsigned x) {
  return static_cast<unsigned>(__builtin_popcount(x));
}

/// The CTA lock, taken with TSan ignoring it (see ThreadCta.h).
class CtaLock {
public:
  explicit CtaLock(std::mutex &mutex) : lock(mutex) {}
  std::unique_lock<std::mutex> &get() { return lock; }

private:
  tsan::IgnoreSync ignore; // constructed first, destroyed last
  std::unique_lock<std::mutex> lock;
};

} // namespace

void ErrorLog::record(std::string message) {
  std::lock_guard<std::mutex> lock(mutex);
  ++total;
  if (kept.size() < 32)
    kept.push_back(std::move(message));
}
std::uint64_t ErrorLog::count() const {
  std::lock_guard<std::mutex> lock(mutex);
  return total;
}
std::vector<std::string> ErrorLog::messages() const {
  std::lock_guard<std::mutex> lock(mutex);
  return kept;
}

CtaSlot::CtaSlot(unsigned numWarps, std::size_t dynamicSharedBytes)
    : dynamicSharedBytes(dynamicSharedBytes) {
  std::size_t scratchBytes = std::size_t(numWarps) * 2 * kWarpScratchBytes;
  scratchStorage.reset(new unsigned char[scratchBytes + kSharedAlignment]);
  scratch = alignPointer(scratchStorage.get(), kSharedAlignment);
  tsan::benignRace(scratch, scratchBytes,
                   "warp scratch: lanes exchange register values");
  staticSharedStorage.reset(
      new unsigned char[kStaticSharedCapacity + kSharedAlignment]);
  staticShared = alignPointer(staticSharedStorage.get(), kSharedAlignment);
  dynamicSharedStorage.reset(
      new unsigned char[dynamicSharedBytes + kDynamicSharedAlignment]);
  dynamicShared =
      alignPointer(dynamicSharedStorage.get(), kDynamicSharedAlignment);
}

ThreadCta::ThreadCta(const CtaLaunch &launch, CtaSlot &slot,
                     std::uint64_t linearCta)
    : launch(launch), slot(slot) {
  const dim3 &grid = launch.grid, &block = launch.block;
  ctaid = {static_cast<unsigned>(linearCta % grid.x),
           static_cast<unsigned>(linearCta / grid.x % grid.y),
           static_cast<unsigned>(linearCta / grid.x / grid.y)};
  numThreads = block.x * block.y * block.z;
  threads.resize(numThreads);
  unsigned numWarps = (numThreads + 31) / 32;
  warps.reset(new Warp[numWarps]);
  for (unsigned w = 0; w < numWarps; ++w)
    warps[w].scratch = slot.scratch + std::size_t(w) * 2 * kWarpScratchBytes;
  for (unsigned i = 0; i < numThreads; ++i) {
    ThreadState &pub = threads[i].pub;
    pub.tid = {i % block.x, i / block.x % block.y, i / block.x / block.y};
    pub.ctaid = ctaid;
    pub.ntid = block;
    pub.nctaid = grid;
    pub.linearTid = i;
    pub.laneId = i % 32;
    unsigned lanes = std::min(32u, numThreads - i / 32 * 32);
    pub.warpLaneMask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
    pub.flags = 0; // no counters or memcheck extras: this run looks for races
    pub.dynamicShared = slot.dynamicShared;
    pub.dynamicSharedBytes = slot.dynamicSharedBytes;
    pub.wgmmaFences = 0;
  }
  // Poisoned here, by the thread that starts the CTA's threads, so that the
  // poison happens before everything they do.
  std::memset(slot.staticShared, kPoisonByte, kStaticSharedCapacity);
  std::memset(slot.dynamicShared, kPoisonByte, slot.dynamicSharedBytes);
}

ThreadCta::~ThreadCta() { join(); }

void ThreadCta::start() {
  osThreads.reserve(numThreads);
  for (unsigned i = 0; i < numThreads; ++i)
    osThreads.emplace_back([this, i] { threadMain(i); });
}

bool ThreadCta::join() {
  for (std::thread &t : osThreads)
    if (t.joinable())
      t.join();
  return !abandoned;
}

ThreadCta *ThreadCta::currentCta() { return currentCtaOfThread; }

ThreadState *ThreadCta::current() { return &self().pub; }

ThreadCta::Thread &ThreadCta::self() { return threads[currentIndex]; }

void ThreadCta::threadMain(unsigned index) {
  currentCtaOfThread = this;
  currentIndex = index;
  // TSan names threads by this in its reports ("Thread T3 'CTA (0,0,0)
  // thread (2,0,0)'"); the kernel's own name for the thread is what helps.
  std::string name =
      ctaPrefix().substr(ctaPrefix().find("CTA")) + threadName(threads[index]);
  pthread_setname_np(pthread_self(), name.c_str());
  try {
    launch.entry(launch.runtime, launch.params);
  } catch (const CtaAbandoned &) {
    // Already reported by whoever abandoned the CTA.
  } catch (const std::exception &e) {
    threadError(std::string("kernel threw an exception: ") + e.what());
  } catch (...) {
    threadError("kernel threw an exception");
  }
  threadExited(threads[index]);
  currentCtaOfThread = nullptr;
}

template <typename Released>
void ThreadCta::wait(std::unique_lock<std::mutex> &lock,
                     std::condition_variable &cv, Released released) {
  ++waiting;
  checkDeadlock(lock);
  cv.wait(lock, [&] { return released() || abandoned; });
  if (abandoned && !released())
    throw CtaAbandoned{};
}

std::string ThreadCta::stuckMessage() const {
  // Threads that exited while others wait at __syncthreads: reported once
  // every thread has either exited or arrived, so the counts (and the
  // message) do not depend on how the OS scheduled the threads.
  if (blockArrived > 0 && exitedCount > 0) {
    const Thread *gone = nullptr;
    for (const Thread &t : threads)
      if (t.exited) {
        gone = &t;
        break;
      }
    return "__syncthreads at " + site(blockFile, blockLine) +
           " can never complete: " + std::to_string(exitedCount) + " of " +
           std::to_string(numThreads) +
           " threads exited without reaching it (first: " + threadName(*gone) +
           ")";
  }
  std::string message = "deadlock: no thread can proceed;";
  if (blockArrived)
    message += " " + std::to_string(blockArrived) + " of " +
               std::to_string(numThreads) +
               " threads wait at __syncthreads at " +
               site(blockFile, blockLine) + ";";
  for (unsigned w = 0; w < (numThreads + 31) / 32; ++w)
    if (warps[w].arrived)
      message += " warp " + std::to_string(w) + " lanes " +
                 laneList(warps[w].arrived) + " wait at " + warps[w].op +
                 " at " + site(warps[w].file, warps[w].line) + ";";
  for (unsigned id = 1; id < 16; ++id)
    if (namedBarriers[id].arrived)
      message += " " + std::to_string(namedBarriers[id].arrived) + " of " +
                 std::to_string(namedBarriers[id].count) +
                 " threads arrived at named barrier " + std::to_string(id) +
                 " at " + site(namedBarriers[id].file, namedBarriers[id].line) +
                 ";";
  for (const Thread &t : threads)
    if (t.spinning)
      message += " " + threadName(t) + " waits in " + t.spinOp + " at " +
                 site(t.spinFile, t.spinLine) + " for a phase of parity " +
                 std::to_string(t.spinParity) + " that never completes;";
  if (exitedCount)
    message += " " + std::to_string(exitedCount) + " threads exited;";
  return message;
}

void ThreadCta::checkDeadlock(std::unique_lock<std::mutex> &lock) {
  if (waiting == 0 || waiting + exitedCount < numThreads)
    return;
  // A thread waiting for an mbarrier phase that has completed meanwhile
  // (the device library completes phases with atomics) goes on.
  for (const Thread &t : threads)
    if (t.spinning) {
      std::uint64_t word = __atomic_load_n(
          static_cast<const std::uint64_t *>(t.spinBarrier), __ATOMIC_ACQUIRE);
      if (!isMbarrier(word) || decodeMbarrier(word).parity != t.spinParity)
        return;
    }
  fatal(lock, stuckMessage());
}

void ThreadCta::wakeEveryone() {
  blockReleased.notify_all();
  spinWake.notify_all();
  for (NamedBarrier &barrier : namedBarriers)
    barrier.released.notify_all();
  for (unsigned w = 0; w < (numThreads + 31) / 32; ++w)
    warps[w].released.notify_all();
}

void ThreadCta::fatal(std::unique_lock<std::mutex> &lock,
                      const std::string &message) {
  if (!abandoned) {
    launch.errors->record(ctaPrefix() + message);
    abandoned = true;
    wakeEveryone();
  }
  throw CtaAbandoned{};
}

void ThreadCta::threadExited(Thread &thread) {
  CtaLock guard(mutex);
  thread.exited = true;
  ++exitedCount;
  Warp &warp = warps[thread.pub.linearTid / 32];
  unsigned bit = 1u << thread.pub.laneId;
  warp.exited |= bit;
  if (abandoned)
    return;
  std::string problem;
  if (warp.arrived && (warp.mask & bit))
    problem = std::string(warp.op) + " at " + site(warp.file, warp.line) +
              " can never complete: lane " + std::to_string(thread.pub.laneId) +
              " of warp " + std::to_string(thread.pub.linearTid / 32) +
              " exited without reaching it while lanes " +
              laneList(warp.arrived) + " wait there";
  else if (waiting && waiting + exitedCount == numThreads)
    problem = stuckMessage();
  if (!problem.empty()) {
    launch.errors->record(ctaPrefix() + problem);
    abandoned = true;
    wakeEveryone();
  }
}

void ThreadCta::syncThreads(const char *file, unsigned line) {
  Thread &me = self();
  CtaLock guard(mutex);
  std::unique_lock<std::mutex> &lock = guard.get();
  if (abandoned)
    throw CtaAbandoned{};
  // A thread that exited can never arrive: the barrier is stuck, which
  // checkDeadlock reports once every other thread has arrived or exited.
  if (blockArrived == 0) {
    blockFile = file;
    blockLine = line;
    blockFirstWaiter = me.pub.linearTid;
  } else if (!sameSite(blockFile, blockLine, file, line)) {
    fatal(lock,
          "divergent __syncthreads: " + threadName(threads[blockFirstWaiter]) +
              " waits at " + site(blockFile, blockLine) + " but " +
              threadName(me) + " reached " + site(file, line));
  }
  const char *object = &blockSyncObjects[blockGeneration & 1];
  {
    tsan::Visible visible;
    tsan::release(object);
  }
  if (++blockArrived == numThreads) {
    blockArrived = 0;
    ++blockGeneration;
    waiting -= numThreads - 1;
    blockReleased.notify_all();
  } else {
    std::uint64_t generation = blockGeneration;
    wait(lock, blockReleased, [&] { return blockGeneration != generation; });
  }
  tsan::Visible visible;
  tsan::acquire(object);
}

void ThreadCta::syncWarp(unsigned mask, const char *op, const char *file,
                         unsigned line) {
  Thread &me = self();
  unsigned warpIndex = me.pub.linearTid / 32;
  unsigned bit = 1u << me.pub.laneId;
  mask &= me.pub.warpLaneMask;
  CtaLock guard(mutex);
  std::unique_lock<std::mutex> &lock = guard.get();
  if (abandoned)
    throw CtaAbandoned{};
  Warp &warp = warps[warpIndex];
  auto where = [&] { return std::string(op) + " at " + site(file, line); };
  if (!(mask & bit))
    fatal(lock, where() + ": " + threadName(me) + " passes mask " + hex(mask) +
                    ", which does not include its own lane");
  if (mask & warp.exited)
    fatal(lock, where() + " can never complete: lanes " +
                    laneList(mask & warp.exited) + " of warp " +
                    std::to_string(warpIndex) + " exited without reaching it");
  if (warp.arrived == 0) {
    warp.mask = mask;
    warp.op = op;
    warp.file = file;
    warp.line = line;
  } else if (warp.mask != mask || std::strcmp(warp.op, op) != 0 ||
             !sameSite(warp.file, warp.line, file, line)) {
    fatal(lock, "divergent warp collectives in warp " +
                    std::to_string(warpIndex) + ": lanes " +
                    laneList(warp.arrived) + " wait at " + warp.op + " at " +
                    site(warp.file, warp.line) + " (mask " + hex(warp.mask) +
                    ") but lane " + std::to_string(me.pub.laneId) +
                    " reached " + where() + " (mask " + hex(mask) + ")");
  }
  // Only __syncwarp orders memory among the lanes; shuffles, votes, mma and
  // ldmatrix exchange registers.
  bool ordersMemory = std::strcmp(op, "__syncwarp") == 0;
  const char *object = &warp.syncObjects[warp.generation & 1];
  if (ordersMemory) {
    tsan::Visible visible;
    tsan::release(object);
  }
  warp.arrived |= bit;
  if (warp.arrived == mask) {
    warp.arrived = 0;
    ++warp.generation; // later collectives use the other scratch buffer
    waiting -= popcount(mask) - 1;
    warp.released.notify_all();
  } else {
    std::uint64_t generation = warp.generation;
    wait(lock, warp.released, [&] { return warp.generation != generation; });
  }
  if (ordersMemory) {
    tsan::Visible visible;
    tsan::acquire(object);
  }
}

unsigned char *ThreadCta::warpScratch() {
  Warp &warp = warps[self().pub.linearTid / 32];
  CtaLock guard(mutex);
  return warp.scratch + (warp.generation & 1) * kWarpScratchBytes;
}

void *ThreadCta::staticShared(const void *key, std::size_t bytes,
                              const char *name) {
  CtaLock guard(mutex);
  for (const StaticAllocation &a : staticAllocations)
    if (a.key == key)
      return slot.staticShared + a.offset;
  std::size_t offset = alignUp(staticSharedUsed, kSharedAlignment);
  if (offset + bytes > kStaticSharedCapacity)
    fatal(guard.get(),
          "static shared memory '" + std::string(name) + "' (" +
              std::to_string(bytes) + " bytes) exceeds the emulator's " +
              std::to_string(kStaticSharedCapacity) + "-byte capacity");
  staticAllocations.push_back({key, offset, bytes});
  staticSharedUsed = offset + bytes;
  return slot.staticShared + offset;
}

bool ThreadCta::isShared(const void *address, std::size_t bytes) const {
  auto p = reinterpret_cast<std::uintptr_t>(address);
  auto inside = [&](const unsigned char *base, std::size_t size) {
    auto b = reinterpret_cast<std::uintptr_t>(base);
    return p >= b && p + bytes <= b + size;
  };
  return inside(slot.staticShared, kStaticSharedCapacity) ||
         inside(slot.dynamicShared, slot.dynamicSharedBytes);
}

void ThreadCta::cpAsync(void *dst, const void *src, unsigned bytes,
                        unsigned srcBytes, const char *file, unsigned line) {
  auto where = [&] { return "cp_async at " + site(file, line); };
  if (!isShared(dst, bytes))
    return threadError(where() + ": destination is not inside this CTA's "
                                 "shared memory");
  if (reinterpret_cast<std::uintptr_t>(dst) % bytes ||
      (srcBytes && reinterpret_cast<std::uintptr_t>(src) % bytes))
    return threadError(where() + ": addresses must be " +
                       std::to_string(bytes) + "-byte aligned");
  PendingCopy copy;
  copy.dst = dst;
  copy.bytes = bytes;
  // The source is read at issue, the destination written at the wait: TSan
  // sees the shared-memory write where its value becomes visible, so a read
  // by another thread before the wait's following barrier is a race.
  tsan::read(src, srcBytes);
  std::memcpy(copy.data, src, srcBytes);
  std::memset(copy.data + srcBytes, 0, bytes - srcBytes);
  self().copies.push_back(copy);
}

void ThreadCta::cpAsyncCommit() {
  Thread &me = self();
  me.groupEnds.push_back(me.copies.size());
}

void ThreadCta::cpAsyncWait(unsigned pendingGroups) {
  Thread &me = self();
  if (me.groupEnds.size() <= pendingGroups)
    return;
  std::size_t groupsToLand = me.groupEnds.size() - pendingGroups;
  std::size_t count = me.groupEnds[groupsToLand - 1];
  for (std::size_t i = 0; i < count; ++i) {
    tsan::write(me.copies[i].dst, me.copies[i].bytes);
    std::memcpy(me.copies[i].dst, me.copies[i].data, me.copies[i].bytes);
  }
  me.copies.erase(me.copies.begin(), me.copies.begin() + count);
  me.groupEnds.erase(me.groupEnds.begin(), me.groupEnds.begin() + groupsToLand);
  for (std::size_t &end : me.groupEnds)
    end -= count;
}

void ThreadCta::namedBarrier(unsigned id, unsigned count, bool arriveOnly,
                             const char *file, unsigned line) {
  const char *op = arriveOnly ? "named_barrier_arrive" : "named_barrier_sync";
  CtaLock guard(mutex);
  std::unique_lock<std::mutex> &lock = guard.get();
  if (abandoned)
    throw CtaAbandoned{};
  std::string problem =
      checkNamedBarrier(namedBarriers, op, file, line, id, count, numThreads);
  if (!problem.empty())
    fatal(lock, problem);
  NamedBarrier &barrier = namedBarriers[id];
  // bar.arrive and bar.sync both order the caller's earlier accesses before
  // what the threads that complete the barrier's bar.sync do next.
  const char *object = &barrier.syncObjects[barrier.generation & 1];
  {
    tsan::Visible visible;
    tsan::release(object);
  }
  if (++barrier.arrived == count) {
    barrier.arrived = 0;
    ++barrier.generation;
    waiting -= barrier.waiters;
    barrier.waiters = 0;
    barrier.released.notify_all();
  } else if (!arriveOnly) {
    std::uint64_t generation = barrier.generation;
    ++barrier.waiters;
    wait(lock, barrier.released,
         [&] { return barrier.generation != generation; });
  } else {
    return;
  }
  if (!arriveOnly) {
    tsan::Visible visible;
    tsan::acquire(object);
  }
}

void ThreadCta::mbarrierSpin(const void *barrier, unsigned parity,
                             const char *op, const char *file, unsigned line) {
  Thread &me = self();
  CtaLock guard(mutex);
  std::unique_lock<std::mutex> &lock = guard.get();
  if (abandoned)
    throw CtaAbandoned{};
  me.spinning = true;
  me.spinBarrier = barrier;
  me.spinParity = parity;
  me.spinOp = op;
  me.spinFile = file;
  me.spinLine = line;
  ++waiting;
  checkDeadlock(lock);
  // Phases complete through the device library's atomics, which signal
  // nothing here: look again after a while.
  spinWake.wait_for(lock, std::chrono::microseconds(50));
  --waiting;
  me.spinning = false;
  if (abandoned)
    throw CtaAbandoned{};
}

const void *ThreadCta::phaseObject(const void *barrier, unsigned parity) {
  // Two addresses inside the 8-byte mbarrier (never accessed one by one):
  // TSan keeps a clock per address, and the device library's atomics on the
  // mbarrier's own address would join every phase's.
  return static_cast<const char *>(barrier) + 1 + (parity & 1);
}

void ThreadCta::mbarrierPhaseSeen(const void *barrier, unsigned parity) {
  tsan::acquire(phaseObject(barrier, parity));
}

void ThreadCta::wgmmaFence() { ++self().pub.wgmmaFences; }

void ThreadCta::wgmmaIssue(const WgmmaIssue &issue) {
  // The operands were read at issue by the device library (this thread's
  // accesses, as TSan sees them); the tensor cores may read them until the
  // wait, which reads them again (retire).
  PendingAsync pending;
  pending.chunks.assign(issue.chunks, issue.chunks + issue.chunkCount);
  pending.hash = issue.operandHash;
  pending.acc = issue.acc;
  pending.values.assign(issue.values, issue.values + issue.count);
  pending.inFlight = issue.inFlight;
  pending.file = issue.file;
  pending.line = issue.line;
  self().wgmmas.push_back(std::move(pending));
}

void ThreadCta::wgmmaCommit() {
  Thread &me = self();
  me.wgmmaGroupEnds.push_back(me.wgmmas.size());
}

void ThreadCta::wgmmaWait(unsigned pendingGroups) {
  Thread &me = self();
  retire(me.wgmmas, me.wgmmaGroupEnds, pendingGroups, "wgmma",
         "wgmma_wait_group");
}

void ThreadCta::retire(std::vector<PendingAsync> &pending,
                       std::vector<std::size_t> &groupEnds,
                       unsigned pendingGroups, const char *what,
                       const char *waitOp) {
  if (groupEnds.size() <= pendingGroups)
    return;
  std::size_t groups = groupEnds.size() - pendingGroups;
  std::size_t count = groupEnds[groups - 1];
  for (std::size_t i = 0; i < count; ++i) {
    PendingAsync &op = pending[i];
    for (const unsigned char *chunk : op.chunks)
      tsan::read(chunk, 16);
    if (hashChunks(op.chunks.data(), static_cast<unsigned>(op.chunks.size())) !=
        op.hash)
      threadError(std::string("shared memory read by the ") + what +
                  " issued at " + site(op.file, op.line) +
                  " changed before the " + waitOp +
                  " that retires it (the hardware may read it until then)");
    if (op.acc) {
      std::memcpy(op.acc, op.values.data(), op.values.size() * sizeof(float));
      --*op.inFlight;
    }
  }
  pending.erase(pending.begin(),
                pending.begin() + static_cast<std::ptrdiff_t>(count));
  groupEnds.erase(groupEnds.begin(),
                  groupEnds.begin() + static_cast<std::ptrdiff_t>(groups));
  for (std::size_t &end : groupEnds)
    end -= count;
}

void ThreadCta::tmaCopy(const TmaCopy &copy) {
  Thread &me = self();
  const char *op = copy.isStore ? "tma_store" : "tma_load";
  std::string where = std::string(op) + " at " + site(copy.file, copy.line);
  const auto &map = *static_cast<const EmuTensorMap *>(copy.tensorMap);
  auto offset = static_cast<std::size_t>(copy.smem - slot.dynamicShared);
  std::string problem =
      tmaCopyProblem(map, offset, copy.smem >= slot.dynamicShared,
                     slot.dynamicSharedBytes, where);
  if (problem.empty() && !copy.isStore &&
      (!copy.barrier || !isShared(copy.barrier, 8)))
    problem = where + ": the mbarrier is not in shared memory";
  if (!problem.empty())
    return threadError(problem);
  auto shared = [&](std::size_t j) {
    return slot.dynamicShared +
           swizzle(offset + j * map.elementBytes, map.swizzleBits);
  };

  // The TMA unit does the copy: after everything this thread did so far,
  // and (a load) before what the waiters of its mbarrier phase do, or (a
  // store) before this thread's tma_store_wait_group_read. A thread that
  // reads a loaded box without that wait races with the unit's writes,
  // whatever barriers it passed.
  // Inside the unit nothing but the copy's own accesses may touch memory
  // (TSan would count a string built there as the unit's writes).
  std::string what = "the TMA load issued at " + site(copy.file, copy.line);
  CtaLock guard(mutex); // one thread acts as the unit at a time
  {
    tsan::Visible visible;
    tsan::release(&issueToken);
  }
  {
    tsan::AsyncUnit::Entered unit(tmaUnit);
    tsan::acquire(&issueToken);
    forEachBoxElement(map, copy.coords, [&](std::size_t j,
                                            const unsigned char *global,
                                            bool inside) {
      unsigned char *smem = shared(j);
      if (copy.isStore) {
        tsan::read(smem, map.elementBytes);
        if (inside) {
          tsan::write(const_cast<unsigned char *>(global), map.elementBytes);
          std::memcpy(const_cast<unsigned char *>(global), smem,
                      map.elementBytes);
        }
        return;
      }
      tsan::write(smem, map.elementBytes);
      if (inside) {
        tsan::read(global, map.elementBytes);
        std::memcpy(smem, global, map.elementBytes);
      } else {
        std::memset(smem, 0, map.elementBytes);
      }
    });
    if (copy.isStore) {
      tsan::release(&me.tmaStoreToken);
    } else {
      unsigned parity = 0;
      problem = completeTx(copy.barrier, tmaBoxBytes(map), what, &parity);
      tsan::release(phaseObject(copy.barrier, parity));
    }
  }
  if (!problem.empty())
    threadError(problem);
  if (!copy.isStore)
    return;
  // The 16-byte chunks the store read, for its wait.
  PendingAsync store;
  forEachBoxElement(map, copy.coords,
                    [&](std::size_t j, const unsigned char *, bool) {
                      store.chunks.push_back(
                          slot.dynamicShared +
                          static_cast<std::size_t>(shared(j) -
                                                   slot.dynamicShared) /
                              16 * 16);
                    });
  std::sort(store.chunks.begin(), store.chunks.end());
  store.chunks.erase(std::unique(store.chunks.begin(), store.chunks.end()),
                     store.chunks.end());
  store.hash = hashChunks(store.chunks.data(),
                          static_cast<unsigned>(store.chunks.size()));
  store.file = copy.file;
  store.line = copy.line;
  me.tmaStores.push_back(std::move(store));
}

void ThreadCta::tmaStoreCommit() {
  Thread &me = self();
  me.tmaStoreGroupEnds.push_back(me.tmaStores.size());
}

void ThreadCta::tmaStoreWait(unsigned pendingGroups, const char *, unsigned) {
  Thread &me = self();
  tsan::acquire(&me.tmaStoreToken); // the unit's reads of the boxes
  retire(me.tmaStores, me.tmaStoreGroupEnds, pendingGroups, "TMA store",
         "tma_store_wait_group_read");
}

void ThreadCta::threadError(const std::string &message) {
  launch.errors->record(
      ctaPrefix() +
      (currentCtaOfThread == this ? threadName(self()) + ": " : std::string()) +
      message);
}

std::string ThreadCta::ctaPrefix() const {
  return "kernel '" + launch.kernelName + "' CTA (" + std::to_string(ctaid.x) +
         "," + std::to_string(ctaid.y) + "," + std::to_string(ctaid.z) + "): ";
}

std::string ThreadCta::threadName(const Thread &thread) const {
  return "thread (" + std::to_string(thread.pub.tid.x) + "," +
         std::to_string(thread.pub.tid.y) + "," +
         std::to_string(thread.pub.tid.z) + ")";
}

} // namespace attn::emu::race
