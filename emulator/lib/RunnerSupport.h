//===- RunnerSupport.h - helpers of the two CTA runners ---------*- C++ -*-===//
//
// Shared by the fiber runner (CtaRunner.cpp) and the race checker's
// thread-per-CUDA-thread runner (race/ThreadCta.cpp): shared-memory layout
// and the pieces of their diagnostics. Header-only and internal to
// emulator/lib, because the race runner is linked into separately built
// executables without the emulator library.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_EMULATOR_RUNNERSUPPORT_H
#define ATTN_RUNTIME_EMULATOR_RUNNERSUPPORT_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace attn::emu::runner {

/// Shared memory starts poisoned with this byte: NaN as f32, f16 and bf16.
constexpr unsigned char kPoisonByte = 0xff;
/// Alignment of every shared-memory allocation.
constexpr std::size_t kSharedAlignment = 128;
/// Alignment of a CTA's dynamic shared memory: the emulated shared window
/// (wgmma descriptors, attn/device/wgmma.h) starts there, and the hardware's
/// 128-byte swizzle repeats every 1024 bytes of window address.
constexpr std::size_t kDynamicSharedAlignment = 1024;

inline std::size_t alignUp(std::size_t value, std::size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
inline unsigned char *alignPointer(unsigned char *p, std::size_t alignment) {
  auto address = reinterpret_cast<std::uintptr_t>(p);
  return p + (alignUp(address, alignment) - address);
}
/// Whether two source locations are the same barrier or collective.
inline bool sameSite(const char *fileA, unsigned lineA, const char *fileB,
                     unsigned lineB) {
  return lineA == lineB && (fileA == fileB || std::strcmp(fileA, fileB) == 0);
}
/// "file:line" ("?" for no file).
inline std::string site(const char *file, unsigned line) {
  return std::string(file ? file : "?") + ":" + std::to_string(line);
}
/// `value` in hexadecimal with a 0x prefix.
inline std::string hex(std::uintptr_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%llx",
                static_cast<unsigned long long>(value));
  return buffer;
}
/// "0-15, 17" style list of the set bits of `mask`.
inline std::string laneList(unsigned mask) {
  std::string out;
  for (unsigned lane = 0; lane < 32;) {
    if (!(mask & (1u << lane))) {
      ++lane;
      continue;
    }
    unsigned end = lane;
    while (end + 1 < 32 && (mask & (1u << (end + 1))))
      ++end;
    if (!out.empty())
      out += ", ";
    out += std::to_string(lane);
    if (end != lane)
      out += "-" + std::to_string(end);
    lane = end + 1;
  }
  return out;
}

} // namespace attn::emu::runner

#endif // ATTN_RUNTIME_EMULATOR_RUNNERSUPPORT_H
