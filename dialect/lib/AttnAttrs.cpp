//===- AttnAttrs.cpp - attn enums and attributes --------------------------===//
//
// Custom syntax and verifiers of #attn.normalizer and #attn.gen.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/AttnDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mlir;
using namespace attn;

#include "attn/Dialect/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/AttnAttrs.cpp.inc"

void AttnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attn/Dialect/AttnAttrs.cpp.inc"
      >();
}

/// Parses `kind` as one of the cases of an enum, reporting the valid cases.
template <typename EnumT>
static FailureOr<EnumT>
parseEnumKeyword(AsmParser &parser, llvm::StringRef what,
                 std::optional<EnumT> (*symbolize)(llvm::StringRef),
                 llvm::StringRef valid) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  std::string keyword;
  if (parser.parseKeywordOrString(&keyword))
    return failure();
  std::optional<EnumT> kind = symbolize(keyword);
  if (!kind) {
    parser.emitError(loc) << "unknown " << what << " '" << keyword
                          << "'; expected one of: " << valid;
    return failure();
  }
  return *kind;
}

/// Prints a float as the shortest literal that reads back to the same double
/// ("0.0", "-4.0", "0.125"), not in printFloat's fixed exponent form.
static void printShortFloat(AsmPrinter &printer, FloatAttr value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf),
                                 value.getValueAsDouble());
  std::string text(buf, ec == std::errc() ? end : buf);
  // MLIR float literals need a '.' before any exponent ("1.0e+20").
  if (text.find_first_of(".ni") == std::string::npos)
    text.insert(std::min(text.find_first_of("eE"), text.size()), ".0");
  printer << text;
}

static FloatAttr parseF64(AsmParser &parser) {
  double value;
  if (parser.parseFloat(value))
    return {};
  return FloatAttr::get(Float64Type::get(parser.getContext()), value);
}

//===----------------------------------------------------------------------===//
// NormalizerAttr
//===----------------------------------------------------------------------===//

Attribute NormalizerAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FailureOr<NormalizerKind> kind = parseEnumKeyword<NormalizerKind>(
      parser, "normalizer", symbolizeNormalizerKind,
      "softmax, sigmoid, softplus, none");
  if (failed(kind))
    return {};
  FloatAttr bias;
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("bias") || parser.parseEqual() ||
        !(bias = parseF64(parser)))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), *kind, bias);
}

void NormalizerAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyNormalizerKind(getKind());
  if (getBias()) {
    printer << ", bias = ";
    printShortFloat(printer, getBias());
  }
  printer << ">";
}

LogicalResult
NormalizerAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       NormalizerKind kind, FloatAttr bias) {
  if (bias && kind != NormalizerKind::Sigmoid)
    return emitError() << "normalizer '" << stringifyNormalizerKind(kind)
                       << "' takes no bias (only sigmoid does)";
  // A NaN bias makes every weight NaN and an infinite one every weight 0 or
  // 1: never meant, and caught here like a non-finite scale.
  if (bias && !std::isfinite(bias.getValueAsDouble()))
    return emitError() << "sigmoid 'bias' must be finite, got "
                       << bias.getValueAsDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// GenAttr
//===----------------------------------------------------------------------===//

Attribute GenAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  FailureOr<GenKind> kind = parseEnumKeyword<GenKind>(
      parser, "input generator", symbolizeGenKind,
      "normal, uniform, int_range, segments");
  if (failed(kind))
    return {};
  FloatAttr lo, hi;
  if (succeeded(parser.parseOptionalComma())) {
    if (!(lo = parseF64(parser)) || parser.parseComma() ||
        !(hi = parseF64(parser)))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), *kind, lo, hi);
}

void GenAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyGenKind(getKind());
  if (getLo()) {
    printer << ", ";
    printShortFloat(printer, getLo());
    printer << ", ";
    printShortFloat(printer, getHi());
  }
  printer << ">";
}

LogicalResult GenAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                              GenKind kind, FloatAttr lo, FloatAttr hi) {
  bool hasRange = lo && hi;
  if (kind == GenKind::Normal) {
    if (lo || hi)
      return emitError() << "generator 'normal' takes no range";
    return success();
  }
  if (!hasRange)
    return emitError() << "generator '" << stringifyGenKind(kind)
                       << "' needs a range: #attn.gen<"
                       << stringifyGenKind(kind) << ", lo, hi>";
  double l = lo.getValueAsDouble(), h = hi.getValueAsDouble();
  auto str = [](double d) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%g", d);
    return std::string(buf);
  };
  if (l > h)
    return emitError() << "generator range is empty: lo " << str(l)
                       << " > hi " << str(h);
  if (kind == GenKind::Segments && l < 1)
    return emitError() << "segment lengths must be at least 1, got lo = "
                       << str(l);
  return success();
}

//===----------------------------------------------------------------------===//
// EinsumAttr
//===----------------------------------------------------------------------===//

EinsumAttr EinsumAttr::get(MLIRContext *context, const Equation &equation) {
  SmallVector<StringAttr> inputs;
  for (const std::string &term : equation.inputs)
    inputs.push_back(StringAttr::get(context, term));
  return get(context, inputs, StringAttr::get(context, equation.output));
}

EinsumAttr EinsumAttr::fromText(MLIRContext *context, llvm::StringRef text) {
  std::string error;
  std::optional<Equation> equation = Equation::parse(text, error);
  assert(equation && "a pass built a malformed einsum equation");
  return get(context, *equation);
}

Equation EinsumAttr::getValue() const {
  Equation equation;
  for (StringAttr term : getInputs())
    equation.inputs.push_back(term.str());
  equation.output = getOutput().str();
  return equation;
}

std::string EinsumAttr::str() const { return getValue().str(); }

EinsumAttr EinsumAttr::parseText(AsmParser &parser) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  std::string text;
  if (parser.parseString(&text))
    return {};
  std::string error;
  std::optional<Equation> equation = Equation::parse(text, error);
  if (!equation) {
    parser.emitError(loc) << "malformed equation: " << error;
    return {};
  }
  return get(parser.getContext(), *equation);
}

Attribute EinsumAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  EinsumAttr attr = parseText(parser);
  if (!attr || parser.parseGreater())
    return {};
  return attr;
}

void EinsumAttr::print(AsmPrinter &printer) const {
  printer << "<\"" << str() << "\">";
}

LogicalResult
EinsumAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   ArrayRef<StringAttr> inputs, StringAttr output) {
  std::string error;
  Equation equation;
  for (StringAttr term : inputs)
    equation.inputs.push_back(term ? term.str() : "");
  equation.output = output ? output.str() : "";
  if (!Equation::parse(equation.str(), error))
    return emitError() << "malformed equation: " << error;
  return success();
}

//===----------------------------------------------------------------------===//
// Kernel IR annotations
//===----------------------------------------------------------------------===//

LogicalResult GridAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               StringAttr letter, GridRole) {
  if (!letter || letter.size() != 1 || letter.getValue()[0] < 'a' ||
      letter.getValue()[0] > 'z')
    return emitError() << "a grid dimension is one lower-case index letter, "
                          "got '"
                       << (letter ? letter.getValue() : "") << "'";
  return success();
}

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t blockM, int64_t warps,
                                   int64_t stages, int64_t rowsPerWarp,
                                   KernelPath path, int64_t unroll,
                                   StringRef fallback, bool qStaged,
                                   int64_t colGroups, bool wgmma,
                                   bool pingpong) {
  if (blockM <= 0 || warps < 0 || stages <= 0 ||
      (warps == 0 && path != KernelPath::Auto))
    return emitError() << "block_m, warps and stages must be positive (got "
                       << blockM << ", " << warps << ", " << stages
                       << "; warps may be 0 -- the schedule's choice -- "
                          "until the path is decided)";
  if (unroll <= 0)
    return emitError() << "unroll must be positive (got " << unroll << ")";
  if (path == KernelPath::Mma && rowsPerWarp == 0)
    return emitError() << "a tensor-core schedule needs rows_per_warp";
  if (colGroups < 1)
    return emitError() << "col_groups must be positive (got " << colGroups
                       << ")";
  if (colGroups > 1 && path != KernelPath::Mma)
    return emitError() << "only a tensor-core schedule splits a row group's "
                          "columns over warps (col_groups)";
  if (rowsPerWarp < 0 ||
      (rowsPerWarp > 0 && warps * rowsPerWarp != blockM * colGroups))
    return emitError() << "warps x rows_per_warp must be block_m x "
                          "col_groups: "
                       << warps << " x " << rowsPerWarp << " != " << blockM
                       << " x " << colGroups;
  if (path == KernelPath::Mma && rowsPerWarp % 16 != 0)
    return emitError() << "on tensor cores a warp owns whole m16 row tiles: "
                          "rows_per_warp "
                       << rowsPerWarp << " is not a multiple of 16";
  if (qStaged && path != KernelPath::Mma)
    return emitError() << "only a tensor-core schedule stages the Q tile "
                          "(q_staged)";
  // A warpgroup is four warps of 16 rows each: the wgmma's 64 rows.
  if (wgmma && (path != KernelPath::Mma || rowsPerWarp != 16 ||
                colGroups != 1 || warps % 4 != 0))
    return emitError() << "a wgmma schedule is a tensor-core schedule of "
                          "whole warpgroups: 16 rows per warp, col_groups 1, "
                          "warps a multiple of 4 (got path "
                       << stringifyKernelPath(path) << ", " << warps
                       << " warps x " << rowsPerWarp << " rows, col_groups "
                       << colGroups << ")";
  if (pingpong && (!wgmma || warps != 8))
    return emitError() << "ping-pong takes turns between two warpgroups on "
                          "wgmma (wgmma = true, warps = 8)";
  return success();
}
