//===- RangeScale.cpp - f16 range scaling of tiles packed for an mma ------===//
//
// On the tensor-core path a tile computed in f32 (the weights P of P·V) is
// rounded to the mma's element type. bf16 has f32's exponent range; f16 has
// five exponent bits, so a row whose values all lie below 2^-14 loses
// precision and below 2^-24 vanishes, while its f32 row sum (a deferred
// normalisation) keeps them: the output loses up to all of its value.
//
// Whether a tile can be rounded as it is follows from the IR: a tile computed
// relative to a running maximum of its own input, f(x, m) with m ≥ every x of
// the row and f(m, m) in f16's normal range (exp(x − m): 1), has the row's
// largest weight at f(m, m); what f16 loses below it is negligible next to
// it (FlashAttention's argument). Any other tile — σ(s + bias), softplus(s),
// the raw scores — is range-scaled: packed as x · 2^-e per row with e the
// row's running largest exponent (attn/device/fragment.h). The accumulator
// the contraction adds onto is then held in units of 2^-e (moved along when
// e grows, by exact powers of two) and brought back after the KV loop.
//
//===----------------------------------------------------------------------===//

#include "Contractions.h"
#include "KernelEmitter.h"
#include "attn/Dialect/KernelAttrs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

void KernelEmitter::declareRangeScales(scf::ForOp loop) {
  // One running exponent per accumulator the loop carries: the versions of
  // a tile's computation (interior and edge) accumulate into the same O.
  llvm::SmallDenseMap<unsigned, std::string> byAccumulator;
  loop.walk([&](ContractOp op) {
    if (!isRangeScaled(op))
      return;
    MapOp map = accumulatingMap(op);
    if (!map)
      return; // scaled per tile (emitMmaContract)
    std::optional<unsigned> carried = rangeScaledAccumulator(map, op);
    if (!carried)
      return; // accumulatingMap refused it: scaled per tile
    unsigned k = *carried;
    std::string &e = byAccumulator[k];
    if (e.empty()) {
      e = fresh("rowExp");
      w.line("// Running exponents of the range-scaled weights of each row "
             "(RangeScale.cpp).");
      declareRowExponents(e);
    }
    rangeScales[op] = {e, k};
  });
}

void KernelEmitter::finishRangeScales(scf::ForOp loop) {
  llvm::SmallDenseSet<unsigned> finished;
  loop.walk([&](ContractOp op) {
    auto it = rangeScales.find(op);
    if (it == rangeScales.end())
      return;
    if (finished.insert(it->second.second).second) {
      w.line("// Back from range-scaled units.");
      w.line("#pragma unroll");
      w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
      w.linef("unscale_fragment_rows({}[mt], {}[mt]);",
              tiles[loop.getResult(it->second.second)].var, it->second.first);
      w.close();
    }
    rangeScales.erase(it);
  });
}

std::pair<std::string, std::string>
KernelEmitter::emitRangeScaleUpdate(ContractOp op, const Tile &p,
                                    const Tile &t, bool accumulate) {
  std::string e, scale = fresh("rowScale"), rescale = fresh("rowRescale");
  if (accumulate) {
    e = rangeScales.lookup(op).first;
  } else {
    e = fresh("rowExp");
    declareRowExponents(e);
  }
  w.line("// The weights in f16 range: scaled per row by a power of two.");
  w.linef("float {}[{}][2], {}[{}][2];", scale, mTiles, rescale, mTiles);
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.linef("range_scale_update<{}>({}[mt], {}, mLane, {}[mt], {}[mt], "
          "{}[mt]);",
          p.caps[p.colDim] / 8, p.var, columnsToRead(p), e, scale, rescale);
  if (accumulate)
    w.linef("scale_fragment_rows({}[mt], {}[mt]);", t.var, rescale);
  w.close();
  return {scale, e};
}

void KernelEmitter::declareRowExponents(const std::string &name) {
  w.linef("int {}[{}][2];", name, mTiles);
  w.line("#pragma unroll");
  w.openf("for (int mt = 0; mt < {}; ++mt)", mTiles);
  w.linef("{0}[mt][0] = {0}[mt][1] = kNoExponent;", name);
  w.close();
}

} // namespace attn::codegen::detail
