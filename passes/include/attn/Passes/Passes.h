//===- Passes.h - attn passes -------------------------------------*- C++ -*-===//
//
// Pass declarations and the registration shared by every attn tool.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_PASSES_H
#define ATTN_PASSES_PASSES_H

#include "attn/Dialect/AttnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace attn {

#define GEN_PASS_DECL
#include "attn/Passes/Passes.h.inc"

/// Rewrites one attention op into its einsum cascade (what -attn-decompose
/// does to every op). Fails, with a diagnostic on `op`, when the op cannot be
/// decomposed.
mlir::LogicalResult decomposeAttention(AttentionOp op);

/// Rewrites every scf.if in the regions of attn ops under `root` into
/// straight-line code, as -attn-if-convert does: both branches run, each
/// result is an arith.select on the condition, and the ops that could trap
/// or read out of bounds where their branch is not taken get safe operands
/// there (regionops::speculationGuard). Innermost ifs go first.
void convertRegionIfs(mlir::Operation *root);

/// Rewrites every element-wise region op over ranked tensors at the level
/// of the functions under `root` (`arith.subf %o1, %o2 : tensor<...>`) into
/// an attn.map whose body is the op on scalars, as -attn-elementwise-to-map
/// does; a tensor.splat operand becomes a capture, a splat constant a
/// constant in the body.
void convertElementwiseTensorOps(mlir::Operation *root);

/// The functions -attn-derive-backward adds beside a forward `f`.
struct BackwardFunctions {
  /// `f_forward`: the decomposed forward, returning its results and then the
  /// forward state (the reductions the backward reads), in that order.
  mlir::func::FuncOp forward;
  /// `f_backward(args…, state…, cotangents…) -> gradients…`; the argument of
  /// each gradient is in its attn.gradients (getGradientsOf).
  mlir::func::FuncOp backward;
  /// The reductions of `forward` that make up the state.
  llvm::SmallVector<ReduceOp> state;
};

/// Adds `<name>_forward` and `<name>_backward` beside `forward` (see
/// -attn-derive-backward); fails with a located diagnostic when an op on the
/// path from an argument to a result has no derivative.
mlir::FailureOr<BackwardFunctions> deriveBackward(mlir::func::FuncOp forward);

/// `<name>_gradients(args…, cotangents…) -> gradients…`: the backward of
/// `functions` with its state recomputed from the arguments (the forward's
/// ops that compute it, inlined before the backward's), for callers that
/// have no forward state: the backward kernels of the runtime. Added beside
/// `functions.backward`; its attn.gradients are the backward's.
mlir::func::FuncOp buildRecomputingBackward(const BackwardFunctions &functions);

/// `<name>_gradients(args…, results…, cotangents…) -> gradients…`: the
/// backward of `functions` reading the forward's results (o, lse) and
/// recovering its state from them instead of recomputing it — softmax's
/// row maximum and sum as (lse, 1), proven on the decomposed forward (a
/// maximum no result depends on, the sum that scales with it, a result that
/// is the maximum where the sum is 1), so no pass over the keys recomputes
/// it. A state without one (softplus's sum, sink logits' lse) gives a null
/// function and the reason in `why`. Added beside `functions.backward`.
mlir::func::FuncOp
buildResultReadingBackward(const BackwardFunctions &functions,
                           std::string &why);

/// The backward the kernels are emitted from: buildResultReadingBackward's
/// when `readResults`, the backward has a state and it can be recovered
/// (`readsResults` set), else buildRecomputingBackward's, with the reason
/// in `why` when `readResults` asked for the other (empty for a backward
/// without state: sigmoid's reads no result and recomputes nothing).
mlir::func::FuncOp buildKernelBackward(const BackwardFunctions &functions,
                                       bool readResults, bool &readsResults,
                                       std::string &why);

/// The element type named `dtype` ("f16", "bf16", "f32"), or null.
mlir::Type parseDtype(mlir::MLIRContext *context, llvm::StringRef dtype);

/// Retypes q, k, v and o of the variant `func` (Level 1 IR) to
/// `elementType`, as -attn-set-dtype does; fails with a diagnostic on the
/// function when it is not a variant this can retype.
mlir::LogicalResult setVariantDtype(mlir::func::FuncOp func,
                                    mlir::Type elementType);

/// Packs the query heads of each GQA group of the variant `func` into the
/// query rows of one problem per KV head, as -attn-pack-gqa does; returns
/// the group size G, or fails with the reason in `why` (a variant it
/// cannot pack is left unchanged).
mlir::FailureOr<int64_t> packGqaGroups(mlir::func::FuncOp func,
                                       std::string &why);

#define GEN_PASS_REGISTRATION
#include "attn/Passes/Passes.h.inc"

} // namespace attn

#endif // ATTN_PASSES_PASSES_H
