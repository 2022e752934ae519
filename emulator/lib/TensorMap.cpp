//===- TensorMap.cpp - The emulator's tensor-map encoder ------------------===//
//
// See attn/emu/TensorMap.h. The checks follow the CUDA driver API's
// documentation of cuTensorMapEncodeTiled.
//
//===----------------------------------------------------------------------===//

#include "attn/emu/TensorMap.h"

#include "attn/emu/cuda_emu.h"

#include <cstring>

namespace attn::emu {

static_assert(sizeof(EmuTensorMap) <= 128,
              "the emulator's tensor map must fit a CUtensorMap");

std::string encodeTensorMap(const abi::TensorMapRequest &spec, void *map) {
  auto d = [](unsigned i) { return "[" + std::to_string(i) + "]"; };
  if (reinterpret_cast<std::uintptr_t>(map) % 64)
    return "the tensor map must be 64-byte aligned";
  if (spec.rank < 1 || spec.rank > 5)
    return "tensorRank " + std::to_string(spec.rank) + " is not in 1-5";
  if (spec.elementBytes != 2 && spec.elementBytes != 4)
    return "element size " + std::to_string(spec.elementBytes) +
           " bytes is not supported (2 or 4)";
  if (!spec.base || reinterpret_cast<std::uintptr_t>(spec.base) % 16)
    return "globalAddress must be non-null and 16-byte aligned";
  for (unsigned i = 0; i < spec.rank; ++i) {
    if (spec.dims[i] == 0 || spec.dims[i] > (1ull << 32))
      return "globalDim" + d(i) + " = " + std::to_string(spec.dims[i]) +
             " is not in 1-2^32";
    if (spec.box[i] == 0 || spec.box[i] > 256)
      return "boxDim" + d(i) + " = " + std::to_string(spec.box[i]) +
             " is not in 1-256";
  }
  for (unsigned i = 1; i < spec.rank; ++i)
    if (spec.strideBytes[i] % 16 || spec.strideBytes[i] >= (1ull << 40) ||
        spec.strideBytes[i] == 0)
      return "globalStrides" + d(i) + " = " +
             std::to_string(spec.strideBytes[i]) +
             " must be a positive multiple of 16 below 2^40";
  unsigned innerBytes = spec.box[0] * spec.elementBytes;
  if (innerBytes % 16)
    return "boxDim[0] * element size = " + std::to_string(innerBytes) +
           " bytes is not a multiple of 16";
  unsigned swizzleBits = spec.swizzleBytes == 0     ? 0
                         : spec.swizzleBytes == 32  ? 1
                         : spec.swizzleBytes == 64  ? 2
                         : spec.swizzleBytes == 128 ? 3
                                                    : 4;
  if (swizzleBits == 4)
    return "swizzle of " + std::to_string(spec.swizzleBytes) +
           " bytes is not 0, 32, 64 or 128";
  if (swizzleBits && innerBytes > spec.swizzleBytes)
    return "the box's inner dimension (" + std::to_string(innerBytes) +
           " bytes) exceeds the " + std::to_string(spec.swizzleBytes) +
           "-byte swizzle span";

  EmuTensorMap encoded{};
  encoded.magic = kEmuTensorMapMagic;
  encoded.base = spec.base;
  encoded.rank = spec.rank;
  encoded.elementBytes = spec.elementBytes;
  encoded.strideBytes[0] = spec.elementBytes;
  for (unsigned i = 0; i < 5; ++i) {
    encoded.dims[i] = i < spec.rank ? spec.dims[i] : 1;
    encoded.box[i] = i < spec.rank ? spec.box[i] : 1;
    if (i > 0)
      encoded.strideBytes[i] = i < spec.rank ? spec.strideBytes[i] : 0;
  }
  encoded.swizzleBits = swizzleBits;
  std::memset(map, 0, 128);
  std::memcpy(map, &encoded, sizeof encoded);
  return {};
}

} // namespace attn::emu
