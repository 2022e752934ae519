//===- JitDevice.cpp - attn-run's bridge to the JIT runtime ---------------===//

#include "JitDevice.h"

#include "RunSupport.h"
#include "Varlen.h"

#include "EmittedPlan.h"
#include "attn/Runtime.h"
#include "attn/RuntimeMLIR.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

using namespace attn::run;
using attn::interp::Tensor;

namespace {

const llvm::fltSemantics *semantics(DLDataType t) {
  if (t.code == kDLBfloat && t.bits == 16)
    return &llvm::APFloat::BFloat();
  if (t.code == kDLFloat && t.bits == 16)
    return &llvm::APFloat::IEEEhalf();
  if (t.code == kDLFloat && t.bits == 32)
    return &llvm::APFloat::IEEEsingle();
  if (t.code == kDLFloat && t.bits == 64)
    return &llvm::APFloat::IEEEdouble();
  return nullptr;
}

/// Bits of `x` as an element of `t` (round to nearest even).
uint64_t encode(double x, DLDataType t) {
  if (const llvm::fltSemantics *s = semantics(t)) {
    llvm::APFloat v(x);
    bool lost = false;
    v.convert(*s, llvm::APFloat::rmNearestTiesToEven, &lost);
    return v.bitcastToAPInt().getZExtValue();
  }
  return static_cast<uint64_t>(attn::interp::toInt64(x));
}

double decode(uint64_t bits, DLDataType t) {
  if (const llvm::fltSemantics *s = semantics(t))
    return llvm::APFloat(*s, llvm::APInt(t.bits, bits)).convertToDouble();
  return static_cast<double>(llvm::APInt(t.bits, bits).getSExtValue());
}

/// A tensor in device memory and the host copy it is staged through.
struct Staged {
  std::vector<int64_t> shape, strides;
  DLDataType dtype{};
  std::vector<unsigned char> host;
  attn::Buffer buffer;
  DLTensor dl{};

  unsigned elementBytes() const { return (dtype.bits + 7) / 8; }

  /// Calls fn(logical row-major index, element offset) for every element.
  template <typename Fn> void forEach(Fn fn) const {
    int64_t count = 1;
    for (int64_t n : shape)
      count *= n;
    std::vector<int64_t> at(shape.size(), 0);
    for (int64_t i = 0; i < count; ++i) {
      int64_t offset = 0;
      for (size_t d = 0; d < at.size(); ++d)
        offset += at[d] * strides[d];
      fn(i, offset);
      for (size_t d = at.size(); d-- > 0;) {
        if (++at[d] < shape[d])
          break;
        at[d] = 0;
      }
    }
  }
};

/// Strides of `shape` in memory order BHSD, or BSHD (heads and sequence
/// swapped) for a rank-4 tensor when `bshd`.
std::vector<int64_t> layoutStrides(const std::vector<int64_t> &shape,
                                   bool bshd) {
  size_t rank = shape.size();
  std::vector<size_t> order(rank);
  for (size_t d = 0; d < rank; ++d)
    order[d] = d;
  if (bshd && rank == 4)
    std::swap(order[1], order[2]);
  std::vector<int64_t> strides(rank);
  int64_t stride = 1;
  for (size_t k = rank; k-- > 0;) {
    strides[order[k]] = stride;
    stride *= shape[order[k]];
  }
  return strides;
}

/// Allocates `s` on `device` and uploads `value` (or NaN, so that an
/// unwritten output element fails --check).
llvm::Error stage(attn::Runtime &rt, attn::DeviceKind device, Staged &s,
                  const Tensor *value) {
  size_t count = 1;
  for (int64_t n : s.shape)
    count *= static_cast<size_t>(n);
  unsigned size = s.elementBytes();
  s.host.assign(std::max<size_t>(count, 1) * size, 0);
  // Only outputs (float) are poisoned: NaN has no integer encoding.
  uint64_t nan = value ? 0 : encode(NAN, s.dtype);
  s.forEach([&](int64_t i, int64_t offset) {
    uint64_t bits = value ? encode(value->data[i], s.dtype) : nan;
    std::memcpy(&s.host[offset * size], &bits, size);
  });
  auto buffer = rt.allocate(device, s.host.size());
  if (!buffer)
    return makeError(buffer.message());
  s.buffer = *buffer;
  attn::Status copied = s.buffer.copyFromHost(s.host.data(), s.host.size());
  if (!copied.ok())
    return makeError(copied.message());
  s.dl.data = s.buffer.data();
  s.dl.device = s.buffer.dlDevice();
  s.dl.ndim = static_cast<int>(s.shape.size());
  s.dl.dtype = s.dtype;
  s.dl.shape = s.shape.data();
  s.dl.strides = s.strides.data();
  return llvm::Error::success();
}

/// Reads `s` back into a row-major Tensor.
llvm::Expected<Tensor> fetch(Staged &s) {
  attn::Status copied = s.buffer.copyToHost(s.host.data(), s.host.size());
  if (!copied.ok())
    return makeError(copied.message());
  Tensor t;
  t.shape = s.shape;
  unsigned size = s.elementBytes();
  s.forEach([&](int64_t, int64_t offset) {
    uint64_t bits = 0;
    std::memcpy(&bits, &s.host[offset * size], size);
    t.data.push_back(decode(bits, s.dtype));
  });
  return t;
}

} // namespace

static double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string attn::run::benchSummary(const JitReport &r) {
  char buffer[256];
  std::string plan = "; plan: " + r.plan + " (" + r.kernels + ")";
  if (r.timed) {
    std::snprintf(buffer, sizeof buffer,
                  "bench:    %.4f ms median, %.4f ms min over %d runs "
                  "(CUDA events)",
                  r.medianMs, r.minMs, r.repeats);
    return buffer + plan;
  }
  if (!r.haveCounters)
    return "";
  std::snprintf(buffer, sizeof buffer,
                "bench:    no timing on emu (%s); counters: ctas=%llu "
                "global_bytes_read=%llu global_bytes_written=%llu",
                r.untimedReason.c_str(),
                static_cast<unsigned long long>(r.ctas),
                static_cast<unsigned long long>(r.bytesRead),
                static_cast<unsigned long long>(r.bytesWritten));
  return buffer + plan;
}

std::string attn::run::benchJson(const JitReport &r) {
  if (!r.timed && !r.haveCounters)
    return "";
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::json::OStream j(os);
  j.object([&] {
    if (r.timed) {
      jsonNumberAttribute(j, "median_ms", r.medianMs, 6);
      jsonNumberAttribute(j, "min_ms", r.minMs, 6);
      j.attribute("repeats", r.repeats);
    } else {
      j.attribute("median_ms", nullptr);
      j.attribute("note", r.untimedReason);
      j.attribute("ctas", r.ctas);
      j.attribute("global_bytes_read", r.bytesRead);
      j.attribute("global_bytes_written", r.bytesWritten);
    }
    j.attribute("plan", r.plan);
    j.attribute("block_m", r.blockM);
    j.attribute("packed_group", r.packedGroup);
    j.attribute("kernels", r.kernels);
    j.attribute("plan_reason", r.planReason);
  });
  return out;
}

llvm::Expected<std::vector<Tensor>>
attn::run::runJit(mlir::ModuleOp module, mlir::func::FuncOp func,
                  llvm::ArrayRef<Tensor> inputs,
                  const std::map<std::string, int64_t> &sizes,
                  const JitRequest &request, JitReport &report) {
  attn::Runtime &rt = attn::Runtime::global();
  attn::CompileOptions options;
  if (!attn::parseDevice(request.device, options.device))
    return makeError("unknown device '" + request.device + "'");
  options.entry = func.getSymName().str();
  options.blockM = request.blockM;
  options.blockN = request.blockN;
  options.warps = request.warps;
  options.stages = request.stages;
  options.unroll = request.unroll;
  options.arch = request.arch;
  auto start = std::chrono::steady_clock::now();
  auto plan = request.emitted
                  ? attn::jit::compileEmitted(rt, func, *request.emitted,
                                              options)
                  : attn::compileModule(rt, module, options);
  if (!plan)
    return makeError(plan.message());
  report.compileSeconds = secondsSince(start);
  attn::DeviceKind device = plan->device();
  report.device = attn::deviceName(device);
  const attn::Signature &sig = plan->signature();
  if (request.layout != "bhsd" && request.layout != "bshd")
    return makeError("unknown --layout '" + request.layout + "' (bhsd, bshd)");
  bool bshd = request.layout == "bshd";

  std::vector<std::unique_ptr<Staged>> staged;
  auto add = [&](const attn::ArgumentSignature &a,
                 const std::vector<int64_t> &shape, bool layout,
                 const Tensor *value) -> llvm::Expected<Staged *> {
    staged.push_back(std::make_unique<Staged>());
    Staged &s = *staged.back();
    s.shape = shape;
    s.strides = layoutStrides(shape, layout && bshd);
    s.dtype = a.dtype;
    if (llvm::Error err = stage(rt, device, s, value))
      return std::move(err);
    return &s;
  };
  attn::Arguments args;
  const DLTensor **qkv[] = {&args.q, &args.k, &args.v};
  // A paged KV cache: k and v as pages, found through a block table.
  std::optional<PageLayout> pages;
  std::vector<Tensor> paged;
  if (request.varlen && request.pageSize > 0) {
    pages = layoutPages(*request.varlen, request.pageSize, request.pageSeed);
    for (int i = 1; i < 3; ++i)
      paged.push_back(toPages(inputs[i], *request.varlen, *pages));
  }
  for (size_t i = 0; i < sig.inputs.size() && i < inputs.size(); ++i) {
    const attn::ArgumentSignature &a = sig.inputs[i];
    if (!a.isTensor) {
      args.captures.push_back(attn::Capture::scalar(inputs[i].data[0]));
      continue;
    }
    const Tensor &value = pages && (i == 1 || i == 2) ? paged[i - 1] : inputs[i];
    // Packed varlen tensors have one layout (rows, heads, features).
    auto s = add(a, value.shape, i < 3 && !request.varlen, &value);
    if (!s)
      return s.takeError();
    if (i < 3)
      *qkv[i] = &(*s)->dl;
    else
      args.captures.push_back(attn::Capture::of(&(*s)->dl));
  }
  int64_t B = sizes.at("b"), Hq = sizes.at("hq"), Nq = sizes.at("nq");
  int64_t Dv = inputs[2].shape.back();
  std::vector<int64_t> oShape = {B, Hq, Nq, Dv}, lseShape = {B, Hq, Nq};
  if (const VarlenBatch *batch = request.varlen) {
    oShape = {batch->totalQ(), Hq, Dv};
    lseShape = {Hq, batch->totalQ()};
    args.maxSeqlenQ = batch->maxQ();
    args.maxSeqlenK = batch->maxK();
    attn::ArgumentSignature int32;
    int32.dtype = {kDLInt, 32, 1};
    auto addInt32 = [&](std::vector<int64_t> shape,
                        const std::vector<int32_t> &values,
                        const DLTensor *&slot) -> llvm::Error {
      Tensor value;
      value.shape = std::move(shape);
      value.data.assign(values.begin(), values.end());
      auto s = add(int32, value.shape, false, &value);
      if (!s)
        return s.takeError();
      slot = &(*s)->dl;
      return llvm::Error::success();
    };
    std::vector<int32_t> startsQ = VarlenBatch::offsets(batch->q);
    if (llvm::Error err = addInt32({int64_t(startsQ.size())}, startsQ,
                                   args.cuSeqlensQ))
      return std::move(err);
    if (pages) {
      std::vector<int32_t> lengths(batch->k.begin(), batch->k.end());
      if (llvm::Error err = addInt32({batch->sequences(), pages->maxPages},
                                     pages->table, args.blockTable))
        return std::move(err);
      if (llvm::Error err =
              addInt32({batch->sequences()}, lengths, args.seqLensK))
        return std::move(err);
    } else {
      std::vector<int32_t> startsK = VarlenBatch::offsets(batch->k);
      if (llvm::Error err = addInt32({int64_t(startsK.size())}, startsK,
                                     args.cuSeqlensK))
        return std::move(err);
    }
  }
  auto o = add(sig.outputs[0], oShape, !request.varlen, nullptr);
  if (!o)
    return o.takeError();
  args.o = &(*o)->dl;
  Staged *lse = nullptr;
  if (sig.hasLse()) {
    auto l = add(sig.outputs[1], lseShape, false, nullptr);
    if (!l)
      return l.takeError();
    lse = *l;
    args.lse = &lse->dl;
  }

  attn::RunOptions runOptions;
  runOptions.countGlobalAccesses = request.bench || request.counters;
  runOptions.countTiles = request.counters;
  runOptions.memcheck = request.memcheck;
  runOptions.memcheckReports = true;
  runOptions.raceCheck = request.race;
  runOptions.kvSplits = request.kvSplits;
  runOptions.hostMemoryLimit = request.hostMemoryLimit;
  attn::RunStats stats;
  start = std::chrono::steady_clock::now();
  attn::Status ran = plan->run(args, runOptions, &stats);
  if (!ran.ok())
    return makeError(ran.message());
  report.launchSeconds = secondsSince(start) - stats.raceSeconds;
  report.stats = stats;
  report.plan = stats.splitKv
                    ? "split-kv (" + std::to_string(stats.splits) + " splits)"
                    : "plain";
  for (const std::string &k : stats.kernels)
    report.kernels += (report.kernels.empty() ? "" : " ") + k;
  report.planReason = stats.planReason;
  report.blockM = stats.blockM;
  report.packedGroup = stats.packedGroup;
  if (request.bench) {
    if (device == attn::DeviceKind::Cuda) {
      auto bench = plan->benchmark(args, request.benchRepeats);
      if (!bench)
        return makeError(bench.message());
      report.timed = true;
      report.medianMs = bench->medianMs;
      report.minMs = bench->minMs;
      report.repeats = bench->repeats;
    } else {
      report.untimedReason = "the emulator's wall time measures the CPU "
                             "emulation, not a GPU kernel";
      report.haveCounters = true;
      report.ctas = stats.ctas;
      report.bytesRead = stats.globalBytesRead;
      report.bytesWritten = stats.globalBytesWritten;
    }
  }

  std::vector<Tensor> results;
  for (Staged *s : {*o, lse}) {
    if (!s)
      continue;
    auto t = fetch(*s);
    if (!t)
      return t.takeError();
    results.push_back(std::move(*t));
  }
  return results;
}
