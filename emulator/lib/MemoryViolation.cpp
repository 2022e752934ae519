//===- MemoryViolation.cpp - Wording of memcheck findings -----------------===//
//
// One place for how a memory violation reads, so that the message in
// LaunchResult::errors and what attn-run prints are the same line.
//
//===----------------------------------------------------------------------===//

#include "attn/emu/Emulator.h"

namespace attn::emu {

namespace {
std::string triple(const uint3 &v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," +
         std::to_string(v.z) + ")";
}
} // namespace

const char *kindName(MemoryViolation::Kind kind) {
  switch (kind) {
  case MemoryViolation::Kind::OutOfBounds:
    return "out-of-bounds";
  case MemoryViolation::Kind::OutsideBuffers:
    return "outside-buffers";
  case MemoryViolation::Kind::ReadOnlyStore:
    return "read-only-store";
  case MemoryViolation::Kind::UninitialisedShared:
    return "uninitialised-shared";
  }
  return "unknown";
}

std::string MemoryViolation::describe() const {
  std::string out = "kernel '" + kernel + "' CTA " + triple(cta) + ": thread " +
                    triple(thread) + ": " + accessor;
  std::string where = file + ":" + std::to_string(line);
  std::string of = buffer.empty() ? "" : " of '" + buffer + "'";
  switch (kind) {
  case Kind::OutOfBounds:
    return out + " out of bounds at " + where + ": index " +
           std::to_string(index) + ", extent " + std::to_string(extent) + of;
  case Kind::OutsideBuffers:
    return out + " outside every buffer of the launch at " + where +
           ": index " + std::to_string(index) + ", extent " +
           std::to_string(extent) +
           (buffer.empty() ? " (the pointer is in no buffer)"
                           : " (the pointer is into '" + buffer + "')");
  case Kind::ReadOnlyStore:
    return out + " stores into read-only buffer '" + buffer + "' at " + where +
           ": index " + std::to_string(index);
  case Kind::UninitialisedShared:
    return out + " reads never-written shared memory at " + where + " (" +
           std::to_string(extent) + " bytes, first poisoned byte " +
           std::to_string(index) + ")";
  }
  return out;
}

} // namespace attn::emu
