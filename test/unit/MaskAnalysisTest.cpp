//===- MaskAnalysisTest.cpp - exhaustive soundness of tile classes --------===//
//
// For a corpus of masks (causal, bottom-right causal, sliding windows, sink
// tokens, prefix-LM, chunked local attention, NATTEN neighborhoods in 1-D,
// 2-D and 3-D with clamping and dilation, algebraic rewrites) and many sizes,
// captured values and tile shapes, every tile's class is checked against
// element-wise evaluation of the region by the interpreter. A wrong "full" or
// "empty" fails; for masks whose every comparison is affine in i and j the
// classes must also be exact (no "partial" tile that is really uniform).
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Interpreter/ScalarProgram.h"
#include "MaskCorpus.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <random>

using namespace attn;
using attn::test::MaskCase;
using attn::test::kCorpus;

namespace {

class MaskAnalysisTest : public ::testing::TestWithParam<MaskCase> {
protected:
  MaskAnalysisTest() {
    ctx.loadDialect<AttnDialect, mlir::func::FuncDialect,
                    mlir::math::MathDialect>();
  }

  /// Parses an attention op whose mask region has `c`'s body.
  mlir::Region *parseMask(const MaskCase &c) {
    return test::parseMaskVariant(c, ctx, module);
  }

  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

TEST_P(MaskAnalysisTest, EveryTileClassIsSound) {
  const MaskCase &c = GetParam();
  mlir::Region *mask = parseMask(c);
  ASSERT_TRUE(mask) << "cannot parse mask " << c.name;
  MaskAnalysis analysis(*mask);
  auto program = interp::ScalarProgram::compile(mask->front());
  ASSERT_TRUE(bool(program)) << llvm::toString(program.takeError());

  const int64_t lengths[] = {1, 7, 33, 64, 100, 131};
  const std::pair<int64_t, int64_t> tiles[] = {
      {16, 16}, {64, 64}, {32, 16}, {13, 7}, {1, 1}};
  std::vector<int64_t> captureValues =
      c.usesCapture ? std::vector<int64_t>{0, 5, 40} : std::vector<int64_t>{0};
  int64_t checked = 0, partial = 0, looseTiles = 0;
  for (int64_t nq : lengths)
    for (int64_t nk : lengths)
      for (auto [bm, bn] : tiles)
        for (int64_t p : captureValues) {
          if (bm == 1 && nq * nk > 4096)
            continue; // 1x1 tiles: small sizes only, to bound the run time.
          MaskContext context{0, 0, nq, nk, {}, {}};
          if (c.usesCapture)
            context.captureScalars.push_back(p);
          std::vector<double> args = {0, 0, 0, 0, double(nq), double(nk),
                                      double(p)};
          args.resize(mask->front().getNumArguments());
          llvm::SmallVector<double, 1> out;
          for (int64_t i0 = 0; i0 < nq; i0 += bm)
            for (int64_t j0 = 0; j0 < nk; j0 += bn) {
              Tile tile{i0, std::min(i0 + bm, nq), j0, std::min(j0 + bn, nk)};
              TileClass cls = analysis.classify(context, tile);
              int64_t attended = 0, total = 0;
              for (int64_t i = tile.i0; i < tile.i1; ++i)
                for (int64_t j = tile.j0; j < tile.j1; ++j) {
                  args[2] = double(i);
                  args[3] = double(j);
                  llvm::Error e = program->run(args, {}, out);
                  ASSERT_FALSE(bool(e)) << llvm::toString(std::move(e));
                  attended += out[0] != 0;
                  ++total;
                }
              std::string where = std::string(c.name) +
                                  ": nq=" + std::to_string(nq) +
                                  " nk=" + std::to_string(nk) +
                                  " p=" + std::to_string(p) + " tile [" +
                                  std::to_string(tile.i0) + "," +
                                  std::to_string(tile.i1) + ")x[" +
                                  std::to_string(tile.j0) + "," +
                                  std::to_string(tile.j1) + ")";
              ++checked;
              if (cls == TileClass::Full)
                ASSERT_EQ(attended, total) << "wrong 'full' for " << where;
              else if (cls == TileClass::Empty)
                ASSERT_EQ(attended, 0) << "wrong 'empty' for " << where;
              else {
                ++partial;
                bool uniform = attended == 0 || attended == total;
                looseTiles += uniform;
                if (c.exact)
                  ASSERT_FALSE(uniform)
                      << "'partial' for a uniform tile of an exact mask: "
                      << where;
              }
            }
        }
  // The measured inefficiency: partial tiles that a tighter analysis could
  // have proven full or empty.
  RecordProperty("tiles", checked);
  RecordProperty("loose_partial_tiles", looseTiles);
  std::printf("  %-28s %6lld tiles, %6lld partial, %5lld of them uniform\n",
              c.name, (long long)checked, (long long)partial,
              (long long)looseTiles);
}

INSTANTIATE_TEST_SUITE_P(Corpus, MaskAnalysisTest,
                         ::testing::ValuesIn(kCorpus),
                         [](const ::testing::TestParamInfo<MaskCase> &info) {
                           return std::string(info.param.name);
                         });

} // namespace

namespace {

/// Masks over captured document ids, classified with the ids known (the
/// run-time block classification): sound on every tile, and exact for
/// same-document masks over sorted ids.
class DocumentMaskTest : public ::testing::Test {
protected:
  DocumentMaskTest() {
    ctx.loadDialect<AttnDialect, mlir::func::FuncDialect>();
  }
  mlir::MLIRContext ctx;
};

TEST_F(DocumentMaskTest, PerTileSummariesAreSoundAndExact) {
  const char *source = R"(
    func.func @f(%q: tensor<2x1x?x8xf32>, %k: tensor<2x1x?x8xf32>, %v: tensor<2x1x?x8xf32>, %d: tensor<2x?xi32>) -> (tensor<2x1x?x8xf32>, tensor<2x1x?x8xf32>) {
      %o = attn.attention %q, %k, %v captures(%d : tensor<2x?xi32>) {normalizer = #attn.normalizer<softmax>}
          : tensor<2x1x?x8xf32>, tensor<2x1x?x8xf32>, tensor<2x1x?x8xf32> -> tensor<2x1x?x8xf32>
          mask {
          ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %ids: tensor<2x?xi32>):
            %di = tensor.extract %ids[%b, %i] : tensor<2x?xi32>
            %dj = tensor.extract %ids[%b, %j] : tensor<2x?xi32>
            %r = arith.cmpi eq, %di, %dj : i32
            attn.yield %r : i1
          }
      %o2 = attn.attention %q, %k, %v captures(%d : tensor<2x?xi32>) {normalizer = #attn.normalizer<softmax>}
          : tensor<2x1x?x8xf32>, tensor<2x1x?x8xf32>, tensor<2x1x?x8xf32> -> tensor<2x1x?x8xf32>
          mask {
          ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %ids: tensor<2x?xi32>):
            %di = tensor.extract %ids[%b, %i] : tensor<2x?xi32>
            %dj = tensor.extract %ids[%b, %j] : tensor<2x?xi32>
            %same = arith.cmpi eq, %di, %dj : i32
            %causal = arith.cmpi ule, %j, %i : index
            %r = arith.andi %same, %causal : i1
            attn.yield %r : i1
          }
      return %o, %o2 : tensor<2x1x?x8xf32>, tensor<2x1x?x8xf32>
    })";
  auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
  ASSERT_TRUE(module);
  llvm::SmallVector<mlir::Region *> masks;
  module->walk([&](AttentionOp op) { masks.push_back(&op.getMask()); });
  ASSERT_EQ(masks.size(), 2u);

  std::mt19937 gen(42);
  for (int64_t n : {1, 37, 100, 257}) {
    // Sorted document ids 0, 0, 1, 1, 1, 2, ... per batch row.
    std::vector<int64_t> shape = {2, n};
    std::vector<double> ids(2 * n);
    for (int64_t b = 0; b < 2; ++b) {
      int64_t doc = 0, left = 1 + gen() % 40;
      for (int64_t i = 0; i < n; ++i, --left) {
        if (left == 0) {
          ++doc;
          left = 1 + gen() % 40;
        }
        ids[b * n + i] = double(doc);
      }
    }
    for (auto [mk, mask] : llvm::enumerate(masks)) {
      MaskAnalysis analysis(*mask);
      EXPECT_TRUE(analysis.readsCapturedTensors());
      auto program = interp::ScalarProgram::compile(mask->front());
      ASSERT_TRUE(bool(program)) << llvm::toString(program.takeError());
      interp::Tensor idTensor{shape, ids};
      for (auto [bm, bn] : {std::pair<int64_t, int64_t>{16, 16}, {32, 8}}) {
        for (int64_t b = 0; b < 2; ++b) {
          MaskContext context{b, 0, n, n, {std::nullopt},
                              {TensorView{shape, ids}}};
          std::vector<double> args = {double(b), 0, 0, 0, double(n),
                                      double(n), 0};
          std::vector<const interp::Tensor *> tensors(7, nullptr);
          tensors[6] = &idTensor;
          llvm::SmallVector<double, 1> out;
          for (int64_t i0 = 0; i0 < n; i0 += bm)
            for (int64_t j0 = 0; j0 < n; j0 += bn) {
              Tile tile{i0, std::min(i0 + bm, n), j0, std::min(j0 + bn, n)};
              TileClass cls = analysis.classify(context, tile);
              int64_t attended = 0, total = 0;
              for (int64_t i = tile.i0; i < tile.i1; ++i)
                for (int64_t j = tile.j0; j < tile.j1; ++j) {
                  args[2] = double(i);
                  args[3] = double(j);
                  llvm::Error e = program->run(args, tensors, out);
                  ASSERT_FALSE(bool(e)) << llvm::toString(std::move(e));
                  attended += out[0] != 0;
                  ++total;
                }
              if (cls == TileClass::Full)
                ASSERT_EQ(attended, total) << "wrong 'full', mask " << mk;
              else if (cls == TileClass::Empty)
                ASSERT_EQ(attended, 0) << "wrong 'empty', mask " << mk;
              else if (mk == 0)
                ASSERT_TRUE(attended != 0 && attended != total)
                    << "same-document mask: 'partial' for a uniform tile";
            }
        }
      }
    }
  }
}

} // namespace
