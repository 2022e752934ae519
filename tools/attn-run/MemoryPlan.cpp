//===- MemoryPlan.cpp - what an attn-run invocation will hold -------------===//
//
// Mirrors what attn-run.cpp, JitDevice.cpp and the runtime allocate: inputs
// and results are float64 Tensors; device buffers hold each element in its
// IR type; the race checker copies every buffer into its own process.
//
//===----------------------------------------------------------------------===//

#include "MemoryPlan.h"

#include "attn/Interpreter/Footprint.h"

#include <algorithm>

using namespace mlir;
using namespace attn;
using namespace attn::run;

namespace {

uint64_t sum(const std::vector<MemoryPart> &parts) {
  uint64_t total = 0;
  for (const MemoryPart &p : parts)
    total = addBytes(total, p.bytes);
  return total;
}

uint64_t elementsOf(llvm::ArrayRef<int64_t> shape) {
  uint64_t n = 1;
  for (int64_t d : shape)
    n = mulBytes(n, static_cast<uint64_t>(std::max<int64_t>(d, 0)));
  return n;
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "," : "") + std::to_string(d);
  return s + "]";
}

/// Bytes of one element of `type` in a device buffer.
uint64_t deviceElementBytes(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  if (type.isIndex())
    return 8;
  return std::max<uint64_t>(1, (type.getIntOrFloatBitWidth() + 7) / 8);
}

std::string argName(unsigned i) {
  static const char *qkv[] = {"q", "k", "v"};
  return i < 3 ? qkv[i] : "capture" + std::to_string(i - 3);
}

/// The results' shapes: o [B, Hq, Nq, Dv] and lse [B, Hq, Nq].
std::vector<std::vector<int64_t>>
resultShapes(const attn::interp::BoundShapes &shapes, func::FuncOp func) {
  int64_t b = shapes.sizes.at("b"), hq = shapes.sizes.at("hq"),
          nq = shapes.sizes.at("nq");
  int64_t dv = shapes.args.size() > 2 && shapes.args[2].size() == 4
                   ? shapes.args[2][3]
                   : 0;
  std::vector<std::vector<int64_t>> out = {{b, hq, nq, dv}};
  if (func.getNumResults() > 1)
    out.push_back({b, hq, nq});
  return out;
}

/// The device copies of the arguments and results, in their IR types.
void deviceCopies(const MemoryRequest &r, const std::string &where,
                  std::vector<MemoryPart> &parts) {
  const auto &args = r.shapes->args;
  func::FuncOp func = r.runFunc;
  for (unsigned i = 0; i < args.size() && i < func.getNumArguments(); ++i)
    if (isa<RankedTensorType>(func.getArgumentTypes()[i]))
      parts.push_back(
          {argName(i) + " " + where,
           mulBytes(elementsOf(args[i]),
                    deviceElementBytes(func.getArgumentTypes()[i]))});
  auto results = resultShapes(*r.shapes, func);
  for (auto [i, shape] : llvm::enumerate(results)) {
    Type type = i < func.getNumResults() ? func.getResultTypes()[i] : Type();
    parts.push_back({std::string(i ? "lse " : "o ") + where,
                     mulBytes(elementsOf(shape),
                              type ? deviceElementBytes(type) : 4)});
  }
}

/// The emulator plan's buffers between kernels: split-KV workspaces (f32
/// per CTA) and tile summaries (int64, two per 16-element block).
void planBuffers(const MemoryRequest &r, std::vector<MemoryPart> &parts) {
  const attn::codegen::CudaPlan &plan = *r.emuPlan;
  int64_t blockM = 1, splits = 1;
  for (const attn::codegen::CudaKernel &k : plan.kernels)
    if (k.role == attn::codegen::KernelRole::Whole ||
        k.role == attn::codegen::KernelRole::SplitPartials) {
      blockM = std::max<int64_t>(k.blockM, 1);
      splits = k.splits > 0 ? k.splits : std::max<int64_t>(r.kvSplits, 1);
    }
  const auto &sizes = r.shapes->sizes;
  uint64_t ctas = mulBytes(
      mulBytes((sizes.at("nq") + blockM - 1) / blockM, sizes.at("hq")),
      sizes.at("b"));
  for (int64_t perCta : plan.workspaceElementsPerCta)
    parts.push_back({"a split-KV workspace",
                     mulBytes(mulBytes(mulBytes(perCta, ctas), splits),
                              sizeof(float))});
  for (unsigned n : plan.summarizedCaptures) {
    const std::vector<int64_t> &c = r.shapes->args[3 + n];
    if (c.empty())
      continue;
    uint64_t rows = elementsOf(llvm::ArrayRef<int64_t>(c).drop_back());
    parts.push_back({"tile summaries of capture" + std::to_string(n),
                     mulBytes(mulBytes(rows, (c.back() + 15) / 16),
                              2 * sizeof(int64_t))});
  }
}

void float64Results(const MemoryRequest &r, std::vector<MemoryPart> &parts) {
  for (auto [i, shape] : llvm::enumerate(resultShapes(*r.shapes, r.runFunc)))
    parts.push_back({std::string(i ? "lse " : "o ") + shapeText(shape) +
                         " as float64",
                     mulBytes(elementsOf(shape), sizeof(double))});
}

MemoryPart interpreterPart(func::FuncOp func,
                           const attn::interp::BoundShapes &shapes,
                           const std::string &role) {
  attn::interp::Footprint f =
      attn::interp::interpreterFootprint(func, shapes.args);
  std::string what = "the reference interpreter on '@" +
                     func.getSymName().str() + "'" + role;
  if (!f.largest.empty())
    what += " (largest value: " + f.largest + ", " +
            formatBytes(f.largestBytes) + ")";
  return {what, f.bytes};
}

} // namespace

uint64_t MemoryNeed::peak() const {
  return addBytes(sum(inputs), std::max(sum(run), sum(after)));
}

MemoryNeed attn::run::memoryNeed(const MemoryRequest &r) {
  MemoryNeed need;
  for (auto [i, shape] : llvm::enumerate(r.shapes->args))
    need.inputs.push_back({argName(i) + " " + shapeText(shape) + " as float64",
                           mulBytes(elementsOf(shape), sizeof(double))});

  if (r.viaRuntime) {
    // Staged on the host in the device's types, and (unless on a GPU)
    // copied into the runtime's host buffers.
    deviceCopies(r, "staged for the runtime", need.run);
    if (r.device != "cuda")
      deviceCopies(r, "in the emulator's buffers", need.run);
    float64Results(r, need.run);
  } else if (r.device == "emu") {
    deviceCopies(r, "in the emulator's buffers", need.run);
    if (r.emuPlan)
      planBuffers(r, need.run);
    if (r.race) {
      // The race checker writes every buffer to a file and its process
      // holds a copy of each.
      uint64_t buffers = sum(need.run);
      need.run.push_back({"the race checker's copies of the buffers",
                          mulBytes(buffers, 2)});
    }
    float64Results(r, need.run);
  } else {
    need.run.push_back(interpreterPart(r.runFunc, *r.shapes, ""));
  }

  float64Results(r, need.after);
  if (r.check)
    need.after.push_back(
        interpreterPart(r.refFunc, *r.shapes, " for --check"));
  if (r.save) {
    // Each .npy file is built in memory before it is written.
    uint64_t largest = 0;
    for (const MemoryPart &p : need.inputs)
      largest = std::max(largest, p.bytes);
    need.after.push_back({"the largest .npy file being written", largest});
  }
  return need;
}

llvm::Error attn::run::checkMemory(const MemoryNeed &need,
                                   const HostMemoryLimit &limit) {
  uint64_t peak = need.peak();
  if (peak <= limit.bytes)
    return llvm::Error::success();
  // The parts that matter, largest first.
  std::vector<MemoryPart> parts = need.inputs;
  const std::vector<MemoryPart> &phase =
      sum(need.run) >= sum(need.after) ? need.run : need.after;
  parts.insert(parts.end(), phase.begin(), phase.end());
  std::sort(parts.begin(), parts.end(),
            [](const MemoryPart &a, const MemoryPart &b) {
              return a.bytes != b.bytes ? a.bytes > b.bytes : a.what < b.what;
            });
  std::string list;
  for (size_t i = 0; i < parts.size() && i < 4; ++i)
    list += (i ? "; " : "") + parts[i].what + ": " + formatBytes(parts[i].bytes);
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "this run needs " + formatBytes(peak) + " of host memory but " +
          formatBytes(limit.bytes) + " are available (" + limit.source +
          "); the largest parts: " + list +
          ". Use smaller sizes, or --max-memory=SIZE (e.g. 64G) to set the "
          "limit yourself");
}
