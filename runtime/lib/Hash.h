//===- Hash.h - content digests for cache keys and checksums ----*- C++ -*-===//
//
// xxHash64 (public-domain algorithm by Yann Collet, reimplemented here so the
// runtime needs no hashing library): fast enough that keying the in-memory
// cache by the hash of a variant's whole text costs well under a
// microsecond per kilobyte. Cache keys use 128 bits (two seeds); entry
// checksums use 64.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_HASH_H
#define ATTN_RUNTIME_JIT_HASH_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace attn::jit {

/// xxHash64 of `bytes` with `seed`. (One signature only: a (pointer, size)
/// overload would silently take `xxh64("abc", 0)` as zero bytes.)
uint64_t xxh64(std::string_view bytes, uint64_t seed = 0);

/// A 128-bit digest.
struct Digest {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Digest &o) const { return hi == o.hi && lo == o.lo; }
  bool operator!=(const Digest &o) const { return !(*this == o); }
  bool operator<(const Digest &o) const {
    return hi != o.hi ? hi < o.hi : lo < o.lo;
  }
  /// 32 lowercase hex digits.
  std::string hex() const;
};

/// Builds a digest from fields. Each field is length-prefixed, so ("ab",
/// "c") and ("a", "bc") differ.
class KeyBuilder {
public:
  /// Adds a labelled field (the label makes keys self-describing and keeps
  /// fields of different meaning apart).
  KeyBuilder &add(std::string_view label, std::string_view value);
  /// Adds a labelled integer field.
  KeyBuilder &add(std::string_view label, int64_t value);
  /// The digest of everything added.
  Digest finish() const;

private:
  void field(std::string_view bytes);
  std::string buffer;
};

/// The 128-bit digest of one string.
Digest digestOf(std::string_view text);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_HASH_H
