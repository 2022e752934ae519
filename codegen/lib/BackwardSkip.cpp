//===- BackwardSkip.cpp - sweeps that leave out masked tiles ----------------===//
//
// The backward emitter's (BackwardEmitter.h) tile skipping: a sweep visits
// only the tiles holding an element its mask admits -- a row sweep the key
// tiles of its rows' key ranges (attn::emitKeySet), a column sweep the row
// tiles of its keys' row ranges (attn::emitQuerySet) -- when every
// reduction it computes provably gains nothing from a removed element
// (attn::whyNotIdentityWhereMasked). The ranges are emitted as MLIR index
// arithmetic into a detached function and printed through the region-op
// registry, as map bodies are.
//
//===----------------------------------------------------------------------===//

#include "BackwardEmitter.h"

#include "attn/Dialect/KernelAttrs.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/Passes/KeyRange.h"
#include "attn/Passes/MaskedIdentity.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace attn;
using namespace attn::codegen;
using namespace attn::codegen::backward;

namespace attn::codegen::backward {

/// The detached function holding a tile's key (row sweeps) or row (column
/// sweeps) ranges of `mask` as index arithmetic, from arguments (batch,
/// head, first, last, nq, nk, the mask's captures...); `set` receives them.
static func::FuncOp buildRanges(func::FuncOp mask, MapOp scores,
                                bool overKeys, Location loc, KeySet &set) {
  unsigned numUser = mask.getNumArguments() - 6;
  SmallVector<Type> argTypes(6, IndexType::get(mask.getContext()));
  for (Value c : scores.getCaptures().slice(2, numUser))
    argTypes.push_back(c.getType());
  OpBuilder b(mask.getContext());
  auto scratch = func::FuncOp::create(loc, "attn_tile_ranges",
                                      b.getFunctionType(argTypes, {}));
  Block *entry = scratch.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  ValueRange a = entry->getArguments();
  set = overKeys ? emitKeySet(b, loc, mask, a[0], a[1], a[2], a[3], a[4],
                              a[5], a.drop_front(6))
                 : emitQuerySet(b, loc, mask, a[0], a[1], a[2], a[3], a[4],
                                a[5], a.drop_front(6));
  return scratch;
}

std::optional<std::string>
Emitter::headIndexOf(MapOp scores, const Env &env) {
  Value s = scores.getResult();
  if (cast<RankedTensorType>(s.getType()).getRank() == 4)
    return tryIndexOf(classOf(s, 1), env);
  // The query head: the composite class q's reshape made of (kv head,
  // group member), linearised by tryIndexOf.
  SmallVector<unsigned> pair{classOf(s, 1), classOf(s, 2)};
  for (auto [c, ps] : llvm::enumerate(parts))
    if (ArrayRef<unsigned>(ps) == ArrayRef<unsigned>(pair))
      return tryIndexOf(c, env);
  return std::nullopt;
}

std::optional<std::string> Emitter::unprintedOp(Block &ranges,
                                                MapOp scores) {
  for (Operation &op : ranges) {
    bool printable;
    if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      // A read of a captured tensor: a function argument.
      auto arg = dyn_cast<BlockArgument>(extract.getTensor());
      Value cap = arg && arg.getOwner() == &ranges && arg.getArgNumber() >= 6
                      ? scores.getCaptures()[arg.getArgNumber() - 4]
                      : Value();
      auto fnArg = dyn_cast_or_null<BlockArgument>(cap);
      printable = fnArg && fnArg.getOwner() == &fn.getBody().front() &&
                  argSlot.count(fnArg.getArgNumber()) &&
                  storageType(extract.getType()) &&
                  regionops::cppType(extract.getType());
    } else {
      const regionops::Rule *rule = regionops::lookup(&op);
      printable = rule && rule->emitCuda && op.getNumResults() == 1 &&
                  regionops::cppType(op.getResult(0).getType());
    }
    if (!printable)
      return op.getName().getStringRef().str();
  }
  return std::nullopt;
}

std::optional<Emitter::TileSkip>
Emitter::findTileSkip(ArrayRef<Sweep *> all, const Sweep &lead,
                      std::string &why) {
  // The masks the cascade applies, in order, each with its first map.
  llvm::MapVector<StringRef, MapOp> masks;
  fn.getBody().front().walk([&](MapOp map) {
    map.getBody().walk([&](arith::SelectOp select) {
      if (FlatSymbolRefAttr f = getMaskFunction(select))
        masks.insert({f.getValue(), map});
    });
  });
  if (masks.empty()) {
    why = "no mask";
    return std::nullopt;
  }
  unsigned rowClass = lead.overKeys ? lead.tiledOut : lead.tiledReduced;
  unsigned keyClass = lead.overKeys ? lead.tiledReduced : lead.tiledOut;
  auto perElement = [&](Value v) {
    if (!isa<RankedTensorType>(v.getType()))
      return false;
    ClassSet cs = classSet(v);
    return cs.count(rowClass) && cs.count(keyClass);
  };
  why.clear();
  for (auto &entry : masks) {
    StringRef name = entry.first;
    MapOp scores = entry.second;
    auto mask = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        fn, StringAttr::get(fn.getContext(), name));
    auto note = [&](const std::string &reason) {
      if (why.empty())
        why = "@" + name.str() + ": " + reason;
    };
    if (!mask || mask.getNumArguments() < 6) {
      note("no mask function");
      continue;
    }
    // The scores' dimensions: (b, h, i, j), or (b, kv head, group, i, j).
    auto type = cast<RankedTensorType>(scores.getType());
    int64_t rank = type.getRank();
    unsigned numUser = mask.getNumArguments() - 6;
    if ((rank != 4 && rank != 5) ||
        scores.getCaptures().size() < 2 + numUser ||
        classOf(scores.getResult(), rank - 2) != rowClass ||
        classOf(scores.getResult(), rank - 1) != keyClass) {
      note("its scores are not indexed (batch, head, row, key)");
      continue;
    }
    // Masks computing the same (the recomputed forward's and the
    // backward's copies) are one.
    llvm::StringMap<bool> same;
    auto isMask = [&](StringRef other) {
      auto [it, inserted] = same.try_emplace(other, other == name);
      if (inserted && !it->second) {
        auto f = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
            fn, StringAttr::get(fn.getContext(), other));
        it->second = f && f.getFunctionType() == mask.getFunctionType() &&
                     OperationEquivalence::isRegionEquivalentTo(
                         &f.getBody(), &mask.getBody(),
                         OperationEquivalence::IgnoreLocations);
      }
      return it->second;
    };
    // The size of a dimension a score element lies in is at least 1.
    ClassSet scoreClasses = classSet(scores.getResult());
    auto isPositive = [&](Value v) {
      auto dim = v.getDefiningOp<tensor::DimOp>();
      std::optional<int64_t> d = dim ? dim.getConstantIndex() : std::nullopt;
      return d && scoreClasses.count(classOf(dim.getSource(), *d));
    };
    std::optional<std::string> failure;
    for (Sweep *s : all)
      if ((failure = whyNotIdentityWhereMasked(s->op, isMask, perElement,
                                               isPositive)))
        break;
    if (failure) {
      note(*failure);
      continue;
    }
    // The ranges need the batch and head fixed per CTA (or per iteration
    // of its loops) and arithmetic the emitter prints.
    Env bound;
    for (unsigned c : lead.outer)
      bound[c] = "_";
    for (unsigned c : lead.loopReduced)
      bound[c] = "_";
    if (!tryIndexOf(classOf(scores.getResult(), 0), bound) ||
        !headIndexOf(scores, bound)) {
      note("its batch or head is not fixed per CTA");
      continue;
    }
    KeySet set;
    func::FuncOp ranges =
        buildRanges(mask, scores, lead.overKeys, lead.op->getLoc(), set);
    std::optional<std::string> op = unprintedOp(ranges.getBody().front(),
                                                scores);
    ranges.erase();
    if (op) {
      note("its tile ranges use '" + *op + "', which is not printed");
      continue;
    }
    return TileSkip{mask, scores};
  }
  return std::nullopt;
}

LogicalResult Emitter::openTileLoop(const std::optional<TileSkip> &skip,
                                    const Sweep &lead, const Env &env,
                                    int64_t br, int64_t rangesOffset,
                                    unsigned &opened) {
  std::string n = sizeExpr(lead.tiledReduced), step = std::to_string(br);
  auto everyTile = [&] {
    code.open("for (long long r0 = 0; r0 < " + n + "; r0 += " + step + ")");
    opened = 1;
    return success();
  };
  if (!skip)
    return everyTile();
  MapOp scores = skip->scores;
  func::FuncOp mask = skip->mask;
  std::optional<std::string> batch =
      tryIndexOf(classOf(scores.getResult(), 0), env);
  std::optional<std::string> head = headIndexOf(scores, env);
  if (!batch || !head)
    return lead.op->emitError("backward kernels: internal error: the "
                              "mask's batch or head is not bound");
  unsigned numUser = mask.getNumArguments() - 6;
  ValueRange userCaps = scores.getCaptures().slice(2, numUser);
  KeySet set;
  func::FuncOp scratch =
      buildRanges(mask, scores, lead.overKeys, lead.op->getLoc(), set);
  Block *entry = &scratch.getBody().front();
  ValueRange a = entry->getArguments();

  // Print it: arguments bound to the CTA's values.
  code.line("// The tiles mask @" + mask.getName().str() + " admits for " +
            (lead.overKeys ? "these rows" : "these keys") +
            ": removed elements add nothing to any reduction here (proven).");
  // Scalars, not arrays: an array indexed by the loop counter would live
  // in local memory (ptxas reports it as a stack frame).
  size_t numParts = set.parts.size();
  auto lo = [](size_t p) { return "tlo" + std::to_string(p); };
  auto hi = [](size_t p) { return "thi" + std::to_string(p); };
  for (size_t p = 0; p < numParts; ++p)
    code.line("long long " + lo(p) + " = 0x7fffffffffffffffLL, " + hi(p) +
              " = -1;");
  code.line("{");
  ++code.depth;
  DenseMap<Value, std::string> local;
  DenseMap<Value, Value> tensorOf;
  local[a[0]] = *batch;
  local[a[1]] = *head;
  local[a[2]] = "o0";
  local[a[3]] = "(o0 + nO - 1)";
  pushScope();
  LogicalResult printed = success();
  for (unsigned k = 0; k < 2 && succeeded(printed); ++k) {
    auto x = evalScalar(scores.getCaptures()[k], env);
    printed = failed(x) ? failure() : success();
    if (succeeded(printed))
      local[a[4 + k]] = *x;
  }
  for (auto [u, c] : llvm::enumerate(userCaps)) {
    if (failed(printed))
      break;
    if (isa<RankedTensorType>(c.getType())) {
      tensorOf[a[6 + u]] = c;
      continue;
    }
    auto x = evalScalar(c, env);
    printed = failed(x) ? failure() : success();
    if (succeeded(printed))
      local[a[6 + u]] = *x;
  }
  popScope();
  for (Operation &op : *entry) {
    if (failed(printed))
      break;
    printed = printScalarOp(op, local, tensorOf);
  }
  if (failed(printed)) {
    scratch.erase();
    return failure();
  }
  // Each range clamped to [0, n - 1], widened to whole tiles (the start
  // of its first and of its last); an empty one stays (max, -1).
  for (auto [p, r] : llvm::enumerate(set.parts)) {
    std::string l = local.lookup(r.lo), h = local.lookup(r.hi);
    std::string cl = fresh("lo"), ch = fresh("hi");
    code.line("const long long " + cl + " = " + l + " < 0 ? 0LL : (long long)" +
              l + ";");
    code.line("const long long " + ch + " = " + h + " > " + n + " - 1 ? " + n +
              " - 1 : (long long)" + h + ";");
    code.open("if (" + cl + " <= " + ch + ")");
    code.line(lo(p) + " = " + cl + " / " + step + " * " + step + ";");
    code.line(hi(p) + " = " + ch + " / " + step + " * " + step + ";");
    code.close();
  }
  code.close();
  scratch.erase();
  if (numParts == 1) {
    code.open("for (long long r0 = tlo0; r0 <= thi0; r0 += " + step + ")");
    opened = 1;
    return success();
  }
  // Several ranges: sorted by start (a compare-and-swap network), then
  // visited in order from the first tile no earlier range covered, so
  // that overlapping ranges visit no tile twice.
  for (size_t x = 0; x + 1 < numParts; ++x)
    for (size_t y = 0; y + 1 < numParts - x; ++y) {
      code.open("if (" + lo(y + 1) + " < " + lo(y) + ")");
      code.line("const long long l = " + lo(y) + ", h = " + hi(y) + ";");
      code.line(lo(y) + " = " + lo(y + 1) + "; " + hi(y) + " = " +
                hi(y + 1) + ";");
      code.line(lo(y + 1) + " = l; " + hi(y + 1) + " = h;");
      code.close();
    }
  // Through shared memory: eight 64-bit values held in registers across
  // the sweep made ptxas spill (NATTEN-2D's four bands).
  code.line("long long *const ranges = reinterpret_cast<long long *>(smem + " +
            std::to_string(rangesOffset) + ");");
  code.line("__syncthreads(); // every thread has read the last ranges");
  code.open("if (tid == 0)");
  for (size_t p = 0; p < numParts; ++p)
    code.line("ranges[" + std::to_string(2 * p) + "] = " + lo(p) +
              "; ranges[" + std::to_string(2 * p + 1) + "] = " + hi(p) + ";");
  code.close();
  code.line("__syncthreads();");
  code.line("long long next = 0;");
  code.open("for (int part = 0; part < " + std::to_string(numParts) +
            "; ++part)");
  code.line("const long long plo = ranges[2 * part];");
  code.line("const long long phi = ranges[2 * part + 1];");
  code.line("const long long from = plo > next ? plo : next;");
  code.line("if (plo <= phi && phi + " + step + " > next) next = phi + " +
            step + ";");
  code.open("for (long long r0 = from; r0 <= phi; r0 += " + step + ")");
  opened = 2;
  return success();
}

} // namespace attn::codegen::backward
