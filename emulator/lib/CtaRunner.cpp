//===- CtaRunner.cpp - Runs the CTAs of a launch as fibers ------------------===//
//
// The fiber scheduler, barriers, warp collectives, shared memory and cp.async
// of the emulator. See CtaRunner.h.
//
//===----------------------------------------------------------------------===//

#include "RunnerSupport.h"
#include "CtaRunner.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace ctx = boost::context::detail;

namespace attn::emu {

/// The runner whose fiber executes on this OS thread. thread_local lives here
/// in the emulator library, never in a kernel .so.
thread_local CtaRunner *activeRunner = nullptr;

using namespace attn::emu::runner;

void LaunchState::recordError(std::string message) {
  std::lock_guard<std::mutex> lock(resultMutex);
  ++result.errorCount;
  if (result.errors.size() < config.maxErrorMessages)
    result.errors.push_back(std::move(message));
}

void LaunchState::recordViolation(MemoryViolation violation) {
  std::lock_guard<std::mutex> lock(resultMutex);
  ++result.errorCount;
  ++result.memoryViolationCount;
  if (result.errors.size() < config.maxErrorMessages)
    result.errors.push_back(violation.describe());
  if (result.memoryViolations.size() < config.maxErrorMessages)
    result.memoryViolations.push_back(std::move(violation));
}

CtaRunner::CtaRunner(LaunchState &launch) : launch(launch) {
  const dim3 &block = launch.config.block;
  numThreads = block.x * block.y * block.z;
  fibers.resize(numThreads);
  warps.resize((numThreads + 31) / 32);

  // One mapping for all stacks, each with a PROT_NONE guard page below it so
  // that a fiber overflowing its stack faults instead of corrupting the next.
  std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::size_t stackBytes = alignUp(launch.config.fiberStackBytes, page);
  stackSlotBytes = stackBytes + page;
  stackMappingBytes = stackSlotBytes * numThreads;
  void *mapping = mmap(nullptr, stackMappingBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED)
    throw std::runtime_error("emulator: cannot map fiber stacks");
  stacks = static_cast<unsigned char *>(mapping);
  for (unsigned i = 0; i < numThreads; ++i)
    mprotect(stacks + i * stackSlotBytes, page, PROT_NONE);

  staticSharedStorage.reset(
      new unsigned char[kStaticSharedCapacity + kSharedAlignment]);
  staticSharedBase = alignPointer(staticSharedStorage.get(), kSharedAlignment);
  dynamicSharedStorage.reset(
      new unsigned char[launch.config.dynamicSharedBytes +
                        kDynamicSharedAlignment]);
  dynamicSharedBase =
      alignPointer(dynamicSharedStorage.get(), kDynamicSharedAlignment);
}

CtaRunner::~CtaRunner() {
  if (stacks)
    munmap(stacks, stackMappingBytes);
}

void CtaRunner::run() {
  activeRunner = this;
  while (!launch.aborted.load(std::memory_order_relaxed)) {
    std::uint64_t cta = launch.nextCta.fetch_add(1, std::memory_order_relaxed);
    if (cta >= launch.numCtas)
      break;
    runCta(cta);
  }
  activeRunner = nullptr;
  std::lock_guard<std::mutex> lock(launch.resultMutex);
  launch.result.ctasCompleted += ctasCompleted;
  launch.result.globalLoads += loads;
  launch.result.globalStores += stores;
  launch.result.globalBytesRead += bytesRead;
  launch.result.globalBytesWritten += bytesWritten;
  launch.result.tilesFull += tilesFull;
  launch.result.tilesPartial += tilesPartial;
  launch.result.tilesInterior += tilesInterior;
}

void CtaRunner::prepareCta(std::uint64_t linearCta) {
  const LaunchConfig &config = launch.config;
  const dim3 &grid = config.grid, &block = config.block;
  ctaid = {static_cast<unsigned>(linearCta % grid.x),
           static_cast<unsigned>(linearCta / grid.x % grid.y),
           static_cast<unsigned>(linearCta / grid.x / grid.y)};
  ctaAborted = false;
  blockArrived = exitedCount = 0;
  blockFile = nullptr;
  for (NamedBarrierPhase &barrier : namedBarriers)
    barrier = NamedBarrierPhase{};
  tmaLoads.clear();
  staticSharedUsed = 0;
  staticAllocations.clear();
  std::memset(dynamicSharedBase, kPoisonByte, config.dynamicSharedBytes);
  // Tracing every access costs a call; only counters and memcheck need it.
  unsigned threadFlags =
      (config.countGlobalAccesses || config.memcheck ? kTraceGlobalAccesses
                                                     : 0u) |
      (config.countTiles ? kCountTiles : 0u) |
      (config.memcheck ? kMemcheck : 0u);

  for (Warp &warp : warps) {
    warp.arrived = warp.exited = warp.opCount = 0;
    warp.op = nullptr;
  }
  for (unsigned i = 0; i < numThreads; ++i) {
    Fiber &fiber = fibers[i];
    ThreadState &pub = fiber.pub;
    pub.tid = {i % block.x, i / block.x % block.y, i / block.x / block.y};
    pub.ctaid = ctaid;
    pub.ntid = block;
    pub.nctaid = grid;
    pub.linearTid = i;
    pub.laneId = i % 32;
    unsigned warpBase = i / 32 * 32;
    unsigned lanes = std::min(32u, numThreads - warpBase);
    pub.warpLaneMask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
    pub.flags = threadFlags;
    pub.dynamicShared = dynamicSharedBase;
    pub.dynamicSharedBytes = config.dynamicSharedBytes;
    pub.wgmmaFences = 0;
    fiber.runner = this;
    fiber.state = FiberState::Ready;
    fiber.copies.clear();
    fiber.groupEnds.clear();
    fiber.wgmmas.clear();
    fiber.wgmmaGroupEnds.clear();
    fiber.tmaStores.clear();
    fiber.tmaStoreGroupEnds.clear();
    fiber.spinning = false;
    unsigned char *stackTop = stacks + (i + 1) * stackSlotBytes;
    fiber.context = ctx::make_fcontext(
        stackTop, stackSlotBytes - static_cast<std::size_t>(sysconf(_SC_PAGESIZE)),
        &CtaRunner::fiberMain);
  }
}

void CtaRunner::runCta(std::uint64_t linearCta) {
  prepareCta(linearCta);
  // Round-robin over ready fibers. A fiber runs until it blocks or exits; the
  // last arrival at a barrier releases the others and continues, so a pass
  // without progress means no thread can ever proceed. A fiber that comes
  // back still spinning on an mbarrier phase changed nothing: a pass of only
  // such fibers is a deadlock too.
  while (true) {
    bool progressed = false;
    for (Fiber &fiber : fibers) {
      if (fiber.state != FiberState::Ready)
        continue;
      fiber.spinning = false;
      resume(fiber);
      progressed |= !fiber.spinning;
      if (ctaAborted)
        return;
    }
    if (exitedCount == numThreads) {
      if (!tmaLoads.empty())
        launch.recordError(ctaPrefix() + "the TMA load issued at " +
                           site(tmaLoads.front().file, tmaLoads.front().line) +
                           " never completed: no thread waited on its "
                           "mbarrier before the CTA exited");
      ++ctasCompleted;
      return;
    }
    if (!progressed) {
      diagnoseDeadlock();
      return;
    }
  }
}

void CtaRunner::resume(Fiber &fiber) {
  running = &fiber;
  ctx::transfer_t transfer = ctx::jump_fcontext(fiber.context, &fiber);
  fiber.context = transfer.fctx;
  running = nullptr;
}

void CtaRunner::suspend() {
  ctx::transfer_t transfer = ctx::jump_fcontext(schedulerContext, nullptr);
  schedulerContext = transfer.fctx;
}

void CtaRunner::fiberMain(ctx::transfer_t transfer) {
  auto *fiber = static_cast<Fiber *>(transfer.data);
  CtaRunner *runner = fiber->runner;
  runner->schedulerContext = transfer.fctx;
  // Exceptions must not unwind past this frame: the fiber's stack has no
  // caller to unwind into.
  try {
    runner->launch.entry(runtimeTable(), runner->launch.params);
  } catch (const std::exception &e) {
    runner->threadError(std::string("kernel threw an exception: ") + e.what());
  } catch (...) {
    runner->threadError("kernel threw an exception");
  }
  runner->threadExited(*fiber);
  runner->suspend();
  std::abort(); // an exited fiber is never resumed
}

void CtaRunner::threadExited(Fiber &fiber) {
  fiber.state = FiberState::Exited;
  ++exitedCount;
  Warp &warp = warps[fiber.pub.linearTid / 32];
  unsigned bit = 1u << fiber.pub.laneId;
  warp.exited |= bit;
  if (blockArrived > 0)
    fatal("__syncthreads at " + site(blockFile, blockLine) +
          " can never complete: " + threadName(fiber) +
          " exited without reaching it while " + std::to_string(blockArrived) +
          " of " + std::to_string(numThreads) + " threads wait there");
  if (!fiber.wgmmas.empty())
    threadError("exited with " + std::to_string(fiber.wgmmas.size()) +
                " wgmma operation(s) never retired by wgmma_wait_group (first "
                "issued at " +
                site(fiber.wgmmas.front().file, fiber.wgmmas.front().line) +
                ")");
  if (warp.arrived && (warp.mask & bit))
    fatal(std::string(warp.op) + " at " + site(warp.file, warp.line) +
          " can never complete: lane " + std::to_string(fiber.pub.laneId) +
          " of warp " + std::to_string(fiber.pub.linearTid / 32) +
          " exited without reaching it while lanes " +
          laneList(warp.arrived) + " wait there");
}

void CtaRunner::syncThreads(const char *file, unsigned line) {
  Fiber &fiber = *running;
  if (exitedCount > 0) {
    const Fiber *gone = nullptr;
    for (const Fiber &f : fibers)
      if (f.state == FiberState::Exited) {
        gone = &f;
        break;
      }
    fatal("__syncthreads at " + site(file, line) + " can never complete: " +
          std::to_string(exitedCount) + " of " + std::to_string(numThreads) +
          " threads exited without reaching it (first: " + threadName(*gone) +
          ")");
  }
  if (blockArrived == 0) {
    blockFile = file;
    blockLine = line;
    blockFirstWaiter = fiber.pub.linearTid;
  } else if (!sameSite(blockFile, blockLine, file, line)) {
    fatal("divergent __syncthreads: " + threadName(fibers[blockFirstWaiter]) +
          " waits at " + site(blockFile, blockLine) + " but " +
          threadName(fiber) + " reached " + site(file, line));
  }
  fiber.state = FiberState::AtBlockBarrier;
  fiber.waitFile = file;
  fiber.waitLine = line;
  if (++blockArrived == numThreads) {
    blockArrived = 0;
    for (Fiber &f : fibers)
      f.state = FiberState::Ready;
    return; // the last arrival continues without a switch
  }
  suspend();
}

void CtaRunner::syncWarp(unsigned mask, const char *op, const char *file,
                         unsigned line) {
  Fiber &fiber = *running;
  unsigned warpIndex = fiber.pub.linearTid / 32;
  Warp &warp = warps[warpIndex];
  unsigned bit = 1u << fiber.pub.laneId;
  mask &= fiber.pub.warpLaneMask;
  // Built only on the error paths: this is the emulator's hottest function.
  auto where = [&] { return std::string(op) + " at " + site(file, line); };
  if (!(mask & bit))
    fatal(where() + ": " + threadName(fiber) + " passes mask " + hex(mask) +
          ", which does not include its own lane");
  if (mask & warp.exited)
    fatal(where() + " can never complete: lanes " + laneList(mask & warp.exited) +
          " of warp " + std::to_string(warpIndex) +
          " exited without reaching it");
  if (warp.arrived == 0) {
    warp.mask = mask;
    warp.op = op;
    warp.file = file;
    warp.line = line;
  } else if (warp.mask != mask || std::strcmp(warp.op, op) != 0 ||
             !sameSite(warp.file, warp.line, file, line)) {
    fatal("divergent warp collectives in warp " + std::to_string(warpIndex) +
          ": lanes " + laneList(warp.arrived) + " wait at " + warp.op +
          " at " + site(warp.file, warp.line) + " (mask " + hex(warp.mask) +
          ") but lane " + std::to_string(fiber.pub.laneId) + " reached " +
          where() + " (mask " + hex(mask) + ")");
  }
  warp.arrived |= bit;
  fiber.state = FiberState::AtWarpBarrier;
  fiber.waitOp = op;
  fiber.waitFile = file;
  fiber.waitLine = line;
  fiber.waitMask = mask;
  if (warp.arrived == mask) {
    warp.arrived = 0;
    ++warp.opCount; // later collectives use the other scratch buffer
    release(warpIndex * 32, 32, mask);
    return;
  }
  suspend();
}

void CtaRunner::release(unsigned first, unsigned count, unsigned mask) {
  for (unsigned lane = 0; lane < count && first + lane < numThreads; ++lane)
    if (mask & (1u << lane))
      fibers[first + lane].state = FiberState::Ready;
}

unsigned char *CtaRunner::warpScratch() {
  Warp &warp = warps[running->pub.linearTid / 32];
  return warp.scratch[warp.opCount & 1];
}

void CtaRunner::diagnoseDeadlock() {
  std::string message = "deadlock: no thread can proceed;";
  if (blockArrived)
    message += " " + std::to_string(blockArrived) + " of " +
               std::to_string(numThreads) + " threads wait at __syncthreads at " +
               site(blockFile, blockLine) + ";";
  for (unsigned w = 0; w < warps.size(); ++w)
    if (warps[w].arrived)
      message += " warp " + std::to_string(w) + " lanes " +
                 laneList(warps[w].arrived) + " wait at " + warps[w].op +
                 " at " + site(warps[w].file, warps[w].line) + " (mask " +
                 hex(warps[w].mask) + ");";
  for (unsigned id = 1; id < 16; ++id)
    if (namedBarriers[id].arrived)
      message += " " + std::to_string(namedBarriers[id].arrived) + " of " +
                 std::to_string(namedBarriers[id].count) +
                 " threads at named barrier " + std::to_string(id) + " at " +
                 site(namedBarriers[id].file, namedBarriers[id].line) + ";";
  unsigned spinners = 0;
  const Fiber *firstSpinner = nullptr;
  for (const Fiber &f : fibers)
    if (f.state == FiberState::Ready && f.spinning && !spinners++)
      firstSpinner = &f;
  if (firstSpinner)
    message += " " + std::to_string(spinners) +
               " threads spin on mbarrier phases that never complete (first: " +
               threadName(*firstSpinner) + " waits at " +
               site(firstSpinner->waitFile, firstSpinner->waitLine) +
               " for parity " + std::to_string(firstSpinner->spinParity) +
               " of the mbarrier at shared offset " +
               sharedOffset(firstSpinner->spinBarrier) + ");";
  if (exitedCount)
    message += " " + std::to_string(exitedCount) + " threads exited;";
  launch.recordError(ctaPrefix() + message);
  launch.aborted = true;
}

void CtaRunner::fatal(const std::string &message) {
  launch.recordError(ctaPrefix() + message);
  launch.aborted = true;
  ctaAborted = true;
  suspend();
  std::abort(); // an abandoned CTA's fibers are never resumed
}

void CtaRunner::threadError(const std::string &message) {
  launch.recordError(ctaPrefix() +
                     (running ? threadName(*running) + ": " : std::string()) +
                     message);
}

ThreadState *CtaRunner::current() { return &running->pub; }

void *CtaRunner::staticShared(const void *key, std::size_t bytes,
                              const char *name) {
  for (const StaticAllocation &a : staticAllocations)
    if (a.key == key)
      return staticSharedBase + a.offset;
  std::size_t offset = alignUp(staticSharedUsed, kSharedAlignment);
  if (offset + bytes > kStaticSharedCapacity)
    fatal("static shared memory '" + std::string(name) + "' (" +
          std::to_string(bytes) + " bytes) exceeds the emulator's " +
          std::to_string(kStaticSharedCapacity) + "-byte capacity");
  // Poisoned when first claimed in this CTA: uninitialised reads give NaN.
  std::memset(staticSharedBase + offset, kPoisonByte, bytes);
  staticAllocations.push_back({key, offset, bytes});
  staticSharedUsed = offset + bytes;
  return staticSharedBase + offset;
}

bool CtaRunner::isShared(const void *address, std::size_t bytes) const {
  auto p = reinterpret_cast<std::uintptr_t>(address);
  auto inside = [&](const unsigned char *base, std::size_t size) {
    auto b = reinterpret_cast<std::uintptr_t>(base);
    return p >= b && p + bytes <= b + size;
  };
  return inside(staticSharedBase, staticSharedUsed) ||
         inside(dynamicSharedBase, launch.config.dynamicSharedBytes);
}

void CtaRunner::cpAsync(void *dst, const void *src, unsigned bytes,
                        unsigned srcBytes, const char *file, unsigned line) {
  auto where = [&] { return "cp_async at " + site(file, line); };
  if (!isShared(dst, bytes))
    return threadError(where() + ": destination " +
                       hex(reinterpret_cast<std::uintptr_t>(dst)) +
                       " is not inside this CTA's shared memory");
  if (reinterpret_cast<std::uintptr_t>(dst) % bytes ||
      (srcBytes && reinterpret_cast<std::uintptr_t>(src) % bytes))
    return threadError(where() + ": addresses must be " + std::to_string(bytes) +
                       "-byte aligned");
  PendingCopy copy;
  copy.dst = dst;
  copy.bytes = bytes;
  // The source is read now (it is global memory the kernel does not write
  // meanwhile); the destination is written at the wait, so shared memory
  // stays poisoned until then.
  std::memcpy(copy.data, src, srcBytes);
  std::memset(copy.data + srcBytes, 0, bytes - srcBytes);
  running->copies.push_back(copy);
}

void CtaRunner::cpAsyncCommit() {
  running->groupEnds.push_back(running->copies.size());
}

void CtaRunner::cpAsyncWait(unsigned pendingGroups) {
  Fiber &fiber = *running;
  if (fiber.groupEnds.size() <= pendingGroups)
    return;
  std::size_t groupsToLand = fiber.groupEnds.size() - pendingGroups;
  landCopies(fiber, fiber.groupEnds[groupsToLand - 1]);
  fiber.groupEnds.erase(fiber.groupEnds.begin(),
                        fiber.groupEnds.begin() + groupsToLand);
}

void CtaRunner::landCopies(Fiber &fiber, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    std::memcpy(fiber.copies[i].dst, fiber.copies[i].data,
                fiber.copies[i].bytes);
  fiber.copies.erase(fiber.copies.begin(), fiber.copies.begin() + count);
  for (std::size_t &end : fiber.groupEnds)
    end -= count;
}

std::string CtaRunner::sharedOffset(const void *address) const {
  auto p = reinterpret_cast<std::uintptr_t>(address);
  auto base = [](const unsigned char *b) {
    return reinterpret_cast<std::uintptr_t>(b);
  };
  if (p >= base(dynamicSharedBase) &&
      p < base(dynamicSharedBase) + launch.config.dynamicSharedBytes)
    return "dynamic+" + std::to_string(p - base(dynamicSharedBase));
  if (p >= base(staticSharedBase) &&
      p < base(staticSharedBase) + staticSharedUsed)
    return "static+" + std::to_string(p - base(staticSharedBase));
  return hex(p) + " (not shared memory)";
}

void CtaRunner::namedBarrier(unsigned id, unsigned count, bool arriveOnly,
                             const char *file, unsigned line) {
  Fiber &fiber = *running;
  const char *op = arriveOnly ? "named_barrier_arrive" : "named_barrier_sync";
  std::string problem =
      checkNamedBarrier(namedBarriers, op, file, line, id, count, numThreads);
  if (!problem.empty())
    fatal(problem);
  NamedBarrierPhase &barrier = namedBarriers[id];
  if (++barrier.arrived == count) {
    barrier.arrived = 0;
    for (Fiber &f : fibers)
      if (f.state == FiberState::AtNamedBarrier && f.waitMask == id)
        f.state = FiberState::Ready;
    return; // the last arrival continues without a switch
  }
  if (arriveOnly)
    return;
  fiber.state = FiberState::AtNamedBarrier;
  fiber.waitOp = op;
  fiber.waitFile = file;
  fiber.waitLine = line;
  fiber.waitMask = id;
  suspend();
}

void CtaRunner::mbarrierSpin(const void *barrier, unsigned parity,
                             const char *op, const char *file, unsigned line) {
  Fiber &fiber = *running;
  // TMA loads land when someone waits for them; the waiter then retries.
  if (landTmaLoads(barrier))
    return;
  fiber.spinning = true;
  fiber.spinBarrier = barrier;
  fiber.spinParity = parity;
  fiber.waitOp = op;
  fiber.waitFile = file;
  fiber.waitLine = line;
  suspend(); // stays Ready: resumed after the other fibers had their turn
}

void CtaRunner::wgmmaFence() { ++running->pub.wgmmaFences; }

void CtaRunner::wgmmaIssue(const WgmmaIssue &issue) {
  PendingWgmma pending;
  pending.acc = issue.acc;
  pending.inFlight = issue.inFlight;
  pending.values.assign(issue.values, issue.values + issue.count);
  pending.chunks.assign(issue.chunks, issue.chunks + issue.chunkCount);
  pending.operandHash = issue.operandHash;
  pending.file = issue.file;
  pending.line = issue.line;
  running->wgmmas.push_back(std::move(pending));
}

void CtaRunner::wgmmaCommit() {
  running->wgmmaGroupEnds.push_back(running->wgmmas.size());
}

void CtaRunner::wgmmaWait(unsigned pendingGroups) {
  Fiber &fiber = *running;
  if (fiber.wgmmaGroupEnds.size() <= pendingGroups)
    return;
  std::size_t groupsToLand = fiber.wgmmaGroupEnds.size() - pendingGroups;
  landWgmmas(fiber, fiber.wgmmaGroupEnds[groupsToLand - 1]);
  fiber.wgmmaGroupEnds.erase(fiber.wgmmaGroupEnds.begin(),
                             fiber.wgmmaGroupEnds.begin() + groupsToLand);
}

void CtaRunner::landWgmmas(Fiber &fiber, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    PendingWgmma &op = fiber.wgmmas[i];
    if (hashChunks(op.chunks.data(), static_cast<unsigned>(op.chunks.size())) !=
        op.operandHash)
      threadError("shared memory read by the wgmma issued at " +
                  site(op.file, op.line) +
                  " changed before the wgmma_wait_group that retires it (the "
                  "tensor cores may read it until then)");
    std::memcpy(op.acc, op.values.data(), op.values.size() * sizeof(float));
    --*op.inFlight;
  }
  fiber.wgmmas.erase(fiber.wgmmas.begin(), fiber.wgmmas.begin() + count);
  for (std::size_t &end : fiber.wgmmaGroupEnds)
    end -= count;
}

void CtaRunner::checkTensorMap(const EmuTensorMap &map, bool isStore,
                               const char *file, unsigned line) {
  if (!launch.config.memcheck || launch.buffers.empty())
    return;
  std::uint64_t extent = map.elementBytes;
  for (unsigned d = 0; d < map.rank; ++d)
    extent += (map.dims[d] - 1) * map.strideBytes[d];
  const GlobalBuffer *buffer =
      launch.buffers.containing(map.base, static_cast<std::size_t>(extent));
  if (buffer && !(isStore && !buffer->writable))
    return;
  MemoryViolation v = violation(buffer ? MemoryViolation::Kind::ReadOnlyStore
                                       : MemoryViolation::Kind::OutsideBuffers,
                                isStore ? "tma_store" : "tma_load", file, line);
  v.index = 0;
  v.extent = static_cast<long long>(extent / map.elementBytes);
  if (const GlobalBuffer *base = launch.buffers.owner(map.base))
    v.buffer = base->name;
  launch.recordViolation(std::move(v));
}

void CtaRunner::tmaCopy(const TmaCopy &copy) {
  const char *op = copy.isStore ? "tma_store" : "tma_load";
  auto where = [&] {
    return std::string(op) + " at " + site(copy.file, copy.line);
  };
  const auto &map = *static_cast<const EmuTensorMap *>(copy.tensorMap);
  auto offset = static_cast<std::size_t>(copy.smem - dynamicSharedBase);
  std::string problem =
      tmaCopyProblem(map, offset, copy.smem >= dynamicSharedBase,
                     launch.config.dynamicSharedBytes, where());
  if (!problem.empty())
    return threadError(problem);
  std::size_t boxBytes = tmaBoxBytes(map);
  checkTensorMap(map, copy.isStore, copy.file, copy.line);
  auto shared = [&](std::size_t j) {
    return dynamicSharedBase +
           swizzle(offset + j * map.elementBytes, map.swizzleBits);
  };
  std::size_t inBoundsBytes = 0;
  if (!copy.isStore) {
    if (!copy.barrier || !isShared(copy.barrier, 8))
      return threadError(where() + ": the mbarrier is not in shared memory");
    PendingTmaLoad load{
        offset,          std::vector<unsigned char>(boxBytes, 0),
        map.swizzleBits, copy.barrier,
        copy.file,       copy.line};
    forEachBoxElement(map, copy.coords,
                      [&](std::size_t j, const unsigned char *src,
                          bool inside) {
                        if (!inside)
                          return;
                        std::memcpy(&load.box[j * map.elementBytes], src,
                                    map.elementBytes);
                        inBoundsBytes += map.elementBytes;
                      });
    tmaLoads.push_back(std::move(load));
    if (launch.config.countGlobalAccesses) {
      ++loads;
      bytesRead += inBoundsBytes;
    }
    return;
  }
  // A store reads its box now and writes the elements inside the tensor.
  PendingTmaStore store{{}, 0, copy.file, copy.line};
  forEachBoxElement(map, copy.coords, [&](std::size_t j,
                                          const unsigned char *dst,
                                          bool inside) {
    const unsigned char *src = shared(j);
    store.chunks.push_back(dynamicSharedBase +
                           static_cast<std::size_t>(src - dynamicSharedBase) /
                               16 * 16);
    if (inside) {
      std::memcpy(const_cast<unsigned char *>(dst), src, map.elementBytes);
      inBoundsBytes += map.elementBytes;
    }
  });
  std::sort(store.chunks.begin(), store.chunks.end());
  store.chunks.erase(std::unique(store.chunks.begin(), store.chunks.end()),
                     store.chunks.end());
  store.hash = hashChunks(store.chunks.data(),
                          static_cast<unsigned>(store.chunks.size()));
  running->tmaStores.push_back(std::move(store));
  if (launch.config.countGlobalAccesses) {
    ++stores;
    bytesWritten += inBoundsBytes;
  }
}

bool CtaRunner::landTmaLoads(const void *barrier) {
  bool landed = false;
  for (std::size_t i = 0; i < tmaLoads.size();) {
    PendingTmaLoad &load = tmaLoads[i];
    if (load.barrier != barrier) {
      ++i;
      continue;
    }
    for (std::size_t b = 0; b < load.box.size(); b += 2)
      std::memcpy(dynamicSharedBase +
                      swizzle(load.dstOffset + b, load.swizzleBits),
                  &load.box[b], 2);
    std::string problem =
        completeTx(load.barrier, load.box.size(),
                   "the TMA load issued at " + site(load.file, load.line));
    if (!problem.empty())
      threadError(problem);
    tmaLoads.erase(tmaLoads.begin() + static_cast<std::ptrdiff_t>(i));
    landed = true;
  }
  return landed;
}

void CtaRunner::tmaStoreCommit() {
  running->tmaStoreGroupEnds.push_back(running->tmaStores.size());
}

void CtaRunner::tmaStoreWait(unsigned pendingGroups, const char *, unsigned) {
  Fiber &fiber = *running;
  if (fiber.tmaStoreGroupEnds.size() <= pendingGroups)
    return;
  std::size_t groupsToRelease = fiber.tmaStoreGroupEnds.size() - pendingGroups;
  std::size_t count = fiber.tmaStoreGroupEnds[groupsToRelease - 1];
  for (std::size_t i = 0; i < count; ++i) {
    const PendingTmaStore &store = fiber.tmaStores[i];
    if (hashChunks(store.chunks.data(),
                   static_cast<unsigned>(store.chunks.size())) != store.hash)
      threadError("shared memory read by the TMA store issued at " +
                  site(store.file, store.line) +
                  " changed before the tma_store_wait_group_read that "
                  "releases it");
  }
  fiber.tmaStores.erase(fiber.tmaStores.begin(),
                        fiber.tmaStores.begin() +
                            static_cast<std::ptrdiff_t>(count));
  fiber.tmaStoreGroupEnds.erase(
      fiber.tmaStoreGroupEnds.begin(),
      fiber.tmaStoreGroupEnds.begin() +
          static_cast<std::ptrdiff_t>(groupsToRelease));
  for (std::size_t &end : fiber.tmaStoreGroupEnds)
    end -= count;
}

void CtaRunner::globalAccess(const GlobalAccess &access) {
  if (launch.config.countGlobalAccesses) {
    if (access.isStore) {
      ++stores;
      bytesWritten += access.bytes;
    } else {
      ++loads;
      bytesRead += access.bytes;
    }
  }
  if (!launch.config.memcheck || launch.buffers.empty())
    return;
  const auto *address = static_cast<const unsigned char *>(access.base) +
                        access.index * access.elementBytes;
  const GlobalBuffer *buffer =
      launch.buffers.containing(address, access.bytes);
  if (!buffer) {
    MemoryViolation v = violation(MemoryViolation::Kind::OutsideBuffers,
                                  access.op, access.file, access.line);
    v.index = access.index;
    v.extent = access.extent;
    if (const GlobalBuffer *base = launch.buffers.owner(access.base))
      v.buffer = base->name;
    return launch.recordViolation(std::move(v));
  }
  if (access.isStore && !buffer->writable) {
    MemoryViolation v = violation(MemoryViolation::Kind::ReadOnlyStore,
                                  access.op, access.file, access.line);
    v.index = access.index;
    v.extent = access.extent;
    v.buffer = buffer->name;
    launch.recordViolation(std::move(v));
  }
}

void CtaRunner::outOfBounds(const GlobalAccess &access) {
  MemoryViolation v = violation(MemoryViolation::Kind::OutOfBounds, access.op,
                                access.file, access.line);
  v.index = access.index;
  v.extent = access.extent;
  if (const GlobalBuffer *base = launch.buffers.owner(access.base))
    v.buffer = base->name;
  launch.recordViolation(std::move(v));
}

void CtaRunner::countTile(int kind) {
  // attn::device::TileCount: 0 full, 1 partial, 2 interior (also full).
  ++(kind == 1 ? tilesPartial : tilesFull);
  tilesInterior += kind == 2;
}

void CtaRunner::uninitialisedShared(const char *op, const void *address,
                                    unsigned bytes, const char *file,
                                    unsigned line) {
  MemoryViolation v =
      violation(MemoryViolation::Kind::UninitialisedShared, op, file, line);
  // The first all-poison 16-bit element, as ldmatrix tested.
  const auto *p = static_cast<const unsigned char *>(address);
  unsigned first = 0;
  while (first + 2 < bytes &&
         !(p[first] == kPoisonByte && p[first + 1] == kPoisonByte))
    first += 2;
  v.index = first;
  v.extent = bytes;
  launch.recordViolation(std::move(v));
}

MemoryViolation CtaRunner::violation(MemoryViolation::Kind kind,
                                     const char *op, const char *file,
                                     unsigned line) const {
  MemoryViolation v;
  v.kind = kind;
  v.kernel = launch.config.kernelName;
  v.cta = ctaid;
  if (running)
    v.thread = running->pub.tid;
  v.accessor = op ? op : "?";
  v.file = file ? file : "?";
  v.line = line;
  return v;
}

std::string CtaRunner::ctaPrefix() const {
  return "kernel '" + launch.config.kernelName + "' CTA (" +
         std::to_string(ctaid.x) + "," + std::to_string(ctaid.y) + "," +
         std::to_string(ctaid.z) + "): ";
}

std::string CtaRunner::threadName(const Fiber &fiber) const {
  return "thread (" + std::to_string(fiber.pub.tid.x) + "," +
         std::to_string(fiber.pub.tid.y) + "," +
         std::to_string(fiber.pub.tid.z) + ")";
}

std::string CtaRunner::site(const char *file, unsigned line) {
  return std::string(file ? file : "?") + ":" + std::to_string(line);
}

} // namespace attn::emu
