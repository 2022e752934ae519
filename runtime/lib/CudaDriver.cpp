//===- CudaDriver.cpp - the CUDA driver API, loaded with dlopen -----------===//

#include "CudaDriver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

using namespace attn;
using namespace attn::jit::cuda;

namespace {
/// Resolves `name` (or, when missing, `fallback`) into `fn`.
template <typename Fn>
bool resolve(void *handle, Fn &fn, const char *name, std::string *missing,
             const char *fallback = nullptr) {
  void *symbol = dlsym(handle, name);
  if (!symbol && fallback)
    symbol = dlsym(handle, fallback);
  fn = reinterpret_cast<Fn>(symbol);
  if (!fn && missing->empty())
    *missing = name;
  return fn != nullptr;
}

struct Loaded {
  DriverApi api{};
  GpuInfo gpu;
  std::string error;
  bool ok = false;
};
} // namespace

bool attn::jit::cuda::openDriver(const std::string &library, DriverApi &a,
                                 GpuInfo &g, std::string *error) {
  const char *name = library.c_str();
  void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    *error = std::string("no CUDA driver: cannot load ") + name + " (" +
             (why ? why : "unknown error") + ")";
    return false;
  }
  std::string missing;
  // The _v2 names are what cuda.h maps the plain names to since CUDA 4-12;
  // the plain names remain for old binaries.
  resolve(handle, a.cuInit, "cuInit", &missing);
  resolve(handle, a.cuDriverGetVersion, "cuDriverGetVersion", &missing);
  resolve(handle, a.cuDeviceGetCount, "cuDeviceGetCount", &missing);
  resolve(handle, a.cuDeviceGet, "cuDeviceGet", &missing);
  resolve(handle, a.cuDeviceGetAttribute, "cuDeviceGetAttribute", &missing);
  resolve(handle, a.cuDeviceGetName, "cuDeviceGetName", &missing);
  resolve(handle, a.cuCtxGetCurrent, "cuCtxGetCurrent", &missing);
  resolve(handle, a.cuCtxSetCurrent, "cuCtxSetCurrent", &missing);
  resolve(handle, a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",
          &missing);
  resolve(handle, a.cuModuleLoadData, "cuModuleLoadData", &missing);
  resolve(handle, a.cuModuleUnload, "cuModuleUnload", &missing);
  resolve(handle, a.cuModuleGetFunction, "cuModuleGetFunction", &missing);
  resolve(handle, a.cuFuncSetAttribute, "cuFuncSetAttribute", &missing);
  resolve(handle, a.cuLaunchKernel, "cuLaunchKernel", &missing);
  resolve(handle, a.cuGetErrorString, "cuGetErrorString", &missing);
  resolve(handle, a.cuGetErrorName, "cuGetErrorName", &missing);
  resolve(handle, a.cuMemAlloc, "cuMemAlloc_v2", &missing, "cuMemAlloc");
  resolve(handle, a.cuMemFree, "cuMemFree_v2", &missing, "cuMemFree");
  resolve(handle, a.cuMemcpyHtoD, "cuMemcpyHtoD_v2", &missing, "cuMemcpyHtoD");
  resolve(handle, a.cuMemcpyDtoH, "cuMemcpyDtoH_v2", &missing, "cuMemcpyDtoH");
  resolve(handle, a.cuEventCreate, "cuEventCreate", &missing);
  resolve(handle, a.cuEventDestroy, "cuEventDestroy_v2", &missing,
          "cuEventDestroy");
  resolve(handle, a.cuEventRecord, "cuEventRecord", &missing);
  resolve(handle, a.cuEventSynchronize, "cuEventSynchronize", &missing);
  resolve(handle, a.cuEventElapsedTime, "cuEventElapsedTime_v2", &missing,
          "cuEventElapsedTime");
  resolve(handle, a.cuStreamSynchronize, "cuStreamSynchronize", &missing);
  resolve(handle, a.cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled", &missing);
  if (!missing.empty()) {
    *error = std::string("the CUDA driver ") + name + " lacks " + missing +
             " (too old for attn: it needs CUDA " +
             driverVersionString(kRequiredDriverVersion) + " or newer)";
    return false;
  }
  // The version first: an old driver's cuInit may fail for reasons that say
  // less than "too old".
  int version = 0;
  if (CUresult s = a.cuDriverGetVersion(&version)) {
    *error = a.callError("cuDriverGetVersion", s);
    return false;
  }
  g.driverVersion = version;
  if (version < kRequiredDriverVersion) {
    *error = "the CUDA driver supports CUDA " + driverVersionString(version) +
             " but attn's kernels (NVRTC 13.0) need CUDA " +
             driverVersionString(kRequiredDriverVersion) +
             " or newer (an r580+ driver)";
    return false;
  }
  if (CUresult s = a.cuInit(0)) {
    *error = a.callError("cuInit", s);
    return false;
  }
  int count = 0;
  if (CUresult s = a.cuDeviceGetCount(&count)) {
    *error = a.callError("cuDeviceGetCount", s);
    return false;
  }
  if (count == 0) {
    *error = "the CUDA driver sees no GPU";
    return false;
  }
  CUdevice device;
  CUresult s;
  char name256[256] = {0};
  if ((s = a.cuDeviceGet(&device, 0)) ||
      (s = a.cuDeviceGetAttribute(
           &g.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)) ||
      (s = a.cuDeviceGetAttribute(
           &g.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device)) ||
      (s = a.cuDeviceGetAttribute(&g.multiprocessors,
                                  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                  device)) ||
      (s = a.cuDeviceGetName(name256, sizeof name256 - 1, device))) {
    *error = a.callError("querying GPU 0", s);
    return false;
  }
  g.ordinal = device;
  g.name = name256;
  if ((s = a.cuDevicePrimaryCtxRetain(&g.context, device))) {
    *error = a.callError("cuDevicePrimaryCtxRetain", s);
    return false;
  }
  return true;
}

std::string DriverApi::callError(const char *call, CUresult status) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName)
    cuGetErrorName(status, &name);
  if (cuGetErrorString)
    cuGetErrorString(status, &text);
  std::string out = std::string(call) + " failed: ";
  out += name ? name : "CUDA error";
  if (text)
    out += std::string(" (") + text + ")";
  return out + " [" + std::to_string(status) + "]";
}

const DriverApi *attn::jit::cuda::loadDriver(const GpuInfo **gpu,
                                             std::string *error) {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *env = std::getenv("ATTN_LIBCUDA");
    loaded.ok = openDriver(env && *env ? env : "libcuda.so.1", loaded.api,
                           loaded.gpu, &loaded.error);
  });
  if (!loaded.ok) {
    *error = loaded.error;
    return nullptr;
  }
  *gpu = &loaded.gpu;
  return &loaded.api;
}

Status attn::jit::cuda::makeContextCurrent(const DriverApi &api,
                                           const GpuInfo &gpu) {
  CUcontext current = nullptr;
  if (CUresult s = api.cuCtxGetCurrent(&current))
    return Status::error(api.callError("cuCtxGetCurrent", s));
  if (current)
    return Status::success();
  if (CUresult s = api.cuCtxSetCurrent(gpu.context))
    return Status::error(api.callError("cuCtxSetCurrent", s));
  return Status::success();
}

std::string attn::jit::cuda::driverVersionString(int version) {
  return std::to_string(version / 1000) + "." +
         std::to_string((version % 1000) / 10);
}
