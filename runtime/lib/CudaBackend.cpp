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
                          const std::vector<CudaKernelRef> &kernels) {
  auto m = std::make_shared<CudaModule>();
  if (Status s = driverReady(&m->api, &m->gpu); !s.ok())
    return s;
  const DriverApi &a = *m->api;
  std::string what = kernels.empty() ? "a module" : "'" + kernels[0].name + "'";
  // PTX must be NUL-terminated; a cubin is self-delimiting.
  std::string data = image;
  data.push_back('\0');
  if (CUresult s = a.cuModuleLoadData(&m->module, data.data()))
    return Status::error(a.callError("cuModuleLoadData", s) + " loading " +
                         what + " on " + m->gpu->name);
  for (const CudaKernelRef &kernel : kernels) {
    CUfunction function = nullptr;
    if (CUresult s =
            a.cuModuleGetFunction(&function, m->module, kernel.name.c_str()))
      return Status::error(a.callError("cuModuleGetFunction", s) + " for '" +
                           kernel.name + "'");
    // The opt-in is per function: each kernel of a plan needs its own.
    if (kernel.dynamicSmemBytes > kDefaultSmemLimit)
      if (CUresult s = a.cuFuncSetAttribute(
              function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
              static_cast<int>(kernel.dynamicSmemBytes)))
        return Status::error(
            a.callError("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)",
                        s) +
            ": '" + kernel.name + "' needs " +
            std::to_string(kernel.dynamicSmemBytes) +
            " bytes of dynamic shared memory");
    m->functions.push_back(function);
  }
  return m;
}

Status attn::jit::launchCuda(const CudaModule &m,
                             const std::vector<CudaLaunch> &launches,
                             void *stream) {
  const DriverApi &a = *m.api;
  if (Status s = makeContextCurrent(a, *m.gpu); !s.ok())
    return s;
  for (const CudaLaunch &l : launches) {
    // The kernel's one parameter is the struct; cuLaunchKernel copies it,
    // so the kernels of a plan may share one host copy.
    void *args[] = {const_cast<uint64_t *>(l.params->data())};
    if (CUresult s =
            a.cuLaunchKernel(m.functions[l.kernel], l.grid[0], l.grid[1],
                             l.grid[2], l.threads, 1, 1, l.dynamicSmemBytes,
                             static_cast<CUstream>(stream), args, nullptr))
      return Status::error(a.callError("cuLaunchKernel", s));
  }
  return Status::success();
}

Expected<BenchResult> attn::jit::benchCuda(const CudaModule &m,
                                           const std::vector<CudaLaunch> &l,
                                           void *stream, int repeats) {
  const DriverApi &a = *m.api;
  if (Status s = launchCuda(m, l, stream); !s.ok())
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
    if ((s = a.cuEventRecord(start, static_cast<CUstream>(stream))))
      error = a.callError("cuEventRecord", s);
    else if (Status launched = launchCuda(m, l, stream); !launched.ok())
      error = launched.message();
    else if ((s = a.cuEventRecord(stop, static_cast<CUstream>(stream))))
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
