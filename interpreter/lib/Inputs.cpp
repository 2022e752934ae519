//===- Inputs.cpp - seeded test inputs for a variant ----------------------===//
//
// Binds the named sizes (b, hq, hkv, nq, nk) of a variant's function to
// concrete values and draws reproducible inputs: q, k, v standard normal
// (rounded to their element type), captures from their `attn.gen` generator.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/Inputs.h"

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/VariantSignature.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace attn;
using namespace attn::interp;
using llvm::cast;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;
using mlir::func::FuncOp;

namespace {

/// Names of q, k and v, the first three function arguments.
constexpr const char *kQkvNames[] = {"q", "k", "v"};

/// Default sizes when neither a binding nor a static dim fixes them.
constexpr int64_t kDefaultB = 1, kDefaultHeads = 1, kDefaultLength = 128;

/// How many times a draw that came out all zeros is repeated before one
/// element is forced to a non-zero value.
constexpr int kRedraws = 8;

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// A human name of function argument `index`: q, k, v or "argument N".
std::string argName(unsigned index) {
  if (index < 3)
    return std::string("'") + kQkvNames[index] + "'";
  return "argument " + std::to_string(index);
}

/// `x` printed with %g.
std::string str(double x) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%g", x);
  return s;
}

int64_t product(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// The binding of `symbol` in `bindings`.
std::optional<int64_t> bindingOf(const SizeBindings &bindings,
                                 llvm::StringRef symbol) {
  if (symbol == "b")
    return bindings.b;
  if (symbol == "hq")
    return bindings.hq;
  if (symbol == "hkv")
    return bindings.hkv;
  if (symbol == "nq")
    return bindings.nq;
  return bindings.nk;
}

/// Checks that the first three arguments look like q, k, v: rank-4 ranked
/// tensors with static head dims.
llvm::Error checkQkv(FuncOp func) {
  if (func.getNumArguments() < 3)
    return makeError("function '" + func.getSymName() + "' has " +
                     llvm::Twine(func.getNumArguments()) +
                     " arguments; expected q, k, v, then captures");
  for (unsigned i = 0; i < 3; ++i) {
    auto type = dyn_cast<mlir::RankedTensorType>(func.getArgumentTypes()[i]);
    if (!type || type.getRank() != 4)
      return makeError(argName(i) + " must be a rank-4 ranked tensor");
    if (type.isDynamicDim(3))
      return makeError("dimension 3 of " + argName(i) +
                       " (the head dim) must be static");
  }
  return llvm::Error::success();
}

/// Resolves one named size: the binding, else the first static dim of q, k,
/// v that carries it, else `fallback`.
int64_t resolveSize(FuncOp func, const SizeBindings &bindings,
                    llvm::StringRef symbol, int64_t fallback) {
  if (auto bound = bindingOf(bindings, symbol))
    return *bound;
  for (unsigned a = 0; a < 3; ++a) {
    auto type = cast<mlir::RankedTensorType>(func.getArgumentTypes()[a]);
    for (unsigned d = 0; d < 3; ++d)
      if (symbol == kQkvDimSymbols[a][d] && !type.isDynamicDim(d))
        return type.getDimSize(d);
  }
  return fallback;
}

/// Checks the static dims 0..2 of q, k, v against the resolved sizes.
llvm::Error checkStaticDims(FuncOp func, const SizeBindings &bindings,
                            const std::map<std::string, int64_t> &sizes) {
  for (unsigned a = 0; a < 3; ++a) {
    auto type = cast<mlir::RankedTensorType>(func.getArgumentTypes()[a]);
    for (unsigned d = 0; d < 3; ++d) {
      llvm::StringRef symbol = kQkvDimSymbols[a][d];
      int64_t size = sizes.at(symbol.str());
      if (type.isDynamicDim(d) || type.getDimSize(d) == size)
        continue;
      std::string what = bindingOf(bindings, symbol)
                             ? "--" + symbol.str() + "=" + std::to_string(size)
                             : symbol.str() + "=" + std::to_string(size);
      return makeError(what + " contradicts dimension " + llvm::Twine(d) +
                       " of " + argName(a) + " (static " +
                       llvm::Twine(type.getDimSize(d)) + ")");
    }
  }
  return llvm::Error::success();
}

/// The shape of capture argument `index`.
llvm::Expected<std::vector<int64_t>>
captureShape(FuncOp func, unsigned index,
             const std::map<std::string, int64_t> &sizes) {
  mlir::Type type = func.getArgumentTypes()[index];
  if (type.isIntOrIndexOrFloat())
    return std::vector<int64_t>{};
  auto tensorType = dyn_cast<mlir::RankedTensorType>(type);
  if (!tensorType)
    return makeError(argName(index) +
                     " must be a ranked tensor or a scalar (index, integer "
                     "or float)");
  auto dims = func.getArgAttrOfType<mlir::ArrayAttr>(index, "attn.dims");
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < tensorType.getRank(); ++d) {
    if (!tensorType.isDynamicDim(d)) {
      shape.push_back(tensorType.getDimSize(d));
      continue;
    }
    mlir::Attribute entry =
        dims && d < int64_t(dims.size()) ? dims[d] : mlir::Attribute();
    if (auto sym = dyn_cast_or_null<mlir::StringAttr>(entry)) {
      auto it = sizes.find(sym.getValue().str());
      if (it == sizes.end())
        return makeError(argName(index) + ": 'attn.dims' entry " +
                         llvm::Twine(d) + " is the unknown size '" +
                         sym.getValue() + "'");
      shape.push_back(it->second);
    } else if (auto size = dyn_cast_or_null<mlir::IntegerAttr>(entry)) {
      shape.push_back(size.getInt());
    } else {
      return makeError("dimension " + llvm::Twine(d) + " of " + argName(index) +
                       " is dynamic and has no 'attn.dims' entry");
    }
  }
  return shape;
}

} // namespace

llvm::Expected<BoundShapes> attn::interp::bindShapes(FuncOp func,
                                                     const SizeBindings &b) {
  if (llvm::Error err = checkQkv(func))
    return std::move(err);
  for (const char *symbol : {"b", "hq", "hkv", "nq", "nk"})
    if (auto bound = bindingOf(b, symbol); bound && *bound <= 0)
      return makeError("--" + llvm::Twine(symbol) + "=" + llvm::Twine(*bound) +
                       " must be positive");
  BoundShapes result;
  auto &sizes = result.sizes;
  sizes["b"] = resolveSize(func, b, "b", kDefaultB);
  sizes["hq"] = resolveSize(func, b, "hq", kDefaultHeads);
  sizes["hkv"] = resolveSize(func, b, "hkv", kDefaultHeads);
  sizes["nq"] = resolveSize(func, b, "nq", kDefaultLength);
  sizes["nk"] = resolveSize(func, b, "nk", sizes["nq"]);
  if (llvm::Error err = checkStaticDims(func, b, sizes))
    return std::move(err);
  if (sizes["hq"] % sizes["hkv"] != 0)
    return makeError("hq=" + llvm::Twine(sizes["hq"]) +
                     " is not a multiple of hkv=" + llvm::Twine(sizes["hkv"]));

  auto types = func.getArgumentTypes();
  auto headDim = [&](unsigned a) {
    return cast<mlir::RankedTensorType>(types[a]).getDimSize(3);
  };
  result.args.push_back({sizes["b"], sizes["hq"], sizes["nq"], headDim(0)});
  result.args.push_back({sizes["b"], sizes["hkv"], sizes["nk"], headDim(1)});
  result.args.push_back({sizes["b"], sizes["hkv"], sizes["nk"], headDim(2)});
  for (unsigned i = 3; i < func.getNumArguments(); ++i) {
    auto shape = captureShape(func, i, sizes);
    if (!shape)
      return shape.takeError();
    result.args.push_back(std::move(*shape));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Drawing values
//===----------------------------------------------------------------------===//

namespace {

/// The element type of a tensor type, or the type itself for a scalar.
mlir::Type elementTypeOf(mlir::Type type) {
  if (auto shaped = dyn_cast<mlir::ShapedType>(type))
    return shaped.getElementType();
  return type;
}

bool isIntegral(mlir::Type elementType) { return elementType.isIntOrIndex(); }

bool allZero(const Tensor &value) {
  return llvm::all_of(value.data, [](double v) { return v == 0; });
}

/// A generator with its bounds resolved.
struct Generator {
  GenKind kind;
  double lo, hi;
};

/// The generator of capture `index`: its `attn.gen`, else normal for floats
/// and int_range [0, 3] for integers.
Generator generatorOf(FuncOp func, unsigned index, mlir::Type elementType) {
  auto gen = func.getArgAttrOfType<GenAttr>(index, "attn.gen");
  if (!gen)
    return isIntegral(elementType) ? Generator{GenKind::IntRange, 0, 3}
                                   : Generator{GenKind::Normal, 0, 1};
  auto bound = [](mlir::FloatAttr attr, double fallback) {
    return attr ? attr.getValueAsDouble() : fallback;
  };
  switch (gen.getKind()) {
  case GenKind::Normal:
    return {GenKind::Normal, 0, 1};
  case GenKind::Uniform:
    return {GenKind::Uniform, bound(gen.getLo(), 0), bound(gen.getHi(), 1)};
  case GenKind::IntRange:
    return {GenKind::IntRange, bound(gen.getLo(), 0), bound(gen.getHi(), 3)};
  case GenKind::Segments:
    return {GenKind::Segments, bound(gen.getLo(), 1), bound(gen.getHi(), 16)};
  }
  return {GenKind::Normal, 0, 1};
}

/// Checks the bounds of `gen` for capture `index` of `elementType`.
llvm::Error checkGenerator(const Generator &gen, unsigned index,
                           mlir::Type elementType,
                           llvm::ArrayRef<int64_t> shape) {
  std::string where = argName(index) + ": ";
  if (gen.lo > gen.hi)
    return makeError(where + "generator bounds lo=" + str(gen.lo) +
                     " > hi=" + str(gen.hi));
  if (gen.kind == GenKind::IntRange || gen.kind == GenKind::Segments) {
    if (std::ceil(gen.lo) > std::floor(gen.hi))
      return makeError(where + "no integer in [" + str(gen.lo) + ", " +
                       str(gen.hi) + "]");
  }
  if (gen.kind == GenKind::Segments) {
    if (shape.empty())
      return makeError(where + "segments needs a tensor of rank >= 1");
    if (std::floor(gen.hi) < 1)
      return makeError(where + "segment lengths must allow at least 1");
  }
  if (gen.kind == GenKind::IntRange && gen.lo == 0 && gen.hi == 0)
    return makeError(where + "int_range [0, 0] can only draw zeros");
  if (gen.kind == GenKind::Uniform && gen.lo == 0 && gen.hi == 0)
    return makeError(where + "uniform [0, 0] can only draw zeros");
  if (isIntegral(elementType) && gen.kind != GenKind::Normal) {
    auto [min, max] = integerRange(elementType);
    double top =
        gen.kind == GenKind::Segments ? double(product(shape)) : gen.hi;
    if (gen.lo < min || top > max)
      return makeError(where + "generator range exceeds the element type");
  }
  return llvm::Error::success();
}

/// Fills `value` with sorted segment ids along its last dimension: each row
/// starts at 0 and every segment has a length drawn in [lo, hi].
void drawSegments(Tensor &value, const Generator &gen, std::mt19937_64 &rng) {
  int64_t last = value.shape.back();
  int64_t rows = last == 0 ? 0 : int64_t(value.data.size()) / last;
  std::uniform_int_distribution<int64_t> length(
      std::max<int64_t>(1, int64_t(std::ceil(gen.lo))),
      int64_t(std::floor(gen.hi)));
  for (int64_t r = 0; r < rows; ++r) {
    int64_t id = 0, left = length(rng);
    for (int64_t c = 0; c < last; ++c) {
      if (left == 0) {
        ++id;
        left = length(rng);
      }
      value.data[r * last + c] = double(id);
      --left;
    }
  }
}

/// Draws every element of `value` from `gen`, rounding floats to
/// `elementType` and integers to integers.
void drawValue(Tensor &value, const Generator &gen, mlir::Type elementType,
               std::mt19937_64 &rng) {
  if (gen.kind == GenKind::Segments)
    return drawSegments(value, gen, rng);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(gen.lo, gen.hi);
  std::uniform_int_distribution<int64_t> integers(int64_t(std::ceil(gen.lo)),
                                                  int64_t(std::floor(gen.hi)));
  for (double &x : value.data) {
    switch (gen.kind) {
    case GenKind::Normal:
      x = normal(rng);
      break;
    case GenKind::Uniform:
      x = uniform(rng);
      break;
    case GenKind::IntRange:
      x = double(integers(rng));
      break;
    case GenKind::Segments:
      break;
    }
    x = isIntegral(elementType) ? std::nearbyint(x)
                                : roundToType(x, elementType);
  }
}

/// Makes an all-zero `value` non-zero with one value `gen` can produce
/// (segments: the last element starts a new segment).
void forceNonZero(Tensor &value, const Generator &gen) {
  if (value.data.empty())
    return;
  if (gen.kind == GenKind::Segments) {
    if (value.shape.back() >= 2)
      value.data.back() = 1;
    return;
  }
  double pick = gen.hi != 0 ? gen.hi : gen.lo;
  if (gen.kind == GenKind::IntRange)
    pick = gen.hi >= 1 ? std::floor(gen.hi) : std::ceil(gen.lo);
  if (gen.kind == GenKind::Normal)
    pick = 1;
  value.data.back() = pick;
}

} // namespace

std::pair<double, double> attn::interp::integerRange(mlir::Type elementType) {
  unsigned width =
      elementType.isIndex() ? 64 : elementType.getIntOrFloatBitWidth();
  if (width >= 53)
    return {-9007199254740992.0, 9007199254740992.0};
  return {-std::ldexp(1.0, width - 1), std::ldexp(1.0, width) - 1};
}

llvm::Error attn::interp::checkIntegerValues(llvm::StringRef name,
                                             const Tensor &value,
                                             mlir::Type elementType) {
  if (!isIntegral(elementType))
    return llvm::Error::success();
  auto [min, max] = integerRange(elementType);
  for (auto [n, x] : llvm::enumerate(value.data)) {
    if (std::trunc(x) == x && x >= min && x <= max)
      continue;
    std::string type;
    llvm::raw_string_ostream(type) << elementType;
    std::string where = value.shape.empty()
                            ? name.str()
                            : "element " + std::to_string(n) + " of " +
                                  name.str();
    auto exact = [](double bound) {
      std::string text;
      llvm::raw_string_ostream(text) << llvm::format("%.0f", bound);
      return text;
    };
    return makeError(where + " (" + type + ") is " + str(x) +
                     ", not an integer in [" + exact(min) + ", " +
                     exact(max) + "]" +
                     (max == 9007199254740992.0
                          ? " (the integers float64 values hold exactly)"
                          : ""));
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<Tensor>>
attn::interp::makeInputs(FuncOp func, const BoundShapes &shapes, uint64_t seed,
                         mlir::Type qkvType) {
  if (shapes.args.size() != func.getNumArguments())
    return makeError("bound shapes have " + llvm::Twine(shapes.args.size()) +
                     " entries but the function has " +
                     llvm::Twine(func.getNumArguments()) + " arguments");
  std::mt19937_64 rng(seed);
  std::vector<Tensor> inputs;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    mlir::Type elementType = elementTypeOf(func.getArgumentTypes()[i]);
    if (i < 3 && qkvType)
      elementType = qkvType;
    Generator gen = i < 3 ? Generator{GenKind::Normal, 0, 1}
                          : generatorOf(func, i, elementType);
    if (llvm::Error err = checkGenerator(gen, i, elementType, shapes.args[i]))
      return std::move(err);
    Tensor value;
    value.shape = shapes.args[i];
    value.data.assign(product(value.shape), 0.0);
    for (int attempt = 0; attempt < kRedraws && allZero(value); ++attempt)
      drawValue(value, gen, elementType, rng);
    if (allZero(value))
      forceNonZero(value, gen);
    inputs.push_back(std::move(value));
  }
  return inputs;
}
