//===- CudaBackend.h - plans on a GPU through the driver API ----*- C++ -*-===//
//
// Loads a cubin or PTX image as a module of the runtime's context, opts the
// kernel in to its dynamic shared memory when that exceeds the 48 KB
// default, and launches it with its one by-value parameter struct. Also the
// device memory of attn::Buffer and the lse workspace. Every driver call's
// status becomes a message naming the call.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_CUDABACKEND_H
#define ATTN_RUNTIME_JIT_CUDABACKEND_H

#include "CudaDriver.h"

#include "attn/Plan.h"
#include "attn/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attn::jit {

/// A loaded module and its kernel; unloaded on destruction.
struct CudaModule {
  const cuda::DriverApi *api = nullptr;
  const cuda::GpuInfo *gpu = nullptr;
  cuda::CUmodule module = nullptr;
  cuda::CUfunction function = nullptr;
  ~CudaModule();
};

/// Loads `image` (cubin bytes or PTX text) and finds `kernelName`; sets the
/// dynamic shared memory opt-in when `dynamicSmemBytes` > 48 KB.
Expected<std::shared_ptr<CudaModule>>
loadCudaModule(const std::string &image, const std::string &kernelName,
               int64_t dynamicSmemBytes);

/// One launch on a GPU.
struct CudaLaunch {
  std::vector<uint64_t> *params = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned threads = 1;
  unsigned dynamicSmemBytes = 0;
  void *stream = nullptr;
};

/// Queues `launch` on its stream.
Status launchCuda(const CudaModule &module, const CudaLaunch &launch);

/// One warm-up launch, then `repeats` launches timed with events; the
/// median and minimum.
Expected<BenchResult> benchCuda(const CudaModule &module,
                                const CudaLaunch &launch, int repeats);

/// Device memory; freed on destruction.
struct DeviceMemory {
  const cuda::DriverApi *api = nullptr;
  cuda::CUdeviceptr pointer = 0;
  std::size_t bytes = 0;
  ~DeviceMemory();
};

/// Allocates `bytes` on the runtime's GPU.
Expected<std::shared_ptr<DeviceMemory>> allocateDevice(std::size_t bytes);

/// Copies between host and device memory (synchronous).
Status copyToDevice(cuda::CUdeviceptr dst, const void *src, std::size_t n);
/// Copies between device and host memory (synchronous).
Status copyToHost(void *dst, cuda::CUdeviceptr src, std::size_t n);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_CUDABACKEND_H
