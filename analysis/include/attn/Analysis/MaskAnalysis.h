//===- MaskAnalysis.h - compile-time classification of mask tiles -*- C++ -*-===//
//
// Decides, for a tile [i0,i1) x [j0,j1) of the attention matrix and given
// (b, h, nq, nk, captured scalars), whether a mask region attends to every
// element (full: the kernel skips the mask code), to none (empty: the tile is
// skipped) or to some (partial: the mask is evaluated). It reasons on the
// region's index arithmetic, never by evaluating elements: index values are
// tracked as exact affine forms c0 + ci·i + cj·j while the arithmetic stays
// affine (so `i - j <= w` and `j + w >= i` are the same constraint) and as
// sound intervals beyond (floordiv, rem, min/max, select); comparisons of
// affine forms are decided exactly over the tile, and i1 values combine in
// three-valued logic. The answer is sound: "full" and "empty" are proofs;
// "partial" may be conservative.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_ANALYSIS_MASKANALYSIS_H
#define ATTN_ANALYSIS_MASKANALYSIS_H

#include "mlir/IR/Region.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>
#include <string>

namespace attn {

/// What a mask does on one tile.
enum class TileClass { Full, Empty, Partial };

/// Prints "full", "empty" or "partial".
const char *stringifyTileClass(TileClass c);

/// The contents of a captured tensor, row-major, when known (at run time).
struct TensorView {
  llvm::ArrayRef<int64_t> shape;
  llvm::ArrayRef<double> data;
};

/// Concrete values of the mask region's non-tile arguments. A captured
/// scalar left unset is unknown (its uses make tiles partial). A captured
/// integer tensor whose contents are given is summarised per tile: an
/// extraction over the tile's index ranges reads the range [min, max] of the
/// tensor over that box (the run-time block classification: sorted document
/// ids give exact classes); without contents, extractions are unknown.
struct MaskContext {
  int64_t b = 0, h = 0, nq = 0, nk = 0;
  llvm::SmallVector<std::optional<int64_t>> captureScalars;
  llvm::SmallVector<std::optional<TensorView>> captureTensors;
};

/// A half-open tile of query rows [i0, i1) and key columns [j0, j1).
struct Tile {
  int64_t i0, i1, j0, j1;
};

/// The analysis of one mask region (the `mask` region of attn.attention:
/// arguments b, h, i, j, nq, nk, captures…, yielding i1).
class MaskAnalysis {
public:
  explicit MaskAnalysis(mlir::Region &mask);

  /// Classifies `tile` (non-empty, inside [0,nq) x [0,nk)).
  TileClass classify(const MaskContext &context, const Tile &tile) const;

  /// True when the mask reads captured tensors: tiles can then only be
  /// classified at run time, from per-tile summaries of the tensors.
  bool readsCapturedTensors() const { return readsTensors; }

  /// Names the first op the analysis does not model (it is treated as
  /// unknown, which only makes tiles partial); empty if all are modelled.
  const std::string &firstUnmodelledOp() const { return unmodelled; }

private:
  mlir::Region *region;
  bool readsTensors = false;
  std::string unmodelled;
};

} // namespace attn

#endif // ATTN_ANALYSIS_MASKANALYSIS_H
