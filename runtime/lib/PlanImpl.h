//===- PlanImpl.h - what a Plan holds ---------------------------*- C++ -*-===//

#ifndef ATTN_RUNTIME_JIT_PLANIMPL_H
#define ATTN_RUNTIME_JIT_PLANIMPL_H

#include "CudaBackend.h"
#include "EmuBackend.h"
#include "Keys.h"
#include "PlanSpec.h"

#include "attn/Plan.h"
#include "attn/Runtime.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace attn::detail {

class RuntimeImpl;

/// A plan: the spec (with the kernels' arch, artifact and cache key filled
/// in) and the loaded artifact for its device; for a plain plan also what
/// its split-KV plan is compiled from, and that plan once a run needed it.
struct PlanImpl {
  jit::PlanSpec spec;
  DeviceKind device = DeviceKind::Emu;
  /// cuda: the GPU ordinal tensors must live on.
  int ordinal = 0;
  std::shared_ptr<jit::EmuKernel> emu;
  /// emu: the host compiler it was built with (the race checker builds
  /// with it too).
  std::string hostCompiler;
  std::shared_ptr<jit::CudaModule> cuda;

  /// The SM count the split-KV choice compares the plain grid with (cuda:
  /// the GPU's; emu: RuntimeConfig::emuMultiprocessors).
  int multiprocessors = 1;
  /// What SplitKvMode::Default means (RuntimeConfig::splitKv).
  SplitKvMode defaultSplitKv = SplitKvMode::Auto;

  /// Plain plans: the variant's text and options, to compile the split-KV
  /// plan from on the first run that picks it, through the runtime (held
  /// weakly: the runtime's memory cache holds its plans).
  std::weak_ptr<RuntimeImpl> runtime;
  std::string text, bufferName;
  CompileOptions options;
  jit::Target target;

  /// The split-KV plan once resolved: null with the reason when the
  /// variant has none.
  mutable std::mutex splitMutex;
  mutable bool splitResolved = false;
  mutable std::shared_ptr<const PlanImpl> split;
  mutable std::string splitUnavailable;

  /// A plan of fewer Q-tile rows than this one's (64 rows for short Nq, 16
  /// for decoding), once resolved: null with the reason when there is none.
  struct RowsPlan {
    bool resolved = false;
    std::shared_ptr<const PlanImpl> plan;
    std::string unavailable;
  };
  mutable std::mutex shortRowsMutex;
  /// By rows.
  mutable std::map<int64_t, RowsPlan> shortRows;
  /// The GQA-packed plans (RuntimeImpl::rowsPlan), by rows, under
  /// shortRowsMutex.
  mutable std::map<int64_t, RowsPlan> packedRows;
  /// The plans of tuning-database schedules (RuntimeImpl::tunedPlan), by
  /// the schedule's text, under shortRowsMutex.
  mutable std::map<std::string, RowsPlan> tuned;
  /// True for a GQA-packed plan (and the split-KV plan derived from it):
  /// q, o and lse are [B, Hkv, G·Nq, ...] views of the caller's tensors.
  bool packedGqa = false;
  /// A plain plan's plans of variable-length batches and paged KV caches
  /// (RuntimeImpl::layoutPlan) once resolved, by Q-tile rows, split and
  /// layout, under shortRowsMutex.
  mutable std::map<std::string, RowsPlan> layoutPlans;

  /// cuda: the buffers the runtime owns for a run (lse when the caller
  /// passes none, split-KV workspaces, tile summaries), one per stream so
  /// that runs queued on different streams never share them; grown, and
  /// never freed while the plan lives, since a kernel queued earlier may
  /// still use an outgrown one.
  mutable std::mutex scratchMutex;
  /// cuda: held from taking the scratch until every kernel of the run is
  /// queued, so that two host threads running this plan on one stream
  /// queue whole runs (summaries, main, merge) one after the other and
  /// never read each other's workspaces.
  mutable std::mutex queueMutex;
  mutable std::map<void *, std::shared_ptr<jit::DeviceMemory>> scratch;
  mutable std::vector<std::shared_ptr<jit::DeviceMemory>> retiredScratch;
};

} // namespace attn::detail

#endif // ATTN_RUNTIME_JIT_PLANIMPL_H
