//===- NpyTest.cpp - unit tests of .npy reading and writing ---------------===//

#include "attn/Interpreter/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using attn::interp::NpyDType;
using attn::interp::readNpy;
using attn::interp::Tensor;
using attn::interp::writeNpy;

namespace {

/// A temporary file path that is removed at the end of the test.
struct TempPath {
  llvm::SmallString<128> path;
  TempPath() {
    int fd;
    EXPECT_FALSE(
        llvm::sys::fs::createTemporaryFile("npytest", "npy", fd, path));
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  }
  ~TempPath() { llvm::sys::fs::remove(path); }
};

Tensor roundTrip(const Tensor &value, NpyDType dtype, NpyDType *readType) {
  TempPath tmp;
  llvm::Error err = writeNpy(tmp.path, value, dtype);
  EXPECT_FALSE(err) << llvm::toString(std::move(err));
  auto read = readNpy(tmp.path, readType);
  if (!read) {
    ADD_FAILURE() << llvm::toString(read.takeError());
    return {};
  }
  return *read;
}

} // namespace

TEST(Npy, RoundTripsFloat32) {
  Tensor v{{2, 3}, {1.5, -2.25, 0.1f, 3e-8f, -0.0, 65504.0}};
  NpyDType type;
  Tensor r = roundTrip(v, NpyDType::F4, &type);
  EXPECT_EQ(type, NpyDType::F4);
  EXPECT_EQ(r.shape, v.shape);
  EXPECT_EQ(r.data, v.data);
}

TEST(Npy, RoundTripsFloat64AndInts) {
  Tensor v{{5}, {1.0 / 3, -7, 1e300, 2, 0.5}};
  NpyDType type;
  EXPECT_EQ(roundTrip(v, NpyDType::F8, &type).data, v.data);
  EXPECT_EQ(type, NpyDType::F8);
  Tensor ints{{2, 2}, {0, -1, 123456789012, 7}};
  Tensor r = roundTrip(ints, NpyDType::I8, &type);
  EXPECT_EQ(type, NpyDType::I8);
  EXPECT_EQ(r.shape, ints.shape);
  EXPECT_EQ(r.data, ints.data);
  Tensor small{{3}, {-5, 0, 2147483647}};
  EXPECT_EQ(roundTrip(small, NpyDType::I4, &type).data, small.data);
  EXPECT_EQ(type, NpyDType::I4);
}

TEST(Npy, RoundTripsScalarsAndEmpty) {
  Tensor s = Tensor{{}, {42}};
  Tensor r = roundTrip(s, NpyDType::I8, nullptr);
  EXPECT_TRUE(r.shape.empty());
  EXPECT_EQ(r.data, s.data);
  Tensor empty{{0, 3}, {}};
  r = roundTrip(empty, NpyDType::F4, nullptr);
  EXPECT_EQ(r.shape, empty.shape);
  EXPECT_TRUE(r.data.empty());
}

TEST(Npy, HeaderIsAlignedVersionOne) {
  TempPath tmp;
  ASSERT_FALSE(
      bool(writeNpy(tmp.path, Tensor{{4}, {1, 2, 3, 4}}, NpyDType::F4)));
  auto buf = llvm::MemoryBuffer::getFile(tmp.path);
  ASSERT_TRUE(bool(buf));
  llvm::StringRef bytes = (*buf)->getBuffer();
  ASSERT_GT(bytes.size(), 10u);
  EXPECT_TRUE(bytes.starts_with("\x93NUMPY\x01\x00"));
  size_t headerLen = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
  EXPECT_EQ((10 + headerLen) % 64, 0u);
  EXPECT_EQ(bytes[10 + headerLen - 1], '\n');
  EXPECT_NE(bytes.find("'shape': (4,)"), llvm::StringRef::npos);
  EXPECT_EQ(bytes.size(), 10 + headerLen + 16);
}

TEST(Npy, RejectsNonIntegersForIntegerDTypes) {
  TempPath tmp;
  llvm::Error err = writeNpy(tmp.path, Tensor{{1}, {0.5}}, NpyDType::I8);
  ASSERT_TRUE(bool(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("not representable"),
            std::string::npos);
}

TEST(Npy, ReportsBadFiles) {
  auto missing = readNpy("/nonexistent/dir/x.npy");
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("x.npy"),
            std::string::npos);

  TempPath tmp;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp.path, ec);
    os << "not numpy at all";
  }
  auto garbage = readNpy(tmp.path);
  ASSERT_FALSE(bool(garbage));
  EXPECT_NE(llvm::toString(garbage.takeError()).find("bad magic"),
            std::string::npos);

  // A truncated data section.
  ASSERT_FALSE(bool(
      writeNpy(tmp.path, Tensor{{8}, {1, 2, 3, 4, 5, 6, 7, 8}}, NpyDType::F8)));
  {
    auto buf = llvm::MemoryBuffer::getFile(tmp.path);
    ASSERT_TRUE(bool(buf));
    std::string contents = (*buf)->getBuffer().drop_back(8).str();
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp.path, ec);
    os << contents;
  }
  auto truncated = readNpy(tmp.path);
  ASSERT_FALSE(bool(truncated));
  EXPECT_NE(llvm::toString(truncated.takeError()).find("expected 8 elements"),
            std::string::npos);
}
