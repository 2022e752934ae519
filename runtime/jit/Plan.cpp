//===- Plan.cpp - validating and launching a plan -------------------------===//

#include "PlanImpl.h"
#include "Validate.h"

using namespace attn;
using namespace attn::jit;

const char *attn::deviceName(DeviceKind device) {
  switch (device) {
  case DeviceKind::Auto:
    return "auto";
  case DeviceKind::Cuda:
    return "cuda";
  case DeviceKind::Emu:
    return "emu";
  }
  return "?";
}

bool attn::parseDevice(std::string_view text, DeviceKind &out) {
  for (DeviceKind d : {DeviceKind::Auto, DeviceKind::Cuda, DeviceKind::Emu})
    if (text == deviceName(d)) {
      out = d;
      return true;
    }
  return false;
}

std::string attn::dtypeName(DLDataType t) {
  std::string base;
  switch (t.code) {
  case kDLFloat:
    base = "float";
    break;
  case kDLBfloat:
    base = "bfloat";
    break;
  case kDLInt:
    base = "int";
    break;
  case kDLUInt:
    base = "uint";
    break;
  default:
    base = "type" + std::to_string(t.code) + "_";
  }
  base += std::to_string(t.bits);
  if (t.lanes != 1)
    base += "x" + std::to_string(t.lanes);
  return base;
}

DeviceKind Plan::device() const { return impl->device; }
const Signature &Plan::signature() const { return impl->spec.signature; }
const KernelInfo &Plan::kernel() const { return impl->spec.kernel; }

Status Plan::validate(const Arguments &args) const {
  BoundSizes sizes;
  return validateArguments(impl->spec.signature, args, impl->device,
                           impl->ordinal, &sizes);
}

namespace {
/// The launch of validated arguments: params and grid. Nothing to launch
/// when a grid dimension is empty.
struct Prepared {
  BoundSizes sizes;
  std::vector<uint64_t> params;
  unsigned grid[3] = {0, 0, 0};
  bool empty = true;
  /// emu: the lse workspace when the caller passes none.
  std::vector<float> hostLse;
};

Status prepare(const detail::PlanImpl &p, const Arguments &args,
               Prepared &out) {
  if (Status s = validateArguments(p.spec.signature, args, p.device, p.ordinal,
                                   &out.sizes);
      !s.ok())
    return s;
  int64_t b = out.sizes.at("b"), hq = out.sizes.at("hq"),
          nq = out.sizes.at("nq");
  int64_t tiles = (nq + p.spec.kernel.blockM - 1) / p.spec.kernel.blockM;
  // Grid limits: x < 2^31, y and z < 2^16.
  if (tiles >= (int64_t(1) << 31) || hq >= 65536 || b >= 65536)
    return Status::error("the grid (" + std::to_string(tiles) + ", " +
                         std::to_string(hq) + ", " + std::to_string(b) +
                         ") exceeds CUDA's limits (2^31-1, 65535, 65535)");
  out.grid[0] = static_cast<unsigned>(tiles);
  out.grid[1] = static_cast<unsigned>(hq);
  out.grid[2] = static_cast<unsigned>(b);
  out.empty = tiles == 0 || hq == 0 || b == 0;
  void *lse = nullptr;
  size_t lseCount = static_cast<size_t>(b * hq * nq);
  if (p.spec.signature.hasLse() && !args.lse && !out.empty) {
    if (p.device == DeviceKind::Emu) {
      out.hostLse.resize(lseCount);
      lse = out.hostLse.data();
    } else {
      std::lock_guard<std::mutex> lock(p.workspaceMutex);
      size_t bytes = lseCount * sizeof(float);
      if (p.workspaces.empty() || p.workspaces.back()->bytes < bytes) {
        auto memory = allocateDevice(bytes);
        if (!memory)
          return Status::error("allocating the lse workspace: " +
                               memory.message());
        p.workspaces.push_back(*memory);
      }
      lse = reinterpret_cast<void *>(p.workspaces.back()->pointer);
    }
  }
  out.params = buildParams(p.spec, args, out.sizes, lse);
  return Status::success();
}

CudaLaunch cudaLaunch(const detail::PlanImpl &p, Prepared &prepared,
                      const RunOptions &options) {
  CudaLaunch l;
  l.params = &prepared.params;
  std::copy(prepared.grid, prepared.grid + 3, l.grid);
  l.threads = static_cast<unsigned>(p.spec.kernel.threads);
  l.dynamicSmemBytes = static_cast<unsigned>(p.spec.kernel.dynamicSmemBytes);
  l.stream = options.stream;
  return l;
}
} // namespace

Status Plan::run(const Arguments &args, const RunOptions &options,
                 RunStats *stats) const {
  const detail::PlanImpl &p = *impl;
  Prepared prepared;
  if (Status s = prepare(p, args, prepared); !s.ok())
    return s;
  if (stats) {
    *stats = RunStats();
    stats->device = p.device;
  }
  if (prepared.empty)
    return Status::success();
  if (p.device == DeviceKind::Cuda)
    return launchCuda(*p.cuda, cudaLaunch(p, prepared, options));
  EmuLaunch l;
  l.kernelName = p.spec.kernel.name;
  l.params = prepared.params.data();
  std::copy(prepared.grid, prepared.grid + 3, l.grid);
  l.threads = static_cast<unsigned>(p.spec.kernel.threads);
  l.dynamicSmemBytes = static_cast<size_t>(p.spec.kernel.dynamicSmemBytes);
  l.countGlobalAccesses = options.countGlobalAccesses;
  return launchEmu(*p.emu, l, stats);
}

Expected<BenchResult> Plan::benchmark(const Arguments &args, int repeats,
                                      const RunOptions &options) const {
  const detail::PlanImpl &p = *impl;
  if (p.device != DeviceKind::Cuda)
    return Status::error(
        "no timing on the emulator: its wall time measures the CPU "
        "emulation, not the kernel; use the counters (RunStats)");
  if (repeats < 1)
    return Status::error("benchmark needs at least one repeat");
  Prepared prepared;
  if (Status s = prepare(p, args, prepared); !s.ok())
    return s;
  if (prepared.empty)
    return Status::error("nothing to time: the grid is empty");
  return benchCuda(*p.cuda, cudaLaunch(p, prepared, options), repeats);
}
