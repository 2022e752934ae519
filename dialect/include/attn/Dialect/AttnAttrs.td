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


def Attn_GridRole : I32EnumAttr<"GridRole",
    "what one index of a kernel grid loop stands for", [
      I32EnumAttrCase<"Slice", 0, "slice">,
      I32EnumAttrCase<"Rows", 1, "rows">,
      I32EnumAttrCase<"Split", 2, "split">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 0;
}

def Attn_KernelPath : I32EnumAttr<"KernelPath",
    "how the CUDA emitter shapes a kernel", [
      I32EnumAttrCase<"Auto", 0, "auto">,
      I32EnumAttrCase<"Simt", 1, "simt">,
      I32EnumAttrCase<"Mma", 2, "mma">
    ]> {
  let cppNamespace = "::attn";
  let genSpecializedAttr = 0;
}

def Attn_TileBranchKind : I32EnumAttr<"TileBranchKind",
    "which tile classes the branches of a tile branch serve", [
      I32EnumAttrCase<"FullOrPartial", 0, "full_or_partial">,
      I32EnumAttrCase<"InteriorOrEdge", 1, "interior_or_edge">
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


//===----------------------------------------------------------------------===//
// Einsum equations of the cascade ops
//===----------------------------------------------------------------------===//

def Attn_EinsumAttr : AttrDef<Attn_Dialect, "Einsum"> {
  let mnemonic = "einsum";
  let summary = "an einsum equation, parsed once";
  let description = [{
    The equation of `attn.contract`, `attn.map` and `attn.reduce`: one term
    of index letters per input and one for the output, written
    `"bhid,bhjd->bhij"` in the ops' syntax (`#attn.einsum<"...">` standing
    alone). The terms are kept parsed, so no consumer re-parses text.
  }];
  let parameters = (ins
    ArrayRefParameter<"::mlir::StringAttr">:$inputs,
    "::mlir::StringAttr":$output
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "const ::attn::Equation &":$equation)>
  ];
  let extraClassDeclaration = [{
    /// The equation (terms as strings).
    ::attn::Equation getValue() const;
    /// The text form "in0,in1->out".
    std::string str() const;
    /// The equation `text`, which must be well formed (the passes' own
    /// equations); use Equation::parse for text from elsewhere.
    static EinsumAttr fromText(::mlir::MLIRContext *context,
                               ::llvm::StringRef text);
    /// Parses the quoted text form (the cascade ops' syntax), reporting a
    /// malformed equation at its location.
    static EinsumAttr parseText(::mlir::AsmParser &parser);
  }];
}

//===----------------------------------------------------------------------===//
// Kernel IR annotations (Level 3)
//===----------------------------------------------------------------------===//

def Attn_GridAttr : AttrDef<Attn_Dialect, "Grid"> {
  let mnemonic = "grid";
  let summary = "marks an scf.for as a dimension of the kernel grid";
  let description = [{
    `#attn.grid<"i", rows>` on an `scf.for`: the loop is not a loop but a
    dimension of the launch grid, one CTA per iteration, indexing the
    cascade's letter `"i"`. Roles: `slice` (a unit-step index such as the
    batch, a head, a GQA group member), `rows` (the Q tile: steps of
    block-m query rows; the innermost grid loop), `split` (the KV splits of a
    split-KV plan, from -attn-split-kv).
  }];
  let parameters = (ins
    "::mlir::StringAttr":$letter,
    EnumParameter<Attn_GridRole>:$role
  );
  let assemblyFormat = "`<` $letter `,` $role `>`";
  let genVerifyDecl = 1;
}

def Attn_TileBranchAttr : AttrDef<Attn_Dialect, "TileBranch"> {
  let mnemonic = "tile_branch";
  let summary = "marks an scf.if that branches on a tile's class";
  let description = [{
    `#attn.tile_branch<full_or_partial>` on an `scf.if` inside a KV loop
    (from -attn-fuse): the then-branch serves full tiles (no mask code), the
    else-branch partial tiles (the mask per element).
    `#attn.tile_branch<interior_or_edge>` (from -attn-specialize-interior):
    the then-branch serves full tiles of block_m rows and block_n keys with
    static tile shapes, the else-branch every other tile.
  }];
  let parameters = (ins EnumParameter<Attn_TileBranchKind>:$kind);
  let assemblyFormat = "`<` $kind `>`";
}

def Attn_DefaultKernelPath : EnumParameter<Attn_KernelPath> {
  let defaultValue = "::attn::KernelPath::Auto";
}

def Attn_ScheduleAttr : AttrDef<Attn_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "the launch schedule of a kernel grid";
  let description = [{
    `#attn.schedule<block_m = 64, warps = 0, stages = 2>` on the outermost
    grid loop (from -attn-tile: what was asked for; warps 0 leaves the
    choice to the schedule), completed by
    -attn-schedule with what was decided:
    `#attn.schedule<block_m = 64, warps = 4, stages = 2, rows_per_warp = 16,
    path = mma, unroll = 1>` — query rows per CTA, warps per CTA (each warp
    owns rows_per_warp consecutive rows; warps × rows_per_warp = block_m),
    K/V pipeline stages, the kernel path (mma: tensor cores, simt: one thread
    per row; auto: not decided yet), the unroll factor of the KV loops,
    for a kernel that could not use tensor cores, why (`fallback`) and,
    on tensor cores, whether the Q tile is staged in shared memory and read
    with ldmatrix for every KV tile (`q_staged = true`, when holding its
    mma fragments in registers beside the S and O accumulators would
    spill) rather than read into registers once.
    On tensor cores `col_groups = G` (default 1) splits each warp row group's
    work G ways (warps × rows_per_warp = block_m × G): warp w owns rows
    rows_per_warp × (w / G) and, of the V-column accumulators (O), the
    slice w % G; S = QKᵀ is split by key columns and shared through shared
    memory. Head dims too wide for one warp's registers (MLA's 512) run so.
    `wgmma = true` (sm_90a, tensor cores only): the contractions run on
    warpgroup MMAs (wgmma.mma_async m64nNk16): 16 rows per warp, every four
    warps a warpgroup of 64 rows, the K/V operands read from swizzled shared
    buffers through matrix descriptors (attn.shared_buffer's `swizzle`).
    `pingpong = true` (wgmma with two warpgroups): the warpgroups take turns
    on the tensor cores (FlashAttention-3's ping-pong, two named barriers),
    so one's softmax overlaps the other's GEMMs.
  }];
  let parameters = (ins "int64_t":$block_m, "int64_t":$warps,
                        "int64_t":$stages,
                        DefaultValuedParameter<"int64_t", "0">:$rows_per_warp,
                        Attn_DefaultKernelPath:$path,
                        DefaultValuedParameter<"int64_t", "1">:$unroll,
                        StringRefParameter<"why not tensor cores", "\"\"">:$fallback,
                        DefaultValuedParameter<"bool", "false">:$q_staged,
                        DefaultValuedParameter<"int64_t", "1">:$col_groups,
                        DefaultValuedParameter<"bool", "false">:$wgmma,
                        DefaultValuedParameter<"bool", "false">:$pingpong);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "int64_t":$block_m, "int64_t":$warps, "int64_t":$stages), [{
      return $_get($_ctxt, block_m, warps, stages, 0, ::attn::KernelPath::Auto,
                   1, "", false, 1, false, false);
    }]>
  ];
  let extraClassDeclaration = [{
    /// True once -attn-schedule has decided the path and the warp layout.
    bool isDecided() const { return getPath() != ::attn::KernelPath::Auto; }
  }];
}

def Attn_TargetAttr : AttrDef<Attn_Dialect, "Target"> {
  let mnemonic = "target";
  let summary = "the code-generation target a module was compiled for";
  let description = [{
    `#attn.target<arch = "sm_90", path = auto>` on the module (from the
    `attn-pipeline`'s `arch` and `path` options): the CUDA arch (empty: any)
    and the kernel path (`auto`: tensor cores when the variant allows,
    `simt`, `mma`). The emitter takes them as its defaults, so the options
    given to the pipeline are the ones the kernel is emitted with.
  }];
  let parameters = (ins StringRefParameter<"CUDA arch, empty for any">:$arch,
                        EnumParameter<Attn_KernelPath>:$path);
  let assemblyFormat = "`<` `arch` `=` $arch `,` `path` `=` $path `>`";
}

#endif // ATTN_DIALECT_ATTNATTRS_TD
