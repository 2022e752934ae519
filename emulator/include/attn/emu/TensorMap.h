//===- TensorMap.h - The emulator's tensor-map encoder ---------*- C++ -*-===//
//
// On a GPU the driver's cuTensorMapEncodeTiled fills the 128-byte tensor map
// a TMA kernel receives; the emulator has no driver, so this encoder fills
// the same 128 bytes with attn::emu::EmuTensorMap (cuda_emu.h), after the
// checks the driver documents for the subset attn uses: a tiled map of rank
// 1-5, 16-bit or 32-bit elements, no interleave, element strides of 1,
// zero-filled out-of-bounds elements.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMU_TENSORMAP_H
#define ATTN_EMU_TENSORMAP_H

#include <cstdint>
#include <string>

namespace attn::emu {

/// The arguments of cuTensorMapEncodeTiled that attn uses.
struct TensorMapSpec {
  const void *base = nullptr;              ///< globalAddress (16-byte aligned)
  unsigned rank = 2;                       ///< 1-5
  unsigned elementBytes = 2;               ///< 2 (f16, bf16) or 4 (f32)
  std::uint64_t dims[5] = {1, 1, 1, 1, 1}; ///< globalDim, innermost first
  /// globalStrides: bytes between consecutive indices of dimension d for
  /// d = 1 .. rank-1 (dimension 0 is contiguous; [0] is ignored).
  std::uint64_t strideBytes[5] = {0, 0, 0, 0, 0};
  unsigned box[5] = {1, 1, 1, 1, 1}; ///< boxDim, innermost first
  unsigned swizzleBytes = 0;         ///< 0, 32, 64 or 128
};

/// Checks `spec` and writes the emulator's encoding into the 128 bytes at
/// `map` (64-byte aligned, like a CUtensorMap). Returns an empty string, or
/// what is wrong, naming the field as cuTensorMapEncodeTiled's documentation
/// does; `map` is then left untouched.
std::string encodeTensorMap(const TensorMapSpec &spec, void *map);

} // namespace attn::emu

#endif // ATTN_EMU_TENSORMAP_H
