//===- Interpreter.cpp - the float64 reference interpreter ----------------===//
//
// Level 1 is computed directly from the formulas of the design (it shares no
// code with -attn-decompose); Level 2 ops are executed as the einsums they
// are. Scalar region bodies run through ScalarProgram.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/Interpreter.h"
#include "attn/Interpreter/ScalarProgram.h"

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <deque>
#include <limits>

using namespace mlir;
using namespace attn;
using namespace attn::interp;

static constexpr double kNegInf = -std::numeric_limits<double>::infinity();

Tensor Tensor::filled(std::vector<int64_t> shape, double fill) {
  Tensor v{std::move(shape), {}};
  v.data.assign(v.numElements(), fill);
  return v;
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t Tensor::offset(const int64_t *index) const {
  int64_t off = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    off = off * shape[d] + index[d];
  return off;
}

int64_t attn::interp::toInt64(double v) {
  if (std::isnan(v))
    return 0;
  // 2^63 is exact as a double; everything below it converts.
  if (v >= 9223372036854775808.0)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9223372036854775808.0)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

double attn::interp::roundToType(double v, Type type) {
  const llvm::fltSemantics *sem = nullptr;
  if (type.isF16())
    sem = &llvm::APFloat::IEEEhalf();
  else if (type.isBF16())
    sem = &llvm::APFloat::BFloat();
  else if (type.isF32())
    return static_cast<double>(static_cast<float>(v));
  if (!sem)
    return v;
  llvm::APFloat f(v);
  bool losesInfo;
  f.convert(*sem, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  return f.convertToDouble();
}

/// max with arith.maximumf's NaN semantics (the kernels' sc::maximumf): a
/// NaN on either side wins, so a NaN score makes its row NaN.
static double maximumNaN(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
}

namespace {

/// Walks a function body op by op, holding every SSA value on the host.
class Interpreter {
public:
  Interpreter(Counters *counters, int64_t kvSplits)
      : counters(counters), kvSplits(kvSplits) {}
  llvm::Expected<std::vector<Tensor>> runBlock(Block &block,
                                              llvm::ArrayRef<Tensor> args);

private:
  llvm::Error execute(Operation &op);
  llvm::Error executeAttention(AttentionOp op);
  llvm::Error executeContract(Operation *op, EinsumAttr equation,
                              ValueRange inputs, bool combineAdd,
                              bool reduceMax);
  llvm::Error executeMap(MapOp op);
  llvm::Error executeScatterAdd(ScatterAddOp op);
  /// Runs `body` once per point of the domain of `equation`'s output letters
  /// (row-major), with the point's indices, the inputs' elements there and
  /// the captures as arguments; `visit(flat, index, yielded)` receives each
  /// point's yielded values. `shape` is set to the domain's sizes first.
  using PointFn = llvm::function_ref<llvm::Error(
      int64_t flat, llvm::ArrayRef<int64_t> index,
      llvm::ArrayRef<double> yielded)>;
  llvm::Error forEachPoint(Operation *op, EinsumAttr equation,
                           ValueRange inputs, ValueRange captures, Block &body,
                           std::vector<int64_t> &shape, PointFn visit);
  llvm::Error executeFor(scf::ForOp op);
  llvm::Error executeReshape(Operation *op);
  llvm::Error executeSlice(tensor::ExtractSliceOp op);
  llvm::Error executeInsertSlice(tensor::InsertSliceOp op);
  llvm::Error executeIf(scf::IfOp op);
  llvm::Error executeTileClass(TileClassOp op);
  llvm::Error executeScalar(Operation &op);
  llvm::Error executeSchedule(Operation &op);

  const Tensor &get(mlir::Value v) { return env.find(v)->second; }
  /// The runtime shape of `type`, its dynamic sizes read from `dynamic`.
  std::vector<int64_t> resolveShape(RankedTensorType type,
                                    ValueRange dynamic) {
    std::vector<int64_t> shape;
    unsigned next = 0;
    for (int64_t d : type.getShape())
      shape.push_back(ShapedType::isDynamic(d)
                          ? toInt64(get(dynamic[next++]).data[0])
                          : d);
    return shape;
  }
  bool has(mlir::Value v) { return env.count(v); }

  llvm::DenseMap<mlir::Value, Tensor> env;
  Counters *counters;
  /// The value of attn.kv_splits.
  int64_t kvSplits;

  /// Asynchronous copies into shared buffers, as the hardware orders them:
  /// a copy joins the open group, attn.async_commit closes it, and
  /// attn.async_wait lands the oldest groups until `pending` remain, so a
  /// schedule that reads a stage before its copy landed reads poison.
  struct PendingCopy {
    mlir::Value buffer;
    int64_t stage;
    Tensor rows;
  };
  std::vector<PendingCopy> openGroup;
  std::deque<std::vector<PendingCopy>> committedGroups;
  void land(const PendingCopy &copy);
};

} // namespace

llvm::Expected<std::vector<Tensor>>
Interpreter::runBlock(Block &block, llvm::ArrayRef<Tensor> args) {
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    env[arg] = value;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      std::vector<Tensor> results;
      for (mlir::Value v : op.getOperands())
        results.push_back(get(v));
      return results;
    }
    if (llvm::Error e = execute(op))
      return std::move(e);
  }
  return std::vector<Tensor>{};
}

llvm::Error Interpreter::execute(Operation &op) {
  for (mlir::Value operand : op.getOperands())
    if (!has(operand))
      return errorAt(&op, "operand has no value (defined outside the "
                          "interpreted function?)");
  if (auto a = dyn_cast<AttentionOp>(op))
    return executeAttention(a);
  if (auto c = dyn_cast<ContractOp>(op))
    return executeContract(&op, c.getEquation(), c.getInputs(),
                           c.getCombine() == CombineKind::Add,
                           c.getReduce() == ReduceKind::Max);
  if (auto r = dyn_cast<ReduceOp>(op))
    return executeContract(&op, r.getEquation(), r.getInput(),
                           /*combineAdd=*/false,
                           r.getKind() == ReduceKind::Max);
  if (auto m = dyn_cast<MapOp>(op))
    return executeMap(m);
  if (auto sc = dyn_cast<ScatterAddOp>(op))
    return executeScatterAdd(sc);
  if (auto f = dyn_cast<scf::ForOp>(op))
    return executeFor(f);
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op))
    return executeReshape(&op);
  if (auto s = dyn_cast<tensor::SplatOp>(op)) {
    env[s.getResult()] =
        Tensor::filled(resolveShape(s.getType(), s.getDynamicSizes()),
                       get(s.getInput()).data[0]);
    return llvm::Error::success();
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return executeSlice(slice);
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
    return executeInsertSlice(insert);
  if (auto ifOp = dyn_cast<scf::IfOp>(op))
    return executeIf(ifOp);
  if (auto tc = dyn_cast<TileClassOp>(op))
    return executeTileClass(tc);
  if (isa<KvSplitsOp>(op)) {
    env[op.getResult(0)] = Tensor::scalar(static_cast<double>(kvSplits));
    return llvm::Error::success();
  }
  if (isa<SharedBufferOp, AsyncCopyOp, AsyncCommitOp, AsyncWaitOp, BarrierOp,
          ReadStageOp, LoadFragmentsOp>(op))
    return executeSchedule(op);
  if (auto c = dyn_cast<tensor::CastOp>(op)) {
    // A cast to a static size asserts it (the interior tiles of
    // -attn-specialize-interior): a wrong one is an error, not a reshape.
    const Tensor &source = get(c.getSource());
    auto type = cast<RankedTensorType>(c.getType());
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!type.isDynamicDim(d) && type.getDimSize(d) != source.shape[d])
        return errorAt(&op, "tensor.cast to size " +
                                llvm::Twine(type.getDimSize(d)) +
                                " of a tensor whose dimension " +
                                llvm::Twine(d) + " has size " +
                                llvm::Twine(source.shape[d]));
    // A copy first: inserting into env may move `source`.
    Tensor value = source;
    env[c.getResult()] = std::move(value);
    return llvm::Error::success();
  }
  if (auto e = dyn_cast<tensor::EmptyOp>(op)) {
    env[e.getResult()] =
        Tensor::filled(resolveShape(e.getType(), e.getDynamicSizes()), 0.0);
    return llvm::Error::success();
  }
  return executeScalar(op);
}

/// Ops outside regions that produce one scalar (arith on index, tensor.dim).
llvm::Error Interpreter::executeScalar(Operation &op) {
  if (op.getNumResults() != 1 || isa<ShapedType>(op.getResult(0).getType()))
    return errorAt(&op, "the reference interpreter cannot execute this op");
  llvm::SmallVector<double> operands;
  llvm::SmallVector<const Tensor *> tensors;
  for (mlir::Value v : op.getOperands()) {
    const Tensor &value = get(v);
    if (isa<ShapedType>(v.getType())) {
      tensors.push_back(&value);
      operands.push_back(0.0);
    } else {
      operands.push_back(value.data[0]);
    }
  }
  llvm::Expected<double> r = ScalarProgram::evalOne(&op, operands, tensors);
  if (!r)
    return r.takeError();
  env[op.getResult(0)] = Tensor::scalar(*r);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Level 1: attn.attention, straight from the formulas of the design
//===----------------------------------------------------------------------===//

llvm::Error Interpreter::executeAttention(AttentionOp op) {
  const Tensor &q = get(op.getQ()), &k = get(op.getK()), &v = get(op.getV());
  int64_t B = q.shape[0], Hq = q.shape[1], Nq = q.shape[2], D = q.shape[3];
  int64_t Hkv = k.shape[1], Nk = k.shape[2], Dv = v.shape[3];
  if (k.shape[0] != B || v.shape[0] != B || k.shape[3] != D ||
      v.shape[1] != Hkv || v.shape[2] != Nk || Hkv == 0 || Hq % Hkv != 0)
    return errorAt(op, "runtime shapes of q, k, v do not form an attention");
  int64_t G = Hq / Hkv;
  const Tensor *sinks = op.getSinkLogits() ? &get(op.getSinkLogits()) : nullptr;
  // attn-pack-gqa's form: each head's rows are `packed` query heads'.
  int64_t packed = op.getGqaPacked().value_or(1);
  if (Nq % packed != 0)
    return errorAt(op, "runtime rows of 'q' (" + llvm::Twine(Nq) +
                           ") are not a multiple of gqa_packed = " +
                           llvm::Twine(packed));
  int64_t rowsPerHead = std::max<int64_t>(Nq / packed, 1);
  if (sinks && (sinks->shape.size() != 1 || sinks->shape[0] != Hq * packed))
    return errorAt(op, "runtime shape of 'sink_logits' is not [Hq" +
                           llvm::Twine(packed > 1 ? " x gqa_packed" : "") +
                           "] = [" + llvm::Twine(Hq * packed) + "]");
  // Kernels (and the decomposed cascade) apply scale and bias as f32
  // constants; the oracle uses the same values so the comparison is exact.
  double scale = static_cast<float>(op.getEffectiveScale());
  NormalizerAttr norm = op.getNormalizer();

  std::optional<ScalarProgram> score, mask;
  if (!op.getScore().empty()) {
    auto p = ScalarProgram::compile(op.getScore().front());
    if (!p)
      return p.takeError();
    score = std::move(*p);
  }
  if (!op.getMask().empty()) {
    auto p = ScalarProgram::compile(op.getMask().front());
    if (!p)
      return p.takeError();
    mask = std::move(*p);
  }
  // Region arguments: scalars by value, captured tensors by pointer.
  llvm::SmallVector<double> captureScalars;
  llvm::SmallVector<const Tensor *> captureTensors;
  for (mlir::Value c : op.getCaptures()) {
    const Tensor &value = get(c);
    bool isTensor = isa<ShapedType>(c.getType());
    captureScalars.push_back(isTensor ? 0.0 : value.data[0]);
    captureTensors.push_back(isTensor ? &value : nullptr);
  }
  size_t numCaptures = captureScalars.size();
  llvm::SmallVector<double> scoreArgs(7 + numCaptures), maskArgs(6 + numCaptures);
  llvm::SmallVector<const Tensor *> scoreTensors(7, nullptr),
      maskTensors(6, nullptr);
  for (size_t c = 0; c < numCaptures; ++c) {
    scoreArgs[7 + c] = maskArgs[6 + c] = captureScalars[c];
    scoreTensors.push_back(captureTensors[c]);
    maskTensors.push_back(captureTensors[c]);
  }

  Tensor o = Tensor::filled({B, Hq, Nq, Dv}, 0.0);
  Tensor lse = Tensor::filled({B, Hq, Nq}, kNegInf);
  std::vector<double> s(Nk), p(Nk);
  std::vector<char> attend(Nk);
  llvm::SmallVector<double, 1> out;
  double sigmoidBias =
      norm.getBias() ? static_cast<float>(norm.getBias().getValueAsDouble())
                     : -std::log(static_cast<double>(Nk));

  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < Nq; ++i) {
        int64_t hk = h / G;
        const double *qrow = &q.data[((b * Hq + h) * Nq + i) * D];
        for (int64_t j = 0; j < Nk; ++j) {
          const double *krow = &k.data[((b * Hkv + hk) * Nk + j) * D];
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += qrow[d] * krow[d];
          double sij = scale * dot;
          double idx[6] = {double(b), double(h), double(i),
                           double(j), double(Nq), double(Nk)};
          if (score) {
            scoreArgs[0] = sij;
            std::copy(idx, idx + 6, scoreArgs.begin() + 1);
            if (llvm::Error e = score->run(scoreArgs, scoreTensors, out))
              return e;
            sij = out[0];
          }
          bool keep = true;
          if (mask) {
            std::copy(idx, idx + 6, maskArgs.begin());
            if (llvm::Error e = mask->run(maskArgs, maskTensors, out))
              return e;
            keep = out[0] != 0;
          }
          s[j] = sij;
          attend[j] = keep;
        }
        // Normalizer: p over the unmasked keys, masked p = 0. Attended
        // values go through IEEE arithmetic unguarded (docs: non-finite
        // values): a NaN or +inf score makes the row NaN; a row whose scores
        // are all -inf (or that attends to nothing) has no weight.
        double denom = 1.0;
        switch (norm.getKind()) {
        case NormalizerKind::Softmax: {
          // A sink logit is one more always-attended key with no value.
          double sink =
              sinks ? sinks->data[h * packed + i / rowsPerHead] : kNegInf;
          double m = sink;
          for (int64_t j = 0; j < Nk; ++j)
            if (attend[j])
              m = maximumNaN(m, s[j]);
          double sum = sink != kNegInf ? std::exp(sink - m) : 0.0;
          for (int64_t j = 0; j < Nk; ++j) {
            p[j] = attend[j] && m != kNegInf ? std::exp(s[j] - m) : 0.0;
            sum += p[j];
          }
          denom = sum;
          lse.data[(b * Hq + h) * Nq + i] =
              sum == 0 ? kNegInf : m + std::log(sum);
          break;
        }
        case NormalizerKind::Sigmoid:
          for (int64_t j = 0; j < Nk; ++j)
            p[j] = attend[j] ? 1.0 / (1.0 + std::exp(-(s[j] + sigmoidBias)))
                             : 0.0;
          break;
        case NormalizerKind::Softplus: {
          double sum = 0;
          for (int64_t j = 0; j < Nk; ++j) {
            // softplus(x) = log(1 + e^x), evaluated without overflow.
            double x = s[j];
            p[j] = attend[j] ? (x > 0 ? x + std::log1p(std::exp(-x))
                                      : std::log1p(std::exp(x)))
                             : 0.0;
            sum += p[j];
          }
          denom = sum;
          break;
        }
        case NormalizerKind::None:
          for (int64_t j = 0; j < Nk; ++j)
            p[j] = attend[j] ? s[j] : 0.0;
          break;
        }
        double *orow = &o.data[((b * Hq + h) * Nq + i) * Dv];
        if (denom == 0)
          continue; // No attended key (or all weights 0): o = 0, never NaN.
        for (int64_t j = 0; j < Nk; ++j) {
          // A key of weight 0 (masked, or underflowed) contributes nothing,
          // whatever its V holds.
          if (p[j] == 0)
            continue;
          const double *vrow = &v.data[((b * Hkv + hk) * Nk + j) * Dv];
          double w = p[j] / denom;
          for (int64_t f = 0; f < Dv; ++f)
            orow[f] += w * vrow[f];
        }
      }
  env[op.getO()] = std::move(o);
  if (op.getLse())
    env[op.getLse()] = std::move(lse);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Level 2: einsums
//===----------------------------------------------------------------------===//

/// Sizes of every letter of `eq`, from the runtime shapes of the inputs.
static llvm::Expected<std::map<char, int64_t>>
letterSizes(Operation *op, const Equation &eq,
            llvm::ArrayRef<const Tensor *> inputs) {
  std::map<char, int64_t> sizes;
  for (auto [term, input] : llvm::zip(eq.inputs, inputs)) {
    if (input->shape.size() != term.size())
      return errorAt(op, "runtime rank of an input (" +
                             llvm::Twine(input->shape.size()) +
                             ") does not match '" + term + "'");
    for (auto [d, letter] : llvm::enumerate(term)) {
      auto [it, inserted] = sizes.try_emplace(letter, input->shape[d]);
      if (!inserted && it->second != input->shape[d])
        return errorAt(op, "letter '" + llvm::Twine(letter) +
                               "' has runtime sizes " +
                               llvm::Twine(it->second) + " and " +
                               llvm::Twine(input->shape[d]));
    }
  }
  return sizes;
}

/// Row-major strides of `term` over the loop letters `loop` (0 for letters
/// the term does not have: broadcasting).
static std::vector<int64_t> stridesFor(const std::string &term,
                                       const std::vector<int64_t> &shape,
                                       const std::string &loop) {
  std::vector<int64_t> strides(loop.size(), 0);
  int64_t stride = 1;
  for (int d = static_cast<int>(term.size()) - 1; d >= 0; --d) {
    strides[loop.find(term[d])] = stride;
    stride *= shape[d];
  }
  return strides;
}

llvm::Error Interpreter::executeContract(Operation *op, EinsumAttr equation,
                                         ValueRange inputs, bool combineAdd,
                                         bool reduceMax) {
  std::optional<Equation> eq = equation.getValue();
  llvm::SmallVector<const Tensor *> in;
  for (mlir::Value v : inputs)
    in.push_back(&get(v));
  auto sizes = letterSizes(op, *eq, in);
  if (!sizes)
    return sizes.takeError();
  std::string loop = eq->output + eq->reducedLetters();
  std::vector<int64_t> extent;
  for (char c : loop)
    extent.push_back((*sizes)[c]);
  std::vector<std::vector<int64_t>> strides;
  for (auto [term, value] : llvm::zip(eq->inputs, in))
    strides.push_back(stridesFor(term, value->shape, loop));

  std::vector<int64_t> outShape(extent.begin(),
                                extent.begin() + eq->output.size());
  double init = reduceMax ? kNegInf : 0.0;
  Tensor result = Tensor::filled(outShape, init);
  size_t numOut = eq->output.size(), numLoop = loop.size();
  std::vector<int64_t> index(numLoop, 0);
  int64_t total = 1;
  for (int64_t e : extent)
    total *= e;
  int64_t outElems = result.numElements();
  int64_t inner = outElems ? total / outElems : 0;
  // The odometer walks output letters outermost, reduced letters innermost,
  // so each output element is folded in one contiguous stretch.
  for (int64_t flat = 0; flat < total; ++flat) {
    double combined = combineAdd ? 0.0 : 1.0;
    for (size_t t = 0; t < in.size(); ++t) {
      int64_t off = 0;
      for (size_t l = 0; l < numLoop; ++l)
        off += index[l] * strides[t][l];
      double x = in[t]->data[off];
      combined = combineAdd ? combined + x : combined * x;
    }
    double &acc = result.data[flat / inner];
    acc = reduceMax ? maximumNaN(acc, combined) : acc + combined;
    for (int l = static_cast<int>(numLoop) - 1; l >= 0; --l) {
      if (++index[l] < extent[l])
        break;
      index[l] = 0;
    }
  }
  (void)numOut;
  env[op->getResult(0)] = std::move(result);
  return llvm::Error::success();
}

llvm::Error Interpreter::forEachPoint(Operation *op, EinsumAttr equation,
                                      ValueRange inputs, ValueRange captures,
                                      Block &body, std::vector<int64_t> &shape,
                                      PointFn visit) {
  std::optional<Equation> eq = equation.getValue();
  llvm::SmallVector<const Tensor *> in;
  for (mlir::Value v : inputs)
    in.push_back(&get(v));
  auto sizes = letterSizes(op, *eq, in);
  if (!sizes)
    return sizes.takeError();
  auto program = ScalarProgram::compile(body);
  if (!program)
    return program.takeError();
  const std::string &loop = eq->output;
  shape.clear();
  for (char c : loop)
    shape.push_back((*sizes)[c]);
  std::vector<std::vector<int64_t>> strides;
  for (auto [term, value] : llvm::zip(eq->inputs, in))
    strides.push_back(stridesFor(term, value->shape, loop));

  size_t rank = loop.size(), numIn = in.size();
  llvm::SmallVector<double> args(rank + numIn);
  llvm::SmallVector<const Tensor *> tensors(rank + numIn, nullptr);
  for (mlir::Value c : captures) {
    const Tensor &value = get(c);
    bool isTensor = isa<ShapedType>(c.getType());
    args.push_back(isTensor ? 0.0 : value.data[0]);
    tensors.push_back(isTensor ? &value : nullptr);
  }
  int64_t points = 1;
  for (int64_t e : shape)
    points *= e;
  std::vector<int64_t> index(rank, 0);
  llvm::SmallVector<double, 4> out;
  for (int64_t flat = 0; flat < points; ++flat) {
    for (size_t l = 0; l < rank; ++l)
      args[l] = static_cast<double>(index[l]);
    for (size_t t = 0; t < numIn; ++t) {
      int64_t off = 0;
      for (size_t l = 0; l < rank; ++l)
        off += index[l] * strides[t][l];
      args[rank + t] = in[t]->data[off];
    }
    out.clear();
    if (llvm::Error e = program->run(args, tensors, out))
      return e;
    if (llvm::Error e = visit(flat, index, out))
      return e;
    for (int l = static_cast<int>(rank) - 1; l >= 0; --l) {
      if (++index[l] < shape[l])
        break;
      index[l] = 0;
    }
  }
  return llvm::Error::success();
}

llvm::Error Interpreter::executeMap(MapOp op) {
  std::vector<int64_t> shape;
  Tensor result;
  bool sized = false;
  llvm::Error e = forEachPoint(
      op, op.getEquation(), op.getInputs(), op.getCaptures(),
      op.getBody().front(), shape,
      [&](int64_t flat, llvm::ArrayRef<int64_t>,
          llvm::ArrayRef<double> yielded) -> llvm::Error {
        if (!sized) {
          result = Tensor::filled(shape, 0.0);
          sized = true;
        }
        result.data[flat] = yielded[0];
        return llvm::Error::success();
      });
  if (e)
    return e;
  if (!sized) // An empty domain.
    result = Tensor::filled(shape, 0.0);
  env[op.getResult()] = std::move(result);
  return llvm::Error::success();
}

llvm::Error Interpreter::executeScatterAdd(ScatterAddOp op) {
  Tensor result = Tensor::filled(get(op.getLike()).shape, 0.0);
  std::vector<int64_t> shape, position(result.shape.size());
  llvm::Error e = forEachPoint(
      op, op.getEquation(), op.getInputs(), op.getCaptures(),
      op.getBody().front(), shape,
      [&](int64_t, llvm::ArrayRef<int64_t>,
          llvm::ArrayRef<double> yielded) -> llvm::Error {
        for (size_t d = 0; d < position.size(); ++d) {
          position[d] = toInt64(yielded[d]);
          if (position[d] < 0 || position[d] >= result.shape[d])
            return errorAt(op, "position " + llvm::Twine(position[d]) +
                                   " in dimension " + llvm::Twine(d) +
                                   " is outside the result (size " +
                                   llvm::Twine(result.shape[d]) + ")");
        }
        result.data[result.offset(position.data())] += yielded.back();
        return llvm::Error::success();
      });
  if (e)
    return e;
  env[op.getResult()] = std::move(result);
  return llvm::Error::success();
}

llvm::Error Interpreter::executeFor(scf::ForOp op) {
  auto asInt = [&](mlir::Value v) { return toInt64(get(v).data[0]); };
  int64_t lb = asInt(op.getLowerBound()), ub = asInt(op.getUpperBound()),
          step = asInt(op.getStep());
  if (step <= 0)
    return errorAt(op, "loop step must be positive, got " + llvm::Twine(step));
  std::vector<Tensor> carried;
  for (mlir::Value init : op.getInitArgs())
    carried.push_back(get(init));
  for (int64_t iv = lb; iv < ub; iv += step) {
    std::vector<Tensor> args{Tensor::scalar(static_cast<double>(iv))};
    args.insert(args.end(), carried.begin(), carried.end());
    auto results = runBlock(*op.getBody(), args);
    if (!results)
      return results.takeError();
    carried = std::move(*results);
  }
  for (auto [res, value] : llvm::zip(op.getResults(), carried))
    env[res] = value;
  return llvm::Error::success();
}

llvm::Error Interpreter::executeReshape(Operation *op) {
  Tensor value = get(op->getOperand(0));
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  SmallVector<ReassociationIndices> groups;
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
    groups = e.getReassociationIndices();
  else
    groups = cast<tensor::CollapseShapeOp>(op).getReassociationIndices();
  std::vector<int64_t> shape(resultType.getRank());
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(op)) {
    // Each source dim splits into its group, sized by the output shape.
    for (auto [d, size] : llvm::enumerate(e.getMixedOutputShape())) {
      std::optional<int64_t> c = getConstantIntValue(size);
      shape[d] = c ? *c : toInt64(get(cast<mlir::Value>(size)).data[0]);
    }
    for (auto [srcDim, group] : llvm::enumerate(groups)) {
      int64_t product = 1;
      bool overflow = false;
      for (int64_t d : group)
        overflow |= llvm::MulOverflow(product, shape[d], product);
      if (overflow || product != value.shape[srcDim])
        return errorAt(op, "expand_shape: dimension " + llvm::Twine(srcDim) +
                               " has runtime size " +
                               llvm::Twine(value.shape[srcDim]) +
                               ", not the product of its group (" +
                               llvm::Twine(product) + ")");
    }
  } else {
    for (auto [dstDim, group] : llvm::enumerate(groups)) {
      int64_t size = 1;
      for (int64_t d : group)
        size *= value.shape[d];
      shape[dstDim] = size;
    }
  }
  value.shape = std::move(shape);
  env[op->getResult(0)] = std::move(value);
  return llvm::Error::success();
}

/// The element positions of a strided slice of `whole`, in row-major order
/// of the slice; fails naming the dimension that leaves the tensor.
static llvm::Expected<std::vector<int64_t>>
slicePositions(Operation *op, const std::vector<int64_t> &whole,
               const std::vector<int64_t> &offsets,
               const std::vector<int64_t> &sizes,
               const std::vector<int64_t> &strides) {
  if (offsets.size() != whole.size())
    return errorAt(op, "rank-reducing slices are not supported");
  for (size_t d = 0; d < offsets.size(); ++d)
    if (offsets[d] < 0 || sizes[d] < 0 || strides[d] < 1 ||
        (sizes[d] > 0 &&
         offsets[d] + (sizes[d] - 1) * strides[d] >= whole[d]))
      return errorAt(op, "slice out of bounds in dimension " +
                             llvm::Twine(d));
  Tensor shape{whole, {}};
  std::vector<int64_t> positions;
  int64_t count = 1;
  for (int64_t s : sizes)
    count *= s;
  positions.reserve(count);
  std::vector<int64_t> index(sizes.size(), 0), at(sizes.size());
  for (int64_t flat = 0; flat < count; ++flat) {
    for (size_t d = 0; d < sizes.size(); ++d)
      at[d] = offsets[d] + index[d] * strides[d];
    positions.push_back(shape.offset(at.data()));
    for (int d = static_cast<int>(sizes.size()) - 1; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
  return positions;
}

/// Resolves mixed static/dynamic slice parameters to integers.
template <typename Env>
static std::vector<int64_t> resolveMixed(ArrayRef<OpFoldResult> mixed,
                                         Env &&get) {
  std::vector<int64_t> values;
  for (OpFoldResult ofr : mixed) {
    if (auto attr = dyn_cast<Attribute>(ofr))
      values.push_back(cast<IntegerAttr>(attr).getInt());
    else
      values.push_back(toInt64(get(cast<mlir::Value>(ofr)).data[0]));
  }
  return values;
}

llvm::Error Interpreter::executeSlice(tensor::ExtractSliceOp op) {
  const Tensor &source = get(op.getSource());
  auto getter = [&](mlir::Value v) -> const Tensor & { return get(v); };
  std::vector<int64_t> sizes = resolveMixed(op.getMixedSizes(), getter);
  auto positions = slicePositions(
      op, source.shape, resolveMixed(op.getMixedOffsets(), getter), sizes,
      resolveMixed(op.getMixedStrides(), getter));
  if (!positions)
    return positions.takeError();
  Tensor result = Tensor::filled(sizes, 0.0);
  for (size_t k = 0; k < positions->size(); ++k)
    result.data[k] = source.data[(*positions)[k]];
  env[op.getResult()] = std::move(result);
  return llvm::Error::success();
}

llvm::Error Interpreter::executeInsertSlice(tensor::InsertSliceOp op) {
  const Tensor &source = get(op.getSource());
  Tensor dest = get(op.getDest());
  auto getter = [&](mlir::Value v) -> const Tensor & { return get(v); };
  std::vector<int64_t> sizes = resolveMixed(op.getMixedSizes(), getter);
  // A rank-reducing insert drops unit dimensions of the slice.
  std::vector<int64_t> nonUnit, sourceNonUnit;
  for (int64_t d : sizes)
    if (d != 1)
      nonUnit.push_back(d);
  for (int64_t d : source.shape)
    if (d != 1)
      sourceNonUnit.push_back(d);
  if (nonUnit != sourceNonUnit)
    return errorAt(op, "inserted tensor does not have the slice's sizes");
  auto positions = slicePositions(
      op, dest.shape, resolveMixed(op.getMixedOffsets(), getter), sizes,
      resolveMixed(op.getMixedStrides(), getter));
  if (!positions)
    return positions.takeError();
  for (size_t k = 0; k < positions->size(); ++k)
    dest.data[(*positions)[k]] = source.data[k];
  env[op.getResult()] = std::move(dest);
  return llvm::Error::success();
}

llvm::Error Interpreter::executeIf(scf::IfOp op) {
  bool cond = get(op.getCondition()).data[0] != 0;
  Region &region = cond ? op.getThenRegion() : op.getElseRegion();
  if (region.empty())
    return llvm::Error::success();
  auto results = runBlock(region.front(), {});
  if (!results)
    return results.takeError();
  for (auto [res, value] : llvm::zip(op.getResults(), *results))
    env[res] = value;
  return llvm::Error::success();
}

llvm::Error Interpreter::executeTileClass(TileClassOp op) {
  auto index = [&](mlir::Value v) { return toInt64(get(v).data[0]); };
  MaskContext context{index(op.getB()), index(op.getH()), index(op.getNq()),
                      index(op.getNk()), {}, {}};
  for (mlir::Value c : op.getCaptures()) {
    std::optional<int64_t> value;
    std::optional<TensorView> view;
    if (c.getType().isIntOrIndex())
      value = index(c);
    else if (isa<RankedTensorType>(c.getType()))
      view = TensorView{get(c).shape, get(c).data};
    context.captureScalars.push_back(value);
    context.captureTensors.push_back(view);
  }
  Tile tile{index(op.getI0()), index(op.getI1()), index(op.getJ0()),
            index(op.getJ1())};
  if (tile.i0 >= tile.i1 || tile.j0 >= tile.j1)
    return errorAt(op, "empty tile");
  TileClass cls = MaskAnalysis(op.getMask()).classify(context, tile);
  int64_t result = cls == TileClass::Empty  ? TileClassOp::kEmpty
                   : cls == TileClass::Full ? TileClassOp::kFull
                                            : TileClassOp::kPartial;
  if (counters) {
    counters->tilesEmpty += cls == TileClass::Empty;
    counters->tilesFull += cls == TileClass::Full;
    counters->tilesPartial += cls == TileClass::Partial;
  }
  env[op.getResult()] = Tensor::scalar(static_cast<double>(result));
  return llvm::Error::success();
}

llvm::Expected<std::vector<Tensor>>
attn::interp::runFunction(func::FuncOp func, llvm::ArrayRef<Tensor> args,
                          Counters *counters, int64_t kvSplits) {
  if (kvSplits < 1)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the split count (attn.kv_splits) must be "
                                   ">= 1, got " +
                                       std::to_string(kvSplits));
  if (func.isExternal())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "function '" + func.getName().str() +
                                       "' has no body");
  if (args.size() != func.getNumArguments())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "function '" + func.getName().str() + "' takes " +
            std::to_string(func.getNumArguments()) + " arguments, got " +
            std::to_string(args.size()));
  for (auto [idx, pair] :
       llvm::enumerate(llvm::zip(func.getArgumentTypes(), args))) {
    auto [type, value] = pair;
    auto tensorType = dyn_cast<RankedTensorType>(type);
    size_t rank = tensorType ? tensorType.getRank() : 0;
    bool ok = value.shape.size() == rank &&
              static_cast<int64_t>(value.data.size()) == value.numElements();
    for (size_t d = 0; ok && d < rank; ++d)
      ok = ShapedType::isDynamic(tensorType.getDimSize(d)) ||
           tensorType.getDimSize(d) == value.shape[d];
    if (!ok)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "argument " + std::to_string(idx) + " does not match its type");
  }
  Interpreter interpreter(counters, kvSplits);
  return interpreter.runBlock(func.getBody().front(), args);
}

//===----------------------------------------------------------------------===//
// The schedule: shared buffers and asynchronous copies
//===----------------------------------------------------------------------===//

void Interpreter::land(const PendingCopy &copy) {
  Tensor &buffer = env[copy.buffer];
  int64_t rows = buffer.shape[1], cols = buffer.shape[2];
  std::copy(copy.rows.data.begin(), copy.rows.data.end(),
            buffer.data.begin() + copy.stage * rows * cols);
}

llvm::Error Interpreter::executeSchedule(Operation &op) {
  if (auto buffer = dyn_cast<SharedBufferOp>(op)) {
    auto type = cast<MemRefType>(buffer.getBuffer().getType());
    // Poisoned: a stage read before any copy landed in it is NaN.
    env[buffer.getBuffer()] = Tensor::filled(
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
        std::numeric_limits<double>::quiet_NaN());
    return llvm::Error::success();
  }
  if (auto copy = dyn_cast<AsyncCopyOp>(op)) {
    const Tensor &source = get(copy.getSource());
    const Tensor &buffer = get(copy.getBuffer());
    int64_t stage = static_cast<int64_t>(get(copy.getStage()).data[0]);
    int64_t valid = static_cast<int64_t>(get(copy.getRows()).data[0]);
    int64_t rows = buffer.shape[1], cols = buffer.shape[2];
    int64_t sourceRows = source.shape[source.shape.size() - 2];
    if (stage < 0 || stage >= buffer.shape[0])
      return errorAt(&op, "stage " + llvm::Twine(stage) + " of a " +
                              llvm::Twine(buffer.shape[0]) + "-stage buffer");
    if (valid < 0 || valid > rows || valid > sourceRows)
      return errorAt(&op, llvm::Twine(valid) + " rows do not fit the tile (" +
                              llvm::Twine(sourceRows) + ") and the stage (" +
                              llvm::Twine(rows) + ")");
    Tensor data = Tensor::filled({rows, cols}, 0.0);
    std::copy(source.data.begin(), source.data.begin() + valid * cols,
              data.data.begin());
    openGroup.push_back({copy.getBuffer(), stage, std::move(data)});
    return llvm::Error::success();
  }
  if (isa<AsyncCommitOp>(op)) {
    committedGroups.push_back(std::move(openGroup));
    openGroup.clear();
    return llvm::Error::success();
  }
  if (auto wait = dyn_cast<AsyncWaitOp>(op)) {
    while (static_cast<uint64_t>(committedGroups.size()) > wait.getPending()) {
      for (const PendingCopy &copy : committedGroups.front())
        land(copy);
      committedGroups.pop_front();
    }
    return llvm::Error::success();
  }
  if (isa<BarrierOp>(op))
    return llvm::Error::success();
  if (auto read = dyn_cast<ReadStageOp>(op)) {
    const Tensor &buffer = get(read.getBuffer());
    int64_t stage = static_cast<int64_t>(get(read.getStage()).data[0]);
    int64_t valid = static_cast<int64_t>(get(read.getRows()).data[0]);
    int64_t rows = buffer.shape[1], cols = buffer.shape[2];
    if (stage < 0 || stage >= buffer.shape[0] || valid < 0 || valid > rows)
      return errorAt(&op, "stage " + llvm::Twine(stage) + ", " +
                              llvm::Twine(valid) + " rows: outside the buffer");
    RankedTensorType type = read.getResult().getType();
    std::vector<int64_t> shape;
    for (int64_t d : type.getShape())
      shape.push_back(ShapedType::isDynamic(d) ? valid : d);
    Tensor result = Tensor::filled(shape, 0.0);
    auto begin = buffer.data.begin() + stage * rows * cols;
    std::copy(begin, begin + valid * cols, result.data.begin());
    env[read.getResult()] = std::move(result);
    return llvm::Error::success();
  }
  auto load = cast<LoadFragmentsOp>(op);
  Tensor value = get(load.getSource()); // env may grow: copy first
  env[load.getResult()] = std::move(value);
  return llvm::Error::success();
}
