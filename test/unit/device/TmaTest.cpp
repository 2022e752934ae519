//===- TmaTest.cpp - TMA loads and stores in the emulator
//------------------===//
//
// Tensor maps from the emulator's encoder; 2-D and 3-D boxes loaded into
// swizzled shared memory with zero fill outside a ragged tensor and stored
// back with the outside dropped; a TMA-loaded tile fed to wgmma through
// 128-byte-swizzle descriptors (the two paths must agree on the swizzle);
// and the misuses the hardware would not report: a load nobody waits for, a
// store's shared memory reused too early, a map reaching outside its buffer.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/device/sm90.h"
#include "attn/emu/Emulator.h"
#include "attn/emu/TensorMap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace attn::device;
using attn::emu::LaunchConfig;
using attn::emu::LaunchResult;
using TensorMapSpec = attn::abi::TensorMapRequest;

namespace {

TensorMapSpec spec2d(const void *base, unsigned rows, unsigned cols,
                     unsigned boxRows, unsigned boxCols, unsigned swizzle) {
  TensorMapSpec s;
  s.base = base;
  s.rank = 2;
  s.elementBytes = 2;
  s.dims[0] = cols;
  s.dims[1] = rows;
  s.strideBytes[1] = 2 * ((cols + 7) / 8 * 8); // rows padded to 16 bytes
  s.box[0] = boxCols;
  s.box[1] = boxRows;
  s.swizzleBytes = swizzle;
  return s;
}

TEST(TensorMapTest, EncoderChecksTheDriversRequirements) {
  alignas(64) TensorMap map;
  alignas(16) static f16 data[1024];
  EXPECT_EQ(attn::emu::encodeTensorMap(spec2d(data, 16, 64, 8, 64, 128), &map),
            "");
  struct Case {
    TensorMapSpec spec;
    const char *error;
  };
  TensorMapSpec misaligned = spec2d(data + 1, 16, 64, 8, 64, 128);
  TensorMapSpec bigBox = spec2d(data, 16, 64, 257, 64, 0);
  TensorMapSpec stride = spec2d(data, 16, 64, 8, 64, 128);
  stride.strideBytes[1] = 100;
  TensorMapSpec span = spec2d(data, 16, 128, 8, 128, 128);
  TensorMapSpec inner = spec2d(data, 16, 64, 8, 4, 0);
  TensorMapSpec rank = spec2d(data, 16, 64, 8, 64, 0);
  rank.rank = 6;
  for (const Case &c :
       {Case{misaligned, "globalAddress must be non-null and 16-byte aligned"},
        Case{bigBox, "boxDim[1] = 257 is not in 1-256"},
        Case{stride,
             "globalStrides[1] = 100 must be a positive multiple of 16"},
        Case{span, "the box's inner dimension (256 bytes) exceeds the 128-byte "
                   "swizzle span"},
        Case{inner,
             "boxDim[0] * element size = 8 bytes is not a multiple of 16"},
        Case{rank, "tensorRank 6 is not in 1-5"}}) {
    std::string error = attn::emu::encodeTensorMap(c.spec, &map);
    EXPECT_NE(error.find(c.error), std::string::npos)
        << "expected '" << c.error << "', got '" << error << "'";
  }
}

//===----------------------------------------------------------------------===//
// Loads
//===----------------------------------------------------------------------===//

struct LoadParams {
  TensorMap map; // by value, as a __grid_constant__ parameter
  int c0, c1;
  unsigned boxRows, boxCols, swizzleBits;
  f16 *out; // boxRows x boxCols, the box as the kernel reads it back
  bool wait;
};

__global__ void loadKernel(LoadParams p) {
  ATTN_DYNAMIC_SHARED(unsigned char, smem); // box at 0, mbarrier at 16 KB
  auto *bar = reinterpret_cast<mbarrier_t *>(smem + 16384);
  if (threadIdx.x == 0) {
    mbarrier_init(bar, 1);
    mbarrier_arrive_expect_tx(bar, p.boxRows * p.boxCols * 2);
    tma_load_2d(smem, &p.map, p.c0, p.c1, bar);
  }
  __syncthreads();
  if (!p.wait)
    return;
  mbarrier_wait_parity(bar, 0);
  WgmmaSwizzle swizzle = p.swizzleBits == 3   ? WgmmaSwizzle::B128
                         : p.swizzleBits == 2 ? WgmmaSwizzle::B64
                         : p.swizzleBits == 1 ? WgmmaSwizzle::B32
                                              : WgmmaSwizzle::None;
  for (unsigned e = threadIdx.x; e < p.boxRows * p.boxCols; e += blockDim.x) {
    unsigned address = wgmma_swizzle_address(2 * e, swizzle);
    std::memcpy(&p.out[e], smem + address, 2);
  }
}

TEST(TmaTest, LoadZeroFillsOutsideARaggedTensorAndSwizzles) {
  const unsigned rows = 70, cols = 100; // ragged in both dimensions
  std::vector<f16> tensor(rows * 104);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(0.5f, 1.0f);
  for (f16 &x : tensor)
    x = to_f16(dist(rng));
  for (unsigned swizzle : {0u, 32u, 64u, 128u}) {
    unsigned boxCols = swizzle ? swizzle / 2 : 64, boxRows = 32;
    for (int c0 : {0, 64})
      for (int c1 : {-8, 48}) { // before the first row, past the last
        LoadParams p{};
        ASSERT_EQ(attn::emu::encodeTensorMap(spec2d(tensor.data(), rows, cols,
                                                    boxRows, boxCols, swizzle),
                                             &p.map),
                  "");
        std::vector<f16> out(boxRows * boxCols);
        p.c0 = c0;
        p.c1 = c1;
        p.boxRows = boxRows;
        p.boxCols = boxCols;
        p.swizzleBits = swizzle == 128  ? 3
                        : swizzle == 64 ? 2
                        : swizzle       ? 1
                                        : 0;
        p.out = out.data();
        p.wait = true;
        LaunchConfig config("loadKernel", 1, 128, 16384 + 64);
        config.countGlobalAccesses = true;
        LaunchResult result = attn::emu::launch(config, loadKernel, p);
        ASSERT_TRUE(result.ok()) << result.message();
        std::size_t inside = 0;
        for (unsigned r = 0; r < boxRows; ++r)
          for (unsigned c = 0; c < boxCols; ++c) {
            int gr = c1 + static_cast<int>(r), gc = c0 + static_cast<int>(c);
            bool in = gr >= 0 && gr < int(rows) && gc < int(cols);
            inside += in;
            float expected = in ? to_float(tensor[gr * 104 + gc]) : 0.0f;
            ASSERT_EQ(to_float(out[r * boxCols + c]), expected)
                << "swizzle " << swizzle << " box (" << c0 << ", " << c1
                << ") element (" << r << ", " << c << ")";
          }
        EXPECT_EQ(result.globalBytesRead, 2 * inside); // only in-bounds bytes
      }
  }
}

TEST(TmaTest, LoadNobodyWaitsForIsReported) {
  std::vector<f16> tensor(64 * 64, to_f16(1.0f));
  LoadParams p{};
  ASSERT_EQ(attn::emu::encodeTensorMap(
                spec2d(tensor.data(), 64, 64, 32, 64, 128), &p.map),
            "");
  std::vector<f16> out(32 * 64);
  p.boxRows = 32;
  p.boxCols = 64;
  p.out = out.data();
  p.wait = false;
  LaunchResult result = attn::emu::launch(
      LaunchConfig("loadKernel", 1, 128, 16384 + 64), loadKernel, p);
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message().find("never completed: no thread waited on its "
                                  "mbarrier"),
            std::string::npos)
      << result.message();
}

TEST(TmaTest, MapOutsideItsBufferIsAMemcheckError) {
  std::vector<f16> tensor(64 * 64, to_f16(1.0f));
  LoadParams p{};
  // Claims 80 rows of a 64-row buffer.
  ASSERT_EQ(attn::emu::encodeTensorMap(
                spec2d(tensor.data(), 80, 64, 32, 64, 128), &p.map),
            "");
  std::vector<f16> out(32 * 64);
  p.boxRows = 32;
  p.boxCols = 64;
  p.out = out.data();
  p.wait = true;
  LaunchConfig config("loadKernel", 1, 128, 16384 + 64);
  config.memcheck = true;
  config.buffers = {{"tensor", tensor.data(), tensor.size() * 2, false},
                    {"out", out.data(), out.size() * 2, true}};
  LaunchResult result = attn::emu::launch(config, loadKernel, p);
  EXPECT_EQ(result.memoryViolationCount, 1u) << result.message();
  EXPECT_NE(result.message().find("tma_load"), std::string::npos)
      << result.message();
}

//===----------------------------------------------------------------------===//
// TMA feeding wgmma
//===----------------------------------------------------------------------===//

struct GemmParams {
  TensorMap a, b; // 64 x 64 each, K-major, 128-byte swizzle
  float *d;       // 64 x 64, row-major
};

__global__ void tmaWgmmaKernel(GemmParams p) {
  ATTN_DYNAMIC_SHARED(unsigned char, smem); // A at 0, B at 8 KB, bar at 16 KB
  auto *bar = reinterpret_cast<mbarrier_t *>(smem + 16384);
  if (threadIdx.x == 0) {
    mbarrier_init(bar, 1);
    mbarrier_arrive_expect_tx(bar, 2 * 8192);
    tma_load_2d(smem, &p.a, 0, 0, bar);
    tma_load_2d(smem + 8192, &p.b, 0, 0, bar);
  }
  __syncthreads();
  mbarrier_wait_parity(bar, 0);
  WgmmaAccumulator<64> acc;
  wgmma_fence();
  for (int k = 0; k < 4; ++k) // a 128-byte row holds 64 k; 32 bytes per step
    wgmma_ss<f16, 64>(
        acc, wgmma_descriptor(smem + 32 * k, 0, 1024, WgmmaSwizzle::B128),
        wgmma_descriptor(smem + 8192 + 32 * k, 0, 1024, WgmmaSwizzle::B128),
        k > 0);
  wgmma_commit_group();
  wgmma_wait_group<0>(acc);
  for (unsigned i = 0; i < 32; ++i)
    p.d[wgmma_accumulator_row(threadIdx.x, i) * 64 +
        wgmma_accumulator_col(threadIdx.x, i)] = acc[i];
}

TEST(TmaTest, TmaLoadedTilesFeedWgmma) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<f16> a(64 * 64), b(64 * 64); // A[m][k], B[n][k] (= Kᵀ rows)
  for (f16 &x : a)
    x = to_f16(dist(rng));
  for (f16 &x : b)
    x = to_f16(dist(rng));
  GemmParams p{};
  ASSERT_EQ(
      attn::emu::encodeTensorMap(spec2d(a.data(), 64, 64, 64, 64, 128), &p.a),
      "");
  ASSERT_EQ(
      attn::emu::encodeTensorMap(spec2d(b.data(), 64, 64, 64, 64, 128), &p.b),
      "");
  std::vector<float> d(64 * 64, 0.0f);
  p.d = d.data();
  LaunchConfig config("tmaWgmmaKernel", 1, 128, 16384 + 64);
  config.memcheck = true;
  LaunchResult result = attn::emu::launch(config, tmaWgmmaKernel, p);
  ASSERT_TRUE(result.ok()) << result.message();
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < 64; ++n) {
      double ref = 0, scale = 0;
      for (int k = 0; k < 64; ++k) {
        double x = static_cast<double>(to_float(a[m * 64 + k])) *
                   to_float(b[n * 64 + k]);
        ref += x;
        scale += std::abs(x);
      }
      ASSERT_LT(std::abs(d[m * 64 + n] - ref), 1e-6 * scale)
          << "D(" << m << ", " << n << ")";
    }
}

//===----------------------------------------------------------------------===//
// Stores
//===----------------------------------------------------------------------===//

struct StoreParams {
  TensorMap map; // 3-D: (cols, rows, heads)
  int c0, c1, c2;
  bool reuseEarly;
};

__global__ void storeKernel(StoreParams p) {
  ATTN_DYNAMIC_SHARED(f16, box); // 4 heads x 16 rows x 32 cols
  for (unsigned e = threadIdx.x; e < 4 * 16 * 32; e += blockDim.x)
    box[e] = to_f16(static_cast<float>(e % 1000));
  fence_proxy_async();
  __syncthreads();
  if (threadIdx.x == 0) {
    tma_store_3d(&p.map, p.c0, p.c1, p.c2, box);
    tma_store_commit_group();
    if (p.reuseEarly)
      box[5] = to_f16(-1.0f); // before the wait: the store may still read it
    tma_store_wait_group_read<0>();
  }
}

TEST(TmaTest, StoreDropsElementsOutsideTheTensor) {
  const int heads = 3, rows = 20, cols = 40; // box 4 x 16 x 32 at (16, 8, 1)
  const f16 sentinel = to_f16(7.0f);
  std::vector<f16> tensor(heads * rows * cols, sentinel);
  StoreParams p{};
  TensorMapSpec s;
  s.base = tensor.data();
  s.rank = 3;
  s.dims[0] = cols;
  s.dims[1] = rows;
  s.dims[2] = heads;
  s.strideBytes[1] = 2 * cols;
  s.strideBytes[2] = 2 * cols * rows;
  s.box[0] = 32;
  s.box[1] = 16;
  s.box[2] = 4;
  ASSERT_EQ(attn::emu::encodeTensorMap(s, &p.map), "");
  p.c0 = 16;
  p.c1 = 8;
  p.c2 = 1;
  LaunchConfig config("storeKernel", 1, 128, 4 * 16 * 32 * 2);
  config.countGlobalAccesses = true;
  LaunchResult result = attn::emu::launch(config, storeKernel, p);
  ASSERT_TRUE(result.ok()) << result.message();
  std::size_t written = 0;
  for (int h = 0; h < heads; ++h)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        int bh = h - 1, br = r - 8, bc = c - 16;
        bool inBox =
            bh >= 0 && bh < 4 && br >= 0 && br < 16 && bc >= 0 && bc < 32;
        float expected =
            inBox ? static_cast<float>(((bh * 16 + br) * 32 + bc) % 1000)
                  : 7.0f;
        written += inBox;
        ASSERT_EQ(to_float(tensor[(h * rows + r) * cols + c]), expected)
            << "(" << h << ", " << r << ", " << c << ")";
      }
  EXPECT_EQ(result.globalBytesWritten, 2 * written);
}

TEST(TmaTest, StoreSourceReusedBeforeTheWaitIsReported) {
  std::vector<f16> tensor(4 * 16 * 32);
  StoreParams p{};
  TensorMapSpec s;
  s.base = tensor.data();
  s.rank = 3;
  s.dims[0] = 32;
  s.dims[1] = 16;
  s.dims[2] = 4;
  s.strideBytes[1] = 64;
  s.strideBytes[2] = 64 * 16;
  s.box[0] = 32;
  s.box[1] = 16;
  s.box[2] = 4;
  ASSERT_EQ(attn::emu::encodeTensorMap(s, &p.map), "");
  p.reuseEarly = true;
  LaunchResult result = attn::emu::launch(
      LaunchConfig("storeKernel", 1, 128, 4 * 16 * 32 * 2), storeKernel, p);
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message().find("changed before the "
                                  "tma_store_wait_group_read that releases it"),
            std::string::npos)
      << result.message();
}

} // namespace
