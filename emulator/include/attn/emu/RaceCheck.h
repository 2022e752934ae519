//===- RaceCheck.h - Race checking kernels under TSan ----------*- C++ -*-===//
//
// The emulator's race-checking mode. A kernel source is compiled with
// -fsanitize=thread and linked, with a second implementation of the Runtime
// table behind cuda_emu.h (emulator/lib/race/), into an executable that
// runs every CUDA thread of a CTA as an OS thread, a few CTAs at a time. The
// kernel source and the device library are the ones the fiber emulator runs;
// only the runtime differs. A TSan runtime cannot be dlopen'ed into an
// ordinary process, so the launch crosses to the executable as files: the
// parameter blob, with its pointers into the launch's buffers rewritten, and
// the buffers' bytes (LaunchConfig::buffers). See docs/Emulator.md.
//
// Usage mirrors KernelLibrary: compile once, run kernels of the source.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_RACECHECK_H
#define ATTN_EMU_RACECHECK_H

#include "attn/emu/Emulator.h"
#include "attn/emu/PrivateFiles.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn::emu {

/// The race runner library's file name: installed beside libattn_runtime.so
/// (and put there in the build tree); $ATTN_RACE_RUNNER_LIB overrides where
/// it is looked for.
inline constexpr const char *kRaceRunnerFile = "libattn_race_runner.a";

/// How to build a race-checking executable.
struct RaceBuildOptions {
  /// A compiler with ThreadSanitizer (clang++-22 needs libclang-rt-22-dev).
  std::string compiler = "clang++-22";
  /// -O0: a TSan build of a generated kernel takes ~0.5 s instead of 4-7 s
  /// at -O1, more than the slower run costs at race-checking sizes, and
  /// keeps every frame in the reports; line tables give them file:line.
  std::vector<std::string> flags = {"-std=c++17", "-O0", "-gline-tables-only"};
};

/// How to run one race-checked launch.
struct RaceRunOptions {
  /// CTAs whose threads run at the same time; races between two CTAs are
  /// seen only when both run in the same group.
  unsigned concurrentCtas = 4;
  /// Copy the writable buffers' final bytes back into LaunchConfig::buffers.
  bool copyBack = true;
};

/// What a race-checked launch found.
struct RaceCheckResult {
  /// The kernel's own errors (barriers, out-of-bounds accesses) and the CTAs
  /// completed; counters are not collected in this mode.
  LaunchResult launch;
  /// ThreadSanitizer's reports, each from its "WARNING: ThreadSanitizer:"
  /// line through its SUMMARY line, in the order TSan printed them.
  std::vector<std::string> reports;
  /// How many of `reports` are data races.
  unsigned dataRaces = 0;

  /// True iff TSan reported nothing.
  bool raceFree() const { return reports.empty(); }
};

/// A kernel source built into a race-checking executable.
class RaceExecutable {
public:
  /// Compiles `sourcePath` (a .cu file) with -fsanitize=thread and links the
  /// race runner. On failure returns null and sets `*error` to a message with
  /// the command line and the compiler's output.
  static std::unique_ptr<RaceExecutable>
  compile(const std::string &sourcePath, const RaceBuildOptions &options,
          std::string *error);
  /// The same for the source text `source`, named `name` in diagnostics
  /// (built in a private directory, as KernelLibrary::compileSource).
  static std::unique_ptr<RaceExecutable>
  compileSource(std::string_view source, const std::string &name,
                const RaceBuildOptions &options, std::string *error);

  ~RaceExecutable();
  RaceExecutable(const RaceExecutable &) = delete;
  RaceExecutable &operator=(const RaceExecutable &) = delete;

  /// Runs kernel `name` over config.grid x config.block. `params` is the
  /// kernel's parameter struct (`paramBytes` bytes); every 8-byte-aligned
  /// word of it that points into one of config.buffers is redirected to the
  /// executable's copy of that buffer, so all global memory the kernel
  /// touches must be in config.buffers. False with `*error` when the run
  /// itself fails (cannot write files, the executable crashes); races and
  /// kernel errors are in `result`.
  bool run(std::string_view name, const void *params, std::size_t paramBytes,
           const LaunchConfig &config, const RaceRunOptions &options,
           RaceCheckResult &result, std::string *error) const;

  /// The executable.
  const std::string &path() const { return executablePath; }

private:
  /// compileSource, with `sourceDir` searched as prepareKernelCompile says.
  static std::unique_ptr<RaceExecutable>
  build(std::string_view source, const std::string &name,
        const std::string &sourceDir, const RaceBuildOptions &options,
        std::string *error);
  RaceExecutable(std::unique_ptr<PrivateDirectory> directory,
                 std::string executable)
      : directory(std::move(directory)), executablePath(std::move(executable)) {
  }
  /// The executable's private directory, removed with it.
  std::unique_ptr<PrivateDirectory> directory;
  std::string executablePath;
  /// llvm-symbolizer for TSan's reports (empty: TSan looks on PATH).
  std::string symbolizer;
};

} // namespace attn::emu

#endif // ATTN_EMU_RACECHECK_H
