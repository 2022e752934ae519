//===- wgmma.h - Device library: sm_90a warpgroup MMA (wgmma) --*- C++ -*-===//
//
// wgmma.mma_async.sync.aligned.m64nNk16 with f16/bf16 inputs and f32
// accumulators: a warpgroup (4 warps, 128 threads) computes D(64xN) +=
// A(64x16) * B(16xN), asynchronously. B, and A in the "ss" form, are read
// from shared memory through 64-bit matrix descriptors; in the "rs" form each
// warp supplies its 16 rows of A in registers.
//
// Layouts (PTX ISA "Asynchronous Warpgroup Level Matrix" sections; CuTe's
// GMMA::CLayout_64xN and ALayout_64x16 say the same), for thread T of the
// warpgroup, w = T / 32, lane = 4g + t:
//   D, register i (0 .. N/2-1): row 16w + g + 8*((i/2)%2), column 8*(i/4) +
//       2t + i%2                                (wgmma_accumulator_row/col)
//   A from registers, register r (0-3), half h: row 16w + g + 8*(r%2),
//       column 8*(r/2) + 2t + h                 (wgmma_a_row/col)
// Shared-memory operands are described by a start address, a leading and a
// stride byte offset and a swizzle (wgmma_descriptor); element (mn, k) of a
// K-major or MN-major operand then lives at the byte address
// wgmma_operand_address computes: the canonical layouts of CuTe's
// make_gmma_desc, swizzled on absolute address bits (Swizzle<B,4,3>: bits
// 4..4+B-1 ^= bits 7..7+B-1), so a swizzled tile must be aligned to the
// swizzle's 256/512/1024-byte repeat. The emulator's shared window starts at
// the CTA's dynamic shared memory (1024-byte aligned), so wgmma operands live
// there.
//
// Asynchrony, as the emulator enforces it (the PTX ISA's rules):
//  - wgmma_fence() must precede the first wgmma, and separate any access to
//    an accumulator by the thread (WgmmaAccumulator::operator[]) from a wgmma
//    that uses it; wgmmas chained on one accumulator need no fence.
//  - An issued wgmma's result reaches the accumulator only at the
//    wgmma_wait_group<P>() that retires its commit group; touching the
//    accumulator before then is reported, as is a change to its shared-memory
//    operands, which the tensor cores may read until the wait.
// The emulator computes each result at issue, with one rounding from an exact
// sum per k16 step, like the emulated mma.sync.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_WGMMA_H
#define ATTN_DEVICE_WGMMA_H

#include "attn/device/config.h"
#include "attn/device/convert.h"
#include "attn/device/swizzle.h"
#include "attn/device/warpgroup.h"

#if ATTN_DEVICE_CUDA
#include "attn/device/wgmma_asm.h"
#else
#include <algorithm>
#include <string>
#include <vector>
#endif

namespace attn::device {

/// The layout-type field of a matrix descriptor (PTX encoding).
enum class WgmmaSwizzle : unsigned { None = 0, B128 = 1, B64 = 2, B32 = 3 };
/// Which dimension of a shared-memory operand is contiguous: K (A row-major,
/// B as Kᵀ, the default) or M/N (the instruction's imm-trans = 1).
enum class WgmmaMajor : int { K = 0, MN = 1 };

/// Bytes of one swizzled row (the unit the swizzle permutes 16-byte chunks
/// within): 128, 64, 32, or 16 without a swizzle.
ATTN_HOST_DEVICE_FN unsigned wgmma_swizzle_row_bytes(WgmmaSwizzle s) {
  return s == WgmmaSwizzle::B128  ? 128
         : s == WgmmaSwizzle::B64 ? 64
         : s == WgmmaSwizzle::B32 ? 32
                                  : 16;
}

/// The byte address a (shared-window) byte address maps to under `s`:
/// CuTe's Swizzle<B,4,3>, B = 3, 2, 1, 0 for 128B, 64B, 32B, none.
ATTN_HOST_DEVICE_FN unsigned wgmma_swizzle_address(unsigned address,
                                                   WgmmaSwizzle s) {
  return swizzle_address(address, wgmma_swizzle_row_bytes(s));
}

/// Unswizzled byte offset of element (mn, k) of an operand in the canonical
/// layout a descriptor describes (CuTe make_gmma_desc, in bytes):
///   K-major : ((8,m),(T,2)) : ((W*16, SBO), (e, none ? LBO : 16))
///   MN-major: ((T,W,m),(8,k)) : ((e, 16, none ? SBO : LBO),
///                                (W*16, none ? LBO : SBO))
/// with e the element size, T = 16/e elements per 16-byte chunk and W the
/// swizzle's row in chunks.
ATTN_HOST_DEVICE_FN unsigned
wgmma_canonical_offset(unsigned mn, unsigned k, unsigned elementBytes,
                       WgmmaMajor major, WgmmaSwizzle s, unsigned leadingBytes,
                       unsigned strideBytes) {
  unsigned perChunk = 16 / elementBytes;
  unsigned rowChunks = wgmma_swizzle_row_bytes(s) / 16;
  bool none = s == WgmmaSwizzle::None;
  if (major == WgmmaMajor::K)
    return (mn % 8) * rowChunks * 16 + (mn / 8) * strideBytes +
           (k % perChunk) * elementBytes +
           (k / perChunk) * (none ? leadingBytes : 16);
  return (mn % perChunk) * elementBytes + (mn / perChunk % rowChunks) * 16 +
         (mn / (perChunk * rowChunks)) * (none ? strideBytes : leadingBytes) +
         (k % 8) * rowChunks * 16 +
         (k / 8) * (none ? leadingBytes : strideBytes);
}

/// Fields of a matrix descriptor (byte values; the encoding drops 4 bits).
struct WgmmaDescriptorFields {
  unsigned start, leadingBytes, strideBytes;
  WgmmaSwizzle swizzle;
};

/// Encodes a matrix descriptor from a shared-window start address.
ATTN_HOST_DEVICE_FN uint64_t
wgmma_encode_descriptor(const WgmmaDescriptorFields &f) {
  return static_cast<uint64_t>((f.start >> 4) & 0x3fff) |
         static_cast<uint64_t>((f.leadingBytes >> 4) & 0x3fff) << 16 |
         static_cast<uint64_t>((f.strideBytes >> 4) & 0x3fff) << 32 |
         static_cast<uint64_t>(f.swizzle) << 62;
}
/// `desc` with its start address `bytes` further on (a multiple of 16): one
/// descriptor stepped through an operand's k-steps with a single add, as
/// CuTe's DescriptorIterator does. The 14-bit start field cannot carry into
/// the next one: shared addresses stay below 256 KB.
ATTN_HOST_DEVICE_FN uint64_t wgmma_descriptor_advance(uint64_t desc,
                                                      unsigned bytes) {
  return desc + (bytes >> 4);
}
/// Decodes a matrix descriptor (base offset must be 0; see the header).
ATTN_HOST_DEVICE_FN WgmmaDescriptorFields
wgmma_decode_descriptor(uint64_t desc) {
  return {static_cast<unsigned>(desc & 0x3fff) << 4,
          static_cast<unsigned>((desc >> 16) & 0x3fff) << 4,
          static_cast<unsigned>((desc >> 32) & 0x3fff) << 4,
          static_cast<WgmmaSwizzle>(desc >> 62)};
}
/// Shared-window byte address of element (mn, k) of the operand `desc`
/// describes (16-bit elements).
ATTN_HOST_DEVICE_FN unsigned wgmma_operand_address(uint64_t desc,
                                                   WgmmaMajor major,
                                                   unsigned mn, unsigned k) {
  WgmmaDescriptorFields f = wgmma_decode_descriptor(desc);
  return wgmma_swizzle_address(
      f.start + wgmma_canonical_offset(mn, k, 2, major, f.swizzle,
                                       f.leadingBytes, f.strideBytes),
      f.swizzle);
}

/// Row of accumulator register `i` of warpgroup thread `thread` (0-127).
ATTN_HOST_DEVICE_FN unsigned wgmma_accumulator_row(unsigned thread,
                                                   unsigned i) {
  return 16 * (thread / 32) + (thread % 32) / 4 + 8 * ((i / 2) % 2);
}
/// Column of accumulator register `i` of warpgroup thread `thread`.
ATTN_HOST_DEVICE_FN unsigned wgmma_accumulator_col(unsigned thread,
                                                   unsigned i) {
  return 8 * (i / 4) + 2 * (thread % 4) + i % 2;
}
/// Row of half `h` of A-fragment register `r` (0-3) of `thread` (rs form).
ATTN_HOST_DEVICE_FN unsigned wgmma_a_row(unsigned thread, unsigned r,
                                         unsigned) {
  return 16 * (thread / 32) + (thread % 32) / 4 + 8 * (r % 2);
}
/// Column (k) of half `h` of A-fragment register `r` of `thread`.
ATTN_HOST_DEVICE_FN unsigned wgmma_a_col(unsigned thread, unsigned r,
                                         unsigned h) {
  return 8 * (r / 2) + 2 * (thread % 4) + h;
}

/// Whether `T` is bf16 (else f16): selects the instruction's input type.
template <typename T> struct IsBf16Input {
  static constexpr bool value = false;
};
template <> struct IsBf16Input<bf16> { static constexpr bool value = true; };

/// The N values wgmma_ss/wgmma_rs are instantiated for.
ATTN_HOST_DEVICE_FN bool isSupportedWgmmaN(int n) {
  return n == 8 || n == 16 || n == 32 || n == 64 || n == 128 || n == 256;
}

#if !ATTN_DEVICE_CUDA
namespace detail {
/// ThreadState::wgmmaFences value meaning "never accessed".
inline constexpr unsigned kNeverAccessed = ~0u;
void reportAccumulatorInFlight(const char *file, unsigned line);
} // namespace detail
#endif

/// One thread's share of a 64xN f32 wgmma accumulator: N/2 registers laid
/// out as wgmma_accumulator_row/col say. Index it like an array.
template <int N> struct WgmmaAccumulator {
  static_assert(isSupportedWgmmaN(N), "wgmma N must be 8, 16, 32, 64, 128 "
                                      "or 256");
  static constexpr int kRegisters = N / 2;
  float r[N / 2];
#if ATTN_DEVICE_CUDA
  ATTN_DEVICE_FN float &operator[](int i) { return r[i]; }
  ATTN_DEVICE_FN const float &operator[](int i) const { return r[i]; }
#else
  // The emulator's bookkeeping (see the header comment).
  float pending[N / 2]; ///< value after the newest in-flight wgmma
  unsigned inFlight = 0;
  mutable unsigned accessedAtFence = detail::kNeverAccessed;
  mutable bool reported = false;
  bool defined = false;
  const char *issuedFile = nullptr;
  unsigned issuedLine = 0;

  WgmmaAccumulator() {
    // Registers hold garbage until written: NaN makes a use visible.
    for (float &x : r)
      x = std::numeric_limits<float>::quiet_NaN();
  }
  float &operator[](int i) {
    touch(i);
    defined = true;
    return r[i];
  }
  const float &operator[](int i) const {
    touch(i);
    return r[i];
  }
  void touch(int &i) const {
    if (i < 0 || i >= N / 2) {
      emu::detail::rt().error(("wgmma accumulator register " +
                               std::to_string(i) + " is out of range (" +
                               std::to_string(N / 2) + " registers)")
                                  .c_str());
      i = 0;
    }
    if (inFlight && !reported) {
      reported = true;
      detail::reportAccumulatorInFlight(issuedFile, issuedLine);
    }
    accessedAtFence = emu::detail::self().wgmmaFences;
  }
#endif
};

#if ATTN_DEVICE_CUDA

/// Encodes the matrix descriptor of a shared-memory operand at `smem`.
ATTN_DEVICE_FN uint64_t wgmma_descriptor(const void *smem,
                                         unsigned leadingBytes,
                                         unsigned strideBytes,
                                         WgmmaSwizzle swizzle) {
  unsigned start = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  return wgmma_encode_descriptor({start, leadingBytes, strideBytes, swizzle});
}
/// wgmma.fence: orders the thread's register accesses before later wgmmas.
ATTN_DEVICE_FN void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
/// Closes the thread's current group of issued wgmmas.
ATTN_DEVICE_FN void wgmma_commit_group() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
/// Keeps the compiler from moving accesses to `acc` across a wgmma or wait
/// (CuTe's warpgroup_fence_operand).
template <int N>
ATTN_DEVICE_FN void wgmma_fence_operand(WgmmaAccumulator<N> &acc) {
  ATTN_UNROLL
  for (int i = 0; i < N / 2; ++i)
    asm volatile("" : "+f"(acc.r[i])::"memory");
}
/// Waits until at most `Pending` committed groups are in flight; the
/// accumulators given are fenced against compiler reordering.
template <int Pending, int... Ns>
ATTN_DEVICE_FN void wgmma_wait_group(WgmmaAccumulator<Ns> &...accs) {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
  (wgmma_fence_operand(accs), ...);
}

/// D (+)= A * B, A and B in shared memory; T is f16 or bf16.
template <typename T, int N, WgmmaMajor MajorA = WgmmaMajor::K,
          WgmmaMajor MajorB = WgmmaMajor::K>
ATTN_DEVICE_FN void wgmma_ss(WgmmaAccumulator<N> &d, uint64_t descA,
                             uint64_t descB, bool accumulate) {
  constexpr bool kBf16 = IsBf16Input<T>::value;
  constexpr int kTransA = static_cast<int>(MajorA),
                kTransB = static_cast<int>(MajorB);
  int scaleD = accumulate ? 1 : 0;
  wgmma_fence_operand(d);
  if constexpr (N == 8)
    detail::wgmma_ss_m64n8k16<kBf16, kTransA, kTransB>(d.r, descA, descB,
                                                       scaleD);
  else if constexpr (N == 16)
    detail::wgmma_ss_m64n16k16<kBf16, kTransA, kTransB>(d.r, descA, descB,
                                                        scaleD);
  else if constexpr (N == 32)
    detail::wgmma_ss_m64n32k16<kBf16, kTransA, kTransB>(d.r, descA, descB,
                                                        scaleD);
  else if constexpr (N == 64)
    detail::wgmma_ss_m64n64k16<kBf16, kTransA, kTransB>(d.r, descA, descB,
                                                        scaleD);
  else if constexpr (N == 128)
    detail::wgmma_ss_m64n128k16<kBf16, kTransA, kTransB>(d.r, descA, descB,
                                                         scaleD);
  else
    detail::wgmma_ss_m64n256k16<kBf16, kTransA, kTransB>(d.r, descA, descB,
                                                         scaleD);
  wgmma_fence_operand(d);
}

/// D (+)= A * B, A from registers (wgmma_a_row/col), B in shared memory.
template <typename T, int N, WgmmaMajor MajorB = WgmmaMajor::K>
ATTN_DEVICE_FN void wgmma_rs(WgmmaAccumulator<N> &d, const uint32_t (&a)[4],
                             uint64_t descB, bool accumulate) {
  constexpr bool kBf16 = IsBf16Input<T>::value;
  constexpr int kTransB = static_cast<int>(MajorB);
  int scaleD = accumulate ? 1 : 0;
  wgmma_fence_operand(d);
  if constexpr (N == 8)
    detail::wgmma_rs_m64n8k16<kBf16, kTransB>(d.r, a, descB, scaleD);
  else if constexpr (N == 16)
    detail::wgmma_rs_m64n16k16<kBf16, kTransB>(d.r, a, descB, scaleD);
  else if constexpr (N == 32)
    detail::wgmma_rs_m64n32k16<kBf16, kTransB>(d.r, a, descB, scaleD);
  else if constexpr (N == 64)
    detail::wgmma_rs_m64n64k16<kBf16, kTransB>(d.r, a, descB, scaleD);
  else if constexpr (N == 128)
    detail::wgmma_rs_m64n128k16<kBf16, kTransB>(d.r, a, descB, scaleD);
  else
    detail::wgmma_rs_m64n256k16<kBf16, kTransB>(d.r, a, descB, scaleD);
  wgmma_fence_operand(d);
}

#else

namespace detail {

inline void wgmmaError(const char *op, const char *file, unsigned line,
                       const std::string &what) {
  emu::detail::rt().error((std::string(op) + " at " + file + ":" +
                           std::to_string(line) + ": " + what)
                              .c_str());
}

inline void reportAccumulatorInFlight(const char *file, unsigned line) {
  emu::detail::rt().error(
      ("a wgmma accumulator was accessed while the wgmma issued at " +
       std::string(file ? file : "?") + ":" + std::to_string(line) +
       " is in flight (before the wgmma_wait_group that retires it)")
          .c_str());
}

/// The warp's A rows (rs form), deposited in the warp scratch.
struct WgmmaScratch {
  float a[16][16];
};
static_assert(sizeof(WgmmaScratch) <= emu::kWarpScratchBytes,
              "the A fragment must fit the warp scratch");

template <bool IsBf16> inline float loadOperand(const unsigned char *p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return IsBf16 ? unpack_bf16(bits, false) : unpack_f16(bits, false);
}

/// The wgmma of one thread: checks the rules, computes its registers of D
/// from the operands as they are now, and hands the result to the emulator
/// to land at the wait. `aRegs` is null for the ss form.
template <bool IsBf16, int N>
void wgmmaIssue(WgmmaAccumulator<N> &d, const uint32_t *aRegs, uint64_t descA,
                WgmmaMajor majorA, uint64_t descB, WgmmaMajor majorB,
                bool accumulate, const char *op, const char *file,
                unsigned line) {
  emu::ThreadState &me = emu::detail::self();
  requireWarpgroups(op, file, line);
  if (me.warpLaneMask != 0xffffffffu)
    return wgmmaError(op, file, line, "executed by a partial warp");
  auto *scratch =
      reinterpret_cast<WgmmaScratch *>(emu::detail::rt().warpScratch());
  unsigned thread = me.linearTid % kWarpgroupThreads;
  if (aRegs)
    for (unsigned r = 0; r < 4; ++r)
      for (unsigned h = 0; h < 2; ++h)
        scratch->a[wgmma_a_row(thread, r, h) % 16][wgmma_a_col(thread, r, h)] =
            IsBf16 ? unpack_bf16(aRegs[r], h) : unpack_f16(aRegs[r], h);
  // wgmma is .sync.aligned: the warp executes it together.
  emu::detail::rt().syncWarp(0xffffffffu, op, file, line);

  if (me.wgmmaFences == 0)
    wgmmaError(op, file, line, "no wgmma_fence precedes the first wgmma");
  else if (d.accessedAtFence != kNeverAccessed &&
           d.accessedAtFence >= me.wgmmaFences)
    wgmmaError(op, file, line,
               "the accumulator was accessed since the last wgmma_fence");
  if (accumulate && !d.defined && !d.inFlight)
    wgmmaError(op, file, line,
               "accumulates into an accumulator that was never written (the "
               "first wgmma of a chain passes accumulate = false)");

  // Operand elements through the descriptors, recording the 16-byte chunks
  // read (the tensor cores may read them until the wait).
  std::vector<const unsigned char *> chunks;
  bool inBounds = true;
  auto element = [&](uint64_t desc, WgmmaMajor major, unsigned mn,
                     unsigned k) -> float {
    unsigned address = wgmma_operand_address(desc, major, mn, k);
    if (address % 2 || address + 2 > me.dynamicSharedBytes) {
      if (inBounds)
        wgmmaError(op, file, line,
                   "operand element (" + std::to_string(mn) + ", " +
                       std::to_string(k) + ") at shared address " +
                       std::to_string(address) +
                       " is outside the CTA's dynamic shared memory (" +
                       std::to_string(me.dynamicSharedBytes) + " bytes)");
      inBounds = false;
      return 0.0f;
    }
    const unsigned char *p = me.dynamicShared + address;
    chunks.push_back(me.dynamicShared + address / 16 * 16);
    if (__builtin_expect(me.flags & emu::kMemcheck, 0) && p[0] == 0xff &&
        p[1] == 0xff)
      emu::detail::rt().uninitialisedShared(op, p, 2, file, line);
    return loadOperand<IsBf16>(p);
  };

  float a[2][16];
  for (unsigned half = 0; half < 2; ++half) {
    unsigned row = wgmma_accumulator_row(thread, 2 * half);
    for (unsigned k = 0; k < 16; ++k)
      a[half][k] =
          aRegs ? scratch->a[row % 16][k] : element(descA, majorA, row, k);
  }
  float values[N / 2];
  for (unsigned i = 0; i < N / 2; ++i) {
    unsigned row = wgmma_accumulator_row(thread, i) % 16 >= 8 ? 1 : 0;
    unsigned col = wgmma_accumulator_col(thread, i);
    double sum = !accumulate ? 0.0 : d.inFlight ? d.pending[i] : d.r[i];
    for (unsigned k = 0; k < 16; ++k)
      sum += static_cast<double>(a[row][k]) * element(descB, majorB, col, k);
    values[i] = static_cast<float>(sum);
  }
  std::sort(chunks.begin(), chunks.end());
  chunks.erase(std::unique(chunks.begin(), chunks.end()), chunks.end());

  std::memcpy(d.pending, values, sizeof values);
  ++d.inFlight;
  d.defined = true;
  d.reported = false;
  d.issuedFile = file;
  d.issuedLine = line;
  emu::WgmmaIssue issue{
      d.r,
      values,
      N / 2,
      &d.inFlight,
      chunks.data(),
      static_cast<unsigned>(chunks.size()),
      emu::hashChunks(chunks.data(), static_cast<unsigned>(chunks.size())),
      file,
      line};
  emu::detail::rt().wgmmaIssue(issue);
}

} // namespace detail

/// Encodes the matrix descriptor of an operand at `smem`, which must lie in
/// the CTA's dynamic shared memory (the emulator's shared window).
ATTN_DEVICE_FN uint64_t wgmma_descriptor(const void *smem,
                                         unsigned leadingBytes,
                                         unsigned strideBytes,
                                         WgmmaSwizzle swizzle,
                                         const char *file = __builtin_FILE(),
                                         unsigned line = __builtin_LINE()) {
  emu::ThreadState &me = emu::detail::self();
  auto *p = static_cast<const unsigned char *>(smem);
  std::size_t offset = static_cast<std::size_t>(p - me.dynamicShared);
  const char *op = "wgmma_descriptor";
  if (p < me.dynamicShared || offset >= me.dynamicSharedBytes)
    detail::wgmmaError(op, file, line,
                       "the operand is not in dynamic shared memory (the "
                       "emulator's shared window for wgmma)");
  else if (offset % 16 || leadingBytes % 16 || strideBytes % 16)
    detail::wgmmaError(op, file, line,
                       "start address and byte offsets must be multiples of "
                       "16");
  else if (offset >= (1u << 18) || leadingBytes >= (1u << 18) ||
           strideBytes >= (1u << 18))
    detail::wgmmaError(op, file, line,
                       "start address and byte offsets must be below 2^18");
  return wgmma_encode_descriptor(
      {static_cast<unsigned>(offset), leadingBytes, strideBytes, swizzle});
}
/// wgmma.fence: orders the thread's register accesses before later wgmmas.
ATTN_DEVICE_FN void wgmma_fence() { emu::detail::rt().wgmmaFence(); }
/// Closes the thread's current group of issued wgmmas.
ATTN_DEVICE_FN void wgmma_commit_group() { emu::detail::rt().wgmmaCommit(); }
/// A compiler-ordering fence on the GPU; nothing to do here.
template <int N>
ATTN_DEVICE_FN void wgmma_fence_operand(WgmmaAccumulator<N> &) {}
/// Lands all but the newest `Pending` committed groups.
template <int Pending, int... Ns>
ATTN_DEVICE_FN void wgmma_wait_group(WgmmaAccumulator<Ns> &...) {
  emu::detail::rt().wgmmaWait(Pending);
}

/// D (+)= A * B, A and B in shared memory; T is f16 or bf16.
template <typename T, int N, WgmmaMajor MajorA = WgmmaMajor::K,
          WgmmaMajor MajorB = WgmmaMajor::K>
ATTN_DEVICE_FN void wgmma_ss(WgmmaAccumulator<N> &d, uint64_t descA,
                             uint64_t descB, bool accumulate,
                             const char *file = __builtin_FILE(),
                             unsigned line = __builtin_LINE()) {
  detail::wgmmaIssue<IsBf16Input<T>::value, N>(d, nullptr, descA, MajorA, descB,
                                               MajorB, accumulate, "wgmma_ss",
                                               file, line);
}

/// D (+)= A * B, A from registers (wgmma_a_row/col), B in shared memory.
template <typename T, int N, WgmmaMajor MajorB = WgmmaMajor::K>
ATTN_DEVICE_FN void wgmma_rs(WgmmaAccumulator<N> &d, const uint32_t (&a)[4],
                             uint64_t descB, bool accumulate,
                             const char *file = __builtin_FILE(),
                             unsigned line = __builtin_LINE()) {
  detail::wgmmaIssue<IsBf16Input<T>::value, N>(d, a, 0, WgmmaMajor::K, descB,
                                               MajorB, accumulate, "wgmma_rs",
                                               file, line);
}

#endif

} // namespace attn::device

#endif // ATTN_DEVICE_WGMMA_H
