//===- ScalarProgram.cpp - compiled scalar regions ------------------------===//
//
// Runs region bodies with the float64 / int64 semantics of the region-op
// registry (attn/Dialect/RegionOps.h); reads of captured tensors are the one
// thing done here, on the interpreter's own tensors.
//
//===----------------------------------------------------------------------===//

#include "attn/Interpreter/ScalarProgram.h"

#include "attn/Dialect/RegionOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/raw_ostream.h"


using namespace mlir;
using namespace attn::interp;
namespace regionops = attn::regionops;

llvm::Error attn::interp::errorAt(Operation *op, const llvm::Twine &message) {
  std::string text;
  llvm::raw_string_ostream os(text);
  // Locations print as file:line:col, like compiler diagnostics.
  Location loc = op->getLoc();
  if (auto named = dyn_cast<NameLoc>(loc))
    loc = named.getChildLoc();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn();
  else
    os << loc;
  os << ": '" << op->getName() << "': " << message;
  return llvm::createStringError(llvm::inconvertibleErrorCode(), os.str());
}

/// Reads element or dimension of a captured tensor (tensor.extract /
/// tensor.dim): the one thing the registry leaves to each consumer.
static llvm::Expected<double> readTensor(Operation *op, const double *x,
                                         const Tensor *t) {
  auto i = [&](int k) { return toInt64(x[k]); };
  if (!t)
    return errorAt(op, "operand is not a host tensor");
  if (isa<tensor::DimOp>(op)) {
    int64_t d = i(1);
    if (d < 0 || d >= static_cast<int64_t>(t->shape.size()))
      return errorAt(op, "dimension " + llvm::Twine(d) +
                             " out of range for a rank-" +
                             llvm::Twine(t->shape.size()) + " tensor");
    return static_cast<double>(t->shape[d]);
  }
  size_t rank = t->shape.size();
  if (rank > 8)
    return errorAt(op, "captured tensors of rank above 8 are not supported");
  int64_t index[8];
  for (size_t d = 0; d < rank; ++d) {
    index[d] = i(1 + d);
    if (index[d] < 0 || index[d] >= t->shape[d])
      return errorAt(op, "index " + llvm::Twine(index[d]) +
                             " out of bounds for dimension " + llvm::Twine(d) +
                             " of size " + llvm::Twine(t->shape[d]));
  }
  return t->data[t->offset(index)];
}

/// Executes one op on operand values `x` through its registry rule.
static llvm::Expected<double> execute(const regionops::Rule &rule,
                                      Operation *op, const double *x,
                                      const Tensor *tensor) {
  if (rule.isTensorRead)
    return readTensor(op, x, tensor);
  regionops::EvalResult r = rule.evaluate(op, x);
  if (r.error)
    return errorAt(op, r.error);
  return r.value;
}

/// The rule of `op`, or an error naming it.
static llvm::Expected<const regionops::Rule *> ruleOf(Operation *op) {
  const regionops::Rule *rule = regionops::lookup(op);
  if (!rule)
    return errorAt(op, "the reference interpreter cannot execute this op");
  if (op->getNumRegions() || op->getNumResults() != 1)
    return errorAt(op, "expected a scalar op with one result");
  if (op->getNumOperands() > kMaxOperands)
    return errorAt(op, "too many operands for a scalar op");
  return rule;
}

llvm::Expected<ScalarProgram> ScalarProgram::compile(Block &block) {
  ScalarProgram program;
  llvm::DenseMap<mlir::Value, int> slotOf;
  for (BlockArgument arg : block.getArguments())
    slotOf[arg] = program.numSlots++;
  program.numArgs = program.numSlots;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      for (mlir::Value v : op.getOperands())
        program.yielded.push_back(slotOf.lookup(v));
      break;
    }
    llvm::Expected<const regionops::Rule *> rule = ruleOf(&op);
    if (!rule)
      return rule.takeError();
    Instr instr{*rule, static_cast<int>(program.numSlots++), {}, &op};
    // Constants are evaluated once, here.
    if (isa<arith::ConstantOp>(op)) {
      llvm::Expected<double> c = execute(**rule, &op, nullptr, nullptr);
      if (!c)
        return c.takeError();
      instr.constant = *c;
    }
    for (mlir::Value v : op.getOperands()) {
      auto it = slotOf.find(v);
      if (it == slotOf.end())
        return errorAt(&op, "operand defined outside the region");
      instr.operands.push_back(it->second);
    }
    slotOf[op.getResult(0)] = instr.result;
    program.instrs.push_back(std::move(instr));
  }
  return program;
}

llvm::Error ScalarProgram::run(llvm::ArrayRef<double> args,
                               llvm::ArrayRef<const Tensor *> tensors,
                               llvm::SmallVectorImpl<double> &results) const {
  llvm::SmallVector<double, 64> slots(numSlots, 0.0);
  for (unsigned a = 0; a < numArgs && a < args.size(); ++a)
    slots[a] = args[a];
  double operands[kMaxOperands];
  for (const Instr &instr : instrs) {
    if (isa<arith::ConstantOp>(instr.op)) {
      slots[instr.result] = instr.constant;
      continue;
    }
    size_t n = instr.operands.size();
    for (size_t k = 0; k < n; ++k)
      operands[k] = slots[instr.operands[k]];
    const Tensor *tensor = nullptr;
    if (instr.rule->isTensorRead &&
        instr.operands[0] < static_cast<int>(tensors.size()))
      tensor = tensors[instr.operands[0]];
    llvm::Expected<double> r =
        execute(*instr.rule, instr.op, operands, tensor);
    if (!r)
      return r.takeError();
    slots[instr.result] = *r;
  }
  results.clear();
  for (int s : yielded)
    results.push_back(slots[s]);
  return llvm::Error::success();
}

llvm::Expected<double>
ScalarProgram::evalOne(Operation *op, llvm::ArrayRef<double> operands,
                       llvm::ArrayRef<const Tensor *> tensors) {
  llvm::Expected<const regionops::Rule *> rule = ruleOf(op);
  if (!rule)
    return rule.takeError();
  double x[kMaxOperands] = {0};
  for (size_t k = 0; k < operands.size() && k < kMaxOperands; ++k)
    x[k] = operands[k];
  return execute(**rule, op, x, tensors.empty() ? nullptr : tensors[0]);
}
