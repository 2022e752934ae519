//===- AttnOps.cpp - attn operations --------------------------------------===//
//
// Verifiers of the attention op and of the cascade ops. Every message names
// the operand and, for shapes, the dimension at fault.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/RegionOps.h"
#include "attn/Dialect/Equation.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace attn;

static ParseResult parseEinsum(OpAsmParser &parser, EinsumAttr &equation);
static void printEinsum(OpAsmPrinter &printer, Operation *, EinsumAttr equation);

#define GET_OP_CLASSES
#include "attn/Dialect/AttnOps.cpp.inc"

static bool isDyn(int64_t d) { return ShapedType::isDynamic(d); }
static bool compatible(int64_t a, int64_t b) {
  return isDyn(a) || isDyn(b) || a == b;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

double AttentionOp::getEffectiveScale() {
  if (FloatAttr s = getScaleAttr())
    return s.getValueAsDouble();
  int64_t d = getQ().getType().getDimSize(3);
  return 1.0 / std::sqrt(static_cast<double>(d));
}

int64_t AttentionOp::getGroupSize() {
  int64_t hq = getQ().getType().getDimSize(1);
  int64_t hkv = getK().getType().getDimSize(1);
  if (isDyn(hq) || isDyn(hkv) || hkv == 0)
    return ShapedType::kDynamic;
  return hq / hkv;
}

static bool isSupportedElementType(Type t) {
  return t.isF16() || t.isBF16() || t.isF32();
}

/// A pair (operand name, dimension index) for shape diagnostics.
struct DimRef {
  const char *name;
  RankedTensorType type;
  unsigned dim;
  int64_t size() const { return type.getDimSize(dim); }
};

/// Checks that two dimensions that must be equal can be equal.
static LogicalResult checkSameDim(Operation *op, const char *what, DimRef a,
                                  DimRef b) {
  if (compatible(a.size(), b.size()))
    return success();
  return op->emitOpError() << what << " of '" << b.name << "' (dimension "
                           << b.dim << ") is " << b.size() << " but '"
                           << a.name << "' (dimension " << a.dim << ") has "
                           << a.size();
}

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  auto qT = getQ().getType(), kT = getK().getType(), vT = getV().getType();
  auto oT = getO().getType();
  struct Named {
    const char *name;
    RankedTensorType type;
  } tensors[] = {{"q", qT}, {"k", kT}, {"v", vT}, {"o", oT}};
  const char *layout[] = {"[B,Hq,Nq,D]", "[B,Hkv,Nk,D]", "[B,Hkv,Nk,Dv]",
                          "[B,Hq,Nq,Dv]"};
  for (auto [idx, t] : llvm::enumerate(tensors)) {
    if (t.type.getRank() != 4)
      return emitOpError() << "'" << t.name << "' must have rank 4 "
                           << layout[idx] << ", got rank " << t.type.getRank();
    if (!isSupportedElementType(t.type.getElementType()))
      return emitOpError() << "element type of '" << t.name << "' is "
                           << t.type.getElementType()
                           << "; supported: f16, bf16, f32";
  }
  for (auto t : {tensors[1], tensors[2], tensors[3]})
    if (t.type.getElementType() != qT.getElementType())
      return emitOpError() << "element type of '" << t.name << "' ("
                           << t.type.getElementType()
                           << ") differs from that of 'q' ("
                           << qT.getElementType() << ")";
  for (auto t : {tensors[0], tensors[1], tensors[2], tensors[3]})
    if (isDyn(t.type.getDimSize(3)))
      return emitOpError() << "head dim of '" << t.name
                           << "' (dimension 3) must be static";

  DimRef qB{"q", qT, 0}, kB{"k", kT, 0}, vB{"v", vT, 0}, oB{"o", oT, 0};
  DimRef qH{"q", qT, 1}, kH{"k", kT, 1}, vH{"v", vT, 1}, oH{"o", oT, 1};
  DimRef qN{"q", qT, 2}, kN{"k", kT, 2}, vN{"v", vT, 2}, oN{"o", oT, 2};
  DimRef qD{"q", qT, 3}, kD{"k", kT, 3}, vD{"v", vT, 3}, oD{"o", oT, 3};
  if (failed(checkSameDim(op, "batch size", qB, kB)) ||
      failed(checkSameDim(op, "batch size", qB, vB)) ||
      failed(checkSameDim(op, "batch size", qB, oB)) ||
      failed(checkSameDim(op, "number of KV heads", kH, vH)) ||
      failed(checkSameDim(op, "number of heads", qH, oH)) ||
      failed(checkSameDim(op, "head dim", qD, kD)) ||
      failed(checkSameDim(op, "sequence length", kN, vN)) ||
      failed(checkSameDim(op, "sequence length", qN, oN)) ||
      failed(checkSameDim(op, "value head dim", vD, oD)))
    return failure();
  if (!isDyn(qH.size()) && !isDyn(kH.size())) {
    if (kH.size() == 0 || qH.size() % kH.size() != 0)
      return emitOpError() << "number of query heads of 'q' (dimension 1, "
                           << qH.size()
                           << ") must be a multiple of the number of KV heads "
                              "of 'k' (dimension 1, "
                           << kH.size() << ")";
  }

  // lse and sink logits exist for softmax only; `subject` names the one.
  auto softmaxOnly = [&](StringRef subject) -> LogicalResult {
    NormalizerKind kind = getNormalizer().getKind();
    if (kind == NormalizerKind::Softmax)
      return success();
    return emitOpError() << subject
                         << " defined for the softmax normalizer only, not for '"
                         << stringifyNormalizerKind(kind) << "'";
  };
  if (Value lse = getLse()) {
    if (failed(softmaxOnly("an 'lse' result is")))
      return failure();
    auto lT = cast<RankedTensorType>(lse.getType());
    if (lT.getRank() != 3 || !lT.getElementType().isF32())
      return emitOpError() << "'lse' must be a rank-3 f32 tensor [B,Hq,Nq], "
                              "got "
                           << lT;
    for (unsigned d = 0; d < 3; ++d)
      if (!compatible(lT.getDimSize(d), qT.getDimSize(d)))
        return emitOpError() << "dimension " << d << " of 'lse' is "
                             << lT.getDimSize(d) << " but 'q' has "
                             << qT.getDimSize(d);
  }

  // The query heads each of q's heads holds (attn-pack-gqa's form).
  int64_t packed = 1;
  if (std::optional<int64_t> g = getGqaPacked()) {
    if (*g < 2)
      return emitOpError() << "'gqa_packed' (query heads packed into each "
                              "head's rows) must be at least 2, got "
                           << *g;
    packed = *g;
    // The packed form is multi-head over the KV heads, known when
    // compiling: a query-head group left in the heads would make a row's
    // head ambiguous.
    auto heads = [](int64_t n) {
      return isDyn(n) ? std::string("?") : std::to_string(n);
    };
    if (isDyn(qT.getDimSize(1)) || qT.getDimSize(1) != kT.getDimSize(1))
      return emitOpError() << "'gqa_packed' needs as many heads in 'q' as in "
                              "'k', static (the packed form), got "
                           << heads(qT.getDimSize(1)) << " and "
                           << heads(kT.getDimSize(1));
    int64_t rows = qT.getDimSize(2);
    if (!ShapedType::isDynamic(rows) && rows % packed != 0)
      return emitOpError() << "'q' has " << rows
                           << " rows (dimension 2), not a multiple of the "
                           << packed << " query heads 'gqa_packed' packs";
  }

  if (Value sinks = getSinkLogits()) {
    if (failed(softmaxOnly("'sink_logits' are")))
      return failure();
    auto sT = cast<RankedTensorType>(sinks.getType());
    if (sT.getRank() != 1 || !sT.getElementType().isF32())
      return emitOpError() << "'sink_logits' must be a rank-1 f32 tensor "
                              "[Hq] (one logit per query head), got "
                           << sT;
    int64_t heads = qT.getDimSize(1);
    if (!ShapedType::isDynamic(heads))
      heads *= packed;
    if (!compatible(sT.getDimSize(0), heads))
      return emitOpError() << "'sink_logits' has " << sT.getDimSize(0)
                           << " logits but 'q' has " << heads
                           << " query heads (dimension 1"
                           << (packed > 1 ? " x gqa_packed" : "") << ")";
  }

  if (FloatAttr s = getScaleAttr())
    if (!std::isfinite(s.getValueAsDouble()))
      return emitOpError() << "'scale' must be finite, got "
                           << s.getValueAsDouble();

  for (auto [idx, c] : llvm::enumerate(getCaptures())) {
    Type t = c.getType();
    if (auto rt = dyn_cast<RankedTensorType>(t))
      t = rt.getElementType();
    if (!t.isIntOrIndexOrFloat())
      return emitOpError() << "capture " << idx << " has type " << c.getType()
                           << "; captures are ranked tensors or scalars of "
                              "integer, index or float type";
  }
  return success();
}

/// Checks the block arguments of a scalar region: `leading` (described by
/// `leadingDoc`), then the captures.
static LogicalResult verifyRegionArguments(Operation *op, Region &region,
                                           StringRef regionName,
                                           ArrayRef<Type> leading,
                                           StringRef leadingDoc,
                                           TypeRange captures) {
  Block &block = region.front();
  size_t expected = leading.size() + captures.size();
  if (block.getNumArguments() != expected)
    return op->emitOpError()
           << "'" << regionName << "' region must have " << expected
           << " block arguments (" << leadingDoc << ", then " << captures.size()
           << " capture(s)), got " << block.getNumArguments();
  for (unsigned i = 0; i < expected; ++i) {
    Type want = i < leading.size() ? leading[i] : captures[i - leading.size()];
    Type got = block.getArgument(i).getType();
    if (got != want)
      return op->emitOpError()
             << "'" << regionName << "' region argument " << i << " has type "
             << got << ", expected " << want;
  }
  return success();
}

/// Checks a score/mask/map region: its block arguments are `leading` followed
/// by the capture types, and it yields exactly one value of `yieldType`.
static LogicalResult verifyScalarRegion(Operation *op, Region &region,
                                        StringRef regionName,
                                        ArrayRef<Type> leading,
                                        StringRef leadingDoc,
                                        TypeRange captures, Type yieldType) {
  if (failed(verifyRegionArguments(op, region, regionName, leading,
                                   leadingDoc, captures)))
    return failure();
  Block &block = region.front();
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op->emitOpError() << "'" << regionName
                             << "' region must end with attn.yield";
  if (yield.getValues().size() != 1 ||
      yield.getValues().front().getType() != yieldType)
    return yield.emitOpError()
           << "in the '" << regionName << "' region must yield one value of "
           << "type " << yieldType << ", got " << yield.getValues().getTypes();
  return regionops::verifyRegion(region, regionName);
}

LogicalResult AttentionOp::verifyRegions() {
  MLIRContext *ctx = getContext();
  Type idx = IndexType::get(ctx);
  TypeRange captures = getCaptures().getTypes();
  if (!getScore().empty()) {
    Type f32 = Float32Type::get(ctx);
    Type leading[] = {f32, idx, idx, idx, idx, idx, idx};
    if (failed(verifyScalarRegion(*this, getScore(), "score", leading,
                                  "s: f32, b, h, i, j, nq, nk: index",
                                  captures, f32)))
      return failure();
  }
  if (!getMask().empty()) {
    Type leading[] = {idx, idx, idx, idx, idx, idx};
    if (failed(verifyScalarRegion(*this, getMask(), "mask", leading,
                                  "b, h, i, j, nq, nk: index", captures,
                                  IntegerType::get(ctx, 1))))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Cascade ops: shared equation checks
//===----------------------------------------------------------------------===//

/// The cascade ops' syntax for their equation: the quoted text.
static ParseResult parseEinsum(OpAsmParser &parser, EinsumAttr &equation) {
  equation = EinsumAttr::parseText(parser);
  return success(bool(equation));
}
static void printEinsum(OpAsmPrinter &printer, Operation *, EinsumAttr equation) {
  printer << "\"" << equation.str() << "\"";
}

/// Checks `attr` against the operand and result types: input count and
/// ranks, one size per letter, every output letter in an input.
static FailureOr<Equation> verifyEquation(Operation *op, EinsumAttr attr,
                                          TypeRange inputs, Type result) {
  std::optional<Equation> eq = attr.getValue();
  std::string text = attr.str();
  if (eq->inputs.size() != inputs.size())
    return op->emitOpError() << "equation '" << text << "' has "
                             << eq->inputs.size() << " input term(s) but the "
                             << "op has " << inputs.size() << " input(s)";
  std::map<char, std::pair<int64_t, std::string>> sizes;
  auto record = [&](char letter, int64_t size,
                    const std::string &where) -> LogicalResult {
    auto [it, inserted] = sizes.try_emplace(letter, size, where);
    if (inserted)
      return success();
    if (isDyn(it->second.first)) {
      it->second = {size, where};
      return success();
    }
    if (isDyn(size) || size == it->second.first)
      return success();
    return op->emitOpError()
           << "letter '" << letter << "' has two sizes: "
           << it->second.first << " (" << it->second.second << ") and " << size
           << " (" << where << ")";
  };
  for (auto [idx, type] : llvm::enumerate(inputs)) {
    auto t = cast<RankedTensorType>(type);
    const std::string &term = eq->inputs[idx];
    if (t.getRank() != static_cast<int64_t>(term.size()))
      return op->emitOpError()
             << "input " << idx << " has rank " << t.getRank()
             << " but its term '" << term << "' has " << term.size()
             << " letter(s)";
    for (auto [d, letter] : llvm::enumerate(term))
      if (failed(record(letter, t.getDimSize(d),
                        "input " + std::to_string(idx) + ", dimension " +
                            std::to_string(d))))
        return failure();
  }
  auto rt = cast<RankedTensorType>(result);
  if (rt.getRank() != static_cast<int64_t>(eq->output.size()))
    return op->emitOpError() << "result has rank " << rt.getRank()
                             << " but the output term '" << eq->output
                             << "' has " << eq->output.size() << " letter(s)";
  for (auto [d, letter] : llvm::enumerate(eq->output)) {
    if (!sizes.count(letter))
      return op->emitOpError() << "output letter '" << letter
                               << "' appears in no input of equation '" << text
                               << "'";
    if (failed(record(letter, rt.getDimSize(d),
                      "result, dimension " + std::to_string(d))))
      return failure();
  }
  return *eq;
}

LogicalResult ContractOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  return verifyEquation(*this, getEquation(), getInputs().getTypes(),
                        getResult().getType());
}

LogicalResult ReduceOp::verify() {
  FailureOr<Equation> eq = verifyEquation(
      *this, getEquation(), getInput().getType(), getResult().getType());
  if (failed(eq))
    return failure();
  std::string reduced = eq->reducedLetters();
  if (reduced.size() != 1)
    return emitOpError() << "must reduce exactly one letter, equation '"
                         << getEquation().str() << "' reduces " << reduced.size()
                         << (reduced.empty() ? "" : " ('" + reduced + "')");
  return success();
}

LogicalResult MapOp::verify() {
  return verifyEquation(*this, getEquation(), getInputs().getTypes(),
                        getResult().getType());
}

LogicalResult MapOp::verifyRegions() {
  SmallVector<Type> leading;
  auto resultType = getResult().getType();
  leading.append(resultType.getRank(), IndexType::get(getContext()));
  for (Type t : getInputs().getTypes())
    leading.push_back(cast<RankedTensorType>(t).getElementType());
  return verifyScalarRegion(
      *this, getBody(), "body", leading,
      "one index per output letter, one element per input",
      getCaptures().getTypes(), resultType.getElementType());
}

//===----------------------------------------------------------------------===//
// ScatterAddOp
//===----------------------------------------------------------------------===//

LogicalResult ScatterAddOp::verify() {
  // The domain is sized by the inputs alone: check the equation against a
  // domain of unknown sizes.
  Equation eq = getEquation().getValue();
  SmallVector<int64_t> domain(eq.output.size(), ShapedType::kDynamic);
  if (failed(verifyEquation(
          *this, getEquation(), getInputs().getTypes(),
          RankedTensorType::get(domain, Float32Type::get(getContext())))))
    return failure();
  auto like = cast<RankedTensorType>(getLike().getType());
  auto result = getResult().getType();
  if (!result.getElementType().isF32())
    return emitOpError() << "result must hold f32, got " << result;
  if (failed(verifyCompatibleShape(like.getShape(), result.getShape())))
    return emitOpError() << "result " << result << " is not shaped like "
                         << like;
  return success();
}

LogicalResult ScatterAddOp::verifyRegions() {
  MLIRContext *ctx = getContext();
  Type idx = IndexType::get(ctx);
  size_t letters = getEquation().getValue().output.size();
  SmallVector<Type> leading(letters, idx);
  for (Type t : getInputs().getTypes())
    leading.push_back(cast<RankedTensorType>(t).getElementType());
  Block &block = getBody().front();
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  int64_t rank = getResult().getType().getRank();
  if (!yield || static_cast<int64_t>(yield.getValues().size()) != rank + 1 ||
      !yield.getValues().back().getType().isF32() ||
      llvm::any_of(yield.getValues().drop_back(),
                   [](Value v) { return !v.getType().isIndex(); }))
    return emitOpError() << "body must yield " << rank
                         << " index position(s) and one f32 value";
  // The yield is checked above: it carries a position as well as the value.
  if (failed(verifyRegionArguments(
          *this, getBody(), "body", leading,
          "one index per domain letter, one element per input",
          getCaptures().getTypes())))
    return failure();
  return regionops::verifyRegion(getBody(), "body");
}

//===----------------------------------------------------------------------===//
// TileClassOp
//===----------------------------------------------------------------------===//

LogicalResult TileClassOp::verifyRegions() {
  Type idx = IndexType::get(getContext());
  Type leading[] = {idx, idx, idx, idx, idx, idx};
  return verifyScalarRegion(*this, getMask(), "mask", leading,
                            "b, h, i, j, nq, nk: index",
                            getCaptures().getTypes(),
                            IntegerType::get(getContext(), 1));
}

//===----------------------------------------------------------------------===//
// Schedule ops
//===----------------------------------------------------------------------===//

/// Shared memory is memory space 3 (NVVM's and the GPU dialect's numbering).
static bool isSharedMemory(MemRefType type) {
  auto space = dyn_cast_or_null<IntegerAttr>(type.getMemorySpace());
  return space && space.getInt() == 3;
}

LogicalResult SharedBufferOp::verify() {
  auto type = cast<MemRefType>(getBuffer().getType());
  if (!isSharedMemory(type))
    return emitOpError() << "must be in shared memory (memory space 3), got "
                         << type;
  if (type.getRank() != 3 || !type.hasStaticShape())
    return emitOpError() << "must be stages x rows x columns with static "
                            "sizes, got "
                         << type;
  Type elem = type.getElementType();
  if (!elem.isF16() && !elem.isBF16() && !elem.isF32())
    return emitOpError() << "holds f16, bf16 or f32, got " << elem;
  SmallVector<int64_t> strides;
  int64_t layoutOffset;
  if (failed(type.getStridesAndOffset(strides, layoutOffset)) ||
      layoutOffset != 0)
    return emitOpError() << "needs a strided layout without an offset";
  if (strides[2] != 1 || strides[1] < type.getDimSize(2) ||
      strides[0] < strides[1] * type.getDimSize(1))
    return emitOpError() << "layout must keep rows contiguous and stages "
                            "apart: strides ["
                         << strides[0] << ", " << strides[1] << ", "
                         << strides[2] << "] for " << type.getDimSize(1)
                         << " x " << type.getDimSize(2) << " stages";
  if (getOffset() < 0 || getOffset() % 16 != 0)
    return emitOpError() << "offset " << getOffset()
                         << " must be a non-negative multiple of 16 bytes "
                            "(16-byte copies)";
  if ((strides[1] * elem.getIntOrFloatBitWidth() / 8) % 16 != 0)
    return emitOpError() << "row pitch of " << strides[1]
                         << " elements is not a multiple of 16 bytes";
  if (std::optional<uint64_t> swizzle = getSwizzle()) {
    int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
    int64_t s = static_cast<int64_t>(*swizzle);
    if (s != 32 && s != 64 && s != 128)
      return emitOpError() << "swizzle must be 32, 64 or 128 bytes, got " << s;
    if (strides[1] != type.getDimSize(2) ||
        (type.getDimSize(2) * bytes) % s != 0 || type.getDimSize(1) % 8 != 0)
      return emitOpError() << "a swizzled buffer is unpadded rows of whole "
                           << s << "-byte blocks, in groups of 8 rows: got "
                           << type.getDimSize(1) << " rows of "
                           << type.getDimSize(2) << " columns, pitch "
                           << strides[1];
    // The swizzle permutes on absolute address bits: each stage starts on
    // its 8-row repeat.
    if (getOffset() % (8 * s) != 0 || (strides[0] * bytes) % (8 * s) != 0)
      return emitOpError() << "a " << s << "-byte swizzle needs the offset ("
                           << getOffset() << ") and the stage stride ("
                           << strides[0] * bytes << " bytes) to be multiples "
                           << "of " << 8 * s << " bytes";
  }
  return success();
}

int64_t SharedBufferOp::getRowPitch() {
  SmallVector<int64_t> strides;
  int64_t offset;
  (void)cast<MemRefType>(getBuffer().getType())
      .getStridesAndOffset(strides, offset);
  return strides[1];
}

int64_t SharedBufferOp::getStageStride() {
  SmallVector<int64_t> strides;
  int64_t offset;
  (void)cast<MemRefType>(getBuffer().getType())
      .getStridesAndOffset(strides, offset);
  return strides[0];
}

int64_t SharedBufferOp::getEndByte() {
  auto type = cast<MemRefType>(getBuffer().getType());
  int64_t bytes = type.getElementType().getIntOrFloatBitWidth() / 8;
  return getOffset() + type.getDimSize(0) * getStageStride() * bytes;
}

/// Checks that `tile` (a slice: unit dimensions, rows, columns) fits a stage
/// of `buffer`: same element type, the buffer's columns, at most its rows.
static LogicalResult verifyStageTile(Operation *op, RankedTensorType tile,
                                     Value buffer, StringRef what) {
  auto type = cast<MemRefType>(buffer.getType());
  if (!buffer.getDefiningOp<SharedBufferOp>() && !isa<BlockArgument>(buffer))
    return op->emitOpError() << "needs a buffer from attn.shared_buffer";
  if (type.getRank() != 3)
    return op->emitOpError() << "needs a stages x rows x columns buffer";
  if (tile.getElementType() != type.getElementType())
    return op->emitOpError() << what << " holds " << tile.getElementType()
                             << " but the buffer " << type.getElementType();
  int64_t rank = tile.getRank();
  if (rank < 2)
    return op->emitOpError() << what << " must have rows and columns";
  for (int64_t d = 0; d + 2 < rank; ++d)
    if (tile.getDimSize(d) != 1)
      return op->emitOpError() << what << " dimension " << d
                               << " must be a unit dimension, got "
                               << tile.getDimSize(d);
  if (tile.getDimSize(rank - 1) != type.getDimSize(2))
    return op->emitOpError() << what << " has " << tile.getDimSize(rank - 1)
                             << " columns but the buffer "
                             << type.getDimSize(2);
  int64_t rows = tile.getDimSize(rank - 2);
  if (!ShapedType::isDynamic(rows) && rows > type.getDimSize(1))
    return op->emitOpError() << what << " has " << rows
                             << " rows but a buffer stage "
                             << type.getDimSize(1);
  return success();
}

LogicalResult AsyncCopyOp::verify() {
  return verifyStageTile(*this, getSource().getType(), getBuffer(), "source");
}

LogicalResult AsyncWaitOp::verify() {
  if (getPending() < 0)
    return emitOpError() << "pending must be non-negative, got "
                         << getPending();
  return success();
}

LogicalResult ReadStageOp::verify() {
  return verifyStageTile(*this, getResult().getType(), getBuffer(), "result");
}
