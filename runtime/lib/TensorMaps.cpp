//===- TensorMaps.cpp - Tensor-map encoders of the two backends -----------===//

#include "TensorMaps.h"

#include "CudaDriver.h"

#include "attn/emu/TensorMap.h"

using namespace attn;

namespace {

std::string encodeForGpu(const abi::TensorMapRequest &r, void *map) {
  const jit::cuda::GpuInfo *gpu = nullptr;
  std::string error;
  const jit::cuda::DriverApi *api = jit::cuda::loadDriver(&gpu, &error);
  if (!api)
    return error;
  // CUtensorMapDataType: a copy only needs the element size (UINT16 = 1,
  // UINT32 = 2); CUtensorMapSwizzle: NONE, 32B, 64B, 128B = 0-3.
  int dataType = r.elementBytes == 2 ? 1 : r.elementBytes == 4 ? 2 : -1;
  int swizzle = r.swizzleBytes == 0     ? 0
                : r.swizzleBytes == 32  ? 1
                : r.swizzleBytes == 64  ? 2
                : r.swizzleBytes == 128 ? 3
                                        : -1;
  if (dataType < 0 || swizzle < 0 || r.rank < 1 || r.rank > 5)
    return "unsupported tensor map (element size " +
           std::to_string(r.elementBytes) + ", swizzle " +
           std::to_string(r.swizzleBytes) + ", rank " + std::to_string(r.rank) +
           ")";
  unsigned elementStrides[5] = {1, 1, 1, 1, 1};
  jit::cuda::CUresult status = api->cuTensorMapEncodeTiled(
      map, dataType, r.rank, const_cast<void *>(r.base), r.dims,
      r.strideBytes + 1, r.box, elementStrides, /*interleave=*/0, swizzle,
      /*l2Promotion=L2_128B*/ 2, /*oobFill=zeros*/ 0);
  if (status != 0)
    return api->callError("cuTensorMapEncodeTiled", status);
  return {};
}

} // namespace

abi::TensorMapEncoder attn::jit::tensorMapEncoder(DeviceKind device) {
  if (device == DeviceKind::Cuda)
    return encodeForGpu;
  return emu::encodeTensorMap;
}
