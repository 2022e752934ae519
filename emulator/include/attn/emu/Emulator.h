//===- Emulator.h - Launching CUDA kernels on the CPU emulator ---*- C++ -*-===//
//
// Host-side API of the emulator library (AttnEmulator). A launch runs every
// CTA of the grid with one fiber per CUDA thread (Boost.Context fcontext),
// switching fibers at barriers and warp collectives; CTAs are spread over
// worker threads. Problems inside the kernel -- a barrier or warp collective
// that not every thread reaches, a divergent barrier, an out-of-bounds global
// access, a misaligned cp.async -- never hang or throw: they are recorded
// with the kernel, CTA, thread and source location and returned in the
// LaunchResult. A CTA that cannot continue (deadlock) is abandoned and the
// launch stops scheduling further CTAs.
//
// Global accessors are always bounds-checked against the extent the kernel
// passes them; LaunchConfig::memcheck adds checks against the launch's real
// buffers and of shared-memory reads (docs/Emulator.md). Counters
// (LaunchConfig::countGlobalAccesses, countTiles) are incremented by the
// device-library primitives themselves.
//
// Kernels either live in the calling program (`launch(config, kernelFn,
// args...)`) or in a shared object built from a CUDA source file
// (KernelLibrary.h), launched through the type-erased `launchEntry`.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_EMULATOR_H
#define ATTN_EMU_EMULATOR_H

#include "attn/emu/cuda_emu.h"

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace attn::emu {

/// A global-memory allocation a launch uses. Memcheck checks every access
/// against these; race checking ships them to its separate process.
struct GlobalBuffer {
  /// Names the buffer in diagnostics ("q", "o" ...).
  std::string name;
  void *data = nullptr;
  std::size_t bytes = 0;
  /// False for inputs: memcheck reports a store into them.
  bool writable = true;
};

/// How to run one launch.
struct LaunchConfig {
  /// Names the kernel in diagnostics.
  std::string kernelName = "kernel";
  dim3 grid;
  dim3 block;
  /// Bytes behind ATTN_DYNAMIC_SHARED (no 48 KB cap: the emitter checks
  /// shared-memory limits itself).
  std::size_t dynamicSharedBytes = 0;
  /// Worker OS threads; 0 picks min(hardware threads, number of CTAs).
  unsigned numWorkers = 0;
  /// Stack of each CUDA thread's fiber (a guard page below catches overflow):
  /// the 512 KB of per-thread arrays the emitter allows a kernel
  /// (attn::codegen::kMaxThreadArrayBytes, a GPU thread's local memory) and
  /// 256 KB for the frames around them. Mapped without reserve: only the
  /// pages a kernel touches cost memory.
  std::size_t fiberStackBytes = (512 + 256) * 1024;
  /// Count global loads/stores (bytes) through the device-library accessors.
  bool countGlobalAccesses = false;
  /// Count the KV tiles CTAs report through attn::device::count_tile.
  bool countTiles = false;
  /// Memcheck: every global access must also lie inside one of `buffers`
  /// (when any are given) and must not store into a read-only one; ldmatrix
  /// must not read never-written shared memory. Bounds against the
  /// accessor's own extent are checked with or without it.
  bool memcheck = false;
  /// The launch's global allocations (memcheck, race checking).
  std::vector<GlobalBuffer> buffers;
  /// Error messages kept in the result (all are counted).
  unsigned maxErrorMessages = 16;

  LaunchConfig() = default;
  /// A launch of `kernelName` over `grid` x `block`.
  LaunchConfig(std::string kernelName, dim3 grid, dim3 block,
               std::size_t dynamicSharedBytes = 0)
      : kernelName(std::move(kernelName)), grid(grid), block(block),
        dynamicSharedBytes(dynamicSharedBytes) {}
};

/// One memory-safety problem found in a launch.
struct MemoryViolation {
  enum class Kind {
    /// The accessor's index is outside [0, extent) (always checked).
    OutOfBounds,
    /// In the accessor's extent but outside every buffer of the launch
    /// (memcheck): a wrong extent, stride or base pointer.
    OutsideBuffers,
    /// A store into a buffer the launch declared read-only (memcheck).
    ReadOnlyStore,
    /// Shared memory read before anything was written there (memcheck).
    UninitialisedShared,
  };
  Kind kind = Kind::OutOfBounds;
  std::string kernel;
  uint3 cta{}, thread{};
  /// The device-library primitive ("ld_global", "cp_async", "ldmatrix_x4").
  std::string accessor;
  /// Elements relative to the tensor pointer the kernel passed (global
  /// accesses), or bytes read (shared memory).
  long long index = 0, extent = 0;
  /// The launch buffer the pointer belongs to, if any.
  std::string buffer;
  std::string file;
  unsigned line = 0;

  /// One line: "kernel 'k' CTA (0,1,0) thread (3,0,0): ld_global index 70
  /// outside extent 70 of 'k' at k.cu:12".
  std::string describe() const;
};

/// Name of a violation kind ("out-of-bounds", "outside-buffers" ...).
const char *kindName(MemoryViolation::Kind kind);

/// What a launch did and what went wrong.
struct LaunchResult {
  /// The first LaunchConfig::maxErrorMessages error messages.
  std::vector<std::string> errors;
  /// Number of errors, including those without a kept message.
  std::uint64_t errorCount = 0;
  /// CTAs that ran to completion.
  std::uint64_t ctasCompleted = 0;
  /// Global-memory traffic (only with LaunchConfig::countGlobalAccesses).
  std::uint64_t globalLoads = 0, globalStores = 0;
  std::uint64_t globalBytesRead = 0, globalBytesWritten = 0;
  /// KV tiles the CTAs ran without / with the mask, and of the former those
  /// that ran the unguarded interior code (only with
  /// LaunchConfig::countTiles; reported by attn::device::count_tile).
  std::uint64_t tilesFull = 0, tilesPartial = 0, tilesInterior = 0;
  /// The first LaunchConfig::maxErrorMessages memory violations; each is
  /// also one of `errors`.
  std::vector<MemoryViolation> memoryViolations;
  /// Number of memory violations, including those not kept.
  std::uint64_t memoryViolationCount = 0;

  /// True iff the launch recorded no error.
  bool ok() const { return errorCount == 0; }
  /// All kept messages, one per line, plus a count of dropped ones.
  std::string message() const;
};

/// The process's emulator service table (what kernel entry points receive).
const Runtime *runtimeTable();

/// Runs `entry(runtimeTable(), params)` as every CUDA thread of the grid.
/// `params` must stay valid for the duration of the call.
LaunchResult launchEntry(KernelEntry entry, const void *params,
                         const LaunchConfig &config);

namespace detail {
/// A kernel function pointer and its arguments, launched through one entry.
template <typename... Params> struct PackedLaunch {
  void (*kernel)(Params...);
  std::tuple<std::decay_t<Params>...> args;

  static void entry(const Runtime *runtime, const void *packed) {
    auto *self = static_cast<const PackedLaunch *>(packed);
    if (emu::detail::enter(runtime))
      std::apply(self->kernel, self->args);
  }
};
} // namespace detail

/// Launches a kernel compiled into the calling program, CUDA-style:
/// `launch(config, myKernel, a, b, n)` is `myKernel<<<grid, block, smem>>>(a,
/// b, n)`. Arguments are copied once; every thread receives the copies.
template <typename... Params, typename... Args>
LaunchResult launch(const LaunchConfig &config, void (*kernel)(Params...),
                    Args &&...args) {
  static_assert(sizeof...(Params) == sizeof...(Args),
                "launch needs one argument per kernel parameter");
  detail::PackedLaunch<Params...> packed{
      kernel,
      std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...)};
  return launchEntry(&detail::PackedLaunch<Params...>::entry, &packed, config);
}

/// `launch` with the grid, block and dynamic shared bytes spelled as in
/// `<<<grid, block, dynamicSharedBytes>>>`; diagnostics call it "kernel".
template <typename... Params, typename... Args>
LaunchResult launch(void (*kernel)(Params...), dim3 grid, dim3 block,
                    std::size_t dynamicSharedBytes, Args &&...args) {
  return launch(LaunchConfig("kernel", grid, block, dynamicSharedBytes), kernel,
                std::forward<Args>(args)...);
}

} // namespace attn::emu

#endif // ATTN_EMU_EMULATOR_H
