//===- EmuBackend.h - plans on the CPU emulator -----------------*- C++ -*-===//
//
// Builds a kernel's CUDA source into an emulator shared object with
// attn::emu::KernelLibrary (the host compiler, the emulation header) and
// launches it. Kept apart from the rest of the runtime so that the
// emulation header (which defines dim3, __global__, ...) meets no other
// code.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_EMUBACKEND_H
#define ATTN_RUNTIME_JIT_EMUBACKEND_H

#include "attn/Plan.h"
#include "attn/Status.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace attn::jit {

/// A loaded kernel shared object (every kernel of a plan).
struct EmuKernel;

/// How to build a kernel .so.
struct EmuBuildOptions {
  /// The host C++ compiler.
  std::string compiler;
  /// Searched first: holds the embedded attn/device and attn/emu headers.
  std::string includeDir;
  /// Where to write the .so; empty: a private temporary file.
  std::string outputPath;
};

/// The flags KernelLibrary compiles with by default, space separated (part
/// of the artifact key).
std::string emuCompilerFlags();

/// Compiles the CUDA source in the file `sourcePath` and loads the result.
Expected<std::shared_ptr<EmuKernel>>
buildEmuKernel(const std::string &sourcePath, const EmuBuildOptions &options);

/// Loads an existing kernel .so (a checked cache entry: the trailer after
/// the ELF image is ignored by the loader).
Expected<std::shared_ptr<EmuKernel>> loadEmuKernel(const std::string &path);

/// One kernel launch on the emulator.
struct EmuLaunch {
  std::string kernelName;
  const void *params = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned threads = 1;
  std::size_t dynamicSmemBytes = 0;
  bool countGlobalAccesses = false;
};

/// Runs `launches` (a plan's kernels, from one library) in order, each to
/// completion; the first error recorded by the emulator (a deadlock, an
/// out-of-bounds access) fails the run and launches nothing after it.
/// Adds every launch's counters to the emu fields of `stats`.
Status launchEmu(const EmuKernel &kernel,
                 const std::vector<EmuLaunch> &launches, RunStats *stats);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_EMUBACKEND_H
