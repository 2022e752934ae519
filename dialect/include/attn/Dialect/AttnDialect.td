//===- AttnDialect.td - the attn dialect ---------------------*- tablegen -*-===//
//
// The dialect of attention variants: Level 1 (`attn.attention`, what the user
// means) and Level 2 (the einsum cascade of FuseMax).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTNDIALECT_TD
#define ATTN_DIALECT_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::attn";
  let summary = "Attention variants as programs: attention ops and einsum cascades";
  let description = [{
    `attn.attention` states an attention variant (normalizer, score and mask
    regions, captured tensors). `attn.contract`, `attn.map` and `attn.reduce`
    express the same computation as an einsum cascade (FuseMax), which is what
    the pass-count analysis and the online rewrite work on.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let useDefaultAttributePrinterParser = 1;
  let hasRegionArgAttrVerify = 1;
  let hasOperationAttrVerify = 1;
  // The kernel IR's annotations on upstream ops (Level 3). Each is defined
  // here once; attn/Dialect/KernelAttrs.h has the accessors the passes, the
  // interpreter and the emitter use.
  let discardableAttrs = (ins
    "::attn::GridAttr":$grid,
    "::mlir::UnitAttr":$kv_loop,
    "::attn::TileBranchAttr":$tile_branch,
    "::attn::ScheduleAttr":$schedule,
    "::mlir::FlatSymbolRefAttr":$split_kv_plan,
    "::mlir::FlatSymbolRefAttr":$mask,
    "::attn::SparsityKindAttr":$sparsity,
    "::attn::TargetAttr":$target,
    "::mlir::UnitAttr":$accumulate,
    "::mlir::UnitAttr":$range_scale,
    "::mlir::UnitAttr":$kv_offset,
    "::mlir::DenseI64ArrayAttr":$gradients,
    "::mlir::UnitAttr":$lane_partial,
    "::mlir::DenseI64ArrayAttr":$lane_partial_results
  );
  let extraClassDeclaration = [{
    /// Registers the attribute definitions (in AttnAttrs.cpp, beside their
    /// storage classes).
    void registerAttributes();
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_ATTNDIALECT_TD
