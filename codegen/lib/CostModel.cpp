//===- CostModel.cpp - a static cost model of generated kernels -----------===//

#include "attn/Codegen/CostModel.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace attn::codegen;

InstructionMix &InstructionMix::operator-=(const InstructionMix &rhs) {
  mma -= rhs.mma;
  ldmatrix -= rhs.ldmatrix;
  mufu -= rhs.mufu;
  shuffle -= rhs.shuffle;
  barrier -= rhs.barrier;
  sharedAccesses -= rhs.sharedAccesses;
  sharedWavefronts -= rhs.sharedWavefronts;
  globalAccesses -= rhs.globalAccesses;
  globalBytes -= rhs.globalBytes;
  other -= rhs.other;
  total -= rhs.total;
  return *this;
}

//===----------------------------------------------------------------------===//
// PTX instruction mix
//===----------------------------------------------------------------------===//

/// Bytes one thread moves with the load/store opcode `op` (its vector width
/// times the size of its element type), 0 when no type is named.
static int64_t accessBytes(llvm::StringRef op) {
  llvm::SmallVector<llvm::StringRef> parts;
  op.split(parts, '.');
  int64_t vector = 1, element = 0;
  for (llvm::StringRef p : parts) {
    if (p == "v2")
      vector = 2;
    else if (p == "v4")
      vector = 4;
    else if (p == "v8")
      vector = 8;
    else if (p.size() >= 2 && llvm::is_contained("bsuf", p.front())) {
      int64_t bits = 0;
      if (!p.drop_front().getAsInteger(10, bits) && bits % 8 == 0)
        element = bits / 8;
    }
  }
  return vector * element;
}

/// Wavefronts of a warp access of `bytes` per thread with no bank conflict.
static double wavefronts(int64_t bytes) {
  return std::max<double>(1.0, std::ceil(32.0 * double(bytes) / 128.0));
}

static bool hasSpace(llvm::StringRef op, llvm::StringRef space) {
  return op.contains(("." + space + ".").str()) ||
         op.ends_with(("." + space).str());
}

/// Adds one PTX statement (predicate stripped) to `mix`.
static void classify(llvm::StringRef statement, InstructionMix &mix) {
  llvm::StringRef op = statement.take_until([](char c) {
    return c == ' ' || c == '\t';
  });
  llvm::StringRef operands = statement.drop_front(op.size()).trim();
  mix.total += 1;
  if (op.starts_with("mma") || op.starts_with("wgmma.mma_async")) {
    // The shape .mMnNkK: M x N x K MACs.
    int64_t m = 0, n = 0, k = 0;
    llvm::SmallVector<llvm::StringRef> parts;
    op.split(parts, '.');
    for (llvm::StringRef part : parts) {
      if (!part.consume_front("m"))
        continue;
      auto [ms, rest] = part.split('n');
      auto [ns, ks] = rest.split('k');
      if (!ms.getAsInteger(10, m) && !ns.getAsInteger(10, n) &&
          !ks.getAsInteger(10, k))
        break;
      m = n = k = 0;
    }
    // A wgmma is a warpgroup's instruction: each of its four warps issues
    // it for its quarter of the rows, and the mix is one warp's.
    if (op.starts_with("wgmma"))
      m /= 4;
    mix.mma += double(m * n * k) / 2048.0;
    return;
  }
  if (op.starts_with("ldmatrix")) {
    mix.ldmatrix += 1;
    mix.sharedAccesses += 1;
    mix.sharedWavefronts += op.contains(".x4") ? 4 : op.contains(".x2") ? 2 : 1;
    return;
  }
  for (const char *prefix : {"ex2", "lg2", "rcp", "rsqrt", "sqrt.approx",
                             "sin", "cos", "tanh", "div.approx", "div.full"})
    if (op.starts_with(prefix)) {
      mix.mufu += 1;
      return;
    }
  if (op.starts_with("shfl")) {
    mix.shuffle += 1;
    return;
  }
  if (op.starts_with("bar.") || op == "bar" || op.starts_with("barrier") ||
      op.starts_with("cp.async.wait") || op.starts_with("cp.async.commit") ||
      op.starts_with("membar") || op.starts_with("fence")) {
    mix.barrier += 1;
    return;
  }
  if (op.starts_with("cp.async")) {
    // cp.async.{ca,cg}.shared.global [dst], [src], cp-size[, src-size];
    llvm::SmallVector<llvm::StringRef> args;
    operands.split(args, ',');
    int64_t size = 16;
    if (args.size() >= 3)
      (void)args[2].trim().getAsInteger(10, size);
    mix.globalAccesses += 1;
    mix.globalBytes += 32.0 * double(size);
    return;
  }
  bool memory = op.starts_with("ld.") || op.starts_with("st.") ||
                op.starts_with("atom.") || op.starts_with("red.");
  if (memory && hasSpace(op, "shared")) {
    mix.sharedAccesses += 1;
    mix.sharedWavefronts += wavefronts(accessBytes(op));
    return;
  }
  // Generic addresses count as global: the device library reaches global
  // memory through them; param, local and const spaces are other.
  if (memory && !hasSpace(op, "param") && !hasSpace(op, "local") &&
      !hasSpace(op, "const")) {
    mix.globalAccesses += 1;
    mix.globalBytes += 32.0 * double(accessBytes(op));
    return;
  }
  mix.other += 1;
}

llvm::Expected<InstructionMix>
attn::codegen::countPtxInstructions(llvm::StringRef ptx,
                                    llvm::StringRef kernel) {
  auto error = [&](const llvm::Twine &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "PTX instruction mix of '" + kernel +
                                       "': " + why);
  };
  // `.entry <kernel>(` ... `)` then the body's braces.
  size_t at = llvm::StringRef::npos;
  for (size_t from = 0;;) {
    size_t k = ptx.find((".entry " + kernel).str(), from);
    if (k == llvm::StringRef::npos)
      break;
    llvm::StringRef after = ptx.drop_front(k + 7 + kernel.size()).ltrim();
    if (after.starts_with("(")) {
      at = k;
      break;
    }
    from = k + 1;
  }
  if (at == llvm::StringRef::npos)
    return error("no .entry of that name");
  size_t open = ptx.find('{', ptx.find(')', at));
  if (open == llvm::StringRef::npos)
    return error("the entry has no body");
  InstructionMix mix;
  int depth = 0;
  size_t pos = open;
  auto flush = [&](llvm::StringRef text) {
    text = text.trim();
    // Labels ($L__BB0_1:) before the statement.
    for (;;) {
      llvm::StringRef token = text.take_until(
          [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
      if (!token.ends_with(":") || token.size() == text.size())
        break;
      text = text.drop_front(token.size()).trim();
    }
    if (text.empty() || text.starts_with(".") || text.ends_with(":"))
      return;
    if (text.starts_with("@")) // A predicate guard: @%p1 or @!%p1.
      text = text.drop_until([](char c) { return c == ' ' || c == '\t'; })
                 .ltrim();
    if (!text.empty())
      classify(text, mix);
  };
  // Braces open and close scopes where a statement starts; inside one they
  // are an operand vector ({%f1, %f2}).
  size_t start = open + 1;
  int operandBraces = 0;
  for (; pos < ptx.size(); ++pos) {
    char c = ptx[pos];
    if (c == '/' && pos + 1 < ptx.size() && ptx[pos + 1] == '/') {
      flush(ptx.slice(start, pos));
      pos = ptx.find('\n', pos);
      if (pos == llvm::StringRef::npos)
        break;
      start = pos + 1;
      continue;
    }
    bool atStatementStart = ptx.slice(start, pos).trim().empty();
    if (c == '{' && !atStatementStart) {
      ++operandBraces;
      continue;
    }
    if (c == '}' && operandBraces > 0) {
      --operandBraces;
      continue;
    }
    if (c == '{' || c == '}' || c == ';') {
      flush(ptx.slice(start, pos));
      start = pos + 1;
      if (c == '{')
        ++depth;
      if (c == '}' && --depth == 0)
        return mix;
    }
  }
  return error("the entry's body is not closed");
}

llvm::Expected<int64_t> attn::codegen::cubinTextBytes(llvm::StringRef cubin,
                                                      llvm::StringRef kernel) {
  auto object = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(cubin, "cubin"));
  if (!object)
    return object.takeError();
  std::string wanted = (".text." + kernel).str();
  for (const llvm::object::SectionRef &section : (*object)->sections()) {
    llvm::Expected<llvm::StringRef> name = section.getName();
    if (!name)
      return name.takeError();
    if (*name == wanted)
      return static_cast<int64_t>(section.getSize());
  }
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "the cubin has no section " + wanted);
}

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

static std::vector<GpuTarget> makeTargets() {
  std::vector<GpuTarget> targets;
#define GPU_TARGET(NAME, ARCH, SMS, GHZ, FLOPS, MMA_SYNC, DRAM, SMEM, L2,    \
                   L2_BW)                                                      \
  {                                                                            \
    GpuTarget t;                                                               \
    t.name = NAME;                                                             \
    t.arch = ARCH;                                                             \
    t.multiprocessors = SMS;                                                   \
    t.clockGhz = GHZ;                                                          \
    t.tensorFlopsPerClock = FLOPS;                                             \
    t.mmaSyncFraction = MMA_SYNC;                                              \
    t.dramGBps = DRAM;                                                         \
    t.smemPerSm = SMEM;                                                        \
    t.l2Bytes = L2;                                                            \
    t.l2BytesPerClock = L2_BW;                                                 \
    targets.push_back(t);                                                      \
  }
#include "GpuTargets.def"
  return targets;
}

llvm::ArrayRef<GpuTarget> attn::codegen::gpuTargets() {
  static const std::vector<GpuTarget> targets = makeTargets();
  return targets;
}

std::vector<const GpuTarget *>
attn::codegen::gpuTargetsForArch(llvm::StringRef arch) {
  // sm_90a runs where sm_90 does.
  llvm::StringRef base = arch.ends_with("a") ? arch.drop_back() : arch;
  std::vector<const GpuTarget *> found;
  for (const GpuTarget &t : gpuTargets())
    if (t.arch == base)
      found.push_back(&t);
  return found;
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

int64_t attn::codegen::residentCtasPerSm(const GpuTarget &target,
                                         int64_t threads, int64_t registers,
                                         int64_t smemBytes) {
  if (threads <= 0)
    return 0;
  int64_t warps = (threads + 31) / 32;
  int64_t warpRegisters = (registers * 32 + 255) / 256 * 256;
  int64_t byRegisters = warpRegisters > 0
                            ? target.registersPerSm / (warpRegisters * warps)
                            : target.ctasPerSm;
  int64_t bySmem = target.smemPerSm / (smemBytes + 1024);
  return std::min({byRegisters, bySmem, target.threadsPerSm / threads,
                   target.ctasPerSm});
}

CostEstimate attn::codegen::estimateCost(const KernelWork &work,
                                         const GpuTarget &t) {
  CostEstimate e;
  e.target = t.name;
  double warps = double((work.threads + 31) / 32);
  double cyclesPerUs = t.clockGhz * 1e3;
  e.ctasPerSm = residentCtasPerSm(t, work.threads, work.registers,
                                  work.smemBytes);
  // A CTA that fits nowhere cannot launch (the resource report says so);
  // it is costed as if one fit.
  int64_t resident = std::max<int64_t>(e.ctasPerSm, 1);
  int64_t ctas = std::max<int64_t>(work.ctas, 0);
  e.activeSms = std::min<int64_t>(t.multiprocessors, ctas);
  e.waves = ctas == 0 ? 0
                      : double(ctas) / double(t.multiprocessors * resident);
  e.launchUs = t.launchUs;
  double loopBytes = 0;
  if (work.loop && ctas > 0) {
    const LoopFacts &loop = *work.loop;
    // Issue slots: the SASS measured, else the PTX count.
    double slots = loop.sassSlots > 0 ? loop.sassSlots : loop.mix.total;
    e.issueCycles = warps * slots / t.issuePerClock;
    e.tensorCycles =
        warps * loop.mix.mma * 4096.0 /
        (t.tensorFlopsPerClock * (work.wgmma ? 1.0 : t.mmaSyncFraction));
    e.mufuCycles = warps * loop.mix.mufu * 32.0 / t.mufuPerClock;
    e.sharedCycles = (warps * loop.mix.sharedWavefronts +
                      work.stagedBytesPerIteration / 128.0) /
                     t.sharedWavefrontsPerClock;
    // The busiest SM runs ceil(ctas / SMs) CTAs of average length; its
    // resident CTAs share its units, and a scheduler with no warp issues
    // nothing.
    double perSm = double(work.iterations) / double(ctas) *
                   std::ceil(double(ctas) / double(e.activeSms));
    double residentWarps =
        warps * double(std::min<int64_t>(
                    resident, (ctas + e.activeSms - 1) / e.activeSms));
    double issueRate = std::min(t.issuePerClock, residentWarps);
    e.issueUs = perSm * warps * slots / issueRate / cyclesPerUs;
    e.tensorUs = perSm * e.tensorCycles / cyclesPerUs;
    e.mufuUs = perSm * e.mufuCycles / cyclesPerUs;
    e.sharedUs = perSm * e.sharedCycles / cyclesPerUs;
    // The longest CTA, alone on its SM.
    double alone = std::max({warps * slots / std::min(t.issuePerClock, warps),
                             e.tensorCycles, e.mufuCycles, e.sharedCycles});
    e.latencyUs = double(work.maxIterationsPerCta) * alone / cyclesPerUs;
    e.flops = double(work.iterations) * warps * loop.mix.mma * 4096.0;
  }
  // Every tile read goes through L2. The CTAs that read one K/V slice are
  // launched together and walk its keys in the same order, so while they
  // are resident at once the slice comes from DRAM once; when they take
  // several waves, each wave reads it again unless all K/V fits in half
  // the L2.
  loopBytes = double(work.iterations) * work.loadBytesPerIteration;
  e.l2Bytes = loopBytes + work.otherDramBytes;
  int64_t concurrent =
      std::max<int64_t>(1, std::min<int64_t>(ctas, t.multiprocessors * resident));
  double compulsory = double(work.kvSlices) * work.kvBytesPerSlice;
  double rereads =
      compulsory <= t.l2Bytes / 2
          ? 1.0
          : std::ceil(double(std::max<int64_t>(work.ctasPerKvSlice, 1)) /
                      double(concurrent));
  double loopDram = std::min(loopBytes, compulsory * rereads);
  e.dramBytes = loopDram + work.otherDramBytes;
  e.l2Us = t.l2BytesPerClock > 0
               ? e.l2Bytes / (t.l2BytesPerClock * cyclesPerUs)
               : 0;
  // Few SMs cannot keep the whole bandwidth in flight.
  double bandwidth = t.dramGBps;
  if (e.activeSms > 0)
    bandwidth = std::min(bandwidth, double(e.activeSms) * t.perSmDramShare *
                                        t.dramGBps /
                                        double(t.multiprocessors));
  e.dramUs = bandwidth > 0 ? e.dramBytes / (bandwidth * 1e3) : 0;
  // The first of equal terms names the bound: a lone CTA's issue time is
  // its latency.
  std::pair<double, const char *> terms[] = {
      {e.launchUs, "launch"}, {e.latencyUs, "latency"}, {e.issueUs, "issue"},
      {e.tensorUs, "tensor"}, {e.mufuUs, "mufu"},       {e.sharedUs, "shared"},
      {e.l2Us, "l2"},         {e.dramUs, "dram"}};
  auto largest = std::max_element(
      std::begin(terms), std::end(terms),
      [](const auto &a, const auto &b) { return a.first < b.first; });
  e.bound = largest->second;
  double body = std::max({e.issueUs, e.tensorUs, e.mufuUs, e.sharedUs,
                          e.latencyUs, e.l2Us, e.dramUs});
  e.predictedUs = body + e.launchUs;
  e.peakTflops = t.tensorFlopsPerClock * double(t.multiprocessors) *
                 t.clockGhz * 1e-3;
  e.dramGBps = t.dramGBps;
  e.fractionOfPeak = e.predictedUs > 0
                         ? e.flops / (e.predictedUs * e.peakTflops * 1e6)
                         : 0;
  return e;
}

CostEstimate attn::codegen::sumCosts(llvm::ArrayRef<CostEstimate> kernels) {
  CostEstimate sum;
  if (kernels.empty())
    return sum;
  sum.target = kernels.front().target;
  sum.peakTflops = kernels.front().peakTflops;
  sum.dramGBps = kernels.front().dramGBps;
  const CostEstimate *costliest = &kernels.front();
  for (const CostEstimate &k : kernels) {
    sum.issueUs += k.issueUs;
    sum.tensorUs += k.tensorUs;
    sum.mufuUs += k.mufuUs;
    sum.sharedUs += k.sharedUs;
    sum.latencyUs += k.latencyUs;
    sum.l2Us += k.l2Us;
    sum.dramUs += k.dramUs;
    sum.l2Bytes += k.l2Bytes;
    sum.launchUs += k.launchUs;
    sum.dramBytes += k.dramBytes;
    sum.flops += k.flops;
    sum.predictedUs += k.predictedUs;
    if (k.predictedUs > costliest->predictedUs)
      costliest = &k;
  }
  sum.bound = costliest->bound;
  sum.fractionOfPeak = sum.predictedUs > 0 && sum.peakTflops > 0
                           ? sum.flops / (sum.predictedUs * sum.peakTflops * 1e6)
                           : 0;
  return sum;
}

/// Writes `v` to three significant digits (0 for what is not finite).
static void attributeFigure(llvm::json::OStream &j, llvm::StringRef key,
                            double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", std::isfinite(v) ? v : 0.0);
  j.attributeBegin(key);
  j.rawValue(text);
  j.attributeEnd();
}

void attn::codegen::writeCost(llvm::json::OStream &j, const CostEstimate &e,
                              bool perKernel) {
  j.attribute("target", e.target);
  attributeFigure(j, "predicted_us", e.predictedUs);
  j.attribute("bound", e.bound);
  attributeFigure(j, "fraction_of_peak", e.fractionOfPeak);
  if (perKernel) {
    j.attribute("ctas_per_sm", e.ctasPerSm);
    j.attribute("active_sms", e.activeSms);
    attributeFigure(j, "waves", e.waves);
    j.attributeObject("per_iteration_cycles", [&] {
      attributeFigure(j, "issue", e.issueCycles);
      attributeFigure(j, "tensor", e.tensorCycles);
      attributeFigure(j, "mufu", e.mufuCycles);
      attributeFigure(j, "shared", e.sharedCycles);
    });
  }
  j.attributeObject("us", [&] {
    attributeFigure(j, "issue", e.issueUs);
    attributeFigure(j, "tensor", e.tensorUs);
    attributeFigure(j, "mufu", e.mufuUs);
    attributeFigure(j, "shared", e.sharedUs);
    attributeFigure(j, "latency", e.latencyUs);
    attributeFigure(j, "l2", e.l2Us);
    attributeFigure(j, "dram", e.dramUs);
    attributeFigure(j, "launch", e.launchUs);
  });
  attributeFigure(j, "l2_bytes", e.l2Bytes);
  attributeFigure(j, "dram_bytes", e.dramBytes);
  attributeFigure(j, "tensor_flops", e.flops);
  attributeFigure(j, "peak_tflops", e.peakTflops);
  attributeFigure(j, "dram_gbps", e.dramGBps);
}
