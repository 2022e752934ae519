//===- sm90_primitives.cu - One kernel that uses every sm_90 primitive ----===//
//
// Compiled by NVRTC for sm_90a (NvrtcCompileTest: the inline PTX assembles,
// every instruction reaches the PTX, ptxas neither spills nor serialises the
// wgmmas) and, as host C++, by the emulator (Sm90KernelTest: the numbers).
// The shape is FlashAttention-3's: a producer warpgroup gives up registers
// and streams K and V tiles by TMA through a two-stage mbarrier ring; a
// consumer warpgroup takes more registers, computes S = Q·Kᵀ with wgmma
// (ss), reuses S's accumulator registers as the A operand of O += P·V (rs,
// V MN-major), and writes O back with a TMA store. (No softmax: P = f16(S),
// so that the check isolates the primitives.)
//
//===----------------------------------------------------------------------===//

#include "sm90_primitives.h"

using namespace attn::device;

extern "C" __global__ void __launch_bounds__(256, 1)
    sm90_primitives(const __grid_constant__ Sm90PrimitivesParams p) {
  ATTN_DYNAMIC_SHARED_1024(unsigned char, smem);
  f16 *sQ = reinterpret_cast<f16 *>(smem);
  f16 *sK = reinterpret_cast<f16 *>(smem + 8192);  // 2 stages
  f16 *sV = reinterpret_cast<f16 *>(smem + 24576); // 2 stages
  f16 *sO = reinterpret_cast<f16 *>(smem + 40960);
  mbarrier_t *qFull = reinterpret_cast<mbarrier_t *>(smem + 49152);
  mbarrier_t *full = qFull + 1, *empty = qFull + 3;
  if (threadIdx.x == 0) {
    mbarrier_init(qFull, 1);
    for (int s = 0; s < 2; ++s) {
      mbarrier_init(&full[s], 1);
      mbarrier_init(&empty[s], 128);
    }
  }
  __syncthreads();

  if (warpgroup_index() == 0) {
    setmaxnreg_dec<40>();
    if (threadIdx.x >= 32)
      return; // one producer warp
    if (elect_one_sync()) {
      tma_prefetch_descriptor(&p.k);
      mbarrier_arrive_expect_tx(qFull, 8192);
      tma_load_2d(sQ, &p.q, 0, 0, qFull);
    }
    __syncwarp();
    for (int t = 0; t < 2; ++t) {
      int stage = t % 2;
      mbarrier_wait_parity(&empty[stage], ((t / 2) & 1) ^ 1);
      if (elect_one_sync()) {
        mbarrier_arrive_expect_tx(&full[stage], 2 * 8192);
        tma_load_2d(sK + stage * 4096, &p.k, 0, 64 * t, &full[stage]);
        tma_load_2d(sV + stage * 4096, &p.v, 0, 64 * t, &full[stage]);
      }
      __syncwarp();
    }
    return;
  }

  setmaxnreg_inc<232>();
  unsigned thread = threadIdx.x - 128;
  WgmmaAccumulator<64> s, o;
  mbarrier_wait_parity(qFull, 0);
  for (int t = 0; t < 2; ++t) {
    int stage = t % 2;
    mbarrier_wait_parity(&full[stage], (t / 2) & 1);
    // S = Q·Kᵀ: both K-major, 128-byte rows of 64 d; a k16 step is 32 bytes.
    wgmma_fence();
    for (int kk = 0; kk < 4; ++kk)
      wgmma_ss<f16, 64>(
          s, wgmma_descriptor(sQ + 16 * kk, 0, 1024, WgmmaSwizzle::B128),
          wgmma_descriptor(sK + stage * 4096 + 16 * kk, 0, 1024,
                           WgmmaSwizzle::B128),
          kk > 0);
    wgmma_commit_group();
    wgmma_wait_group<0>(s);
    // P = f16(S) as A fragments: register i of S holds column 8*(i/4) + 2t
    // + i%2, so k16 step j's register r pairs S registers 8j + 4(r/2) +
    // 2(r%2) and the one after (FlashAttention-3's register reuse).
    uint32_t a[4][4];
    for (int j = 0; j < 4; ++j)
      for (int r = 0; r < 4; ++r) {
        int i = 8 * j + 4 * (r / 2) + 2 * (r % 2);
        a[j][r] = pack_f16x2(s[i], s[i + 1]);
      }
    // O += P·V: V rows are keys (k) of 64 contiguous d (n): MN-major, one
    // 64-wide swizzle atom along n; 8 keys per 1024 bytes.
    wgmma_fence();
    for (int j = 0; j < 4; ++j)
      wgmma_rs<f16, 64, WgmmaMajor::MN>(
          o, a[j],
          wgmma_descriptor(sV + stage * 4096 + 16 * 64 * j, 0, 1024,
                           WgmmaSwizzle::B128),
          t > 0 || j > 0);
    wgmma_commit_group();
    wgmma_wait_group<0>(o);
    mbarrier_arrive(&empty[stage]);
  }
  for (int i = 0; i < WgmmaAccumulator<64>::kRegisters; ++i)
    sO[wgmma_accumulator_row(thread, i) * 64 +
       wgmma_accumulator_col(thread, i)] = to_f16(o[i]);
  fence_proxy_async();
  named_barrier_sync(1, 128);
  if (thread == 0) {
    tma_store_2d(&p.o, 0, 0, sO);
    tma_store_commit_group();
    tma_store_wait_group_read<0>();
  }
  named_barrier_arrive(2, 128);
}
ATTN_KERNEL_ENTRY(sm90_primitives)
