//===- RaceWire.h - Launch files between attn and attn-race ---*- C++ -*-===//
//
// Race checking runs a kernel in a separate, ThreadSanitizer-linked process
// (a TSan runtime cannot be dlopen'ed into an ordinary one). This header is
// the file format both sides share: the host writes the launch (shape,
// parameter blob, the bytes of every global buffer and where the blob holds
// pointers into them); the runner writes back the buffers and its errors.
// Plain little-endian binary: both ends are this project on one machine.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMULATOR_RACE_RACEWIRE_H
#define ATTN_EMULATOR_RACE_RACEWIRE_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace attn::emu::race {

/// Bumped whenever the layout below changes.
inline constexpr std::uint32_t kWireVersion = 1;

/// One global buffer: its bytes before (launch file) or after (result file)
/// the launch.
struct WireBuffer {
  std::string name;
  std::vector<unsigned char> bytes;
};

/// The parameter blob holds, at `paramOffset`, a pointer `offset` bytes into
/// buffer `buffer`; the runner rewrites it to its own copy.
struct WireRelocation {
  std::uint64_t paramOffset;
  std::uint32_t buffer;
  std::uint64_t offset;
};

/// Everything the runner needs for one launch.
struct WireLaunch {
  std::string kernelName;
  std::uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  std::uint64_t dynamicSharedBytes = 0;
  /// CTAs whose threads run at the same time (races between them are only
  /// seen within such a group).
  std::uint32_t concurrentCtas = 1;
  std::vector<unsigned char> params;
  std::vector<WireBuffer> buffers;
  std::vector<WireRelocation> relocations;
};

/// What the runner did: its errors and the buffers afterwards.
struct WireResult {
  std::uint64_t ctasCompleted = 0;
  std::uint64_t errorCount = 0;
  std::vector<std::string> errors;
  std::vector<WireBuffer> buffers;
};

namespace detail {

class Writer {
public:
  explicit Writer(const std::string &path)
      : file(std::fopen(path.c_str(), "wb")) {}
  ~Writer() {
    if (file)
      std::fclose(file);
  }
  bool ok() const { return file && good; }
  void bytes(const void *data, std::size_t size) {
    if (file && size && std::fwrite(data, 1, size, file) != size)
      good = false;
  }
  void u32(std::uint32_t v) { bytes(&v, 4); }
  void u64(std::uint64_t v) { bytes(&v, 8); }
  void blob(const std::vector<unsigned char> &v) {
    u64(v.size());
    bytes(v.data(), v.size());
  }
  void str(const std::string &s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  /// Flushes and closes; false if anything failed.
  bool close() {
    if (!file)
      return false;
    good = std::fclose(file) == 0 && good;
    file = nullptr;
    return good;
  }

private:
  std::FILE *file;
  bool good = true;
};

class Reader {
public:
  explicit Reader(const std::string &path)
      : file(std::fopen(path.c_str(), "rb")) {}
  ~Reader() {
    if (file)
      std::fclose(file);
  }
  bool ok() const { return file && good; }
  void bytes(void *data, std::size_t size) {
    if (!file || !good || (size && std::fread(data, 1, size, file) != size))
      good = false;
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    bytes(&v, 4);
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    bytes(&v, 8);
    return v;
  }
  /// A length read from the file, refused when absurd (a truncated or
  /// foreign file) instead of allocating it.
  std::uint64_t length() {
    std::uint64_t n = u64();
    if (n > (std::uint64_t(1) << 40))
      good = false;
    return good ? n : 0;
  }
  void blob(std::vector<unsigned char> &v) {
    v.resize(length());
    bytes(v.data(), v.size());
  }
  void str(std::string &s) {
    s.resize(length());
    bytes(s.data(), s.size());
  }

private:
  std::FILE *file;
  bool good = true;
};

inline constexpr char kLaunchMagic[8] = {'A', 'T', 'T', 'N',
                                         'R', 'C', 'E', 'L'};
inline constexpr char kResultMagic[8] = {'A', 'T', 'T', 'N',
                                         'R', 'C', 'E', 'R'};

inline bool header(Reader &in, const char (&magic)[8]) {
  char seen[8];
  in.bytes(seen, 8);
  return in.ok() && std::memcmp(seen, magic, 8) == 0 &&
         in.u32() == kWireVersion;
}

inline void writeBuffers(Writer &out, const std::vector<WireBuffer> &buffers) {
  out.u64(buffers.size());
  for (const WireBuffer &b : buffers) {
    out.str(b.name);
    out.blob(b.bytes);
  }
}

inline void readBuffers(Reader &in, std::vector<WireBuffer> &buffers) {
  buffers.resize(in.length());
  for (WireBuffer &b : buffers) {
    in.str(b.name);
    in.blob(b.bytes);
  }
}

} // namespace detail

/// Writes `launch` to `path`; false on an I/O error.
inline bool writeLaunch(const std::string &path, const WireLaunch &launch) {
  detail::Writer out(path);
  out.bytes(detail::kLaunchMagic, 8);
  out.u32(kWireVersion);
  out.str(launch.kernelName);
  for (int i = 0; i < 3; ++i)
    out.u32(launch.grid[i]);
  for (int i = 0; i < 3; ++i)
    out.u32(launch.block[i]);
  out.u64(launch.dynamicSharedBytes);
  out.u32(launch.concurrentCtas);
  out.blob(launch.params);
  detail::writeBuffers(out, launch.buffers);
  out.u64(launch.relocations.size());
  for (const WireRelocation &r : launch.relocations) {
    out.u64(r.paramOffset);
    out.u32(r.buffer);
    out.u64(r.offset);
  }
  return out.close();
}

/// Reads a launch file; false if it is missing, truncated or foreign.
inline bool readLaunch(const std::string &path, WireLaunch &launch) {
  detail::Reader in(path);
  if (!detail::header(in, detail::kLaunchMagic))
    return false;
  in.str(launch.kernelName);
  for (int i = 0; i < 3; ++i)
    launch.grid[i] = in.u32();
  for (int i = 0; i < 3; ++i)
    launch.block[i] = in.u32();
  launch.dynamicSharedBytes = in.u64();
  launch.concurrentCtas = in.u32();
  in.blob(launch.params);
  detail::readBuffers(in, launch.buffers);
  launch.relocations.resize(in.length());
  for (WireRelocation &r : launch.relocations) {
    r.paramOffset = in.u64();
    r.buffer = in.u32();
    r.offset = in.u64();
  }
  return in.ok();
}

/// Writes the runner's result to `path`; false on an I/O error.
inline bool writeResult(const std::string &path, const WireResult &result) {
  detail::Writer out(path);
  out.bytes(detail::kResultMagic, 8);
  out.u32(kWireVersion);
  out.u64(result.ctasCompleted);
  out.u64(result.errorCount);
  out.u64(result.errors.size());
  for (const std::string &e : result.errors)
    out.str(e);
  detail::writeBuffers(out, result.buffers);
  return out.close();
}

/// Reads a result file; false if it is missing, truncated or foreign.
inline bool readResult(const std::string &path, WireResult &result) {
  detail::Reader in(path);
  if (!detail::header(in, detail::kResultMagic))
    return false;
  result.ctasCompleted = in.u64();
  result.errorCount = in.u64();
  result.errors.resize(in.length());
  for (std::string &e : result.errors)
    in.str(e);
  detail::readBuffers(in, result.buffers);
  return in.ok();
}

} // namespace attn::emu::race

#endif // ATTN_EMULATOR_RACE_RACEWIRE_H
