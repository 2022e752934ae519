//===- InterpreterTest.cpp - unit tests of the reference interpreter ------===//
//
// Checks the interpreter's semantics on small programs against values worked
// out by hand or by a dense loop written here.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/Interpreter.h"

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace attn::interp;

namespace {

class InterpreterTest : public ::testing::Test {
protected:
  InterpreterTest() {
    ctx.loadDialect<attn::AttnDialect, mlir::func::FuncDialect,
                    mlir::scf::SCFDialect>();
  }

  /// Parses `source` and runs its first function on `args`.
  llvm::Expected<std::vector<Tensor>> run(llvm::StringRef source,
                                          llvm::ArrayRef<Tensor> args) {
    module = mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
    if (!module)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "parse error");
    return runFunction(*module->getOps<mlir::func::FuncOp>().begin(), args);
  }

  /// Runs a scalar function of index arguments and returns its one result.
  double scalar(llvm::StringRef body, llvm::ArrayRef<double> args,
                llvm::StringRef argTypes = "index, index",
                llvm::StringRef resultType = "index") {
    std::string source = ("func.func @f(%a: " + argTypes.split(", ").first +
                          ", %b: " + argTypes.split(", ").second + ") -> " +
                          resultType + " {\n" + body + "\n}")
                             .str();
    std::vector<Tensor> in;
    for (double a : args)
      in.push_back(Tensor::scalar(a));
    auto out = run(source, in);
    EXPECT_TRUE(bool(out)) << llvm::toString(out.takeError());
    return out && !out->empty() ? (*out)[0].data[0] : NAN;
  }

  /// Softmax attention over [1, 1, N, 4] f32 tensors with o and lse, whose
  /// mask region is `maskOps` (defining %c) over (%b, %h, %i, %j, %nq, %nk).
  static std::string softmaxWithMask(llvm::StringRef maskOps) {
    return (R"(
    func.func @f(%q: tensor<1x1x?x4xf32>, %k: tensor<1x1x?x4xf32>, %v: tensor<1x1x?x4xf32>)
        -> (tensor<1x1x?x4xf32>, tensor<1x1x?xf32>) {
      %o, %l = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
          : tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>
          -> tensor<1x1x?x4xf32>, tensor<1x1x?xf32>
          mask {
          ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):)" +
            maskOps + R"(
            attn.yield %c : i1
          }
      return %o, %l : tensor<1x1x?x4xf32>, tensor<1x1x?xf32>
    })")
        .str();
  }

  static Tensor random(std::vector<int64_t> shape, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<double> dist;
    Tensor t = Tensor::filled(std::move(shape), 0);
    for (double &x : t.data)
      x = dist(gen);
    return t;
  }

  mlir::MLIRContext ctx;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

TEST_F(InterpreterTest, IntegerArithmeticWrapsAndRoundsLikeArith) {
  // floordiv / ceildiv round towards -inf / +inf; divsi towards zero.
  EXPECT_EQ(scalar("%r = arith.floordivsi %a, %b : index\nreturn %r : index",
                   {-7, 2}),
            -4);
  EXPECT_EQ(scalar("%r = arith.ceildivsi %a, %b : index\nreturn %r : index",
                   {7, 2}),
            4);
  EXPECT_EQ(scalar("%r = arith.divsi %a, %b : index\nreturn %r : index",
                   {-7, 2}),
            -3);
  EXPECT_EQ(scalar("%r = arith.remsi %a, %b : index\nreturn %r : index",
                   {-7, 2}),
            -1);
  // i8 wraps: 100 + 100 = -56.
  EXPECT_EQ(scalar("%r = arith.addi %a, %b : i8\nreturn %r : i8", {100, 100},
                   "i8, i8", "i8"),
            -56);
  // Unsigned comparison sees -1 as the largest value.
  EXPECT_EQ(scalar("%r = arith.cmpi ult, %a, %b : index\nreturn %r : i1",
                   {-1, 5}, "index, index", "i1"),
            0);
  EXPECT_EQ(scalar("%r = arith.cmpi slt, %a, %b : index\nreturn %r : i1",
                   {-1, 5}, "index, index", "i1"),
            1);
}

// 64-bit overflow wraps as arith's two's complement does, and conversions
// of NaN or out-of-range doubles saturate: all defined (UBSan-clean), none
// a trap. 2^62 + 2^62 = -2^63; INT64_MIN / -1 = INT64_MIN; shifting by the
// width or more, or by a negative amount, shifts everything out.
TEST_F(InterpreterTest, IntegerOverflowWrapsWithoutUndefinedBehaviour) {
  const double p62 = 4611686018427387904.0, p63 = 9223372036854775808.0;
  EXPECT_EQ(scalar("%r = arith.addi %a, %b : i64\nreturn %r : i64",
                   {p62, p62}, "i64, i64", "i64"),
            -p63);
  EXPECT_EQ(scalar("%r = arith.muli %a, %b : i64\nreturn %r : i64",
                   {p62, 4}, "i64, i64", "i64"),
            0);
  EXPECT_EQ(scalar("%r = arith.subi %a, %b : i64\nreturn %r : i64",
                   {-p63, 1}, "i64, i64", "i64"),
            double(INT64_MAX)); // rounds to 2^63 as a double
  EXPECT_EQ(scalar("%r = arith.divsi %a, %b : i64\nreturn %r : i64",
                   {-p63, -1}, "i64, i64", "i64"),
            -p63);
  EXPECT_EQ(scalar("%r = arith.remsi %a, %b : i64\nreturn %r : i64",
                   {-p63, -1}, "i64, i64", "i64"),
            0);
  EXPECT_EQ(scalar("%r = arith.shli %a, %b : i64\nreturn %r : i64", {5, -1},
                   "i64, i64", "i64"),
            0);
  EXPECT_EQ(scalar("%r = arith.shrsi %a, %b : i64\nreturn %r : i64",
                   {-5, 64}, "i64, i64", "i64"),
            -1);
  EXPECT_EQ(scalar("%r = arith.fptosi %a : f64 to i64\nreturn %r : i64",
                   {NAN, 0}, "f64, f64", "i64"),
            0);
  EXPECT_EQ(scalar("%r = arith.fptosi %a : f64 to i64\nreturn %r : i64",
                   {1e300, 0}, "f64, f64", "i64"),
            double(INT64_MAX));
  EXPECT_EQ(toInt64(NAN), 0);
  EXPECT_EQ(toInt64(p63), INT64_MAX);
  EXPECT_EQ(toInt64(-1e300), INT64_MIN);
  EXPECT_EQ(toInt64(-2.9), -2);
}

TEST_F(InterpreterTest, IntegerDivisionByZeroIsAnError) {
  auto out = run("func.func @f(%a: index, %b: index) -> index {\n"
                 "  %r = arith.divsi %a, %b : index\n  return %r : index\n}",
                 {Tensor::scalar(3), Tensor::scalar(0)});
  ASSERT_FALSE(bool(out));
  std::string message = llvm::toString(out.takeError());
  EXPECT_NE(message.find("division by zero"), std::string::npos) << message;
  EXPECT_NE(message.find("arith.divsi"), std::string::npos) << message;
}

TEST_F(InterpreterTest, UnsupportedOpIsReportedByName) {
  auto out = run("func.func @f(%a: f32, %b: f32) -> f32 {\n"
                 "  %r = math.cbrt %a : f32\n  return %r : f32\n}",
                 {Tensor::scalar(8), Tensor::scalar(0)});
  ASSERT_FALSE(bool(out));
  std::string message = llvm::toString(out.takeError());
  EXPECT_NE(message.find("'math.cbrt'"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot execute"), std::string::npos) << message;
}

TEST_F(InterpreterTest, ContractMatchesADenseLoop) {
  Tensor a = random({2, 3, 5}, 1), b = random({2, 4, 5}, 2);
  auto out = run(R"(
    func.func @f(%a: tensor<2x3x5xf32>, %b: tensor<2x4x5xf32>) -> (tensor<2x3x4xf32>, tensor<2x3xf32>) {
      %c = attn.contract "xid,xjd->xij" combine(mul) reduce(add) %a, %b
          : tensor<2x3x5xf32>, tensor<2x4x5xf32> -> tensor<2x3x4xf32>
      %m = attn.reduce max "xij->xi" %c : tensor<2x3x4xf32> -> tensor<2x3xf32>
      return %c, %m : tensor<2x3x4xf32>, tensor<2x3xf32>
    })",
                 {a, b});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  const Tensor &c = (*out)[0], &m = (*out)[1];
  ASSERT_EQ(c.shape, (std::vector<int64_t>{2, 3, 4}));
  for (int x = 0; x < 2; ++x)
    for (int i = 0; i < 3; ++i) {
      double rowMax = -INFINITY;
      for (int j = 0; j < 4; ++j) {
        double dot = 0;
        for (int d = 0; d < 5; ++d)
          dot += a.data[(x * 3 + i) * 5 + d] * b.data[(x * 4 + j) * 5 + d];
        EXPECT_NEAR(c.data[(x * 3 + i) * 4 + j], dot, 1e-12);
        rowMax = std::max(rowMax, dot);
      }
      EXPECT_EQ(m.data[x * 3 + i], rowMax);
    }
}

TEST_F(InterpreterTest, MapBroadcastsAndSeesLoopIndices) {
  Tensor rows = random({3}, 3);
  auto out = run(R"(
    func.func @f(%r: tensor<3xf32>, %m: tensor<3x4xf32>) -> tensor<3x4xf32> {
      %o = attn.map "i,ij->ij" ins(%r, %m : tensor<3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32> {
      ^bb0(%i: index, %j: index, %x: f32, %y: f32):
        %jj = arith.index_cast %j : index to i64
        %jf = arith.sitofp %jj : i64 to f32
        %s = arith.addf %x, %jf : f32
        attn.yield %s : f32
      }
      return %o : tensor<3x4xf32>
    })",
                 {rows, Tensor::filled({3, 4}, 1.0)});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ((*out)[0].data[i * 4 + j], rows.data[i] + j);
}

TEST_F(InterpreterTest, FullyMaskedRowsGiveZeroAndMinusInfinity) {
  // Bottom-right causal with nq = 3 > nk = 2: row 0 sees no key.
  Tensor q = random({1, 1, 3, 4}, 4), k = random({1, 1, 2, 4}, 5),
         v = random({1, 1, 2, 4}, 6);
  auto out = run(softmaxWithMask(R"(
            %lhs = arith.addi %j, %nq : index
            %rhs = arith.addi %i, %nk : index
            %c = arith.cmpi sle, %lhs, %rhs : index)"),
                 {q, k, v});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  const Tensor &o = (*out)[0], &lse = (*out)[1];
  for (int f = 0; f < 4; ++f)
    EXPECT_EQ(o.data[f], 0.0);
  EXPECT_TRUE(std::isinf(lse.data[0]) && lse.data[0] < 0);
  // Row 1 sees key 0 only: o = v[0], lse = scale·q1·k0.
  double dot = 0;
  for (int d = 0; d < 4; ++d)
    dot += q.data[4 + d] * k.data[d];
  EXPECT_NEAR(lse.data[1], 0.5 * dot, 1e-12);
  for (int f = 0; f < 4; ++f)
    EXPECT_NEAR(o.data[4 + f], v.data[f], 1e-12);
}

TEST_F(InterpreterTest, SinkLogitsJoinTheDenominatorWithoutAValue) {
  // Bottom-right causal, nq = 3 > nk = 2, two heads with sink logits
  // σ = {0.7, -inf}. Row 0 sees no key: o = 0 and lse = σ_h (-inf for the
  // head whose sink is -inf, which is then plain softmax). Row 1 sees key 0
  // alone: p = e^s / (e^s + e^σ), lse = log(e^s + e^σ).
  const char *source = R"(
    func.func @f(%q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>,
                 %sinks: tensor<?xf32>) -> (tensor<1x2x?x4xf32>, tensor<1x2x?xf32>) {
      %o, %l = attn.attention %q, %k, %v sink_logits(%sinks : tensor<?xf32>)
          {normalizer = #attn.normalizer<softmax>}
          : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
          -> tensor<1x2x?x4xf32>, tensor<1x2x?xf32>
          mask {
          ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
            %lhs = arith.addi %j, %nq : index
            %rhs = arith.addi %i, %nk : index
            %c = arith.cmpi sle, %lhs, %rhs : index
            attn.yield %c : i1
          }
      return %o, %l : tensor<1x2x?x4xf32>, tensor<1x2x?xf32>
    })";
  Tensor q = random({1, 2, 3, 4}, 11), k = random({1, 2, 2, 4}, 12),
         v = random({1, 2, 2, 4}, 13);
  Tensor sinks = Tensor::filled({2}, 0.7);
  sinks.data[1] = -INFINITY;
  auto out = run(source, {q, k, v, sinks});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  const Tensor &o = (*out)[0], &lse = (*out)[1];
  for (int h = 0; h < 2; ++h) {
    for (int f = 0; f < 4; ++f)
      EXPECT_EQ(o.data[(h * 3) * 4 + f], 0.0) << "head " << h;
    EXPECT_EQ(lse.data[h * 3], sinks.data[h]) << "head " << h;
    double dot = 0;
    for (int d = 0; d < 4; ++d)
      dot += q.data[(h * 3 + 1) * 4 + d] * k.data[(h * 2) * 4 + d];
    double s = 0.5 * dot, sink = std::exp(sinks.data[h]);
    EXPECT_NEAR(lse.data[h * 3 + 1], std::log(std::exp(s) + sink), 1e-12);
    double weight = std::exp(s) / (std::exp(s) + sink);
    for (int f = 0; f < 4; ++f)
      EXPECT_NEAR(o.data[(h * 3 + 1) * 4 + f], weight * v.data[(h * 2) * 4 + f],
                  1e-12);
  }

  // The logits must be one per query head (a dynamic size is checked when
  // the attention runs).
  auto wrong = run(source, {q, k, v, Tensor::filled({3}, 0.0)});
  ASSERT_FALSE(bool(wrong));
  std::string message = llvm::toString(wrong.takeError());
  EXPECT_NE(message.find("'sink_logits'"), std::string::npos) << message;
}

TEST_F(InterpreterTest, NonFiniteValuesAtAttendedKeysPropagate) {
  // Causal, 4 rows and keys. q row 1 holds a NaN: every score of row 1 is
  // NaN, so o and lse of row 1 are NaN (not o = 0, lse = -inf). V of key 3 is
  // NaN: only row 3 attends to it; rows 0 and 2 stay finite (key 3 is
  // masked for them). K of key 2 is +inf in one element: rows 2 and 3 see a
  // score of +-inf there.
  Tensor q = random({1, 1, 4, 4}, 7), k = random({1, 1, 4, 4}, 8),
         v = random({1, 1, 4, 4}, 9);
  q.data[1 * 4 + 2] = NAN;
  v.data[3 * 4 + 0] = NAN;
  std::string causal = softmaxWithMask(R"(
            %c = arith.cmpi ule, %j, %i : index)");
  auto out = run(causal, {q, k, v});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  const Tensor &o = (*out)[0], &lse = (*out)[1];
  for (int f = 0; f < 4; ++f) {
    EXPECT_TRUE(std::isfinite(o.data[f])) << "row 0, feature " << f;
    EXPECT_TRUE(std::isnan(o.data[4 + f])) << "row 1, feature " << f;
    EXPECT_TRUE(std::isfinite(o.data[8 + f])) << "row 2, feature " << f;
  }
  EXPECT_TRUE(std::isnan(lse.data[1]));
  EXPECT_TRUE(std::isfinite(lse.data[0]) && std::isfinite(lse.data[2]) &&
              std::isfinite(lse.data[3]));
  // V's NaN reaches feature 0 of the row that attends to key 3, only.
  EXPECT_TRUE(std::isnan(o.data[12]));
  for (int f = 1; f < 4; ++f)
    EXPECT_TRUE(std::isfinite(o.data[12 + f])) << "row 3, feature " << f;

  // An infinite K element at key 0 (attended by every row) gives row i the
  // score sign(q[i][1]) * inf: +inf makes the row NaN (exp(inf - inf)),
  // -inf is a weight of 0 and leaves it finite.
  Tensor qFinite = random({1, 1, 4, 4}, 1), kInf = random({1, 1, 4, 4}, 8);
  kInf.data[1] = INFINITY;
  auto inf = run(causal, {qFinite, kInf, random({1, 1, 4, 4}, 9)});
  ASSERT_TRUE(bool(inf)) << llvm::toString(inf.takeError());
  int positive = 0;
  for (int i = 0; i < 4; ++i)
    positive += qFinite.data[i * 4 + 1] > 0;
  ASSERT_TRUE(positive > 0 && positive < 4) << "the seed must give both signs";
  for (int i = 0; i < 4; ++i) {
    bool plusInf = qFinite.data[i * 4 + 1] > 0;
    EXPECT_EQ(std::isnan((*inf)[1].data[i]), plusInf) << "lse of row " << i;
    EXPECT_EQ(std::isnan((*inf)[0].data[i * 4]), plusInf) << "o of row " << i;
  }
}

TEST_F(InterpreterTest, ForLoopCarriesIterArgs) {
  auto out = run(R"(
    func.func @f(%n: index, %x: f32) -> f32 {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %x) -> (f32) {
        %ii = arith.index_cast %i : index to i64
        %f = arith.sitofp %ii : i64 to f32
        %s = arith.addf %acc, %f : f32
        scf.yield %s : f32
      }
      return %r : f32
    })",
                 {Tensor::scalar(5), Tensor::scalar(0.5)});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  EXPECT_EQ((*out)[0].data[0], 0.5 + 0 + 1 + 2 + 3 + 4);
}

TEST(RoundToType, RoundsToHalfAndBFloat) {
  mlir::MLIRContext ctx;
  mlir::Builder b(&ctx);
  // 1 + 2^-11 is exactly half-way between two f16 values: ties to even.
  EXPECT_EQ(roundToType(1.0 + std::ldexp(1.0, -11), b.getF16Type()), 1.0);
  EXPECT_EQ(roundToType(1.0 + std::ldexp(1.0, -10), b.getF16Type()),
            1.0 + std::ldexp(1.0, -10));
  EXPECT_EQ(roundToType(1.0 + std::ldexp(1.0, -9), b.getBF16Type()), 1.0);
  EXPECT_EQ(roundToType(0.1, b.getF32Type()), static_cast<double>(0.1f));
  EXPECT_EQ(roundToType(0.1, b.getF64Type()), 0.1);
}

} // namespace
