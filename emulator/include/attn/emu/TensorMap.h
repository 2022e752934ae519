//===- TensorMap.h - The emulator's tensor-map encoder ---------*- C++ -*-===//
//
// On a GPU the driver's cuTensorMapEncodeTiled fills the 128-byte tensor map
// a TMA kernel receives; the emulator has no driver, so this encoder fills
// the same 128 bytes with attn::emu::EmuTensorMap (cuda_emu.h), after the
// checks the driver documents for the subset attn uses: a tiled map of rank
// 1-5, 16-bit or 32-bit elements, no interleave, element strides of 1,
// zero-filled out-of-bounds elements. It takes the kernel ABI's request (what
// the runtime's packer hands either backend's encoder).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_TENSORMAP_H
#define ATTN_EMU_TENSORMAP_H

#include "attn/Support/KernelAbi.h"

#include <string>

namespace attn::emu {

/// Checks `spec` and writes the emulator's encoding into the 128 bytes at
/// `map` (64-byte aligned, like a CUtensorMap). Returns an empty string, or
/// what is wrong, naming the field as cuTensorMapEncodeTiled's documentation
/// does; `map` is then left untouched.
std::string encodeTensorMap(const abi::TensorMapRequest &spec, void *map);

} // namespace attn::emu

#endif // ATTN_EMU_TENSORMAP_H
