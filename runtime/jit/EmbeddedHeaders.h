//===- EmbeddedHeaders.h - device headers in the runtime --------*- C++ -*-===//
//
// The device-library headers (runtime/include/attn/device/*.h) and the
// emulation header (attn/emu/cuda_emu.h), embedded as strings at build time
// (EmbedHeaders.cmake generates the definitions). Kernels are compiled
// against these copies -- handed to NVRTC as in-memory headers, written
// into the cache for the emulator's host compiler -- so an installed runtime
// needs no header search path, and since the cache keys hash them a kernel
// built against older headers is never served.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_EMBEDDEDHEADERS_H
#define ATTN_RUNTIME_JIT_EMBEDDEDHEADERS_H

#include <string>
#include <vector>

namespace attn::jit {

/// A header file: its include name ("attn/device/mma.h") and contents.
struct HeaderFile {
  std::string name;
  std::string contents;
};

/// The embedded headers, sorted by name.
const std::vector<HeaderFile> &embeddedHeaders();

/// A digest of the sources of the MLIR-side compiler (dialect, passes,
/// analysis, codegen, the runtime's frontend), computed at build time: part
/// of the key of cached plans, so a changed compiler never reuses a plan
/// (generated source) made by an older one.
const char *compilerFingerprint();

/// A digest of the emulator's sources (runtime/emulator: the kernel ABI, the
/// host-compiler flags KernelLibrary adds), part of the key of kernel .so's.
const char *emulatorFingerprint();

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_EMBEDDEDHEADERS_H
