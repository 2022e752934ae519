//===- AllPrimitivesTest.cpp - the all-primitives kernel in the emulator ----===//
//
// Builds kernels/all_primitives.cu (the same file NvrtcCompileTest gives to
// NVRTC) into a kernel .so, launches it through KernelLibrary and checks its
// softmax tiles against a double-precision reference: one source, both halves
// of the device library.
//
//===----------------------------------------------------------------------===//

#include "kernels/all_primitives.h"

#include "attn/emu/KernelLibrary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace attn::device;

namespace {

/// Row-wise softmax(scale * S) of a 16x8 tile, S[r][n] = sum_k A(r,k) B(k,n).
template <typename GetA, typename GetB>
std::vector<double> softmaxReference(GetA a, GetB b, double scale) {
  std::vector<double> p(128);
  for (int r = 0; r < 16; ++r) {
    double s[8], m = -INFINITY, l = 0;
    for (int n = 0; n < 8; ++n) {
      s[n] = 0;
      for (int k = 0; k < 16; ++k)
        s[n] += a(r, k) * b(k, n);
      s[n] *= scale;
      m = std::max(m, s[n]);
    }
    for (int n = 0; n < 8; ++n)
      l += std::exp(s[n] - m);
    for (int n = 0; n < 8; ++n)
      p[r * 8 + n] = std::exp(s[n] - m) / l;
  }
  return p;
}

TEST(AllPrimitivesTest, EmulatorMatchesReference) {
  std::string error;
  attn::emu::HostCompileOptions options;
  auto library = attn::emu::KernelLibrary::compile(
      ATTN_TEST_KERNEL_DIR "/all_primitives.cu", options, &error);
  ASSERT_TRUE(library) << error;

  std::mt19937 rng(5);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<f16> q(256), k(128);
  std::vector<bf16> qb(256), vb(128);
  for (auto &x : q)
    x = to_f16(value(rng));
  for (auto &x : k)
    x = to_f16(value(rng));
  for (auto &x : qb)
    x = to_bf16(value(rng));
  for (auto &x : vb)
    x = to_bf16(value(rng));
  std::vector<float> out(258, NAN); // poisoned: unwritten elements show
  std::vector<unsigned> packed(64, 0xffffffffu);
  AllPrimitivesParams params{q.data(),   k.data(),      qb.data(), vb.data(),
                             out.data(), packed.data(), 0.7f};
  auto result = library->launch(
      "all_primitives", &params,
      attn::emu::LaunchConfig("", 1, 32, /*dynamicSharedBytes=*/384 * 2));
  ASSERT_TRUE(result.ok()) << result.message();

  auto p16 = softmaxReference(
      [&](int r, int c) { return double(to_float(q[r * 16 + c])); },
      [&](int kk, int n) { return double(to_float(k[n * 16 + kk])); }, 0.7);
  auto pbf = softmaxReference(
      [&](int r, int c) { return double(to_float(qb[r * 16 + c])); },
      [&](int kk, int n) { return double(to_float(vb[kk * 8 + n])); }, 0.7);
  for (int i = 0; i < 128; ++i) {
    EXPECT_NEAR(out[i], p16[i], 1e-6) << "f16 tile element " << i;
    EXPECT_NEAR(out[128 + i], pbf[i], 1e-6) << "bf16 tile element " << i;
    EXPECT_EQ(unpack_f16(packed[i / 2], i % 2), to_float(to_f16(out[i])))
        << "packed element " << i;
  }
  EXPECT_NEAR(out[256], 32.0, 1e-5); // 32 rows, each summing to 1
  EXPECT_TRUE(std::isfinite(out[257]));
}

} // namespace
