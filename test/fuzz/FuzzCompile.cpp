//===- FuzzCompile.cpp - libFuzzer target: text to CUDA --------------------===//
//
// Feeds arbitrary bytes through what every entry point does with MLIR text:
// the nesting bound, parse, verify, the derived backward (on a copy), the
// compile pipeline (decompose, tile, online, optionally split-KV, fuse, cse)
// and the CUDA emitter, for every public function. Any diagnostic is fine; a crash, a sanitizer report or
// a hang is a bug. The input also picks the Q tile, the KV tile, the kernel
// path and whether to split, so that the options are fuzzed with the text.
// Built with -DATTN_FUZZ=ON (scripts/fuzz.sh), under ASan and UBSan.
//
//===----------------------------------------------------------------------===//

#include "attn/Codegen/BackwardKernels.h"
#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Pipeline.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Passes/Passes.h"
#include "attn/Support/SourceNesting.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/Hashing.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

namespace {

const DialectRegistry &registry() {
  static DialectRegistry *r = [] {
    auto *reg = new DialectRegistry();
    reg->insert<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                math::MathDialect, tensor::TensorDialect, scf::SCFDialect>();
    return reg;
  }();
  return *r;
}

/// Options drawn from the input's hash: every input gets one combination.
struct Choice {
  int64_t blockM, blockN;
  bool split;
  attn::KernelPath path;
};

Choice choose(llvm::StringRef text) {
  uint64_t h = llvm::hash_value(text);
  static const int64_t blockMs[] = {16, 32, 64, 128};
  static const int64_t blockNs[] = {0, 16, 32, 64};
  static const attn::KernelPath paths[] = {
      attn::KernelPath::Auto, attn::KernelPath::Simt, attn::KernelPath::Mma};
  return {blockMs[h % 4], blockNs[(h >> 2) % 4], ((h >> 4) & 3) == 0,
          paths[(h >> 6) % 3]};
}

void lowerAndEmit(ModuleOp module, const Choice &choice) {
  PassManager pm(module.getContext());
  attn::AttnPipelineOptions pipeline;
  pipeline.blockM = choice.blockM;
  pipeline.blockN = choice.blockN;
  pipeline.splitKv = choice.split ? 4 : 0;
  pipeline.path = attn::stringifyKernelPath(choice.path).str();
  attn::buildAttnPipeline(pm, pipeline);
  if (failed(pm.run(module)))
    return;
  attn::codegen::CudaEmitOptions emit;
  emit.path = choice.path;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      (void)attn::codegen::emitCudaPlan(func, emit);
}

/// The derived backward of every public function with attention ops, on a
/// copy of `module` (it adds functions), and its kernels (both modes, the
/// state recomputed and read from the results).
void deriveBackwards(ModuleOp module) {
  OwningOpRef<ModuleOp> copy = module.clone();
  SmallVector<func::FuncOp> variants;
  for (auto fn : copy->getOps<func::FuncOp>())
    if (fn.isPublic() && !fn.isExternal() &&
        !fn.getBody().getOps<attn::AttentionOp>().empty())
      variants.push_back(fn);
  for (func::FuncOp fn : variants) {
    auto derived = attn::deriveBackward(fn);
    if (failed(derived))
      continue;
    // The state recomputed, and read from the forward's results where
    // that is proven.
    std::string why;
    SmallVector<func::FuncOp> functions = {
        attn::buildRecomputingBackward(*derived)};
    if (func::FuncOp fromResults =
            attn::buildResultReadingBackward(*derived, why))
      functions.push_back(fromResults);
    for (func::FuncOp gradients : functions)
      for (bool deterministic : {false, true}) {
        attn::codegen::BackwardEmitOptions options;
        options.deterministic = deterministic;
        (void)attn::codegen::emitBackwardKernels(gradients, options);
      }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  // What attn-opt, attn-run and the runtime refuse before parsing.
  if (attn::findDeepNesting({text.data(), text.size()}))
    return 0;
  MLIRContext ctx(registry());
  ctx.disableMultithreading();
  ctx.loadAllAvailableDialects();
  ctx.getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
  ParserConfig config(&ctx);
  // MLIR's lexer stops at the NUL a file buffer ends with; libFuzzer's
  // bytes have none, so parse a copy that does.
  std::string source = text.str();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(source, config, "fuzz.mlir");
  if (!module || failed(verify(*module)))
    return 0;
  deriveBackwards(*module);
  lowerAndEmit(*module, choose(text));
  return 0;
}
