//===- KernelLibrary.h - CUDA sources as dlopen'ed emulator kernels -*- C++ -*-===//
//
// Builds a CUDA source as host C++ into a shared object (clang++-22 -O2
// -march=native -x c++ -include <private>/include/attn/emu/cuda_emu.h
// -shared -fPIC) in a private temporary directory holding the embedded
// device headers (DeviceHeaders.h), and loads it from memory. Kernels are found through the `attn_emu_entry_<name>` symbols that
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
};

/// Result of running a compiler.
struct CompilerRun {
  int exitCode = -1;        ///< exit status, or -1 if it could not run
  std::string output;       ///< stdout and stderr, interleaved
  std::string commandLine;  ///< for messages
};

/// Runs `argv` (argv[0] found on PATH), capturing its output.
CompilerRun runCompiler(const std::vector<std::string> &argv);

class PrivateDirectory;

/// Lays out a kernel compile in the private directory `dir`: the embedded
/// device headers under `dir`/include and `source` as `dir`/kernel.cu, its
/// first line `#line 1 "<displayName>"` so that diagnostics and
/// __builtin_FILE() name the source as the caller knows it. Appends to
/// `*args` the flags that make the source see those headers and nothing
/// else: `-iquote <dir>/include` (the device library includes itself with
/// quotes; system headers are never looked up there) and `-include` of the
/// emulation header by absolute path (never the working directory's).
/// `sourceDir`, when not empty (the directory of a caller's .cu file), is
/// searched with -iquote after the embedded headers, for headers of the
/// file's own. Sets `*sourcePath`; false with `*error` when a file cannot
/// be written.
bool prepareKernelCompile(const PrivateDirectory &dir, std::string_view source,
                          const std::string &displayName,
                          const std::string &sourceDir,
                          std::vector<std::string> *args,
                          std::string *sourcePath, std::string *error);

/// The directory part of `path` ("." when it has none).
std::string directoryOf(const std::string &path);

/// A loaded kernel shared object; dlclose'd on destruction.
class KernelLibrary {
public:
  /// Compiles the .cu file `sourcePath` (a private copy, as compileSource;
  /// quoted includes of headers beside it still resolve) and loads the
  /// result. On failure returns null and sets `*error` to a message that
  /// includes the command line and the compiler's output.
  static std::unique_ptr<KernelLibrary>
  compile(const std::string &sourcePath, const HostCompileOptions &options,
          std::string *error);
  /// Compiles the CUDA source `source` (named `name` in diagnostics) in a
  /// private temporary directory (PrivateFiles.h), removed before this
  /// returns, and loads the result from memory (loadImage): no file of the
  /// build outlives the call, so a kernel that crashes the process leaves
  /// none behind. `image`, when given, receives the shared object's bytes.
  static std::unique_ptr<KernelLibrary>
  compileSource(std::string_view source, const std::string &name,
                const HostCompileOptions &options, std::string *error,
                std::string *image = nullptr);
  /// Loads the shared object whose bytes are `image` (named `name` in
  /// messages) exactly as given: from a sealed memfd, or where that is
  /// unavailable a copy in a private temporary directory, never from a path
  /// anyone else could change after the caller checked the bytes. Null and
  /// `*error` on failure.
  static std::unique_ptr<KernelLibrary>
  loadImage(std::string_view image, const std::string &name,
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
  /// The name the library was loaded under (its source's).
  const std::string &name() const { return libraryName; }

private:
  /// compileSource, with `sourceDir` searched as prepareKernelCompile says.
  static std::unique_ptr<KernelLibrary>
  build(std::string_view source, const std::string &name,
        const std::string &sourceDir, const HostCompileOptions &options,
        std::string *error, std::string *image);
  KernelLibrary(void *handle, std::string name, int memfd, std::string loadPath)
      : handle(handle), libraryName(std::move(name)), memfd(memfd),
        loadPath(std::move(loadPath)) {}
  void *handle;
  std::string libraryName;
  /// The memfd behind the mapping (-1: loaded from a private copy), kept
  /// open while loaded so that its /proc/self/fd name, which the dynamic
  /// loader matches by string, names no other library meanwhile.
  int memfd;
  /// The path dlopen was given.
  std::string loadPath;
};

} // namespace attn::emu

#endif // ATTN_EMU_KERNELLIBRARY_H
