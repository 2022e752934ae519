//===- EmbeddedHeaders.h - device headers and build fingerprints -*- C++ -*-===//
//
// The device-library headers the runtime compiles kernels against are the
// emulator's embedded copies (attn/emu/DeviceHeaders.h): NVRTC gets them in
// memory, the emulator writes them into each compile's private directory,
// and since the cache keys hash them a kernel built against older headers
// is never served. The fingerprints of the compiler's and the emulator's
// sources are computed at build time (Fingerprints.cmake).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_EMBEDDEDHEADERS_H
#define ATTN_RUNTIME_JIT_EMBEDDEDHEADERS_H

#include "attn/emu/DeviceHeaders.h"

#include <string>
#include <vector>

namespace attn::jit {

/// A header file: its include name ("attn/device/mma.h") and contents.
using HeaderFile = attn::emu::HeaderFile;

/// The embedded headers, sorted by name.
const std::vector<HeaderFile> &embeddedHeaders();

/// A digest of the sources of the MLIR-side compiler (dialect, passes,
/// analysis, codegen, the runtime's frontend), computed at build time: part
/// of the key of cached plans, so a changed compiler never reuses a plan
/// (generated source) made by an older one.
const char *compilerFingerprint();

/// A digest of the emulator's sources (emulator/lib: the kernel ABI, the
/// host-compiler flags KernelLibrary adds), part of the key of kernel .so's.
const char *emulatorFingerprint();

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_EMBEDDEDHEADERS_H
