//===- RaceCheck.cpp - Race checking kernels under ThreadSanitizer --------===//
//
// Builds a kernel source into a TSan executable with the race runner
// (emulator/lib/race/) and runs launches in it through files. See
// RaceCheck.h.
//
//===----------------------------------------------------------------------===//

#include "attn/emu/RaceCheck.h"

#include "attn/emu/KernelLibrary.h"
#include "attn/emu/PrivateFiles.h"
#include "race/RaceWire.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace attn::emu {

namespace {

/// `program` as found on PATH (or as given when it has a slash).
std::string findOnPath(const std::string &program) {
  if (program.find('/') != std::string::npos)
    return program;
  const char *path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path candidate = fs::path(dir.empty() ? "." : dir) / program;
    std::error_code ec;
    if (fs::exists(candidate, ec))
      return candidate.string();
  }
  return {};
}

/// The llvm-symbolizer next to `compiler` (clang++-22 resolves to
/// /usr/lib/llvm-22/bin/clang++), so TSan's reports name files and lines
/// even when no llvm-symbolizer is on PATH; empty if there is none.
std::string symbolizerFor(const std::string &compiler) {
  std::string found = findOnPath(compiler);
  if (found.empty())
    return {};
  std::error_code ec;
  fs::path real = fs::canonical(found, ec);
  if (ec)
    return {};
  fs::path symbolizer = real.parent_path() / "llvm-symbolizer";
  return fs::exists(symbolizer, ec) ? symbolizer.string() : std::string();
}

std::string readFile(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Splits TSan's log into its reports: each runs from a "WARNING:
/// ThreadSanitizer:" line to the "==================" line closing it.
void parseReports(const std::string &log, RaceCheckResult &result) {
  std::stringstream lines(log);
  std::string line, report;
  bool inReport = false;
  auto finish = [&] {
    if (!inReport)
      return;
    if (report.find("WARNING: ThreadSanitizer: data race") != std::string::npos)
      ++result.dataRaces;
    result.reports.push_back(report);
    report.clear();
    inReport = false;
  };
  while (std::getline(lines, line)) {
    if (line.rfind("==================", 0) == 0) {
      finish();
      continue;
    }
    if (line.find("WARNING: ThreadSanitizer:") != std::string::npos) {
      finish();
      inReport = true;
    }
    if (inReport)
      report += line + "\n";
  }
  finish();
}

/// Redirections of the pointers `params` holds into `buffers`.
std::vector<race::WireRelocation>
relocations(const void *params, std::size_t paramBytes,
            const std::vector<GlobalBuffer> &buffers) {
  std::vector<race::WireRelocation> out;
  const auto *blob = static_cast<const unsigned char *>(params);
  for (std::size_t offset = 0; offset + 8 <= paramBytes; offset += 8) {
    std::uintptr_t word;
    std::memcpy(&word, blob + offset, sizeof word);
    for (std::size_t b = 0; b < buffers.size(); ++b) {
      auto begin = reinterpret_cast<std::uintptr_t>(buffers[b].data);
      if (buffers[b].data && word >= begin &&
          word <= begin + buffers[b].bytes) {
        out.push_back({offset, static_cast<std::uint32_t>(b), word - begin});
        break;
      }
    }
  }
  return out;
}

} // namespace

/// The race runner library (its main() and thread runtime): $ATTN_RACE_RUNNER_LIB, else
/// kRaceRunnerFile beside the binary holding this code (the installed
/// libattn_runtime.so, or the build tree's, which the build puts it beside);
/// empty with `*error` set when neither exists. No path of the build tree
/// is compiled in: an installed runtime finds its own copy.
static std::string raceRunnerLibrary(std::string *error) {
  if (const char *env = std::getenv("ATTN_RACE_RUNNER_LIB"); env && *env) {
    if (fs::exists(env))
      return env;
    *error = std::string("ATTN_RACE_RUNNER_LIB names '") + env +
             "', which does not exist";
    return "";
  }
  Dl_info info;
  std::string dir = ".";
  if (dladdr(reinterpret_cast<void *>(&raceRunnerLibrary), &info) &&
      info.dli_fname) {
    std::string path = info.dli_fname;
    size_t slash = path.rfind('/');
    if (slash != std::string::npos)
      dir = path.substr(0, slash);
  }
  std::string beside = dir + "/" + kRaceRunnerFile;
  if (fs::exists(beside))
    return beside;
  *error = "the race checker's runner library '" + beside +
           "' does not exist (install attn, or set ATTN_RACE_RUNNER_LIB to "
           "its " + kRaceRunnerFile + ")";
  return "";
}

std::unique_ptr<RaceExecutable>
RaceExecutable::compile(const std::string &sourcePath,
                        const RaceBuildOptions &options, std::string *error) {
  std::string source;
  if (!readRegularFile(sourcePath, std::size_t(256) << 20, &source, error))
    return nullptr;
  return build(source, sourcePath, directoryOf(sourcePath), options, error);
}

std::unique_ptr<RaceExecutable>
RaceExecutable::compileSource(std::string_view source, const std::string &name,
                              const RaceBuildOptions &options,
                              std::string *error) {
  return build(source, name, "", options, error);
}

std::unique_ptr<RaceExecutable>
RaceExecutable::build(std::string_view source, const std::string &name,
                      const std::string &sourceDir,
                      const RaceBuildOptions &options, std::string *error) {
  std::string runner = raceRunnerLibrary(error);
  if (runner.empty())
    return nullptr;
  auto directory = std::make_unique<PrivateDirectory>("attn-race", error);
  if (directory->path().empty())
    return nullptr;
  std::string executable = directory->path() + "/attn-race";
  std::vector<std::string> argv = {options.compiler};
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());
  argv.push_back("-fsanitize=thread");
  std::string sourcePath;
  if (!prepareKernelCompile(*directory, source, name, sourceDir, &argv,
                            &sourcePath, error))
    return nullptr;
  for (const char *arg : {"-x", "c++"})
    argv.push_back(arg);
  argv.push_back(sourcePath);
  // The runner library holds main(); -rdynamic exports the kernel entries
  // for its dlsym.
  for (const char *arg : {"-x", "none"})
    argv.push_back(arg);
  argv.push_back(runner);
  for (const char *arg : {"-rdynamic", "-pthread", "-ldl", "-o"})
    argv.push_back(arg);
  argv.push_back(executable);
  CompilerRun run = runCompiler(argv);
  if (run.exitCode != 0) {
    *error = "building the race checker for '" + name + "' failed (exit " +
             std::to_string(run.exitCode) + ")\ncommand: " + run.commandLine +
             "\n" + run.output;
    if (run.output.find("tsan") != std::string::npos)
      *error += "\n(ThreadSanitizer's runtime is missing: install "
                "libclang-rt-22-dev, see scripts/setup.sh)";
    return nullptr;
  }
  std::unique_ptr<RaceExecutable> result(
      new RaceExecutable(std::move(directory), executable));
  result->symbolizer = symbolizerFor(options.compiler);
  return result;
}

RaceExecutable::~RaceExecutable() = default;

bool RaceExecutable::run(std::string_view name, const void *params,
                         std::size_t paramBytes, const LaunchConfig &config,
                         const RaceRunOptions &options, RaceCheckResult &result,
                         std::string *error) const {
  result = RaceCheckResult();
  race::WireLaunch wire;
  wire.kernelName = std::string(name);
  wire.grid[0] = config.grid.x;
  wire.grid[1] = config.grid.y;
  wire.grid[2] = config.grid.z;
  wire.block[0] = config.block.x;
  wire.block[1] = config.block.y;
  wire.block[2] = config.block.z;
  wire.dynamicSharedBytes = config.dynamicSharedBytes;
  wire.concurrentCtas = options.concurrentCtas ? options.concurrentCtas : 1;
  const auto *blob = static_cast<const unsigned char *>(params);
  wire.params.assign(blob, blob + paramBytes);
  for (const GlobalBuffer &b : config.buffers) {
    const auto *bytes = static_cast<const unsigned char *>(b.data);
    wire.buffers.push_back(
        {b.name,
         std::vector<unsigned char>(bytes, bytes + (b.data ? b.bytes : 0))});
  }
  wire.relocations = relocations(params, paramBytes, config.buffers);

  // Each run gets its own files, so runs of one executable can follow each
  // other; the TSan log is named by TSan (log_path.<pid>).
  static std::atomic<unsigned> runCounter{0};
  fs::path runDir =
      fs::path(directory->path()) / ("run" + std::to_string(runCounter++));
  std::error_code ec;
  fs::create_directory(runDir, ec);
  std::string launchFile = (runDir / "launch.bin").string();
  std::string resultFile = (runDir / "result.bin").string();
  if (ec || !race::writeLaunch(launchFile, wire)) {
    *error = "cannot write the race checker's launch file '" + launchFile + "'";
    return false;
  }
  std::string tsanOptions =
      "TSAN_OPTIONS=log_path=" + (runDir / "tsan").string() +
      " exitcode=66 halt_on_error=0 history_size=4";
  if (!symbolizer.empty())
    tsanOptions += " external_symbolizer_path=" + symbolizer;
  CompilerRun run =
      runCompiler({"env", tsanOptions, executablePath, launchFile, resultFile});

  for (const auto &entry : fs::directory_iterator(runDir, ec))
    if (entry.path().filename().string().rfind("tsan", 0) == 0)
      parseReports(readFile(entry.path()), result);

  race::WireResult wireResult;
  bool haveResult = race::readResult(resultFile, wireResult);
  bool expectedExit =
      run.exitCode == 0 || run.exitCode == 1 || run.exitCode == 66;
  if (!haveResult || !expectedExit) {
    *error = "the race checker did not complete (exit " +
             std::to_string(run.exitCode) + ")\ncommand: " + run.commandLine +
             "\n" + run.output;
    for (const std::string &report : result.reports)
      *error += report;
    fs::remove_all(runDir, ec);
    return false;
  }
  fs::remove_all(runDir, ec);

  result.launch.ctasCompleted = wireResult.ctasCompleted;
  result.launch.errorCount = wireResult.errorCount;
  result.launch.errors = std::move(wireResult.errors);
  if (options.copyBack)
    for (std::size_t b = 0; b < config.buffers.size(); ++b) {
      const GlobalBuffer &buffer = config.buffers[b];
      if (buffer.writable && buffer.data && b < wireResult.buffers.size() &&
          wireResult.buffers[b].bytes.size() == buffer.bytes)
        std::memcpy(buffer.data, wireResult.buffers[b].bytes.data(),
                    buffer.bytes);
    }
  return true;
}

} // namespace attn::emu
