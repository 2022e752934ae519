//===- Nvrtc.h - CUDA source to PTX / cubin with NVRTC ----------*- C++ -*-===//
//
// A small wrapper around NVRTC, loaded with dlopen at first use so that attn
// builds and runs (everything but these compiles) on machines without the
// CUDA toolkit. Compiles one CUDA C++ source to PTX (`-arch=compute_XX`) or a
// cubin (`-arch=sm_XX`, with `--ptxas-options=-v`), returns the bytes, the log
// and the compile time, and parses ptxas' verbose log into per-kernel
// resources. Every NVRTC call's status is checked; a failing call becomes an
// error naming it, and a compile error carries the log followed by the lines
// of the generated source that the errors point at.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_NVRTC_H
#define ATTN_CODEGEN_NVRTC_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attn::codegen {

/// A GPU target attn compiles for.
struct CudaArch {
  /// "sm_80", "sm_86", "sm_89", "sm_90" or "sm_90a".
  std::string name;
  /// The largest shared memory one CTA may use (static + dynamic, with the
  /// opt-in attribute), in bytes.
  int64_t maxSmemPerBlock = 0;
  /// Registers per SM; one CTA's registers x threads must fit in it.
  int64_t registersPerSm = 65536;
  /// Whether the arch has warpgroup MMAs (wgmma, sm_90a's arch-specific
  /// features): -attn-schedule then tries a wgmma schedule first.
  bool wgmma = false;
};

/// Static shared memory is capped at 48 KB on every arch; more needs dynamic
/// shared memory and the opt-in attribute.
inline constexpr int64_t kMaxStaticSmem = 48 * 1024;

/// The arch named `name`, or nullopt for one attn does not support.
std::optional<CudaArch> lookupCudaArch(llvm::StringRef name);

/// The supported arch names, comma separated (for error messages).
std::string supportedCudaArchs();

/// What to produce.
enum class NvrtcTarget { Ptx, Cubin };

/// One kernel's resources from ptxas' `-v` report (cubin compiles only).
struct KernelResources {
  std::string name;
  int64_t registers = 0;
  int64_t staticSmemBytes = 0;
  int64_t spillStoreBytes = 0;
  int64_t spillLoadBytes = 0;
  int64_t stackFrameBytes = 0;
};

/// A successful compile.
struct NvrtcOutput {
  /// PTX text or cubin bytes.
  std::string binary;
  /// NVRTC's program log (warnings, ptxas' -v report).
  std::string log;
  /// Wall time of nvrtcCompileProgram and the retrieval of its output.
  double compileMs = 0;
  /// Entry functions, in the order ptxas reports them (empty for PTX).
  std::vector<KernelResources> kernels;
};

/// A header handed to NVRTC in memory, found by `#include "<name>"` before
/// any include path is searched.
struct NvrtcHeader {
  llvm::StringRef name;
  llvm::StringRef contents;
};

/// Compiles `source` (named `programName` in diagnostics) for `arch`:
/// `-std=c++17 --include-path=<CUDA>/include` plus `-arch=compute_XX` for
/// PTX or `-arch=sm_XX --ptxas-options=-v` for a cubin. The device library
/// is handed over in memory: `headers` (the JIT runtime passes its copy),
/// else the copy embedded at build time (attn/emu/DeviceHeaders.h); no
/// directory of the source tree is searched. Fails if libnvrtc cannot
/// be loaded, an NVRTC call fails (the error names it) or the source does
/// not compile (the error holds formatCompileErrors' text).
llvm::Expected<NvrtcOutput>
compileWithNvrtc(llvm::StringRef source, llvm::StringRef programName,
                 const CudaArch &arch, NvrtcTarget target,
                 llvm::ArrayRef<NvrtcHeader> headers = {});

/// Parses ptxas' `-v` report in `log` into per-entry-function resources.
std::vector<KernelResources> parsePtxasLog(llvm::StringRef log);

/// The NVRTC `log` of a failed compile, followed by the line of `source` that
/// each `programName(LINE): error` points at, as `programName:LINE: <line>`.
/// Errors in other files (included headers) are left to the log alone.
std::string formatCompileErrors(llvm::StringRef log, llvm::StringRef source,
                                llvm::StringRef programName);

} // namespace attn::codegen

#endif // ATTN_CODEGEN_NVRTC_H
