//===- AttnDialect.cpp - the attn dialect ---------------------------------===//

#include "attn/Dialect/AttnDialect.h"

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
