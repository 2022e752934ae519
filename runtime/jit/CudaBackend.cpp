//===- CudaBackend.cpp - plans on a GPU through the driver API ------------===//

#include "CudaBackend.h"

#include <algorithm>

using namespace attn;
using namespace attn::jit;
using namespace attn::jit::cuda;

namespace {
/// The driver with a context current on this thread, or the reason why not.
Status driverReady(const DriverApi **api, const GpuInfo **gpu) {
  std::string error;
  *api = loadDriver(gpu, &error);
  if (!*api)
    return Status::error(error);
  return makeContextCurrent(**api, **gpu);
}

/// Static shared memory is capped at 48 KB; dynamic beyond needs an opt-in.
constexpr int64_t kDefaultSmemLimit = 48 * 1024;
} // namespace

CudaModule::~CudaModule() {
  if (module && api)
    api->cuModuleUnload(module);
}

Expected<std::shared_ptr<CudaModule>>
attn::jit::loadCudaModule(const std::string &image,
                          const std::string &kernelName,
                          int64_t dynamicSmemBytes) {
  auto m = std::make_shared<CudaModule>();
  if (Status s = driverReady(&m->api, &m->gpu); !s.ok())
    return s;
  const DriverApi &a = *m->api;
  // PTX must be NUL-terminated; a cubin is self-delimiting.
  std::string data = image;
  data.push_back('\0');
  if (CUresult s = a.cuModuleLoadData(&m->module, data.data()))
    return Status::error(a.callError("cuModuleLoadData", s) + " loading '" +
                         kernelName + "' on " + m->gpu->name);
  if (CUresult s =
          a.cuModuleGetFunction(&m->function, m->module, kernelName.c_str()))
    return Status::error(a.callError("cuModuleGetFunction", s) + " for '" +
                         kernelName + "'");
  if (dynamicSmemBytes > kDefaultSmemLimit)
    if (CUresult s = a.cuFuncSetAttribute(
            m->function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            static_cast<int>(dynamicSmemBytes)))
      return Status::error(
          a.callError("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", s) +
          ": '" + kernelName + "' needs " + std::to_string(dynamicSmemBytes) +
          " bytes of dynamic shared memory");
  return m;
}

Status attn::jit::launchCuda(const CudaModule &m, const CudaLaunch &l) {
  const DriverApi &a = *m.api;
  if (Status s = makeContextCurrent(a, *m.gpu); !s.ok())
    return s;
  // The kernel's one parameter is the struct; cuLaunchKernel copies it.
  void *args[] = {l.params->data()};
  if (CUresult s = a.cuLaunchKernel(
          m.function, l.grid[0], l.grid[1], l.grid[2], l.threads, 1, 1,
          l.dynamicSmemBytes, static_cast<CUstream>(l.stream), args, nullptr))
    return Status::error(a.callError("cuLaunchKernel", s));
  return Status::success();
}

Expected<BenchResult> attn::jit::benchCuda(const CudaModule &m,
                                           const CudaLaunch &l, int repeats) {
  const DriverApi &a = *m.api;
  if (Status s = launchCuda(m, l); !s.ok())
    return s;
  CUevent start = nullptr, stop = nullptr;
  CUresult s;
  if ((s = a.cuEventCreate(&start, 0)) || (s = a.cuEventCreate(&stop, 0))) {
    if (start)
      a.cuEventDestroy(start);
    return Status::error(a.callError("cuEventCreate", s));
  }
  std::vector<double> times;
  std::string error;
  for (int r = 0; r < repeats && error.empty(); ++r) {
    float ms = 0;
    if ((s = a.cuEventRecord(start, static_cast<CUstream>(l.stream))))
      error = a.callError("cuEventRecord", s);
    else if (Status launched = launchCuda(m, l); !launched.ok())
      error = launched.message();
    else if ((s = a.cuEventRecord(stop, static_cast<CUstream>(l.stream))))
      error = a.callError("cuEventRecord", s);
    else if ((s = a.cuEventSynchronize(stop)))
      error = a.callError("cuEventSynchronize", s);
    else if ((s = a.cuEventElapsedTime(&ms, start, stop)))
      error = a.callError("cuEventElapsedTime", s);
    else
      times.push_back(ms);
  }
  a.cuEventDestroy(start);
  a.cuEventDestroy(stop);
  if (!error.empty())
    return Status::error(error);
  if (times.empty())
    return Status::error("--bench needs at least one repeat");
  std::sort(times.begin(), times.end());
  BenchResult result;
  result.repeats = static_cast<int>(times.size());
  result.minMs = times.front();
  size_t n = times.size();
  result.medianMs =
      n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  return result;
}

DeviceMemory::~DeviceMemory() {
  if (pointer && api)
    api->cuMemFree(pointer);
}

Expected<std::shared_ptr<DeviceMemory>>
attn::jit::allocateDevice(std::size_t bytes) {
  auto m = std::make_shared<DeviceMemory>();
  const GpuInfo *gpu;
  if (Status s = driverReady(&m->api, &gpu); !s.ok())
    return s;
  if (CUresult s = m->api->cuMemAlloc(&m->pointer, std::max<size_t>(bytes, 1)))
    return Status::error(m->api->callError("cuMemAlloc", s) + " of " +
                         std::to_string(bytes) + " bytes");
  m->bytes = bytes;
  return m;
}

Status attn::jit::copyToDevice(CUdeviceptr dst, const void *src,
                               std::size_t n) {
  const DriverApi *api;
  const GpuInfo *gpu;
  if (Status s = driverReady(&api, &gpu); !s.ok())
    return s;
  if (CUresult s = api->cuMemcpyHtoD(dst, src, n))
    return Status::error(api->callError("cuMemcpyHtoD", s));
  return Status::success();
}

Status attn::jit::copyToHost(void *dst, CUdeviceptr src, std::size_t n) {
  const DriverApi *api;
  const GpuInfo *gpu;
  if (Status s = driverReady(&api, &gpu); !s.ok())
    return s;
  if (CUresult s = api->cuMemcpyDtoH(dst, src, n))
    return Status::error(api->callError("cuMemcpyDtoH", s));
  return Status::success();
}
