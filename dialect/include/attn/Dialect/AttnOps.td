//===- AttnOps.td - attn operations --------------------------*- tablegen -*-===//
//
// Level 1 (`attn.attention`) and Level 2 (`attn.contract`, `attn.map`,
// `attn.reduce`) of the design, plus the region terminator.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTNOPS_TD
#define ATTN_DIALECT_ATTNOPS_TD

include "attn/Dialect/AttnDialect.td"
include "attn/Dialect/AttnAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [
    IsolatedFromAbove, RecursiveMemoryEffects, AttrSizedOperandSegments]> {
  let summary = "an attention variant: scores, score/mask regions, normalizer, P·V";
  let description = [{
    Computes `o[b,h,i,:] = Σ_j p[b,h,i,j] · v[b,h/G,j,:]` with G = Hq/Hkv and
    `p` the normalizer applied, over the unmasked keys j of row i, to
    `s = score(scale · q[b,h,i,:]·k[b,h/G,j,:], b, h, i, j, nq, nk, captures…)`.

    Shapes: q `[B,Hq,Nq,D]`, k `[B,Hkv,Nk,D]`, v `[B,Hkv,Nk,Dv]`,
    o `[B,Hq,Nq,Dv]`, optional lse `[B,Hq,Nq]` (f32, natural log, softmax
    only). Head dims are static; batch and lengths may be dynamic.

    Regions (both optional, both isolated from above: captured values come in
    as trailing block arguments):
    - `score(%s: f32, %b, %h, %i, %j, %nq, %nk: index, captures…)` yields the
      modified score (f32);
    - `mask(%b, %h, %i, %j, %nq, %nk: index, captures…)` yields i1, true = attend.

    Order of evaluation: scores → scale → score region → mask (masked p = 0;
    for softmax, masked scores are −inf) → normalizer → P·V. A fully masked
    row gives o = 0 and lse = −inf.

    Sink logits (softmax only; gpt-oss, FlashAttention-3's "learnable sink"):
    `sink_logits(%sigma : tensor<HqxF32>)` adds one learned logit σ_h per
    query head to every row's softmax denominator, as a key that attends
    always and carries no value:
    `p_ij = e^(s_ij − m_i) / (Σ_j e^(s_ij − m_i) + e^(σ_h − m_i))` with m_i the
    max of the row's scores, and `lse_i = log(Σ_j e^s_ij + e^σ_h)`. A row with
    no attended key gives o = 0 and lse = σ_h. (Sink *tokens*, keys every
    query sees, are a mask.) Masked keys contribute nothing whatever
    they hold; a non-finite value at an attended position propagates in IEEE
    arithmetic (a NaN score makes the row NaN). `scale` and a sigmoid `bias`
    must be finite.

    `gqa_packed = G` marks the form `-attn-pack-gqa` gives a grouped-query
    variant for decoding: each of the op's heads h' holds the G query heads
    h'·G + g of one KV head as its rows, row r = g·(Nq'/G) + i (Nq' the
    op's rows, a multiple of G; q and k have the same static head count).
    The score and mask regions compute the
    original h, i and nq themselves; the attribute tells the sink logits
    (G·Hq' of them) which one a row reads: σ[h'·G + r / (Nq'/G)].

    ```mlir
    %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
        : tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>
        -> tensor<1x8x?x64xf16>
        mask {
        ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
          %c = arith.cmpi ule, %j, %i : index
          attn.yield %c : i1
        }
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$q,
    AnyRankedTensor:$k,
    AnyRankedTensor:$v,
    Variadic<AnyType>:$captures,
    Optional<AnyRankedTensor>:$sink_logits,
    Attn_NormalizerAttr:$normalizer,
    OptionalAttr<F64Attr>:$scale,
    OptionalAttr<I64Attr>:$gqa_packed
  );
  let results = (outs AnyRankedTensor:$o, Optional<AnyRankedTensor>:$lse);
  let regions = (region MaxSizedRegion<1>:$score, MaxSizedRegion<1>:$mask);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`captures` `(` $captures^ `:` type($captures) `)`)?
    (`sink_logits` `(` $sink_logits^ `:` type($sink_logits) `)`)?
    attr-dict `:` type($q) `,` type($k) `,` type($v)
    `->` type($o) (`,` type($lse)^)?
    (`score` $score^)? (`mask` $mask^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The scale applied to q·k: the `scale` attribute, or 1/sqrt(D).
    double getEffectiveScale();
    /// Number of query heads sharing one KV head (Hq / Hkv).
    int64_t getGroupSize();
    /// Number of leading index block arguments of the score region
    /// (s, b, h, i, j, nq, nk) and of the mask region (b, h, i, j, nq, nk).
    static constexpr unsigned kNumScoreLeadingArgs = 7;
    static constexpr unsigned kNumMaskLeadingArgs = 6;
  }];
}

//===----------------------------------------------------------------------===//
// Level 2: the einsum cascade
//===----------------------------------------------------------------------===//

def Attn_ContractOp : Attn_Op<"contract", [Pure]> {
  let summary = "extended einsum: combine elements, reduce over dropped letters";
  let description = [{
    `%s = attn.contract "bhid,bhjd->bhij" combine(mul) reduce(add) %q, %k`
    computes, for every output index, the `reduce`-fold over all letters that
    appear in an input but not in the output of the `combine` of the inputs'
    elements. The identity of the fold is 0 for `add` and −inf for `max`;
    `max` propagates NaN, as `arith.maximumf` does.
    Each letter has one size; every output letter appears in some input.
  }];
  let arguments = (ins
    Attn_EinsumAttr:$equation,
    Attn_CombineKind:$combine,
    Attn_ReduceKind:$reduce,
    Variadic<AnyRankedTensor>:$inputs
  );
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    custom<Einsum>($equation) `combine` `(` $combine `)` `reduce` `(` $reduce `)` $inputs
    attr-dict `:` type($inputs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_ReduceOp : Attn_Op<"reduce", [Pure]> {
  let summary = "reduce a tensor over one letter";
  let description = [{
    `%m = attn.reduce max "bhij->bhi" %s` folds the one letter missing from
    the output with `max` (identity −inf, NaN-propagating as
    `arith.maximumf`) or `add` (identity 0).
  }];
  let arguments = (ins
    Attn_ReduceKind:$kind,
    Attn_EinsumAttr:$equation,
    AnyRankedTensor:$input
  );
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $kind custom<Einsum>($equation) $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_MapOp : Attn_Op<"map", [
    IsolatedFromAbove, RecursiveMemoryEffects, AttrSizedOperandSegments]> {
  let summary = "elementwise computation with broadcasting by index letters";
  let description = [{
    `attn.map "bhij,bhi->bhij" ins(%s, %m : …) captures(%nk : index)` runs its
    body once per element of the output. The body's block arguments are one
    `index` per output letter (the loop indices), then one scalar per input
    (the input element at those indices; an input indexed by fewer letters is
    broadcast), then the captured values unchanged. It yields the output
    element. Every output letter appears in some input, which fixes its size.
  }];
  let arguments = (ins
    Attn_EinsumAttr:$equation,
    Variadic<AnyRankedTensor>:$inputs,
    Variadic<AnyType>:$captures
  );
  let results = (outs AnyRankedTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    custom<Einsum>($equation) (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    (`captures` `(` $captures^ `:` type($captures) `)`)?
    attr-dict `->` type($result) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}


def Attn_ScatterAddOp : Attn_Op<"scatter_add", [
    IsolatedFromAbove, RecursiveMemoryEffects, AttrSizedOperandSegments]> {
  let summary = "sum values over an index domain into a tensor, at computed positions";
  let description = [{
    `attn.scatter_add "bhij,bhij->bhij" ins(%ds, %s : …) captures(%t : …)
    like(%t : tensor<8xf32>) -> tensor<8xf32>` runs its body once per point
    of the domain named by the equation's output letters (sized by the
    inputs, as attn.map's are). The body receives what an attn.map body
    receives (one `index` per domain letter, one element per input, then the
    captures) and yields one `index` per dimension of the result, then an
    f32 value. The result, shaped like `like` (dynamic sizes are read from
    it), starts at zero and sums every yielded value at its position. It is
    the backward of a tensor.extract in a score region: the gradient of a
    captured table reaches the entries the forward read. A yielded position
    outside the result is an error.
  }];
  let arguments = (ins
    Attn_EinsumAttr:$equation,
    Variadic<AnyRankedTensor>:$inputs,
    Variadic<AnyType>:$captures,
    AnyRankedTensor:$like
  );
  let results = (outs AnyRankedTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    custom<Einsum>($equation) (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    (`captures` `(` $captures^ `:` type($captures) `)`)?
    `like` `(` $like `:` type($like) `)`
    attr-dict `->` type($result) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Level 3: kernel IR
//===----------------------------------------------------------------------===//

def Attn_TileClassOp : Attn_Op<"tile_class", [
    IsolatedFromAbove, RecursiveMemoryEffects]> {
  let summary = "classify one tile of a mask: empty, full or partial";
  let description = [{
    Returns 0 when the mask attends to no element of the tile
    [i0, i1) x [j0, j1) of slice (b, h) (the tile is skipped), 1 when it
    attends to all (the tile runs without mask code) and 2 otherwise (the
    mask is evaluated per element). The region is the mask, with the
    arguments of attn.attention's mask region (b, h, i, j, nq, nk,
    captures…); it is never evaluated per element: the class comes from the
    abstract interpretation of its index arithmetic over the tile
    (attn/Analysis/MaskAnalysis.h), which is sound — "empty" and "full" are
    proofs, "partial" may be conservative.
  }];
  let arguments = (ins
    Index:$b, Index:$h, Index:$i0, Index:$i1, Index:$j0, Index:$j1,
    Index:$nq, Index:$nk, Variadic<AnyType>:$captures
  );
  let results = (outs Index:$tileClass);
  let regions = (region SizedRegion<1>:$mask);
  let assemblyFormat = [{
    `slice` `(` $b `,` $h `)` `rows` `(` $i0 `,` $i1 `)` `cols` `(` $j0 `,` $j1 `)`
    `sizes` `(` $nq `,` $nk `)`
    (`captures` `(` $captures^ `:` type($captures) `)`)? `mask` $mask attr-dict
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The values of the result.
    static constexpr int64_t kEmpty = 0, kFull = 1, kPartial = 2;
  }];
}

def Attn_KvSplitsOp : Attn_Op<"kv_splits", [Pure]> {
  let summary = "the number of KV splits of a split-KV launch, chosen at launch";
  let description = [{
    `%s = attn.kv_splits : index` is the split count of a split-KV plan
    (-attn-split-kv with splits = 0): the trip count of the split loop and
    the leading size of its workspaces. It is not compiled into the kernel:
    the runtime chooses it per launch from the SM count, the plain grid and
    Nk, sizes the grid and the workspaces with it and passes it as the
    kernel parameter `S`; the interpreter and attn-run take it from
    `--kv-splits`. Always ≥ 1.
  }];
  let results = (outs Index:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Level 3: the kernel's schedule (set by -attn-schedule and -attn-stage-kv)
//===----------------------------------------------------------------------===//

def Attn_SharedBufferOp : Attn_Op<"shared_buffer", [
    MemoryEffects<[MemAlloc<DefaultResource>]>]> {
  let summary = "a buffer in the CTA's shared memory, at a fixed offset";
  let description = [{
    `%buf = attn.shared_buffer offset(0) : memref<2x64x64xf16, strided<[4608, 72, 1]>, 3>`
    declares `stages` x `rows` x `cols` elements of shared memory (memory
    space 3) at byte `offset` of the CTA's dynamic shared memory. The layout
    is the memref's strides: the row pitch (72 elements for 64 columns: the
    padding that keeps ldmatrix free of bank conflicts) and the stage
    stride. The kernel's dynamic shared memory is the end of its last
    buffer. The interpreter gives it host storage.

    `{swizzle = 128}` (32, 64 or 128 bytes; wgmma schedules) stores a stage
    the way wgmma's swizzled matrix descriptors read it instead: unpadded
    (the row pitch is the column count), in column blocks of `swizzle`
    bytes per row, each block [rows x swizzle bytes] contiguous, and within
    a block the 16-byte chunks of row r XOR-permuted by (r % 8) (CuTe's
    Swizzle<3,4,3> for 128 bytes, on the address's bits 4-6 from bits 7-9).
    The element positions change, not the tile: the interpreter, which
    reads stages by element, ignores it.
  }];
  let arguments = (ins I64Attr:$offset, OptionalAttr<I64Attr>:$swizzle);
  let results = (outs AnyMemRef:$buffer);
  let assemblyFormat = "`offset` `(` $offset `)` attr-dict `:` type($buffer)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Bytes from the start of dynamic shared memory to the buffer's end.
    int64_t getEndByte();
    /// Elements between consecutive rows of one stage.
    int64_t getRowPitch();
    /// Elements between consecutive stages.
    int64_t getStageStride();
  }];
}

def Attn_AsyncCopyOp : Attn_Op<"async_copy"> {
  let summary = "copy a tile from global memory into a buffer stage, asynchronously";
  let description = [{
    `attn.async_copy %slice into %buf[%stage] rows(%n) : tensor<1x1x?x64xf16> into memref<...>`
    copies the tile `%slice` (a slice of a kernel argument: unit dimensions,
    then rows, then columns) into stage `%stage` of `%buf`; rows at and past
    `%n` are zero. The copy lands at the attn.async_wait that retires its
    group (attn.async_commit closes a group); reading the stage earlier is
    a bug the emulator reports.
  }];
  let arguments = (ins AnyRankedTensor:$source, AnyMemRef:$buffer,
                       Index:$stage, Index:$rows);
  let assemblyFormat = [{
    $source `into` $buffer `[` $stage `]` `rows` `(` $rows `)` attr-dict
    `:` type($source) `into` type($buffer)
  }];
  let hasVerifier = 1;
}

def Attn_AsyncCommitOp : Attn_Op<"async_commit"> {
  let summary = "close the current group of asynchronous copies";
  let assemblyFormat = "attr-dict";
}

def Attn_AsyncWaitOp : Attn_Op<"async_wait"> {
  let summary = "wait until at most `pending` groups of copies are in flight";
  let arguments = (ins I64Attr:$pending);
  let assemblyFormat = "`pending` `(` $pending `)` attr-dict";
  let hasVerifier = 1;
}

def Attn_BarrierOp : Attn_Op<"barrier"> {
  let summary = "every thread of the CTA waits here (__syncthreads)";
  let assemblyFormat = "attr-dict";
}

def Attn_ReadStageOp : Attn_Op<"read_stage"> {
  let summary = "a tile held in a buffer stage, as a tensor";
  let description = [{
    `%k = attn.read_stage %buf[%stage] rows(%n) : memref<...> -> tensor<1x1x?x64xf16>`
    is the tile an attn.async_copy left in stage `%stage` (its first `%n`
    rows): what the KV loop's contractions read instead of global memory.
  }];
  let arguments = (ins AnyMemRef:$buffer, Index:$stage, Index:$rows);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $buffer `[` $stage `]` `rows` `(` $rows `)` attr-dict `:` type($buffer)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Attn_LoadFragmentsOp : Attn_Op<"load_fragments", [Pure,
    AllTypesMatch<["source", "result"]>]> {
  let summary = "a loop-invariant mma operand, read into registers once";
  let description = [{
    `%qf = attn.load_fragments %q : tensor<1x1x?x64xf16>` before a KV loop:
    the value of `%q`, held in mma A-operand fragments so that the
    contractions in the loop never read it from memory again.
  }];
  let arguments = (ins AnyRankedTensor:$source);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$source attr-dict `:` type($source)";
}

def Attn_YieldOp : Attn_Op<"yield", [
    Pure, Terminator, ReturnLike,
    HasParent<"AttentionOp, MapOp, ScatterAddOp, TileClassOp">]> {
  let summary = "yields the value of a score, mask or map region";
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing */ }]>];
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // ATTN_DIALECT_ATTNOPS_TD
