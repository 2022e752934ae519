//===- AttnAttrs.td - attn enums and attributes --------------*- tablegen -*-===//
//
// Normalizers, einsum combine/reduce operators and the test-input generators
// that capture arguments declare.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTNATTRS_TD
#define ATTN_DIALECT_ATTNATTRS_TD

include "attn/Dialect/AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attn_NormalizerKind : I32EnumAttr<"NormalizerKind",
    "how scores become attention weights", [
      I32EnumAttrCase<"Softmax", 0, "softmax">,
      I32EnumAttrCase<"Sigmoid", 1, "sigmoid">,
      I32EnumAttrCase<"Softplus", 2, "softplus">,
      I32EnumAttrCase<"None", 3, "none">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 0;
}

def Attn_CombineKind : I32EnumAttr<"CombineKind",
    "how an einsum combines the elements of its operands", [
      I32EnumAttrCase<"Mul", 0, "mul">,
      I32EnumAttrCase<"Add", 1, "add">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 1;
}

def Attn_ReduceKind : I32EnumAttr<"ReduceKind",
    "how an einsum or reduction folds the reduced letters", [
      I32EnumAttrCase<"Add", 0, "add">,
      I32EnumAttrCase<"Max", 1, "max">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 1;
}

def Attn_GenKind : I32EnumAttr<"GenKind",
    "how test inputs are drawn for a captured argument", [
      I32EnumAttrCase<"Normal", 0, "normal">,
      I32EnumAttrCase<"Uniform", 1, "uniform">,
      I32EnumAttrCase<"IntRange", 2, "int_range">,
      I32EnumAttrCase<"Segments", 3, "segments">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 0;
}


def Attn_SparsityKind : I32EnumAttr<"SparsityKind",
    "what the mask analysis found out about an attention's mask", [
      I32EnumAttrCase<"Dense", 0, "dense">,
      I32EnumAttrCase<"Static", 1, "static">,
      I32EnumAttrCase<"Runtime", 2, "runtime">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Attn_SparsityAttr : EnumAttr<Attn_Dialect, Attn_SparsityKind, "sparsity"> {
  let summary = "result of -attn-sparsify on an attention op";
  let description = [{
    `#attn.sparsity<dense>`: no mask, every tile is full.
    `#attn.sparsity<static>`: tiles are classified (full / empty / partial)
    from the mask's index arithmetic alone, for any sizes, at compile time
    or launch time, without evaluating the mask per element.
    `#attn.sparsity<runtime>`: the mask reads captured tensors; tiles are
    classified at run time from per-tile summaries of those tensors.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Attn_NormalizerAttr : AttrDef<Attn_Dialect, "Normalizer"> {
  let mnemonic = "normalizer";
  let summary = "the normalizer of an attention op";
  let description = [{
    `#attn.normalizer<softmax>`, `#attn.normalizer<sigmoid>` (bias defaults to
    -ln(nk), FlashSigmoid), `#attn.normalizer<sigmoid, bias = -4.0>`,
    `#attn.normalizer<softplus>`, `#attn.normalizer<none>`. New normalizers
    are new enum cases plus their cascade in `-attn-decompose`; `bias` is only
    meaningful for sigmoid (the verifier says so).
  }];
  let parameters = (ins
    EnumParameter<Attn_NormalizerKind>:$kind,
    OptionalParameter<"::mlir::FloatAttr">:$bias
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Attn_GenAttr : AttrDef<Attn_Dialect, "Gen"> {
  let mnemonic = "gen";
  let summary = "how test inputs are drawn for a captured argument";
  let description = [{
    Set as the `attn.gen` argument attribute of a capture:
    `#attn.gen<normal>` (standard normal), `#attn.gen<uniform, lo, hi>`,
    `#attn.gen<int_range, lo, hi>` (integers in [lo, hi]),
    `#attn.gen<segments, lo, hi>` (sorted segment ids 0, 0, 1, 1, 1, 2, ...
    with segment lengths drawn in [lo, hi], so tiles are really skipped).
  }];
  let parameters = (ins
    EnumParameter<Attn_GenKind>:$kind,
    OptionalParameter<"::mlir::FloatAttr">:$lo,
    OptionalParameter<"::mlir::FloatAttr">:$hi
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // ATTN_DIALECT_ATTNATTRS_TD
