//===- CudaDriver.h - the CUDA driver API, loaded with dlopen ---*- C++ -*-===//
//
// The runtime has no link-time dependency on a CUDA driver: libcuda.so.1
// (or $ATTN_LIBCUDA) is dlopen'ed on first use and the handful of entry
// points the runtime calls are resolved by name. Every call's status is
// checked and turned into a message naming the call and the driver's text
// for the status. The types are declared here (ABI-compatible with cuda.h)
// so that the runtime builds without the CUDA toolkit.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_CUDADRIVER_H
#define ATTN_RUNTIME_JIT_CUDADRIVER_H

#include "attn/Status.h"

#include <cstddef>
#include <string>

namespace attn::jit::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;

/// cuda.h's values of the enumerators the runtime uses.
enum : int {
  CUDA_SUCCESS = 0,
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};

/// The oldest driver attn's kernels run on: they are compiled by NVRTC 13.0
/// (TOOLCHAIN.md), whose cubins and PTX need a CUDA 13.0 driver (r580+).
inline constexpr int kRequiredDriverVersion = 13000;

/// The driver entry points the runtime calls.
struct DriverApi {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuCtxGetCurrent)(CUcontext *);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuStreamSynchronize)(CUstream);
  /// (CUtensorMap *, CUtensorMapDataType, rank, globalAddress, globalDim,
  /// globalStrides, boxDim, elementStrides, interleave, swizzle,
  /// l2Promotion, oobFill); the enums are C enums (int).
  CUresult (*cuTensorMapEncodeTiled)(void *, int, unsigned, void *,
                                     const uint64_t *, const uint64_t *,
                                     const unsigned *, const unsigned *, int,
                                     int, int, int);

  /// "cuModuleLoadData failed: CUDA_ERROR_NO_BINARY_FOR_GPU (no kernel
  /// image is available for execution on the device) [209]".
  std::string callError(const char *call, CUresult status) const;
};

/// The GPU the runtime uses (device 0) and its driver.
struct GpuInfo {
  int ordinal = 0;
  int major = 0, minor = 0;
  /// Streaming multiprocessors (the split-KV choice compares grids to it).
  int multiprocessors = 0;
  int driverVersion = 0;
  std::string name;
  /// The primary context, retained once per process.
  CUcontext context = nullptr;
};

/// Loads the driver library `library` (a name for dlopen or a path),
/// checks its version, initialises it and probes device 0, without caching
/// anything: false with the reason (cannot load, a stub, a driver older than
/// CUDA 13, no device) in `*error`. Never crashes.
bool openDriver(const std::string &library, DriverApi &api, GpuInfo &gpu,
                std::string *error);

/// openDriver of $ATTN_LIBCUDA, else libcuda.so.1, once per process; null
/// with the reason in `*error` when there is no usable GPU.
const DriverApi *loadDriver(const GpuInfo **gpu, std::string *error);

/// Makes the runtime's context current on the calling thread when no
/// context is.
Status makeContextCurrent(const DriverApi &api, const GpuInfo &gpu);

/// A driver version number as "13.0".
std::string driverVersionString(int version);

} // namespace attn::jit::cuda

#endif // ATTN_RUNTIME_JIT_CUDADRIVER_H
