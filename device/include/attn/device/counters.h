//===- counters.h - Device library: work counters --------------*- C++ -*-===//
//
// Hooks through which generated kernels tell the emulator what work they do,
// so that `attn-run --counters` reports what the kernel actually executed
// rather than what its loop bounds promise. Global bytes are counted inside
// the memory accessors (memory.h); this header counts KV tiles.
//
// Under NVRTC every hook compiles to nothing, so instrumented kernels cost
// nothing on a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_COUNTERS_H
#define ATTN_DEVICE_COUNTERS_H

#include "attn/device/config.h"

namespace attn::device {

/// What a KV tile runs: without mask code (full), with it (partial), or
/// full with a whole block_m x block_n tile and no guards (interior, which
/// the counters also count as full).
enum TileCount : int { kTileFull = 0, kTilePartial = 1, kTileInterior = 2 };

/// Marks the start of one KV tile the CTA processes, of kind `kind`
/// (TileCount). Skipped tiles are not marked.
///
/// Generated code calls it from every thread of the CTA (a CTA-uniform
/// statement at the top of the tile's body); the emulator counts only thread
/// (0,0,0)'s calls, so each CTA-tile is counted once whatever the block size.
/// Thread 0 must therefore reach every call: emit it before any per-thread
/// early exit that thread 0 could take.
#if ATTN_DEVICE_CUDA
ATTN_DEVICE_FN void count_tile(int kind) {}
#else
ATTN_DEVICE_FN void count_tile(int kind) {
  const emu::ThreadState &me = emu::detail::self();
  if (__builtin_expect(me.flags & emu::kCountTiles, 0) && me.linearTid == 0)
    emu::detail::rt().countTile(kind);
}
#endif

} // namespace attn::device

#endif // ATTN_DEVICE_COUNTERS_H
