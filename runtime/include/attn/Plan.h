//===- Plan.h - a compiled attention variant, ready to launch ---*- C++ -*-===//
//
// A Plan is what the runtime's compile step produces: the variant's
// signature (dtypes, ranks, static sizes, captures), the emitted launch plan
// (its kernels in launch order with their launch shapes) and the loaded
// artifact for one device (a cubin/PTX module on `cuda`, a kernel shared
// object on `emu`, one per launch plan). Running a plan takes DLPack
// tensors: batch and sequence lengths are read from them at every run and
// never cause a recompile. Inputs are validated before any launch.
//
// A plan also has a split-KV lowering of the same variant (for decoding:
// few query tiles, many keys), compiled on the first run that picks it; each
// run chooses between the two from its lengths (docs/Runtime.md).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PLAN_H
#define ATTN_PLAN_H

#include "attn/Status.h"

#include <dlpack/dlpack.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

/// Where a plan runs.
enum class DeviceKind {
  /// `cuda` when a GPU is visible through the driver, else `emu` (with a
  /// one-line notice on stderr). Resolved at compile time.
  Auto,
  /// A real GPU through the CUDA driver (libcuda.so.1, dlopen'ed).
  Cuda,
  /// The CPU emulator: the same CUDA source built as host C++.
  Emu,
};

/// "auto", "cuda" or "emu".
const char *deviceName(DeviceKind device);

/// Parses "auto", "cuda" or "emu"; false for anything else.
bool parseDevice(std::string_view text, DeviceKind &out);

/// How one dimension of an argument is bound.
struct DimSignature {
  /// The static size from the IR's tensor type, or -1 when dynamic.
  int64_t size = -1;
  /// The named size the dimension equals: b, hq, hkv, nq, nk, d or dv;
  /// empty when it is free (a capture dimension without `attn.dims`).
  std::string symbol;
};

/// One argument or result of the variant.
struct ArgumentSignature {
  /// q, k, v, o, lse, or c<N> for capture N.
  std::string name;
  /// False for a scalar capture (passed by value).
  bool isTensor = true;
  /// Element type (float16, bfloat16, float32, int32, ...).
  DLDataType dtype = {kDLFloat, 32, 1};
  /// One entry per dimension (empty for a scalar).
  std::vector<DimSignature> dims;
};

/// What a plan expects: inputs q, k, v, captures c0...; outputs o [, lse].
struct Signature {
  /// The variant's function name.
  std::string function;
  /// q, k, v, then the captures in order.
  std::vector<ArgumentSignature> inputs;
  /// o, then lse when the variant returns it.
  std::vector<ArgumentSignature> outputs;
  /// True when the variant returns lse.
  bool hasLse() const { return outputs.size() > 1; }
};

/// What a kernel does in its launch plan (mirrors the emitter's roles).
enum class KernelRole {
  /// The whole attention: grid (ceil(Nq / blockM), Hq, B).
  Whole,
  /// Split-KV, first: the partial state of each (Q tile, head, split) into
  /// the workspaces; grid (ceil(Nq / blockM), Hq x splits, B).
  SplitPartials,
  /// Split-KV, second: merges the splits and writes o (and lse); grid
  /// (ceil(Nq / blockM), Hq, B).
  SplitMerge,
  /// First, when a mask reads captured integer tensors: per-block min/max
  /// summaries the other kernels classify tiles with; grid (fixedGridX, 1,
  /// 1).
  TileSummaries,
};

/// "whole", "split-partials", "split-merge" or "tile-summaries".
const char *kernelRoleName(KernelRole role);

/// One kernel of a launch plan.
struct KernelInfo {
  /// The `extern "C" __global__` function.
  std::string name;
  /// The generated CUDA C++ of this kernel (the plan's artifact is built
  /// from the sources of all its kernels, concatenated in launch order).
  std::string source;
  /// What the kernel does; it decides the grid.
  KernelRole role = KernelRole::Whole;
  /// Query rows per CTA: grid.x = ceil(Nq / blockM).
  int64_t blockM = 0;
  /// Threads per CTA.
  int64_t threads = 0;
  /// Dynamic shared memory per CTA, in bytes.
  int64_t dynamicSmemBytes = 0;
  /// "simt" or "mma".
  std::string path;
  /// Why the tensor-core path was not taken (may be empty).
  std::string fallbackReason;
  /// KV splits (SplitPartials: grid.y = Hq x splits); 1 otherwise. 0: the
  /// count is chosen per launch (RunStats::splits says which ran).
  int64_t splits = 1;
  /// When splits is 0: the most splits a launch may choose (the merge
  /// holds a factor per split in registers).
  int64_t maxSplits = 0;
  /// TileSummaries: grid.x (a grid-stride loop); 0 otherwise.
  int64_t fixedGridX = 0;
  /// cuda: the arch compiled for ("sm_90"); empty on emu.
  std::string arch;
  /// "cubin", "ptx" or "so" (emu).
  std::string artifact;
  /// Hex digest of the artifact's cache key (shared by a plan's kernels).
  std::string cacheKey;
};

/// Whether a run launches the variant's split-KV plan.
enum class SplitKvMode {
  /// The runtime's setting: RuntimeConfig::splitKv ($ATTN_SPLIT_KV), whose
  /// default is Auto.
  Default,
  /// Split-KV when the plain grid has fewer CTAs than the device has SMs
  /// and every split gets at least two KV tiles (docs/Runtime.md).
  Auto,
  /// Always the plain plan.
  Never,
  /// The split-KV plan whenever the variant has one.
  Always,
};

/// "default", "auto", "never" or "always".
const char *splitKvModeName(SplitKvMode mode);

/// Parses "auto", "never" or "always" (and "default"); false otherwise.
bool parseSplitKvMode(std::string_view text, SplitKvMode &out);

/// A captured argument: a tensor, or a scalar passed by value.
struct Capture {
  /// The tensor; null for a scalar.
  const DLTensor *tensor = nullptr;
  /// The scalar's value (integer captures take it exactly).
  double value = 0;

  /// A tensor capture.
  static Capture of(const DLTensor *t) { return Capture{t, 0}; }
  /// A scalar capture.
  static Capture scalar(double v) { return Capture{nullptr, v}; }
};

/// The tensors of one run. Layouts are free (strides honoured; BHSD and
/// BSHD both work; strides == NULL means compact row-major).
struct Arguments {
  /// q [B, Hq, Nq, D], k [B, Hkv, Nk, D], v [B, Hkv, Nk, Dv].
  const DLTensor *q = nullptr, *k = nullptr, *v = nullptr;
  /// o [B, Hq, Nq, Dv], written.
  DLTensor *o = nullptr;
  /// lse [B, Hq, Nq] (float32), written when the variant returns it; may be
  /// null, in which case the runtime writes it to a workspace it owns.
  DLTensor *lse = nullptr;
  /// One per capture of the variant, in order.
  std::vector<Capture> captures;

  /// A variable-length batch (FlashAttention's varlen layout), when
  /// cuSeqlensQ is set: B sequences packed back to back, q and o
  /// [total_q, Hq, D|Dv], k and v [total_k, Hkv, D|Dv], lse [Hq, total_q];
  /// sequence b is rows [cuSeqlensQ[b], cuSeqlensQ[b+1]) of q, o and lse
  /// and [cuSeqlensK[b], cuSeqlensK[b+1]) of k and v. Both offset arrays
  /// are int32 [B + 1] in the plan's memory; the host never reads them on
  /// cuda (the emulator checks them). Each sequence is its own problem:
  /// masks and scores see its i, j, nq, nk. A capture with a "b" entry in
  /// attn.dims is indexed per sequence (its "nq"/"nk" dimensions hold at
  /// least maxSeqlenQ/K); one without packs its "nq"/"nk" dimensions like
  /// q and k (total_q/total_k). Empty sequences are allowed. Runs the
  /// variant's varlen plan (compiled on first use; plain, never split-KV).
  /// With a paged KV cache (blockTable) the keys are paged instead.
  const DLTensor *cuSeqlensQ = nullptr, *cuSeqlensK = nullptr;
  /// Varlen: the longest sequence's query and key rows. The grid is sized
  /// from maxSeqlenQ: on cuda a sequence longer than it is not computed
  /// past it (the emulator refuses it), as in FlashAttention. Over a paged
  /// KV cache maxSeqlenK may be 0: the block table's pages x page size.
  int64_t maxSeqlenQ = 0, maxSeqlenK = 0;

  /// A paged KV cache (vLLM's, FlashInfer's), when blockTable is set: k and
  /// v are pages [num_pages, page_size, Hkv, D|Dv] (page_size a power of
  /// two), sequence b's keys are seqLensK[b] rows in the pages listed by
  /// row b of blockTable (int32 [B, max_pages]; seqLensK int32 [B]), page
  /// blockTable[b][j / page_size] holding key j at slot j % page_size.
  /// q, o and lse are dense ([B, Hq, Nq, D]) or, with cuSeqlensQ, packed
  /// (cuSeqlensK is then not given). Runs the variant's paged plan
  /// (compiled on first use; split-KV by the dense rule when q is dense).
  const DLTensor *blockTable = nullptr, *seqLensK = nullptr;
};

/// How to run.
struct RunOptions {
  /// cuda: the CUstream to launch on (null: the default stream). The call
  /// returns once the launch is queued, as a CUDA launch does.
  void *stream = nullptr;
  /// emu: count global loads and stores (reported in RunStats).
  bool countGlobalAccesses = false;
  /// emu: check every global access of every kernel against the run's
  /// tensors and the runtime's own buffers (a store into q, k, v or a
  /// capture, an access between buffers, a shared-memory read of nothing
  /// written fail the run with the emulator's report); cuda: an error.
  bool memcheck = false;
  /// Plain or split-KV launch plan; Default follows the runtime's setting.
  SplitKvMode splitKv = SplitKvMode::Default;
  /// emu: the most host memory the run's own buffers (the lse workspace,
  /// split-KV workspaces, tile summaries) may take, in bytes; 0: what the
  /// machine has available now (MemAvailable, or the cgroup's limit if
  /// lower). A run needing more fails before allocating, with the figures.
  uint64_t hostMemoryLimit = 0;
  /// emu, with memcheck: memory violations are findings returned in
  /// RunStats (counted, the first few described) instead of failing the
  /// run; other kernel errors (deadlocks, barrier misuse) still fail it.
  /// For tools that report what memcheck found.
  bool memcheckReports = false;
  /// emu: count the KV tiles the kernels ran per class (RunStats::tilesFull,
  /// tilesPartial, tilesInterior).
  bool countTiles = false;
  /// emu: run every kernel of the run again as OS threads under
  /// ThreadSanitizer, on copies of the buffers (the results stay those of
  /// the ordinary run); its reports are in RunStats::raceReports. Needs the
  /// host compiler's ThreadSanitizer runtime (libclang-rt-22-dev).
  bool raceCheck = false;
  /// A plan whose KV split count is chosen at launch: use this count (1 to
  /// the plan's most); 0: the runtime's choice. Ignored by other plans.
  int64_t kvSplits = 0;
};

/// One memory violation memcheck found (RunOptions::memcheckReports).
struct MemoryViolationReport {
  /// "out-of-bounds", "outside-buffers", "read-only-store",
  /// "uninitialised-shared".
  std::string kind;
  std::string kernel;
  /// The CTA and thread indices.
  unsigned cta[3] = {0, 0, 0}, thread[3] = {0, 0, 0};
  /// The device-library primitive ("ld_global", "cp_async", ...).
  std::string accessor;
  /// Elements relative to the pointer the kernel passed (global), or bytes
  /// read (shared memory), and the extent the access was checked against.
  long long index = 0, extent = 0;
  /// The buffer the pointer belongs to, if any.
  std::string buffer;
  /// Where in the generated source.
  std::string file;
  unsigned line = 0;
  /// The whole finding in one line.
  std::string message;
};

/// What a run did.
struct RunStats {
  /// The device it ran on.
  DeviceKind device = DeviceKind::Emu;
  /// emu: CTAs completed and global traffic (with countGlobalAccesses).
  uint64_t ctas = 0, globalLoads = 0, globalStores = 0;
  /// emu: bytes moved through the device library's accessors.
  uint64_t globalBytesRead = 0, globalBytesWritten = 0;
  /// emu, with RunOptions::countTiles: KV tiles run without the mask, with
  /// it, and of the former those that ran the unguarded interior code.
  uint64_t tilesFull = 0, tilesPartial = 0, tilesInterior = 0;
  /// emu, with RunOptions::memcheckReports: every violation counted, the
  /// first few described.
  uint64_t memoryViolationCount = 0;
  std::vector<MemoryViolationReport> memoryViolations;
  /// emu, with RunOptions::raceCheck: ThreadSanitizer's reports, how many
  /// of them are data races, and the seconds the check took.
  std::vector<std::string> raceReports;
  unsigned dataRaces = 0;
  double raceSeconds = 0;
  /// True when the split-KV plan ran (its partials and merge kernels).
  bool splitKv = false;
  /// KV splits of the plan that ran (1 for the plain plan).
  int64_t splits = 1;
  /// Query rows per CTA of the plan that ran (a 128-row plan runs its
  /// 64-row plan for short Nq: CompileOptions::blockM).
  int64_t blockM = 0;
  /// Query heads packed into the rows of one Q tile (a GQA group, for
  /// decoding); 1 when every CTA runs one query head.
  int64_t packedGroup = 1;
  /// Why that plan: the rules' numbers (Q-tile rows, then split-KV), the
  /// forcing option, or why a plan is unavailable (and which ran instead).
  std::string planReason;
  /// The kernels launched, in order (empty when the grid was empty).
  std::vector<std::string> kernels;
};

/// Timing of repeated launches (cuda only).
struct BenchResult {
  /// Median and minimum time of one run (all the plan's kernels) over the
  /// repeats, in milliseconds (CUDA events around each run).
  double medianMs = 0, minMs = 0;
  /// Timed launches (after one warm-up launch).
  int repeats = 0;
};

namespace detail {
struct PlanImpl;
} // namespace detail

/// A compiled variant for one device. Cheap to copy (shared); thread-safe to
/// run concurrently on different tensors.
class Plan {
public:
  /// Checks `args` against the signature without launching: dtypes, ranks,
  /// sizes that contradict the variant or each other, GQA head counts, null
  /// or misaligned pointers, the tensors' device. The error names the
  /// tensor and dimension.
  Status validate(const Arguments &args) const;
  /// Validates, then launches the plan's kernels in order: the plain plan
  /// or the split-KV plan, chosen from the lengths (RunOptions::splitKv;
  /// `stats` says which ran and why). On emu the call returns when the
  /// kernels have finished; on cuda when they are queued on
  /// `options.stream`.
  Status run(const Arguments &args, const RunOptions &options = {},
             RunStats *stats = nullptr) const;
  /// cuda: one warm-up run, then `repeats` runs of the plan's kernels (the
  /// plan `run` would choose), each timed with CUDA events; emu: an error
  /// (the emulator's wall time says nothing about a GPU's).
  Expected<BenchResult> benchmark(const Arguments &args, int repeats,
                                  const RunOptions &options = {}) const;

  /// The device the plan runs on (never Auto).
  DeviceKind device() const;
  /// The variant's arguments and results.
  const Signature &signature() const;
  /// The plain plan's main kernel (role Whole, or SplitPartials when the
  /// variant was lowered with split-KV already) and its launch shape.
  const KernelInfo &kernel() const;
  /// Every kernel of the plain plan, in launch order.
  const std::vector<KernelInfo> &kernels() const;
  /// The kernels of the split-KV plan, compiled now when no run has needed
  /// them yet; an error saying why when the variant has none (the split
  /// pass leaves it alone, it is not Level 1 IR, splitting is disabled).
  Expected<std::vector<KernelInfo>> splitKvKernels() const;

  /// Wraps an implementation (used by the runtime).
  explicit Plan(std::shared_ptr<const detail::PlanImpl> impl)
      : impl(std::move(impl)) {}

private:
  std::shared_ptr<const detail::PlanImpl> impl;
};

/// A dtype's name as attn spells it in messages ("float16", "int32").
std::string dtypeName(DLDataType dtype);

} // namespace attn

#endif // ATTN_PLAN_H
