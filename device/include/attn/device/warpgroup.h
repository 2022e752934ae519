//===- warpgroup.h - Device library: sm_90 warpgroup primitives -*- C++ -*-===//
//
// What a warp-specialised kernel (FlashAttention-3) coordinates its warps
// with besides mbarriers: named barriers over a subset of the CTA's threads
// (a consumer warpgroup's own barrier, or the ping-pong between two consumer
// warpgroups), electing one lane to issue a TMA copy, and moving registers
// between producer and consumer warpgroups (setmaxnreg).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_WARPGROUP_H
#define ATTN_DEVICE_WARPGROUP_H

#include "attn/device/config.h"

#if !ATTN_DEVICE_CUDA
#include <string>
#endif

namespace attn::device {

/// Threads of a warpgroup: four consecutive warps, the unit of wgmma.
inline constexpr unsigned kWarpgroupThreads = 128;

/// Register counts setmaxnreg accepts: a multiple of 8 in [24, 256].
template <unsigned Regs> ATTN_HOST_DEVICE_FN bool isValidMaxRegisterCount() {
  return Regs % 8 == 0 && Regs >= 24 && Regs <= 256;
}

#if ATTN_DEVICE_CUDA

/// Waits at named barrier `id` (1-15) until `threads` threads (a multiple of
/// 32, whole warps) have arrived at it.
ATTN_DEVICE_FN void named_barrier_sync(unsigned id, unsigned threads) {
  asm volatile("bar.sync %0, %1;\n" : : "r"(id), "r"(threads) : "memory");
}
/// Counts the calling warp towards named barrier `id` without waiting.
ATTN_DEVICE_FN void named_barrier_arrive(unsigned id, unsigned threads) {
  asm volatile("bar.arrive %0, %1;\n" : : "r"(id), "r"(threads) : "memory");
}
/// True in exactly one lane (the lowest) of the full, converged warp.
ATTN_DEVICE_FN bool elect_one_sync() {
  unsigned elected = 0;
  asm volatile("{\n.reg .b32 rx;\n.reg .pred px;\n"
               "elect.sync rx|px, %1;\n"
               "@px mov.u32 %0, 1;\n}\n"
               : "+r"(elected)
               : "r"(0xffffffffu));
  return elected != 0;
}
/// Raises the calling warpgroup's register limit to `Regs` (consumers).
template <unsigned Regs> ATTN_DEVICE_FN void setmaxnreg_inc() {
  static_assert(isValidMaxRegisterCount<Regs>(),
                "setmaxnreg takes a multiple of 8 in [24, 256]");
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" : : "n"(Regs));
}
/// Lowers the calling warpgroup's register limit to `Regs` (producers).
template <unsigned Regs> ATTN_DEVICE_FN void setmaxnreg_dec() {
  static_assert(isValidMaxRegisterCount<Regs>(),
                "setmaxnreg takes a multiple of 8 in [24, 256]");
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" : : "n"(Regs));
}

#else

namespace detail {
inline void requireWarpgroups(const char *op, const char *file, unsigned line) {
  const dim3 &b = emu::detail::self().ntid;
  if ((b.x * b.y * b.z) % kWarpgroupThreads)
    emu::detail::rt().error((std::string(op) + " at " + file + ":" +
                             std::to_string(line) +
                             ": the block is not made of whole warpgroups "
                             "(a multiple of 128 threads)")
                                .c_str());
}
} // namespace detail

/// Waits at named barrier `id` (1-15) until `threads` threads have arrived.
ATTN_DEVICE_FN void named_barrier_sync(unsigned id, unsigned threads,
                                       const char *file = __builtin_FILE(),
                                       unsigned line = __builtin_LINE()) {
  emu::detail::rt().namedBarrier(id, threads, false, file, line);
}
/// Counts the caller towards named barrier `id` without waiting.
ATTN_DEVICE_FN void named_barrier_arrive(unsigned id, unsigned threads,
                                         const char *file = __builtin_FILE(),
                                         unsigned line = __builtin_LINE()) {
  emu::detail::rt().namedBarrier(id, threads, true, file, line);
}
/// True in exactly one lane (the lowest) of the full warp: a warp collective.
ATTN_DEVICE_FN bool elect_one_sync(const char *file = __builtin_FILE(),
                                   unsigned line = __builtin_LINE()) {
  emu::ThreadState &me = emu::detail::self();
  emu::detail::rt().syncWarp(0xffffffffu, "elect_one_sync", file, line);
  return me.laneId == static_cast<unsigned>(__builtin_ctz(me.warpLaneMask));
}
/// Raises the warpgroup's register limit: nothing to do on a CPU beyond the
/// instruction's own requirement of whole warpgroups.
template <unsigned Regs>
ATTN_DEVICE_FN void setmaxnreg_inc(const char *file = __builtin_FILE(),
                                   unsigned line = __builtin_LINE()) {
  static_assert(isValidMaxRegisterCount<Regs>(),
                "setmaxnreg takes a multiple of 8 in [24, 256]");
  detail::requireWarpgroups("setmaxnreg_inc", file, line);
}
/// Lowers the warpgroup's register limit (see setmaxnreg_inc).
template <unsigned Regs>
ATTN_DEVICE_FN void setmaxnreg_dec(const char *file = __builtin_FILE(),
                                   unsigned line = __builtin_LINE()) {
  static_assert(isValidMaxRegisterCount<Regs>(),
                "setmaxnreg takes a multiple of 8 in [24, 256]");
  detail::requireWarpgroups("setmaxnreg_dec", file, line);
}

#endif

/// Index of the calling thread's warpgroup in the CTA (x-major threads).
ATTN_DEVICE_FN unsigned warpgroup_index() {
  return threadIdx.x / kWarpgroupThreads;
}

} // namespace attn::device

#endif // ATTN_DEVICE_WARPGROUP_H
