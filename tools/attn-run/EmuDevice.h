//===- EmuDevice.h - attn-run's bridge to the CPU emulator -------*- C++ -*-===//
//
// Builds an emitted CUDA source with the emulator's KernelLibrary and launches
// one kernel. Kept apart from attn-run.cpp so that the emulator's CUDA
// emulation header never meets the MLIR headers.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTNRUN_EMUDEVICE_H
#define ATTN_TOOLS_ATTNRUN_EMUDEVICE_H

#include <cstddef>
#include <string>

namespace attn::run {

/// One launch of an emitted kernel.
struct EmuLaunch {
  std::string source;     ///< the CUDA source
  std::string kernelName; ///< its ATTN_KERNEL_ENTRY name
  const void *params = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned block = 1;
  /// Bytes of dynamic shared memory.
  std::size_t dynamicSmemBytes = 0;
  /// Where to keep the .cu file (empty: a temporary file, removed after).
  std::string keepSourcePath;
};

/// Timings of a launch, in seconds.
struct EmuTimes {
  double compile = 0, launch = 0;
};

/// Compiles and launches; false with `*error` set on any failure (compiler
/// errors, memcheck errors, deadlocks).
bool runOnEmulator(const EmuLaunch &launch, EmuTimes &times,
                   std::string *error);

} // namespace attn::run

#endif // ATTN_TOOLS_ATTNRUN_EMUDEVICE_H
