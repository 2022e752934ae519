//===- KernelLibrary.h - CUDA sources as dlopen'ed emulator kernels -*- C++ -*-===//
//
// Builds a CUDA source file as host C++ into a shared object (clang++-22 -O2
// -march=native -x c++ -include attn/emu/cuda_emu.h -shared -fPIC) and loads
// it. Kernels are found through the `attn_emu_entry_<name>` symbols that
// ATTN_KERNEL_ENTRY(name) defines next to each `extern "C" __global__`
// kernel. A kernel .so has no undefined emulator symbols: it reaches the
// emulator only through the Runtime table its entry points receive.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_KERNELLIBRARY_H
#define ATTN_EMU_KERNELLIBRARY_H

#include "attn/emu/Emulator.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn::emu {

/// How to compile a kernel source for the emulator.
struct HostCompileOptions {
  /// The host C++ compiler (clang++-22 or g++).
  std::string compiler = "clang++-22";
  /// Optimisation and target flags; -O2 -march=native keeps f16 conversions
  /// and the scalar code fast.
  std::vector<std::string> flags = {"-std=c++17", "-O2", "-march=native"};
  /// Include directories searched before the emulator's own headers.
  std::vector<std::string> includeDirs;
  /// Where to write the .so; empty: a private temporary file, deleted once
  /// loaded.
  std::string outputPath;
};

/// Result of running a compiler.
struct CompilerRun {
  int exitCode = -1;        ///< exit status, or -1 if it could not run
  std::string output;       ///< stdout and stderr, interleaved
  std::string commandLine;  ///< for messages
};

/// Runs `argv` (argv[0] found on PATH), capturing its output.
CompilerRun runCompiler(const std::vector<std::string> &argv);

/// The directory holding attn/emu/cuda_emu.h and attn/device/ (the source
/// tree's runtime/include of this build).
std::string emulatorIncludeDir();

/// A loaded kernel shared object; dlclose'd on destruction.
class KernelLibrary {
public:
  /// Compiles `sourcePath` (a .cu file) and loads the result. On failure
  /// returns null and sets `*error` to a message that includes the command
  /// line and the compiler's output.
  static std::unique_ptr<KernelLibrary>
  compile(const std::string &sourcePath, const HostCompileOptions &options,
          std::string *error);
  /// Loads an already built kernel .so; null and `*error` on failure.
  static std::unique_ptr<KernelLibrary> load(const std::string &path,
                                             std::string *error);

  ~KernelLibrary();
  KernelLibrary(const KernelLibrary &) = delete;
  KernelLibrary &operator=(const KernelLibrary &) = delete;

  /// The entry of kernel `name` (exported with ATTN_KERNEL_ENTRY), or null.
  KernelEntry lookup(std::string_view name) const;
  /// Launches kernel `name` with `params` pointing at its parameter struct;
  /// a missing kernel is reported in the result. The config's kernelName is
  /// replaced by `name`.
  LaunchResult launch(std::string_view name, const void *params,
                      LaunchConfig config) const;
  /// The file the library was loaded from.
  const std::string &path() const { return libraryPath; }

private:
  KernelLibrary(void *handle, std::string path)
      : handle(handle), libraryPath(std::move(path)) {}
  void *handle;
  std::string libraryPath;
};

} // namespace attn::emu

#endif // ATTN_EMU_KERNELLIBRARY_H
