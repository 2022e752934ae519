//===- CpAsyncTest.cpp - emulated cp.async lands only at its wait ----------===//
//
// A copy must not be visible before the cp_async_wait that covers its group:
// reads before the wait see the 0xFF poison of shared memory, so a kernel
// that forgets the wait fails in the emulator instead of passing by luck.
// Also: zero-fill past the extent, wait_group N semantics, 4/8/16-byte
// copies, and the memcheck of the destination.
//
//===----------------------------------------------------------------------===//

#include "attn/device/attn_device.h"
#include "attn/emu/Emulator.h"

#include <gtest/gtest.h>

#include <vector>

using namespace attn::device;

namespace {

constexpr uint32_t kPoison = 0xffffffffu;

struct CpAsyncParams {
  const uint32_t *src;
  int64_t extent; // elements of src that may be read
  uint32_t *beforeWait, *afterWait; // 128 words each
  uint32_t *groupOne, *groupTwoPending; // after wait<1>, 64 words each
};

__global__ void cpAsyncKernel(CpAsyncParams p) {
  ATTN_SHARED(uint32_t, s, 128);
  ATTN_SHARED(uint32_t, s2, 64);
  ATTN_SHARED(uint32_t, s3, 64);
  unsigned lane = threadIdx.x;
  // One 16-byte copy per lane, possibly partly past the extent.
  cp_async<16>(&s[lane * 4], p.src, lane * 4, p.extent);
  cp_async_commit();
  for (int i = 0; i < 4; ++i)
    st_global(p.beforeWait, lane * 4 + i, 128, s[lane * 4 + i]);
  cp_async_wait<0>();
  for (int i = 0; i < 4; ++i)
    st_global(p.afterWait, lane * 4 + i, 128, s[lane * 4 + i]);

  // Two groups (8-byte and 4-byte copies); wait<1> lands only the older.
  cp_async<8>(&s2[lane * 2], p.src, lane * 2, 128);
  cp_async_commit();
  cp_async<4>(&s3[lane * 2], p.src, 64 + lane * 2, 128);
  cp_async<4>(&s3[lane * 2 + 1], p.src, 64 + lane * 2 + 1, 128);
  cp_async_commit();
  cp_async_wait<1>();
  for (int i = 0; i < 2; ++i) {
    st_global(p.groupOne, lane * 2 + i, 64, s2[lane * 2 + i]);
    st_global(p.groupTwoPending, lane * 2 + i, 64, s3[lane * 2 + i]);
  }
  cp_async_wait<0>();
}

TEST(CpAsyncTest, CopyLandsOnlyAtWaitAndZeroFillsPastExtent) {
  std::vector<uint32_t> src(128);
  for (uint32_t i = 0; i < 128; ++i)
    src[i] = 0x1000 + i;
  std::vector<uint32_t> before(128, 0), after(128, 0), one(64, 0), two(64, 0);
  int64_t extent = 126; // the last lane's copy is half zero-filled
  CpAsyncParams params{src.data(), extent,     before.data(),
                       after.data(), one.data(), two.data()};
  auto result = attn::emu::launch(attn::emu::LaunchConfig("cpAsync", 1, 32),
                                  cpAsyncKernel, params);
  ASSERT_TRUE(result.ok()) << result.message();
  for (uint32_t i = 0; i < 128; ++i) {
    EXPECT_EQ(before[i], kPoison) << "copy visible before its wait, word " << i;
    EXPECT_EQ(after[i], i < extent ? src[i] : 0u) << "word " << i;
  }
  for (uint32_t i = 0; i < 64; ++i) {
    EXPECT_EQ(one[i], src[i]) << "wait<1> did not land the older group";
    EXPECT_EQ(two[i], kPoison) << "wait<1> landed the newest group";
  }
}

__global__ void globalDestinationKernel(uint32_t *dst, const uint32_t *src) {
  cp_async<16>(dst + threadIdx.x * 4, src, threadIdx.x * 4, 128);
  cp_async_commit();
  cp_async_wait<0>();
}

TEST(CpAsyncTest, DestinationOutsideSharedMemoryIsReported) {
  std::vector<uint32_t> src(128, 1), dst(128, 0);
  auto result =
      attn::emu::launch(attn::emu::LaunchConfig("badDst", 1, 32),
                        globalDestinationKernel, dst.data(), src.data());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.message().find("not inside this CTA's shared memory"),
            std::string::npos)
      << result.message();
}

} // namespace
