//===- NpyTest.cpp - unit tests of .npy reading and writing ---------------===//

#include "attn/Interpreter/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

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

namespace {
/// The message of a failed readNpy of `path`.
std::string readError(llvm::StringRef path) {
  auto value = readNpy(path);
  if (value) {
    ADD_FAILURE() << path.str() << " was read";
    return "";
  }
  return llvm::toString(value.takeError());
}

/// A fresh temporary directory, removed with its contents at the end.
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("npytest", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    return (path + "/" + name).str();
  }
};
} // namespace

// /dev/zero as an input never ends: reading it ran out of memory after
// 25-50 s. Devices, FIFOs and directories are refused before being opened,
// also behind a symbolic link, with the file's name in the message.
TEST(Npy, RefusesFilesThatAreNotRegular) {
  std::string devZero = readError("/dev/zero");
  EXPECT_NE(devZero.find("/dev/zero: is a character device"),
            std::string::npos)
      << devZero;
  EXPECT_NE(devZero.find("not a regular file"), std::string::npos);

  TempDir dir;
  std::string link = dir.file("q.npy");
  ASSERT_FALSE(llvm::sys::fs::create_link("/dev/zero", link));
  std::string viaLink = readError(link);
  EXPECT_NE(viaLink.find(link + ": is a character device (a symbolic link to "
                                "'/dev/zero')"),
            std::string::npos)
      << viaLink;
  EXPECT_FALSE(bool(attn::interp::readNpyHeader(link)));

  std::string fifo = dir.file("k.npy");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string viaFifo = readError(fifo); // must not block on the FIFO
  EXPECT_NE(viaFifo.find(fifo + ": is a FIFO"), std::string::npos) << viaFifo;

  EXPECT_NE(readError(dir.path).find("is a directory"), std::string::npos);
}

// The header's shape is checked against the file's size before any element
// is allocated: a small file declaring 10^12 elements is an error that
// names the file and both figures.
TEST(Npy, ChecksTheDeclaredShapeAgainstTheFileSize) {
  TempPath tmp;
  {
    // A version 1.0 header declaring 10^12 float64 elements, then 24 bytes.
    std::string dict = "{'descr': '<f8', 'fortran_order': False, "
                       "'shape': (1000000, 1000000), }";
    dict.append(64 * 2 - 10 - 1 - dict.size(), ' ');
    dict += '\n';
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp.path, ec);
    os << "\x93NUMPY" << '\x01' << '\x00' << char(dict.size())
       << char(dict.size() >> 8) << dict << std::string(24, '\x01');
  }
  std::string message = readError(tmp.path);
  EXPECT_NE(message.find(tmp.path.str().str() +
                         ": expected 1000000000000 elements (8000000000000 "
                         "bytes) but has 24 data bytes"),
            std::string::npos)
      << message;
  auto header = attn::interp::readNpyHeader(tmp.path);
  ASSERT_FALSE(bool(header));
  llvm::consumeError(header.takeError());
}

TEST(Npy, ReadsTheHeaderAlone) {
  TempPath tmp;
  ASSERT_FALSE(bool(writeNpy(tmp.path, Tensor{{2, 3}, {1, 2, 3, 4, 5, 6}},
                             NpyDType::I4)));
  auto header = attn::interp::readNpyHeader(tmp.path);
  ASSERT_TRUE(bool(header)) << llvm::toString(header.takeError());
  EXPECT_EQ(header->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(header->dtype, NpyDType::I4);
}

namespace {
/// Writes a version 1.0 .npy file with header dict `dict` and raw `data`.
void writeRaw(llvm::StringRef path, std::string dict, llvm::StringRef data) {
  dict.append((10 + dict.size() + 1 + 63) / 64 * 64 - 10 - dict.size() - 1,
              ' ');
  dict += '\n';
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  os << "\x93NUMPY" << '\x01' << '\x00' << char(dict.size())
     << char(dict.size() >> 8) << dict << data;
}
} // namespace

// float16 ('<f2', what numpy writes for np.float16) reads exactly and
// writes rounded to nearest even.
TEST(Npy, ReadsAndWritesFloat16) {
  Tensor v{{5}, {0.5, -2.0, 65504.0, 0.0999755859375, 1.0 / 3.0}};
  NpyDType type;
  Tensor r = roundTrip(v, NpyDType::F2, &type);
  EXPECT_EQ(type, NpyDType::F2);
  EXPECT_EQ(r.data[0], 0.5);
  EXPECT_EQ(r.data[1], -2.0);
  EXPECT_EQ(r.data[2], 65504.0);
  EXPECT_EQ(r.data[3], 0.0999755859375); // an f16 value, kept
  EXPECT_EQ(r.data[4], 0.333251953125);  // 1/3 to the nearest f16
  // The bytes numpy writes for np.array([1.0, -0.5], np.float16).
  TempPath tmp;
  writeRaw(tmp.path, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
           llvm::StringRef("\x00\x3c\x00\xb8", 4));
  auto read = readNpy(tmp.path);
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->data, (std::vector<double>{1.0, -0.5}));
}

// Fortran order (np.asfortranarray, or a transposed view np.save writes as
// is): the elements come column-major and are read into row-major order.
TEST(Npy, ReadsFortranOrder) {
  TempPath tmp;
  // [[1, 2, 3], [4, 5, 6]] as int32, column-major: 1 4 2 5 3 6.
  std::string data;
  for (int32_t x : {1, 4, 2, 5, 3, 6}) {
    char b[4];
    llvm::support::endian::write32le(b, uint32_t(x));
    data.append(b, 4);
  }
  writeRaw(tmp.path,
           "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", data);
  auto read = readNpy(tmp.path);
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(read->data, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // Rank 3, shape (2, 2, 2): element (i, j, k) at i + 2j + 4k.
  data.clear();
  for (int32_t f = 0; f < 8; ++f) {
    int32_t i = f % 2, j = (f / 2) % 2, k = f / 4;
    char b[4];
    llvm::support::endian::write32le(b, uint32_t(100 * i + 10 * j + k));
    data.append(b, 4);
  }
  writeRaw(tmp.path,
           "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2, 2), }",
           data);
  read = readNpy(tmp.path);
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->data,
            (std::vector<double>{0, 1, 10, 11, 100, 101, 110, 111}));
}

// Big-endian and object arrays are refused with what to do instead.
TEST(Npy, RefusesBigEndianAndObjectArrays) {
  TempPath tmp;
  writeRaw(tmp.path, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
           llvm::StringRef("\x3f\x80\x00\x00", 4));
  std::string message = readError(tmp.path);
  EXPECT_NE(message.find("holds big-endian '>f4' elements; convert them with "
                         "a.astype('<f4')"),
            std::string::npos)
      << message;
  writeRaw(tmp.path, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
           "\x80\x02]q\x00.");
  message = readError(tmp.path);
  EXPECT_NE(message.find("holds an object array ('|O', pickled Python "
                         "objects), which is never read"),
            std::string::npos)
      << message;
  writeRaw(tmp.path, "{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }",
           llvm::StringRef("\x01", 1));
  message = readError(tmp.path);
  EXPECT_NE(message.find("unsupported dtype '|b1' (supported: <f2, <f4, <f8, "
                         "<i4, <i8)"),
            std::string::npos)
      << message;
}
