//===- CudaBackend.h - plans on a GPU through the driver API ----*- C++ -*-===//
//
// Loads a cubin or PTX image (all the kernels of a launch plan) as a module
// of the runtime's context, opts each kernel in to its dynamic shared memory
// when that exceeds the 48 KB default, and launches the kernels in order on
// one stream, each with the plan's one by-value parameter struct. Also the
// device memory of attn::Buffer and of the runtime's scratch buffers (lse,
// split-KV workspaces, tile summaries). Every driver call's status becomes a
// message naming the call.
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

/// A loaded module and the kernels of its plan; unloaded on destruction.
struct CudaModule {
  const cuda::DriverApi *api = nullptr;
  const cuda::GpuInfo *gpu = nullptr;
  cuda::CUmodule module = nullptr;
  /// The plan's kernels, in launch order.
  std::vector<cuda::CUfunction> functions;
  ~CudaModule();
};

/// A kernel to find in a module.
struct CudaKernelRef {
  std::string name;
  /// Dynamic shared memory per CTA; over 48 KB the kernel is opted in.
  int64_t dynamicSmemBytes = 0;
};

/// Loads `image` (cubin bytes or PTX text) and finds `kernels`, opting
/// each in to its dynamic shared memory when that exceeds 48 KB.
Expected<std::shared_ptr<CudaModule>>
loadCudaModule(const std::string &image,
               const std::vector<CudaKernelRef> &kernels);

/// One kernel launch on a GPU.
struct CudaLaunch {
  /// Index into CudaModule::functions.
  size_t kernel = 0;
  /// The parameter struct (shared by a plan's launches).
  const std::vector<uint64_t> *params = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned threads = 1;
  unsigned dynamicSmemBytes = 0;
};

/// Queues `launches` in order on `stream` (a CUstream; null: the default
/// stream), which orders each after the one before.
Status launchCuda(const CudaModule &module,
                  const std::vector<CudaLaunch> &launches, void *stream);

/// One warm-up run of `launches`, then `repeats` runs each timed with
/// events around the whole sequence; the median and minimum.
Expected<BenchResult> benchCuda(const CudaModule &module,
                                const std::vector<CudaLaunch> &launches,
                                void *stream, int repeats);

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
