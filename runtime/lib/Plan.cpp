//===- Plan.cpp - validating and launching a plan -------------------------===//
//
// A run validates the tensors, picks the plain plan or the split-KV plan
// from the lengths (compiling the latter on first demand), lays out the
// buffers the runtime owns (lse when the caller passes none, split-KV
// workspaces, tile summaries), fills the one parameter struct every kernel
// of the plan shares and launches the kernels in order.
//
//===----------------------------------------------------------------------===//

#include "PlanImpl.h"
#include "RuntimeImpl.h"
#include "TensorMaps.h"
#include "Validate.h"

#include "attn/Support/HostMemory.h"
#include "attn/Support/KvSplits.h"
#include "attn/Support/TuningDb.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

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

const char *attn::kernelRoleName(KernelRole role) {
  switch (role) {
  case KernelRole::Whole:
    return "whole";
  case KernelRole::SplitPartials:
    return "split-partials";
  case KernelRole::SplitMerge:
    return "split-merge";
  case KernelRole::TileSummaries:
    return "tile-summaries";
  }
  return "?";
}

const char *attn::splitKvModeName(SplitKvMode mode) {
  switch (mode) {
  case SplitKvMode::Default:
    return "default";
  case SplitKvMode::Auto:
    return "auto";
  case SplitKvMode::Never:
    return "never";
  case SplitKvMode::Always:
    return "always";
  }
  return "?";
}

bool attn::parseSplitKvMode(std::string_view text, SplitKvMode &out) {
  for (SplitKvMode m : {SplitKvMode::Default, SplitKvMode::Auto,
                        SplitKvMode::Never, SplitKvMode::Always})
    if (text == splitKvModeName(m)) {
      out = m;
      return true;
    }
  return false;
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
const KernelInfo &Plan::kernel() const { return impl->spec.mainKernel(); }
const std::vector<KernelInfo> &Plan::kernels() const {
  return impl->spec.kernels;
}

Status Plan::validate(const Arguments &args) const {
  BoundSizes sizes;
  return validateArguments(impl->spec.signature, args, impl->device,
                           impl->ordinal, &sizes);
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

namespace {

/// The split-KV plan of the plain plan `p`, compiled on first demand; null
/// with the reason in `*why` when there is none.
std::shared_ptr<const detail::PlanImpl> splitPlanOf(const detail::PlanImpl &p,
                                                    std::string *why) {
  std::lock_guard<std::mutex> lock(p.splitMutex);
  if (!p.splitResolved) {
    if (std::shared_ptr<detail::RuntimeImpl> runtime = p.runtime.lock())
      p.split = runtime->splitPlan(p, &p.splitUnavailable);
    else
      p.splitUnavailable = "the runtime that compiled the plan is gone";
    p.splitResolved = true;
  }
  *why = p.splitUnavailable;
  return p.split;
}

/// The `rows`-row plan of the plan `p` (of more rows), GQA-packed with
/// `packGqa`, compiled on first demand; null with the reason in `*why`
/// when there is none.
std::shared_ptr<const detail::PlanImpl>
rowsPlanOf(const detail::PlanImpl &p, int64_t rows, bool packGqa,
           std::string *why) {
  std::lock_guard<std::mutex> lock(p.shortRowsMutex);
  detail::PlanImpl::RowsPlan &slot =
      packGqa ? p.packedRows[rows] : p.shortRows[rows];
  if (!slot.resolved) {
    if (std::shared_ptr<detail::RuntimeImpl> runtime = p.runtime.lock())
      slot.plan = runtime->rowsPlan(p, rows, packGqa, &slot.unavailable);
    else
      slot.unavailable = "the runtime that compiled the plan is gone";
    slot.resolved = true;
  }
  *why = slot.unavailable;
  return slot.plan;
}

/// The plan of `layout` (variable-length batches, a paged KV cache) of the
/// plan `p` with `rows` Q-tile rows (0: p's option), split-KV when `split`,
/// compiled on first demand; null with the reason in `*why` when there is
/// none (the plan `p` holds it).
const detail::PlanImpl *layoutPlanOf(const detail::PlanImpl &p, int64_t rows,
                                     bool split, SequenceLayout layout,
                                     std::string *why) {
  std::string key = std::to_string(rows) + (split ? " split " : " plain ") +
                    layout.describe();
  std::lock_guard<std::mutex> lock(p.shortRowsMutex);
  detail::PlanImpl::RowsPlan &slot = p.layoutPlans[key];
  if (!slot.resolved) {
    if (std::shared_ptr<detail::RuntimeImpl> runtime = p.runtime.lock())
      slot.plan =
          runtime->layoutPlan(p, rows, split, layout, &slot.unavailable);
    else
      slot.unavailable = "the plan was not compiled by a runtime from MLIR "
                         "(an adopted launch plan runs as emitted)";
    slot.resolved = true;
  }
  *why = slot.unavailable;
  return slot.plan.get();
}

/// The plan of the tuning-database schedule `schedule` of the plan `p`,
/// compiled on first demand; null with the reason in `*why` when there is
/// none.
std::shared_ptr<const detail::PlanImpl>
tunedPlanOf(const detail::PlanImpl &p, const TuningSchedule &schedule,
            std::string *why) {
  std::string key = std::to_string(schedule.blockM) + "x" +
                    std::to_string(schedule.blockN) + " w" +
                    std::to_string(schedule.warps) + " s" +
                    std::to_string(schedule.stages) + " " + schedule.path;
  std::lock_guard<std::mutex> lock(p.shortRowsMutex);
  detail::PlanImpl::RowsPlan &slot = p.tuned[key];
  if (!slot.resolved) {
    if (std::shared_ptr<detail::RuntimeImpl> runtime = p.runtime.lock())
      slot.plan = runtime->tunedPlan(p, schedule, &slot.unavailable);
    else
      slot.unavailable = "the runtime that compiled the plan is gone";
    slot.resolved = true;
  }
  *why = slot.unavailable;
  return slot.plan;
}

/// "f16", "bf16" or "f32" for q's element type (the tuning key's dtype).
std::string tuningDtype(const Signature &signature) {
  const DLDataType &t = signature.inputs[0].dtype;
  if (t.code == kDLBfloat && t.bits == 16)
    return "bf16";
  if (t.code == kDLFloat && t.bits == 16)
    return "f16";
  if (t.code == kDLFloat && t.bits == 32)
    return "f32";
  return dtypeName(t);
}

/// Query rows of the decoding plan: one warp of one m16 row tile.
constexpr int64_t kDecodeRows = 16;
/// Query rows of the GQA-packed decoding plan when a group's rows are more
/// than 16: 4 warps of 16.
constexpr int64_t kPackedTallRows = 64;

/// The caller's q, o and lse seen as a GQA-packed plan takes them: G query
/// heads of one KV head as G·Nq rows, row r = g·Nq + i at g·stride(h) +
/// i·stride(i) — one stride when Nq = 1 or when each head's rows follow
/// the previous head's (BHSD). Not copyable: the views point into it.
struct PackedArgs {
  PackedArgs() = default;
  PackedArgs(const PackedArgs &) = delete;
  PackedArgs &operator=(const PackedArgs &) = delete;

  /// G; 1 when the variant has no query-head groups.
  int64_t group = 1;
  /// Why the tensors cannot be viewed packed (empty when they can, or when
  /// there are no groups).
  std::string why;
  Arguments args;
  /// hq = Hkv, nq = G·Nq; the rest as bound.
  BoundSizes sizes;
  DLTensor views[3];
  int64_t shapes[3][4], strides[3][4];

  bool usable() const { return group > 1 && why.empty(); }
};

/// Fills `out.views[n]` with the packed view of `t` ([B, Hq, Nq, ...]), or
/// says in `out.why` why there is none.
bool packRows(const char *name, const DLTensor *t, int n, PackedArgs &out,
              int64_t hkv, int64_t nq) {
  int64_t *shape = out.shapes[n], *strides = out.strides[n];
  int64_t compact = 1;
  for (int d = t->ndim; d-- > 0;) {
    strides[d] = t->strides ? t->strides[d] : compact;
    shape[d] = t->shape[d];
    compact *= t->shape[d];
  }
  int64_t headStride = strides[1], rowStride = strides[2];
  if (nq != 1 && headStride != nq * rowStride) {
    out.why = std::string(name) + "'s query heads do not follow one another " +
              "(stride of the head dimension " + std::to_string(headStride) +
              ", Nq x stride of the row dimension " +
              std::to_string(nq * rowStride) + ": BSHD with Nq > 1)";
    return false;
  }
  shape[1] = hkv;
  shape[2] = out.group * nq;
  strides[1] = out.group * headStride;
  strides[2] = nq == 1 ? headStride : rowStride;
  out.views[n] = *t;
  out.views[n].shape = shape;
  out.views[n].strides = strides;
  return true;
}

/// The packed views of `args` (validated, with `sizes`), when the variant
/// has query-head groups.
void packArguments(const Arguments &args, const BoundSizes &sizes,
                   PackedArgs &out) {
  int64_t hq = sizes.at("hq"), hkv = sizes.at("hkv"), nq = sizes.at("nq");
  if (hkv <= 0 || hq % hkv != 0 || hq / hkv < 2)
    return;
  out.group = hq / hkv;
  out.args = args;
  if (!packRows("q", args.q, 0, out, hkv, nq) ||
      !packRows("o", args.o, 1, out, hkv, nq) ||
      (args.lse && !packRows("lse", args.lse, 2, out, hkv, nq)))
    return;
  out.args.q = &out.views[0];
  out.args.o = &out.views[1];
  if (args.lse)
    out.args.lse = &out.views[2];
  out.sizes = sizes;
  out.sizes.values["hq"] = hkv;
  out.sizes.values["nq"] = out.group * nq;
}

/// Which plan a run launches, with how many KV splits, and why.
struct Choice {
  const detail::PlanImpl *plan = nullptr;
  std::string reason;
  /// The split count of a split-KV plan (its compiled count, or the one
  /// chosen for this launch); 1 for the plain plan.
  int64_t splits = 1;
  /// G for a GQA-packed plan (it runs on PackedArgs); 1 otherwise.
  int64_t packedGroup = 1;
};

/// The partial-state kernel of a split-KV plan (null for a plain plan).
const KernelInfo *partialsOf(const detail::PlanImpl &p) {
  for (const KernelInfo &k : p.spec.kernels)
    if (k.role == KernelRole::SplitPartials)
      return &k;
  return nullptr;
}

/// The split count a launch of the split-KV plan `split` uses when `wanted`
/// was chosen: its compiled count, or `wanted` within what it allows.
int64_t splitsOf(const detail::PlanImpl &split, int64_t wanted) {
  const KernelInfo *k = partialsOf(split);
  if (!k)
    return wanted;
  return k->splits > 0 ? k->splits : std::min(wanted, k->maxSplits);
}

/// Picks the plain plan `p` or its split-KV plan for lengths `sizes`.
Choice chooseSplit(const detail::PlanImpl &p, const BoundSizes &sizes,
                   SplitKvMode mode);

/// The plan of a varlen or paged-KV run (`layout`): the plan itself when
/// its kernels take that layout (an adopted plan), else its `layout` plan:
/// 16-row tiles for decoding batches when the rows were attn-tile's choice
/// (as dense decoding), and over paged keys with dense queries split-KV by
/// the dense rule (a varlen plan is never split).
Choice chooseLayoutPlan(const detail::PlanImpl &p, SequenceLayout layout,
                        const BoundSizes &sizes, SplitKvMode mode,
                        std::string *why);

/// Picks the Q-tile rows, then whether to split KV. A plan whose rows were
/// attn-tile's choice (CompileOptions::blockM 0) runs its 16-row plan (one
/// warp) when Nq <= 16 (decoding: a larger tile would be mostly padding),
/// and, when it came out above 64, its 64-row plan when its own grid has
/// fewer CTAs than SMs: with SMs idle, smaller Q tiles finish sooner (half
/// the rows per warp) and fill more SMs. Split-KV is then decided on the
/// rows' plan.
Choice chooseHeuristicPlan(const detail::PlanImpl &p, const BoundSizes &sizes,
                           SplitKvMode mode, const PackedArgs &packed);

/// With a tuning database (RuntimeConfig::tuningDb) and a schedule left to
/// attn: the schedule of the entry nearest the run's bucket, its split-KV
/// policy unless the run forces one; else (and when that plan cannot be
/// built) the heuristics of chooseHeuristicPlan, saying so.
Choice choosePlan(const detail::PlanImpl &p, const BoundSizes &sizes,
                  SplitKvMode mode, const PackedArgs &packed) {
  std::shared_ptr<detail::RuntimeImpl> runtime = p.runtime.lock();
  const TuningDb *db = runtime ? runtime->tuningDb() : nullptr;
  bool leftToAttn = p.options.blockM == 0 && p.options.blockN == 0 &&
                    p.options.warps == 0 && !p.spec.isSplitKv() &&
                    !p.packedGqa;
  if (!db || !leftToAttn)
    return chooseHeuristicPlan(p, sizes, mode, packed);
  std::string arch = p.target.device == DeviceKind::Cuda ? p.target.arch
                                                         : p.options.arch;
  std::string dtype = tuningDtype(p.spec.signature);
  TuningBucket bucket = tuningBucket(sizes.at("nq"), sizes.at("nk"),
                                     sizes.at("b") * sizes.at("hq"));
  int64_t distance = 0;
  const TuningEntry *e =
      db->lookup(p.spec.irHash, dtype, arch, bucket, &distance);
  const std::string &file = runtime->config().tuningDb;
  if (!e) {
    Choice c = chooseHeuristicPlan(p, sizes, mode, packed);
    c.reason = "tuning DB " + file + ": no entry for this variant, " + dtype +
               (arch.empty() ? "" : " and " + arch) +
               "; default heuristic: " + c.reason;
    return c;
  }
  char score[32];
  std::snprintf(score, sizeof score, "%.4g", e->scoreUs);
  std::string entry = "tuning DB entry " + file + ":" +
                      std::to_string(e->line) + " (" + e->arch + ", bucket [" +
                      std::to_string(e->bucket[0]) + ", " +
                      std::to_string(e->bucket[1]) + ", " +
                      std::to_string(e->bucket[2]) + "] at distance " +
                      std::to_string(distance) + ", " + score + " us " +
                      e->source + ")";
  std::string why;
  std::shared_ptr<const detail::PlanImpl> tuned =
      tunedPlanOf(p, e->schedule, &why);
  if (!tuned) {
    Choice c = chooseHeuristicPlan(p, sizes, mode, packed);
    c.reason = entry + ": its plan is unavailable (" + why +
               "); default heuristic: " + c.reason;
    return c;
  }
  if (mode == SplitKvMode::Default)
    parseSplitKvMode(e->schedule.splitKv, mode);
  Choice c = chooseSplit(*tuned, sizes, mode);
  c.reason = entry + ": block-m=" + std::to_string(e->schedule.blockM) +
             " block-n=" + std::to_string(e->schedule.blockN) +
             " warps=" + std::to_string(e->schedule.warps) +
             " split-kv=" + e->schedule.splitKv + "; " + c.reason;
  return c;
}

Choice chooseHeuristicPlan(const detail::PlanImpl &p, const BoundSizes &sizes,
                           SplitKvMode mode, const PackedArgs &packed) {
  int64_t rows = p.spec.mainKernel().blockM;
  int64_t nq = sizes.at("nq");
  if (p.spec.isSplitKv() || p.options.blockM != 0)
    return chooseSplit(p, sizes, mode);
  if (nq <= kDecodeRows && rows > kDecodeRows) {
    std::string why;
    std::string rule = "Nq = " + std::to_string(nq) +
                       " <= " + std::to_string(kDecodeRows);
    // GQA: the group's query heads share the Q tile's rows, so one CTA
    // reads each K/V tile once for all of them.
    std::string notPacked;
    if (packed.usable()) {
      // One warp's 16 rows when the group's rows fit, else 64 (4 warps):
      // each Q tile reads the KV head's K/V once, so fewer, taller tiles
      // read less (speculative decoding, large groups).
      int64_t groupRows = packed.sizes.at("nq");
      int64_t tileRows = groupRows <= kDecodeRows ? kDecodeRows
                                                  : kPackedTallRows;
      std::shared_ptr<const detail::PlanImpl> plan =
          rowsPlanOf(p, tileRows, /*packGqa=*/true, &why);
      if (plan) {
        Choice c = chooseSplit(*plan, packed.sizes, mode);
        c.reason = std::to_string(tileRows) + " rows, " +
                   std::to_string(packed.group) +
                   " query heads per KV head packed into them (" +
                   std::to_string(groupRows) + " rows): " + rule + "; " +
                   c.reason;
        c.packedGroup = packed.group;
        return c;
      }
      notPacked = " (GQA not packed: " + why + ")";
    } else if (packed.group > 1) {
      notPacked = " (GQA not packed: " + packed.why + ")";
    }
    rule += notPacked;
    std::shared_ptr<const detail::PlanImpl> decode =
        rowsPlanOf(p, kDecodeRows, /*packGqa=*/false, &why);
    if (decode) {
      Choice c = chooseSplit(*decode, sizes, mode);
      c.reason = "16 rows: " + rule + "; " + c.reason;
      return c;
    }
    Choice c = chooseSplit(p, sizes, mode);
    c.reason = std::to_string(rows) + " rows: " + rule +
               ", but there is no 16-row plan: " + why + "; " + c.reason;
    return c;
  }
  if (rows <= 64)
    return chooseSplit(p, sizes, mode);
  int64_t heads = sizes.at("hq") * sizes.at("b");
  int64_t ctas = ceilDiv(nq, rows) * heads;
  std::string grid = "the " + std::to_string(rows) + "-row grid has " +
                     std::to_string(ctas) + " CTAs for " +
                     std::to_string(p.multiprocessors) + " SMs";
  if (ctas >= p.multiprocessors) {
    Choice c = chooseSplit(p, sizes, mode);
    c.reason = std::to_string(rows) + " rows: " + grid + "; " + c.reason;
    return c;
  }
  std::string why;
  std::shared_ptr<const detail::PlanImpl> shortRows =
      rowsPlanOf(p, 64, /*packGqa=*/false, &why);
  if (!shortRows) {
    Choice c = chooseSplit(p, sizes, mode);
    c.reason = std::to_string(rows) + " rows: " + grid +
               ", but there is no 64-row plan: " + why + "; " + c.reason;
    return c;
  }
  Choice c = chooseSplit(*shortRows, sizes, mode);
  c.reason = "64 rows: " + grid + "; " + c.reason;
  return c;
}

/// Auto splits when the plain grid leaves SMs idle (fewer CTAs than SMs)
/// and the keys are long enough for every split to get two KV tiles, so
/// that each split amortises its share of the merge.
Choice chooseSplit(const detail::PlanImpl &p, const BoundSizes &sizes,
                   SplitKvMode mode) {
  if (mode == SplitKvMode::Default)
    mode = p.defaultSplitKv == SplitKvMode::Default ? SplitKvMode::Auto
                                                    : p.defaultSplitKv;
  // A split-KV plan written as kernel IR: its compiled count, or (with
  // attn.kv_splits) this launch's to choose, as for a derived one.
  if (const KernelInfo *k = partialsOf(p); k && k->splits > 0)
    return {&p, "the variant's plan is split-KV already", k->splits};
  int64_t maxSplits = p.options.kvSplits;
  if (maxSplits < 2 && !p.spec.isSplitKv())
    return {&p, "no split-KV plan: CompileOptions::kvSplits is " +
                    std::to_string(maxSplits)};
  if (mode == SplitKvMode::Never && !p.spec.isSplitKv())
    return {&p, "split-KV never (forced)"};
  int64_t ctas = ceilDiv(sizes.at("nq"), p.spec.mainKernel().blockM) *
                 sizes.at("hq") * sizes.at("b");
  int64_t tile = p.spec.kvTile > 0 ? p.spec.kvTile : 64;
  int64_t kvTiles = ceilDiv(sizes.at("nk"), tile);
  bool force = mode == SplitKvMode::Always || p.spec.isSplitKv();
  KvSplitChoice count = chooseKvSplits(ctas, kvTiles, p.multiprocessors,
                                       std::max<int64_t>(maxSplits, 2), force);
  if (p.spec.isSplitKv())
    return {&p, "the variant's plan is split-KV; " + count.reason,
            splitsOf(p, count.splits)};
  if (count.splits < 2)
    return {&p, "auto: plain: " + count.reason};
  std::string reason = (force ? "split-KV always (forced): "
                              : "auto: split-KV: ") +
                       count.reason;
  std::string why;
  std::shared_ptr<const detail::PlanImpl> split = splitPlanOf(p, &why);
  if (!split)
    return {&p, reason + "; the plain plan runs: no split-KV plan: " + why};
  return {split.get(), reason, splitsOf(*split, count.splits)};
}

Choice chooseLayoutPlan(const detail::PlanImpl &p, SequenceLayout layout,
                        const BoundSizes &sizes, SplitKvMode mode,
                        std::string *why) {
  int64_t b = sizes.at("b"), nq = sizes.at("nq");
  std::string reason = layout.describe() + ": " + std::to_string(b) +
                       " sequences, the longest " + std::to_string(nq) +
                       " query rows and " + std::to_string(sizes.at("nk")) +
                       " keys";
  if (p.spec.layout().varlen == layout.varlen &&
      p.spec.layout().pagedKv == layout.pagedKv)
    return {&p, reason + " (the plan takes them as emitted)",
            p.spec.isSplitKv() ? splitsOf(p, 1) : 1};
  int64_t rows = 0;
  if (p.options.blockM == 0 && nq <= kDecodeRows &&
      p.spec.mainKernel().blockM > kDecodeRows) {
    rows = kDecodeRows;
    reason += "; " + std::to_string(kDecodeRows) + "-row tiles";
  }
  // Split-KV, decided as for dense tensors on the rows' grid.
  KvSplitChoice count;
  bool split = false;
  if (mode == SplitKvMode::Default)
    mode = p.defaultSplitKv == SplitKvMode::Default ? SplitKvMode::Auto
                                                    : p.defaultSplitKv;
  if (layout.varlen) {
    reason += "; plain (a varlen plan is never split)";
  } else if (p.options.kvSplits < 2) {
    reason += "; plain (CompileOptions::kvSplits is " +
              std::to_string(p.options.kvSplits) + ")";
  } else if (mode == SplitKvMode::Never) {
    reason += "; split-KV never (forced)";
  } else {
    int64_t tileRows = rows ? rows : p.spec.mainKernel().blockM;
    int64_t ctas = ceilDiv(nq, tileRows) * sizes.at("hq") * b;
    int64_t tile = p.spec.kvTile > 0 ? p.spec.kvTile : 64;
    count = chooseKvSplits(ctas, ceilDiv(sizes.at("nk"), tile),
                           p.multiprocessors,
                           std::max<int64_t>(p.options.kvSplits, 2),
                           mode == SplitKvMode::Always);
    split = count.splits >= 2;
    reason += (split ? "; split-KV: " : "; plain: ") + count.reason;
  }
  const detail::PlanImpl *plan = layoutPlanOf(p, rows, split, layout, why);
  if (!plan && split) {
    reason += "; no split-KV plan: " + *why;
    split = false;
    plan = layoutPlanOf(p, rows, false, layout, why);
  }
  if (!plan && rows) {
    reason += "; no " + std::to_string(rows) + "-row plan: " + *why;
    plan = layoutPlanOf(p, 0, false, layout, why);
  }
  if (!plan)
    return {nullptr, reason};
  return {plan, reason, split ? splitsOf(*plan, count.splits) : 1};
}

/// Where the buffers the runtime owns for one run lie in one allocation.
struct ScratchLayout {
  struct Slot {
    size_t offset = 0;
    int64_t elements = 0;
  };
  /// lse when the caller passes none (elements 0: not needed).
  Slot lse;
  /// ws<N>, f32.
  std::vector<Slot> workspaces;
  /// sum<N> of spec.summarizedCaptures[i], int64.
  std::vector<Slot> summaries;
  size_t bytes = 0;

  void add(Slot &slot, int64_t elements, size_t elementBytes) {
    // 256-byte alignment, as cuMemAlloc's and DLPack's.
    bytes = (bytes + 255) / 256 * 256;
    slot.offset = bytes;
    slot.elements = elements;
    bytes += static_cast<size_t>(elements) * elementBytes;
  }
};

/// The launches of validated arguments: one parameter struct, the kernels'
/// grids, and the scratch buffers they need.
struct Prepared {
  BoundSizes sizes;
  Choice choice;
  std::vector<uint64_t> params;
  struct Launch {
    size_t kernel;
    unsigned grid[3];
  };
  std::vector<Launch> launches;
  /// Nothing to launch: a grid dimension is empty.
  bool empty = true;
  ScratchLayout layout;
  /// emu: the scratch memory (8-byte aligned).
  std::vector<uint64_t> hostScratch;
  /// cuda: the scratch memory, held for the call.
  std::shared_ptr<DeviceMemory> deviceScratch;
};

/// The number of elements of `t` when it is a capture's tensor: rows x
/// 16-element blocks of its last dimension, twice (min and max).
int64_t summaryElements(const DLTensor *t) {
  if (!t || t->ndim == 0)
    return 0;
  int64_t rows = 1;
  for (int d = 0; d + 1 < t->ndim; ++d)
    rows *= t->shape[d];
  return 2 * rows * ceilDiv(t->shape[t->ndim - 1], 16);
}

/// The scratch memory of a cuda run on `stream` (grown as needed).
Expected<std::shared_ptr<DeviceMemory>>
deviceScratch(const detail::PlanImpl &p, void *stream, size_t bytes) {
  std::lock_guard<std::mutex> lock(p.scratchMutex);
  std::shared_ptr<DeviceMemory> &current = p.scratch[stream];
  if (current && current->bytes >= bytes)
    return current;
  // Geometric growth bounds the outgrown buffers kept alive.
  size_t size = std::max(bytes, current ? current->bytes * 2 : size_t(0));
  auto memory = allocateDevice(size);
  if (!memory)
    return Status::error("allocating " + std::to_string(size) +
                         " bytes of scratch memory (lse, workspaces, "
                         "summaries): " +
                         memory.message());
  if (current)
    p.retiredScratch.push_back(current);
  current = *memory;
  return current;
}

/// The runtime's buffers of a run, in words: "split-KV workspace 0: 1.2
/// GiB, lse: 3.1 MiB".
std::string describeScratch(const ScratchLayout &layout) {
  std::string out;
  auto add = [&](const std::string &name, const ScratchLayout::Slot &slot,
                 uint64_t elementBytes) {
    if (slot.elements)
      out += (out.empty() ? "" : ", ") + name + ": " +
             formatBytes(mulBytes(slot.elements, elementBytes));
  };
  add("lse", layout.lse, sizeof(float));
  for (size_t n = 0; n < layout.workspaces.size(); ++n)
    add("split-KV workspace " + std::to_string(n), layout.workspaces[n],
        sizeof(float));
  for (size_t n = 0; n < layout.summaries.size(); ++n)
    add("tile summaries " + std::to_string(n), layout.summaries[n],
        sizeof(int64_t));
  return out;
}

Status prepare(const detail::PlanImpl &plain, const Arguments &args,
               const RunOptions &options, Prepared &out) {
  // A variable-length batch or a paged KV cache: packed tensors or pages,
  // bound through views that its plan's kernels rebase per sequence.
  SequenceLayout seqLayout{args.cuSeqlensQ || args.cuSeqlensK,
                           args.blockTable || args.seqLensK};
  bool sequenced = !seqLayout.dense();
  bool varlen = seqLayout.varlen;
  SequenceViews seqViews;
  Status valid =
      sequenced ? validateSequenceArguments(plain.spec.signature, args,
                                            plain.device, plain.ordinal,
                                            &out.sizes, seqViews)
                : validateArguments(plain.spec.signature, args, plain.device,
                                    plain.ordinal, &out.sizes);
  if (!valid.ok())
    return valid;
  SequenceLayout emitted = plain.spec.layout();
  if (!emitted.dense() && (emitted.varlen != seqLayout.varlen ||
                           emitted.pagedKv != seqLayout.pagedKv))
    return Status::error(
        "the kernels of '" + plain.spec.mainKernel().name + "' take " +
        emitted.describe() + " arguments (Arguments::" +
        (emitted.varlen ? "cuSeqlensQ, " : "") +
        (emitted.pagedKv ? "blockTable, seqLensK" : "cuSeqlensK") +
        ") but this run's are " +
        (seqLayout.dense() ? "dense" : seqLayout.describe()));
  int64_t b = out.sizes.at("b"), hq = out.sizes.at("hq"),
          nq = out.sizes.at("nq");
  out.empty = nq == 0 || hq == 0 || b == 0;
  if (out.empty) {
    out.choice = {&plain, "nothing to launch: an empty grid"};
    return Status::success();
  }
  PackedArgs packed;
  // Views only for a decoding launch (the only one that packs).
  if (nq <= kDecodeRows && !sequenced)
    packArguments(args, out.sizes, packed);
  if (sequenced) {
    std::string why;
    out.choice =
        chooseLayoutPlan(plain, seqLayout, out.sizes, options.splitKv, &why);
    if (!out.choice.plan)
      return Status::error("'" + plain.spec.signature.function +
                           "' has no " + seqLayout.describe() +
                           " plan: " + why);
  } else {
    out.choice = choosePlan(plain, out.sizes, options.splitKv, packed);
  }
  if (options.kvSplits != 0) {
    // The caller's count, for a plan whose count is chosen at launch.
    const KernelInfo *partials = partialsOf(*out.choice.plan);
    if (options.kvSplits < 0)
      return Status::error("RunOptions::kvSplits is " +
                           std::to_string(options.kvSplits) +
                           ": a split count is at least 1 (0: the "
                           "runtime's choice)");
    if (partials && partials->splits == 0) {
      if (options.kvSplits > partials->maxSplits)
        return Status::error(
            "RunOptions::kvSplits is " + std::to_string(options.kvSplits) +
            " but the merge kernel of '" + partials->name + "' holds " +
            std::to_string(partials->maxSplits) + " splits at most");
      out.choice.splits = options.kvSplits;
      out.choice.reason += "; " + std::to_string(options.kvSplits) +
                           " splits (RunOptions::kvSplits)";
    }
  }
  const detail::PlanImpl &p = *out.choice.plan;
  const PlanSpec &spec = p.spec;
  // A GQA-packed plan sees Hkv heads of G·Nq rows.
  bool isPacked = out.choice.packedGroup > 1;
  const BoundSizes &sizes = isPacked ? packed.sizes : out.sizes;
  const Arguments &runArgs = sequenced  ? seqViews.args
                             : isPacked ? packed.args
                                        : args;
  hq = sizes.at("hq");
  nq = sizes.at("nq");

  for (size_t i = 0; i < spec.kernels.size(); ++i) {
    const KernelInfo &k = spec.kernels[i];
    int64_t grid[3] = {k.fixedGridX, 1, 1};
    if (k.role != KernelRole::TileSummaries) {
      grid[0] = ceilDiv(nq, k.blockM);
      grid[1] = hq * (k.role == KernelRole::SplitPartials
                          ? out.choice.splits
                          : 1);
      grid[2] = b;
    }
    // Grid limits: x < 2^31, y and z < 2^16.
    if (grid[0] >= (int64_t(1) << 31) || grid[1] >= 65536 || grid[2] >= 65536)
      return Status::error("the grid (" + std::to_string(grid[0]) + ", " +
                           std::to_string(grid[1]) + ", " +
                           std::to_string(grid[2]) + ") of '" + k.name +
                           "' exceeds CUDA's limits (2^31-1, 65535, 65535)");
    Prepared::Launch l{i, {0, 0, 0}};
    for (int d = 0; d < 3; ++d)
      l.grid[d] = static_cast<unsigned>(grid[d]);
    out.launches.push_back(l);
  }

  // The buffers between the kernels, and lse when the caller passes none.
  ScratchLayout &layout = out.layout;
  if (spec.signature.hasLse() && !args.lse)
    layout.add(layout.lse, varlen ? hq * seqViews.totalQ : b * hq * nq,
               sizeof(float));
  int64_t ctas = ceilDiv(nq, spec.mainKernel().blockM) * hq * b;
  for (int64_t perCta : spec.workspaceElementsPerCta) {
    int64_t elements, perSplit;
    if (__builtin_mul_overflow(perCta, ctas, &perSplit) ||
        __builtin_mul_overflow(perSplit, out.choice.splits, &elements) ||
        elements > (int64_t(1) << 40))
      return Status::error("the split-KV workspaces for " +
                           std::to_string(ctas) + " CTAs are too large");
    layout.workspaces.emplace_back();
    layout.add(layout.workspaces.back(), elements, sizeof(float));
  }
  for (unsigned n : spec.summarizedCaptures) {
    layout.summaries.emplace_back();
    layout.add(layout.summaries.back(),
               summaryElements(args.captures[n].tensor), sizeof(int64_t));
  }
  uint64_t base = 0;
  if (layout.bytes > 0) {
    if (p.device == DeviceKind::Emu) {
      if (Status s = checkHostMemory(layout.bytes, options.hostMemoryLimit,
                                     "the run's buffers (" +
                                         describeScratch(layout) + ")");
          !s.ok())
        return s;
      // Poisoned (NaN for f32 workspaces) as the emulator poisons shared
      // memory: a kernel reading what no earlier kernel wrote must fail
      // the check here as it would read stale data on a GPU.
      out.hostScratch.assign((layout.bytes + 7) / 8, ~uint64_t(0));
      base = reinterpret_cast<uint64_t>(out.hostScratch.data());
    } else {
      auto memory = deviceScratch(plain, options.stream, layout.bytes);
      if (!memory)
        return memory.status();
      out.deviceScratch = *memory;
      base = out.deviceScratch->pointer;
    }
  }
  abi::ParamBindings buffers;
  auto bind = [&](const ScratchLayout::Slot &slot) {
    abi::BufferBinding binding;
    binding.bound = true;
    binding.data = reinterpret_cast<const void *>(base + slot.offset);
    binding.flatExtent = slot.elements;
    return binding;
  };
  for (const ScratchLayout::Slot &slot : layout.workspaces)
    buffers.workspaces.push_back(bind(slot));
  buffers.summaries.resize(spec.signature.inputs.size());
  for (size_t i = 0; i < layout.summaries.size(); ++i)
    buffers.summaries[3 + spec.summarizedCaptures[i]] =
        bind(layout.summaries[i]);
  void *lse = layout.lse.elements
                  ? reinterpret_cast<void *>(base + layout.lse.offset)
                  : nullptr;
  if (varlen) {
    // The lse workspace is [Hq, total_q] as the caller's would be.
    if (lse)
      seqViews.bindLse(lse, hq);
    buffers.seqStarts = {bindingOf(args.cuSeqlensQ), bindingOf(args.cuSeqlensK)};
  }
  if (seqLayout.pagedKv) {
    buffers.blockTable = {bindingOf(args.blockTable)};
    buffers.seqLensK = {bindingOf(args.seqLensK)};
    buffers.pageShift = seqViews.pageShift;
  }
  buffers.kvSplits = out.choice.splits;
  buffers.encodeTensorMap = tensorMapEncoder(p.device);
  return buildParams(spec, runArgs, sizes, lse, std::move(buffers),
                     out.params);
}

std::vector<CudaLaunch> cudaLaunches(const Prepared &prepared) {
  const PlanSpec &spec = prepared.choice.plan->spec;
  std::vector<CudaLaunch> out;
  for (const Prepared::Launch &l : prepared.launches) {
    const KernelInfo &k = spec.kernels[l.kernel];
    CudaLaunch c;
    c.kernel = l.kernel;
    c.params = &prepared.params;
    std::copy(l.grid, l.grid + 3, c.grid);
    c.threads = static_cast<unsigned>(k.threads);
    c.dynamicSmemBytes = static_cast<unsigned>(k.dynamicSmemBytes);
    out.push_back(c);
  }
  return out;
}

/// The memory a tensor's elements span: from its lowest to its highest
/// element (DLPack strides may be negative).
attn::emu::GlobalBuffer spanOf(const char *name, const DLTensor *t,
                               bool writable) {
  int64_t lo = 0, hi = 0, stride = 1;
  for (int d = t->ndim; d-- > 0;) {
    int64_t s = t->strides ? t->strides[d] : stride;
    stride *= t->shape[d];
    if (t->shape[d] == 0)
      return {name, nullptr, 0, writable};
    (s < 0 ? lo : hi) += (t->shape[d] - 1) * s;
  }
  size_t bytes = (t->dtype.bits * t->dtype.lanes + 7) / 8;
  char *base = static_cast<char *>(t->data) + t->byte_offset;
  return {name, base + lo * int64_t(bytes), size_t(hi - lo + 1) * bytes,
          writable};
}

/// What an emu run's kernels may touch: the caller's tensors (inputs
/// read-only) and the runtime's scratch memory.
std::vector<attn::emu::GlobalBuffer>
memcheckBuffers(const Arguments &args, const Prepared &prepared) {
  std::vector<attn::emu::GlobalBuffer> out;
  auto add = [&](const char *name, const DLTensor *t, bool writable) {
    if (!t)
      return;
    attn::emu::GlobalBuffer b = spanOf(name, t, writable);
    if (b.bytes)
      out.push_back(std::move(b));
  };
  add("q", args.q, false);
  add("k", args.k, false);
  add("v", args.v, false);
  add("o", args.o, true);
  add("lse", args.lse, true);
  add("cuSeqlensQ", args.cuSeqlensQ, false);
  add("cuSeqlensK", args.cuSeqlensK, false);
  add("blockTable", args.blockTable, false);
  add("seqLensK", args.seqLensK, false);
  for (size_t c = 0; c < args.captures.size(); ++c)
    if (args.captures[c].tensor) {
      std::string name = "c" + std::to_string(c);
      attn::emu::GlobalBuffer b =
          spanOf(name.c_str(), args.captures[c].tensor, false);
      if (b.bytes)
        out.push_back(std::move(b));
    }
  if (!prepared.hostScratch.empty())
    out.push_back({"runtime scratch (lse, split-KV workspaces, summaries)",
                   const_cast<uint64_t *>(prepared.hostScratch.data()),
                   prepared.layout.bytes, true});
  return out;
}

void describe(const Prepared &prepared, RunStats &stats) {
  const PlanSpec &spec = prepared.choice.plan->spec;
  stats.splitKv = spec.isSplitKv();
  stats.splits = prepared.choice.splits;
  stats.blockM = spec.mainKernel().blockM;
  stats.packedGroup = prepared.choice.packedGroup;
  stats.planReason = prepared.choice.reason;
  for (const Prepared::Launch &l : prepared.launches)
    stats.kernels.push_back(spec.kernels[l.kernel].name);
}
} // namespace

Expected<std::vector<KernelInfo>> Plan::splitKvKernels() const {
  const detail::PlanImpl &p = *impl;
  if (p.spec.isSplitKv())
    return p.spec.kernels;
  if (p.options.kvSplits < 2)
    return Status::error("no split-KV plan: CompileOptions::kvSplits is " +
                         std::to_string(p.options.kvSplits));
  std::string why;
  std::shared_ptr<const detail::PlanImpl> split = splitPlanOf(p, &why);
  if (!split)
    return Status::error("no split-KV plan: " + why);
  return split->spec.kernels;
}

Status Plan::run(const Arguments &args, const RunOptions &options,
                 RunStats *stats) const {
  if (options.memcheck && impl->device != DeviceKind::Emu)
    return Status::error("memcheck (RunOptions::memcheck) runs on the "
                         "emulator; this plan is for " +
                         std::string(deviceName(impl->device)));
  if (options.raceCheck && impl->device != DeviceKind::Emu)
    return Status::error("race checking (RunOptions::raceCheck) runs on the "
                         "emulator; this plan is for " +
                         std::string(deviceName(impl->device)));
  std::unique_lock<std::mutex> queueing;
  if (impl->device == DeviceKind::Cuda)
    queueing = std::unique_lock<std::mutex>(impl->queueMutex);
  Prepared prepared;
  if (Status s = prepare(*impl, args, options, prepared); !s.ok())
    return s;
  if (stats) {
    *stats = RunStats();
    stats->device = impl->device;
    describe(prepared, *stats);
  }
  if (prepared.empty)
    return Status::success();
  const detail::PlanImpl &p = *prepared.choice.plan;
  if (p.device == DeviceKind::Cuda)
    return launchCuda(*p.cuda, cudaLaunches(prepared), options.stream);
  // Memcheck checks against these; the race checker copies them (all the
  // memory the kernels touch).
  std::vector<attn::emu::GlobalBuffer> buffers;
  if (options.memcheck || options.raceCheck)
    buffers = memcheckBuffers(args, prepared);
  std::vector<EmuLaunch> launches;
  for (const Prepared::Launch &l : prepared.launches) {
    const KernelInfo &k = p.spec.kernels[l.kernel];
    EmuLaunch e;
    e.kernelName = k.name;
    e.params = prepared.params.data();
    std::copy(l.grid, l.grid + 3, e.grid);
    e.threads = static_cast<unsigned>(k.threads);
    e.dynamicSmemBytes = static_cast<size_t>(k.dynamicSmemBytes);
    e.countGlobalAccesses = options.countGlobalAccesses;
    e.countTiles = options.countTiles;
    e.memcheck = options.memcheck;
    e.memcheckReports = options.memcheck && options.memcheckReports;
    e.buffers = buffers;
    launches.push_back(e);
  }
  if (Status s = launchEmu(*p.emu, launches, stats); !s.ok())
    return s;
  if (!options.raceCheck)
    return Status::success();
  return raceCheckEmu(p.spec.source(), p.spec.mainKernel().name + ".cu",
                      p.hostCompiler, launches,
                      prepared.params.size() * sizeof(uint64_t), stats);
}

Expected<BenchResult> Plan::benchmark(const Arguments &args, int repeats,
                                      const RunOptions &options) const {
  if (impl->device != DeviceKind::Cuda)
    return Status::error(
        "no timing on the emulator: its wall time measures the CPU "
        "emulation, not the kernel; use the counters (RunStats)");
  if (repeats < 1)
    return Status::error("benchmark needs at least one repeat");
  std::lock_guard<std::mutex> queueing(impl->queueMutex);
  Prepared prepared;
  if (Status s = prepare(*impl, args, options, prepared); !s.ok())
    return s;
  if (prepared.empty)
    return Status::error("nothing to time: the grid is empty");
  return benchCuda(*prepared.choice.plan->cuda, cudaLaunches(prepared),
                   options.stream, repeats);
}
