//===- PlanImpl.h - what a Plan holds ---------------------------*- C++ -*-===//

#ifndef ATTN_RUNTIME_JIT_PLANIMPL_H
#define ATTN_RUNTIME_JIT_PLANIMPL_H

#include "CudaBackend.h"
#include "EmuBackend.h"
#include "PlanSpec.h"

#include "attn/Plan.h"

#include <memory>
#include <mutex>
#include <vector>

namespace attn::detail {

/// A plan: the spec (with the kernel's arch, artifact and cache key filled
/// in) and the loaded artifact for its device.
struct PlanImpl {
  jit::PlanSpec spec;
  DeviceKind device = DeviceKind::Emu;
  /// cuda: the GPU ordinal tensors must live on.
  int ordinal = 0;
  std::shared_ptr<jit::EmuKernel> emu;
  std::shared_ptr<jit::CudaModule> cuda;

  /// cuda: lse workspaces for callers that pass no lse. Grown, never freed
  /// while the plan lives: a kernel queued on another stream may still be
  /// writing an older one.
  mutable std::mutex workspaceMutex;
  mutable std::vector<std::shared_ptr<jit::DeviceMemory>> workspaces;
};

} // namespace attn::detail

#endif // ATTN_RUNTIME_JIT_PLANIMPL_H
