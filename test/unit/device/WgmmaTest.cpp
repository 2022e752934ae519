//===- WgmmaTest.cpp - wgmma layouts and the emulated wgmma ---------------===//
//
// Nothing here has run on a Hopper GPU, so the layouts are checked against
// two independent sources that have:
//  - the PTX ISA's figures, transcribed as data (the accumulator and
//    A-fragment registers of the first threads, the 128-byte swizzle's chunk
//    permutation);
//  - CuTe's GMMA layouts (cute/atom/mma_traits_sm90_gmma.hpp: CLayout_64xN,
//    ALayout_64x16; the Layout_{K,MN}_{INTER,SW32,SW64,SW128}_Atom shared-
//    memory atoms tiled with tile_to_shape, and Swizzle<B,4,3>), evaluated
//    here from their shapes and strides.
// The device library's layout functions (which kernels and the emitter
// index with) must agree with both; the emulated wgmma must compute A·B on
// operands placed by the CuTe layouts and read back through CuTe's CLayout;
// and a planted layout error must be caught.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/device/fragment.h"
#include "attn/device/sm90.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace attn::device;

namespace {

//===----------------------------------------------------------------------===//
// CuTe's layouts, evaluated from shape and stride
//===----------------------------------------------------------------------===//

/// sum of coordinate * stride over a mode whose index is split
/// colexicographically by `shape` (CuTe's layout function on one mode).
long cuteMode(long index, std::initializer_list<long> shape,
              std::initializer_list<long> stride) {
  long offset = 0;
  auto s = stride.begin();
  for (long extent : shape) {
    offset += (index % extent) * *s++;
    index /= extent;
  }
  return offset;
}

/// CuTe CLayout_64xN: (thread, value) -> m + 64 n.
long cuteAccumulator(int n, int thread, int value) {
  return cuteMode(thread, {4, 8, 4}, {128, 1, 16}) +
         cuteMode(value, {2, 2, n / 8}, {64, 8, 512});
}
/// CuTe ALayout_64x16: (thread, value) -> m + 64 k; value = 2 * reg + half.
long cuteAFragment(int thread, int value) {
  return cuteMode(thread, {4, 8, 4}, {128, 1, 16}) +
         cuteMode(value, {2, 2, 2}, {64, 8, 512});
}

/// CuTe Swizzle<B,M,S>::apply on a byte address (M = 4, S = 3 here).
unsigned cuteSwizzle(unsigned offset, int b, int m = 4, int s = 3) {
  unsigned yyy = ((1u << b) - 1) << (m + s);
  return offset ^ ((offset & yyy) >> s);
}

/// A 16-bit wgmma operand of `mn` x `k` elements, laid out as CuTe's
/// Layout_{K,MN}_<swizzle>_Atom<half_t> tiled to that shape with
/// tile_to_shape (atoms in column-major order), at a 1024-aligned `base`.
struct CuteOperand {
  WgmmaMajor major;
  int swizzleBits; // 0 (INTER), 1 (SW32), 2 (SW64), 3 (SW128)
  int mn, k;
  unsigned base;

  int w() const { return 1 << swizzleBits; } // atom row in 16-byte chunks
  /// Unswizzled element offset (the atom's layout, then the atom tiling).
  long elementOffset(int i, int kk) const {
    long atom = 64L * w();
    if (major == WgmmaMajor::K) {
      // Atom (8, 8W):(8W, 1).
      int atomsMn = mn / 8;
      return cuteMode(i % 8, {8}, {8L * w()}) + kk % (8 * w()) +
             (i / 8 + atomsMn * (kk / (8 * w()))) * atom;
    }
    // Atom (8W, 8):(1, 8W).
    int atomsMn = mn / (8 * w());
    return i % (8 * w()) + (kk % 8) * 8L * w() +
           (i / (8 * w()) + atomsMn * (kk / 8)) * atom;
  }
  unsigned byteAddress(int i, int kk) const {
    return cuteSwizzle(base + 2 * static_cast<unsigned>(elementOffset(i, kk)),
                       swizzleBits);
  }
  /// Descriptor fields for the k16 step starting at column `k0`, derived
  /// from the tiling as CuTe's make_gmma_desc does (stride_01 / stride_11).
  WgmmaDescriptorFields descriptor(int k0) const {
    WgmmaSwizzle swizzle = swizzleBits == 3   ? WgmmaSwizzle::B128
                           : swizzleBits == 2 ? WgmmaSwizzle::B64
                           : swizzleBits == 1 ? WgmmaSwizzle::B32
                                              : WgmmaSwizzle::None;
    unsigned start = base + 2 * static_cast<unsigned>(elementOffset(0, k0));
    unsigned mnBlock, kBlock; // bytes between 8-row (K) or atom (MN) groups
    if (major == WgmmaMajor::K) {
      mnBlock = 2 * static_cast<unsigned>(elementOffset(8, 0));
      kBlock = swizzleBits ? 0 : 2 * static_cast<unsigned>(elementOffset(0, 8));
      return {start, kBlock, mnBlock, swizzle};
    }
    mnBlock =
        mn > 8 * w() ? 2 * static_cast<unsigned>(elementOffset(8 * w(), 0)) : 0;
    kBlock = 2 * static_cast<unsigned>(elementOffset(0, 8));
    if (!swizzleBits)
      return {start, kBlock, mnBlock, swizzle}; // LBO = k, SBO = mn
    return {start, mnBlock, kBlock, swizzle};   // LBO = mn, SBO = k
  }
  unsigned bytes() const { return 2u * static_cast<unsigned>(mn * k); }
};

//===----------------------------------------------------------------------===//
// The PTX ISA's figures, as data
//===----------------------------------------------------------------------===//

struct FragmentEntry {
  int thread, reg, row, col;
};
// "WGMMA .m64nNk16 register fragment layout for accumulator matrix D":
// T0 holds d0,d1 at (0,0),(0,1), d2,d3 at (8,0),(8,1), d4.. at columns 8-9;
// T1 the next two columns; T4 row 1; T32 (warp 1) rows 16 and 24.
const FragmentEntry kPtxAccumulator[] = {
    {0, 0, 0, 0},   {0, 1, 0, 1},     {0, 2, 8, 0},   {0, 3, 8, 1},
    {0, 4, 0, 8},   {0, 5, 0, 9},     {0, 6, 8, 8},   {0, 7, 8, 9},
    {1, 0, 0, 2},   {1, 1, 0, 3},     {3, 0, 0, 6},   {3, 3, 8, 7},
    {4, 0, 1, 0},   {31, 3, 15, 7},   {32, 0, 16, 0}, {33, 2, 24, 2},
    {64, 1, 32, 1}, {127, 7, 63, 15}, {5, 13, 1, 27}, {96, 14, 56, 24}};
// "WGMMA .m64nNk16 register fragment layout for matrix A" (f16/bf16): a0 =
// rows g, k 2t..2t+1; a1 row g+8; a2 k 2t+8..; a3 both; (thread, reg, half).
const FragmentEntry kPtxAFragment[] = {
    {0, 0, 0, 0}, {0, 1, 8, 0},  {0, 2, 0, 8},   {0, 3, 8, 8},    {1, 0, 0, 2},
    {4, 0, 1, 0}, {7, 3, 9, 14}, {32, 0, 16, 0}, {127, 3, 63, 14}};
// The 128-byte swizzle ("Swizzling modes" figure): the 16-byte chunk c of
// 128-byte row r of a 1024-byte atom is stored at chunk kSwizzle128[r][c].
const int kSwizzle128[8][8] = {
    {0, 1, 2, 3, 4, 5, 6, 7}, {1, 0, 3, 2, 5, 4, 7, 6},
    {2, 3, 0, 1, 6, 7, 4, 5}, {3, 2, 1, 0, 7, 6, 5, 4},
    {4, 5, 6, 7, 0, 1, 2, 3}, {5, 4, 7, 6, 1, 0, 3, 2},
    {6, 7, 4, 5, 2, 3, 0, 1}, {7, 6, 5, 4, 3, 2, 1, 0}};

TEST(WgmmaLayoutTest, AccumulatorMatchesPtxAndCute) {
  for (const FragmentEntry &e : kPtxAccumulator) {
    EXPECT_EQ(wgmma_accumulator_row(e.thread, e.reg), unsigned(e.row))
        << "thread " << e.thread << " d" << e.reg;
    EXPECT_EQ(wgmma_accumulator_col(e.thread, e.reg), unsigned(e.col))
        << "thread " << e.thread << " d" << e.reg;
  }
  for (int n : {8, 16, 64, 256})
    for (int thread = 0; thread < 128; ++thread)
      for (int i = 0; i < n / 2; ++i) {
        long index = cuteAccumulator(n, thread, i);
        ASSERT_EQ(wgmma_accumulator_row(thread, i), index % 64);
        ASSERT_EQ(wgmma_accumulator_col(thread, i), index / 64);
      }
}

TEST(WgmmaLayoutTest, AFragmentMatchesPtxAndCute) {
  for (const FragmentEntry &e : kPtxAFragment) {
    EXPECT_EQ(wgmma_a_row(e.thread, e.reg, 0), unsigned(e.row));
    EXPECT_EQ(wgmma_a_col(e.thread, e.reg, 0), unsigned(e.col));
    EXPECT_EQ(wgmma_a_col(e.thread, e.reg, 1), unsigned(e.col + 1));
  }
  for (int thread = 0; thread < 128; ++thread)
    for (int reg = 0; reg < 4; ++reg)
      for (int half = 0; half < 2; ++half) {
        long index = cuteAFragment(thread, 2 * reg + half);
        ASSERT_EQ(wgmma_a_row(thread, reg, half), index % 64);
        ASSERT_EQ(wgmma_a_col(thread, reg, half), index / 64);
      }
}

TEST(WgmmaLayoutTest, SwizzleMatchesPtxAndCute) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c)
      for (int byte = 0; byte < 16; byte += 2) {
        unsigned address = 128u * r + 16u * c + byte;
        EXPECT_EQ(wgmma_swizzle_address(address, WgmmaSwizzle::B128),
                  128u * r + 16u * kSwizzle128[r][c] + byte);
      }
  const WgmmaSwizzle kinds[] = {WgmmaSwizzle::None, WgmmaSwizzle::B32,
                                WgmmaSwizzle::B64, WgmmaSwizzle::B128};
  for (int bits = 0; bits < 4; ++bits)
    for (unsigned address = 0; address < 8192; ++address)
      ASSERT_EQ(wgmma_swizzle_address(address, kinds[bits]),
                cuteSwizzle(address, bits));
}

/// Every canonical layout wgmma takes, as CuTe builds it.
std::vector<CuteOperand> cuteOperands(int mn, int k) {
  std::vector<CuteOperand> out;
  for (WgmmaMajor major : {WgmmaMajor::K, WgmmaMajor::MN})
    for (int bits = 0; bits < 4; ++bits) {
      CuteOperand op{major, bits, mn, k, 2048};
      int atomMn = major == WgmmaMajor::K ? 8 : 8 * op.w();
      int atomK = major == WgmmaMajor::K ? 8 * op.w() : 8;
      if (mn % atomMn == 0 && k % atomK == 0)
        out.push_back(op);
    }
  return out;
}

std::string describe(const CuteOperand &op) {
  return std::string(op.major == WgmmaMajor::K ? "K" : "MN") + "-major " +
         (op.swizzleBits ? "SW" + std::to_string(16 << op.swizzleBits)
                         : std::string("INTER")) +
         " " + std::to_string(op.mn) + "x" + std::to_string(op.k);
}

// The descriptor decoding (wgmma_operand_address) puts every element where
// CuTe's layout does, for each k16 step of a longer K (the start address
// advanced as CuTe's DescriptorIterator advances it).
TEST(WgmmaLayoutTest, DescriptorAddressesMatchCuteAtoms) {
  int checked = 0;
  for (int mn : {64, 128})
    for (const CuteOperand &op : cuteOperands(mn, 64)) {
      for (int k0 = 0; k0 < op.k; k0 += 16) {
        uint64_t desc = wgmma_encode_descriptor(op.descriptor(k0));
        for (int i = 0; i < op.mn; ++i)
          for (int kk = 0; kk < 16; ++kk)
            ASSERT_EQ(wgmma_operand_address(desc, op.major, i, kk),
                      op.byteAddress(i, k0 + kk))
                << describe(op) << " element (" << i << ", " << k0 + kk << ")";
      }
      ++checked;
    }
  EXPECT_EQ(checked, 16); // both majors, four swizzles, two sizes
}

/// The emitter's swizzled K/V stages (staged_offset, attn.shared_buffer's
/// `swizzle`) against the descriptors it prints for them (MmaEmitter.cpp's
/// emitWgmmaContract): K read K-major (its rows are the output columns, a
/// k16 step moves within a column block, blocks rows x width apart), V
/// MN-major (its rows are the reduced keys, the output columns' blocks LBO
/// apart); every element of a 64 x 128 stage, every k16 step.
template <int Swizzle> int checkStagedOperands() {
  constexpr int rows = 64, cols = 128, width = Swizzle / 2;
  constexpr int blockElems = rows * width;
  int checked = 0;
  auto staged = [](int r, int c) {
    return 2u *
           static_cast<unsigned>(staged_offset<f16, rows, cols, Swizzle>(r, c));
  };
  WgmmaSwizzle s = Swizzle == 128  ? WgmmaSwizzle::B128
                   : Swizzle == 64 ? WgmmaSwizzle::B64
                                   : WgmmaSwizzle::B32;
  for (int kk = 0; kk < cols / 16; ++kk) {
    unsigned start = 2u * ((16 * kk) % width + (16 * kk) / width * blockElems);
    // Encoded once, stepped by the k-step's offset (as the emitter does).
    uint64_t k = wgmma_descriptor_advance(
        wgmma_encode_descriptor({0, 16, 8 * Swizzle, s}), start);
    EXPECT_EQ(k, wgmma_encode_descriptor({start, 16, 8 * Swizzle, s}));
    for (int n = 0; n < rows; ++n)
      for (int e = 0; e < 16; ++e, ++checked)
        EXPECT_EQ(wgmma_operand_address(k, WgmmaMajor::K, n, e),
                  staged(n, 16 * kk + e))
            << Swizzle << "-byte K, key " << n << ", column " << 16 * kk + e;
  }
  for (int kk = 0; kk < rows / 16; ++kk) {
    unsigned start = 2u * (16 * kk * width);
    uint64_t v = wgmma_descriptor_advance(
        wgmma_encode_descriptor({0, 2u * blockElems, 8u * Swizzle, s}), start);
    for (int n = 0; n < cols; ++n)
      for (int e = 0; e < 16; ++e, ++checked)
        EXPECT_EQ(wgmma_operand_address(v, WgmmaMajor::MN, n, e),
                  staged(16 * kk + e, n))
            << Swizzle << "-byte V, key " << 16 * kk + e << ", column " << n;
  }
  return checked;
}

TEST(WgmmaLayoutTest, SwizzledStagesAreWhatTheEmittedDescriptorsRead) {
  EXPECT_EQ(checkStagedOperands<128>() + checkStagedOperands<64>() +
                checkStagedOperands<32>(),
            3 * 2 * 64 * 128);
}

//===----------------------------------------------------------------------===//
// The emulated wgmma against a dense reference
//===----------------------------------------------------------------------===//

struct WgmmaParams {
  const unsigned char *image; // the shared-memory image to copy in
  unsigned imageBytes;
  const WgmmaDescriptorFields *descA, *descB; // one per k16 step (window)
  int steps;
  const uint32_t *aRegs; // rs form: steps x 128 threads x 4, else null
  float *d;              // 128 threads x N/2
};

template <typename T, int N, WgmmaMajor MajorA, WgmmaMajor MajorB>
__global__ void wgmmaKernel(WgmmaParams p) {
  ATTN_DYNAMIC_SHARED(unsigned char, smem);
  for (unsigned i = threadIdx.x; i < p.imageBytes; i += blockDim.x)
    smem[i] = p.image[i];
  __syncthreads();
  WgmmaAccumulator<N> acc;
  wgmma_fence();
  for (int s = 0; s < p.steps; ++s) {
    const WgmmaDescriptorFields &fa = p.descA[s], &fb = p.descB[s];
    uint64_t descB = wgmma_descriptor(smem + fb.start, fb.leadingBytes,
                                      fb.strideBytes, fb.swizzle);
    if (p.aRegs) {
      uint32_t a[4];
      for (int r = 0; r < 4; ++r)
        a[r] = p.aRegs[(s * 128 + threadIdx.x) * 4 + r];
      wgmma_rs<T, N, MajorB>(acc, a, descB, s > 0);
    } else {
      uint64_t descA = wgmma_descriptor(smem + fa.start, fa.leadingBytes,
                                        fa.strideBytes, fa.swizzle);
      wgmma_ss<T, N, MajorA, MajorB>(acc, descA, descB, s > 0);
    }
  }
  wgmma_commit_group();
  wgmma_wait_group<0>(acc);
  for (int i = 0; i < N / 2; ++i)
    p.d[threadIdx.x * (N / 2) + i] = acc[i];
}

/// Planted errors for WgmmaCase.
enum class Plant { None, SwapAccumulatorColumns, UnswizzledB };

struct WgmmaCase {
  bool bf16 = false;
  bool rs = false;
  CuteOperand a, b; // a: 64 x K, b: N x K
  Plant plant = Plant::None;
};

/// Largest |D - A·B| relative to sum |A||B| over the 64 x N tile.
template <typename T, int N, WgmmaMajor MajorA, WgmmaMajor MajorB>
double wgmmaError(const WgmmaCase &c, unsigned seed) {
  const int K = c.a.k;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> magnitude(0.25f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  auto value = [&] {
    float x = negative(rng) ? -magnitude(rng) : magnitude(rng);
    return c.bf16 ? to_float(to_bf16(x)) : to_float(to_f16(x));
  };
  auto bits = [&](float x) {
    uint32_t packed = c.bf16 ? pack_bf16x2(x, 0) : pack_f16x2(x, 0);
    return static_cast<uint16_t>(packed & 0xffff);
  };
  std::vector<float> A(64 * K), B(N * K); // A[m][k], B[n][k]
  for (float &x : A)
    x = value();
  for (float &x : B)
    x = value();

  unsigned imageBytes =
      std::max(c.a.base + c.a.bytes(), c.b.base + c.b.bytes());
  std::vector<unsigned char> image(imageBytes, 0);
  auto place = [&](const CuteOperand &op, const std::vector<float> &m,
                   bool swizzle) {
    for (int i = 0; i < op.mn; ++i)
      for (int kk = 0; kk < op.k; ++kk) {
        unsigned address =
            swizzle
                ? op.byteAddress(i, kk)
                : op.base + 2 * static_cast<unsigned>(op.elementOffset(i, kk));
        uint16_t h = bits(m[i * op.k + kk]);
        if (address + 2 > image.size()) {
          ADD_FAILURE() << "the test's layout does not fit its operand";
          return;
        }
        std::memcpy(&image[address], &h, 2);
      }
  };
  place(c.a, A, true);
  place(c.b, B, c.plant != Plant::UnswizzledB);

  std::vector<WgmmaDescriptorFields> descA, descB;
  std::vector<uint32_t> aRegs;
  for (int k0 = 0; k0 < K; k0 += 16) {
    descA.push_back(c.a.descriptor(k0));
    descB.push_back(c.b.descriptor(k0));
    if (c.rs)
      for (int thread = 0; thread < 128; ++thread)
        for (int r = 0; r < 4; ++r) {
          float half[2];
          for (int h = 0; h < 2; ++h) {
            long index = cuteAFragment(thread, 2 * r + h);
            half[h] = A[(index % 64) * K + k0 + index / 64];
          }
          aRegs.push_back(c.bf16 ? pack_bf16x2(half[0], half[1])
                                 : pack_f16x2(half[0], half[1]));
        }
  }
  std::vector<float> d(128 * N / 2);
  WgmmaParams params{image.data(), imageBytes, descA.data(),
                     descB.data(), K / 16,     c.rs ? aRegs.data() : nullptr,
                     d.data()};
  attn::emu::LaunchConfig config("wgmmaKernel", 1, 128, imageBytes);
  config.memcheck = true;
  attn::emu::LaunchResult result =
      attn::emu::launch(config, wgmmaKernel<T, N, MajorA, MajorB>, params);
  EXPECT_TRUE(result.ok()) << result.message();

  double worst = 0;
  for (int thread = 0; thread < 128; ++thread)
    for (int i = 0; i < N / 2; ++i) {
      int value = i;
      if (c.plant == Plant::SwapAccumulatorColumns)
        value ^= 1;
      long index = cuteAccumulator(N, thread, value);
      long m = index % 64, n = index / 64;
      double ref = 0, scale = 0;
      for (int kk = 0; kk < K; ++kk) {
        double p = static_cast<double>(A[m * K + kk]) * B[n * K + kk];
        ref += p;
        scale += std::abs(p);
      }
      worst = std::max(worst, std::abs(d[thread * (N / 2) + i] - ref) / scale);
    }
  return worst;
}

CuteOperand operand(WgmmaMajor major, int swizzleBits, int mn, int k,
                    unsigned base) {
  return {major, swizzleBits, mn, k, base};
}

constexpr WgmmaMajor kK = WgmmaMajor::K, kMN = WgmmaMajor::MN;

TEST(WgmmaTest, SsEveryCanonicalLayoutMatchesDenseReference) {
  // A 64 x 64 and B 64 x 64 (N = 64), four k16 steps, in every layout.
  for (int bitsA = 0; bitsA < 4; ++bitsA)
    for (int bitsB = 0; bitsB < 4; ++bitsB) {
      WgmmaCase c;
      c.a = operand(kK, bitsA, 64, 64, 0);
      c.b = operand(kMN, bitsB, 64, 64, 8192);
      EXPECT_LT((wgmmaError<f16, 64, kK, kMN>(c, 1 + bitsA * 4 + bitsB)), 1e-6)
          << "A K-major bits " << bitsA << ", B MN-major bits " << bitsB;
      c.a = operand(kMN, bitsA, 64, 64, 0);
      c.b = operand(kK, bitsB, 64, 64, 8192);
      EXPECT_LT((wgmmaError<f16, 64, kMN, kK>(c, 17 + bitsA * 4 + bitsB)), 1e-6)
          << "A MN-major bits " << bitsA << ", B K-major bits " << bitsB;
    }
}

TEST(WgmmaTest, SsBf16AndEveryN) {
  WgmmaCase c;
  c.bf16 = true;
  c.a = operand(kK, 3, 64, 64, 0);
  c.b = operand(kK, 3, 8, 64, 8192);
  EXPECT_LT((wgmmaError<bf16, 8, kK, kK>(c, 3)), 1e-6);
  c.b = operand(kK, 3, 16, 64, 8192);
  EXPECT_LT((wgmmaError<bf16, 16, kK, kK>(c, 4)), 1e-6);
  c.b = operand(kK, 3, 32, 64, 8192);
  EXPECT_LT((wgmmaError<bf16, 32, kK, kK>(c, 5)), 1e-6);
  c.b = operand(kK, 3, 128, 64, 8192);
  EXPECT_LT((wgmmaError<bf16, 128, kK, kK>(c, 6)), 1e-6);
  c.bf16 = false;
  c.b = operand(kMN, 3, 256, 64, 8192);
  EXPECT_LT((wgmmaError<f16, 256, kK, kMN>(c, 7)), 1e-6);
}

TEST(WgmmaTest, RsMatchesDenseReference) {
  WgmmaCase c;
  c.rs = true;
  c.a = operand(kK, 3, 64, 64, 0); // only its values are used (registers)
  c.b = operand(kMN, 3, 128, 64, 8192);
  EXPECT_LT((wgmmaError<f16, 128, kK, kMN>(c, 8)), 1e-6);
  c.bf16 = true;
  c.b = operand(kK, 2, 64, 64, 8192);
  EXPECT_LT((wgmmaError<bf16, 64, kK, kK>(c, 9)), 1e-6);
}

// The comparison above catches a wrong register layout and a wrong
// shared-memory layout: each gives an O(1) error.
TEST(WgmmaTest, PlantedLayoutErrorsAreCaught) {
  WgmmaCase c;
  c.a = operand(kK, 3, 64, 64, 0);
  c.b = operand(kK, 3, 64, 64, 8192);
  c.plant = Plant::SwapAccumulatorColumns;
  EXPECT_GT((wgmmaError<f16, 64, kK, kK>(c, 10)), 0.05);
  c.plant = Plant::UnswizzledB;
  EXPECT_GT((wgmmaError<f16, 64, kK, kK>(c, 11)), 0.05);
}

//===----------------------------------------------------------------------===//
// Asynchrony rules
//===----------------------------------------------------------------------===//

enum class Misuse {
  None,
  ReadBeforeWait,
  NoFence,
  AccessWithoutFence,
  OperandOverwritten,
  NeverWaited,
  WaitKeepsNewestGroup
};

struct MisuseParams {
  Misuse misuse;
  float *out;
  unsigned sharedBytes; ///< the launch's dynamic shared memory
};

__global__ void misuseKernel(MisuseParams p) {
  ATTN_DYNAMIC_SHARED(f16, smem); // A 64x16 at 0, B 16x16 at 2048 bytes
  for (unsigned i = threadIdx.x; i < 64 * 16 + 16 * 16 && i < p.sharedBytes / 2;
       i += blockDim.x)
    smem[i] = to_f16(0.5f);
  __syncthreads();
  // K-major, no swizzle: 8x8 core matrices, SBO = 128 (8 rows), LBO = k.
  uint64_t descA = wgmma_descriptor(smem, 1024, 128, WgmmaSwizzle::None);
  uint64_t descB = wgmma_descriptor(smem + 1024, 256, 128, WgmmaSwizzle::None);
  WgmmaAccumulator<16> acc, other;
  if (p.misuse != Misuse::NoFence)
    wgmma_fence();
  wgmma_ss<f16, 16>(acc, descA, descB, false);
  if (p.misuse == Misuse::ReadBeforeWait)
    p.out[threadIdx.x] = acc[0];
  if (p.misuse == Misuse::OperandOverwritten && threadIdx.x == 0)
    smem[1024] = to_f16(2.0f); // B(0, 0), read by lane 0
  if (p.misuse == Misuse::NeverWaited)
    return;
  wgmma_commit_group();
  if (p.misuse == Misuse::WaitKeepsNewestGroup) {
    wgmma_ss<f16, 16>(other, descA, descB, false);
    wgmma_commit_group();
    wgmma_wait_group<1>(acc);
    p.out[threadIdx.x] = acc[0];    // retired: fine
    p.out[threadIdx.x] += other[0]; // the newest group is still in flight
    wgmma_wait_group<0>(other);
    return;
  }
  wgmma_wait_group<0>(acc);
  if (p.misuse == Misuse::AccessWithoutFence) {
    acc[0] = 1.0f;
    wgmma_ss<f16, 16>(acc, descA, descB, true);
    wgmma_commit_group();
    wgmma_wait_group<0>(acc);
  }
  p.out[threadIdx.x] = acc[0];
}

attn::emu::LaunchResult runMisuse(Misuse misuse, float *out) {
  attn::emu::LaunchConfig config("misuseKernel", 1, 128, 4096);
  return attn::emu::launch(config, misuseKernel,
                           MisuseParams{misuse, out, 4096});
}

void expectError(Misuse misuse, const std::string &text) {
  float out[128];
  attn::emu::LaunchResult result = runMisuse(misuse, out);
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message().find(text), std::string::npos)
      << "expected '" << text << "' in:\n"
      << result.message();
}

TEST(WgmmaAsyncTest, CorrectUseIsClean) {
  float out[128];
  attn::emu::LaunchResult result = runMisuse(Misuse::None, out);
  EXPECT_TRUE(result.ok()) << result.message();
  for (float x : out)
    EXPECT_FLOAT_EQ(x, 16 * 0.25f); // sum over k of 0.5 * 0.5
}

TEST(WgmmaAsyncTest, MisusesAreReported) {
  expectError(Misuse::ReadBeforeWait, "accessed while the wgmma issued at");
  expectError(Misuse::NoFence, "no wgmma_fence precedes the first wgmma");
  expectError(Misuse::AccessWithoutFence,
              "the accumulator was accessed since the last wgmma_fence");
  expectError(Misuse::OperandOverwritten,
              "changed before the wgmma_wait_group that retires it");
  expectError(Misuse::NeverWaited, "never retired by wgmma_wait_group");
  expectError(Misuse::WaitKeepsNewestGroup,
              "accessed while the wgmma issued at");
}

TEST(WgmmaAsyncTest, DescriptorOutsideDynamicSharedIsReported) {
  float out[128];
  attn::emu::LaunchConfig config("misuseKernel", 1, 128, 1024); // B is past it
  attn::emu::LaunchResult result = attn::emu::launch(
      config, misuseKernel, MisuseParams{Misuse::None, out, 1024});
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.message().find("not in dynamic shared memory"),
            std::string::npos)
      << result.message();
}

} // namespace
