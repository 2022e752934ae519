//===- Nvrtc.cpp - CUDA source to PTX / cubin with NVRTC ------------------===//
//
// NVRTC is loaded with dlopen rather than linked so that attn needs the CUDA
// toolkit only when it is asked for PTX or a cubin. The entry points are the
// stable C API of NVRTC 12/13; nvrtcResult is an int-sized enum, 0 = success.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/Nvrtc.h"

#include "attn/emu/DeviceHeaders.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <dlfcn.h>
#include <map>

#ifndef ATTN_CUDA_ROOT
#define ATTN_CUDA_ROOT "/usr/local/cuda"
#endif

using namespace attn::codegen;

//===----------------------------------------------------------------------===//
// Archs
//===----------------------------------------------------------------------===//

/// Per-block shared memory limits (with the opt-in attribute) from the CUDA
/// programming guide's compute capability table.
static const CudaArch kArchs[] = {
    {"sm_80", 163 * 1024, 65536},
    {"sm_86", 99 * 1024, 65536},
    {"sm_89", 99 * 1024, 65536},
    {"sm_90", 227 * 1024, 65536},
    {"sm_90a", 227 * 1024, 65536, /*wgmma=*/true},
};

std::optional<CudaArch> attn::codegen::lookupCudaArch(llvm::StringRef name) {
  for (const CudaArch &arch : kArchs)
    if (arch.name == name)
      return arch;
  return std::nullopt;
}

std::string attn::codegen::supportedCudaArchs() {
  std::string names;
  for (const CudaArch &arch : kArchs)
    names += (names.empty() ? "" : ", ") + arch.name;
  return names;
}

//===----------------------------------------------------------------------===//
// Loading libnvrtc
//===----------------------------------------------------------------------===//

namespace {
using Program = void *;

/// The NVRTC entry points, resolved once per process.
struct NvrtcApi {
  void *handle = nullptr;
  std::string loadError;
  const char *(*getErrorString)(int) = nullptr;
  int (*createProgram)(Program *, const char *, const char *, int,
                       const char *const *, const char *const *) = nullptr;
  int (*compileProgram)(Program, int, const char *const *) = nullptr;
  int (*getLogSize)(Program, size_t *) = nullptr;
  int (*getLog)(Program, char *) = nullptr;
  int (*getPtxSize)(Program, size_t *) = nullptr;
  int (*getPtx)(Program, char *) = nullptr;
  int (*getCubinSize)(Program, size_t *) = nullptr;
  int (*getCubin)(Program, char *) = nullptr;
  int (*destroyProgram)(Program *) = nullptr;

  NvrtcApi() {
    // The toolkit's copy first (the one whose headers we include), then
    // whatever the loader finds.
    for (const char *name : {ATTN_CUDA_ROOT "/lib64/libnvrtc.so",
                             ATTN_CUDA_ROOT "/lib64/libnvrtc.so.13",
                             "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"})
      if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)))
        break;
    if (!handle) {
      const char *why = dlerror();
      loadError = std::string("cannot load libnvrtc (tried ") + ATTN_CUDA_ROOT +
                  "/lib64 and the default search path): " +
                  (why ? why : "unknown error");
      return;
    }
    if (!resolve(getErrorString, "nvrtcGetErrorString") ||
        !resolve(createProgram, "nvrtcCreateProgram") ||
        !resolve(compileProgram, "nvrtcCompileProgram") ||
        !resolve(getLogSize, "nvrtcGetProgramLogSize") ||
        !resolve(getLog, "nvrtcGetProgramLog") ||
        !resolve(getPtxSize, "nvrtcGetPTXSize") ||
        !resolve(getPtx, "nvrtcGetPTX") ||
        !resolve(getCubinSize, "nvrtcGetCUBINSize") ||
        !resolve(getCubin, "nvrtcGetCUBIN") ||
        !resolve(destroyProgram, "nvrtcDestroyProgram")) {
      dlclose(handle);
      handle = nullptr;
    }
  }

  template <typename Fn> bool resolve(Fn &fn, const char *name) {
    fn = reinterpret_cast<Fn>(dlsym(handle, name));
    if (!fn)
      loadError = std::string("libnvrtc has no symbol ") + name;
    return fn != nullptr;
  }

  /// An error naming the failed call and NVRTC's text for its status.
  llvm::Error callError(const char *call, int status) const {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(), "%s failed: %s (status %d)", call,
        getErrorString ? getErrorString(status) : "?", status);
  }
};

const NvrtcApi &nvrtcApi() {
  static const NvrtcApi api;
  return api;
}

/// Destroys the program on every path out of compileWithNvrtc.
struct ProgramGuard {
  const NvrtcApi &api;
  Program program = nullptr;
  ~ProgramGuard() {
    if (program)
      api.destroyProgram(&program);
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Compiling
//===----------------------------------------------------------------------===//

llvm::Expected<NvrtcOutput>
attn::codegen::compileWithNvrtc(llvm::StringRef source,
                                llvm::StringRef programName,
                                const CudaArch &arch, NvrtcTarget target,
                                llvm::ArrayRef<NvrtcHeader> headers) {
  const NvrtcApi &api = nvrtcApi();
  if (!api.handle)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   api.loadError);
  ProgramGuard guard{api};
  // The device library comes in memory (the caller's copy, else the one
  // embedded at build time), never from a directory on an include path.
  std::vector<NvrtcHeader> embedded;
  if (headers.empty()) {
    for (const attn::emu::HeaderFile &h : attn::emu::deviceHeaders())
      embedded.push_back({h.name, h.contents});
    headers = embedded;
  }
  std::string src = source.str(), name = programName.str();
  // NVRTC wants NUL-terminated header texts and names.
  std::vector<std::string> headerTexts, headerNames;
  std::vector<const char *> headerTextPtrs, headerNamePtrs;
  for (const NvrtcHeader &h : headers) {
    headerTexts.push_back(h.contents.str());
    headerNames.push_back(h.name.str());
  }
  for (size_t i = 0; i < headers.size(); ++i) {
    headerTextPtrs.push_back(headerTexts[i].c_str());
    headerNamePtrs.push_back(headerNames[i].c_str());
  }
  if (int s = api.createProgram(
          &guard.program, src.c_str(), name.c_str(),
          static_cast<int>(headers.size()),
          headers.empty() ? nullptr : headerTextPtrs.data(),
          headers.empty() ? nullptr : headerNamePtrs.data()))
    return api.callError("nvrtcCreateProgram", s);

  bool cubin = target == NvrtcTarget::Cubin;
  // compute_XX makes NVRTC stop at PTX; sm_XX runs ptxas too (sm_90a maps
  // to compute_90a, keeping the arch-specific features).
  std::string archName = arch.name;
  if (!cubin)
    archName.replace(0, 2, "compute");
  std::vector<std::string> options = {
      "-std=c++17", "--include-path=" ATTN_CUDA_ROOT "/include",
      "-arch=" + archName};
  if (cubin)
    options.push_back("--ptxas-options=-v");
  std::vector<const char *> argv;
  for (const std::string &o : options)
    argv.push_back(o.c_str());

  NvrtcOutput out;
  auto t0 = std::chrono::steady_clock::now();
  int compiled = api.compileProgram(guard.program,
                                    static_cast<int>(argv.size()), argv.data());
  // The log is wanted on success too: it holds ptxas' -v report.
  size_t size = 0;
  if (int s = api.getLogSize(guard.program, &size))
    return api.callError("nvrtcGetProgramLogSize", s);
  out.log.resize(size);
  if (size)
    if (int s = api.getLog(guard.program, out.log.data()))
      return api.callError("nvrtcGetProgramLog", s);
  // The size includes the terminating NUL.
  while (!out.log.empty() && out.log.back() == '\0')
    out.log.pop_back();
  if (compiled) {
    // NVRTC_ERROR_COMPILATION (6) is the source's fault: show where.
    if (compiled == 6)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "nvrtcCompileProgram failed: compilation error in '" + name +
              "' for " + arch.name + "\n" +
              formatCompileErrors(out.log, source, programName));
    return api.callError("nvrtcCompileProgram", compiled);
  }
  const char *sizeCall = cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize";
  const char *getCall = cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX";
  if (int s = (cubin ? api.getCubinSize : api.getPtxSize)(guard.program, &size))
    return api.callError(sizeCall, s);
  out.binary.resize(size);
  if (size)
    if (int s = (cubin ? api.getCubin : api.getPtx)(guard.program,
                                                    out.binary.data()))
      return api.callError(getCall, s);
  // PTX comes NUL-terminated; the text is what callers write out.
  if (!cubin)
    while (!out.binary.empty() && out.binary.back() == '\0')
      out.binary.pop_back();
  out.compileMs = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  if (cubin)
    out.kernels = parsePtxasLog(out.log);
  return out;
}

//===----------------------------------------------------------------------===//
// Logs
//===----------------------------------------------------------------------===//

std::vector<KernelResources> attn::codegen::parsePtxasLog(llvm::StringRef log) {
  // ptxas -v reports, per entry function:
  //   ptxas info    : Compiling entry function 'K' for 'sm_90'
  //   ptxas info    : Function properties for K
  //   ptxas         .     N bytes stack frame, N bytes spill stores, N ...
  //   ptxas info    : Used N registers, used N barriers, N bytes smem, ...
  // and "Function properties" blocks for non-inlined device functions too,
  // which are not kernels: only names announced as entry functions count.
  std::vector<KernelResources> kernels;
  std::map<std::string, size_t> index;
  // Indices, not pointers: kernels grows. -1 = none.
  long properties = -1; // the latest "Function properties" (an entry's).
  long entry = -1;      // the latest "Compiling entry function".
  auto number = [](llvm::StringRef line, llvm::StringRef suffix) -> int64_t {
    llvm::Regex re("([0-9]+) " + suffix.str());
    llvm::SmallVector<llvm::StringRef, 2> m;
    int64_t value = 0;
    if (re.match(line, &m))
      m[1].getAsInteger(10, value);
    return value;
  };
  llvm::SmallVector<llvm::StringRef> lines;
  log.split(lines, '\n');
  llvm::SmallVector<llvm::StringRef, 2> m;
  llvm::Regex entryRe("Compiling entry function '([^']+)'");
  llvm::Regex propsRe("Function properties for ([^ ]+)");
  for (llvm::StringRef line : lines) {
    if (!line.starts_with("ptxas"))
      continue;
    if (entryRe.match(line, &m)) {
      auto [it, inserted] = index.try_emplace(m[1].str(), kernels.size());
      if (inserted) {
        kernels.push_back({});
        kernels.back().name = m[1].str();
      }
      entry = static_cast<long>(it->second);
      properties = -1;
      continue;
    }
    if (propsRe.match(line, &m)) {
      auto it = index.find(m[1].trim().str());
      properties = it == index.end() ? -1 : static_cast<long>(it->second);
      continue;
    }
    if (line.contains("bytes stack frame")) {
      if (properties >= 0) {
        KernelResources &k = kernels[properties];
        k.stackFrameBytes = number(line, "bytes stack frame");
        k.spillStoreBytes = number(line, "bytes spill stores");
        k.spillLoadBytes = number(line, "bytes spill loads");
      }
      continue;
    }
    if (entry >= 0 && line.contains("Used ") && line.contains(" registers")) {
      kernels[entry].registers = number(line, "registers");
      kernels[entry].staticSmemBytes = number(line, "bytes smem");
    }
  }
  return kernels;
}

std::string attn::codegen::formatCompileErrors(llvm::StringRef log,
                                               llvm::StringRef source,
                                               llvm::StringRef programName) {
  llvm::SmallVector<llvm::StringRef> sourceLines, logLines;
  source.split(sourceLines, '\n');
  log.split(logLines, '\n');
  std::string out = log.rtrim().str() + "\n";
  std::string located;
  llvm::raw_string_ostream os(located);
  for (llvm::StringRef line : logLines) {
    // "name(LINE): error: ..." (also "catastrophic error").
    llvm::StringRef rest = line;
    if (!rest.consume_front(programName) || !rest.consume_front("("))
      continue;
    size_t close = rest.find("): ");
    unsigned lineNo = 0;
    if (close == llvm::StringRef::npos ||
        rest.substr(0, close).getAsInteger(10, lineNo))
      continue;
    llvm::StringRef message = rest.substr(close + 3);
    // Severity first: a warning's text may well mention "error".
    if (!message.starts_with("error") &&
        !message.starts_with("catastrophic error"))
      continue;
    os << line.trim() << "\n  " << programName << ":" << lineNo << ": ";
    if (lineNo >= 1 && lineNo <= sourceLines.size())
      os << sourceLines[lineNo - 1].rtrim() << "\n";
    else
      os << "<no such line in the generated source>\n";
  }
  if (!located.empty())
    out += "generated source at the errors:\n" + located;
  return out;
}
