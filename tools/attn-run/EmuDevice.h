//===- EmuDevice.h - attn-run's bridge to the CPU emulator -------*- C++ -*-===//
//
// Builds an emitted CUDA source with the emulator's KernelLibrary and launches
// one kernel; optionally counts its work, memchecks it, and runs it again
// under ThreadSanitizer (RaceCheck.h). Kept apart from attn-run.cpp so that
// the emulator's CUDA emulation header never meets the MLIR headers.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTNRUN_EMUDEVICE_H
#define ATTN_TOOLS_ATTNRUN_EMUDEVICE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attn::run {

/// A global buffer of the launch (mirrors attn::emu::GlobalBuffer).
struct EmuBuffer {
  std::string name;
  void *data = nullptr;
  std::size_t bytes = 0;
  bool writable = true;
};

/// One kernel of a launch plan.
struct EmuKernel {
  std::string name; ///< its ATTN_KERNEL_ENTRY name
  unsigned grid[3] = {1, 1, 1};
  unsigned block = 1;
  /// Bytes of dynamic shared memory.
  std::size_t dynamicSmemBytes = 0;
};

/// The launches of one emitted plan: its kernels in order, all built from
/// one source and taking the same parameter struct.
struct EmuLaunch {
  std::string source; ///< the CUDA source of every kernel
  std::vector<EmuKernel> kernels;
  const void *params = nullptr;
  /// Size of the parameter struct (race checking copies it).
  std::size_t paramBytes = 0;
  /// Where to keep a copy of the .cu file (empty: none). The compile
  /// itself always works on a private copy under $TMPDIR, removed before
  /// the kernel runs.
  std::string keepSourcePath;
  /// Every tensor the kernel reads or writes (memcheck, race checking).
  std::vector<EmuBuffer> buffers;
  /// Count global bytes and KV tiles (--counters).
  bool counters = false;
  /// Memcheck; its findings are reported instead of failing the run.
  bool memcheck = false;
  /// Also run the kernel under ThreadSanitizer (--race).
  bool race = false;
};

/// Timings of a launch, in seconds.
struct EmuTimes {
  double compile = 0, launch = 0;
  /// The emitted kernel in words (path, threads, dynamic shared memory),
  /// filled by attn-run.
  std::string kernel;
};

/// One memory violation, as attn::emu::MemoryViolation.
struct EmuViolation {
  std::string kind, kernel, accessor, buffer, file, message;
  unsigned cta[3] = {0, 0, 0}, thread[3] = {0, 0, 0};
  long long index = 0, extent = 0;
  unsigned line = 0;
};

/// What counters, memcheck and the race checker found.
struct EmuChecks {
  /// --counters: traffic through the device-library accessors and the KV
  /// tiles reported by attn::device::count_tile.
  std::uint64_t globalLoads = 0, globalStores = 0;
  std::uint64_t globalBytesRead = 0, globalBytesWritten = 0;
  std::uint64_t tilesFull = 0, tilesPartial = 0, tilesInterior = 0;
  /// --memcheck: every violation counted, the first few kept.
  std::uint64_t violationCount = 0;
  std::vector<EmuViolation> violations;
  /// --race: ThreadSanitizer's reports and how many are data races.
  std::vector<std::string> raceReports;
  unsigned dataRaces = 0;
  double raceSeconds = 0;
};

/// Compiles and launches every kernel in order (counters and violations
/// summed over them); false with `*error` set on any failure (compiler
/// errors, deadlocks, and memory violations unless `launch.memcheck` asks
/// for them to be reported in `checks`).
bool runOnEmulator(const EmuLaunch &launch, EmuTimes &times,
                   EmuChecks &checks, std::string *error);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTNRUN_EMUDEVICE_H
