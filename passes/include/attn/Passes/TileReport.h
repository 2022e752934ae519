//===- TileReport.h - tile counts of an attention for given sizes -*- C++ -*-===//
//
// What a kernel of an attention op does for concrete sizes and a tile shape:
// the KV loop's iterations per Q tile (the tiles of the closed-form key
// ranges, as -attn-fuse bounds the loop), tiles visited, partial and full
// tiles. -attn-report prints these; the static cost model
// (attn/Codegen/CostModel.h) scores a kernel's run with them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_TILEREPORT_H
#define ATTN_PASSES_TILEREPORT_H

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attn {

/// The sizes and tile shape a report is made for.
struct TileReportOptions {
  int64_t nq = 1024;
  /// Key length; negative: nq.
  int64_t nk = -1;
  /// Batch size where the batch dimension is dynamic.
  int64_t batch = 1;
  int64_t blockM = 64, blockN = 64;
  /// Values of the captured integer scalars, in order.
  std::vector<int64_t> captures;
  /// Also record the class of every tile of slice (0, 0).
  bool tileMap = false;

  int64_t keyLength() const { return nk < 0 ? nq : nk; }
};

/// Tile counts of one attention op: for one (batch, head) slice when the
/// mask ignores b and h, else totals over `slices` slices.
struct TileCounts {
  int64_t slices = 1, qTiles = 0, total = 0, visited = 0, partial = 0,
          full = 0, iterations = 0;
  /// The longest KV loop of any Q tile (what one CTA runs at most).
  int64_t maxIterations = 0;
  /// With TileReportOptions::tileMap: one string per Q tile of slice
  /// (0, 0), one character per KV tile: '.' skipped (no attended key), 'F'
  /// full (every key attended), 'P' partial (the mask is evaluated).
  std::vector<std::string> tileMap;
};

/// Counts the tiles of `op` for `options`. Fails with an error on `op` for
/// non-positive tile sizes, or a mask reading the head index of a dynamic
/// head count.
mlir::FailureOr<TileCounts> countTiles(AttentionOp op,
                                       const TileReportOptions &options);

} // namespace attn

#endif // ATTN_PASSES_TILEREPORT_H
