//===- all_primitives.cu - One kernel that uses every device primitive ------===//
//
// Compiled by NVRTC (PTX for compute_80, cubin for sm_90) to check the CUDA
// half of the device library, and as host C++ into a kernel .so to check the
// emulator half gives the right numbers. One warp computes a 16x8 score tile
// with tensor cores (f16: Q·Kᵀ with ldmatrix; bf16: Q·V-style B with
// ldmatrix.trans) staged by cp.async, and turns each row into a softmax with
// the online-softmax update and quad reductions.
//
//===----------------------------------------------------------------------===//

#include "all_primitives.h"

using namespace attn::device;

/// The 16x8 softmax of one accumulator tile, written to out[base..base+128).
__device__ __forceinline__ void softmaxTile(const float (&acc)[4], float scale,
                                            float *out, int base,
                                            unsigned *packed, float &total) {
  unsigned lane = lane_id(), g = lane / 4, t = lane % 4;
  float scaleLog2 = scale * kLog2e;
  for (int h = 0; h < 2; ++h) {
    float tileMax = warp_reduce_max_quad(fmaxf(acc[2 * h], acc[2 * h + 1]));
    OnlineSoftmaxRow row = online_softmax_init();
    float maxScaled;
    online_softmax_update(row, tileMax, scaleLog2, maxScaled);
    float p0 = online_softmax_prob(acc[2 * h], scaleLog2, maxScaled);
    float p1 = online_softmax_prob(acc[2 * h + 1], scaleLog2, maxScaled);
    row.rowSum += p0 + p1;
    float inv = online_softmax_inv_sum(warp_reduce_sum_quad(row.rowSum));
    int r = g + 8 * h;
    st_global(out, base + r * 8 + 2 * t, 258, p0 * inv);
    st_global(out, base + r * 8 + 2 * t + 1, 258, p1 * inv);
    if (packed)
      st_global(packed, (r * 8 + 2 * t) / 2, 64, pack_f16x2(p0 * inv, p1 * inv));
    total += (p0 + p1) * inv;
  }
}

extern "C" __global__ void all_primitives(AllPrimitivesParams p) {
  ATTN_SHARED(f16, sQ, 16 * 16);
  ATTN_SHARED(f16, sK, 8 * 16);
  ATTN_DYNAMIC_SHARED(bf16, sB); // qb (256) then vb (128)
  unsigned lane = lane_id();

  // Stage all operands with cp.async in two groups (16-, 8- and 4-byte forms).
  cp_async<16>(sQ + lane * 8, p.q, lane * 8, 256);
  cp_async<8>(sK + lane * 4, p.k, lane * 4, 128);
  cp_async_commit();
  cp_async<16>(sB + lane * 8, p.qb, lane * 8, 256);
  cp_async<4>(sB + 256 + lane * 2, p.vb, lane * 2, 128);
  cp_async<4>(sB + 256 + 64 + lane * 2, p.vb, 64 + lane * 2, 128);
  cp_async_commit();
  cp_async_wait<1>();
  cp_async_wait<0>();
  __syncthreads();

  // A fragments: matrices (rows 0-7|8-15) x (cols 0-7|8-15) in a0..a3 order.
  unsigned aRow = (lane % 8) + 8 * ((lane / 8) % 2), aCol = 8 * (lane / 16);
  uint32_t a[4], ab[4], b[2], bb[2];
  ldmatrix_x4(a, sQ + aRow * 16 + aCol);
  ldmatrix_x4(ab, sB + aRow * 16 + aCol);
  // B = Kᵀ: row n of K holds column n of B, which is ldmatrix's plain layout.
  unsigned kRow = lane % 8, kCol = 8 * ((lane / 8) % 2);
  ldmatrix_x2(b, sK + kRow * 16 + kCol);
  // B stored k-major (like V): the transposed load gives the column layout.
  ldmatrix_x2_trans(bb, sB + 256 + (lane % 16) * 8);

  float acc[4] = {0, 0, 0, 0}, accb[4] = {0, 0, 0, 0};
  mma_m16n8k16_f16(acc, a, b, acc);
  mma_m16n8k16_bf16(accb, ab, bb, accb);

  float total = 0;
  softmaxTile(acc, p.scale, p.out, 0, p.outPacked, total);
  softmaxTile(accb, p.scale, p.out, 128, nullptr, total);
  total = warp_reduce_sum(total);

  // The remaining primitives feed a checksum the host only requires finite.
  uint32_t m1[1], m1t[1], m4t[4];
  ldmatrix_x1(m1, sQ + (lane % 8) * 16);
  ldmatrix_x1_trans(m1t, sQ + (lane % 8) * 16);
  ldmatrix_x4_trans(m4t, sQ + aRow * 16 + aCol);
  float check = unpack_f16(m1[0], false) + unpack_f16(m1t[0], true) +
                unpack_f16(m4t[3], false) + to_float(to_bf16(fast_rcp(2.0f))) +
                to_float(from_float<f16>(fast_exp2(1.0f))) +
                unpack_bf16(pack_x2<bf16>(1.0f, 2.0f), true) +
                ld_global_or(p.out, 1000, 258, 0.0f);
  check = warp_reduce_max(check);
  if (lane == 0) {
    st_global(p.out, 256, 258, total);
    st_global(p.out, 257, 258, check);
  }
  st_global_if(p.out, 1000, 258, 0.0f); // out of range: never stored
}
ATTN_KERNEL_ENTRY(all_primitives)
