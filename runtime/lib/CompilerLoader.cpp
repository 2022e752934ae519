//===- CompilerLoader.cpp - finding the MLIR compiler ---------------------===//

#include "CompilerApi.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

using namespace attn::jit;

namespace {
std::atomic<const CompilerApi *> registered{nullptr};

/// The directory holding this library (libattn_runtime.so).
std::string ownDirectory() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&ownDirectory), &info) ||
      !info.dli_fname)
    return "";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

/// dlopens the plugin once per process; its static initialiser registers
/// the table, and its entry symbol returns it as well.
const CompilerApi *loadPlugin(std::string *error) {
  static std::mutex mutex;
  static const CompilerApi *loaded = nullptr;
  static std::string loadError;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded || !loadError.empty()) {
    if (!loaded)
      *error = loadError;
    return loaded;
  }
  std::string path;
  if (const char *env = std::getenv("ATTN_COMPILER_LIBRARY"); env && *env)
    path = env;
  else
    path = ownDirectory() + "/libattn_compiler.so";
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    loadError = "cannot load the attn compiler '" + path +
                "' (needed on a cache miss): " + (why ? why : "unknown error");
    *error = loadError;
    return nullptr;
  }
  using Entry = const CompilerApi *(*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kCompilerEntrySymbol));
  const CompilerApi *api = entry ? entry() : nullptr;
  if (!api || api->abiVersion != kCompilerAbiVersion) {
    loadError = "'" + path + "' is not an attn compiler of this runtime's " +
                "version (entry " + kCompilerEntrySymbol +
                (api ? " has another ABI version)" : " missing)");
    *error = loadError;
    return nullptr;
  }
  loaded = api;
  return loaded;
}
} // namespace

void attn::jit::registerCompiler(const CompilerApi *api) {
  if (api && api->abiVersion == kCompilerAbiVersion)
    registered.store(api);
}

const CompilerApi *attn::jit::findCompiler(std::string *error) {
  if (const CompilerApi *api = registered.load())
    return api;
  return loadPlugin(error);
}
