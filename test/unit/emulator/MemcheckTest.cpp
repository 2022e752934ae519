//===- MemcheckTest.cpp - emulator: memory violations are caught ----------===//
//
// Planted memory bugs in small hand-written kernels: an index past the
// accessor's extent (always checked), an extent larger than the tensor (only
// memcheck, which knows the launch's real buffers, sees it), a store into an
// input, and ldmatrix reading shared memory nobody wrote. Each is recorded
// with kernel, CTA, thread, accessor, index, extent and source line; the
// correct twin is clean.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <vector>

using namespace attn::device;
using attn::emu::GlobalBuffer;
using attn::emu::LaunchConfig;
using attn::emu::LaunchResult;
using attn::emu::MemoryViolation;

namespace {

unsigned gCopyLoadLine;

/// out[i] = in[i + shift] for the n elements of `out`; `extent` is what the
/// kernel claims `in` holds.
__global__ void shiftedCopy(const float *in, int64_t extent, int64_t shift,
                            float *out, int64_t n) {
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  gCopyLoadLine = __LINE__ + 1;
  float x = ld_global(in, i + shift, extent);
  st_global(out, i, n, x);
}

LaunchConfig withBuffers(const char *name, unsigned ctas,
                         std::vector<float> &in, std::vector<float> &out) {
  LaunchConfig config(name, ctas, 64);
  config.memcheck = true;
  config.buffers = {{"in", in.data(), in.size() * sizeof(float), false},
                    {"out", out.data(), out.size() * sizeof(float), true}};
  return config;
}

TEST(MemcheckTest, CleanKernelIsClean) {
  std::vector<float> in(200, 1.0f), out(200, 0.0f);
  LaunchResult result =
      attn::emu::launch(withBuffers("copy", 4, in, out), shiftedCopy, in.data(),
                        int64_t{200}, int64_t{0}, out.data(), int64_t{200});
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result.memoryViolationCount, 0u);
  EXPECT_EQ(out[199], 1.0f);
}

TEST(MemcheckTest, IndexPastTheExtentIsRecordedInFull) {
  // Without memcheck too: bounds against the accessor's extent are always
  // checked.
  std::vector<float> in(200, 1.0f), out(200, 0.0f);
  LaunchConfig config("copy", 4, 64);
  config.numWorkers = 1;
  LaunchResult result =
      attn::emu::launch(config, shiftedCopy, in.data(), int64_t{200},
                        int64_t{3}, out.data(), int64_t{200});
  ASSERT_FALSE(result.ok());
  // Elements 197..199 read in[200..202].
  EXPECT_EQ(result.memoryViolationCount, 3u) << result.message();
  ASSERT_EQ(result.memoryViolations.size(), 3u);
  const MemoryViolation &v = result.memoryViolations[0];
  EXPECT_EQ(v.kind, MemoryViolation::Kind::OutOfBounds);
  EXPECT_EQ(v.kernel, "copy");
  EXPECT_EQ(v.cta.x, 3u);
  EXPECT_EQ(v.thread.x, 197u - 192u);
  EXPECT_EQ(v.accessor, "ld_global");
  EXPECT_EQ(v.index, 200);
  EXPECT_EQ(v.extent, 200);
  EXPECT_NE(v.file.find("MemcheckTest.cpp"), std::string::npos) << v.file;
  EXPECT_EQ(v.line, gCopyLoadLine);
  EXPECT_EQ(result.errors[0], v.describe());
  EXPECT_NE(v.describe().find("kernel 'copy' CTA (3,0,0): thread (5,0,0): "
                              "ld_global out of bounds at "),
            std::string::npos)
      << v.describe();
}

TEST(MemcheckTest, ExtentLargerThanTheBufferNeedsMemcheck) {
  // The kernel claims 256 elements; the buffer holds 200.
  std::vector<float> in(256, 1.0f), out(256, 0.0f);
  LaunchConfig config = withBuffers("wideExtent", 4, in, out);
  config.buffers[0].bytes = 200 * sizeof(float);
  config.numWorkers = 1;
  LaunchResult result =
      attn::emu::launch(config, shiftedCopy, in.data(), int64_t{256},
                        int64_t{0}, out.data(), int64_t{256});
  EXPECT_EQ(result.memoryViolationCount, 56u) << result.message();
  ASSERT_FALSE(result.memoryViolations.empty());
  const MemoryViolation &v = result.memoryViolations[0];
  EXPECT_EQ(v.kind, MemoryViolation::Kind::OutsideBuffers);
  EXPECT_EQ(v.index, 200);
  EXPECT_EQ(v.extent, 256);
  EXPECT_EQ(v.buffer, "in");
  EXPECT_EQ(v.line, gCopyLoadLine);

  config.memcheck = false;
  result = attn::emu::launch(config, shiftedCopy, in.data(), int64_t{256},
                             int64_t{0}, out.data(), int64_t{256});
  EXPECT_TRUE(result.ok()) << result.message();
}

TEST(MemcheckTest, StoreIntoAnInputIsReported) {
  std::vector<float> in(64, 1.0f), out(64, 0.0f);
  LaunchConfig config = withBuffers("intoInput", 1, in, out);
  // Reversed roles: the kernel writes into "in", declared read-only.
  LaunchResult result =
      attn::emu::launch(config, shiftedCopy, out.data(), int64_t{64},
                        int64_t{0}, in.data(), int64_t{64});
  EXPECT_EQ(result.memoryViolationCount, 64u) << result.message();
  ASSERT_FALSE(result.memoryViolations.empty());
  EXPECT_EQ(result.memoryViolations[0].kind,
            MemoryViolation::Kind::ReadOnlyStore);
  EXPECT_EQ(result.memoryViolations[0].accessor, "st_global");
  EXPECT_EQ(result.memoryViolations[0].buffer, "in");
}

/// ldmatrix over a 16x8 tile of which the kernel fills only `rowsWritten`
/// rows.
__global__ void partialTile(int rowsWritten, uint32_t *out) {
  ATTN_SHARED(uint16_t, tile, 32 * 8);
  unsigned lane = threadIdx.x;
  if (static_cast<int>(lane) < rowsWritten)
    for (int c = 0; c < 8; ++c)
      tile[lane * 8 + c] = static_cast<uint16_t>(lane * 8 + c);
  __syncwarp();
  uint32_t d[4];
  ldmatrix_x4(d, &tile[lane * 8]);
  st_global(out, lane, 32, d[0]);
}

TEST(MemcheckTest, LdmatrixOfUnwrittenSharedMemory) {
  std::vector<uint32_t> out(32);
  LaunchConfig config("partialTile", 1, 32);
  config.memcheck = true;
  LaunchResult clean = attn::emu::launch(config, partialTile, 32, out.data());
  EXPECT_TRUE(clean.ok()) << clean.message();

  LaunchResult result = attn::emu::launch(config, partialTile, 24, out.data());
  // Lanes 24..31 address rows nobody wrote.
  EXPECT_EQ(result.memoryViolationCount, 8u) << result.message();
  ASSERT_FALSE(result.memoryViolations.empty());
  const MemoryViolation &v = result.memoryViolations[0];
  EXPECT_EQ(v.kind, MemoryViolation::Kind::UninitialisedShared);
  EXPECT_EQ(v.accessor, "ldmatrix_x4");
  EXPECT_GE(v.thread.x, 24u);
  EXPECT_NE(v.file.find("MemcheckTest.cpp"), std::string::npos) << v.file;

  config.memcheck = false; // the poison check is memcheck's
  EXPECT_TRUE(attn::emu::launch(config, partialTile, 24, out.data()).ok());
}

TEST(MemcheckTest, ViolationsAreCountedBeyondTheKeptOnes) {
  std::vector<float> in(64, 1.0f), out(1024, 0.0f);
  LaunchConfig config("many", 16, 64);
  config.maxErrorMessages = 4;
  LaunchResult result =
      attn::emu::launch(config, shiftedCopy, in.data(), int64_t{64}, int64_t{0},
                        out.data(), int64_t{1024});
  EXPECT_EQ(result.memoryViolationCount, 1024u - 64u);
  EXPECT_EQ(result.memoryViolations.size(), 4u);
  EXPECT_NE(result.message().find("more errors"), std::string::npos);
}

} // namespace
