//===- Passes.td - attn passes -------------------------------*- tablegen -*-===//

#ifndef ATTN_PASSES_TD
#define ATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnIfConvert : Pass<"attn-if-convert"> {
  let summary = "scf.if in score, mask and map regions becomes arith.select";
  let description = [{
    Region code may branch (`scf.if` yielding scalars); everything after
    this pass (the mask analysis, the interpreter, the CUDA emitter, the
    derivative rules) reads straight-line code. Each `scf.if` becomes its
    two branches, both evaluated, and an `arith.select` per result. Where
    a branch is not taken its ops must not trap or read out of bounds, so
    the ops that could get a safe operand there: integer divisors 1, shift
    amounts 0, float-to-integer sources 0.0, tensor indices 0 (a captured
    tensor read under a branch needs at least one element). GPUs run
    straight-line code faster than divergent branches anyway; the mask
    analysis sees both branches as one select. attn-decompose, attn-run and
    the runtime run it first.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def AttnElementwiseToMap : Pass<"attn-elementwise-to-map"> {
  let summary = "Element-wise arith/math ops on tensors become attn.map";
  let description = [{
    A variant may combine tensors with upstream element-wise ops at the
    function level: differential attention's `arith.subf %o1, %o2` on
    tensors, the `math.exp` of a gate. Each op the region-op registry knows,
    over ranked tensors of one shape, becomes an `attn.map` whose body is
    the op on scalars (a `tensor.splat` operand becomes a capture, a splat
    constant a constant in the body), which the interpreter runs and
    attn-tile fuses into the kernel as an epilogue. attn-run, the runtime
    and attn-pipeline run it first, beside attn-if-convert.
  }];
  let dependentDialects = ["::attn::AttnDialect",
                           "::mlir::arith::ArithDialect"];
}

def AttnDecompose : Pass<"attn-decompose", "::mlir::ModuleOp"> {
  let summary = "Rewrite attn.attention into its einsum cascade (3-pass form)";
  let description = [{
    Replaces every `attn.attention` with the cascade of `attn.contract`,
    `attn.map` and `attn.reduce` ops that defines it (the reference semantics
    of Level 2):
    - softmax: scores, scale + score region + mask, row max, exp, row sum,
      P·V contraction, divide (and lse = max + log(sum));
    - sigmoid: p = σ(s + bias) with bias defaulting to -ln(nk), P·V;
    - softplus: p = softplus(s), row sum, P·V, divide;
    - none: p = s, P·V.
    GQA/MQA (Hq = G·Hkv) expands q to [B, Hkv, G, Nq, D] with
    `tensor.expand_shape` so that every contraction is a plain einsum, then
    collapses the results back. Score and mask regions are inlined into the
    `attn.map` that applies them; each mask is also kept as a private
    function beside the variant (for tile classification), which is why
    this is a module pass.
  }];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnDeriveBackward : Pass<"attn-derive-backward", "::mlir::ModuleOp"> {
  let summary = "Derive the backward cascade of every attention function";
  let description = [{
    For every public function holding `attn.attention` ops, adds
    `<name>_forward`, the decomposed forward returning its results and then
    the forward state, and `<name>_backward`: the function's arguments, the
    forward state, then one f32 cotangent per float tensor result (dO,
    dlse), returning the f32 gradients of the float tensor arguments that
    receive one (q, k, v, and the captured tensors the score region reads as
    floats); the argument index of each gradient is in its `attn.gradients`
    attribute. The body is the decomposed forward followed by its
    reverse-mode derivative: contractions transpose, reductions broadcast
    (max: to the maximal elements), maps are differentiated through the
    region-op registry's derivative rules, and a captured table's gradient
    is an `attn.scatter_add` at the positions the forward read. The forward
    state is the set of the forward's reductions the gradients read
    (softmax: row max and row sum; softplus: row sum; sigmoid, none:
    nothing), reported in a remark on the forward; the backward reads them
    instead of recomputing them. An op without a derivative is reported at
    its location.
  }];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnAnalyze : Pass<"attn-analyze"> {
  let summary = "FuseMax pass-count analysis of einsum cascades (remarks)";
  let description = [{
    For every function that contains a cascade, computes how many passes
    over K/V (the letter that k and v are indexed by and that P·V reduces)
    the cascade needs as written, and after the online rewrite, and emits
    both as a remark with the reason. The analysis works on the dependence
    graph of the cascade ops, not on normalizer names:
    - as written, a pass is a maximal group of ops iterating over the KV
      letter; an op that consumes a full reduction over that letter starts a
      new pass;
    - the online rewrite can fold a reduction chain into one pass when every
      reduction that feeds a later KV-iterating op is a `max` or `add` whose
      consumers are corrected by a multiplicative factor (exp of a difference
      with the running value, or a ratio), as FuseMax shows for softmax; a
      reduction consumed non-multiplicatively (for example inside a
      subtraction that is not under exp) needs a complete row first: 2 passes.
  }];
}

def AttnSparsify : Pass<"attn-sparsify"> {
  let summary = "Analyse attention masks: dense, static or runtime sparsity";
  let description = [{
    Sets `attn.sparsity` on every `attn.attention`: `#attn.sparsity<dense>`
    without a mask; `#attn.sparsity<static>` when the mask is index
    arithmetic (and captured scalars) only, so that every tile can be
    classified full / empty / partial by the interval-and-affine analysis of
    `attn/Analysis/MaskAnalysis.h`; `#attn.sparsity<runtime>` when it reads
    captured tensors (document ids, block maps). Ops the analysis does not
    model make tiles partial (never wrong); the pass says which, as a remark.
  }];
  let dependentDialects = ["::attn::AttnDialect"];
}

def AttnReport : Pass<"attn-report"> {
  let summary = "Print the tile report of every attention op as JSON";
  let description = [{
    For concrete sizes and a tile shape, prints one JSON object per
    `attn.attention` to stdout: tile config, Q tiles, KV tiles in total,
    the KV loop's iterations (`kv_loop_iterations`: the tiles of each Q
    tile's closed-form key ranges, as -attn-fuse bounds the loop; every tile
    when they depend on captured tensors or on scalar captures not given),
    the tiles visited (`kv_tiles_visited`: those holding an attended key),
    tiles that evaluate the mask (partial), full tiles, the sparsity kind
    and the FuseMax pass count (as written / after the online rewrite).
    Counts are for one (batch, head) slice when the mask ignores b and h,
    else totals over all slices. `attn-opt --report=json --nq=N --nk=N
    --block-m=M --block-n=N` is a shorthand for this pass.
  }];
  let options = [
    Option<"nq", "nq", "int64_t", "1024", "query length">,
    Option<"nk", "nk", "int64_t", "-1", "key length (default: nq)">,
    Option<"batch", "batch", "int64_t", "1", "batch size (dynamic batch)">,
    Option<"blockM", "block-m", "int64_t", "64",
           "query rows per tile (0: 128 when every contraction's operands "
           "are f16/bf16 with feature dimensions of at most 128, else 64)">,
    Option<"blockN", "block-n", "int64_t", "64", "key columns per tile">,
    ListOption<"captures", "captures", "int64_t",
               "values of the captured integer scalars, in order">,
    Option<"tileMap", "tile-map", "bool", "false",
           "also print `tile_map`: per Q tile of slice (0, 0), one character "
           "per KV tile ('.' skipped, 'F' full, 'P' partial)">
  ];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnOnline : Pass<"attn-online"> {
  let summary = "FuseMax online rewrite: the cascade in its fewest passes";
  let description = [{
    Rewrites a function's einsum cascade into one pass over K/V when the
    pass-count analysis says the online rewrite reaches 1: an `scf.for` over
    KV tiles of `tile-n` keys whose iter_args are a running value for every
    reduction over the KV letter. Everything is derived from the cascade:
    - a `max` reduction becomes a running max; the map that consumes it
      through exp(x - max) gives the correction of every sum that depends on
      it, by evaluating that map's own body at (old max, new max);
    - an `add` reduction or contraction becomes a running sum, rescaled by
      that correction when the max changes;
    - a map that only scales a KV-iterating value by a completed sum (the
      division by the softmax denominator) is deferred past the linear
      contraction that consumes it and applied once after the loop.
    Softmax becomes the one-pass form of the design (running max,
    denominator, numerator); sigmoid is a loop with one running sum;
    softplus gets deferred normalisation. Cascades that need more than one
    pass, or that the rewrite does not understand, are left as they are with
    a remark saying why.
  }];
  let options = [
    Option<"tileN", "tile-n", "int64_t", "0",
           "keys per KV tile (0: 64, or 32 when a head dimension exceeds "
           "128, so that two stages of K and V fit 99 KB of shared memory)">,
    Option<"wgmmaTiles", "wgmma-tiles", "bool", "false",
           "when tile-n is 0: 128 keys per KV tile for f16/bf16 cascades "
           "whose head dimensions are multiples of 16 up to 128 (an sm_90a "
           "target, whose wgmma schedule takes 128-key tiles without "
           "spilling: FlashAttention-3's tiles)">
  ];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnFoldExp2 : Pass<"attn-fold-exp2"> {
  let summary = "Fold log2(e) into the scores after the score region; exp -> exp2";
  let description = [{
    GPUs evaluate 2^x natively (ex2.approx); e^x costs an extra multiply per
    element. On a decomposed cascade, multiplies the scores by log2(e) right
    after the score region and the mask (so user code still sees natural-log
    scores) and propagates the scaling through row maxima. A map that reads
    scaled values only as exp(a - b) with both a and b scaled becomes
    exp2(a' - b') — the same number; any other use is unscaled first (lse,
    say), so the result never changes. Run before -attn-tile / -attn-online:
    the online rewrite then derives its correction from the exp2 map.
    Cascades without an exp over the scores are left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

def AttnLeanMaps : Pass<"attn-lean-maps"> {
  let summary = "Cheaper per-element code in map bodies (constant folding, anchored exp2, row reciprocals)";
  let description = [{
    Rewrites the bodies of `attn.map`: a multiply by a constant moves through
    a select whose other arm is a constant (exact), two multiplies by
    constants fold into one (`reassoc`: the score scale and log2(e) become
    one multiply), and `exp2(x - r)` whose row operand `r` is provably a
    NaN-propagating running maximum of `x` is marked `afn` (a weight in
    [0, 1]: the hardware's `ex2.approx.ftz`), with a surrounding
    `select(r == -inf, 0, ·)` moved onto `r` (tested per row instead of per
    element; the same values, since r = -inf means every x is -inf). An f32
    division `a / b` whose divisor is an input over fewer letters than the
    map (O / l) becomes `a * r1 * s`, with new maps computing, per element
    of b, a power of two `s` that brings b into [2^-100, 2^100] and
    `r1 = 1 / (b * s)` (`afn`: the hardware's rcp.approx): one reciprocal
    per row, within 2.5 ulp of the division.
    Run on tiled kernel IR after -attn-fuse (`attn-pipeline` does).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

def AttnTile : Pass<"attn-tile"> {
  let summary = "Tile the cascade over the kernel grid: batch, heads, Q tiles";
  let description = [{
    Level 3, step 1. Wraps a function's (decomposed) cascade in the grid of
    the kernel: one `scf.for` per grid letter — batch, heads (the KV head
    and the group member for GQA), and query rows in tiles of `block-m` —
    each tagged `attn.grid = "<letter>"`. Inside, every input is sliced to
    the tile (ragged last Q tile included), the cascade runs on the tile,
    maps that read a tiled index see the tile offset added, and the results
    are inserted into the full outputs. The grid letters are those the P·V
    contraction keeps from the scores. `warps` and `stages` are recorded on
    the grid for the code generator (`attn.warps`, `attn.stages`).
    Run -attn-online afterwards to get the KV loop inside each tile, then
    -attn-fuse.
  }];
  let options = [
    Option<"blockM", "block-m", "int64_t", "64", "query rows per tile">,
    Option<"warps", "warps", "int64_t", "0",
           "warps per CTA (recorded; 0: -attn-schedule chooses)">,
    Option<"stages", "stages", "int64_t", "2",
           "K/V pipeline stages (recorded)">
  ];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnFuse : Pass<"attn-fuse", "::mlir::ModuleOp"> {
  let summary = "Fuse mask classification into the KV loop: skip, full, partial";
  let description = [{
    Level 3, step 2 (after -attn-tile and -attn-online). In every KV loop
    (`attn.kv_loop`) whose scores map applies a mask, classifies the tile
    with `attn.tile_class` — from the mask's index arithmetic, never per
    element — and branches: an empty tile is skipped (the running values
    pass through), a full tile runs the scores without any mask code, and
    only a partial tile evaluates the mask. Only the scores map is in the
    full/partial branches (`attn.tile_branch = "full_or_partial"`); the
    contraction before it and the online update after it exist once.
    Before the loop, the key range
    the Q tile's rows can attend to is computed in closed form from the
    mask's arithmetic (bounds of comparisons affine in j, evaluated at the
    extreme rows; "and" intersects, "or" joins) and the loop is narrowed to
    the KV tiles covering it, so band masks visit only their band. The mask
    comes from the private
    function -attn-decompose keeps beside the variant (`attn.mask` on the
    scores map's select names it). The tile's (b, h) and row range come from
    the grid loops (`attn.grid`), so -attn-tile must have run. A module
    pass: it reads the mask functions beside the variants.
  }];
  let options = [
    Option<"keyBounds", "key-bounds", "bool", "true",
           "narrow each KV loop to the key range its Q tile's rows can "
           "attend to (closed-form bounds from the mask's arithmetic)">
  ];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def AttnSplitKV : Pass<"attn-split-kv", "::mlir::ModuleOp"> {
  let summary = "Split-KV launch plan: partial states per KV split, then a merge";
  let description = [{
    For short query lengths (decoding) one CTA per (batch, head, Q tile)
    leaves the GPU idle; split-KV also spreads the KV loop over `splits`
    CTAs. Run after -attn-tile and -attn-online (before -attn-fuse). Inside
    each grid tile, the KV loop becomes a loop over splits tagged
    `attn.grid = "s"` (a grid dimension: one CTA per split), each running the
    KV loop over its own range of whole KV tiles and writing its running
    values to a workspace indexed by split; what follows (the merge kernel of
    the plan) combines the partial states with the variant's own combine —
    the running max by max, every sum rescaled by the correction map of the
    online rewrite evaluated at (split max, total max) — and then runs the
    original epilogue. The merge is derived from the cascade, so sigmoid
    (plain sums) and softplus (numerator and denominator sums) merge
    correctly too. By default the plan is a new function `<name>_split_kv`
    (the runtime picks it from the lengths at launch time;
    `attn.split_kv_plan` on the original names it); `in-place` rewrites the
    function itself, for testing. With `splits = 0` (the default) the split
    count is `attn.kv_splits`, a launch parameter the runtime chooses per
    launch: one compiled plan serves every split count.
  }];
  let options = [
    Option<"splits", "splits", "int64_t", "0",
           "number of KV splits; 0: chosen at launch (attn.kv_splits)">,
    Option<"inPlace", "in-place", "bool", "false",
           "rewrite the function itself instead of adding a plan">
  ];
  let dependentDialects = [
    "::attn::AttnDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def AttnPackGqa : Pass<"attn-pack-gqa", "::mlir::ModuleOp"> {
  let summary = "Pack each GQA group's query heads into the query rows of one problem per KV head";
  let description = [{
    For decoding (few query rows, many keys): rewrites a grouped-query
    variant (Hq = G·Hkv, G >= 2, head counts static) into multi-head
    attention over the KV heads, q `[B, Hkv, G·Nq, D]`, o and lse likewise,
    row r = g·Nq + i holding query head h·G + g, row i; so one Q tile reads
    each K/V tile once for the whole group. The score and mask regions see
    the variant's own indices, recomputed from the packed ones
    (nq = nq' / G, h = h'·G + r / nq, i = r mod nq): every mask and score
    keeps its meaning. Sets `gqa_packed = G` on the attention op, which
    tells sink logits (one per original query head) which one a row reads.
    A function it cannot pack (several attention ops, a capture
    sized by hq or nq, dynamic head counts, no groups) is left as it is,
    with a remark saying why. The runtime compiles its decode plan with
    this (CompileOptions is not involved: the plan is chosen at launch) and
    passes the caller's q, o and lse as views of the packed shape.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def AttnScoreMask : Pass<"attn-score-mask", "::mlir::ModuleOp"> {
  let summary = "Move a score region's -inf by index arithmetic into the mask";
  let description = [{
    A score region that yields `select(c, x, -inf)` (or `select(c, -inf, x)`)
    with a condition `c` that does not read the score -- index arithmetic
    and captures -- masks what it sets to -inf: for softmax, sigmoid and
    softplus a key of score -inf has weight 0 exactly as a masked key does
    (README, "Non-finite values"; a row with no other key gives o = 0 and
    lse = -inf either way). The pass moves `c` into the mask region (and-ed
    with the mask there) and lets the score region yield `x`, so the mask
    analysis sees it: tiles are skipped and classified as for any mask.
    The `none` normalizer (p = s) is left alone: there -inf is a value.
    Runs first in attn-pipeline and before -attn-report.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def AttnSetDtype : Pass<"attn-set-dtype", "::mlir::ModuleOp"> {
  let summary = "Retype a variant's q, k, v and o to one element type";
  let description = [{
    Gives q, k, v (the first three arguments) and o (the first result) of
    every public function holding an `attn.attention` the element type
    `dtype` (f16, bf16 or f32), in the signature and in the attention ops;
    captures and lse keep theirs. This is how one variant file is compiled
    for several element types (attn-run --dtype, the runtime's
    CompileOptions::dtype, attn-pipeline{dtype=}).
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", "\"\"",
           "element type: f16, bf16 or f32">
  ];
}

def AttnSetTarget : Pass<"attn-set-target", "::mlir::ModuleOp"> {
  let summary = "Record the code-generation target on the module";
  let description = [{
    Sets `attn.target = #attn.target<arch = ..., path = ...>` on the
    module: the CUDA arch and kernel path the emitter uses unless told
    otherwise. The last step of attn-pipeline, so that its `arch` and
    `path` options reach the emitter through the IR.
  }];
  let options = [
    Option<"arch", "arch", "std::string", "\"\"",
           "CUDA arch (sm_80, sm_90, ...); empty: any">,
    Option<"path", "path", "std::string", "\"auto\"",
           "kernel path: auto, simt or mma">
  ];
}

#endif // ATTN_PASSES_TD
