//===- cuda_emu.h - CUDA keywords and builtins for the CPU emulator -*- C++ -*-===//
//
// Lets a CUDA kernel source compile as plain host C++ (clang++/g++ with
// `-x c++ -include attn/emu/cuda_emu.h`) so that the emulator can run it with
// one fiber per CUDA thread. It defines the CUDA keywords, the thread-index
// builtins, barriers, warp shuffles and votes, and the emulator's side of the
// project's shared-memory macros.
//
// Everything that needs per-thread or per-CTA state calls into the emulator
// through a table of function pointers (`attn::emu::Runtime`) that the kernel's
// entry point receives at every launch. That keeps a kernel .so free of
// undefined symbols and of `thread_local` (which makes dlclose unreliable): the
// emulator library owns all thread-local state, the kernel only calls it.
//
// The contract between this header and the emulator library is versioned by
// `kAbiVersion`; bump it whenever `Runtime` or `ThreadState` changes.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_CUDA_EMU_H
#define ATTN_EMU_CUDA_EMU_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#error "attn/emu/cuda_emu.h is for host C++ builds of CUDA sources only"
#endif

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

//===----------------------------------------------------------------------===//
// Keywords
//===----------------------------------------------------------------------===//

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
// __noinline__ is deliberately not defined: libstdc++ spells GCC's attribute
// `__attribute__((__noinline__))`, which such a macro would break. Generated
// code does not use it.
#define __launch_bounds__(...)
/// Kernel parameters live in ordinary memory here: their address is taken
/// as on a GPU (TMA tensor maps).
#define __grid_constant__
#define __align__(n) __attribute__((aligned(n)))
// __restrict__ is understood by both clang and gcc as is.

/// CUDA's built-in vector of three unsigned components (threadIdx, blockIdx).
struct uint3 {
  unsigned x, y, z;
};

/// CUDA's launch-dimension type; unspecified components default to 1.
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x = 1, unsigned y = 1, unsigned z = 1)
      : x(x), y(y), z(z) {}
};

namespace attn::emu {

/// Version of the kernel <-> emulator contract below. The emulator rejects a
/// kernel built against another version instead of misreading its state.
inline constexpr unsigned kAbiVersion = 4;

/// Bytes of per-warp scratch for one warp collective (shuffle slots, mma and
/// ldmatrix fragments). Two such buffers alternate so that a lane running
/// ahead into the next collective never overwrites data a slower lane of the
/// same warp has not read yet.
inline constexpr unsigned kWarpScratchBytes = 2048;

/// Bits of `ThreadState::flags`.
enum ThreadFlags : unsigned {
  /// Report every global access to `Runtime::globalAccess` (counters and
  /// memcheck's allocation checks).
  kTraceGlobalAccesses = 1u << 0,
  /// Report every KV tile a CTA starts to `Runtime::countTile`.
  kCountTiles = 1u << 1,
  /// Memcheck's extra checks inside device-library primitives (reads of
  /// never-written shared memory by ldmatrix).
  kMemcheck = 1u << 2,
};

/// One global-memory access through a device-library accessor, as the
/// accessor sees it: `index` and `extent` in elements of `elementBytes` bytes
/// relative to `base`; `bytes` are actually moved (cp.async may move several
/// elements, or none past the extent).
struct GlobalAccess {
  const char *op;       ///< accessor name: "ld_global", "cp_async" ...
  const void *base;     ///< the tensor pointer the kernel passed
  long long index;      ///< element index relative to `base`
  long long extent;     ///< elements the kernel claims `base` has
  unsigned elementBytes;
  unsigned bytes;
  bool isStore;
  const char *file;     ///< call site in the kernel source
  unsigned line;
};

/// What kernel code may read about the CUDA thread it runs as. Owned by the
/// emulator; valid while the thread's fiber runs.
struct ThreadState {
  uint3 tid;                    ///< threadIdx
  uint3 ctaid;                  ///< blockIdx
  dim3 ntid;                    ///< blockDim
  dim3 nctaid;                  ///< gridDim
  unsigned linearTid;           ///< x + y*ntid.x + z*ntid.x*ntid.y
  unsigned laneId;              ///< linearTid % 32
  unsigned warpLaneMask;        ///< lanes that exist in this thread's warp
  unsigned flags;               ///< ThreadFlags
  unsigned char *dynamicShared; ///< this CTA's dynamic shared memory
  std::size_t dynamicSharedBytes; ///< its size (the launch's)
  /// wgmma_fence calls this thread has made: an accumulator written at fence
  /// count F may feed a wgmma only once the count exceeds F.
  unsigned wgmmaFences;
};

/// One wgmma.mma_async as the emulator tracks it until its wait: the device
/// library computed `values` (the accumulator after the operation) at issue;
/// they land in `acc` at the wgmma_wait_group that retires the operation.
/// `chunks` are the 16-byte shared-memory chunks it read, `operandHash` their
/// contents at issue: the hardware may read them any time until the wait, so
/// a change before then is an error.
struct WgmmaIssue {
  float *acc;
  const float *values;
  unsigned count;
  /// In-flight operations on `acc`; the emulator decrements it on landing.
  unsigned *inFlight;
  const unsigned char *const *chunks;
  unsigned chunkCount;
  std::uint64_t operandHash;
  const char *file;
  unsigned line;
};

/// The emulator's encoding of an mbarrier's 8 bytes (attn/device/mbarrier.h
/// operates on it; the emulator's TMA completes transactions on it):
///   bits  0-15 arrivals still pending in this phase
///   bits 16-31 expected arrivals per phase
///   bits 32-55 pending transaction bytes (signed)
///   bits 56-61 kMbarrierInitTag (shared memory starts as 0xFF bytes, so use
///              before mbarrier_init is recognised)
///   bit  62    parity of the current phase
struct MbarrierState {
  unsigned pending, expected;
  long long tx;
  unsigned parity;
};
inline constexpr std::uint64_t kMbarrierInitTag = 0x2a;

/// Whether `word` is an initialised mbarrier.
inline bool isMbarrier(std::uint64_t word) {
  return (word >> 56 & 0x3f) == kMbarrierInitTag && !(word >> 63);
}
inline MbarrierState decodeMbarrier(std::uint64_t word) {
  MbarrierState s;
  s.pending = static_cast<unsigned>(word & 0xffff);
  s.expected = static_cast<unsigned>((word >> 16) & 0xffff);
  long long tx = static_cast<long long>((word >> 32) & 0xffffff);
  s.tx = tx >= (1ll << 23) ? tx - (1ll << 24) : tx;
  s.parity = static_cast<unsigned>((word >> 62) & 1);
  return s;
}
/// Encodes `s`, first completing the phase if nothing is pending any more.
inline std::uint64_t encodeMbarrier(MbarrierState s) {
  if (s.pending == 0 && s.tx == 0) {
    s.parity ^= 1;
    s.pending = s.expected;
  }
  return static_cast<std::uint64_t>(s.pending) |
         static_cast<std::uint64_t>(s.expected) << 16 |
         (static_cast<std::uint64_t>(s.tx) & 0xffffff) << 32 |
         kMbarrierInitTag << 56 | static_cast<std::uint64_t>(s.parity) << 62;
}
/// The hardware's range of pending transaction bytes: +-(2^20 - 1).
inline bool validTxCount(long long tx) {
  return tx < (1ll << 20) && tx > -(1ll << 20);
}

/// The emulator's tensor map: the fields of cuTensorMapEncodeTiled in the
/// first bytes of the 128-byte TensorMap a kernel receives (see
/// attn/emu/TensorMap.h for the encoder and attn/device/tma.h).
struct EmuTensorMap {
  std::uint64_t magic; ///< kEmuTensorMapMagic once encoded
  const void *base;
  unsigned rank;                ///< 1-5
  unsigned elementBytes;        ///< 2 or 4
  std::uint64_t dims[5];        ///< elements per dimension, innermost first
  std::uint64_t strideBytes[5]; ///< [0] = elementBytes; [d] of dimension d
  unsigned box[5];              ///< box extent per dimension (1 past the rank)
  unsigned swizzleBits;         ///< 0 none, 1/2/3: 32/64/128-byte swizzle
};
inline constexpr std::uint64_t kEmuTensorMapMagic = 0x41544e4d41505631ull;

/// One TMA copy as the device library hands it to the emulator.
struct TmaCopy {
  const void *tensorMap;  ///< the kernel's 128-byte TensorMap
  unsigned char *smem;    ///< the box in (dynamic) shared memory
  int coords[5];          ///< box origin, innermost first
  std::uint64_t *barrier; ///< loads: the mbarrier to complete_tx on
  bool isStore;
  const char *file;
  unsigned line;
};

/// FNV-1a over 16-byte shared-memory chunks: what an asynchronous operation
/// (wgmma operands, a TMA store's box) read at issue, compared at its wait.
inline std::uint64_t hashChunks(const unsigned char *const *chunks,
                                unsigned count) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned c = 0; c < count; ++c)
    for (unsigned b = 0; b < 16; ++b)
      h = (h ^ chunks[c][b]) * 1099511628211ull;
  return h;
}

/// Services the emulator provides to kernel code. One table per process; the
/// kernel's entry point stores the pointer it is launched with.
struct Runtime {
  unsigned abiVersion;
  /// The CUDA thread whose fiber is running on the calling OS thread.
  ThreadState *(*current)();
  /// CTA-wide barrier; `file:line` names it in diagnostics.
  void (*syncThreads)(const char *file, unsigned line);
  /// Warp barrier over the lanes of `mask`; `op` names the collective.
  void (*syncWarp)(unsigned mask, const char *op, const char *file,
                   unsigned line);
  /// The scratch buffer the calling lane's warp uses for its next collective.
  unsigned char *(*warpScratch)();
  /// Per-CTA storage for one static shared-memory declaration, identified by
  /// `key` (the address of a static object unique to the declaration).
  void *(*staticShared)(const void *key, std::size_t bytes, const char *name);
  /// Starts an asynchronous copy of `srcBytes` bytes (zero-filled up to
  /// `bytes`) from global to shared memory; it lands at the matching wait.
  void (*cpAsync)(void *dst, const void *src, unsigned bytes,
                  unsigned srcBytes, const char *file, unsigned line);
  /// Closes the calling thread's current cp.async group.
  void (*cpAsyncCommit)();
  /// Lands all but the newest `pendingGroups` committed cp.async groups.
  void (*cpAsyncWait)(unsigned pendingGroups);
  /// Counter and memcheck hook: one in-bounds global access (only called
  /// when the thread's flags have kTraceGlobalAccesses).
  void (*globalAccess)(const GlobalAccess &access);
  /// Bounds check (always on): an access outside `[0, extent)`; the
  /// accessor skips it.
  void (*outOfBounds)(const GlobalAccess &access);
  /// Counter hook: the calling thread's CTA starts a KV tile (only called
  /// with kCountTiles, by thread 0 of the CTA).
  void (*countTile)(int kind);
  /// Memcheck hook: `op` at `file:line` read `bytes` bytes of shared memory
  /// at `address` that still hold the poison of CTA start.
  void (*uninitialisedShared)(const char *op, const void *address,
                              unsigned bytes, const char *file,
                              unsigned line);
  /// Records an error for the current launch; the kernel keeps running.
  void (*error)(const char *message);

  // sm_90 primitives (attn/device/sm90.h).

  /// Named barrier `id` (1-15) over `count` threads (a multiple of 32):
  /// bar.sync waits, bar.arrive (`arriveOnly`) counts without waiting.
  void (*namedBarrier)(unsigned id, unsigned count, bool arriveOnly,
                       const char *file, unsigned line);
  /// The calling thread found the phase of the mbarrier at `barrier` with
  /// parity `parity` incomplete: lets the CTA's other threads run. A CTA
  /// whose every runnable thread only spins like this is deadlocked.
  void (*mbarrierSpin)(const void *barrier, unsigned parity, const char *op,
                       const char *file, unsigned line);
  /// wgmma.fence: increments ThreadState::wgmmaFences.
  void (*wgmmaFence)();
  /// Records one issued wgmma (see WgmmaIssue).
  void (*wgmmaIssue)(const WgmmaIssue &issue);
  /// wgmma.commit_group: closes the calling thread's current group.
  void (*wgmmaCommit)();
  /// wgmma.wait_group: lands all but the newest `pendingGroups` groups.
  void (*wgmmaWait)(unsigned pendingGroups);
  /// Issues a TMA load (lands when a thread waits on its mbarrier) or store
  /// (reads the box from shared memory now, writes global memory).
  void (*tmaCopy)(const TmaCopy &copy);
  /// cp.async.bulk.commit_group: closes the thread's group of TMA stores.
  void (*tmaStoreCommit)();
  /// cp.async.bulk.wait_group.read: all but the newest `pendingGroups`
  /// groups of TMA stores have read their shared memory.
  void (*tmaStoreWait)(unsigned pendingGroups, const char *file, unsigned line);
  /// The calling thread found the phase of the mbarrier at `barrier` with
  /// parity `parity` complete (the race checker orders the phase's TMA
  /// writes before what the thread does next; nothing in the emulator).
  void (*mbarrierPhaseSeen)(const void *barrier, unsigned parity);
};

/// A type-erased kernel entry point: `params` points at the kernel's
/// parameter struct (or, for in-process launches, at a packed argument list).
using KernelEntry = void (*)(const Runtime *runtime, const void *params);

namespace detail {

/// The runtime table for this DSO. Hidden so that every kernel .so has its
/// own copy, set by its entry points; atomic because CTAs of one launch run on
/// several OS threads that all store the same value.
__attribute__((visibility("hidden"))) inline std::atomic<const Runtime *>
    runtimeTable{nullptr};

inline const Runtime &rt() {
  return *runtimeTable.load(std::memory_order_relaxed);
}
inline ThreadState &self() { return *rt().current(); }

/// Stores `runtime` for this DSO; false (with an error recorded) if the kernel
/// was built against another version of this header.
inline bool enter(const Runtime *runtime) {
  if (runtime->abiVersion != kAbiVersion) {
    runtime->error("kernel was compiled against a different cuda_emu.h ABI "
                   "version than the emulator runs");
    return false;
  }
  runtimeTable.store(runtime, std::memory_order_relaxed);
  return true;
}

/// Calls a `__global__` function that takes one parameter struct by value.
/// The struct is copied out of `params` first: a runtime packs it into
/// 8-byte words, and a struct holding tensor maps is 64-byte aligned.
template <typename Param>
void invokeWithParams(const Runtime *runtime, void (*kernel)(Param),
                      const void *params) {
  using Struct = std::remove_cv_t<std::remove_reference_t<Param>>;
  static_assert(std::is_trivially_copyable_v<Struct>,
                "a kernel's parameter struct is copied as bytes");
  if (!enter(runtime))
    return;
  alignas(Struct) unsigned char storage[sizeof(Struct)];
  std::memcpy(storage, params, sizeof(Struct));
  kernel(*reinterpret_cast<const Struct *>(storage));
}
/// Calls a `__global__` function without parameters.
inline void invokeWithParams(const Runtime *runtime, void (*kernel)(),
                             const void *) {
  if (enter(runtime))
    kernel();
}

/// One lane's value crosses the warp through the scratch: every lane of
/// `mask` deposits, the warp synchronises, then each reads lane `srcLane`
/// (or keeps its own value when `srcLane` is negative: CUDA's out-of-segment
/// rule).
template <typename T>
T warpExchange(unsigned mask, T value, int srcLane, const char *op,
               const char *file, unsigned line) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                "warp shuffles move at most 8 bytes");
  ThreadState &me = self();
  unsigned char *scratch = rt().warpScratch();
  std::memcpy(scratch + me.laneId * 8, &value, sizeof(T));
  rt().syncWarp(mask, op, file, line);
  if (srcLane < 0)
    return value;
  if (!(mask & me.warpLaneMask & (1u << srcLane))) {
    rt().error("warp shuffle reads a lane outside its mask; CUDA leaves the "
               "result undefined");
    return value;
  }
  T result;
  std::memcpy(&result, scratch + srcLane * 8, sizeof(T));
  return result;
}

/// Start of the `width`-lane segment that `lane` belongs to.
inline int segmentBase(int lane, int width) { return lane & ~(width - 1); }

/// Key for one static shared-memory declaration: the address of a static
/// object private to the declaration (distinct objects have distinct
/// addresses; this is not thread-local state).
inline void *staticShared(const void *key, std::size_t bytes,
                          const char *name) {
  return rt().staticShared(key, bytes, name);
}

} // namespace detail
} // namespace attn::emu

//===----------------------------------------------------------------------===//
// Thread indices
//===----------------------------------------------------------------------===//

// Macros rather than objects: `threadIdx.x` must read the *current fiber's*
// index, and a macro keeps `auto i = threadIdx.x` an `unsigned` as in CUDA.
#define threadIdx (::attn::emu::detail::self().tid)
#define blockIdx (::attn::emu::detail::self().ctaid)
#define blockDim (::attn::emu::detail::self().ntid)
#define gridDim (::attn::emu::detail::self().nctaid)
/// The warp width, as CUDA's `warpSize`.
inline constexpr int warpSize = 32;

//===----------------------------------------------------------------------===//
// Barriers, shuffles, votes
//===----------------------------------------------------------------------===//

/// CTA-wide barrier. The default arguments record where it is written so that
/// a barrier that not every thread reaches is reported by file and line.
inline void __syncthreads(const char *file = __builtin_FILE(),
                          unsigned line = __builtin_LINE()) {
  ::attn::emu::detail::rt().syncThreads(file, line);
}

/// Warp barrier over the lanes of `mask`.
inline void __syncwarp(unsigned mask = 0xffffffffu,
                       const char *file = __builtin_FILE(),
                       unsigned line = __builtin_LINE()) {
  ::attn::emu::detail::rt().syncWarp(mask, "__syncwarp", file, line);
}

/// The lanes of the calling warp that exist (the emulator has no divergence
/// tracking, so this is every lane of a full warp).
inline unsigned __activemask() {
  return ::attn::emu::detail::self().warpLaneMask;
}

/// Reads `var` from lane `srcLane` of the caller's `width`-lane segment.
template <typename T>
T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize,
              const char *file = __builtin_FILE(),
              unsigned line = __builtin_LINE()) {
  int lane = ::attn::emu::detail::self().laneId;
  int src = ::attn::emu::detail::segmentBase(lane, width) + (srcLane & (width - 1));
  return ::attn::emu::detail::warpExchange(mask, var, src, "__shfl_sync", file,
                                           line);
}

/// Reads `var` from lane `laneId ^ laneMask`; a source in a later segment
/// returns the caller's own value, as in CUDA.
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize,
                  const char *file = __builtin_FILE(),
                  unsigned line = __builtin_LINE()) {
  int lane = ::attn::emu::detail::self().laneId;
  int src = lane ^ laneMask;
  if (src >= ::attn::emu::detail::segmentBase(lane, width) + width)
    src = -1;
  return ::attn::emu::detail::warpExchange(mask, var, src, "__shfl_xor_sync",
                                           file, line);
}

/// Reads `var` from lane `laneId + delta` within the caller's segment, else
/// returns the caller's own value.
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   const char *file = __builtin_FILE(),
                   unsigned line = __builtin_LINE()) {
  int lane = ::attn::emu::detail::self().laneId;
  int src = lane + static_cast<int>(delta);
  if (src >= ::attn::emu::detail::segmentBase(lane, width) + width)
    src = -1;
  return ::attn::emu::detail::warpExchange(mask, var, src, "__shfl_down_sync",
                                           file, line);
}

/// Reads `var` from lane `laneId - delta` within the caller's segment, else
/// returns the caller's own value.
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 const char *file = __builtin_FILE(),
                 unsigned line = __builtin_LINE()) {
  int lane = ::attn::emu::detail::self().laneId;
  int src = lane - static_cast<int>(delta);
  if (src < ::attn::emu::detail::segmentBase(lane, width))
    src = -1;
  return ::attn::emu::detail::warpExchange(mask, var, src, "__shfl_up_sync",
                                           file, line);
}

/// Bit i set iff lane i of `mask` passes a non-zero `predicate`.
inline unsigned __ballot_sync(unsigned mask, int predicate,
                              const char *file = __builtin_FILE(),
                              unsigned line = __builtin_LINE()) {
  using namespace ::attn::emu::detail;
  ::attn::emu::ThreadState &me = self();
  unsigned char *scratch = rt().warpScratch();
  scratch[me.laneId * 8] = predicate != 0;
  rt().syncWarp(mask, "__ballot_sync", file, line);
  unsigned ballot = 0;
  for (unsigned lane = 0; lane < 32; ++lane)
    if ((mask & me.warpLaneMask & (1u << lane)) && scratch[lane * 8])
      ballot |= 1u << lane;
  return ballot;
}

/// True iff any lane of `mask` passes a non-zero `predicate`.
inline int __any_sync(unsigned mask, int predicate,
                      const char *file = __builtin_FILE(),
                      unsigned line = __builtin_LINE()) {
  return __ballot_sync(mask, predicate, file, line) != 0;
}

/// True iff every lane of `mask` passes a non-zero `predicate`.
inline int __all_sync(unsigned mask, int predicate,
                      const char *file = __builtin_FILE(),
                      unsigned line = __builtin_LINE()) {
  unsigned lanes = mask & ::attn::emu::detail::self().warpLaneMask;
  return __ballot_sync(mask, predicate, file, line) == lanes;
}

//===----------------------------------------------------------------------===//
// Atomics and scalar builtins
//===----------------------------------------------------------------------===//

// CTAs of one launch run on several OS threads, so device atomics are real
// atomics.

/// CUDA atomicAdd on int/unsigned/unsigned long long: returns the old value.
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
inline T atomicAdd(T *address, T value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
/// CUDA atomicAdd on float: returns the old value.
inline float atomicAdd(float *address, float value) {
  float old, desired;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  do
    desired = old + value;
  while (!__atomic_compare_exchange(address, &old, &desired, false,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return old;
}
/// CUDA atomicMax on integers: returns the old value.
template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
inline T atomicMax(T *address, T value) {
  T old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (old < value && !__atomic_compare_exchange_n(address, &old, value, false,
                                                     __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED))
    ;
  return old;
}

inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline float __uint_as_float(unsigned x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline int __float_as_int(float f) {
  int x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline unsigned __float_as_uint(float f) {
  unsigned x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __saturatef(float x) {
  return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
/// Read-only-cache load: an ordinary load on the CPU.
template <typename T> inline T __ldg(const T *p) { return *p; }

//===----------------------------------------------------------------------===//
// Shared memory (the emulator's half of the project's macros)
//===----------------------------------------------------------------------===//

/// `ATTN_SHARED(type, name, count)` declares a static shared array of `count`
/// elements (16-byte aligned); `name` is usable as a `type *`. In the emulator
/// it is a per-CTA buffer, poisoned with 0xFF bytes when the CTA starts.
#define ATTN_SHARED(type, name, count)                                         \
  static const char name##AttnSharedKey = 0;                                   \
  type *const name = static_cast<type *>(::attn::emu::detail::staticShared(    \
      &name##AttnSharedKey, sizeof(type) * static_cast<std::size_t>(count),    \
      #name))

/// `ATTN_DYNAMIC_SHARED(type, name)` binds `name` (a `type *`) to the CTA's
/// dynamic shared memory (the launch's dynamicSharedBytes, 0xFF-poisoned).
#define ATTN_DYNAMIC_SHARED(type, name)                                        \
  type *const name =                                                           \
      reinterpret_cast<type *>(::attn::emu::detail::self().dynamicShared)

/// `ATTN_DYNAMIC_SHARED_1024(type, name)`: the same storage, which the
/// emulator aligns to 1024 bytes anyway (the CUDA spelling differs).
#define ATTN_DYNAMIC_SHARED_1024(type, name) ATTN_DYNAMIC_SHARED(type, name)

/// Exports `kernel` (an `extern "C"` __global__ function taking one parameter
/// struct by value, or nothing) as `attn_emu_entry_<kernel>` for
/// `attn::emu::KernelLibrary`. Expands to nothing under CUDA.
#define ATTN_KERNEL_ENTRY(kernel)                                              \
  extern "C" __attribute__((visibility("default"))) void                       \
      attn_emu_entry_##kernel(                                                 \
      const ::attn::emu::Runtime *runtime, const void *params) {               \
    ::attn::emu::detail::invokeWithParams(runtime, kernel, params);            \
  }

#endif // ATTN_EMU_CUDA_EMU_H
