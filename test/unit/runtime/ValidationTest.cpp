//===- ValidationTest.cpp - inputs are checked before any launch ----------===//
//
// Every rejected input names the tensor and the dimension. The signatures
// come from the real frontend (examples/*.mlir), except for the GQA head
// divisibility case, which needs dynamic head counts.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestSupport.h"

#include "Validate.h"
#include "compiler/Frontend.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace attn;
using namespace attn::jit;
using namespace attn::test;

namespace {

/// Tensors for a [B, H, N, D] problem; each test breaks one thing.
struct Problem {
  HostTensor q, k, v, o, lse;
  Arguments args;
  Problem(int64_t b, int64_t hq, int64_t hkv, int64_t nq, int64_t nk, int64_t d,
          int64_t dv)
      : q({b, hq, nq, d}, kF16, false), k({b, hkv, nk, d}, kF16, false),
        v({b, hkv, nk, dv}, kF16, false), o({b, hq, nq, dv}, kF16, false),
        lse({b, hq, nq}, kF32, false) {
    args.q = &q.dl;
    args.k = &k.dl;
    args.v = &v.dl;
    args.o = &o.dl;
    args.lse = &lse.dl;
  }
};

std::string check(const Signature &sig, const Arguments &args,
                  DeviceKind device = DeviceKind::Emu) {
  BoundSizes sizes;
  Status s = validateArguments(sig, args, device, 0, &sizes);
  return s.ok() ? "ok" : s.message();
}

TEST(ValidationTest, AcceptsBothLayoutsAndCompactTensors) {
  Signature sig = exampleSignature("causal.mlir");
  Problem p(2, 8, 8, 33, 33, 64, 64);
  EXPECT_EQ(check(sig, p.args), "ok");
  HostTensor bshd({2, 8, 33, 64}, kF16, true),
      compact({2, 8, 33, 64}, kF16, false, true);
  p.args.q = &bshd.dl;
  p.args.k = &compact.dl;
  EXPECT_EQ(check(sig, p.args), "ok");
  p.args.lse = nullptr; // the runtime provides a workspace
  EXPECT_EQ(check(sig, p.args), "ok");
}

TEST(ValidationTest, HeadDimContradictingTheVariant) {
  Problem p(2, 8, 8, 33, 33, 64, 64);
  HostTensor k({2, 8, 33, 128}, kF16, false);
  p.args.k = &k.dl;
  EXPECT_EQ(check(exampleSignature("causal.mlir"), p.args),
            "k: dimension 3 (head dim) is 128 but the variant was compiled "
            "for 64");
}

TEST(ValidationTest, ValueHeadDimOfCrossAttention) {
  Signature sig = exampleSignature("cross_attention.mlir");
  Problem ok(1, 8, 8, 10, 20, 64, 32);
  ok.args.lse = nullptr;
  EXPECT_EQ(check(sig, ok.args), "ok");
  Problem p(1, 8, 8, 10, 20, 64, 64);
  p.args.lse = nullptr;
  EXPECT_EQ(check(sig, p.args),
            "v: dimension 3 (value head dim) is 64 but the variant was "
            "compiled for 32");
}

TEST(ValidationTest, StaticHeadCount) {
  Problem p(2, 4, 4, 33, 33, 64, 64);
  EXPECT_EQ(check(exampleSignature("causal.mlir"), p.args),
            "q: dimension 1 (query heads) is 4 but the variant was compiled "
            "for 8");
}

TEST(ValidationTest, DTypeAndRank) {
  Signature sig = exampleSignature("causal.mlir");
  Problem p(2, 8, 8, 33, 33, 64, 64);
  HostTensor q32({2, 8, 33, 64}, kF32, false);
  p.args.q = &q32.dl;
  EXPECT_EQ(check(sig, p.args),
            "q: dtype is float32 but the variant was compiled for float16");
  HostTensor q3({8, 33, 64}, kF16, false);
  p.args.q = &q3.dl;
  EXPECT_EQ(check(sig, p.args), "q: rank is 3 but the variant expects 4 "
                                "dimensions [b, 8, nq, 64]");
  Problem l(2, 8, 8, 33, 33, 64, 64);
  HostTensor lse16({2, 8, 33}, kF16, false);
  l.args.lse = &lse16.dl;
  EXPECT_EQ(check(sig, l.args),
            "lse: dtype is float16 but the variant was compiled for float32");
}

TEST(ValidationTest, SizesTensorsMustAgreeOn) {
  Signature sig = exampleSignature("causal.mlir");
  Problem batch(2, 8, 8, 33, 33, 64, 64);
  HostTensor k({3, 8, 33, 64}, kF16, false);
  batch.args.k = &k.dl;
  EXPECT_EQ(check(sig, batch.args),
            "k: dimension 0 (batch) is 3 but q's dimension 0 (batch) is 2");
  Problem length(2, 8, 8, 33, 99, 64, 64);
  HostTensor v({2, 8, 100, 64}, kF16, false);
  length.args.v = &v.dl;
  EXPECT_EQ(check(sig, length.args), "v: dimension 2 (key length) is 100 but "
                                     "k's dimension 2 (key length) is 99");
  Problem out(2, 8, 8, 33, 33, 64, 64);
  HostTensor lse({2, 8, 32}, kF32, false);
  out.args.lse = &lse.dl;
  EXPECT_EQ(check(sig, out.args), "lse: dimension 2 (query length) is 32 but "
                                  "q's dimension 2 (query length) is 33");
}

TEST(ValidationTest, GqaHeadCountsMustDivide) {
  // Dynamic head counts: only divisibility constrains them.
  Signature sig;
  sig.function = "gqa";
  auto tensor = [](const char *name, std::vector<const char *> symbols,
                   DLDataType t) {
    ArgumentSignature a;
    a.name = name;
    a.dtype = t;
    for (const char *s : symbols)
      a.dims.push_back({std::string(s) == "d" ? 64 : -1, s});
    return a;
  };
  sig.inputs = {tensor("q", {"b", "hq", "nq", "d"}, kF16),
                tensor("k", {"b", "hkv", "nk", "d"}, kF16),
                tensor("v", {"b", "hkv", "nk", "d"}, kF16)};
  sig.outputs = {tensor("o", {"b", "hq", "nq", "d"}, kF16)};
  Problem good(1, 6, 2, 16, 16, 64, 64);
  good.args.lse = nullptr;
  EXPECT_EQ(check(sig, good.args), "ok");
  Problem p(1, 6, 4, 16, 16, 64, 64);
  p.args.lse = nullptr;
  EXPECT_EQ(check(sig, p.args),
            "k's dimension 1 (key/value heads) is 4, which does not divide "
            "q's dimension 1 (query heads) (6): Hq must be a multiple of Hkv");
}

TEST(ValidationTest, NullMisalignedAndForeignMemory) {
  Signature sig = exampleSignature("causal.mlir");
  Problem missing(1, 8, 8, 16, 16, 64, 64);
  missing.args.o = nullptr;
  EXPECT_EQ(check(sig, missing.args), "o: missing (null DLTensor)");
  Problem null(1, 8, 8, 16, 16, 64, 64);
  null.v.dl.data = nullptr;
  EXPECT_EQ(check(sig, null.args), "v: data pointer is null");
  Problem odd(1, 8, 8, 16, 16, 64, 64);
  odd.q.dl.byte_offset = 1;
  std::string message = check(sig, odd.args);
  EXPECT_EQ(message.rfind("q: data pointer ", 0), 0u) << message;
  EXPECT_NE(message.find("+ byte_offset 1 is not aligned to its 2-byte "
                         "float16 elements"),
            std::string::npos)
      << message;
  Problem gpu(1, 8, 8, 16, 16, 64, 64);
  gpu.k.dl.device = {kDLCUDA, 0};
  EXPECT_EQ(check(sig, gpu.args),
            "k: the memory is on cuda (device 0) but the plan runs on emu");
  Problem host(1, 8, 8, 16, 16, 64, 64);
  EXPECT_EQ(check(sig, host.args, DeviceKind::Cuda),
            "q: the memory is on cpu (device 0) but the plan runs on cuda "
            "(GPU 0)");
}

TEST(ValidationTest, StridesOfOutputsAndNegativeStrides) {
  Signature sig = exampleSignature("causal.mlir");
  Problem p(1, 8, 8, 16, 16, 64, 64);
  p.k.strides[2] = -64;
  EXPECT_EQ(check(sig, p.args), "k: stride of dimension 2 (key length) is "
                                "-64; attn needs non-negative strides");
  Problem b(1, 8, 8, 16, 16, 64, 64);
  b.o.strides[1] = 0;
  EXPECT_EQ(check(sig, b.args),
            "o: stride of dimension 1 (query heads) is 0: an output cannot "
            "broadcast");
}

TEST(ValidationTest, Captures) {
  Signature sig = exampleSignature("document.mlir");
  Problem p(2, 8, 8, 64, 64, 64, 64);
  p.args.lse = nullptr;
  EXPECT_EQ(check(sig, p.args),
            "captures: the variant takes 1 capture but 0 were given");
  HostTensor doc({2, 50}, kI32, false);
  p.args.captures = {Capture::of(&doc.dl)};
  EXPECT_EQ(check(sig, p.args), "c0 (capture 0): dimension 1 (key length) is "
                                "50 but k's dimension 2 (key length) is 64");
  HostTensor docF({2, 64}, kF32, false);
  p.args.captures = {Capture::of(&docF.dl)};
  EXPECT_EQ(check(sig, p.args), "c0 (capture 0): dtype is float32 but the "
                                "variant was compiled for int32");
  p.args.captures = {Capture::scalar(1.0)};
  EXPECT_EQ(check(sig, p.args), "c0 (capture 0): missing (null DLTensor)");
  HostTensor good({2, 64}, kI32, false);
  p.args.captures = {Capture::of(&good.dl)};
  EXPECT_EQ(check(sig, p.args), "ok");
}

// A scalar integer capture becomes the kernels' 64-bit integer parameter:
// NaN, 1e300, 2^63 or 2.5 would be an undefined (or lossy) conversion, so
// they are refused naming the capture, the value and the type's range.
TEST(ValidationTest, ScalarIntegerCapturesHoldIntegersOfTheirType) {
  Signature sig = exampleSignature("prefix_lm.mlir"); // %prefix: index
  Problem p(1, 8, 8, 16, 16, 64, 64);
  p.args.lse = nullptr;
  for (double bad : {double(NAN), 1e300, 9223372036854775808.0, 2.5,
                     -double(INFINITY)}) {
    p.args.captures = {Capture::scalar(bad)};
    char value[40];
    std::snprintf(value, sizeof value, "%g", bad);
    EXPECT_EQ(check(sig, p.args),
              std::string("c0 (capture 0): value ") + value +
                  " is not an integer in the range of int64 [-2^63, 2^63)");
  }
  p.args.captures = {Capture::scalar(-9223372036854775808.0)};
  EXPECT_EQ(check(sig, p.args), "ok");
  p.args.captures = {Capture::scalar(37)};
  EXPECT_EQ(check(sig, p.args), "ok");

  // An i32 scalar: the range of its 32 bits, read signed or unsigned.
  std::string text = readExample("prefix_lm.mlir");
  for (std::string from : {"%prefix: index {", "captures(%prefix : index)",
                           "%p: index):"}) {
    std::string to = from;
    to.replace(to.find("index"), 5, "i32");
    text.replace(text.find(from), from.size(), to);
  }
  text.replace(text.find("%inPrefix = arith.cmpi ult, %j, %p : index"),
               std::string("%inPrefix = arith.cmpi ult, %j, %p : index").size(),
               "%pi = arith.index_cast %p : i32 to index\n"
               "        %inPrefix = arith.cmpi ult, %j, %pi : index");
  PlanSpec spec;
  std::string error;
  ASSERT_TRUE(compileVariantText(text, "prefix_i32.mlir", {}, &spec, &error))
      << error;
  p.args.captures = {Capture::scalar(4294967296.0)};
  EXPECT_EQ(check(spec.signature, p.args),
            "c0 (capture 0): value 4.29497e+09 is not an integer in the range "
            "of int32 [-2147483648, 4294967295]");
  p.args.captures = {Capture::scalar(-2147483648.0)};
  EXPECT_EQ(check(spec.signature, p.args), "ok");
}

TEST(ValidationTest, DTypeOptionRetypesTheSignature) {
  FrontendOptions options;
  options.dtype = "bf16";
  PlanSpec spec;
  std::string error;
  ASSERT_TRUE(compileVariantText(readExample("causal.mlir"), "causal.mlir",
                                 options, &spec, &error))
      << error;
  DLDataType bf16{kDLBfloat, 16, 1};
  EXPECT_EQ(dtypeName(spec.signature.inputs[0].dtype), dtypeName(bf16));
  EXPECT_EQ(dtypeName(spec.signature.outputs[1].dtype), "float32") << "lse";
  Problem p(1, 8, 8, 16, 16, 64, 64);
  EXPECT_EQ(check(spec.signature, p.args),
            "q: dtype is float16 but the variant was compiled for bfloat16");
  options.dtype = "f8";
  EXPECT_FALSE(compileVariantText(readExample("causal.mlir"), "causal.mlir",
                                  options, &spec, &error));
  EXPECT_EQ(error, "unknown dtype 'f8' (expected f16, bf16 or f32)");
}

TEST(ValidationTest, RunRejectsBeforeLaunching) {
  Runtime rt(testConfig(sharedCacheDir()));
  CompileOptions options;
  options.device = DeviceKind::Emu;
  auto plan =
      rt.compileFile(std::string(ATTN_EXAMPLES_DIR) + "/causal.mlir", options);
  ASSERT_TRUE(plan) << plan.message();
  Problem p(1, 8, 8, 16, 16, 64, 64);
  p.o.poison();
  HostTensor k({1, 8, 16, 128}, kF16, false);
  p.args.k = &k.dl;
  Status s = plan->run(p.args);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "k: dimension 3 (head dim) is 128 but the variant "
                         "was compiled for 64");
  for (double x : p.o.read())
    ASSERT_TRUE(std::isnan(x)) << "nothing may run before validation passes";
  EXPECT_FALSE(plan->validate(p.args).ok());
}

} // namespace

TEST(ValidationTest, EveryParameterIsBound) {
  // The fields of validated arguments are all bound, by what the typed
  // descriptor says they hold (the names are only labels) ...
  using namespace attn::abi;
  Signature sig = exampleSignature("causal.mlir");
  Problem p(2, 8, 8, 33, 35, 64, 64);
  BoundSizes sizes;
  ASSERT_TRUE(validateArguments(sig, p.args, DeviceKind::Emu, 0, &sizes).ok());
  PlanSpec spec;
  spec.signature = sig;
  spec.kernels.push_back(KernelInfo());
  spec.kernels[0].name = "attn_causal";
  spec.params = {
      {"first", FieldType::Pointer, FieldRole::Data, BufferKind::Input, 1, 0},
      {"second", FieldType::Int64, FieldRole::Stride, BufferKind::Input, 0, 2},
      {"third", FieldType::Int64, FieldRole::Extent, BufferKind::Result, 1, 0},
      {"fourth", FieldType::Int64, FieldRole::Problem, BufferKind::None, 0,
       int32_t(ProblemSize::Nk)},
      {"fifth", FieldType::Int64, FieldRole::Size, BufferKind::Result, 0, 2}};
  std::vector<uint64_t> params;
  float lse[2 * 8 * 33];
  Status s = buildParams(spec, p.args, sizes, lse, {}, params);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(params.size(), 5u);
  EXPECT_EQ(params[0], reinterpret_cast<uint64_t>(p.k.dl.data));
  EXPECT_EQ(params[1], 64u);          // q [2, 8, 33, 64], row-major
  EXPECT_EQ(params[2], 2u * 8 * 33);  // the runtime's compact lse
  EXPECT_EQ(params[3], 35u);
  EXPECT_EQ(params[4], 33u);
  // ... and a field nothing binds is an error, not a zero the kernel would
  // trust as a pointer or a stride: a capture the variant does not take, a
  // dimension q does not have, a workspace the runtime did not allocate.
  for (const Field &unbound :
       {Field{"c0_s1", FieldType::Int64, FieldRole::Stride, BufferKind::Input,
              3, 1},
        Field{"q_s4", FieldType::Int64, FieldRole::Stride, BufferKind::Input,
              0, 4},
        Field{"ws0", FieldType::Pointer, FieldRole::Data,
              BufferKind::Workspace, 0, 0}}) {
    spec.params.push_back(unbound);
    s = buildParams(spec, p.args, sizes, lse, {}, params);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("the parameter '" + unbound.name + "' (" +
                               describe(unbound) + ") of 'attn_causal' "
                               "cannot be bound"),
              std::string::npos)
        << s.message();
    spec.params.pop_back();
  }
}
