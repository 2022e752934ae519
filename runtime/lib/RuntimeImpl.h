//===- RuntimeImpl.h - the runtime's compile path and caches ----*- C++ -*-===//
//
// Compiling a variant, fastest path first:
//   1. the in-memory map, keyed by the text and resolved options (no parse);
//   2. the plan on disk (signature + generated source), else the MLIR
//      compiler (linked in, or the plugin loaded now);
//   3. the artifact on disk (cubin/PTX/kernel .so), else NVRTC or the host
//      compiler; then load exactly the bytes checked or built
//      (cuModuleLoadData, or dlopen of a sealed memfd).
// An entry that passes its checksum but does not load (or, for a plan,
// whose kernels do not build) is rebuilt once.
// The in-memory map keeps the RuntimeConfig::memoryCachePlans most recently
// used plans.
// Cold compiles are serialised by one mutex; cache hits take only the map's.
// A plain plan's split-KV plan goes the same way, with its own keys, when a
// run first picks it (splitPlan), and so does a 128-row plan's 64-row plan
// for short Nq and the 16-row (or GQA-packed) plan for decoding (rowsPlan).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_RUNTIMEIMPL_H
#define ATTN_RUNTIME_JIT_RUNTIMEIMPL_H

#include "CompilerApi.h"
#include "DiskCache.h"
#include "Hash.h"
#include "Keys.h"
#include "LruMap.h"
#include "PlanImpl.h"
#include "attn/Support/TuningDb.h"

#include "attn/Runtime.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace attn::detail {

/// Compiles MLIR into a spec; given by callers that hold an in-memory
/// module (RuntimeMLIR.h), else the compiler's text entry point is used.
using Frontend = std::function<bool(const jit::FrontendOptions &,
                                    jit::PlanSpec *, std::string *)>;

/// Memory behind an attn::Buffer.
struct BufferImpl {
  DeviceKind device = DeviceKind::Emu;
  std::size_t bytes = 0;
  /// emu: host memory (256-byte aligned, as DLPack expects).
  void *host = nullptr;
  /// cuda: device memory.
  std::shared_ptr<jit::DeviceMemory> memory;
  int ordinal = 0;
  ~BufferImpl();
};

/// The runtime's state. Owned through a shared_ptr so that plans can refer
/// back to it weakly.
class RuntimeImpl : public std::enable_shared_from_this<RuntimeImpl> {
public:
  explicit RuntimeImpl(RuntimeConfig config);
  ~RuntimeImpl();

  /// Compiles `text` (see the file comment); `frontend` replaces the
  /// compiler's text entry point when given.
  Expected<Plan> compile(std::string_view text, std::string_view bufferName,
                         const CompileOptions &options,
                         const Frontend *frontend);
  /// A plan that runs `spec` (a launch plan emitted by the caller) as it
  /// is: its artifact is built (and cached) for `options`' device and arch,
  /// but no other plan (split-KV, fewer rows, packed, tuned) is derived
  /// from it, and it is not kept in the memory cache.
  Expected<Plan> adopt(jit::PlanSpec spec, const CompileOptions &options);
  /// The split-KV plan of the plain plan `plain` (compiled with
  /// attn-split-kv{splits = plain.options.kvSplits}); null with the reason
  /// in `*why` when the variant has none or it cannot be built.
  std::shared_ptr<const PlanImpl> splitPlan(const PlanImpl &plain,
                                            std::string *why);
  /// The `rows`-row plan (64 for short Nq, 16 for decoding) of a plain
  /// plan whose Q-tile rows were attn-tile's choice (CompileOptions::blockM
  /// 0) and came out larger: the same variant and options with blockM =
  /// rows, itself a plain plan (with a split-KV plan of its own); null with
  /// the reason in `*why` when it cannot be built.
  /// With `packGqa`, the GQA-packed plan of that many rows instead (each
  /// query-head group packed into the rows of one problem per KV head,
  /// attn-pack-gqa), null with the reason also when the variant cannot be
  /// packed.
  std::shared_ptr<const PlanImpl> rowsPlan(const PlanImpl &plain, int64_t rows,
                                           bool packGqa, std::string *why);
  /// The plan of `plain`'s variant for `layout` (variable-length batches,
  /// a paged KV cache; CudaEmitOptions::varlen, pagedKv): the same options
  /// with `rows` Q-tile rows (0: plain's option), split-KV (the count
  /// chosen at launch) when `split`; null with the reason in `*why` when
  /// the variant's kernels cannot take it or it cannot be built.
  std::shared_ptr<const PlanImpl> layoutPlan(const PlanImpl &plain,
                                             int64_t rows, bool split,
                                             jit::SequenceLayout layout,
                                             std::string *why);
  /// The plan of `plain`'s variant with a tuning-database entry's schedule
  /// (a plain plan, with a split-KV plan of its own); null with the reason
  /// in `*why` when it cannot be built.
  std::shared_ptr<const PlanImpl> tunedPlan(const PlanImpl &plain,
                                            const TuningSchedule &schedule,
                                            std::string *why);
  /// RuntimeConfig::tuningDb, read on first use; null when there is none or
  /// it could not be read (said once).
  const TuningDb *tuningDb();
  /// The backward plan of `text` (BackwardPlan.cpp): derived, emitted and
  /// built now; its artifact goes through the disk cache as a plan's does.
  Expected<BackwardPlan> compileBackward(std::string_view text,
                                         std::string_view bufferName,
                                         const CompileOptions &options,
                                         const BackwardOptions &backward);
  Expected<DeviceKind> resolveDevice(DeviceKind device);
  Expected<Buffer> allocate(DeviceKind device, std::size_t bytes);
  RuntimeStats stats() const;
  const RuntimeConfig &config() const { return cfg; }
  jit::DiskCache &disk() { return cache; }

private:
  struct DigestHash {
    size_t operator()(const jit::Digest &d) const { return d.lo; }
  };
  struct Counters {
    std::atomic<uint64_t> compiles{0}, memoryHits{0}, planDiskHits{0},
        frontendRuns{0}, artifactDiskHits{0}, nvrtcRuns{0}, hostCompilerRuns{0},
        corruptEntries{0}, diskWriteFailures{0}, staleEntries{0},
        splitKvCompiles{0}, splitKvUnavailable{0}, shortRowsCompiles{0},
        shortRowsUnavailable{0}, packedCompiles{0}, packedUnavailable{0},
        tunedCompiles{0}, tunedUnavailable{0}, layoutCompiles{0};
  };
  std::once_flag tuningOnce;
  TuningDb tuning;
  bool tuningLoaded = false;

  Expected<jit::Target> resolveTarget(const CompileOptions &options);
  /// The plan of `plain`'s variant compiled with `options` (and `splits`
  /// KV splits, 0 for none; GQA-packed like `plain`, or when `packGqa`;
  /// the plan of `layout`, variable-length batches or a paged KV cache):
  /// from the memory cache, or built now and
  /// counted in `compiles`; null with the reason in `*why` (said once as a
  /// warning naming `what`) when it fails to build.
  std::shared_ptr<const PlanImpl>
  derivedPlan(const PlanImpl &plain, const CompileOptions &options,
              int64_t splits, std::atomic<uint64_t> &compiles,
              const std::string &what, std::string *why,
              bool packGqa = false, jit::SequenceLayout layout = {});
  /// The spec: from the disk entry `key` when `useDisk` (`*fromDisk` set),
  /// else (or when there is none) from the frontend, then written.
  Expected<jit::PlanSpec> obtainSpec(std::string_view text,
                                     std::string_view bufferName,
                                     const jit::FrontendOptions &options,
                                     const Frontend *frontend,
                                     const jit::Digest &key, bool useDisk,
                                     bool *fromDisk);
  /// The plan of `text` for `target`: the spec (disk or the frontend), then
  /// its artifact; with `splitKv` > 0 the split-KV plan, and with
  /// `packGqa` the GQA-packed plan, and with a `layout` the plan of
  /// variable-length batches or a paged KV cache, whose spec may be a
  /// refusal (no kernels, no artifact).
  Expected<std::shared_ptr<PlanImpl>>
  build(std::string_view text, std::string_view bufferName,
        const CompileOptions &options, const jit::Target &target,
        const Frontend *frontend, int64_t splitKv, bool packGqa = false,
        jit::SequenceLayout layout = {});
  /// build()'s one attempt: the spec (from disk when `useDisk`), then its
  /// artifact.
  Expected<std::shared_ptr<PlanImpl>>
  buildFromSpec(std::string_view text, std::string_view bufferName,
                const CompileOptions &options, const jit::Target &target,
                const Frontend *frontend,
                const jit::FrontendOptions &frontOptions,
                const jit::Digest &pkey, bool useDisk, bool *fromDisk);
  /// A plan of `spec` for `target`: its artifact built (and cached), the
  /// generated source dumped as `<kernel>-<dumpTag>.cu`; a spec without
  /// kernels (a refusal) has nothing to build.
  Expected<std::shared_ptr<PlanImpl>>
  planOfSpec(jit::PlanSpec spec, const CompileOptions &options,
             const jit::Target &target, bool packedGqa,
             const std::string &dumpTag);
  /// The SM count the split-KV choice assumes on `target`.
  int multiprocessors(const jit::Target &target) const;
  Status buildEmu(PlanImpl &plan);
  Status buildCuda(PlanImpl &plan, const jit::Target &target);
  /// Writes `contents` to `name` in the dump directory, if one is set.
  void dump(const std::string &name, std::string_view contents);
  /// Writes a disk entry, counting a failed write of a cache that was
  /// writable.
  void write(std::string_view kind, const jit::Digest &key,
             std::string_view ext, std::string_view payload);
  void diagnose(const std::string &line) const;

  RuntimeConfig cfg;
  jit::DiskCache cache;
  Counters counters;
  mutable std::mutex mapMutex;
  jit::LruMap<jit::Digest, std::shared_ptr<const PlanImpl>, DigestHash> plans;
  std::mutex compileMutex;
};

} // namespace attn::detail

#endif // ATTN_RUNTIME_JIT_RUNTIMEIMPL_H
