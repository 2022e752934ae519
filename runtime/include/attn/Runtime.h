//===- Runtime.h - attn's JIT runtime for C++ hosts -------------*- C++ -*-===//
//
// Compiles attention variants (MLIR in the attn dialect) into launch plans
// and runs them with DLPack tensors on a GPU (`cuda`) or the CPU emulator
// (`emu`):
//
//   attn::Runtime &rt = attn::Runtime::global();
//   attn::Expected<attn::Plan> plan = rt.compileFile("causal.mlir");
//   if (!plan) { std::cerr << plan.message() << "\n"; return 1; }
//   attn::Status s = plan->run({&q, &k, &v, &o});
//
// Compiles are cached in memory (a repeated compile of the same text and
// options is a hash and a map lookup) and on disk (docs/Runtime.md: layout,
// keys, environment variables). The MLIR compiler is loaded only when a
// cache misses, so a warm process never pays for it. Compiling from an
// in-memory mlir::ModuleOp is in attn/RuntimeMLIR.h.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_H
#define ATTN_RUNTIME_H

#include "attn/Backward.h"
#include "attn/Plan.h"
#include "attn/Status.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace attn {

/// What to compile, and for which device. Everything here is part of the
/// specialisation key; batch and sequence lengths are not (they are read
/// from the tensors at each run).
struct CompileOptions {
  /// The device; Auto is resolved when compiling.
  DeviceKind device = DeviceKind::Auto;
  /// The function to compile; empty: the module's only public func.func.
  std::string entry;
  /// Q-tile rows (attn-tile block-m) used when the input is Level 1 IR;
  /// 0: attn-tile's choice (128 rows, 4 warps of 32, for f16/bf16 with head
  /// dims up to 128, else 64), with a 64-row plan compiled on the first run
  /// whose 128-row grid leaves SMs idle (short Nq, decoding) and run then.
  int64_t blockM = 0;
  /// KV-tile columns (attn-online tile-n); 0: attn-online's heuristic.
  int64_t blockN = 0;
  /// Warps per CTA (0: the schedule's choice: a warp per 16 query rows on
  /// tensor cores), K/V pipeline stages and the KV loop's unroll factor
  /// (attn-pipeline's warps, stages and unroll).
  int64_t warps = 0, stages = 2, unroll = 1;
  /// Element type of q, k, v and o: "f16", "bf16", "f32"; empty: as in IR.
  std::string dtype;
  /// Emitter path: "auto" (tensor cores when the variant allows), "simt"
  /// or "mma".
  std::string kernelPath = "auto";
  /// Target arch ("sm_80", "sm_90", "sm_90a", ...). cuda: empty is the
  /// running GPU's (sm_90a, the wgmma kernels, on a compute-capability-9.0
  /// GPU); emu: the emulator runs the kernel this arch gets (empty: any
  /// arch's).
  std::string arch;
  /// The most KV splits a launch of the variant's split-KV plan may use.
  /// That plan is compiled once, on the first run that picks it, with the
  /// split count a launch parameter (attn.kv_splits): each launch chooses
  /// its count (attn/Support/KvSplits.h) and no count compiles a new kernel. Below
  /// 2: no split-KV plan.
  int64_t kvSplits = 32;
};

/// Where the runtime keeps things. Defaults come from the environment.
struct RuntimeConfig {
  /// The disk cache: $ATTN_CACHE_DIR, else $XDG_CACHE_HOME/attn, else
  /// $HOME/.cache/attn.
  std::string cacheDir;
  /// False: cache in memory only. The directory is used only when no other
  /// user can change it (owned by this user and writable by no one else,
  /// as every directory below it; every directory above it owned by root or
  /// this user, and sticky where others may write); otherwise the runtime
  /// warns once and caches in memory only (docs/Runtime.md).
  bool diskCache = true;
  /// The disk cache's size bound: $ATTN_CACHE_MAX_BYTES (bytes, or with a
  /// K, M, G or T suffix), else 2 GiB. Least recently used entries are
  /// evicted beyond it.
  uint64_t cacheMaxBytes = uint64_t(2) << 30;
  /// Plans the in-memory cache keeps; the least recently used beyond are
  /// dropped (a Plan the host still holds stays valid).
  std::size_t memoryCachePlans = 256;
  /// Where to dump generated .cu (and .ptx) files: $ATTN_DUMP_DIR; empty:
  /// no dumps.
  std::string dumpDir;
  /// The emu device's host C++ compiler (found on PATH).
  std::string hostCompiler = "clang++-22";
  /// Notices and warnings (one line each); default: stderr.
  std::function<void(const std::string &)> diagnostic;
  /// What RunOptions::splitKv Default means: $ATTN_SPLIT_KV (auto, never,
  /// always), else Auto.
  SplitKvMode splitKv = SplitKvMode::Auto;
  /// A tuning database (tools/tune/attn-tune, docs/tuning.md):
  /// $ATTN_TUNING_DB; empty: none. A run of a plan whose schedule was left
  /// to attn (CompileOptions blockM, blockN and warps 0) takes the schedule
  /// of the entry nearest its shape bucket (the same variant, dtype and
  /// arch; on emu, CompileOptions::arch's, or any arch's without one),
  /// compiled on first use and cached like the split-KV plan;
  /// RunStats::planReason names the entry. A file that cannot be read is a
  /// warning (once), and the default heuristic runs.
  std::string tuningDb;
  /// emu: the SM count the split-KV choice assumes. The emulator has no
  /// SMs; a fixed GPU-like count (an H100's 132) makes it choose the plan
  /// a GPU would, independently of the host's cores.
  int emuMultiprocessors = 132;

  /// The defaults, read from the environment.
  static RuntimeConfig fromEnvironment();
};

/// Counters of what the runtime did, for tests and benchmarks.
struct RuntimeStats {
  /// compile*() calls, and those answered from the in-memory cache.
  uint64_t compiles = 0, memoryHits = 0;
  /// Plans (MLIR → kernel) read from disk, and MLIR compiles run.
  uint64_t planDiskHits = 0, frontendRuns = 0;
  /// Artifacts (cubin/PTX/kernel .so) read from disk, and built: NVRTC
  /// runs and host-compiler runs.
  uint64_t artifactDiskHits = 0, nvrtcRuns = 0, hostCompilerRuns = 0;
  /// Disk entries that failed their check (corrupt, truncated) and were
  /// rebuilt; writes that failed.
  uint64_t corruptEntries = 0, diskWriteFailures = 0;
  /// Plan entries written by an older runtime (another format version),
  /// rejected unread and rebuilt.
  uint64_t staleEntries = 0;
  /// Split-KV plans compiled or read on a run's demand (each at most once
  /// per plan), and those that turned out unavailable.
  uint64_t splitKvCompiles = 0, splitKvUnavailable = 0;
  /// 64-row plans of 128-row plans compiled or read on a run's demand
  /// (short Nq), and those that turned out unavailable.
  uint64_t shortRowsCompiles = 0, shortRowsUnavailable = 0;
  /// GQA-packed decode plans (Nq <= 16, query-head groups packed into the
  /// Q tile's rows) compiled or read on a run's demand, and those that
  /// turned out unavailable (the reason is in RunStats::planReason).
  uint64_t packedCompiles = 0, packedUnavailable = 0;
  /// Plans of a tuning-database entry's schedule compiled or read on a
  /// run's demand, and those that turned out unavailable.
  uint64_t tunedCompiles = 0, tunedUnavailable = 0;
  /// Plans of variable-length batches or paged KV caches compiled
  /// (Arguments::cuSeqlensQ, blockTable).
  uint64_t layoutCompiles = 0;
};

namespace detail {
struct BufferImpl;
class RuntimeImpl;
} // namespace detail

/// Memory on a device (cuda: cuMemAlloc; emu: host memory), freed when the
/// last copy goes. For hosts without a CUDA runtime of their own.
class Buffer {
public:
  /// An empty buffer.
  Buffer() = default;
  /// The device address (a host address on emu).
  void *data() const;
  /// Size in bytes.
  std::size_t size() const;
  /// The DLPack device the memory lives on.
  DLDevice dlDevice() const;
  /// Copies `bytes` from host memory at `src` to offset `offset`.
  Status copyFromHost(const void *src, std::size_t bytes,
                      std::size_t offset = 0);
  /// Copies `bytes` at offset `offset` to host memory at `dst`.
  Status copyToHost(void *dst, std::size_t bytes, std::size_t offset = 0) const;

  /// Wraps an implementation (used by the runtime).
  explicit Buffer(std::shared_ptr<detail::BufferImpl> impl)
      : impl(std::move(impl)) {}

private:
  std::shared_ptr<detail::BufferImpl> impl;
};

/// The JIT runtime: compiles variants into plans and caches them.
/// Thread-safe.
class Runtime {
public:
  /// A runtime with `config`.
  explicit Runtime(RuntimeConfig config = RuntimeConfig::fromEnvironment());
  ~Runtime();
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  /// The process's runtime, configured from the environment.
  static Runtime &global();

  /// Compiles the variant in the file at `path`.
  Expected<Plan> compileFile(const std::string &path,
                             const CompileOptions &options = {});
  /// Compiles the variant in `mlir` (named `bufferName` in diagnostics).
  Expected<Plan> compileText(std::string_view mlir,
                             const CompileOptions &options = {},
                             std::string_view bufferName = "<text>");

  /// The device `device` resolves to here: Auto becomes Cuda when a GPU is
  /// usable, else Emu (with a notice, once per process); Cuda fails with
  /// the reason when no GPU is usable.
  /// The backward of the variant in `path` (attn/Backward.h): its kernels
  /// derived, emitted and built for `options.device` (CompileOptions'
  /// device, entry, dtype and arch apply; the schedule's fields do not).
  Expected<BackwardPlan> compileBackwardFile(const std::string &path,
                                             const CompileOptions &options = {},
                                             const BackwardOptions &backward = {});
  /// compileBackwardFile of MLIR text (`bufferName` in diagnostics).
  Expected<BackwardPlan>
  compileBackwardText(std::string_view mlir, const CompileOptions &options = {},
                      const BackwardOptions &backward = {},
                      std::string_view bufferName = "<text>");
  Expected<DeviceKind> resolveDevice(DeviceKind device);
  /// Allocates `bytes` on `device` (Auto resolved as above).
  Expected<Buffer> allocate(DeviceKind device, std::size_t bytes);

  /// What the runtime has done so far.
  RuntimeStats stats() const;
  /// The configuration in use.
  const RuntimeConfig &config() const;
  /// False once the disk cache has been refused (another user could change
  /// it) or found unwritable: memory only.
  bool diskCacheUsable() const;

  /// The implementation (for the MLIR entry points of RuntimeMLIR.h).
  detail::RuntimeImpl &implementation() { return *impl; }

private:
  /// Shared so that the plans it compiles can reach it (weakly) to compile
  /// their split-KV plans on demand; a plan that outlives its runtime runs
  /// its plain plan only.
  std::shared_ptr<detail::RuntimeImpl> impl;
};

} // namespace attn

#endif // ATTN_RUNTIME_H
