//===- AttnDialect.cpp - the attn dialect ---------------------------------===//

#include "attn/Dialect/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace attn;

#include "attn/Dialect/AttnDialect.cpp.inc"

void AttnDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "attn/Dialect/AttnOps.cpp.inc"
      >();
}

/// The symbols a dynamic capture dimension may be bound to (`attn.dims`).
static bool isDimSymbol(StringRef s) {
  return s == "b" || s == "hq" || s == "hkv" || s == "nq" || s == "nk";
}

/// Checks the argument attributes a variant's function puts on its captures:
/// `attn.gen` (a #attn.gen generator) and `attn.dims` (one entry per
/// dimension: a size symbol b/hq/hkv/nq/nk or an integer).
LogicalResult AttnDialect::verifyRegionArgAttribute(Operation *op,
                                                    unsigned regionIndex,
                                                    unsigned argIndex,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto fail = [&]() {
    return op->emitError() << "argument " << argIndex << ": ";
  };
  if (name == "attn.gen") {
    if (!isa<GenAttr>(attr.getValue()))
      return fail() << "'attn.gen' must be a #attn.gen<...> generator";
    return success();
  }
  if (name == "attn.dims") {
    auto dims = dyn_cast<ArrayAttr>(attr.getValue());
    Type argType = op->getRegion(regionIndex).getArgument(argIndex).getType();
    auto tensorType = dyn_cast<RankedTensorType>(argType);
    if (!dims || !tensorType)
      return fail() << "'attn.dims' must be an array on a ranked tensor "
                       "argument";
    if (static_cast<int64_t>(dims.size()) != tensorType.getRank())
      return fail() << "'attn.dims' has " << dims.size()
                    << " entries but the argument has rank "
                    << tensorType.getRank();
    for (auto [d, entry] : llvm::enumerate(dims)) {
      if (auto sym = dyn_cast<StringAttr>(entry)) {
        if (!isDimSymbol(sym.getValue()))
          return fail() << "'attn.dims' entry " << d << " is '"
                        << sym.getValue()
                        << "'; expected one of b, hq, hkv, nq, nk or an "
                           "integer";
        continue;
      }
      auto size = dyn_cast<IntegerAttr>(entry);
      if (!size)
        return fail() << "'attn.dims' entry " << d
                      << " must be a size symbol or an integer";
      if (size.getValue().isNegative())
        return fail() << "'attn.dims' entry " << d << " is " << size.getInt()
                      << "; a size must not be negative";
      int64_t staticSize = tensorType.getDimSize(d);
      if (!ShapedType::isDynamic(staticSize) && staticSize != size.getInt())
        return fail() << "'attn.dims' entry " << d << " is " << size.getInt()
                      << " but dimension " << d << " of the argument is "
                      << staticSize;
    }
    return success();
  }
  return fail() << "unknown attn argument attribute '" << name
                << "' (known: attn.gen, attn.dims)";
}

/// Checks the kernel IR's annotations (AttnDialect.td's discardableAttrs):
/// each has its attribute kind and sits on the op it is meant for.
LogicalResult AttnDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  auto expect = [&](bool kindOk, StringRef kind, bool placeOk,
                    StringRef place) -> LogicalResult {
    if (!kindOk)
      return op->emitError() << "'" << name << "' must be " << kind;
    if (!placeOk)
      return op->emitError() << "'" << name << "' belongs on " << place;
    return success();
  };
  if (name == getGridAttrHelper().getName())
    return expect(isa<GridAttr>(value), "a #attn.grid<letter, role>",
                  isa<scf::ForOp>(op), "an scf.for (a grid dimension)");
  if (name == getKvLoopAttrHelper().getName())
    return expect(isa<UnitAttr>(value), "a unit attribute", isa<scf::ForOp>(op),
                  "an scf.for (the online rewrite's KV loop)");
  if (name == getTileBranchAttrHelper().getName())
    return expect(isa<TileBranchAttr>(value), "a #attn.tile_branch<kind>",
                  isa<scf::IfOp>(op), "an scf.if");
  if (name == getScheduleAttrHelper().getName())
    return expect(isa<ScheduleAttr>(value), "a #attn.schedule<...>",
                  isa<scf::ForOp>(op) && getGridAttrHelper().isAttrPresent(op),
                  "the outermost grid loop (an scf.for with attn.grid)");
  if (name == getSplitKvPlanAttrHelper().getName())
    return expect(isa<FlatSymbolRefAttr>(value), "a symbol reference",
                  isa<func::FuncOp>(op), "a func.func");
  if (name == getMaskAttrHelper().getName())
    return expect(isa<FlatSymbolRefAttr>(value), "a symbol reference",
                  isa<arith::SelectOp>(op),
                  "the arith.select that applies a mask");
  if (name == getTargetAttrHelper().getName())
    return expect(isa<TargetAttr>(value), "a #attn.target<...>",
                  isa<ModuleOp>(op), "the module");
  if (name == getAccumulateAttrHelper().getName())
    return expect(isa<UnitAttr>(value), "a unit attribute", isa<ContractOp>(op),
                  "an attn.contract (accumulated onto its consumer map)");
  if (name == getRangeScaleAttrHelper().getName())
    return expect(isa<UnitAttr>(value), "a unit attribute", isa<ContractOp>(op),
                  "an attn.contract (its row operand range-scaled)");
  if (name == getKvOffsetAttrHelper().getName())
    return expect(isa<UnitAttr>(value), "a unit attribute",
                  isa<arith::AddIOp>(op) && isa<scf::ForOp>(op->getParentOp()),
                  "an arith.addi in a KV loop's body (its tile's key offset)");
  if (name == getGradientsAttrHelper().getName())
    return expect(isa<DenseI64ArrayAttr>(value), "an array<i64>",
                  isa<func::FuncOp>(op),
                  "a func.func (a backward: its results' arguments)");
  if (name == getLanePartialAttrHelper().getName())
    return expect(isa<UnitAttr>(value), "a unit attribute",
                  isa<ReduceOp>(op) && isa<scf::ForOp, scf::IfOp>(op->getParentOp()),
                  "an attn.reduce in a KV loop (its cross-lane step deferred)");
  if (name == getLanePartialResultsAttrHelper().getName())
    return expect(isa<DenseI64ArrayAttr>(value), "an array<i64>",
                  isa<scf::ForOp>(op),
                  "an scf.for (the KV loop whose results it names)");
  if (name == getSparsityAttrHelper().getName())
    return expect(isa<SparsityKindAttr>(value), "a #attn.sparsity<kind>",
                  isa<AttentionOp>(op), "an attn.attention");
  return op->emitError() << "unknown attn attribute '" << name
                         << "' (known: attn.grid, attn.kv_loop, "
                            "attn.tile_branch, attn.schedule, "
                            "attn.split_kv_plan, attn.mask, attn.sparsity, "
                            "attn.target, attn.accumulate, attn.range_scale, "
                            "attn.kv_offset, attn.gradients, "
                            "attn.lane_partial, attn.lane_partial_results)";
}
