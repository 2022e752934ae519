//===- race_kernels.cu - Kernels with and without data races --------------===//
//
// For RaceCheckTest: each racy kernel has a twin that differs only in the
// synchronisation the race checker must notice.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"

using namespace attn::device;

/// in and out hold n floats; one thread per element.
struct NeighbourParams {
  const float *in;
  float *out;
  long long n;
};

/// Each thread stages its element in shared memory and adds its right
/// neighbour's: without the barrier a thread may read the slot before its
/// owner wrote it.
template <bool Sync> __device__ void neighbourSum(const NeighbourParams &p) {
  ATTN_SHARED(float, tile, 256);
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x] = ld_global(p.in, i, p.n);
  if (Sync)
    __syncthreads();
  unsigned next = (threadIdx.x + 1) % blockDim.x;
  st_global(p.out, i, p.n, tile[threadIdx.x] + tile[next]);
}
extern "C" __global__ void neighbour_sync(NeighbourParams p) {
  neighbourSum<true>(p);
}
ATTN_KERNEL_ENTRY(neighbour_sync)
extern "C" __global__ void neighbour_nosync(NeighbourParams p) {
  neighbourSum<false>(p);
}
ATTN_KERNEL_ENTRY(neighbour_nosync)

/// Lane l reads lane l+1's slot of its own warp: __syncwarp orders that; a
/// shuffle (which moves registers, not memory) would not.
template <bool SyncWarp>
__device__ void warpNeighbour(const NeighbourParams &p) {
  ATTN_SHARED(float, tile, 256);
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  tile[threadIdx.x] = ld_global(p.in, i, p.n);
  float other;
  if (SyncWarp) {
    __syncwarp();
    other = 0.0f;
  } else {
    other = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
  }
  unsigned next = (threadIdx.x & ~31u) | ((threadIdx.x + 1) & 31u);
  st_global(p.out, i, p.n, tile[threadIdx.x] + tile[next] + other);
}
extern "C" __global__ void warp_syncwarp(NeighbourParams p) {
  warpNeighbour<true>(p);
}
ATTN_KERNEL_ENTRY(warp_syncwarp)
extern "C" __global__ void warp_shuffle_only(NeighbourParams p) {
  warpNeighbour<false>(p);
}
ATTN_KERNEL_ENTRY(warp_shuffle_only)

/// Staged with cp.async: the wait lands this thread's copy, the barrier makes
/// it visible to the neighbour. Without the barrier the neighbour races with
/// the landing write.
template <bool Sync>
__device__ void cpAsyncNeighbour(const NeighbourParams &p) {
  ATTN_SHARED(float, tile, 256);
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  cp_async<4>(&tile[threadIdx.x], p.in, i, p.n);
  cp_async_commit();
  cp_async_wait<0>();
  if (Sync)
    __syncthreads();
  unsigned next = (threadIdx.x + 1) % blockDim.x;
  st_global(p.out, i, p.n, tile[threadIdx.x] + tile[next]);
}
extern "C" __global__ void cp_async_sync(NeighbourParams p) {
  cpAsyncNeighbour<true>(p);
}
ATTN_KERNEL_ENTRY(cp_async_sync)
extern "C" __global__ void cp_async_nosync(NeighbourParams p) {
  cpAsyncNeighbour<false>(p);
}
ATTN_KERNEL_ENTRY(cp_async_nosync)

/// Every CTA writes out[threadIdx.x]: CTAs race with each other on global
/// memory (no barrier orders different CTAs).
extern "C" __global__ void ctas_overlap(NeighbourParams p) {
  st_global(p.out, (long long)threadIdx.x, p.n, (float)blockIdx.x);
}
ATTN_KERNEL_ENTRY(ctas_overlap)

/// Threads below 16 return before a barrier the others wait at: reported as
/// an error (never a hang) in race mode too.
extern "C" __global__ void early_exit(NeighbourParams p) {
  if (threadIdx.x < 16)
    return;
  __syncthreads();
  st_global(p.out, (long long)threadIdx.x, p.n, 1.0f);
}
ATTN_KERNEL_ENTRY(early_exit)
