//===- TensorMaps.h - Tensor-map encoders of the two backends ---*- C++ -*-===//
//
// Internal to the runtime. A plan whose kernels take TMA tensor maps
// (abi::FieldRole::TensorMap) has them encoded at launch, per call, by the
// backend's encoder: the driver's cuTensorMapEncodeTiled on a GPU, the
// emulator's attn::emu::encodeTensorMap on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_TENSORMAPS_H
#define ATTN_RUNTIME_JIT_TENSORMAPS_H

#include "attn/Plan.h"
#include "attn/Support/KernelAbi.h"

namespace attn::jit {

/// The encoder of `device`'s backend (cuda: of the loaded driver, which a
/// cuda launch has loaded before it packs parameters).
abi::TensorMapEncoder tensorMapEncoder(DeviceKind device);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_TENSORMAPS_H
