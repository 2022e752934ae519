//===- KernelAbiTest.cpp - the typed parameter struct of emitted kernels ---===//
//
// For every example (globbed), as every plan it is emitted as (plain,
// split-KV, varlen, paged KV dense and split, varlen over pages): the
// emitter's typed descriptor of the parameter struct (attn/Support/
// KernelAbi.h) agrees with the function it was emitted from (buffers and
// dimensions that exist, scalars that are scalars) and with the struct in
// the emitted source (every field, in order, with its C type); and the one
// host packer binds every field from the function's tensors. Plus the
// packer's own rules.
//
//===----------------------------------------------------------------------===//

#include "ExampleKernels.h"

#include "attn/Codegen/CudaEmitter.h"
#include "attn/Codegen/Pipeline.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Support/KernelAbi.h"
#include "attn/device/tma.h"
#include "attn/emu/KernelLibrary.h"
#include "attn/emu/TensorMap.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace attn::abi;

namespace {

using attn::test::exampleNames;

/// The shape of `type` with every dynamic size `dynamic`.
std::vector<int64_t> shapeOf(mlir::Type type, int64_t dynamic) {
  std::vector<int64_t> shape;
  for (int64_t n : mlir::cast<mlir::RankedTensorType>(type).getShape())
    shape.push_back(mlir::ShapedType::isDynamic(n) ? dynamic : n);
  return shape;
}

/// The plans each example is emitted as: plain, split-KV, and the layouts
/// of variable-length batches and paged KV caches.
enum Emitted { Plain, SplitKv, Varlen, Paged, PagedSplitKv, VarlenPaged };
const char *const kEmittedNames[] = {"",        "_splitKv",      "_varlen",
                                     "_paged", "_pagedSplitKv", "_varlenPaged"};

class KernelAbiTest
    : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(KernelAbiTest, DescriptorMatchesFunctionAndSource) {
  auto [name, emitted] = GetParam();
  attn::AttnPipelineOptions options;
  options.splitKv = emitted == SplitKv || emitted == PagedSplitKv;
  attn::test::LoweredExample example = attn::test::lowerExample(name, options);
  ASSERT_TRUE(example.func) << name << " did not parse and lower";
  mlir::func::FuncOp func = example.func;
  attn::codegen::CudaEmitOptions emit;
  emit.varlen = emitted == Varlen || emitted == VarlenPaged;
  emit.pagedKv =
      emitted == Paged || emitted == PagedSplitKv || emitted == VarlenPaged;
  auto plan = attn::codegen::emitCudaPlan(func, emit);
  ASSERT_TRUE(mlir::succeeded(plan));

  // Bindings from the function's types: every tensor, scalar and size a
  // host would bind, and the plan's own buffers.
  ParamBindings bindings;
  unsigned inputs = func.getNumArguments();
  bindings.inputs.resize(inputs);
  bindings.scalars.resize(inputs);
  bindings.summaries.resize(inputs);
  static char memory[8];
  auto tensor = [&](mlir::Type type) {
    BufferBinding b;
    b.bound = true;
    b.data = memory;
    b.sizes = shapeOf(type, 5);
    return b;
  };
  for (unsigned a = 0; a < inputs; ++a) {
    mlir::Type type = func.getArgumentTypes()[a];
    if (mlir::isa<mlir::RankedTensorType>(type))
      bindings.inputs[a] = tensor(type);
    else
      bindings.scalars[a] = ScalarBinding{0.5, 3};
  }
  for (mlir::Type type : func.getResultTypes())
    bindings.results.push_back(tensor(type));
  for (size_t n = 0; n < plan->workspaceElementsPerCta.size(); ++n)
    bindings.workspaces.push_back(BufferBinding{true, memory, {}, {}, 64});
  for (unsigned c : plan->summarizedCaptures)
    bindings.summaries[3 + c] = BufferBinding{true, memory, {}, {}, 64};
  for (auto &size : bindings.problem)
    size = 5;
  bindings.kvSplits = 2;
  // The sequence tensors (bound whether or not the plan takes them: a
  // field of them in a plan that does not is caught below).
  bindings.seqStarts = {BufferBinding{true, memory, {6}, {}, -1},
                        BufferBinding{true, memory, {6}, {}, -1}};
  bindings.blockTable = {BufferBinding{true, memory, {5, 4}, {}, -1}};
  bindings.seqLensK = {BufferBinding{true, memory, {5}, {}, -1}};
  bindings.pageShift = 4;
  auto takes = [&](BufferKind kind) {
    return llvm::any_of(plan->kernels.front().params,
                        [&](const Field &f) { return f.buffer == kind; });
  };
  EXPECT_EQ(takes(BufferKind::SeqStarts), emit.varlen);
  EXPECT_EQ(takes(BufferKind::BlockTable), emit.pagedKv);
  EXPECT_EQ(takes(BufferKind::SeqLensK), emit.pagedKv);

  for (const attn::codegen::CudaKernel &kernel : plan->kernels) {
    SCOPED_TRACE(kernel.name);
    std::vector<bool> hasData(inputs, false);
    size_t at = kernel.source.find("struct ");
    ASSERT_NE(at, std::string::npos);
    for (const Field &f : kernel.params) {
      SCOPED_TRACE(f.name + ": " + describe(f));
      // What the field describes exists, with the C type it must have.
      int64_t rank = -1;
      if (f.buffer == BufferKind::Input) {
        ASSERT_LT(f.index, int32_t(inputs));
        auto type = mlir::dyn_cast<mlir::RankedTensorType>(
            func.getArgumentTypes()[f.index]);
        ASSERT_TRUE(type) << "a buffer field of a scalar input";
        rank = type.getRank();
        hasData[f.index] = hasData[f.index] || f.role == FieldRole::Data;
      } else if (f.buffer == BufferKind::Result) {
        ASSERT_LT(f.index, int32_t(func.getNumResults()));
        rank = mlir::cast<mlir::RankedTensorType>(
                   func.getResultTypes()[f.index])
                   .getRank();
      } else if (f.buffer == BufferKind::BlockTable) {
        rank = 2; // [B, max_pages]
      }
      if (f.role == FieldRole::Size || f.role == FieldRole::Stride) {
        EXPECT_GE(f.dim, 0);
        EXPECT_LT(f.dim, rank);
      }
      if (f.role == FieldRole::Scalar)
        EXPECT_FALSE(mlir::isa<mlir::RankedTensorType>(
            func.getArgumentTypes()[f.index]));
      EXPECT_EQ(f.type == FieldType::Pointer, f.role == FieldRole::Data);
      // The source declares it next, as the type the descriptor says.
      std::string decl =
          f.type == FieldType::Int64     ? "long long " + f.name + ";"
          : f.type == FieldType::Float64 ? "double " + f.name + ";"
                                         : "*" + f.name + ";";
      size_t next = kernel.source.find(decl, at);
      ASSERT_NE(next, std::string::npos) << "not declared after offset " << at;
      at = next + decl.size();
    }
    for (unsigned a = 0; a < inputs; ++a)
      if (mlir::isa<mlir::RankedTensorType>(func.getArgumentTypes()[a]))
        EXPECT_TRUE(hasData[a]) << "input " << a << " has no address field";
    std::vector<uint64_t> params;
    std::string error;
    EXPECT_TRUE(packParams(kernel.params, bindings, kernel.name, params,
                           &error))
        << error;
    EXPECT_EQ(params.size(), kernel.params.size());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Examples, KernelAbiTest,
    ::testing::Combine(::testing::ValuesIn(exampleNames()),
                       ::testing::Values(Plain, SplitKv, Varlen, Paged,
                                         PagedSplitKv, VarlenPaged)),
    [](const ::testing::TestParamInfo<std::tuple<std::string, int>> &info) {
      return std::get<0>(info.param) + kEmittedNames[std::get<1>(info.param)];
    });

TEST(KernelAbiPackerTest, BindsByRoleNotName) {
  float q[2 * 3 * 4];
  ParamBindings b;
  b.inputs.resize(4);
  b.scalars.resize(4);
  b.inputs[0] = BufferBinding{true, q, {2, 3, 4}, {}, -1};
  b.inputs[1] = BufferBinding{true, q, {2, 3, 4}, {1, 2, 6}, -1};
  b.scalars[3] = ScalarBinding{-0.25, 0};
  b.problem[int(ProblemSize::Hkv)] = 7;
  std::vector<Field> fields = {
      {"x", FieldType::Pointer, FieldRole::Data, BufferKind::Input, 0, 0},
      {"y", FieldType::Int64, FieldRole::Stride, BufferKind::Input, 0, 0},
      {"z", FieldType::Int64, FieldRole::Extent, BufferKind::Input, 0, 0},
      {"w", FieldType::Int64, FieldRole::Extent, BufferKind::Input, 1, 0},
      {"u", FieldType::Int64, FieldRole::Size, BufferKind::Input, 1, 2},
      {"t", FieldType::Float64, FieldRole::Scalar, BufferKind::None, 3, 0},
      {"s", FieldType::Int64, FieldRole::Problem, BufferKind::None, 0,
       int32_t(ProblemSize::Hkv)}};
  std::vector<uint64_t> p;
  std::string error;
  ASSERT_TRUE(packParams(fields, b, "k", p, &error)) << error;
  EXPECT_EQ(p[0], reinterpret_cast<uint64_t>(q));
  EXPECT_EQ(p[1], 12u);                  // row-major stride of dimension 0
  EXPECT_EQ(p[2], 24u);                  // row-major extent
  EXPECT_EQ(p[3], 1u + 1 * 1 + 2 * 2 + 3 * 6); // strided extent
  EXPECT_EQ(p[4], 4u);
  double t;
  std::memcpy(&t, &p[5], 8);
  EXPECT_EQ(t, -0.25);
  EXPECT_EQ(p[6], 7u);
  // An empty tensor's extent is 0, whatever its strides.
  b.inputs[0].sizes = {2, 0, 4};
  ASSERT_TRUE(packParams(fields, b, "k", p, &error)) << error;
  EXPECT_EQ(p[2], 0u);
}

/// The C layout the packer must reproduce: 8-byte fields and a 64-byte
/// aligned 128-byte tensor map (attn/device/tma.h).
struct MapParams {
  long long n;
  attn::device::TensorMap k;
  const void *p;
};

TEST(KernelAbiPackerTest, TensorMapsAreEncodedWhereCPutsThem) {
  // K as [B, Hkv, Nk, D] = [2, 3, 100, 64], f16, row-major.
  alignas(16) static uint16_t k[2 * 3 * 100 * 64]; // f16 bits
  ParamBindings b;
  b.inputs.resize(2);
  b.inputs[1] = BufferBinding{true, k, {2, 3, 100, 64}, {}, -1};
  b.problem[int(ProblemSize::B)] = 2;
  b.encodeTensorMap = attn::emu::encodeTensorMap;
  Field map{"k_map",
            FieldType::TensorMap,
            FieldRole::TensorMap,
            BufferKind::Input,
            1,
            0,
            TensorMapShape{{3, 2, 1, 0}, {64, 128, 1, 1}, 2, 128}};
  std::vector<Field> fields = {
      {"n", FieldType::Int64, FieldRole::Problem, BufferKind::None, 0,
       int32_t(ProblemSize::B)},
      map,
      {"p", FieldType::Pointer, FieldRole::Data, BufferKind::Input, 1, 0}};
  std::vector<uint64_t> p;
  std::string error;
  ASSERT_TRUE(packParams(fields, b, "k", p, &error)) << error;
  ASSERT_EQ(p.size() * 8, sizeof(MapParams));
  EXPECT_EQ(p[offsetof(MapParams, n) / 8], 2u);
  EXPECT_EQ(p[offsetof(MapParams, p) / 8], reinterpret_cast<uint64_t>(k));
  attn::emu::EmuTensorMap encoded;
  std::memcpy(&encoded, &p[offsetof(MapParams, k) / 8], sizeof encoded);
  EXPECT_EQ(encoded.magic, attn::emu::kEmuTensorMapMagic);
  EXPECT_EQ(encoded.base, k);
  EXPECT_EQ(encoded.rank, 4u);
  const uint64_t dims[4] = {64, 100, 3, 2}, strides[4] = {2, 128, 12800, 38400};
  const unsigned box[4] = {64, 128, 1, 1};
  for (int d = 0; d < 4; ++d) {
    EXPECT_EQ(encoded.dims[d], dims[d]) << d;
    EXPECT_EQ(encoded.strideBytes[d], strides[d]) << d;
    EXPECT_EQ(encoded.box[d], box[d]) << d;
  }
  EXPECT_EQ(encoded.swizzleBits, 3u);

  // What cannot be encoded is an error naming the field.
  auto expectError = [&](const ParamBindings &bindings, const Field &f,
                         const std::string &why) {
    std::vector<uint64_t> words;
    std::string message;
    EXPECT_FALSE(packParams({f}, bindings, "kern", words, &message));
    EXPECT_EQ(message, "the parameter 'k_map' (the tensor map of input 1) of "
                       "'kern' cannot be bound: " +
                           why);
  };
  ParamBindings noEncoder = b;
  noEncoder.encodeTensorMap = nullptr;
  expectError(noEncoder, map, "no tensor-map encoder is bound");
  // A tensor TMA cannot address leaves the map zeroed (the kernel tests the
  // same with tma_view_ok and copies it without TMA): a non-contiguous row,
  // an outer stride or an address off 16 bytes, an empty dimension.
  auto expectZeroed = [&](const ParamBindings &bindings) {
    std::vector<uint64_t> words(kTensorMapWords, 1);
    std::string message;
    ASSERT_TRUE(packParams({map}, bindings, "kern", words, &message))
        << message;
    ASSERT_EQ(words.size(), size_t(kTensorMapWords));
    for (uint64_t word : words)
      EXPECT_EQ(word, 0u);
  };
  ParamBindings strided = b;
  strided.inputs[1].strides = {38400 * 2, 12800 * 2, 128 * 2, 2};
  expectZeroed(strided);
  ParamBindings oddRows = b;
  oddRows.inputs[1].strides = {38400, 12800, 100, 1};
  expectZeroed(oddRows);
  ParamBindings offset = b;
  offset.inputs[1].data = static_cast<const char *>(b.inputs[1].data) + 2;
  expectZeroed(offset);
  ParamBindings empty = b;
  empty.inputs[1].sizes[2] = 0;
  expectZeroed(empty);
  Field bigBox = map;
  bigBox.map.box = {64, 257, 1, 1};
  expectError(b, bigBox, "boxDim[1] = 257 is not in 1-256");
  Field wrongType = map;
  wrongType.type = FieldType::Pointer;
  expectError(b, wrongType, "a tensor map must have type TensorMap");
}

// The packed words reach a kernel as its `const __grid_constant__` struct:
// a 4-D TMA load through the packed map brings the box in, zero-filled past
// the 100 keys.
TEST(KernelAbiPackerTest, PackedTensorMapDrivesAnEmulatedTmaKernel) {
  const char *source = R"cu(
#include "attn/device/attn_device.h"
#include "attn/device/sm90.h"
using namespace attn::device;
struct Params {
  long long n;
  TensorMap k;
  f16 *out;
};
extern "C" __global__ void tmaKernel(const __grid_constant__ Params p) {
  ATTN_DYNAMIC_SHARED(unsigned char, smem);
  auto *bar = reinterpret_cast<mbarrier_t *>(smem + 16384);
  if (threadIdx.x == 0) {
    mbarrier_init(bar, 1);
    mbarrier_arrive_expect_tx(bar, 64 * 128 * 2);
    tma_load_4d(smem, &p.k, 0, 0, 2, static_cast<int>(p.n) - 1, bar);
  }
  __syncthreads();
  mbarrier_wait_parity(bar, 0);
  for (unsigned e = threadIdx.x; e < 64 * 128; e += blockDim.x)
    std::memcpy(&p.out[e],
                smem + wgmma_swizzle_address(2 * e, WgmmaSwizzle::B128), 2);
}
ATTN_KERNEL_ENTRY(tmaKernel)
)cu";
  std::string error;
  auto library = attn::emu::KernelLibrary::compileSource(
      source, "tma_kernel.cu", attn::emu::HostCompileOptions(), &error);
  ASSERT_TRUE(library) << error;

  std::vector<uint16_t> k(2 * 3 * 100 * 64), out(128 * 64, 0xffff);
  for (size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<uint16_t>(i % 65521); // distinct bit patterns
  ParamBindings b;
  b.inputs = {BufferBinding{},
              BufferBinding{true, k.data(), {2, 3, 100, 64}, {}, -1}};
  b.results = {BufferBinding{true, out.data(), {128 * 64}, {}, -1}};
  b.problem[int(ProblemSize::B)] = 2;
  b.encodeTensorMap = attn::emu::encodeTensorMap;
  std::vector<Field> fields = {
      {"n", FieldType::Int64, FieldRole::Problem, BufferKind::None, 0,
       int32_t(ProblemSize::B)},
      {"k", FieldType::TensorMap, FieldRole::TensorMap, BufferKind::Input, 1, 0,
       TensorMapShape{{3, 2, 1, 0}, {64, 128, 1, 1}, 2, 128}},
      {"out", FieldType::Pointer, FieldRole::Data, BufferKind::Result, 0, 0}};
  std::vector<uint64_t> words;
  ASSERT_TRUE(packParams(fields, b, "tmaKernel", words, &error)) << error;
  attn::emu::LaunchResult result =
      library->launch("tmaKernel", words.data(),
                      attn::emu::LaunchConfig("tmaKernel", 1, 128, 16384 + 64));
  ASSERT_TRUE(result.ok()) << result.message();
  for (int n = 0; n < 128; ++n) // batch 1 (= n - 1), head 2
    for (int d = 0; d < 64; ++d)
      ASSERT_EQ(out[n * 64 + d],
                n < 100 ? k[((1 * 3 + 2) * 100 + n) * 64 + d] : 0)
          << "key " << n << ", column " << d;
}

TEST(KernelAbiPackerTest, WhatCannotBeBoundIsAnErrorNamingTheField) {
  float q[4];
  ParamBindings b;
  b.inputs = {BufferBinding{true, q, {4}, {}, -1}};
  b.scalars.resize(1);
  struct Case {
    Field field;
    const char *why;
  } cases[] = {
      {{"a", FieldType::Int64, FieldRole::Stride, BufferKind::Input, 0, 1},
       "the bound tensor has rank 1"},
      {{"b", FieldType::Pointer, FieldRole::Data, BufferKind::Input, 1, 0},
       "no buffer is bound to it"},
      {{"c", FieldType::Int64, FieldRole::Data, BufferKind::Input, 0, 0},
       "an address must be a Pointer"},
      {{"d", FieldType::Pointer, FieldRole::Data, BufferKind::Workspace, 0, 0},
       "no buffer is bound to it"},
      {{"e", FieldType::Int64, FieldRole::Problem, BufferKind::None, 0, 2},
       "no value is bound to it"},
      {{"f", FieldType::Int64, FieldRole::KvSplits, BufferKind::None, 0, 0},
       "no split count is bound"},
      {{"g", FieldType::Float64, FieldRole::Scalar, BufferKind::None, 0, 0},
       "no scalar is bound to input 0"},
  };
  for (const Case &c : cases) {
    std::vector<uint64_t> p;
    std::string error;
    EXPECT_FALSE(packParams({c.field}, b, "kern", p, &error));
    EXPECT_EQ(error, "the parameter '" + c.field.name + "' (" +
                         describe(c.field) + ") of 'kern' cannot be bound: " +
                         c.why);
  }
  // Sizes and strides of different ranks are refused, not read past.
  b.inputs[0].strides = {1, 1};
  std::vector<uint64_t> p;
  std::string error;
  EXPECT_FALSE(packParams({{"s", FieldType::Int64, FieldRole::Stride,
                            BufferKind::Input, 0, 0}},
                          b, "kern", p, &error));
  EXPECT_NE(error.find("1 sizes but 2 strides"), std::string::npos) << error;
}

// Kernels narrow index arithmetic to 32 bits on the promise that no extent
// exceeds kMaxExtent (-attn-narrow-indices): a larger size or problem size
// is refused, naming the field, and kMaxExtent itself is taken.
TEST(KernelAbiPackerTest, ExtentsAboveTheKernelsLimitAreRefused) {
  float q[1];
  ParamBindings b;
  b.inputs = {BufferBinding{true, q, {1, kMaxExtent + 1}, {0, 0}, -1}};
  b.problem[int(ProblemSize::Nk)] = kMaxExtent + 1;
  Field size{"nk_size", FieldType::Int64, FieldRole::Size, BufferKind::Input, 0,
             1};
  Field problem{
      "Nk", FieldType::Int64,        FieldRole::Problem, BufferKind::None,
      0,    int32_t(ProblemSize::Nk)};
  for (const Field &f : {size, problem}) {
    std::vector<uint64_t> p;
    std::string error;
    EXPECT_FALSE(packParams({f}, b, "kern", p, &error));
    EXPECT_NE(error.find("'" + f.name + "'"), std::string::npos) << error;
    EXPECT_NE(error.find("the size is 1073741825, above the 2^30"),
              std::string::npos)
        << error;
  }
  b.inputs[0].sizes[1] = kMaxExtent;
  b.problem[int(ProblemSize::Nk)] = kMaxExtent;
  std::vector<uint64_t> p;
  std::string error;
  ASSERT_TRUE(packParams({size, problem}, b, "kern", p, &error)) << error;
  EXPECT_EQ(p[0], uint64_t(kMaxExtent));
  EXPECT_EQ(p[1], uint64_t(kMaxExtent));
}

} // namespace
