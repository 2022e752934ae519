//===- fragment.h - Device library: tile staging and mma fragments -*- C++ -*-===//
//
// The building blocks of the emitter's tensor-core path, on top of mma.h,
// memory.h and warp.h. A warp owns 16 query rows; a per-thread "fragment"
// of a [rows x cols] tile follows the C/D layout of mma.m16n8k16:
//   frag[nt][e] = tile[16 * warp + g + 8 * (e / 2)][8 * nt + 2 * t + e % 2]
// for lane = 4 * g + t. A per-row value is held as row[2] (rows g and g + 8),
// replicated over the lanes of a quad.
//
// K/V tiles are staged in shared memory row by row with a pitch of
// `Cols + kSmemPad` elements: the 16-byte pad shifts consecutive rows by four
// banks, so the eight row addresses of one ldmatrix hit distinct banks.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_FRAGMENT_H
#define ATTN_DEVICE_FRAGMENT_H

#include "attn/device/config.h"
#include "attn/device/convert.h"
#include "attn/device/memory.h"
#include "attn/device/mma.h"
#include "attn/device/scalar.h"
#include "attn/device/swizzle.h"

namespace attn::device {

/// Elements of padding at the end of each staged shared-memory row.
constexpr int kSmemPad = 8;

/// Element offset of (r, c) in one stage of a staged tile of `Rows` rows:
/// row pitch `Pitch` when `SwizzleBytes` is 0; else the layout of a swizzled
/// attn.shared_buffer (wgmma's K/V operands): column blocks of SwizzleBytes
/// per row, each block [Rows x SwizzleBytes] contiguous and swizzled
/// (swizzle.h). A 16-byte chunk stays contiguous either way.
template <typename T, int Rows, int Pitch, int SwizzleBytes>
ATTN_HOST_DEVICE_FN int staged_offset(int r, int c) {
  if constexpr (SwizzleBytes == 0) {
    return r * Pitch + c;
  } else {
    constexpr int width = SwizzleBytes / static_cast<int>(sizeof(T));
    static_assert(Pitch % width == 0, "swizzled rows are whole blocks");
    unsigned bytes = static_cast<unsigned>((c / width) * Rows * width +
                                           r * width + c % width) *
                     static_cast<unsigned>(sizeof(T));
    return static_cast<int>(swizzle_address(bytes, SwizzleBytes) / sizeof(T));
  }
}

/// Whether a tile of `T` whose rows start at element `base + r * rowStride`
/// and whose columns are contiguous can be staged with 16-byte cp.async
/// copies (every row chunk 16-byte aligned).
template <typename T>
ATTN_DEVICE_FN bool can_stage_vectorized(const T *ptr, int64_t base,
                                         int64_t rowStride, int64_t colStride) {
  constexpr int64_t perChunk = 16 / sizeof(T);
  return colStride == 1 && base % perChunk == 0 &&
         rowStride % perChunk == 0 &&
         reinterpret_cast<uint64_t>(ptr) % 16 == 0;
}

/// stage_tile's element-by-element copy, for a tensor 16-byte copies cannot
/// address (unaligned, or columns not contiguous): out of line, so a kernel
/// holds one copy per tile shape instead of one per staging site.
template <typename T, int Rows, int Cols, int Threads, int Pitch,
          int SwizzleBytes>
ATTN_COLD_FN void stage_tile_scalar(T *smem, const T *ptr, int64_t extent,
                                    int64_t base, int64_t rowStride,
                                    int64_t colStride, int64_t validRows,
                                    int tid) {
#pragma unroll 1
  for (int e = tid; e < Rows * Cols; e += Threads) {
    int r = e / Cols, c = e % Cols;
    smem[staged_offset<T, Rows, Pitch, SwizzleBytes>(r, c)] =
        r < validRows
            ? ld_global(ptr, base + r * rowStride + c * colStride, extent)
            : from_float<T>(0.0f);
  }
}

/// Stages rows [0, Rows) x columns [0, Cols) of a global tile (element
/// (r, c) at `base + r * rowStride + c * colStride`) into `smem` with a row
/// pitch of `Pitch` elements (the schedule's shared-buffer layout; Cols +
/// kSmemPad by default), or in the swizzled layout of `SwizzleBytes`
/// (staged_offset); rows at or past `validRows` become zeros. All
/// `Threads` threads of the CTA call it with their own `tid` (< Threads).
/// Vectorized staging issues cp.async copies (the caller commits and
/// waits); otherwise the elements are loaded one by one and stored directly
/// (out of line).
template <typename T, int Rows, int Cols, int Threads,
          int Pitch = Cols + kSmemPad, int SwizzleBytes = 0>
ATTN_DEVICE_FN void stage_tile(T *smem, const T *ptr, int64_t extent,
                               int64_t base, int64_t rowStride,
                               int64_t colStride, int64_t validRows,
                               bool vectorized, int tid) {
  static_assert(Pitch >= Cols, "a staged row holds its columns");
  constexpr int perChunk = 16 / sizeof(T);
  static_assert(Cols % perChunk == 0, "staged rows are whole 16-byte chunks");
  constexpr int chunksPerRow = Cols / perChunk;
  if (vectorized) {
#pragma unroll 1
    for (int c = tid; c < Rows * chunksPerRow; c += Threads) {
      int r = c / chunksPerRow, k = (c % chunksPerRow) * perChunk;
      int64_t index = base + r * rowStride + k;
      // A row past the valid ones copies nothing and zero-fills.
      cp_async<16>(smem + staged_offset<T, Rows, Pitch, SwizzleBytes>(r, k),
                   ptr, index, r < validRows ? extent : index);
    }
    return;
  }
  stage_tile_scalar<T, Rows, Cols, Threads, Pitch, SwizzleBytes>(
      smem, ptr, extent, base, rowStride, colStride, validRows, tid);
}

/// stage_tile, never inlined, choosing 16-byte copies where it can: the
/// cp.async fallback of a tile a kernel stages by TMA (for a tensor TMA
/// cannot address: tma_view_ok), kept out of the KV loop's code.
template <typename T, int Rows, int Cols, int Threads, int Pitch,
          int SwizzleBytes>
ATTN_COLD_FN void stage_tile_cold(T *smem, const T *ptr, int64_t extent,
                                  int64_t base, int64_t rowStride,
                                  int64_t colStride, int64_t validRows,
                                  int tid) {
  stage_tile<T, Rows, Cols, Threads, Pitch, SwizzleBytes>(
      smem, ptr, extent, base, rowStride, colStride, validRows,
      can_stage_vectorized(ptr, base, rowStride, colStride), tid);
}

/// Whether stage_tile_paged may use 16-byte copies: as stage_tile, with
/// whole chunks per page too.
template <typename T>
ATTN_DEVICE_FN bool can_stage_paged_vectorized(const T *ptr, int64_t base,
                                               int64_t pageStride,
                                               int64_t rowStride,
                                               int64_t colStride) {
  return can_stage_vectorized(ptr, base, rowStride, colStride) &&
         pageStride % (16 / int64_t(sizeof(T))) == 0;
}

/// stage_tile of a tile of key rows [row0, row0 + Rows) in a paged KV cache:
/// element (r, c) at `base + paged_row_offset(table, ..., row0 + r) + c *
/// colStride`, so a tile may span pages of any size (the loader gathers
/// them). Rows at or past `validRows` become zeros and read nothing.
/// Vectorized, the lanes copying one row's chunks share one block-table
/// lookup (the first of them reads it, a shuffle hands it on) when whole
/// warps step through the copies together: the table adds 4 bytes per row
/// to the 16-byte chunks' traffic, not 4 per chunk.
template <typename T, int Rows, int Cols, int Threads,
          int Pitch = Cols + kSmemPad, int SwizzleBytes = 0>
ATTN_DEVICE_FN void
stage_tile_paged(T *smem, const T *ptr, int64_t extent, int64_t base,
                 const int *table, int64_t tableExtent, int64_t shift,
                 int64_t pageStride, int64_t rowStride, int64_t row0,
                 int64_t colStride, int64_t validRows, bool vectorized,
                 int tid) {
  static_assert(Pitch >= Cols, "a staged row holds its columns");
  constexpr int perChunk = 16 / sizeof(T);
  static_assert(Cols % perChunk == 0, "staged rows are whole 16-byte chunks");
  constexpr int chunksPerRow = Cols / perChunk;
  // Every lane runs every iteration, and a row's chunks lie in one warp.
  constexpr bool shareLookups = (Rows * chunksPerRow) % Threads == 0 &&
                                Threads % 32 == 0 && 32 % chunksPerRow == 0;
  if (vectorized) {
#pragma unroll 1
    for (int c = tid; c < Rows * chunksPerRow; c += Threads) {
      int r = c / chunksPerRow, k = (c % chunksPerRow) * perChunk;
      int64_t rowOffset = 0;
      if (shareLookups) {
        int lane = tid & 31, first = lane - c % chunksPerRow;
        int64_t mine = k == 0 && r < validRows
                           ? paged_row_offset(table, tableExtent, shift,
                                              pageStride, rowStride, row0 + r)
                           : 0;
        rowOffset = __shfl_sync(0xffffffffu, mine, first);
      } else if (r < validRows) {
        rowOffset = paged_row_offset(table, tableExtent, shift, pageStride,
                                     rowStride, row0 + r);
      }
      if (r >= validRows) {
        // Copies nothing and zero-fills, as stage_tile's rows past the end.
        cp_async<16>(smem + staged_offset<T, Rows, Pitch, SwizzleBytes>(r, k),
                     ptr, base, base);
        continue;
      }
      cp_async<16>(smem + staged_offset<T, Rows, Pitch, SwizzleBytes>(r, k),
                   ptr, base + k + rowOffset, extent);
    }
    return;
  }
#pragma unroll 1
  for (int e = tid; e < Rows * Cols; e += Threads) {
    int r = e / Cols, c = e % Cols;
    smem[staged_offset<T, Rows, Pitch, SwizzleBytes>(r, c)] =
        r < validRows
            ? ld_global(ptr,
                        base + c * colStride +
                            paged_row_offset(table, tableExtent, shift,
                                             pageStride, rowStride, row0 + r),
                        extent)
            : from_float<T>(0.0f);
  }
}

/// Zeros columns [Cols, PaddedCols) of `Rows` rows of `smem` (row pitch
/// `Pitch`): the padding of a head dim that is a multiple of 8 but not of
/// 16, which the mma's last k-step reads as a 16-column slice. stage_tile
/// writes columns below Cols only, so one call before the first barrier
/// keeps the padding zero for every tile staged after it. All `Threads`
/// threads of the CTA call it.
template <typename T, int Rows, int Cols, int PaddedCols, int Pitch,
          int Threads>
ATTN_DEVICE_FN void zero_pad_columns(T *smem, int tid) {
  static_assert(Cols < PaddedCols && PaddedCols <= Pitch,
                "the padding lies inside the row pitch");
  constexpr int width = PaddedCols - Cols;
#pragma unroll 1
  for (int e = tid; e < Rows * width; e += Threads)
    smem[(e / width) * Pitch + Cols + e % width] = from_float<T>(0.0f);
}

/// Writes rows [0, validRows) x columns [0, Cols) of a tile held in `smem`
/// (row pitch `Pitch`) to global memory, element (r, c) at `base + r *
/// rowStride + c * colStride`: the inverse of stage_tile, for the epilogue.
/// Vectorized, every thread stores 16-byte row chunks (coalesced: a warp
/// writes whole rows); otherwise element by element. All `Threads` threads of
/// the CTA call it after a barrier that publishes `smem`.
template <typename T, int Rows, int Cols, int Threads,
          int Pitch = Cols + kSmemPad>
ATTN_DEVICE_FN void store_tile(const T *smem, T *ptr, int64_t extent,
                               int64_t base, int64_t rowStride,
                               int64_t colStride, int64_t validRows,
                               bool vectorized, int tid) {
  constexpr int perChunk = 16 / sizeof(T);
  static_assert(Cols % perChunk == 0, "stored rows are whole 16-byte chunks");
  static_assert((Pitch * sizeof(T)) % 16 == 0,
                "shared rows start 16-byte aligned");
  constexpr int chunksPerRow = Cols / perChunk;
  if (vectorized) {
#pragma unroll 1
    for (int c = tid; c < Rows * chunksPerRow; c += Threads) {
      int r = c / chunksPerRow, k = (c % chunksPerRow) * perChunk;
      if (r < validRows)
        st_global_16(ptr, base + r * rowStride + k, extent,
                     smem + r * Pitch + k);
    }
    return;
  }
#pragma unroll 1
  for (int e = tid; e < Rows * Cols; e += Threads) {
    int r = e / Cols, c = e % Cols;
    if (r < validRows)
      st_global(ptr, base + r * rowStride + c * colStride, extent,
                smem[r * Pitch + c]);
  }
}

/// Writes a thread's fragment tile `frag` (the mma C layout, rows
/// `row0 + [0, 16)`, columns `col0 + [0, 8 NTiles)`) into `smem` (row pitch
/// `Pitch`) as packed pairs of T: one 32-bit shared store per two elements,
/// without bank conflicts at a pitch of Cols + kSmemPad.
template <typename T, int Pitch, int NTiles>
ATTN_DEVICE_FN void fragment_to_shared(T *smem, const float (&frag)[NTiles][4],
                                       int row0, unsigned lane, int col0 = 0) {
  int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int nt = 0; nt < NTiles; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      uint32_t pair = pack_x2<T>(frag[nt][2 * h], frag[nt][2 * h + 1]);
      T *at = smem + (row0 + g + 8 * h) * Pitch + col0 + 8 * nt + 2 * t;
#if ATTN_DEVICE_CUDA
      *reinterpret_cast<uint32_t *>(at) = pair;
#else
      std::memcpy(at, &pair, 4);
#endif
    }
}

/// Writes a thread's f32 fragment tile `frag` (the mma C layout, rows
/// `row0 + [0, 16)`, columns `col0 + [0, 8 NTiles)`) into the f32 rows of
/// `smem` (pitch `Pitch`): one warp's share of a tile whose columns a row
/// group's warps split (col_groups).
template <int Pitch, int NTiles>
ATTN_DEVICE_FN void fragment_columns_to_shared(float *smem,
                                               const float (&frag)[NTiles][4],
                                               int row0, int col0,
                                               unsigned lane) {
  int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int nt = 0; nt < NTiles; ++nt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float *at = smem + (row0 + g + 8 * h) * Pitch + col0 + 8 * nt + 2 * t;
      at[0] = frag[nt][2 * h];
      at[1] = frag[nt][2 * h + 1];
    }
}

/// Reads the fragment tile `frag` (the mma C layout, rows `row0 + [0, 16)`,
/// columns [0, 8 NTiles)) from the f32 rows of `smem` (pitch `Pitch`), or
/// adds them onto it (`Accumulate`): the whole of a tile the row group's
/// warps computed in column slices (fragment_columns_to_shared).
template <int Pitch, bool Accumulate, int NTiles>
ATTN_DEVICE_FN void fragment_from_shared(float (&frag)[NTiles][4],
                                         const float *smem, int row0,
                                         unsigned lane) {
  int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int nt = 0; nt < NTiles; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float x = smem[(row0 + g + 8 * (e >> 1)) * Pitch + 8 * nt + 2 * t +
                     (e & 1)];
      frag[nt][e] = Accumulate ? frag[nt][e] + x : x;
    }
}

/// The A fragment (rows 16 * warp + [0, 16), columns k0 + [0, 16)) of a
/// row-major operand read straight from global memory: element (r, c) at
/// `base + r * rowStride + c * colStride`; rows at or past `validRows` and
/// columns at or past `validCols` read as zeros.
template <typename T>
ATTN_DEVICE_FN void load_a_fragment(uint32_t (&a)[4], const T *ptr,
                                    int64_t extent, int64_t base,
                                    int64_t rowStride, int64_t colStride,
                                    int64_t validRows, int64_t validCols,
                                    int rowBase, int k0, unsigned lane) {
  int g = lane / 4, t = lane % 4;
  auto at = [&](int r, int c) -> float {
    if (r >= validRows || c >= validCols)
      return 0.0f;
    return to_float(ld_global(ptr, base + r * rowStride + c * colStride,
                              extent));
  };
  int r0 = rowBase + g, r1 = rowBase + g + 8, c0 = k0 + 2 * t;
  a[0] = pack_x2<T>(at(r0, c0), at(r0, c0 + 1));
  a[1] = pack_x2<T>(at(r1, c0), at(r1, c0 + 1));
  a[2] = pack_x2<T>(at(r0, c0 + 8), at(r0, c0 + 9));
  a[3] = pack_x2<T>(at(r1, c0 + 8), at(r1, c0 + 9));
}

/// The A fragment of columns [16 * kk, 16 * kk + 16) of a per-thread
/// fragment tile (frag layout above), rounded to T; columns at or past
/// `validCols` are zeros.
template <typename T, int NTiles>
ATTN_DEVICE_FN void a_fragment_from_tile(uint32_t (&a)[4],
                                         const float (&frag)[NTiles][4],
                                         int kk, int64_t validCols,
                                         unsigned lane) {
  int t = lane % 4;
  int c0 = 16 * kk + 2 * t, c1 = c0 + 8;
  auto at = [&](int nt, int e, int c) {
    return c < validCols ? frag[nt][e] : 0.0f;
  };
  a[0] = pack_x2<T>(at(2 * kk, 0, c0), at(2 * kk, 1, c0 + 1));
  a[1] = pack_x2<T>(at(2 * kk, 2, c0), at(2 * kk, 3, c0 + 1));
  a[2] = pack_x2<T>(at(2 * kk + 1, 0, c1), at(2 * kk + 1, 1, c1 + 1));
  a[3] = pack_x2<T>(at(2 * kk + 1, 2, c1), at(2 * kk + 1, 3, c1 + 1));
}

/// max over the caller's quad with arith.maximumf semantics (NaN wins).
ATTN_DEVICE_FN float quad_allreduce_max(float x) {
  x = sc::maximumf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  x = sc::maximumf(x, __shfl_xor_sync(0xffffffffu, x, 2));
  return x;
}
/// Sum over the caller's quad; every lane gets the same value.
ATTN_DEVICE_FN float quad_allreduce_add(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  x += __shfl_xor_sync(0xffffffffu, x, 2);
  return x;
}

/// Range scaling of a fragment tile that an mma consumes in f16 (5 exponent
/// bits: values below 2^-14 lose precision, below 2^-24 vanish, above 65504
/// overflow, while the tile was computed in f32). Each row keeps a running
/// exponent `rowExp`: the largest exponent of the finite non-zero |x| its
/// tiles have had so far, clamped to [-126, 126] (kNoExponent before any).
/// The tile is packed as x * 2^-rowExp, so a row's largest value lands in
/// [1, 2); an accumulator of earlier tiles held in units of 2^-rowExp moves
/// to the new exponent by `rescale` (0 when that is below 2^-126: nothing
/// it held is then above f32's precision of the new values) and back to true
/// units by unscale_fragment_rows at the end. Every factor is a power of two,
/// so nothing is rounded but the packing itself, which now loses only what is
/// below 2^-24 of the row's largest value so far.
constexpr int kNoExponent = -100000;

/// Updates `rowExp` from the tile `frag` (columns at or past `validCols`
/// ignored) and gives the packing factor `scale` and the accumulator's
/// `rescale` of each row slot (rows g and g + 8).
template <int NTiles>
ATTN_DEVICE_FN void range_scale_update(const float (&frag)[NTiles][4],
                                       int64_t validCols, unsigned lane,
                                       int (&rowExp)[2], float (&scale)[2],
                                       float (&rescale)[2]) {
  int t = lane % 4;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float m = 0.0f;
#pragma unroll
    for (int nt = 0; nt < NTiles; ++nt)
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        float a = sc::abs(frag[nt][2 * r + c]);
        // NaN compares false and infinities are left out: a non-finite
        // value keeps its NaN or infinity through the mma.
        if (8 * nt + 2 * t + c < validCols && a > m && a <= 3.4028235e38f)
          m = a;
      }
    m = quad_allreduce_max(m);
    int e = rowExp[r];
    if (m > 0.0f) {
      int me = static_cast<int>((sc::bits_f32(m) >> 23) & 0xff) - 127;
      me = me < -126 ? -126 : (me > 126 ? 126 : me);
      e = me > e ? me : e;
    }
    rescale[r] = rowExp[r] == kNoExponent ? 1.0f : sc::pow2i(rowExp[r] - e);
    scale[r] = e == kNoExponent ? 1.0f : sc::pow2i(-e);
    rowExp[r] = e;
  }
}

/// frag *= factor of its row slot.
template <int NTiles>
ATTN_DEVICE_FN void scale_fragment_rows(float (&frag)[NTiles][4],
                                        const float (&factor)[2]) {
#pragma unroll
  for (int nt = 0; nt < NTiles; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      frag[nt][e] *= factor[e / 2];
}

/// frag *= 2^rowExp of its row slot: back from range-scaled units.
template <int NTiles>
ATTN_DEVICE_FN void unscale_fragment_rows(float (&frag)[NTiles][4],
                                          const int (&rowExp)[2]) {
  float factor[2];
#pragma unroll
  for (int r = 0; r < 2; ++r)
    factor[r] = rowExp[r] == kNoExponent ? 1.0f : sc::pow2i(rowExp[r]);
  scale_fragment_rows(frag, factor);
}

/// a_fragment_from_tile of the tile times the row factors `scale`.
template <typename T, int NTiles>
ATTN_DEVICE_FN void a_fragment_from_scaled_tile(uint32_t (&a)[4],
                                                const float (&frag)[NTiles][4],
                                                int kk, int64_t validCols,
                                                const float (&scale)[2],
                                                unsigned lane) {
  int t = lane % 4;
  int c0 = 16 * kk + 2 * t, c1 = c0 + 8;
  auto at = [&](int nt, int e, int c) {
    return c < validCols ? frag[nt][e] * scale[e / 2] : 0.0f;
  };
  a[0] = pack_x2<T>(at(2 * kk, 0, c0), at(2 * kk, 1, c0 + 1));
  a[1] = pack_x2<T>(at(2 * kk, 2, c0), at(2 * kk, 3, c0 + 1));
  a[2] = pack_x2<T>(at(2 * kk + 1, 0, c1), at(2 * kk + 1, 1, c1 + 1));
  a[3] = pack_x2<T>(at(2 * kk + 1, 2, c1), at(2 * kk + 1, 3, c1 + 1));
}

// The ldmatrix helpers below address `smem + laneOffset + (constant)`: the
// lane's offset once, then the fragment's own offset, a constant once the
// caller's loops over m/n/k steps are unrolled. Written as one sum, each
// fragment's address would be a separate value (a 64-bit one, the int index
// widened), which the compiler hoists out of the KV loop when the buffer is
// loop-invariant (the Q tile): registers the accumulators need.

/// The A fragment (rows m0 + [0, 16), k = k0 + [0, 16)) of a row-major
/// staged operand (row m, column k, pitch `Pitch`): the staged Q tile of
/// Q·Kᵀ, one ldmatrix.x4 (lanes 0-15 address rows m0 + [0, 16) at k0, lanes
/// 16-31 the same rows at k0 + 8: matrices a0..a3 in mma order).
template <int Pitch, typename T>
ATTN_DEVICE_FN void a_fragment_row_major(uint32_t (&a)[4], const T *smem,
                                         int m0, int k0, unsigned lane) {
  const T *laneBase = smem + ((lane & 15) * Pitch + (lane >> 4) * 8);
  ldmatrix_x4(a, laneBase + (m0 * Pitch + k0));
}

/// The B fragment (k = k0 + [0, 16), n = n0 + [0, 8)) of B = Sᵀ where S is
/// staged n-major (row n, column k, pitch `Pitch`): the K tile of Q·Kᵀ.
template <int Pitch, typename T>
ATTN_DEVICE_FN void b_fragment_n_major(uint32_t (&b)[2], const T *smem, int n0,
                                       int k0, unsigned lane) {
  const T *laneBase = smem + ((lane & 7) * Pitch + ((lane >> 3) & 1) * 8);
  ldmatrix_x2(b, laneBase + (n0 * Pitch + k0));
}

/// The B fragment (k = k0 + [0, 16), n = n0 + [0, 8)) of a k-major staged
/// operand (row k, column n, pitch `Pitch`): the V tile of P·V.
template <int Pitch, typename T>
ATTN_DEVICE_FN void b_fragment_k_major(uint32_t (&b)[2], const T *smem, int n0,
                                       int k0, unsigned lane) {
  const T *laneBase = smem + (lane & 15) * Pitch;
  ldmatrix_x2_trans(b, laneBase + (k0 * Pitch + n0));
}

/// b_fragment_n_major of n-tiles n0 and n0 + 8 with one ldmatrix.x4: b[0]
/// is n-tile n0's fragment, b[1] n-tile n0 + 8's (lanes 16-31 address rows
/// n0 + 8 + [0, 8)). Half the instructions of two x2 loads.
template <int Pitch, typename T>
ATTN_DEVICE_FN void b_fragments_n_major_x2(uint32_t (&b)[2][2], const T *smem,
                                           int n0, int k0, unsigned lane) {
  const T *laneBase = smem + (((lane & 7) + ((lane >> 4) << 3)) * Pitch +
                              ((lane >> 3) & 1) * 8);
  uint32_t d[4];
  ldmatrix_x4(d, laneBase + (n0 * Pitch + k0));
  b[0][0] = d[0];
  b[0][1] = d[1];
  b[1][0] = d[2];
  b[1][1] = d[3];
}

/// b_fragment_k_major of n-tiles n0 and n0 + 8 with one ldmatrix.x4.trans
/// (lanes 16-31 address the same k rows at column n0 + 8).
template <int Pitch, typename T>
ATTN_DEVICE_FN void b_fragments_k_major_x2(uint32_t (&b)[2][2], const T *smem,
                                           int n0, int k0, unsigned lane) {
  const T *laneBase = smem + ((lane & 15) * Pitch + ((lane >> 4) << 3));
  uint32_t d[4];
  ldmatrix_x4_trans(d, laneBase + (k0 * Pitch + n0));
  b[0][0] = d[0];
  b[0][1] = d[1];
  b[1][0] = d[2];
  b[1][1] = d[3];
}

} // namespace attn::device

#endif // ATTN_DEVICE_FRAGMENT_H
