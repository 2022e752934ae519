//===- Analyze.cpp - FuseMax pass-count analysis (-attn-analyze) ----------===//
//
// Counts the passes over K/V that an einsum cascade needs, as written and
// after the online rewrite, from the dependences between cascade ops (FuseMax,
// Section 4). A "KV reduction" (an attn.reduce or attn.contract that folds the
// KV letter away) must see the whole K/V row before an op that iterates over
// KV again can use it: each such dependence on a path starts a new pass. The
// online rewrite removes a dependence when the reduction only enters the
// consumer as a multiplicative factor (exp of a difference with it, or a ratio
// or product with it) and everything after the consumer up to the next KV
// reductions is linear, so that partial results computed with a running value
// can be corrected by a factor later.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/AttnDialect.h"
#include "attn/Dialect/Equation.h"
#include "attn/Passes/PassCount.h"
#include "attn/Passes/Passes.h"
#include "CascadeUtils.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVectorExtras.h"

#include <deque>
#include <optional>

namespace attn {
#define GEN_PASS_DEF_ATTNANALYZE
#include "attn/Passes/Passes.h.inc"
} // namespace attn

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Cascade op queries
//===----------------------------------------------------------------------===//

using attn::isCascadeOp;

/// The equation of a cascade op; std::nullopt for other ops (which the
/// analysis treats as transparent).
std::optional<attn::Equation> equationOf(Operation *op) {
  if (!isCascadeOp(op))
    return std::nullopt;
  return attn::equationOf(op);
}

/// True when `op` is a cascade op with `kv` in an input or its output term.
bool iteratesOver(Operation *op, char kv) {
  std::optional<attn::Equation> eq = equationOf(op);
  if (!eq)
    return false;
  return eq->output.find(kv) != std::string::npos ||
         eq->allInputLetters().find(kv) != std::string::npos;
}

/// True when `op` folds `kv` away: an attn.reduce or attn.contract with `kv`
/// in an input term but not in its output. (A map never folds.)
bool isKvReduction(Operation *op, char kv) {
  if (!isa<attn::ContractOp, attn::ReduceOp>(op))
    return false;
  std::optional<attn::Equation> eq = equationOf(op);
  return eq && eq->reducedLetters().find(kv) != std::string::npos;
}

/// The fold of a reduction op (attn.reduce kind or attn.contract reduce).
attn::ReduceKind reductionKind(Operation *op) {
  if (auto reduce = dyn_cast<attn::ReduceOp>(op))
    return reduce.getKind();
  return cast<attn::ContractOp>(op).getReduce();
}

/// "'attn.reduce' max over 'j'".
std::string describeReduction(Operation *op, char kv) {
  return ("'" + op->getName().getStringRef() + "' " +
          attn::stringifyReduceKind(reductionKind(op)) + " over '" +
          StringRef(&kv, 1) + "'")
      .str();
}

bool isFunctionReturn(Operation *op) {
  return op->hasTrait<OpTrait::ReturnLike>() &&
         isa_and_nonnull<FunctionOpInterface>(op->getParentOp());
}

bool isConstant(Value v) { return matchPattern(v, m_Constant()); }

//===----------------------------------------------------------------------===//
// KV letter
//===----------------------------------------------------------------------===//

/// The letter reduced by the contraction nearest to the function's results,
/// the first result first (P·V: "bhij,bhjf->bhif" reduces j). Searches
/// backwards breadth-first so that epilogues after P·V (a deferred division, a
/// collapse_shape) are skipped. A reduced letter that some cascade op
/// materialises in its output (j in the scores "bhij") is preferred over one
/// that only indexes function arguments (d of q·k), so that a first result
/// such as lse = max + log(sum), which reaches only the q·k contraction, does
/// not hide P·V behind it. Returns 0 when no contraction on the way reduces a
/// letter.
char findKvLetter(FunctionOpInterface func) {
  std::string materialised;
  func.walk([&](Operation *op) {
    if (std::optional<attn::Equation> eq = equationOf(op))
      materialised += eq->output;
  });
  Operation *ret = nullptr;
  for (Block &block : func.getFunctionBody())
    if (!block.empty() && isFunctionReturn(&block.back())) {
      ret = &block.back();
      break;
    }
  if (!ret || ret->getNumOperands() == 0)
    return 0;

  std::deque<Value> queue(ret->getOperands().begin(), ret->getOperands().end());
  llvm::DenseSet<Operation *> seen;
  char fallback = 0;
  while (!queue.empty()) {
    Value value = queue.front();
    queue.pop_front();
    Operation *def = value.getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    if (isa<attn::ContractOp>(def)) {
      std::optional<attn::Equation> eq = equationOf(def);
      std::string reduced = eq ? eq->reducedLetters() : std::string();
      for (char letter : reduced)
        if (materialised.find(letter) != std::string::npos)
          return letter;
      if (!reduced.empty() && !fallback)
        fallback = reduced.front();
    }
    for (Value operand : def->getOperands())
      queue.push_back(operand);
  }
  return fallback;
}

//===----------------------------------------------------------------------===//
// Map bodies: how does a value enter the yielded element?
//===----------------------------------------------------------------------===//

/// How a body value depends on the tracked block arguments (those carrying a
/// reduction R, or a value scaled by a running factor).
enum class Form {
  /// Independent of the tracked arguments.
  Clean,
  /// A function of the tracked arguments and constants only (per row).
  Pure,
  /// Additively separable: a(clean) + f(R); fine inside exp.
  Exponent,
  /// Multiplicatively separable: a(clean) · g(R); fine for the rewrite.
  Scaled,
  /// Neither: the consumer needs the final value of R.
  Blocked,
};

/// What the body analysis found out about the tracked arguments.
struct BodyUse {
  /// A difference with R went through exp / exp2 (running-max correction).
  bool viaExp = false;
  /// R entered a product or a ratio (deferred scale factor).
  bool viaScale = false;
  /// The first op at which the dependence stopped being separable.
  Operation *blocker = nullptr;
};

/// Merges the two values an arith.select chooses between; a constant (such
/// as the 0 of a masked-row guard) takes the form of the other side.
Form joinSelected(Form a, bool aConst, Form b, bool bConst) {
  if (aConst)
    return b;
  if (bConst || a == b)
    return a;
  auto either = [&](Form x, Form y) {
    return (a == x && b == y) || (a == y && b == x);
  };
  // A pure value is both an additive and a multiplicative term.
  if (either(Form::Pure, Form::Scaled))
    return Form::Scaled;
  if (either(Form::Pure, Form::Exponent))
    return Form::Exponent;
  return Form::Blocked;
}

/// Transfer function of one body op.
Form transfer(Operation *op, ArrayRef<Form> in, BodyUse &use) {
  auto operandForms = llvm::zip(op->getOperands(), in);
  if (llvm::all_of(in, [](Form f) { return f == Form::Clean; }))
    return Form::Clean;
  if (llvm::is_contained(in, Form::Blocked))
    return Form::Blocked;
  // Any computation on R alone (a per-row value, e.g. the isinf(max) guard or
  // log(sum)) keeps it a per-row value.
  if (op->getNumRegions() == 0 && llvm::all_of(operandForms, [](auto pair) {
        return std::get<1>(pair) == Form::Pure || isConstant(std::get<0>(pair));
      }))
    return Form::Pure;

  auto allIn = [&](std::initializer_list<Form> allowed) {
    return llvm::all_of(in,
                        [&](Form f) { return llvm::is_contained(allowed, f); });
  };
  if (isa<arith::AddFOp, arith::SubFOp>(op) &&
      allIn({Form::Clean, Form::Pure, Form::Exponent}))
    return Form::Exponent;
  if (isa<arith::NegFOp, arith::ExtFOp, arith::TruncFOp>(op))
    return in[0];
  if (isa<arith::MulFOp, arith::DivFOp>(op)) {
    if (allIn({Form::Clean, Form::Pure, Form::Scaled})) {
      use.viaScale = true;
      return Form::Scaled;
    }
    // A constant scale of an exponent (exp2-based softmax) stays separable.
    bool exponentTimesConstant =
        (in[0] == Form::Exponent && isConstant(op->getOperand(1))) ||
        (in[1] == Form::Exponent && isConstant(op->getOperand(0)) &&
         isa<arith::MulFOp>(op));
    if (exponentTimesConstant)
      return Form::Exponent;
    return Form::Blocked;
  }
  if (isa<math::ExpOp, math::Exp2Op>(op) && in[0] == Form::Exponent) {
    use.viaExp = true;
    return Form::Scaled;
  }
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    // A per-row condition (R compared with a constant: the fully-masked-row
    // guard) chooses the same branch for the whole row; it does not mix R
    // into the chosen value.
    if (in[0] != Form::Clean && in[0] != Form::Pure)
      return Form::Blocked;
    return joinSelected(in[1], isConstant(select.getTrueValue()), in[2],
                        isConstant(select.getFalseValue()));
  }
  if (isa<tensor::ExtractOp>(op) && in[0] == Form::Pure)
    return Form::Pure;
  return Form::Blocked;
}

/// Classifies the element yielded by `map` when the block arguments of the
/// operands in `tracked` (operand numbers) have form `seed`.
Form classifyBody(attn::MapOp map, ArrayRef<unsigned> tracked, Form seed,
                  BodyUse &use) {
  Block &body = map.getBody().front();
  // Block arguments: one index per output letter, then one per operand
  // (inputs, then captures) in operand order.
  unsigned firstOperandArg = body.getNumArguments() - map->getNumOperands();
  llvm::DenseMap<Value, Form> forms;
  for (unsigned operand : tracked)
    forms[body.getArgument(firstOperandArg + operand)] = seed;
  auto formOf = [&](Value v) { return forms.lookup(v); }; // default: Clean

  for (Operation &op : body) {
    if (auto yield = dyn_cast<attn::YieldOp>(op)) {
      if (yield.getValues().empty())
        return Form::Clean;
      Value value = yield.getValues().front();
      Form form = formOf(value);
      if (form == Form::Exponent && !use.blocker)
        use.blocker = value.getDefiningOp() ? value.getDefiningOp() : map;
      return form;
    }
    SmallVector<Form> in = llvm::map_to_vector(op.getOperands(), formOf);
    // A tracked value used inside a nested region (scf.if, ...) is mixed in
    // by control flow we do not model.
    bool usedInRegion = false;
    op.walk([&](Operation *nested) {
      if (nested != &op)
        usedInRegion |= llvm::any_of(nested->getOperands(), [&](Value v) {
          return formOf(v) != Form::Clean;
        });
    });
    Form form = usedInRegion ? Form::Blocked : transfer(&op, in, use);
    if (form == Form::Blocked && !use.blocker &&
        !llvm::is_contained(in, Form::Blocked))
      use.blocker = &op;
    for (Value result : op.getResults())
      forms[result] = form;
  }
  return Form::Blocked;
}

//===----------------------------------------------------------------------===//
// The analysis
//===----------------------------------------------------------------------===//

/// Dependence summary of one SSA value.
struct ValueInfo {
  /// Longest path, in counted edges, ending at the producer (as written and
  /// after the online rewrite).
  unsigned written = 0;
  unsigned online = 0;
  /// KV reductions this value derives from through ops not iterating over KV.
  llvm::SmallSetVector<Operation *, 2> pending;
};

class PassCounter {
public:
  PassCounter(char kv) : kv(kv) {}

  /// Fills `result` for the ops of `func`.
  void run(FunctionOpInterface func, attn::PassCount &result);

private:
  void visit(Operation *op, attn::PassCount &result);
  attn::PassCountEdge classifyEdge(Operation *reduction, Operation *consumer);
  /// Checks that partial results of `consumer` scaled by a factor stay scaled
  /// by that factor up to the next KV reductions; on failure says why.
  bool linearDownstream(Operation *consumer, std::string &why);

  char kv;
  llvm::DenseMap<Value, ValueInfo> infos;
  /// Levels of the KV-iterating ops (written, online).
  llvm::DenseMap<Operation *, std::pair<unsigned, unsigned>> levels;
  unsigned maxWritten = 0;
  unsigned maxOnline = 0;
};

void PassCounter::run(FunctionOpInterface func, attn::PassCount &result) {
  for (Block &block : func.getFunctionBody())
    for (Operation &top : block)
      top.walk<WalkOrder::PreOrder>([&](Operation *op) {
        visit(op, result);
        // Map bodies are scalar code, analysed per dependence edge.
        return isa<attn::MapOp, attn::AttentionOp>(op) ? WalkResult::skip()
                                                       : WalkResult::advance();
      });
  result.asWritten = 1 + maxWritten;
  result.online = 1 + maxOnline;
}

void PassCounter::visit(Operation *op, attn::PassCount &result) {
  // Shapes carry no data dependence.
  if (isa<tensor::DimOp>(op) || op->getNumResults() == 0)
    return;

  ValueInfo out;
  if (isCascadeOp(op) && iteratesOver(op, kv)) {
    // Each KV reduction reaching this op through non-KV ops is a dependence
    // that starts a new pass unless the online rewrite removes it.
    llvm::SmallSetVector<Operation *, 4> reductions;
    for (Value operand : op->getOperands()) {
      auto it = infos.find(operand);
      if (it == infos.end())
        continue;
      out.written = std::max(out.written, it->second.written);
      out.online = std::max(out.online, it->second.online);
      reductions.insert(it->second.pending.begin(), it->second.pending.end());
    }
    for (Operation *reduction : reductions) {
      attn::PassCountEdge edge = classifyEdge(reduction, op);
      auto [written, online] = levels.lookup(reduction);
      out.written = std::max(out.written, written + 1);
      out.online = std::max(out.online, online + (edge.correctable ? 0 : 1));
      result.edges.push_back(std::move(edge));
    }
    levels[op] = {out.written, out.online};
    if (isKvReduction(op, kv))
      out.pending.insert(op);
  } else {
    // Ops outside the K/V loop (per-row maps, reshapes) forward dependences.
    for (Value operand : op->getOperands()) {
      auto it = infos.find(operand);
      if (it == infos.end())
        continue;
      out.written = std::max(out.written, it->second.written);
      out.online = std::max(out.online, it->second.online);
      out.pending.insert(it->second.pending.begin(), it->second.pending.end());
    }
  }
  maxWritten = std::max(maxWritten, out.written);
  maxOnline = std::max(maxOnline, out.online);
  for (Value res : op->getResults())
    infos[res] = out;
}

attn::PassCountEdge PassCounter::classifyEdge(Operation *reduction,
                                              Operation *consumer) {
  attn::PassCountEdge edge;
  edge.reduction = reduction;
  edge.consumer = consumer;
  std::string head = describeReduction(reduction, kv) + " feeds '" +
                     consumer->getName().getStringRef().str() + "'";
  attn::ReduceKind kind = reductionKind(reduction);
  // Only a fold with a running value (max, sum) can be continued online.
  if (kind != attn::ReduceKind::Max && kind != attn::ReduceKind::Add) {
    edge.reason = head + ": not a max or sum, needs the complete row";
    return edge;
  }

  std::string how;
  if (auto map = dyn_cast<attn::MapOp>(consumer)) {
    SmallVector<unsigned> tracked;
    for (OpOperand &operand : map->getOpOperands()) {
      auto it = infos.find(operand.get());
      if (it != infos.end() && it->second.pending.contains(reduction))
        tracked.push_back(operand.getOperandNumber());
    }
    BodyUse use;
    Form form = classifyBody(map, tracked, Form::Pure, use);
    if (form == Form::Exponent || form == Form::Blocked) {
      std::string blocker =
          use.blocker ? use.blocker->getName().getStringRef().str() : "?";
      edge.reason = head + " through '" + blocker +
                    "', not a correctable factor: needs the complete row";
      return edge;
    }
    if (use.viaExp)
      how = std::string(" through exp(x - ") +
            (kind == attn::ReduceKind::Max ? "max" : "sum") + ")";
    if (use.viaScale)
      how += use.viaExp ? " and as a scale factor" : " as a scale factor";
    if (how.empty())
      how = " without using its value";
  } else if (auto contract = dyn_cast<attn::ContractOp>(consumer);
             contract && contract.getCombine() == attn::CombineKind::Mul) {
    how = " as a factor of the product";
  } else {
    edge.reason = head + " non-multiplicatively: needs the complete row";
    return edge;
  }

  std::string why;
  if (!linearDownstream(consumer, why)) {
    edge.reason = head + how + ", but " + why + ": needs the complete row";
    return edge;
  }
  edge.correctable = true;
  edge.reason = head + how + ": corrected online";
  return edge;
}

bool PassCounter::linearDownstream(Operation *consumer, std::string &why) {
  auto foldsLinearly = [&](Operation *op) {
    attn::ReduceKind kind = reductionKind(op);
    if (kind == attn::ReduceKind::Add || kind == attn::ReduceKind::Max)
      return true;
    why = describeReduction(op, kv) + " does not commute with a scale factor";
    return false;
  };
  // The consumer's own fold is the running state that gets corrected.
  if (isKvReduction(consumer, kv))
    return foldsLinearly(consumer);

  SmallVector<Value> worklist(consumer->getResults());
  llvm::DenseSet<Operation *> seen;
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<tensor::DimOp>(user))
        continue;
      if (isFunctionReturn(user)) {
        why = "a result is taken before the reduction over '" +
              std::string(1, kv) + "'";
        return false;
      }
      if (!isCascadeOp(user)) {
        if (seen.insert(user).second)
          llvm::append_range(worklist, user->getResults());
        continue;
      }
      if (!iteratesOver(user, kv))
        continue;
      if (auto map = dyn_cast<attn::MapOp>(user)) {
        BodyUse bodyUse;
        Form form =
            classifyBody(map, {use.getOperandNumber()}, Form::Scaled, bodyUse);
        if (form != Form::Clean && form != Form::Scaled) {
          std::string blocker =
              bodyUse.blocker ? bodyUse.blocker->getName().getStringRef().str()
                              : "?";
          why = "'attn.map' downstream uses it through '" + blocker + "'";
          return false;
        }
      } else if (auto contract = dyn_cast<attn::ContractOp>(user)) {
        if (contract.getCombine() != attn::CombineKind::Mul) {
          why = "'attn.contract' downstream adds it to another operand";
          return false;
        }
        if (!foldsLinearly(user))
          return false;
      } else if (!foldsLinearly(user)) {
        return false;
      }
      // A later KV reduction is itself a running state: stop there.
      if (!isKvReduction(user, kv) && seen.insert(user).second)
        llvm::append_range(worklist, user->getResults());
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct AttnAnalyzePass : attn::impl::AttnAnalyzeBase<AttnAnalyzePass> {
  void runOnOperation() override {
    getOperation()->walk([](FunctionOpInterface func) {
      attn::PassCount count = attn::analyzePassCount(func);
      if (!count.hasCascade)
        return;
      if (!count.kvLetter) {
        func.emitRemark("no K/V loop: no attn.contract on the path to the "
                        "first result reduces a letter; pass count skipped");
        return;
      }
      func.emitRemark(count.str());
    });
  }
};

} // namespace

std::string attn::PassCount::str() const {
  std::string text = "pass count: " + std::to_string(asWritten) +
                     " as written, " + std::to_string(online) +
                     " after the online rewrite (KV letter '" +
                     std::string(1, kvLetter) + "')";
  if (edges.empty())
    text += "; no reduction over '" + std::string(1, kvLetter) +
            "' feeds a later op over '" + std::string(1, kvLetter) + "'";
  for (const PassCountEdge &edge : edges)
    text += "; " + edge.reason;
  return text;
}

attn::PassCount attn::analyzePassCount(FunctionOpInterface func) {
  PassCount result;
  if (func.isExternal())
    return result;
  func.walk([&](Operation *op) {
    if (isCascadeOp(op))
      result.hasCascade = true;
  });
  if (!result.hasCascade)
    return result;
  result.kvLetter = findKvLetter(func);
  if (!result.kvLetter)
    return result;
  PassCounter(result.kvLetter).run(func, result);
  return result;
}
