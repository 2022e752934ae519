//===- attn_device.h - The attn device library (umbrella header) -*- C++ -*-===//
//
// The only header generated kernels include. Each primitive has a CUDA half
// (NVRTC/nvcc: inline PTX and intrinsics) and a C++ half run by the CPU
// emulator; see config.h for the selection and the individual headers for the
// contracts. Generated code never contains inline asm itself.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_ATTN_DEVICE_H
#define ATTN_DEVICE_ATTN_DEVICE_H

#include "attn/device/config.h"
#include "attn/device/convert.h"
#include "attn/device/counters.h"
#include "attn/device/fast_math.h"
#include "attn/device/memory.h"
#include "attn/device/mma.h"
#include "attn/device/online_softmax.h"
#include "attn/device/warp.h"

#endif // ATTN_DEVICE_ATTN_DEVICE_H
