//===- Outline.cpp - large score/mask regions as functions of their own ---===//
//
// A variant's score and mask code is emitted inline per element: on the
// tensor-core path once per fragment element of fully unrolled loops (32
// copies at 64-key tiles), and the mask's tile classification at up to three
// places. That is what the compiler wants for the few ops of a real mask,
// but compile time then grows faster than the region: NVRTC took 2.6 s for a
// 50-op mask, 32 s for 200 ops and 779 s (3.2 GB) for 3,000. A region with
// more than kOutlineOps ops is therefore emitted once, as a function the
// kernel calls (ATTN_OUTLINED_FN: never inlined), so its code and compile
// time grow linearly; regions above kMaxRegionOps are refused.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "mlir/IR/OperationSupport.h"

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

/// Regions up to this many ops stay inline (every mask and score modifier
/// of the examples and the mask corpus has fewer than 40).
constexpr int64_t kOutlineOps = 64;

/// The largest region the emitter compiles. Outlined, a 3,000-op mask takes
/// NVRTC about 40 s and 1 GB on 2 busy cores (tools/bench/large-mask.sh)
/// instead of 779 s and 3.2 GB, but the cost still grows faster than the
/// region in NVVM and ptxas.
constexpr int64_t kMaxRegionOps = 4000;

LogicalResult KernelEmitter::checkRegionSize(Block &body) const {
  int64_t ops = static_cast<int64_t>(body.getOperations().size());
  if (ops <= kMaxRegionOps)
    return success();
  return body.getParentOp()->emitError("CUDA emitter: the score/mask code has ")
         << ops << " ops; at most " << kMaxRegionOps
         << " are compiled (NVRTC's time grows with them)";
}

bool KernelEmitter::shouldOutline(Block &body, ValueRange captures) {
  if (static_cast<int64_t>(body.getOperations().size()) <= kOutlineOps)
    return false;
  // Scalars become parameters; tensors must be kernel arguments, whose
  // views (p.cN ...) mean the same inside the function.
  for (Value c : captures) {
    if (scalars.count(c))
      continue;
    auto arg = dyn_cast<BlockArgument>(c);
    if (!arg || arg.getOwner() != &func.getBody().front())
      return false;
  }
  return true;
}

FailureOr<std::string> KernelEmitter::outlineFunction(
    Block &key, StringRef retType, ArrayRef<std::string> params,
    ValueRange captures, function_ref<FailureOr<std::string>()> body) {
  if (auto it = outlined.find(&key); it != outlined.end())
    return it->second;
  // Copies of one region (the staged KV loop classifies the tile ahead with
  // a clone of the loop's attn.tile_class) share one function.
  for (auto &[block, name] : outlined)
    if (OperationEquivalence::isRegionEquivalentTo(
            block->getParent(), key.getParent(),
            OperationEquivalence::IgnoreLocations)) {
      std::string shared = name;
      outlined[&key] = shared;
      return shared;
    }
  std::string name =
      fmt::format("{}_region{}", kernelName, outlinedFunctions++);
  std::string signature = "const " + paramsType + " &p";
  for (const std::string &param : params)
    signature += ", " + param;
  // Scalar captures are parameters too, named so while the body is written.
  SmallVector<std::pair<Value, std::string>> kernelNames;
  for (Value c : captures) {
    auto it = scalars.find(c);
    if (it == scalars.end())
      continue;
    std::string param = fresh("cap");
    signature += ", " + *cType(c.getType()) + " " + param;
    kernelNames.push_back({c, it->second});
    it->second = param;
  }
  Writer kernelText = std::move(w);
  w = Writer();
  w.line("/// A large score/mask region, emitted once and called (Outline.cpp).");
  w.openf("ATTN_OUTLINED_FN {} {}({})", retType.str(), name, signature);
  FailureOr<std::string> result = body();
  if (succeeded(result)) {
    w.linef("return {};", *result);
    w.close();
    w.line("");
    outlinedText += w.out;
    outlined[&key] = name;
  }
  w = std::move(kernelText);
  for (auto &[c, kernelName] : kernelNames)
    scalars[c] = kernelName;
  if (failed(result))
    return failure();
  return name;
}

/// The C++ arguments of the scalar captures an outlined function takes.
static std::string captureArgs(ValueRange captures,
                               const DenseMap<Value, std::string> &scalars) {
  std::string args;
  for (Value c : captures)
    if (auto it = scalars.find(c); it != scalars.end())
      args += ", " + it->second;
  return args;
}

LogicalResult KernelEmitter::emitRegion(Block &body,
                                        ArrayRef<std::string> indexArgs,
                                        ArrayRef<std::string> inputArgs,
                                        ValueRange captures,
                                        std::string &result) {
  if (failed(checkRegionSize(body)))
    return failure();
  if (!shouldOutline(body, captures))
    return emitRegionBody(body, indexArgs.size(), indexArgs, inputArgs,
                          captures, result);
  SmallVector<std::string> params, names;
  unsigned numArgs = indexArgs.size() + inputArgs.size();
  for (unsigned a = 0; a < numArgs; ++a) {
    std::string name = fresh("r");
    params.push_back(*cType(body.getArgument(a).getType()) + " " + name);
    names.push_back(name);
  }
  auto retType = cType(body.getTerminator()->getOperand(0).getType());
  if (!retType)
    return body.getParentOp()->emitError("CUDA emitter: unsupported region "
                                         "result type");
  ArrayRef<std::string> namesRef(names);
  auto name = outlineFunction(
      body, *retType, params, captures, [&]() -> FailureOr<std::string> {
        std::string r;
        if (failed(emitRegionBody(body, indexArgs.size(),
                                  namesRef.take_front(indexArgs.size()),
                                  namesRef.drop_front(indexArgs.size()),
                                  captures, r)))
          return failure();
        return r;
      });
  if (failed(name))
    return failure();
  result = *name + "(p";
  for (const std::string &arg : indexArgs)
    result += ", " + arg;
  for (const std::string &arg : inputArgs)
    result += ", " + arg;
  result += captureArgs(captures, scalars) + ")";
  return success();
}

FailureOr<std::string> KernelEmitter::outlinedTileClassCall(
    TileClassOp op, const std::string &tile, const std::string &b,
    const std::string &h, const std::string &nq, const std::string &nk) {
  Block &body = op.getMask().front();
  auto name = outlineFunction(
      body, "long long",
      {"const tc::Tile &tcT", "long long b", "long long h", "long long nq",
       "long long nk"},
      op.getCaptures(), [&]() -> FailureOr<std::string> {
        auto result =
            emitTileClassBody(op, "b", "h", "nq", "nk", /*noinlineCalls=*/true);
        if (failed(result))
          return failure();
        return "tc::classify(" + *result + ")";
      });
  if (failed(name))
    return failure();
  return fmt::format("{}(p, tc::Tile{}, {}, {}, {}, {}{})", *name, tile, b, h,
                     nq, nk, captureArgs(op.getCaptures(), scalars));
}

} // namespace attn::codegen::detail
