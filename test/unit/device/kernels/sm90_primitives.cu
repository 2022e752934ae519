//===- sm90_primitives.cu - One kernel that uses every sm_90 primitive ----===//
//
// Compiled by NVRTC for sm_90a (NvrtcCompileTest) to check the CUDA half of
// attn/device/sm90.h: the inline PTX must assemble and the instructions must
// reach the PTX. The shape is FlashAttention-3's: a producer warpgroup that
// gives up registers and fills a two-stage shared-memory ring (K by TMA from
// a __grid_constant__ tensor map), and a consumer warpgroup that waits on
// mbarriers, multiplies with wgmma (ss for S = Q·Kᵀ, rs with an MN-major B
// for O = P·V) and writes O with a TMA store. The values are meaningless:
// the emulator half is checked by the unit tests.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/device/sm90.h"

using namespace attn::device;

struct Sm90PrimitivesParams {
  TensorMap kMap; ///< K: 64-row tiles of 64 columns, 128-byte swizzle
  TensorMap oMap; ///< O as (128 columns, 64 rows, heads) for a TMA store
  const f16 *q;  ///< 64 x 64, K-major (row-major), 128-byte swizzled image
  const bf16 *v; ///< 64 x 128 (k x n), n contiguous, 128-byte swizzled image
  float *out;    ///< 128 threads x 96 floats
};

extern "C" __global__ void __launch_bounds__(256, 1)
    sm90_primitives(const __grid_constant__ Sm90PrimitivesParams p) {
  extern __shared__ __align__(1024) unsigned char smem[];
  f16 *sQ = reinterpret_cast<f16 *>(smem);            // 8 KB
  f16 *sK = reinterpret_cast<f16 *>(smem + 8192);     // 2 stages x 8 KB
  bf16 *sV = reinterpret_cast<bf16 *>(smem + 24576);  // 16 KB
  mbarrier_t *full = reinterpret_cast<mbarrier_t *>(smem + 40960);
  mbarrier_t *empty = full + 2;
  if (threadIdx.x == 0)
    for (int s = 0; s < 2; ++s) {
      mbarrier_init(&full[s], 1);
      mbarrier_init(&empty[s], 128);
    }
  __syncthreads();

  if (warpgroup_index() == 0) {
    setmaxnreg_dec<40>();
    if (threadIdx.x >= 32)
      return;
    if (elect_one_sync())
      tma_prefetch_descriptor(&p.kMap);
    for (int t = 0; t < 2; ++t) {
      mbarrier_wait_parity(&empty[t], 1);
      if (elect_one_sync()) {
        mbarrier_arrive_expect_tx(&full[t], 8192);
        tma_load_2d(sK + t * 4096, &p.kMap, 0, 64 * t, &full[t]);
        for (int i = 0; i < 4096; ++i) {
          sQ[i] = p.q[i];
          sV[t * 4096 + i] = p.v[t * 4096 + i];
        }
        fence_proxy_async();
        mbarrier_complete_tx(&full[t], 8192);
      }
      __syncwarp();
    }
    return;
  }

  setmaxnreg_inc<232>();
  WgmmaAccumulator<64> s;
  WgmmaAccumulator<128> o;
  float total = 0;
  for (int t = 0; t < 2; ++t) {
    mbarrier_wait_parity(&full[t], 0);
    wgmma_fence();
    for (int k = 0; k < 4; ++k)
      wgmma_ss<f16, 64>(s, wgmma_descriptor(sQ + 16 * k, 0, 1024,
                                            WgmmaSwizzle::B128),
                        wgmma_descriptor(sK + t * 4096 + 16 * k, 0, 1024,
                                         WgmmaSwizzle::B128),
                        k > 0);
    wgmma_commit_group();
    wgmma_wait_group<0>(s);
    uint32_t a[4];
    for (int r = 0; r < 4; ++r)
      a[r] = pack_bf16x2(s[2 * r], s[2 * r + 1]);
    wgmma_fence();
    wgmma_rs<bf16, 128, WgmmaMajor::MN>(
        o, a, wgmma_descriptor(sV + t * 2048, 1024, 2048, WgmmaSwizzle::B128),
        t > 0);
    wgmma_commit_group();
    wgmma_wait_group<0>(o);
    mbarrier_arrive(&empty[t]);
    named_barrier_sync(1, 128);
    total += s[0];
  }
  unsigned thread = threadIdx.x - 128;
  for (int i = 0; i < 64; ++i)
    p.out[thread * 96 + i] = o[i] + total;
  for (int i = 0; i < 32; ++i)
    p.out[thread * 96 + 64 + i] = s[i];
  // O back through shared memory (over the K ring) and a TMA store.
  named_barrier_sync(1, 128);
  f16 *sO = sK;
  for (int i = 0; i < 64; ++i)
    sO[wgmma_accumulator_row(thread, i) * 128 +
       wgmma_accumulator_col(thread, i)] = to_f16(o[i]);
  fence_proxy_async();
  named_barrier_sync(1, 128);
  if (thread == 0) {
    tma_store_3d(&p.oMap, 0, 0, blockIdx.x, sO);
    tma_store_commit_group();
    tma_store_wait_group_read<0>();
  }
  named_barrier_arrive(2, 128);
}
