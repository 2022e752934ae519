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

#include "attn/emu/cuda_emu.h"

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

/// The phase a named barrier (bar.sync / bar.arrive, ids 1-15) is in.
struct NamedBarrierPhase {
  unsigned arrived = 0; ///< threads counted in the current phase
  unsigned count = 0;   ///< threads the current phase waits for
  const char *file = nullptr;
  unsigned line = 0;
};

/// Checks an arrival (`op` at file:line) on named barrier `id` over `count`
/// threads of a block of `numThreads`, with `barriers` the block's named
/// barriers (index 0 unused); the first arrival of a phase records its count
/// and site. "" (the caller then counts the arrival) or what is wrong.
template <typename Barrier>
std::string checkNamedBarrier(Barrier (&barriers)[16], const char *op,
                              const char *file, unsigned line, unsigned id,
                              unsigned count, unsigned numThreads) {
  std::string where = std::string(op) + " at " + site(file, line);
  if (id == 0 || id > 15)
    return where + ": barrier id " + std::to_string(id) +
           " is not in 1-15 (0 is __syncthreads')";
  if (count == 0 || count % 32 || count > numThreads)
    return where + ": thread count " + std::to_string(count) +
           " is not a positive multiple of 32 up to the block's " +
           std::to_string(numThreads) + " threads";
  NamedBarrierPhase &barrier = barriers[id];
  if (barrier.arrived == 0) {
    barrier.count = count;
    barrier.file = file;
    barrier.line = line;
  } else if (barrier.count != count) {
    return where + ": named barrier " + std::to_string(id) + " expects " +
           std::to_string(count) + " threads, but " +
           std::to_string(barrier.arrived) + " threads arrived at " +
           site(barrier.file, barrier.line) + " expecting " +
           std::to_string(barrier.count);
  }
  return {};
}

/// Swizzle<B,4,3> on a shared-window byte address (attn/device/wgmma.h): the
/// place of a TMA box's byte `address` with the map's swizzle `bits`.
inline std::size_t swizzle(std::size_t address, unsigned bits) {
  std::size_t mask = ((std::size_t{1} << bits) - 1) << 4;
  return address ^ ((address >> 3) & mask);
}

/// Bytes of one box of `map`.
inline std::size_t tmaBoxBytes(const EmuTensorMap &map) {
  std::size_t elements = 1;
  for (unsigned box : map.box)
    elements *= box;
  return elements * map.elementBytes;
}

/// Why a TMA copy of `map`'s box at shared offset `offset` of a window of
/// `windowBytes` cannot run, or "" (`where`: the op and its site).
inline std::string tmaCopyProblem(const EmuTensorMap &map, std::size_t offset,
                                  bool insideWindow, std::size_t windowBytes,
                                  const std::string &where) {
  if (map.magic != kEmuTensorMapMagic)
    return where + ": the tensor map was not encoded by "
                   "attn::emu::encodeTensorMap";
  std::size_t boxBytes = tmaBoxBytes(map);
  if (!insideWindow || offset + boxBytes > windowBytes)
    return where + ": the " + std::to_string(boxBytes) +
           "-byte box is not inside dynamic shared memory (the emulator's "
           "shared window)";
  std::size_t alignment =
      map.swizzleBits ? (std::size_t{128} << map.swizzleBits) : 128;
  if (offset % alignment)
    return where + ": the box's shared-memory address must be " +
           std::to_string(alignment) + "-byte aligned";
  return {};
}

/// Visits element j of the box of `map` at `coords` (innermost first):
/// `visit(j, global, inside)` with its global address, which is only
/// meaningful when the element lies inside the tensor.
template <typename Visit>
void forEachBoxElement(const EmuTensorMap &map, const int (&coords)[5],
                       Visit visit) {
  std::size_t elements = tmaBoxBytes(map) / map.elementBytes;
  for (std::size_t j = 0; j < elements; ++j) {
    std::size_t rest = j;
    std::uint64_t byteOffset = 0;
    bool inside = true;
    for (unsigned d = 0; d < 5; ++d) {
      long long c = coords[d] + static_cast<long long>(rest % map.box[d]);
      rest /= map.box[d];
      if (d >= map.rank)
        continue;
      if (c < 0 || static_cast<std::uint64_t>(c) >= map.dims[d])
        inside = false;
      else
        byteOffset += static_cast<std::uint64_t>(c) * map.strideBytes[d];
    }
    visit(j, static_cast<const unsigned char *>(map.base) + byteOffset,
          inside);
  }
}

/// complete_tx of `bytes` on the mbarrier at `barrier` (a TMA load landing,
/// zero-filled elements included): "" or what is wrong (`what`: the load).
/// `phaseParity`, if given, receives the parity of the phase the bytes
/// count towards.
inline std::string completeTx(std::uint64_t *barrier, std::size_t bytes,
                              const std::string &what,
                              unsigned *phaseParity = nullptr) {
  std::uint64_t old = __atomic_load_n(barrier, __ATOMIC_ACQUIRE);
  while (true) {
    if (!isMbarrier(old))
      return "the mbarrier of " + what + " was never initialised";
    MbarrierState state = decodeMbarrier(old);
    if (phaseParity)
      *phaseParity = state.parity;
    state.tx -= static_cast<long long>(bytes);
    if (!validTxCount(state.tx))
      return what + " leaves its mbarrier's pending transaction bytes "
                    "outside the hardware's range";
    if (__atomic_compare_exchange_n(barrier, &old, encodeMbarrier(state),
                                    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return {};
  }
}

} // namespace attn::emu::runner

#endif // ATTN_RUNTIME_EMULATOR_RUNNERSUPPORT_H
