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
#include "attn/emu/Emulator.h"
#include "attn/Status.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn::jit {

/// A loaded kernel shared object (every kernel of a plan).
struct EmuKernel;

/// The flags KernelLibrary compiles with by default, space separated (part
/// of the artifact key).
std::string emuCompilerFlags();

/// Compiles the plan's CUDA translation unit `source` (named `name` in
/// diagnostics) with the host compiler `compiler` in a private temporary
/// directory against the embedded device headers, loads it from memory and
/// checks that it exports every kernel of `kernels`. `*image` receives the
/// shared object's bytes (for the disk cache).
Expected<std::shared_ptr<EmuKernel>>
buildEmuKernel(std::string_view source, const std::string &name,
               const std::string &compiler,
               const std::vector<std::string> &kernels, std::string *image);

/// Loads a kernel .so from its (checked) bytes, exactly those, and checks
/// that it exports every kernel of `kernels`: an entry that passed its
/// checksum but is no library of these kernels fails here, and is rebuilt.
Expected<std::shared_ptr<EmuKernel>>
loadEmuKernel(std::string_view image, const std::string &name,
              const std::vector<std::string> &kernels);

/// One kernel launch on the emulator.
struct EmuLaunch {
  std::string kernelName;
  const void *params = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned threads = 1;
  std::size_t dynamicSmemBytes = 0;
  bool countGlobalAccesses = false;
  /// Count KV tiles per class (RunOptions::countTiles).
  bool countTiles = false;
  /// Memcheck against `buffers` (RunOptions::memcheck).
  bool memcheck = false;
  /// Memory violations are findings for `stats`, not errors
  /// (RunOptions::memcheckReports).
  bool memcheckReports = false;
  /// Every buffer the kernel may touch (memcheck and race checking).
  std::vector<attn::emu::GlobalBuffer> buffers;
};

/// Runs `launches` (a plan's kernels, from one library) in order, each to
/// completion; the first error recorded by the emulator (a deadlock, an
/// out-of-bounds access) fails the run and launches nothing after it,
/// except memory violations under memcheckReports, which go to `stats`.
/// Adds every launch's counters to the emu fields of `stats`.
Status launchEmu(const EmuKernel &kernel,
                 const std::vector<EmuLaunch> &launches, RunStats *stats);

/// RunOptions::raceCheck: builds `source` (the plan's translation unit,
/// named `name`) into a ThreadSanitizer executable with `compiler` and runs
/// `launches` again in it on copies of their buffers (which must hold all
/// the memory the kernels touch); the reports go to `stats`. Fails when the
/// check itself cannot run or a kernel fails under it.
Status raceCheckEmu(std::string_view source, const std::string &name,
                    const std::string &compiler,
                    const std::vector<EmuLaunch> &launches,
                    std::size_t paramBytes, RunStats *stats);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_EMUBACKEND_H
