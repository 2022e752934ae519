//===- Sm90KernelTest.cpp - the sm_90 primitives kernel in the emulator ---===//
//
// Builds kernels/sm90_primitives.cu (the file NvrtcCompileTest compiles for
// sm_90a) into a kernel .so and checks its output tile against a double-
// precision reference: TMA, mbarriers, warp specialisation, wgmma ss and rs
// with swizzled operands and the accumulator-to-A register reuse, from one
// source, as a FlashAttention-3 kernel would combine them.
//
//===----------------------------------------------------------------------===//

#include "kernels/sm90_primitives.h"

#include "attn/emu/KernelLibrary.h"
#include "attn/emu/TensorMap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace attn::device;

namespace {

attn::abi::TensorMapRequest rowMajor(const void *base, unsigned rows,
                                     unsigned swizzle) {
  attn::abi::TensorMapRequest s;
  s.base = base;
  s.rank = 2;
  s.elementBytes = 2;
  s.dims[0] = 64;
  s.dims[1] = rows;
  s.strideBytes[1] = 128;
  s.box[0] = 64;
  s.box[1] = 64;
  s.swizzleBytes = swizzle;
  return s;
}

TEST(Sm90KernelTest, FlashAttention3ShapedTileMatchesReference) {
  std::string error;
  auto library = attn::emu::KernelLibrary::compile(
      ATTN_TEST_KERNEL_DIR "/sm90_primitives.cu",
      attn::emu::HostCompileOptions(), &error);
  ASSERT_TRUE(library) << error;

  std::mt19937 rng(23);
  std::uniform_real_distribution<float> value(-0.5f, 0.5f);
  std::vector<f16> q(64 * 64), k(128 * 64), v(128 * 64), o(64 * 64);
  for (auto *m : {&q, &k, &v})
    for (f16 &x : *m)
      x = to_f16(value(rng));
  for (f16 &x : o)
    x = to_f16(NAN); // unwritten elements show

  alignas(64) Sm90PrimitivesParams params{};
  for (auto [map, spec] : {std::pair{&params.q, rowMajor(q.data(), 64, 128)},
                           std::pair{&params.k, rowMajor(k.data(), 128, 128)},
                           std::pair{&params.v, rowMajor(v.data(), 128, 128)},
                           std::pair{&params.o, rowMajor(o.data(), 64, 0)}})
    ASSERT_EQ(attn::emu::encodeTensorMap(spec, map), "");
  attn::emu::LaunchConfig config("", 1, 256, kSm90PrimitivesSmemBytes);
  config.memcheck = true;
  config.buffers = {{"q", q.data(), q.size() * 2, false},
                    {"k", k.data(), k.size() * 2, false},
                    {"v", v.data(), v.size() * 2, false},
                    {"o", o.data(), o.size() * 2, true}};
  attn::emu::LaunchResult result =
      library->launch("sm90_primitives", &params, config);
  ASSERT_TRUE(result.ok()) << result.message();

  for (int m = 0; m < 64; ++m)
    for (int d = 0; d < 64; ++d) {
      double ref = 0, scale = 0;
      for (int key = 0; key < 128; ++key) {
        float s = 0; // the emulated wgmma: f32 accumulation per k16 step
        for (int k0 = 0; k0 < 64; k0 += 16) {
          double step = s;
          for (int kk = k0; kk < k0 + 16; ++kk)
            step += static_cast<double>(to_float(q[m * 64 + kk])) *
                    to_float(k[key * 64 + kk]);
          s = static_cast<float>(step);
        }
        double p = to_float(to_f16(s));
        ref += p * to_float(v[key * 64 + d]);
        scale += std::abs(p * to_float(v[key * 64 + d]));
      }
      // O is stored as f16: half an ulp, plus f32 accumulation.
      ASSERT_NEAR(to_float(o[m * 64 + d]), ref,
                  1e-3 * std::abs(ref) + 1e-5 * scale)
          << "O(" << m << ", " << d << ")";
    }
}

} // namespace
