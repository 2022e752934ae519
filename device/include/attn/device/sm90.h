//===- sm90.h - Device library: the sm_90 (Hopper) primitives -*- C++ -*-===//
//
// The primitives of warp-specialised Hopper kernels: mbarriers, TMA, named
// barriers and other warpgroup primitives, and wgmma. Not part of
// attn_device.h: sm_80 kernels do not include them, and their CUDA half needs
// sm_90a (wgmma, setmaxnreg) or sm_90.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_SM90_H
#define ATTN_DEVICE_SM90_H

#include "attn/device/mbarrier.h"
#include "attn/device/tma.h"
#include "attn/device/warpgroup.h"
#include "attn/device/wgmma.h"

#endif // ATTN_DEVICE_SM90_H
