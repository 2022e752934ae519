//===- Npy.cpp - reading and writing NumPy .npy files ---------------------===//
//
// Implements the .npy format (version 1.0 on writing; 1.0, 2.0 and 3.0 on
// reading): the magic "\x93NUMPY", a version, a little-endian header length,
// an ASCII dict header padded with spaces to a multiple of 64 bytes and ending
// in '\n', then the C-order data.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/Npy.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <string>

using namespace attn::interp;
using llvm::StringRef;

static constexpr char kMagic[] = "\x93NUMPY";
static constexpr size_t kMagicSize = 6;

StringRef attn::interp::npyDescr(NpyDType dtype) {
  switch (dtype) {
  case NpyDType::F2:
    return "<f2";
  case NpyDType::F4:
    return "<f4";
  case NpyDType::F8:
    return "<f8";
  case NpyDType::I4:
    return "<i4";
  case NpyDType::I8:
    return "<i8";
  }
  return "<f8";
}

/// Size in bytes of one element of `dtype`.
static size_t elementSize(NpyDType dtype) {
  if (dtype == NpyDType::F2)
    return 2;
  return dtype == NpyDType::F4 || dtype == NpyDType::I4 ? 4 : 8;
}

static llvm::Error makeError(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

/// Number of elements of `shape` (1 for a 0-d array).
static int64_t product(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// The header dict of an array of `shape` and `dtype`, padded and terminated.
static std::string makeHeader(llvm::ArrayRef<int64_t> shape, NpyDType dtype) {
  std::string dims;
  for (auto [i, d] : llvm::enumerate(shape))
    dims += (i ? ", " : "") + std::to_string(d);
  if (shape.size() == 1)
    dims += ",";
  std::string dict = "{'descr': '" + npyDescr(dtype).str() +
                     "', 'fortran_order': False, 'shape': (" + dims + ")";
  dict += ", }";
  // magic (6) + version (2) + length (2) + header, a multiple of 64.
  size_t total = kMagicSize + 4 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  return dict;
}

/// Appends `v` as one element of `dtype`; fails for an integer dtype if `v` is
/// not an integer in range.
static bool appendElement(std::string &out, double v, NpyDType dtype) {
  char bytes[8];
  switch (dtype) {
  case NpyDType::F2: {
    // Rounded to nearest even, as numpy's astype(float16).
    llvm::APFloat half(v);
    bool lost;
    half.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
                 &lost);
    llvm::support::endian::write16le(
        bytes, uint16_t(half.bitcastToAPInt().getZExtValue()));
    out.append(bytes, 2);
    return true;
  }
  case NpyDType::F4:
    llvm::support::endian::write32le(bytes, llvm::bit_cast<uint32_t>(float(v)));
    out.append(bytes, 4);
    return true;
  case NpyDType::F8:
    llvm::support::endian::write64le(bytes, llvm::bit_cast<uint64_t>(v));
    out.append(bytes, 8);
    return true;
  case NpyDType::I4:
    if (!(std::trunc(v) == v && v >= -2147483648.0 && v <= 2147483647.0))
      return false;
    llvm::support::endian::write32le(bytes, uint32_t(int32_t(v)));
    out.append(bytes, 4);
    return true;
  case NpyDType::I8:
    if (!(std::trunc(v) == v && v >= -9223372036854775808.0 &&
          v < 9223372036854775808.0))
      return false;
    llvm::support::endian::write64le(bytes, uint64_t(int64_t(v)));
    out.append(bytes, 8);
    return true;
  }
  return false;
}

llvm::Error attn::interp::writeNpy(StringRef path, const Tensor &value,
                                   NpyDType dtype) {
  if (static_cast<int64_t>(value.data.size()) != product(value.shape))
    return makeError(path, "value has " + llvm::Twine(value.data.size()) +
                               " elements but its shape holds " +
                               llvm::Twine(product(value.shape)));
  std::string out(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  std::string header = makeHeader(value.shape, dtype);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.reserve(out.size() + value.data.size() * elementSize(dtype));
  for (auto [i, v] : llvm::enumerate(value.data))
    if (!appendElement(out, v, dtype))
      return makeError(path,
                       "element " + llvm::Twine(i) + " (" + std::to_string(v) +
                           ") is not representable as " + npyDescr(dtype));
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError(path, "cannot open for writing: " + ec.message());
  os << out;
  os.close();
  if (os.has_error())
    return makeError(path, "write failed: " + os.error().message());
  return llvm::Error::success();
}

/// Extracts the value text of `key` from the header dict (up to the next
/// top-level comma or closing brace; a tuple is returned with parentheses).
static std::optional<StringRef> headerField(StringRef dict, StringRef key) {
  for (StringRef quote : {"'", "\""}) {
    std::string pattern = (quote + key + quote).str();
    size_t pos = dict.find(pattern);
    if (pos == StringRef::npos)
      continue;
    StringRef rest = dict.drop_front(pos + pattern.size()).ltrim();
    if (!rest.consume_front(":"))
      return std::nullopt;
    rest = rest.ltrim();
    if (rest.starts_with("(")) {
      size_t close = rest.find(')');
      if (close == StringRef::npos)
        return std::nullopt;
      return rest.take_front(close + 1);
    }
    size_t end = rest.find_first_of(",}");
    return rest.take_front(end).rtrim();
  }
  return std::nullopt;
}

/// Parses "(2, 3)", "(5,)" or "()".
static std::optional<std::vector<int64_t>> parseShape(StringRef text) {
  if (!text.consume_front("(") || !text.consume_back(")"))
    return std::nullopt;
  std::vector<int64_t> shape;
  llvm::SmallVector<StringRef> parts;
  text.split(parts, ',');
  for (StringRef part : parts) {
    part = part.trim();
    if (part.empty())
      continue;
    int64_t d;
    if (part.getAsInteger(10, d) || d < 0)
      return std::nullopt;
    shape.push_back(d);
  }
  return shape;
}

/// The dtype of a `descr` value (quoted), or why it cannot be read.
static llvm::Expected<NpyDType> parseDescr(StringRef path, StringRef text) {
  text = text.trim();
  if (text.size() < 2 || !(text.front() == '\'' || text.front() == '"'))
    return makeError(path, "unsupported dtype " + text +
                               " (a structured or unparsable descr; "
                               "supported: <f2, <f4, <f8, <i4, <i8)");
  text = text.drop_front().drop_back(); // quotes
  if (text.starts_with("|O") || text.starts_with("O"))
    return makeError(path, "holds an object array ('" + text +
                               "', pickled Python objects), which is never "
                               "read; save a numeric array, e.g. "
                               "np.save(f, a.astype(np.float32))");
  if (text.starts_with(">") && text.size() > 2)
    return makeError(path, "holds big-endian '" + text +
                               "' elements; convert them with a.astype('<" +
                               text.drop_front() + "')");
  StringRef descr = text;
  // '<' is little-endian and '=' native; attn runs on little-endian hosts.
  if (text.starts_with("<") || text.starts_with("="))
    text = text.drop_front();
  if (text == "f2")
    return NpyDType::F2;
  if (text == "f4")
    return NpyDType::F4;
  if (text == "f8")
    return NpyDType::F8;
  if (text == "i4")
    return NpyDType::I4;
  if (text == "i8")
    return NpyDType::I8;
  return makeError(path, "unsupported dtype '" + descr +
                             "' (supported: <f2, <f4, <f8, <i4, <i8)");
}

/// Decodes one element of `dtype` at `p`.
static double readElement(const char *p, NpyDType dtype) {
  using namespace llvm::support::endian;
  switch (dtype) {
  case NpyDType::F2: {
    llvm::APFloat half(llvm::APFloat::IEEEhalf(), llvm::APInt(16, read16le(p)));
    return half.convertToFloat();
  }
  case NpyDType::F4:
    return llvm::bit_cast<float>(read32le(p));
  case NpyDType::F8:
    return llvm::bit_cast<double>(read64le(p));
  case NpyDType::I4:
    return double(int32_t(read32le(p)));
  case NpyDType::I8:
    return double(int64_t(read64le(p)));
  }
  return 0;
}

/// What kind of file `type` is, for messages.
static StringRef fileKind(llvm::sys::fs::file_type type) {
  using llvm::sys::fs::file_type;
  switch (type) {
  case file_type::directory_file:
    return "a directory";
  case file_type::character_file:
    return "a character device";
  case file_type::block_file:
    return "a block device";
  case file_type::fifo_file:
    return "a FIFO";
  case file_type::socket_file:
    return "a socket";
  default:
    return "not a regular file";
  }
}

/// Maps `path` after checking that it is a regular file (symbolic links
/// followed): a device such as /dev/zero, a FIFO or a directory is refused
/// before it is opened, since reading one would never end or block. The
/// opened file is checked again, so that a file swapped in between is
/// refused too.
static llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapRegularFile(StringRef path) {
  namespace fs = llvm::sys::fs;
  fs::file_status status;
  if (std::error_code ec = fs::status(path, status, /*Follow=*/true))
    return makeError(path, "cannot read: " + ec.message());
  auto refuse = [&](fs::file_type type) {
    std::string target;
    fs::file_status link;
    llvm::SmallString<256> real;
    if (!fs::status(path, link, /*Follow=*/false) &&
        link.type() == fs::file_type::symlink_file &&
        !fs::real_path(path, real))
      target = " (a symbolic link to '" + std::string(real) + "')";
    return makeError(path, "is " + fileKind(type) + target +
                               ", not a regular file; a .npy input must be "
                               "a regular file");
  };
  if (status.type() != fs::file_type::regular_file)
    return refuse(status.type());
  auto fd = fs::openNativeFileForRead(path);
  if (!fd)
    return makeError(path, "cannot read: " + llvm::toString(fd.takeError()));
  fs::file_status opened;
  std::error_code ec = fs::status(*fd, opened);
  if (!ec && opened.type() != fs::file_type::regular_file) {
    fs::closeFile(*fd);
    return refuse(opened.type());
  }
  auto buffer =
      ec ? llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>>(ec)
         : llvm::MemoryBuffer::getOpenFile(*fd, path, opened.getSize(),
                                           /*RequiresNullTerminator=*/false);
  fs::closeFile(*fd);
  if (!buffer)
    return makeError(path, "cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

namespace {
/// A mapped .npy file whose header has been checked against its size.
struct NpyFile {
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  NpyHeader header;
  StringRef data;
  /// The elements are in Fortran (column-major) order.
  bool fortranOrder = false;
};
} // namespace

/// Maps and parses `path`, checking the shape the header declares against
/// the bytes the file holds before anything is allocated for its elements.
static llvm::Expected<NpyFile> openNpy(StringRef path) {
  auto mapped = mapRegularFile(path);
  if (!mapped)
    return mapped.takeError();
  NpyFile file;
  file.buffer = std::move(*mapped);
  StringRef bytes = file.buffer->getBuffer();
  if (bytes.size() < kMagicSize + 4 ||
      !bytes.starts_with(StringRef(kMagic, kMagicSize)))
    return makeError(path, "not a .npy file (bad magic)");
  unsigned major = uint8_t(bytes[kMagicSize]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = llvm::support::endian::read16le(bytes.data() + 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return makeError(path, "truncated header");
    headerLen = llvm::support::endian::read32le(bytes.data() + 8);
    headerStart = 12;
  } else {
    return makeError(path, "unsupported .npy version " + llvm::Twine(major));
  }
  if (bytes.size() < headerStart + headerLen)
    return makeError(path, "truncated header");
  StringRef dict = bytes.substr(headerStart, headerLen);

  auto descrText = headerField(dict, "descr");
  if (!descrText)
    return makeError(path, "the header has no 'descr'");
  llvm::Expected<NpyDType> type = parseDescr(path, *descrText);
  if (!type)
    return type.takeError();
  auto fortran = headerField(dict, "fortran_order");
  if (!fortran || (*fortran != "False" && *fortran != "True"))
    return makeError(path, "the header's 'fortran_order' is not True or "
                           "False");
  file.fortranOrder = *fortran == "True";
  auto shapeText = headerField(dict, "shape");
  std::optional<std::vector<int64_t>> shape =
      shapeText ? parseShape(*shapeText) : std::nullopt;
  if (!shape)
    return makeError(path, "cannot parse the shape in the header");

  // Checked before anything is allocated for the elements: a header
  // declaring more data than the file holds is an error, not an allocation.
  int64_t count = 1, bytesDeclared = 0;
  size_t size = elementSize(*type);
  StringRef data = bytes.drop_front(headerStart + headerLen);
  bool overflow = false;
  for (int64_t d : *shape)
    overflow |= llvm::MulOverflow(count, d, count);
  overflow |= llvm::MulOverflow(count, int64_t(size), bytesDeclared);
  if (overflow)
    return makeError(path, "the header declares shape " + shapeText->str() +
                               " of " + npyDescr(*type) +
                               ", more bytes than 64 bits count, but the "
                               "file holds " +
                               llvm::Twine(data.size()) + " data bytes");
  if (data.size() != uint64_t(bytesDeclared))
    return makeError(path, "expected " + llvm::Twine(count) + " elements (" +
                               llvm::Twine(bytesDeclared) + " bytes) but has " +
                               llvm::Twine(data.size()) + " data bytes");
  file.header = {*shape, *type};
  file.data = data;
  return file;
}

llvm::Expected<NpyHeader> attn::interp::readNpyHeader(StringRef path) {
  auto file = openNpy(path);
  if (!file)
    return file.takeError();
  return file->header;
}

llvm::Expected<Tensor> attn::interp::readNpy(StringRef path, NpyDType *dtype) {
  auto file = openNpy(path);
  if (!file)
    return file.takeError();
  const NpyHeader &header = file->header;
  size_t size = elementSize(header.dtype);
  Tensor value;
  value.shape = header.shape;
  value.data.resize(file->data.size() / size);
  if (!file->fortranOrder) {
    for (size_t i = 0; i < value.data.size(); ++i)
      value.data[i] = readElement(file->data.data() + i * size, header.dtype);
  } else {
    // Column-major: element (i0, ..., in) lies at i0 + n0·(i1 + n1·(...)).
    // Walk the file in its order and place each element at its row-major
    // position.
    size_t rank = header.shape.size();
    std::vector<int64_t> index(rank, 0), rowStride(rank, 1);
    for (size_t d = rank; d-- > 1;)
      rowStride[d - 1] = rowStride[d] * header.shape[d];
    for (size_t f = 0; f < value.data.size(); ++f) {
      int64_t row = 0;
      for (size_t d = 0; d < rank; ++d)
        row += index[d] * rowStride[d];
      value.data[row] = readElement(file->data.data() + f * size, header.dtype);
      for (size_t d = 0; d < rank && ++index[d] == header.shape[d]; ++d)
        index[d] = 0;
    }
  }
  if (dtype)
    *dtype = header.dtype;
  return value;
}
