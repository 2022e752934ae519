//===- mbarrier.h - Device library: sm_90 mbarriers and proxy fences -*- C++
//-*-===//
//
// mbarrier: an 8-byte object in shared memory that completes a *phase* once
// its expected number of arrivals and its pending transaction bytes (the
// bytes asynchronous copies announced with expect_tx but have not delivered)
// both reach zero; the phase parity then flips and the next phase starts with
// the expected count again. Waiters wait for a parity: the phase with parity
// P is complete once the barrier's current parity differs from P. This is
// how FlashAttention-3's producer warps (TMA) hand tiles to its consumer
// warpgroups (wgmma) without a CTA-wide barrier.
//
// The emulator keeps the state in the 8 bytes themselves, updated atomically
// (attn::emu::MbarrierState in cuda_emu.h: the emulator's TMA completes
// transaction bytes on it too); use before mbarrier_init is reported.
// A waiter whose phase is incomplete lets the CTA's other threads run; a CTA
// in which every runnable thread only waits is reported as a deadlock.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_MBARRIER_H
#define ATTN_DEVICE_MBARRIER_H

#include "attn/device/config.h"

#if !ATTN_DEVICE_CUDA
#include <string>
#endif

namespace attn::device {

/// An mbarrier object (8 bytes of shared memory, 8-byte aligned).
using mbarrier_t = uint64_t;

#if ATTN_DEVICE_CUDA

/// The shared-window address of a shared-memory pointer.
ATTN_DEVICE_FN unsigned shared_address(const void *smem) {
  return static_cast<unsigned>(__cvta_generic_to_shared(smem));
}

/// Initialises `bar` for `count` arrivals per phase (phase 0, parity 0).
ATTN_DEVICE_FN void mbarrier_init(mbarrier_t *bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n"
               :
               : "r"(shared_address(bar)), "r"(count)
               : "memory");
}
/// One arrival on the current phase.
ATTN_DEVICE_FN void mbarrier_arrive(mbarrier_t *bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n"
               :
               : "r"(shared_address(bar))
               : "memory");
}
/// Announces `bytes` transaction bytes, then arrives (a TMA producer's call).
ATTN_DEVICE_FN void mbarrier_arrive_expect_tx(mbarrier_t *bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n"
               :
               : "r"(shared_address(bar)), "r"(bytes)
               : "memory");
}
/// Announces `bytes` transaction bytes without arriving.
ATTN_DEVICE_FN void mbarrier_expect_tx(mbarrier_t *bar, unsigned bytes) {
  asm volatile("mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n"
               :
               : "r"(shared_address(bar)), "r"(bytes)
               : "memory");
}
/// Delivers `bytes` transaction bytes (what a TMA copy does when it lands).
ATTN_DEVICE_FN void mbarrier_complete_tx(mbarrier_t *bar, unsigned bytes) {
  asm volatile("mbarrier.complete_tx.relaxed.cta.shared::cta.b64 [%0], %1;\n"
               :
               : "r"(shared_address(bar)), "r"(bytes)
               : "memory");
}
/// True once the phase with parity `parity` has completed (may wait a
/// hardware-defined time first).
ATTN_DEVICE_FN bool mbarrier_try_wait_parity(mbarrier_t *bar, unsigned parity) {
  unsigned done;
  asm volatile("{\n.reg .pred p;\n"
               "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
               "selp.u32 %0, 1, 0, p;\n}\n"
               : "=r"(done)
               : "r"(shared_address(bar)), "r"(parity)
               : "memory");
  return done != 0;
}
/// Waits until the phase with parity `parity` has completed.
ATTN_DEVICE_FN void mbarrier_wait_parity(mbarrier_t *bar, unsigned parity) {
  while (!mbarrier_try_wait_parity(bar, parity)) {
  }
}
/// Orders this thread's generic-proxy shared-memory writes before later
/// async-proxy accesses (wgmma operands, TMA stores) of the CTA.
ATTN_DEVICE_FN void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

#else

namespace detail {

using emu::MbarrierState;

inline void mbarrierError(const char *op, const char *file, unsigned line,
                          const std::string &what) {
  emu::detail::rt().error((std::string(op) + " at " + file + ":" +
                           std::to_string(line) + ": " + what)
                              .c_str());
}

/// Whether `word` holds an initialised barrier (else reports it).
inline bool checkMbarrier(const mbarrier_t *bar, uint64_t word, const char *op,
                          const char *file, unsigned line) {
  if (reinterpret_cast<std::uintptr_t>(bar) % 8) {
    mbarrierError(op, file, line, "the mbarrier is not 8-byte aligned");
    return false;
  }
  if (!emu::isMbarrier(word)) {
    mbarrierError(op, file, line,
                  "the mbarrier was never initialised (mbarrier_init)");
    return false;
  }
  return true;
}

/// Applies `update` to the barrier's state atomically; false (with the error
/// reported) for an uninitialised or misaligned barrier or a failed update.
template <typename Update>
inline bool updateMbarrier(mbarrier_t *bar, const char *op, const char *file,
                           unsigned line, Update update) {
  uint64_t old = __atomic_load_n(bar, __ATOMIC_ACQUIRE);
  while (true) {
    if (!checkMbarrier(bar, old, op, file, line))
      return false;
    MbarrierState s = emu::decodeMbarrier(old);
    std::string problem = update(s);
    if (!problem.empty()) {
      mbarrierError(op, file, line, problem);
      return false;
    }
    // encodeMbarrier completes the phase once nothing is pending.
    if (__atomic_compare_exchange_n(bar, &old, emu::encodeMbarrier(s), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return true;
  }
}

inline std::string addTx(MbarrierState &s, long long bytes) {
  long long tx = s.tx + bytes;
  if (!emu::validTxCount(tx))
    return "pending transaction bytes leave the hardware's range (+-2^20-1)";
  s.tx = tx;
  return {};
}

inline std::string arriveOnce(MbarrierState &s) {
  if (s.pending == 0)
    return "more arrivals than the " + std::to_string(s.expected) +
           " the phase expects (the phase waits only for transaction bytes)";
  --s.pending;
  return {};
}

} // namespace detail

/// Initialises `bar` for `count` arrivals per phase (phase 0, parity 0).
ATTN_DEVICE_FN void mbarrier_init(mbarrier_t *bar, unsigned count,
                                  const char *file = __builtin_FILE(),
                                  unsigned line = __builtin_LINE()) {
  if (count == 0 || count > 0xffff)
    return detail::mbarrierError("mbarrier_init", file, line,
                                 "arrival count " + std::to_string(count) +
                                     " is not in 1-65535");
  if (reinterpret_cast<std::uintptr_t>(bar) % 8)
    return detail::mbarrierError("mbarrier_init", file, line,
                                 "the mbarrier is not 8-byte aligned");
  __atomic_store_n(bar, emu::encodeMbarrier({count, count, 0, 0}),
                   __ATOMIC_RELEASE);
}
/// One arrival on the current phase.
ATTN_DEVICE_FN void mbarrier_arrive(mbarrier_t *bar,
                                    const char *file = __builtin_FILE(),
                                    unsigned line = __builtin_LINE()) {
  detail::updateMbarrier(
      bar, "mbarrier_arrive", file, line,
      [](detail::MbarrierState &s) { return detail::arriveOnce(s); });
}
/// Announces `bytes` transaction bytes, then arrives (a TMA producer's call).
ATTN_DEVICE_FN void
mbarrier_arrive_expect_tx(mbarrier_t *bar, unsigned bytes,
                          const char *file = __builtin_FILE(),
                          unsigned line = __builtin_LINE()) {
  detail::updateMbarrier(bar, "mbarrier_arrive_expect_tx", file, line,
                         [&](detail::MbarrierState &s) {
                           std::string problem = detail::addTx(s, bytes);
                           return problem.empty() ? detail::arriveOnce(s)
                                                  : problem;
                         });
}
/// Announces `bytes` transaction bytes without arriving.
ATTN_DEVICE_FN void mbarrier_expect_tx(mbarrier_t *bar, unsigned bytes,
                                       const char *file = __builtin_FILE(),
                                       unsigned line = __builtin_LINE()) {
  detail::updateMbarrier(
      bar, "mbarrier_expect_tx", file, line,
      [&](detail::MbarrierState &s) { return detail::addTx(s, bytes); });
}
/// Delivers `bytes` transaction bytes (what a TMA copy does when it lands).
ATTN_DEVICE_FN void mbarrier_complete_tx(mbarrier_t *bar, unsigned bytes,
                                         const char *file = __builtin_FILE(),
                                         unsigned line = __builtin_LINE()) {
  detail::updateMbarrier(
      bar, "mbarrier_complete_tx", file, line, [&](detail::MbarrierState &s) {
        return detail::addTx(s, -static_cast<long long>(bytes));
      });
}
/// True once the phase with parity `parity` has completed. Before answering
/// false the emulator lets the CTA's other threads run, as the hardware's
/// time-limited wait would.
ATTN_DEVICE_FN bool
mbarrier_try_wait_parity(mbarrier_t *bar, unsigned parity,
                         const char *file = __builtin_FILE(),
                         unsigned line = __builtin_LINE()) {
  const char *op = "mbarrier_try_wait_parity";
  uint64_t word = __atomic_load_n(bar, __ATOMIC_ACQUIRE);
  if (!detail::checkMbarrier(bar, word, op, file, line))
    return true; // reported; do not hang the CTA on a broken barrier
  bool done = emu::decodeMbarrier(word).parity != (parity & 1);
  if (done)
    emu::detail::rt().mbarrierPhaseSeen(bar, parity & 1);
  else
    emu::detail::rt().mbarrierSpin(bar, parity & 1, op, file, line);
  return done;
}
/// Waits until the phase with parity `parity` has completed.
ATTN_DEVICE_FN void mbarrier_wait_parity(mbarrier_t *bar, unsigned parity,
                                         const char *file = __builtin_FILE(),
                                         unsigned line = __builtin_LINE()) {
  while (!mbarrier_try_wait_parity(bar, parity, file, line)) {
  }
}
/// Orders generic-proxy shared-memory writes before async-proxy accesses.
/// The emulator has one proxy: nothing to order.
ATTN_DEVICE_FN void fence_proxy_async() {}

#endif

} // namespace attn::device

#endif // ATTN_DEVICE_MBARRIER_H
