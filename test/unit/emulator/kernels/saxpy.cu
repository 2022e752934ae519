//===- saxpy.cu - A minimal kernel for the KernelLibrary test ---------------===//

#include "attn/device/attn_device.h"

using namespace attn::device;

/// Parameters of saxpy, passed by value as generated kernels take them.
struct SaxpyParams {
  const float *x;
  float *y;
  long long n;
  float a;
};

extern "C" __global__ void saxpy(SaxpyParams p) {
  long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < p.n)
    st_global(p.y, i, p.n, p.a * ld_global(p.x, i, p.n) + ld_global(p.y, i, p.n));
}
ATTN_KERNEL_ENTRY(saxpy)
