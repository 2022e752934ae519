//===- DeviceHeaders.h - the device library, embedded -----------*- C++ -*-===//
//
// The device-library headers (device/include/attn/device/*.h) and the
// emulation header (attn/emu/cuda_emu.h), embedded as strings at build time
// (emulator/EmbedHeaders.cmake, library
// AttnDeviceHeaders). Kernels are compiled against these
// copies only: the emulator writes them into each compile's private
// directory, the JIT runtime hands them to NVRTC in memory and hashes them
// into its cache keys. No build, source or cache directory is ever on a
// compiler's include path, so an installed program needs none of them and
// no header can be planted in front of these (or of the system's).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_DEVICEHEADERS_H
#define ATTN_EMU_DEVICEHEADERS_H

#include <string>
#include <vector>

namespace attn::emu {

/// A header file: its include name ("attn/device/mma.h") and contents.
struct HeaderFile {
  std::string name;
  std::string contents;
};

/// The embedded headers, sorted by name.
const std::vector<HeaderFile> &deviceHeaders();

} // namespace attn::emu

#endif // ATTN_EMU_DEVICEHEADERS_H
