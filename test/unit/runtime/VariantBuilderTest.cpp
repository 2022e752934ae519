//===- VariantBuilderTest.cpp - attn::VariantBuilder and the catalogue ----===//
//
// The builder's text: what it prints (shared subexpressions once, C++
// arithmetic, promotions), the errors it reports instead of bad text, that
// every catalogue entry parses and verifies (buildModule), and that a
// builder-made variant compiles through Runtime::compileText and runs on
// the emulator against the interpreter. The catalogue against the
// hand-written examples (bitwise): test/examples/catalogue.test.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "attn/RuntimeMLIR.h"
#include "attn/VariantBuilder.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace attn;
using namespace attn::test;
using namespace attn::var;

namespace {

std::string textOf(const VariantBuilder &v) {
  Expected<std::string> t = v.toMlir();
  EXPECT_TRUE(t) << t.message();
  return t ? *t : std::string();
}

/// The message of a builder that must fail.
std::string errorOf(const VariantBuilder &v) {
  Expected<std::string> t = v.toMlir();
  EXPECT_FALSE(t) << "built:\n" << (t ? *t : "");
  return t ? std::string() : t.message();
}

size_t count(const std::string &text, const std::string &needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1))
    ++n;
  return n;
}

TEST(VariantBuilderTest, TheHeaderExampleBuilds) {
  VariantCapture slopes = VariantCapture::tensor(
      "slopes", ScalarType::F32, {Dim::fixed(8)}, Gen::uniform(0.0039, 1));
  VariantBuilder v("alibi_window");
  v.heads(8)
      .headDim(64)
      .mask(mods::causal() && j() >= i() - 1024)
      .score(mods::alibi(slopes));
  std::string text = textOf(v);
  EXPECT_NE(text.find("func.func @alibi_window("), std::string::npos);
  EXPECT_NE(text.find("captures(%slopes : tensor<8xf32>)"), std::string::npos);
  EXPECT_NE(text.find("tensor.extract %c_slopes[%h] : tensor<8xf32>"),
            std::string::npos);
  EXPECT_NE(text.find("arith.cmpi sge"), std::string::npos);
  mlir::MLIRContext ctx;
  auto module = buildModule(v, ctx);
  EXPECT_TRUE(module) << module.message();
}

TEST(VariantBuilderTest, TheReadmeExampleBuilds) {
  VariantCapture slopes =
      VariantCapture::tensor("slopes", ScalarType::F32, {Dim::fixed(8)});
  VariantBuilder v("alibi_streaming");
  v.heads(8, 2)
      .headDim(128)
      .lse()
      .mask(mods::causal() && (mods::sinkTokens(4) || j() >= i() - 1024))
      .score(compose(mods::softcap(30.0), mods::alibi(slopes)));
  mlir::MLIRContext ctx;
  auto module = buildModule(v, ctx);
  EXPECT_TRUE(module) << module.message();
}

TEST(VariantBuilderTest, ASharedSubexpressionIsComputedOnce) {
  Expr block = i() / 64; // used twice below
  VariantBuilder v("shared");
  v.mask(block == j() / 64 || block == j() / 64 + 1);
  std::string text = textOf(v);
  EXPECT_EQ(count(text, "arith.divsi %i,"), 1u) << text;
  EXPECT_EQ(count(text, "arith.divsi %j,"), 1u) << text;
  EXPECT_EQ(count(text, "arith.constant 64 : index"), 1u) << text;
}

TEST(VariantBuilderTest, OperandsPromoteAsInCpp) {
  VariantCapture ids = VariantCapture::tensor("ids", ScalarType::I32,
                                              {Dim::of("b"), Dim::of("nk")},
                                              Gen::segments(1, 50));
  VariantBuilder v("promotions");
  // i32 element against an index: the element becomes index; an index in
  // float arithmetic becomes f32 through i64.
  v.mask(ids(b(), j()) < i()).score(s() * 0.5 + toF32(j()));
  std::string text = textOf(v);
  EXPECT_NE(text.find("arith.index_cast %x0 : i32 to index"), std::string::npos)
      << text;
  EXPECT_NE(text.find("arith.sitofp"), std::string::npos);
  EXPECT_NE(text.find("attn.dims = [\"b\", \"nk\"]"), std::string::npos);
  EXPECT_NE(text.find("#attn.gen<segments, 1.0, 50.0>"), std::string::npos);
  mlir::MLIRContext ctx;
  auto module = buildModule(v, ctx);
  EXPECT_TRUE(module) << module.message();
}

TEST(VariantBuilderTest, ComposeAppliesTheOuterModificationLast) {
  VariantBuilder v("capped_offset");
  v.score(compose(mods::softcap(20.0), s() + 1.0));
  std::string text = textOf(v);
  // (s + 1) first, then divided by the cap.
  size_t add = text.find("arith.addf %s,");
  size_t div = text.find("arith.divf");
  ASSERT_NE(add, std::string::npos) << text;
  ASSERT_NE(div, std::string::npos) << text;
  EXPECT_LT(add, div);
  EXPECT_NE(text.find("math.tanh"), std::string::npos);
}

TEST(VariantBuilderTest, NoModificationMeansNoRegion) {
  std::string text = textOf(VariantBuilder("plain").score(s()));
  EXPECT_EQ(text.find("score {"), std::string::npos);
  EXPECT_EQ(text.find("mask {"), std::string::npos);
}

TEST(VariantBuilderTest, MisusesAreReportedWithTheVariantsName) {
  EXPECT_NE(errorOf(VariantBuilder("v").mask(j() + (i() < 3)))
                .find("variant 'v': mask: 'add' of a boolean"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").mask(j() - i()))
                .find("the mask must be a boolean expression, not index"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").mask(s() > 0.0))
                .find("the mask reads the score s"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").score(j() < i()))
                .find("the score modification must be f32, not a boolean"),
            std::string::npos);
  VariantCapture t = VariantCapture::tensor("t", ScalarType::F32,
                                            {Dim::fixed(8), Dim::of("nk")});
  EXPECT_NE(errorOf(VariantBuilder("v").score(s() + t(h())))
                .find("capture 't' has 2 dimensions, read with 1 indices"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").score(s() + t(h(), s())))
                .find("indexed by f32"),
            std::string::npos);
  VariantCapture bad =
      VariantCapture::tensor("bad", ScalarType::F32, {Dim::of("heads")});
  EXPECT_NE(
      errorOf(VariantBuilder("v").score(s() + bad(h()))).find("not 'heads'"),
      std::string::npos);
  VariantCapture q = VariantCapture::scalar("q");
  EXPECT_NE(errorOf(VariantBuilder("v").mask(j() < q.value()))
                .find("capture name 'q' is taken"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").heads(8, 3))
                .find("positive multiple of the KV heads (3)"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").lse().normalizer(Normalizer::sigmoid()))
                .find("lse needs the softmax normalizer"),
            std::string::npos);
  VariantCapture sinks =
      VariantCapture::tensor("sinks", ScalarType::F32, {Dim::fixed(4)});
  EXPECT_NE(errorOf(VariantBuilder("v").sinkLogits(sinks))
                .find("sink logits must be a tensor<8xf32>"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("not-a-name")).find("identifier"),
            std::string::npos);
  EXPECT_NE(errorOf(VariantBuilder("v").scale(std::nan("")))
                .find("the scale must be finite"),
            std::string::npos);
  VariantCapture p =
      VariantCapture::scalar("p", Gen::intRange(5, HUGE_VAL));
  EXPECT_NE(errorOf(VariantBuilder("v").mask(j() < p.value()))
                .find("capture 'p': the generator's bounds must be finite"),
            std::string::npos);
}

TEST(VariantBuilderTest, FloatConstantsRoundTripExactly) {
  VariantBuilder v("constants");
  v.score(s() * 0.1 + 1e-30)
      .normalizer(Normalizer::sigmoid(-4.25))
      .scale(0.125);
  std::string text = textOf(v);
  EXPECT_NE(text.find("arith.constant 0.100000001 : f32"), std::string::npos)
      << text;
  EXPECT_NE(text.find("arith.constant 1.0e-30 : f32"), std::string::npos)
      << text;
  EXPECT_NE(text.find("#attn.normalizer<sigmoid, bias = -4.25>"),
            std::string::npos);
  EXPECT_NE(text.find("scale = 0.125 : f64"), std::string::npos);
  mlir::MLIRContext ctx;
  auto module = buildModule(v, ctx);
  EXPECT_TRUE(module) << module.message();
}

TEST(VariantBuilderTest, EveryCatalogueEntryVerifies) {
  ASSERT_GE(catalogue().size(), 20u);
  for (const CatalogueEntry &e : catalogue()) {
    SCOPED_TRACE(e.name);
    EXPECT_EQ(e.variant.name(), e.name);
    EXPECT_FALSE(e.source.empty());
    EXPECT_FALSE(e.summary.empty());
    mlir::MLIRContext ctx;
    auto module = buildModule(e.variant, ctx);
    EXPECT_TRUE(module) << module.message();
  }
}

TEST(VariantBuilderTest, BuildModuleReportsWhatTheVerifierSays) {
  // A sink logit per query head is fine to the builder; a normalizer bias
  // on softmax is not (the dialect's verifier says so).
  VariantBuilder v("biased_softmax");
  Normalizer n = Normalizer::softmax();
  n.hasBias = true;
  n.bias = 1.0;
  v.normalizer(n);
  mlir::MLIRContext ctx;
  auto module = buildModule(v, ctx);
  ASSERT_FALSE(module);
  EXPECT_NE(module.message().find("does not verify"), std::string::npos)
      << module.message();
  EXPECT_NE(module.message().find("biased_softmax:"), std::string::npos)
      << module.message();
}

TEST(VariantBuilderTest, ABuiltVariantCompilesAndRunsOnTheEmulator) {
  // Not an example: StreamingLLM's sinks and window with Gemma's capping,
  // 4 query heads over 2 KV heads.
  VariantBuilder v("capped_streaming");
  v.heads(4, 2)
      .lse()
      .mask(mods::causal() && (mods::sinkTokens(4) || j() >= i() - 40))
      .score(mods::softcap(30.0));
  std::string text = textOf(v);
  Reference ref = makeReference(text, 150, 170, 31);
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = rt.compileText(text, options, "capped_streaming");
  ASSERT_TRUE(plan) << plan.message();
  RunOutputs out =
      runOnReference(*plan, ref, dlType(mlir::Float16Type::get(ref.ctx.get())));
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_LT(relativeError(out.o, ref.results[0].data), 2e-3);
  EXPECT_LT(relativeError(out.lse, ref.results[1].data), 2e-3);
}

/// Differential attention (Ye et al. 2024) as a program: two causal
/// softmax attentions over the same values, o1 - lambda * o2.
ProgramBuilder differential() {
  VariantCapture lambda = VariantCapture::tensor(
      "lambda", ScalarType::F32, {Dim::fixed(1)}, Gen::uniform(0.1, 0.9));
  ProgramBuilder p("differential");
  p.attention(VariantBuilder("a1").heads(4).mask(mods::causal()), "q1", "k1",
              "v")
      .attention(VariantBuilder("a2").heads(4).mask(mods::causal()), "q2",
                 "k2", "v")
      .epilogue(out(0) - lambda(0) * out(1));
  return p;
}

TEST(ProgramBuilderTest, TwoAttentionsAndAnEpilogue) {
  Expected<std::string> t = differential().toMlir();
  ASSERT_TRUE(t) << t.message();
  const std::string &text = *t;
  EXPECT_NE(text.find("func.func @differential(%q1: tensor<?x4x?x64xf16>,"),
            std::string::npos)
      << text;
  // The second q and k bind their batch and lengths to the first's.
  EXPECT_NE(text.find("%q2: tensor<?x4x?x64xf16> {attn.dims = [\"b\", 4, "
                      "\"nq\", 64]}"),
            std::string::npos);
  EXPECT_NE(text.find("%k2: tensor<?x4x?x64xf16> {attn.dims = [\"b\", 4, "
                      "\"nk\", 64]}"),
            std::string::npos);
  EXPECT_EQ(count(text, "%v: "), 1u);
  EXPECT_EQ(count(text, "= attn.attention"), 2u);
  EXPECT_NE(text.find("%att1 = attn.attention %q2, %k2, %v"),
            std::string::npos);
  EXPECT_NE(text.find("%o = attn.map \"bhid,bhid->bhid\" ins(%att0, %att1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("captures(%lambda : tensor<1xf32>)"), std::string::npos);
  EXPECT_NE(text.find("arith.extf %in1 : f16 to f32"), std::string::npos);
  EXPECT_NE(text.find("arith.truncf"), std::string::npos);
}

TEST(ProgramBuilderTest, ABuiltProgramRunsOnTheEmulator) {
  Expected<std::string> text = differential().toMlir();
  ASSERT_TRUE(text) << text.message();
  Reference ref = makeReference(*text, 70, 90, 17);
  ASSERT_EQ(ref.inputs.size(), 6u); // q1, k1, v, q2, k2, lambda
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan = rt.compileText(*text, options, "differential");
  ASSERT_TRUE(plan) << plan.message();
  // q2, k2 and lambda are the plan's captures.
  RunOptions run;
  run.memcheck = true;
  RunOutputs out = runOnReference(*plan, ref, DLDataType{kDLFloat, 16, 1}, run);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_LT(relativeError(out.o, ref.results[0].data), 2e-3);
}

TEST(ProgramBuilderTest, MisusesAreReportedWithTheProgramsName) {
  auto errorOfProgram = [](const ProgramBuilder &p) {
    Expected<std::string> t = p.toMlir();
    EXPECT_FALSE(t) << "built:\n" << (t ? *t : "");
    return t ? std::string() : t.message();
  };
  VariantBuilder plain("a");
  EXPECT_NE(errorOfProgram(ProgramBuilder("p")).find(
                "program 'p': no attention"),
            std::string::npos);
  EXPECT_NE(errorOfProgram(ProgramBuilder("p")
                               .attention(plain, "q", "k", "v")
                               .attention(plain, "q2", "k", "v"))
                .find("need an epilogue()"),
            std::string::npos);
  EXPECT_NE(errorOfProgram(ProgramBuilder("p")
                               .attention(plain, "q", "k", "v")
                               .epilogue(out(1)))
                .find("reads out(1) of 1 attention"),
            std::string::npos);
  EXPECT_NE(errorOfProgram(ProgramBuilder("p")
                               .attention(plain, "q", "k", "v")
                               .epilogue(out(0) * toF32(j())))
                .find("the epilogue reads 'j'"),
            std::string::npos);
  EXPECT_NE(errorOfProgram(ProgramBuilder("p")
                               .attention(plain, "q", "k", "v")
                               .attention(VariantBuilder("b").headDim(128),
                                          "q", "k2", "v2")
                               .epilogue(out(0) + out(1)))
                .find("argument 'q' is tensor<?x8x?x128xf16> here but "
                      "tensor<?x8x?x64xf16> before"),
            std::string::npos);
  EXPECT_NE(errorOfProgram(ProgramBuilder("p").attention(
                               VariantBuilder("a").lse(), "q", "k", "v"))
                .find("no lse"),
            std::string::npos);
  EXPECT_NE(errorOfProgram(ProgramBuilder("p").attention(plain, "b", "k", "v"))
                .find("argument name 'b'"),
            std::string::npos);
  // A mask cannot read what only the epilogue sees.
  EXPECT_NE(errorOf(VariantBuilder("m").mask(toF32(i()) < out(0)))
                .find("the mask reads 'o0'"),
            std::string::npos);
}

} // namespace
