//===- Footprint.cpp - the host memory the interpreter will use -----------===//
//
// Walks the function as the interpreter would, but with shapes instead of
// values: index values are intervals (constants exact, tensor.dim from the
// shapes, loop induction variables from their bounds, arith through
// interval arithmetic), so that a tile slice `min(64, nk - j)` long counts
// 64 rows. The bytes mirror Interpreter.cpp: an environment holding every
// value (loop bodies' values overwritten per iteration, so counted once),
// copies of loop-carried values (the carried vector, the iteration's
// arguments, the body's results), slice position lists, results returned.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/Footprint.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"
#include "attn/Support/HostMemory.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace attn;
using namespace attn::interp;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
/// A tensor element as the interpreter holds it.
constexpr uint64_t kElementBytes = sizeof(double);
/// What the interpreter's environment spends per value beyond its elements
/// (the map entry, in a table up to twice as large as its entries, and the
/// Tensor's two vectors), and on its own bookkeeping (compiled scalar
/// programs, index lists): measured bounds with room to spare.
constexpr uint64_t kBytesPerValue = 192, kBookkeepingBytes = 256 << 10;

int64_t satAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? kMax : kMin) : r;
}
int64_t satSub(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_sub_overflow(a, b, &r) ? (b < 0 ? kMax : kMin) : r;
}
int64_t satMul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? ((a < 0) != (b < 0) ? kMin : kMax)
                                          : r;
}

/// The values an index or integer may take.
struct Range {
  int64_t lo = kMin, hi = kMax;
  static Range exactly(int64_t v) { return {v, v}; }
  bool bounded() const { return hi != kMax; }
};

Range join(Range a, Range b) {
  return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

/// Upper bounds of a tensor's dimensions.
using Shape = llvm::SmallVector<int64_t, 6>;

uint64_t bytesOf(const Shape &shape) {
  uint64_t n = kElementBytes;
  for (int64_t d : shape)
    n = mulBytes(n, static_cast<uint64_t>(std::max<int64_t>(d, 0)));
  return n;
}

Shape maxShape(const Shape &a, const Shape &b) {
  if (a.size() != b.size())
    return bytesOf(a) >= bytesOf(b) ? a : b;
  Shape out(a);
  for (size_t d = 0; d < out.size(); ++d)
    out[d] = std::max(a[d], b[d]);
  return out;
}

class Walker {
public:
  explicit Walker(int64_t fallbackDim) : fallbackDim(fallbackDim) {}

  /// Walks `block` (its arguments bound already); returns the bytes the
  /// interpreter holds beyond its values while running it, at the worst op.
  uint64_t walkBlock(Block &block);

  /// Records a value of `shape` held in the interpreter's environment.
  void hold(mlir::Value v, Shape shape, Operation *definer);

  uint64_t held = 0;
  /// The largest value held since the innermost loop body began.
  uint64_t largestInBody = 0;
  Footprint result;
  llvm::DenseMap<mlir::Value, Shape> shapes;
  llvm::DenseMap<mlir::Value, Range> ranges;
  /// Values whose shapes are exact, not bounds: the arguments, and what is
  /// computed from exact shapes alone (so tensor.dim of them is a constant,
  /// and a group size Hq / Hkv is exact).
  llvm::DenseSet<mlir::Value> exact;

private:
  Range rangeOf(mlir::Value v) const {
    auto it = ranges.find(v);
    return it == ranges.end() ? Range() : it->second;
  }
  /// The upper bound of a size taken from `v` (clamped to `cap` when known).
  int64_t sizeBound(mlir::Value v, int64_t cap = kMax) const {
    Range r = rangeOf(v);
    int64_t bound = r.bounded() ? std::max<int64_t>(r.hi, 0) : fallbackDim;
    return std::min(bound, cap);
  }
  Shape shapeOf(mlir::Value v) const {
    auto it = shapes.find(v);
    if (it != shapes.end())
      return it->second;
    return typeShape(v.getType(), {});
  }
  /// The type's static dims, dynamic ones from `dynamic` in order (or the
  /// fallback).
  Shape typeShape(Type type, ValueRange dynamic) const {
    auto tensor = dyn_cast<RankedTensorType>(type);
    Shape out;
    if (!tensor)
      return out;
    unsigned next = 0;
    for (int64_t d : tensor.getShape())
      out.push_back(!ShapedType::isDynamic(d) ? d
                    : next < dynamic.size()   ? sizeBound(dynamic[next++])
                                              : fallbackDim);
    return out;
  }

  void scalar(Operation &op);
  uint64_t structured(Operation &op);
  Shape einsumShape(Operation &op, EinsumAttr equation, ValueRange inputs);

  int64_t fallbackDim;
};

void Walker::hold(mlir::Value v, Shape shape, Operation *definer) {
  uint64_t bytes = bytesOf(shape);
  held = addBytes(held, bytes);
  largestInBody = std::max(largestInBody, bytes);
  if (bytes > result.largestBytes) {
    result.largestBytes = bytes;
    std::string text;
    llvm::raw_string_ostream os(text);
    if (definer) {
      os << "'" << definer->getName() << "'";
      Location loc = definer->getLoc();
      if (auto file = dyn_cast<FileLineColLoc>(loc))
        os << " at " << file.getFilename().getValue() << ":" << file.getLine()
           << ":" << file.getColumn();
    } else {
      os << "argument " << cast<BlockArgument>(v).getArgNumber();
    }
    os << ", [";
    llvm::interleaveComma(shape, os);
    os << "]";
    result.largest = text;
  }
  shapes[v] = std::move(shape);
}

/// Index and integer results, as intervals.
void Walker::scalar(Operation &op) {
  held = addBytes(held, kBytesPerValue * op.getNumResults());
  if (op.getNumResults() != 1 || !op.getResult(0).getType().isIntOrIndex())
    return;
  mlir::Value r = op.getResult(0);
  auto in = [&](unsigned i) { return rangeOf(op.getOperand(i)); };
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    if (auto i = dyn_cast<IntegerAttr>(c.getValue()))
      ranges[r] = Range::exactly(i.getType().isInteger(1)
                                     ? int64_t(i.getValue().getZExtValue())
                                     : i.getValue().getSExtValue());
  } else if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    Shape s = shapeOf(dim.getSource());
    Range index = in(1);
    if (index.lo == index.hi && index.lo >= 0 &&
        index.lo < static_cast<int64_t>(s.size()))
      ranges[r] = {exact.count(dim.getSource()) ? s[index.lo] : 0,
                   s[index.lo]};
  } else if (isa<arith::AddIOp>(op)) {
    ranges[r] = {satAdd(in(0).lo, in(1).lo), satAdd(in(0).hi, in(1).hi)};
  } else if (isa<arith::SubIOp>(op)) {
    ranges[r] = {satSub(in(0).lo, in(1).hi), satSub(in(0).hi, in(1).lo)};
  } else if (isa<arith::MulIOp>(op)) {
    int64_t c[4] = {satMul(in(0).lo, in(1).lo), satMul(in(0).lo, in(1).hi),
                    satMul(in(0).hi, in(1).lo), satMul(in(0).hi, in(1).hi)};
    ranges[r] = {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
  } else if (isa<arith::MinSIOp, arith::MinUIOp>(op)) {
    ranges[r] = {std::min(in(0).lo, in(1).lo), std::min(in(0).hi, in(1).hi)};
  } else if (isa<arith::MaxSIOp, arith::MaxUIOp>(op)) {
    ranges[r] = {std::max(in(0).lo, in(1).lo), std::max(in(0).hi, in(1).hi)};
  } else if (isa<arith::DivSIOp, arith::DivUIOp, arith::FloorDivSIOp,
                 arith::CeilDivSIOp>(op)) {
    // Non-negative by positive: monotone, rounding up for the ceiling.
    Range a = in(0), b = in(1);
    if (a.lo >= 0 && b.lo > 0)
      ranges[r] = {a.lo / b.hi, a.hi / b.lo + (a.hi % b.lo != 0)};
  } else if (isa<arith::RemSIOp, arith::RemUIOp>(op)) {
    Range a = in(0), b = in(1);
    if (a.lo >= 0 && b.lo > 0 && b.bounded())
      ranges[r] = {0, std::min(a.hi, b.hi - 1)};
  } else if (isa<arith::SelectOp>(op)) {
    ranges[r] = join(in(1), in(2));
  } else if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
                 arith::ExtUIOp>(op)) {
    ranges[r] = in(0);
  } else if (r.getType().isInteger(1)) {
    ranges[r] = {0, 1};
  }
}

Shape Walker::einsumShape(Operation &op, EinsumAttr equation,
                          ValueRange inputs) {
  std::optional<Equation> eq = equation.getValue();
  Type type = op.getResult(0).getType();
  std::map<char, int64_t> letters;
  for (auto [term, input] : llvm::zip(eq->inputs, inputs)) {
    Shape s = shapeOf(input);
    for (auto [d, letter] : llvm::enumerate(term))
      if (d < s.size())
        letters[letter] = std::max(letters[letter], s[d]);
  }
  Shape out = typeShape(type, {});
  auto tensor = cast<RankedTensorType>(type);
  for (auto [d, letter] : llvm::enumerate(eq->output))
    if (d < out.size() && tensor.isDynamicDim(d) && letters.count(letter))
      out[d] = letters[letter];
  return out;
}

/// Ops with tensor results or regions; returns their transient bytes.
uint64_t Walker::structured(Operation &op) {
  if (auto forOp = dyn_cast<scf::ForOp>(op)) {
    Range lb = rangeOf(forOp.getLowerBound()),
          ub = rangeOf(forOp.getUpperBound());
    ranges[forOp.getInductionVar()] = {lb.lo, satSub(ub.hi, 1)};
    uint64_t carried = 0;
    for (auto [arg, init] :
         llvm::zip(forOp.getRegionIterArgs(), forOp.getInitArgs())) {
      hold(arg, shapeOf(init), &op);
      carried = addBytes(carried, bytesOf(shapeOf(init)));
    }
    uint64_t outerLargest = largestInBody;
    largestInBody = 0;
    uint64_t inner = walkBlock(*forOp.getBody());
    uint64_t bodyLargest = largestInBody;
    largestInBody = std::max(outerLargest, bodyLargest);
    auto yield = cast<scf::YieldOp>(forOp.getBody()->getTerminator());
    for (auto [res, init, yielded] :
         llvm::zip(forOp.getResults(), forOp.getInitArgs(),
                   yield.getOperands()))
      hold(res, maxShape(shapeOf(init), shapeOf(yielded)), &op);
    // The carried values, the iteration's arguments and the body's results
    // are copies; a body value overwritten next iteration briefly coexists
    // with its successor.
    return addBytes(addBytes(mulBytes(carried, 3), inner), bodyLargest);
  }
  if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
    uint64_t transient = walkBlock(ifOp.getThenRegion().front());
    llvm::SmallVector<Shape> yields;
    for (mlir::Value v : ifOp.thenYield().getOperands())
      yields.push_back(shapeOf(v));
    if (!ifOp.getElseRegion().empty()) {
      transient = std::max(transient, walkBlock(ifOp.getElseRegion().front()));
      for (auto [i, v] : llvm::enumerate(ifOp.elseYield().getOperands()))
        yields[i] = maxShape(yields[i], shapeOf(v));
    }
    for (auto [res, shape] : llvm::zip(ifOp.getResults(), yields))
      if (isa<RankedTensorType>(res.getType()))
        hold(res, shape, &op);
    return transient;
  }
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    Shape q = shapeOf(attention.getQ()), k = shapeOf(attention.getK()),
          v = shapeOf(attention.getV());
    if (q.size() == 4 && k.size() == 4 && v.size() == 4) {
      hold(attention.getO(), {q[0], q[1], q[2], v[3]}, &op);
      if (attention.getLse())
        hold(attention.getLse(), {q[0], q[1], q[2]}, &op);
      // Scores, weights and the mask of one row.
      return mulBytes(static_cast<uint64_t>(k[2]), 2 * kElementBytes + 1);
    }
  }
  uint64_t transient = 0;
  for (mlir::Value r : op.getResults()) {
    if (!isa<RankedTensorType>(r.getType()))
      continue;
    Shape shape;
    // Exact when every tensor operand's shape is and every size operand is
    // a single value.
    bool isExact = llvm::all_of(op.getOperands(), [&](mlir::Value v) {
      if (isa<RankedTensorType>(v.getType()))
        return exact.count(v) > 0;
      Range range = rangeOf(v);
      return !v.getType().isIndex() || range.lo == range.hi;
    });
    if (isa<tensor::ExtractSliceOp, tensor::InsertSliceOp>(op))
      isExact = false;
    if (auto c = dyn_cast<ContractOp>(op)) {
      shape = einsumShape(op, c.getEquation(), c.getInputs());
    } else if (auto red = dyn_cast<ReduceOp>(op)) {
      shape = einsumShape(op, red.getEquation(), red.getInput());
    } else if (auto m = dyn_cast<MapOp>(op)) {
      shape = einsumShape(op, m.getEquation(), m.getInputs());
    } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      Shape source = shapeOf(slice.getSource());
      for (auto [d, size] : llvm::enumerate(slice.getMixedSizes())) {
        int64_t cap = d < source.size() ? source[d] : kMax;
        if (auto attr = dyn_cast<Attribute>(size))
          shape.push_back(cast<IntegerAttr>(attr).getInt());
        else
          shape.push_back(sizeBound(cast<mlir::Value>(size), cap));
      }
      // The list of element positions the slice copies.
      transient = bytesOf(shape);
    } else if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      shape = shapeOf(insert.getDest());
    } else if (auto cast_ = dyn_cast<tensor::CastOp>(op)) {
      shape = shapeOf(cast_.getSource());
    } else if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      shape = typeShape(r.getType(), empty.getDynamicSizes());
    } else if (auto splat = dyn_cast<tensor::SplatOp>(op)) {
      shape = typeShape(r.getType(), splat.getDynamicSizes());
    } else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      // Sized by its output shape; a dynamic size is at most the source
      // dimension its group splits.
      Shape source = shapeOf(expand.getSrc());
      llvm::SmallVector<int64_t> groupOf(
          cast<RankedTensorType>(r.getType()).getRank(), -1);
      for (auto [d, group] :
           llvm::enumerate(expand.getReassociationIndices()))
        for (int64_t g : group)
          groupOf[g] = static_cast<int64_t>(d);
      for (auto [d, size] : llvm::enumerate(expand.getMixedOutputShape())) {
        int64_t src = groupOf[d];
        int64_t cap = src >= 0 && src < static_cast<int64_t>(source.size())
                          ? source[src]
                          : kMax;
        if (auto attr = dyn_cast<Attribute>(size))
          shape.push_back(cast<IntegerAttr>(attr).getInt());
        else
          shape.push_back(sizeBound(cast<mlir::Value>(size), cap));
      }
    } else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      Shape source = shapeOf(collapse.getSrc());
      for (const auto &group : collapse.getReassociationIndices()) {
        int64_t size = 1;
        for (int64_t g : group)
          size = satMul(size, g < static_cast<int64_t>(source.size())
                                  ? source[g]
                                  : fallbackDim);
        shape.push_back(size);
      }
    } else {
      shape = typeShape(r.getType(), {});
      isExact = false;
    }
    if (isExact)
      exact.insert(r);
    hold(r, std::move(shape), &op);
  }
  return transient;
}

uint64_t Walker::walkBlock(Block &block) {
  uint64_t transient = 0;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      break;
    scalar(op);
    transient = std::max(transient, structured(op));
  }
  return transient;
}

} // namespace

Footprint attn::interp::interpreterFootprint(
    func::FuncOp func, const std::vector<std::vector<int64_t>> &argShapes) {
  int64_t fallback = 1;
  for (const std::vector<int64_t> &shape : argShapes)
    for (int64_t d : shape)
      fallback = std::max(fallback, d);
  Walker walker(fallback);
  if (func.isExternal())
    return walker.result;
  Block &entry = func.getBody().front();
  for (auto [arg, shape] : llvm::zip(entry.getArguments(), argShapes)) {
    if (isa<RankedTensorType>(arg.getType())) {
      walker.hold(arg, Shape(shape.begin(), shape.end()), nullptr);
      walker.exact.insert(arg);
    }
  }
  uint64_t transient = walker.walkBlock(entry);
  // runFunction returns copies of the results while its values still live.
  uint64_t returned = 0;
  for (mlir::Value v : entry.getTerminator()->getOperands()) {
    auto it = walker.shapes.find(v);
    if (it != walker.shapes.end())
      returned = addBytes(returned, bytesOf(it->second));
  }
  walker.result.bytes = addBytes(
      addBytes(addBytes(walker.held, transient), returned),
      kBookkeepingBytes + kBytesPerValue * entry.getNumArguments());
  return walker.result;
}
