//===- mma.h - Device library: tensor-core mma.sync and ldmatrix -*- C++ -*-===//
//
// mma.sync.aligned.m16n8k16.row.col with f16 or bf16 inputs and f32
// accumulators, and ldmatrix (x1/x2/x4, optionally transposed), the two
// instructions a FlashAttention-2-style sm_80 kernel is built from.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16"), for
// lane = 4*g + t (g = lane / 4, t = lane % 4), lower index in the low 16 bits:
//   A 16x16 (row-major), 4 regs: a0 = A[g][2t..2t+1],   a1 = A[g+8][2t..2t+1],
//                                a2 = A[g][2t+8..2t+9], a3 = A[g+8][2t+8..2t+9]
//   B 16x8 (k x n),      2 regs: b0 = B[2t..2t+1][g],   b1 = B[2t+8..2t+9][g]
//   C/D 16x8 f32,        4 regs: d0,d1 = D[g][2t..2t+1], d2,d3 = D[g+8][2t..2t+1]
//
// The emulator executes each instruction as a warp collective: every lane
// deposits its part in the warp's scratch, the warp synchronises, and each
// lane computes or gathers its own result. The emulated mma rounds once from
// an exact (double) sum, so it is at least as accurate as the hardware.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_MMA_H
#define ATTN_DEVICE_MMA_H

#include "attn/device/config.h"
#include "attn/device/convert.h"

namespace attn::device {

#if ATTN_DEVICE_CUDA

/// D = A * B + C for one warp, f16 inputs, f32 accumulators (D may alias C).
ATTN_DEVICE_FN void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4],
                                     const uint32_t (&b)[2],
                                     const float (&c)[4]) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
        "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}
/// D = A * B + C for one warp, bf16 inputs, f32 accumulators (D may alias C).
ATTN_DEVICE_FN void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4],
                                      const uint32_t (&b)[2],
                                      const float (&c)[4]) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
        "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

// ldmatrix: lanes 8*i .. 8*i+7 supply the (16-byte aligned, shared-memory)
// addresses of rows 0..7 of matrix i; lane 4*g + t receives elements
// [g][2t..2t+1] of matrix i in d[i] (with .trans: [2t..2t+1][g]).

/// Loads one 8x8 b16 matrix (addresses from lanes 0-7).
ATTN_DEVICE_FN void ldmatrix_x1(uint32_t (&d)[1], const void *smem) {
  unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(d[0])
               : "r"(addr)
               : "memory");
}
/// Loads two 8x8 b16 matrices (addresses from lanes 0-15).
ATTN_DEVICE_FN void ldmatrix_x2(uint32_t (&d)[2], const void *smem) {
  unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(d[0]), "=r"(d[1])
               : "r"(addr)
               : "memory");
}
/// Loads four 8x8 b16 matrices (addresses from all lanes).
ATTN_DEVICE_FN void ldmatrix_x4(uint32_t (&d)[4], const void *smem) {
  unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
      : "r"(addr)
      : "memory");
}
/// Loads one 8x8 b16 matrix transposed (addresses from lanes 0-7).
ATTN_DEVICE_FN void ldmatrix_x1_trans(uint32_t (&d)[1], const void *smem) {
  unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(d[0])
               : "r"(addr)
               : "memory");
}
/// Loads two 8x8 b16 matrices transposed (addresses from lanes 0-15).
ATTN_DEVICE_FN void ldmatrix_x2_trans(uint32_t (&d)[2], const void *smem) {
  unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
      : "=r"(d[0]), "=r"(d[1])
      : "r"(addr)
      : "memory");
}
/// Loads four 8x8 b16 matrices transposed (addresses from all lanes).
ATTN_DEVICE_FN void ldmatrix_x4_trans(uint32_t (&d)[4], const void *smem) {
  unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
      : "r"(addr)
      : "memory");
}

#else

namespace detail {

/// The warp's dense operands of one emulated mma, in the warp scratch.
struct MmaScratch {
  float a[16][16];
  float b[16][8];
};
static_assert(sizeof(MmaScratch) <= emu::kWarpScratchBytes,
              "mma operands must fit the warp scratch");

template <bool IsBf16> inline float unpackInput(uint32_t reg, bool high) {
  return IsBf16 ? unpack_bf16(reg, high) : unpack_f16(reg, high);
}

template <bool IsBf16>
inline void mmaM16n8k16(float (&d)[4], const uint32_t (&a)[4],
                        const uint32_t (&b)[2], const float (&c)[4],
                        const char *op, const char *file, unsigned line) {
  emu::ThreadState &me = emu::detail::self();
  if (me.warpLaneMask != 0xffffffffu)
    emu::detail::rt().error("mma.sync executed by a partial warp (the block "
                            "size is not a multiple of 32)");
  auto *s = reinterpret_cast<MmaScratch *>(emu::detail::rt().warpScratch());
  unsigned g = me.laneId / 4, t = me.laneId % 4;
  // Scatter this lane's registers to the dense tiles, word for word the
  // layout in the header comment.
  for (unsigned half = 0; half < 2; ++half) {
    s->a[g][2 * t + half] = unpackInput<IsBf16>(a[0], half);
    s->a[g + 8][2 * t + half] = unpackInput<IsBf16>(a[1], half);
    s->a[g][2 * t + 8 + half] = unpackInput<IsBf16>(a[2], half);
    s->a[g + 8][2 * t + 8 + half] = unpackInput<IsBf16>(a[3], half);
    s->b[2 * t + half][g] = unpackInput<IsBf16>(b[0], half);
    s->b[2 * t + 8 + half][g] = unpackInput<IsBf16>(b[1], half);
  }
  const float acc[4] = {c[0], c[1], c[2], c[3]}; // d may alias c
  emu::detail::rt().syncWarp(0xffffffffu, op, file, line);
  const unsigned rows[4] = {g, g, g + 8, g + 8};
  const unsigned cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
  for (int i = 0; i < 4; ++i) {
    double sum = acc[i];
    for (int k = 0; k < 16; ++k)
      sum += static_cast<double>(s->a[rows[i]][k]) * s->b[k][cols[i]];
    d[i] = static_cast<float>(sum);
  }
}

/// ldmatrix as a collective: address lanes read their 16-byte row *before*
/// the warp barrier (as the hardware reads before any later store of the
/// warp), then each lane gathers its elements from the deposited rows.
template <int Count, bool Trans>
inline void ldmatrix(uint32_t (&d)[Count], const void *smem, const char *op,
                     const char *file, unsigned line) {
  emu::ThreadState &me = emu::detail::self();
  unsigned char(*rows)[16] =
      reinterpret_cast<unsigned char(*)[16]>(emu::detail::rt().warpScratch());
  if (me.laneId < 8u * Count) {
    if (reinterpret_cast<std::uintptr_t>(smem) % 16 != 0)
      emu::detail::rt().error("ldmatrix row address is not 16-byte aligned");
    std::memcpy(rows[me.laneId], smem, 16);
    // Shared memory starts as 0xFF bytes; an all-ones b16 element is a NaN
    // no arithmetic produces, so it means "never written" (memcheck).
    if (__builtin_expect(me.flags & emu::kMemcheck, 0))
      for (int e = 0; e < 8; ++e)
        if (rows[me.laneId][2 * e] == 0xff && rows[me.laneId][2 * e + 1] == 0xff) {
          emu::detail::rt().uninitialisedShared(op, smem, 16, file, line);
          break;
        }
  }
  emu::detail::rt().syncWarp(0xffffffffu, op, file, line);
  unsigned g = me.laneId / 4, t = me.laneId % 4;
  for (int i = 0; i < Count; ++i) {
    if (!Trans) {
      std::memcpy(&d[i], rows[8 * i + g] + 4 * t, 4);
    } else {
      uint16_t lo, hi;
      std::memcpy(&lo, rows[8 * i + 2 * t] + 2 * g, 2);
      std::memcpy(&hi, rows[8 * i + 2 * t + 1] + 2 * g, 2);
      d[i] = lo | (static_cast<uint32_t>(hi) << 16);
    }
  }
}

} // namespace detail

/// D = A * B + C for one warp, f16 inputs, f32 accumulators (D may alias C).
ATTN_DEVICE_FN void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4],
                                     const uint32_t (&b)[2],
                                     const float (&c)[4],
                                     const char *file = __builtin_FILE(),
                                     unsigned line = __builtin_LINE()) {
  detail::mmaM16n8k16<false>(d, a, b, c, "mma_m16n8k16_f16", file, line);
}
/// D = A * B + C for one warp, bf16 inputs, f32 accumulators (D may alias C).
ATTN_DEVICE_FN void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4],
                                      const uint32_t (&b)[2],
                                      const float (&c)[4],
                                      const char *file = __builtin_FILE(),
                                      unsigned line = __builtin_LINE()) {
  detail::mmaM16n8k16<true>(d, a, b, c, "mma_m16n8k16_bf16", file, line);
}

// ldmatrix: lanes 8*i .. 8*i+7 supply the (16-byte aligned, shared-memory)
// addresses of rows 0..7 of matrix i; lane 4*g + t receives elements
// [g][2t..2t+1] of matrix i in d[i] (with .trans: [2t..2t+1][g]).

/// Loads one 8x8 b16 matrix (addresses from lanes 0-7).
ATTN_DEVICE_FN void ldmatrix_x1(uint32_t (&d)[1], const void *smem,
                                const char *file = __builtin_FILE(),
                                unsigned line = __builtin_LINE()) {
  detail::ldmatrix<1, false>(d, smem, "ldmatrix_x1", file, line);
}
/// Loads two 8x8 b16 matrices (addresses from lanes 0-15).
ATTN_DEVICE_FN void ldmatrix_x2(uint32_t (&d)[2], const void *smem,
                                const char *file = __builtin_FILE(),
                                unsigned line = __builtin_LINE()) {
  detail::ldmatrix<2, false>(d, smem, "ldmatrix_x2", file, line);
}
/// Loads four 8x8 b16 matrices (addresses from all lanes).
ATTN_DEVICE_FN void ldmatrix_x4(uint32_t (&d)[4], const void *smem,
                                const char *file = __builtin_FILE(),
                                unsigned line = __builtin_LINE()) {
  detail::ldmatrix<4, false>(d, smem, "ldmatrix_x4", file, line);
}
/// Loads one 8x8 b16 matrix transposed (addresses from lanes 0-7).
ATTN_DEVICE_FN void ldmatrix_x1_trans(uint32_t (&d)[1], const void *smem,
                                      const char *file = __builtin_FILE(),
                                      unsigned line = __builtin_LINE()) {
  detail::ldmatrix<1, true>(d, smem, "ldmatrix_x1_trans", file, line);
}
/// Loads two 8x8 b16 matrices transposed (addresses from lanes 0-15).
ATTN_DEVICE_FN void ldmatrix_x2_trans(uint32_t (&d)[2], const void *smem,
                                      const char *file = __builtin_FILE(),
                                      unsigned line = __builtin_LINE()) {
  detail::ldmatrix<2, true>(d, smem, "ldmatrix_x2_trans", file, line);
}
/// Loads four 8x8 b16 matrices transposed (addresses from all lanes).
ATTN_DEVICE_FN void ldmatrix_x4_trans(uint32_t (&d)[4], const void *smem,
                                      const char *file = __builtin_FILE(),
                                      unsigned line = __builtin_LINE()) {
  detail::ldmatrix<4, true>(d, smem, "ldmatrix_x4_trans", file, line);
}

#endif

/// D = A * B + C with T = f16 or bf16 inputs: lets generated code stay
/// generic over the element type.
template <typename T>
ATTN_DEVICE_FN void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4],
                                 const uint32_t (&b)[2], const float (&c)[4]);
template <>
ATTN_DEVICE_FN void mma_m16n8k16<f16>(float (&d)[4], const uint32_t (&a)[4],
                                      const uint32_t (&b)[2],
                                      const float (&c)[4]) {
  mma_m16n8k16_f16(d, a, b, c);
}
template <>
ATTN_DEVICE_FN void mma_m16n8k16<bf16>(float (&d)[4], const uint32_t (&a)[4],
                                       const uint32_t (&b)[2],
                                       const float (&c)[4]) {
  mma_m16n8k16_bf16(d, a, b, c);
}

} // namespace attn::device

#endif // ATTN_DEVICE_MMA_H
