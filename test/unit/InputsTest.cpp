//===- InputsTest.cpp - unit tests of size binding and input drawing ------===//

#include "attn/Interpreter/Inputs.h"

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace attn::interp;

namespace {

/// Parses a module holding one function and gives access to it.
class InputsTest : public ::testing::Test {
protected:
  InputsTest() {
    ctx.loadDialect<attn::AttnDialect, mlir::func::FuncDialect>();
  }

  mlir::func::FuncOp parse(llvm::StringRef source) {
    module = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
    EXPECT_TRUE(module) << "cannot parse:\n" << source.str();
    if (!module)
      return {};
    return *module->getOps<mlir::func::FuncOp>().begin();
  }

  /// A function taking q, k, v of the given types and then `captures`.
  mlir::func::FuncOp parseSignature(llvm::StringRef qkv,
                                    llvm::StringRef captures = "") {
    source = ("func.func @f(" + qkv + captures + ") { return }").str();
    return parse(source);
  }

  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string source;
};

constexpr const char *kDynamicQkv =
    "%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, "
    "%v: tensor<?x2x?x32xf16>";

std::string errorOf(llvm::Error err) { return llvm::toString(std::move(err)); }

} // namespace

TEST_F(InputsTest, DefaultsAndStaticHeads) {
  auto func = parseSignature(kDynamicQkv);
  ASSERT_TRUE(func);
  auto shapes = bindShapes(func, {});
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  EXPECT_EQ(shapes->args[0], (std::vector<int64_t>{1, 8, 128, 64}));
  EXPECT_EQ(shapes->args[1], (std::vector<int64_t>{1, 2, 128, 64}));
  EXPECT_EQ(shapes->args[2], (std::vector<int64_t>{1, 2, 128, 32}));
  EXPECT_EQ(shapes->sizes.at("hq"), 8);
  EXPECT_EQ(shapes->sizes.at("hkv"), 2);
}

TEST_F(InputsTest, NkDefaultsToNq) {
  auto func = parseSignature(kDynamicQkv);
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.nq = 37;
  bindings.b = 3;
  auto shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  EXPECT_EQ(shapes->args[0], (std::vector<int64_t>{3, 8, 37, 64}));
  EXPECT_EQ(shapes->args[1], (std::vector<int64_t>{3, 2, 37, 64}));
  bindings.nk = 5;
  shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  EXPECT_EQ(shapes->args[2], (std::vector<int64_t>{3, 2, 5, 32}));
}

TEST_F(InputsTest, BindingContradictsStaticDim) {
  auto func = parseSignature("%q: tensor<1x8x64x64xf32>, "
                             "%k: tensor<1x8x?x64xf32>, "
                             "%v: tensor<1x8x?x64xf32>");
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.nq = 100;
  auto shapes = bindShapes(func, bindings);
  ASSERT_FALSE(bool(shapes));
  EXPECT_EQ(errorOf(shapes.takeError()),
            "--nq=100 contradicts dimension 2 of 'q' (static 64)");
  bindings = {};
  bindings.hkv = 4;
  shapes = bindShapes(func, bindings);
  ASSERT_FALSE(bool(shapes));
  EXPECT_EQ(errorOf(shapes.takeError()),
            "--hkv=4 contradicts dimension 1 of 'k' (static 8)");
}

TEST_F(InputsTest, RejectsBadSizes) {
  auto func = parseSignature(kDynamicQkv);
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.nq = 0;
  auto shapes = bindShapes(func, bindings);
  ASSERT_FALSE(bool(shapes));
  EXPECT_NE(errorOf(shapes.takeError()).find("--nq=0 must be positive"),
            std::string::npos);
  auto mha =
      parseSignature("%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>,"
                     " %v: tensor<?x?x?x64xf16>");
  ASSERT_TRUE(mha);
  bindings = {};
  bindings.hq = 6;
  bindings.hkv = 4;
  shapes = bindShapes(mha, bindings);
  ASSERT_FALSE(bool(shapes));
  EXPECT_NE(errorOf(shapes.takeError()).find("not a multiple"),
            std::string::npos);
}

TEST_F(InputsTest, CaptureShapes) {
  auto func = parseSignature(
      kDynamicQkv, ", %doc: tensor<?x?xi32> {attn.dims = [\"b\", \"nk\"]},"
                   " %table: tensor<?x4xf32> {attn.dims = [16, 4]}, %p: index,"
                   " %s: f32, %slopes: tensor<8xf32>");
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.b = 2;
  bindings.nq = 10;
  bindings.nk = 20;
  auto shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  ASSERT_EQ(shapes->args.size(), 8u);
  EXPECT_EQ(shapes->args[3], (std::vector<int64_t>{2, 20}));
  EXPECT_EQ(shapes->args[4], (std::vector<int64_t>{16, 4}));
  EXPECT_TRUE(shapes->args[5].empty());
  EXPECT_TRUE(shapes->args[6].empty());
  EXPECT_EQ(shapes->args[7], (std::vector<int64_t>{8}));
}

TEST_F(InputsTest, DynamicCaptureWithoutDims) {
  auto func = parseSignature(kDynamicQkv, ", %doc: tensor<4x?xi32>");
  ASSERT_TRUE(func);
  auto shapes = bindShapes(func, {});
  ASSERT_FALSE(bool(shapes));
  EXPECT_EQ(errorOf(shapes.takeError()),
            "dimension 1 of argument 3 is dynamic and has no 'attn.dims' "
            "entry");
}

TEST_F(InputsTest, QkvAreRoundedNormalsAndDeterministic) {
  auto func = parseSignature(kDynamicQkv);
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.nq = 9;
  auto shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  auto a = makeInputs(func, *shapes, 7);
  auto b = makeInputs(func, *shapes, 7);
  auto c = makeInputs(func, *shapes, 8);
  ASSERT_TRUE(a && b && c);
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0].data, (*b)[0].data);
  EXPECT_NE((*a)[0].data, (*c)[0].data);
  mlir::Type f16 = mlir::Float16Type::get(&ctx);
  double sum = 0, sumSq = 0;
  for (double x : (*a)[0].data) {
    EXPECT_EQ(x, roundToType(x, f16));
    sum += x;
    sumSq += x * x;
  }
  double n = double((*a)[0].data.size());
  EXPECT_NEAR(sum / n, 0.0, 0.1);
  EXPECT_NEAR(sumSq / n, 1.0, 0.1);
  EXPECT_EQ((*a)[2].data.size(), size_t(1 * 2 * 9 * 32));
}

TEST_F(InputsTest, SegmentsAreSortedPerRow) {
  auto func = parseSignature(
      kDynamicQkv, ", %doc: tensor<?x?xi32> {attn.gen = #attn.gen<segments, "
                   "3.0, 7.0>, attn.dims = [\"b\", \"nk\"]}");
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.b = 5;
  bindings.nq = 8;
  bindings.nk = 100;
  auto shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto inputs = makeInputs(func, *shapes, seed);
    ASSERT_TRUE(bool(inputs)) << errorOf(inputs.takeError());
    const Tensor &doc = (*inputs)[3];
    ASSERT_EQ(doc.shape, (std::vector<int64_t>{5, 100}));
    for (int64_t r = 0; r < 5; ++r) {
      const double *row = doc.data.data() + r * 100;
      EXPECT_EQ(row[0], 0.0);
      int64_t length = 1;
      for (int64_t c = 1; c < 100; ++c) {
        EXPECT_EQ(row[c], std::trunc(row[c]));
        ASSERT_TRUE(row[c] == row[c - 1] || row[c] == row[c - 1] + 1)
            << "row " << r << " column " << c;
        if (row[c] == row[c - 1]) {
          ++length;
          continue;
        }
        EXPECT_GE(length, 3);
        EXPECT_LE(length, 7);
        length = 1;
      }
      EXPECT_LE(length, 7); // the last segment may be cut short
    }
  }
}

TEST_F(InputsTest, IntRangeIsInclusive) {
  auto func = parseSignature(
      kDynamicQkv, ", %t: tensor<1000xi64> {attn.gen = #attn.gen<int_range, "
                   "-2.0, 3.0>}, %f: tensor<1000xf32> {attn.gen = "
                   "#attn.gen<uniform, 0.5, 0.75>}, %p: index");
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.nq = 4;
  auto shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  auto inputs = makeInputs(func, *shapes, 1);
  ASSERT_TRUE(bool(inputs)) << errorOf(inputs.takeError());
  std::set<double> seen((*inputs)[3].data.begin(), (*inputs)[3].data.end());
  EXPECT_EQ(seen, (std::set<double>{-2, -1, 0, 1, 2, 3}));
  for (double x : (*inputs)[4].data) {
    EXPECT_GE(x, 0.5);
    EXPECT_LE(x, 0.75);
  }
  // A scalar index capture without attn.gen: an integer in [0, 3].
  const Tensor &p = (*inputs)[5];
  EXPECT_TRUE(p.shape.empty());
  ASSERT_EQ(p.data.size(), 1u);
  EXPECT_EQ(p.data[0], std::trunc(p.data[0]));
  EXPECT_GE(p.data[0], 0);
  EXPECT_LE(p.data[0], 3);
}

TEST_F(InputsTest, NeverAllZeros) {
  // One segment covers the whole row, a 0/1 scalar, a default-int tensor of
  // one element: every draw could be all zeros.
  auto func = parseSignature(
      kDynamicQkv, ", %doc: tensor<1x16xi32> {attn.gen = #attn.gen<segments, "
                   "50.0, 60.0>}, %p: index {attn.gen = #attn.gen<int_range, "
                   "0.0, 1.0>}, %one: tensor<1xi8>");
  ASSERT_TRUE(func);
  SizeBindings bindings;
  bindings.nq = 2;
  auto shapes = bindShapes(func, bindings);
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto inputs = makeInputs(func, *shapes, seed);
    ASSERT_TRUE(bool(inputs)) << errorOf(inputs.takeError());
    for (const Tensor &value : *inputs)
      EXPECT_TRUE(llvm::any_of(value.data, [](double x) { return x != 0; }))
          << "seed " << seed;
    const Tensor &doc = (*inputs)[3];
    EXPECT_EQ(doc.data.front(), 0.0);
    EXPECT_TRUE(std::is_sorted(doc.data.begin(), doc.data.end()));
  }
}

TEST_F(InputsTest, ZeroOnlyGeneratorIsAnError) {
  auto func = parseSignature(
      kDynamicQkv,
      ", %t: tensor<4xi32> {attn.gen = #attn.gen<int_range, 0.0, 0.0>}");
  ASSERT_TRUE(func);
  auto shapes = bindShapes(func, {});
  ASSERT_TRUE(bool(shapes)) << errorOf(shapes.takeError());
  auto inputs = makeInputs(func, *shapes, 0);
  ASSERT_FALSE(bool(inputs));
  EXPECT_NE(errorOf(inputs.takeError()).find("argument 3"), std::string::npos);
}

// Values reaching an integer input from outside (--load) must be integers
// its type holds, and float64 holds exactly: NaN, 1e300, 2^63 and 0.5 are
// errors naming the input and the element; floats pass unchecked.
TEST_F(InputsTest, IntegerInputsHoldIntegersOfTheirType) {
  mlir::Builder b(&ctx);
  Tensor ids{{2, 3}, {0, 1, 2, 3, 4, NAN}};
  EXPECT_EQ(errorOf(checkIntegerValues("capture0", ids, b.getI32Type())),
            "element 5 of capture0 (i32) is nan, not an integer in "
            "[-2147483648, 4294967295]");
  EXPECT_EQ(errorOf(checkIntegerValues("capture1", Tensor::scalar(1e300),
                                       b.getIndexType())),
            "capture1 (index) is 1e+300, not an integer in "
            "[-9007199254740992, 9007199254740992] (the integers float64 "
            "values hold exactly)");
  EXPECT_NE(errorOf(checkIntegerValues(
                "c", Tensor::scalar(9223372036854775808.0), b.getI64Type())),
            "");
  EXPECT_EQ(errorOf(checkIntegerValues("c", Tensor::scalar(0.5),
                                       b.getIntegerType(8))),
            "c (i8) is 0.5, not an integer in [-128, 255]");
  EXPECT_EQ(errorOf(checkIntegerValues("c", Tensor::scalar(-128),
                                       b.getIntegerType(8))),
            "");
  EXPECT_EQ(errorOf(checkIntegerValues("q", ids, b.getF16Type())), "");
  ids.data[5] = 5;
  EXPECT_EQ(errorOf(checkIntegerValues("capture0", ids, b.getI32Type())), "");
}
