//===- Hash.cpp - xxHash64 and 128-bit digests ----------------------------===//

#include "Hash.h"

#include <cstring>

using namespace attn::jit;

namespace {
constexpr uint64_t kP1 = 11400714785074694791ULL;
constexpr uint64_t kP2 = 14029467366897019727ULL;
constexpr uint64_t kP3 = 1609587929392839161ULL;
constexpr uint64_t kP4 = 9650029242287828579ULL;
constexpr uint64_t kP5 = 2870177450012600261ULL;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t read64(const unsigned char *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v; // little-endian hosts only (x86-64, aarch64)
}

uint32_t read32(const unsigned char *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

uint64_t round(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = rotl(acc, 31);
  return acc * kP1;
}

uint64_t mergeRound(uint64_t acc, uint64_t value) {
  acc ^= round(0, value);
  return acc * kP1 + kP4;
}
} // namespace

uint64_t attn::jit::xxh64(std::string_view bytes, uint64_t seed) {
  const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  std::size_t size = bytes.size();
  const unsigned char *end = p + size;
  uint64_t h;
  if (size >= 32) {
    uint64_t v1 = seed + kP1 + kP2, v2 = seed + kP2, v3 = seed, v4 = seed - kP1;
    const unsigned char *limit = end - 32;
    do {
      v1 = round(v1, read64(p));
      v2 = round(v2, read64(p + 8));
      v3 = round(v3, read64(p + 16));
      v4 = round(v4, read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint64_t>(size);
  while (p + 8 <= end) {
    h ^= round(0, read64(p));
    h = rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(read32(p)) * kP1;
    h = rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(*p) * kP5;
    h = rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

std::string Digest::hex() const {
  static const char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = digits[(hi >> (4 * i)) & 15];
    out[31 - i] = digits[(lo >> (4 * i)) & 15];
  }
  return out;
}

void KeyBuilder::field(std::string_view bytes) {
  uint64_t length = bytes.size();
  buffer.append(reinterpret_cast<const char *>(&length), sizeof length);
  buffer.append(bytes.data(), bytes.size());
}

KeyBuilder &KeyBuilder::add(std::string_view label, std::string_view value) {
  field(label);
  field(value);
  return *this;
}

KeyBuilder &KeyBuilder::add(std::string_view label, int64_t value) {
  field(label);
  field(std::string_view(reinterpret_cast<const char *>(&value), sizeof value));
  return *this;
}

Digest KeyBuilder::finish() const { return digestOf(buffer); }

Digest attn::jit::digestOf(std::string_view text) {
  // Two independent seeds give 128 bits; collisions of the in-memory and
  // disk keys are then far below any practical concern.
  return Digest{xxh64(text, 0x61747461u), xxh64(text, 0x6e2d6a6974ULL)};
}
