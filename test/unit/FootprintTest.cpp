//===- FootprintTest.cpp - the interpreter's memory, predicted and measured ===//
//
// interpreterFootprint must bound what runFunction really allocates, and not
// by a wide margin, at every level of the IR: Level 1, the decomposed
// cascade (score tensors of B x H x Nq x Nk), and kernel IR (grid loops
// carrying o, tile slices). This program counts every operator new, so it
// measures the interpreter's peak heap exactly; it is its own executable so
// that the counting does not reach the other tests.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/Footprint.h"
#include "attn/Interpreter/Inputs.h"
#include "attn/Interpreter/Interpreter.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <malloc.h>
#include <new>

//===----------------------------------------------------------------------===//
// Counting allocator
//===----------------------------------------------------------------------===//

namespace {
std::atomic<int64_t> liveBytes{0}, peakBytes{0};

void *countedAlloc(size_t size) {
  void *p = std::malloc(size ? size : 1);
  if (!p)
    throw std::bad_alloc();
  int64_t now = liveBytes += static_cast<int64_t>(malloc_usable_size(p));
  int64_t peak = peakBytes.load();
  while (now > peak && !peakBytes.compare_exchange_weak(peak, now)) {
  }
  return p;
}

void countedFree(void *p) {
  if (!p)
    return;
  liveBytes -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
} // namespace

void *operator new(size_t size) { return countedAlloc(size); }
void *operator new[](size_t size) { return countedAlloc(size); }
void operator delete(void *p) noexcept { countedFree(p); }
void operator delete[](void *p) noexcept { countedFree(p); }
void operator delete(void *p, size_t) noexcept { countedFree(p); }
void operator delete[](void *p, size_t) noexcept { countedFree(p); }

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

namespace {

struct Measured {
  uint64_t predicted = 0, peak = 0;
  std::string largest;
};

/// Lowers `example` with `pipeline`, draws inputs at the given sizes, and
/// returns the predicted footprint and the peak heap runFunction reached.
Measured measure(const char *example, const char *pipeline,
                 attn::interp::SizeBindings sizes, bool dynamicHeads = false) {
  mlir::DialectRegistry registry;
  registry.insert<attn::AttnDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::scf::SCFDialect>();
  mlir::MLIRContext ctx(registry);
  ctx.disableMultithreading();
  ctx.loadAllAvailableDialects();
  static bool registered = [] {
    attn::registerAttnPasses();
    mlir::registerCSEPass();
    return true;
  }();
  (void)registered;
  std::string path = std::string(ATTN_EXAMPLES_DIR "/") + example + ".mlir";
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  if (!buffer)
    return {};
  std::string text = (*buffer)->getBuffer().str();
  // Head counts made dynamic: the grouped cascade sizes its groups at run
  // time (tensor.expand_shape with a computed output shape).
  for (size_t at; dynamicHeads && (at = text.find("tensor<?x")) != std::string::npos;) {
    size_t x = text.find('x', at + 9);
    text.replace(at, x - at, "tensor<!?");
  }
  for (size_t at; dynamicHeads && (at = text.find("tensor<!?")) != std::string::npos;)
    text.replace(at, 9, "tensor<?x?");
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  EXPECT_TRUE(module) << path;
  if (!module)
    return {};
  auto func = *module->getOps<mlir::func::FuncOp>().begin();
  for (auto f : module->getOps<mlir::func::FuncOp>())
    if (f.isPublic())
      func = f;
  auto shapes = attn::interp::bindShapes(func, sizes);
  EXPECT_TRUE(bool(shapes));
  auto inputs = attn::interp::makeInputs(func, *shapes, 7);
  EXPECT_TRUE(bool(inputs));
  if (*pipeline) {
    mlir::PassManager pm(&ctx);
    std::string errors;
    llvm::raw_string_ostream es(errors);
    EXPECT_TRUE(mlir::succeeded(mlir::parsePassPipeline(pipeline, pm, es)))
        << errors;
    EXPECT_TRUE(mlir::succeeded(pm.run(*module)));
    func = module->lookupSymbol<mlir::func::FuncOp>(func.getSymName());
  }
  Measured m;
  attn::interp::Footprint f =
      attn::interp::interpreterFootprint(func, shapes->args);
  m.predicted = f.bytes;
  m.largest = f.largest;
  int64_t base = liveBytes.load();
  peakBytes = base;
  {
    auto results = attn::interp::runFunction(func, *inputs);
    EXPECT_TRUE(bool(results)) << llvm::toString(results.takeError());
  }
  m.peak = static_cast<uint64_t>(peakBytes.load() - base);
  return m;
}

/// The prediction bounds the measurement, within a factor of `slack`.
void expectBounds(const Measured &m, double slack) {
  EXPECT_GE(m.predicted, m.peak) << "largest: " << m.largest;
  EXPECT_LE(static_cast<double>(m.predicted), slack * m.peak + (1 << 20))
      << "largest: " << m.largest;
  std::printf("  predicted %llu bytes, measured peak %llu (largest %s)\n",
              static_cast<unsigned long long>(m.predicted),
              static_cast<unsigned long long>(m.peak), m.largest.c_str());
}

attn::interp::SizeBindings lengths(int64_t b, int64_t nq, int64_t nk) {
  attn::interp::SizeBindings s;
  s.b = b;
  s.nq = nq;
  s.nk = nk;
  return s;
}

} // namespace

TEST(Footprint, BoundsLevel1) {
  expectBounds(measure("softmax", "", lengths(2, 300, 250)), 1.1);
  expectBounds(measure("document", "", lengths(1, 200, 333)), 1.1);
}

TEST(Footprint, BoundsTheDecomposedCascade) {
  Measured m = measure("softmax", "attn-decompose", lengths(1, 300, 250));
  // Four [1, 8, 300, 250] score-shaped tensors dominate.
  EXPECT_GE(m.predicted, 4u * 8 * 300 * 250 * 8);
  EXPECT_NE(m.largest.find("[1, 8, 300, 250]"), std::string::npos)
      << m.largest;
  expectBounds(m, 1.1);
  expectBounds(measure("gqa", "attn-decompose", lengths(2, 100, 130)), 1.1);
  attn::interp::SizeBindings heads = lengths(1, 90, 70);
  heads.hq = 8;
  heads.hkv = 2;
  expectBounds(measure("gqa", "attn-decompose", heads, /*dynamicHeads=*/true),
               1.1);
}

TEST(Footprint, BoundsKernelIR) {
  const char *kernel = "attn-decompose,attn-tile{block-m=64},"
                       "attn-online{tile-n=64},attn-fuse,cse";
  expectBounds(measure("causal", kernel, lengths(1, 333, 333)), 2);
  expectBounds(measure("alibi", kernel, lengths(2, 130, 70)), 2);
  expectBounds(
      measure("causal_bottom_right",
              "attn-decompose,attn-tile{block-m=64},attn-online{tile-n=64},"
              "attn-split-kv,attn-fuse,cse",
              lengths(1, 70, 300)),
      2);
}
