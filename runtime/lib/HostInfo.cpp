//===- HostInfo.cpp - identities of the tools and machine in a key --------===//

#include "HostInfo.h"

#include "attn/emu/KernelLibrary.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <map>
#include <mutex>

#ifndef ATTN_CUDA_ROOT
#define ATTN_CUDA_ROOT "/usr/local/cuda"
#endif

using namespace attn::jit;

namespace {
/// "<path> <size> <mtime ns>" of an existing file, else empty.
std::string fileStamp(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return "";
  return path + " " + std::to_string(st.st_size) + " " +
         std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string realPath(const std::string &path) {
  char buffer[PATH_MAX];
  return ::realpath(path.c_str(), buffer) ? std::string(buffer) : path;
}
} // namespace

std::string attn::jit::resolveExecutable(const std::string &name) {
  if (name.find('/') != std::string::npos)
    return ::access(name.c_str(), X_OK) == 0 ? realPath(name) : "";
  const char *pathEnv = std::getenv("PATH");
  std::string path = pathEnv ? pathEnv : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos)
      end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return realPath(candidate);
    start = end + 1;
  }
  return "";
}

std::string attn::jit::hostCompilerIdentity(const std::string &compiler,
                                            DiskCache &cache,
                                            std::string *error) {
  std::string resolved = resolveExecutable(compiler);
  if (resolved.empty()) {
    *error = "the emulator's host compiler '" + compiler + "' is not on PATH";
    return "";
  }
  std::string stamp = fileStamp(resolved);
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = known.find(stamp); it != known.end())
    return it->second;
  Digest key =
      KeyBuilder().add("kind", "compiler").add("stamp", stamp).finish();
  std::string identity;
  if (cache.read("tools", key, ".txt", &identity) != CacheRead::Hit) {
    attn::emu::CompilerRun run =
        attn::emu::runCompiler({resolved, "--version"});
    if (run.exitCode != 0) {
      *error = "cannot run '" + resolved + " --version': " + run.output;
      return "";
    }
    identity = resolved + "\n" + run.output.substr(0, run.output.find('\n'));
    cache.write("tools", key, ".txt", identity);
  }
  known[stamp] = identity;
  return identity;
}

const std::string &attn::jit::cpuIdentity() {
  static const std::string identity = [] {
    std::string text;
    readFile("/proc/cpuinfo", &text);
    // The first processor's block: the model and the feature flags are
    // what -march=native turns into code.
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos)
        end = text.size();
      std::string line = text.substr(start, end - start);
      if (line.empty())
        break;
      for (const char *field : {"vendor_id", "model name", "flags", "Features",
                                "CPU implementer", "CPU part"})
        if (line.rfind(field, 0) == 0)
          out += line + "\n";
      start = end + 1;
    }
    return out.empty() ? std::string("cpu: unknown") : out;
  }();
  return identity;
}

const std::string &attn::jit::nvrtcIdentity() {
  // The same search order as attn::codegen::compileWithNvrtc.
  static const std::string identity = [] {
    for (const char *name : {ATTN_CUDA_ROOT "/lib64/libnvrtc.so",
                             ATTN_CUDA_ROOT "/lib64/libnvrtc.so.13"}) {
      std::string stamp = fileStamp(realPath(name));
      if (!stamp.empty())
        return stamp;
    }
    return std::string("nvrtc: not found");
  }();
  return identity;
}
