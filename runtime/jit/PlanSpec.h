//===- PlanSpec.h - what the MLIR compiler hands the runtime ----*- C++ -*-===//
//
// The device-independent result of compiling a variant: its signature, the
// emitted kernel (source, launch shape) and the layout of the kernel's
// parameter struct. It is all the runtime needs to validate inputs, build an
// artifact and launch, so it is what the disk cache stores per variant: a
// warm process reads it back instead of loading the MLIR compiler at all.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_JIT_PLANSPEC_H
#define ATTN_RUNTIME_JIT_PLANSPEC_H

#include "attn/Plan.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::jit {

/// One 8-byte field of the kernel's parameter struct (mirrors
/// attn::codegen::ParamField).
struct ParamSlot {
  enum class Kind : uint8_t { Pointer, Int64, Float64 };
  std::string name;
  Kind kind = Kind::Int64;
};

/// A compiled variant, before any device artifact exists.
struct PlanSpec {
  Signature signature;
  /// name, source, blockM, threads, dynamicSmemBytes, path, fallbackReason
  /// (arch, artifact and cacheKey are filled per device by the runtime).
  KernelInfo kernel;
  std::vector<ParamSlot> params;
};

/// A self-describing binary encoding of `spec` (little-endian).
std::string serializePlanSpec(const PlanSpec &spec);

/// Decodes serializePlanSpec's output; false on malformed input.
bool deserializePlanSpec(std::string_view bytes, PlanSpec *spec);

} // namespace attn::jit

#endif // ATTN_RUNTIME_JIT_PLANSPEC_H
