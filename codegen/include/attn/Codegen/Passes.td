//===- Passes.td - the kernel schedule passes ----------------*- tablegen -*-===//
//
// The passes that decide how a kernel runs on a GPU -- path, warps, pipeline
// stages, shared-memory buffers, copies, waits, barriers, register-resident
// operands -- and write each decision into the kernel IR, so that the CUDA
// printer lowers what it is given. They live with the backend because what
// they decide is CUDA's (tensor cores, shared memory, cp.async).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_CODEGEN_PASSES_TD
#define ATTN_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnSchedule : Pass<"attn-schedule", "::mlir::ModuleOp"> {
  let summary = "Decide each kernel's path and warp layout";
  let description = [{
    Completes the `#attn.schedule` of every kernel (a function in kernel IR
    after -attn-fuse): the path -- tensor cores (`mma`) when the variant fits
    them, else one thread per query row (`simt`) with the reason kept in
    `fallback` --, warps and rows per warp (warps x rows_per_warp = block_m
    x col_groups; on tensor cores whole m16 row tiles; col_groups > 1 when a
    V head dim too wide for one warp's registers, MLA's 512, has the warps
    of a row group split O's columns, or when more warps than 16-row tiles
    are asked for), the K/V pipeline's stages (fewer than asked, down to
    one, when only that fits the shared memory) and the KV loops' unroll
    factor. Whether a variant fits tensor cores is decided
    by scheduling a copy of it (-attn-stage-kv, -attn-hoist-fragments,
    -attn-mark-accumulate) and asking the tensor-core printer: the same code
    that will print it. Options override what -attn-tile recorded (0: keep);
    `path` overrides the module's `#attn.target`. Impossible schedules are
    located errors.
  }];
  let options = [
    Option<"path", "path", "std::string", "\"\"",
           "auto, simt or mma (empty: the module's #attn.target, else auto)">,
    Option<"warps", "warps", "int64_t", "0", "warps per CTA (0: as tiled)">,
    Option<"stages", "stages", "int64_t", "0",
           "K/V pipeline stages (0: as tiled)">,
    Option<"unroll", "unroll", "int64_t", "1", "KV loop unroll factor">
  ];
  let dependentDialects = ["::attn::AttnDialect"];
}

def AttnStageKv : Pass<"attn-stage-kv", "::mlir::ModuleOp"> {
  let summary = "K/V tiles through shared memory: buffers, async copies, waits, barriers";
  let description = [{
    On tensor-core kernels, every K/V slice a KV loop reads at its induction
    variable is staged through a shared-memory buffer of `stages` stages
    (`attn.shared_buffer`, rows padded by `pad` elements so that ldmatrix is
    free of bank conflicts): the first stages-1 tiles are copied before the
    loop, each iteration copies the tile stages-1 ahead
    (`attn.async_copy`, `attn.async_commit`), waits for its own
    (`attn.async_wait`), synchronises (`attn.barrier`) and reads it
    (`attn.read_stage`). A tile is classified once, before its copy, and the
    class travels with it through the loop's iter_args, so a tile the
    classification skips is never loaded and never classified twice.
  }];
  let options = [
    Option<"pad", "pad", "int64_t", "8",
           "elements added to each staged row (bank conflicts)">
  ];
  let dependentDialects = ["::attn::AttnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def AttnHoistFragments : Pass<"attn-hoist-fragments", "::mlir::ModuleOp"> {
  let summary = "Loop-invariant mma operands read into registers once";
  let description = [{
    On tensor-core kernels, the row operand of a KV loop's contraction that
    does not change along the loop (the Q tile) is read once before it
    (`attn.load_fragments`) and held in mma fragments.
  }];
  let dependentDialects = ["::attn::AttnDialect"];
}

def AttnMarkAccumulate : Pass<"attn-mark-accumulate", "::mlir::ModuleOp"> {
  let summary = "Contractions accumulated on the mma's C operand; f16 range scaling";
  let description = [{
    On tensor-core kernels, marks (`attn.accumulate`) a contraction whose
    only consumer is a map `x + c` of its element: the mma adds onto x in the
    map's tile instead of a tile of its own (P·V onto the rescaled O). Marks
    (`attn.range_scale`) an f16 contraction whose row operand is not
    anchored at a running maximum, so its weights are scaled into f16's
    range per row before the mma (RangeScale.cpp explains why).
  }];
  let dependentDialects = ["::attn::AttnDialect"];
}

def AttnDeferRowSums : Pass<"attn-defer-row-sums", "::mlir::ModuleOp"> {
  let summary = "Running row sums kept per lane, added across the quad after the KV loop";
  let description = [{
    On tensor-core kernels, a KV loop's running sum updated only as
    `l' = l·c + Σ_j x` (c per row; initial value zero) is linear in its
    per-lane partial sums: the reductions feeding it are marked
    `attn.lane_partial` (each lane keeps its part; no shuffles) and the loop
    `attn.lane_partial_results` (the results the printer adds across the
    quad once, after the loop), as FlashAttention-2 does. A running sum read
    any other way inside the loop is left alone.
  }];
  let dependentDialects = ["::attn::AttnDialect"];
}

def AttnSpecializeInterior : Pass<"attn-specialize-interior", "::mlir::ModuleOp"> {
  let summary = "Interior KV tiles get code of their own: static tiles, no guards, no mask";
  let description = [{
    On tensor-core kernels, versions each KV tile's computation (from its
    first contraction to its yield) on `class == full && rows == block_m &&
    keys == block_n`: the interior version is a clone with static tile
    shapes (`tensor.cast` of what flows in, every cascade op re-typed) and
    the full branch of the tile-class branch inlined, marked
    `#attn.tile_branch<interior_or_edge>`; the edge version is the
    computation as it was. The printer drops every guard of a tile whose
    size is a constant covering its storage, so interior tiles run
    straight-line code.
  }];
  let dependentDialects = ["::attn::AttnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AttnFoldScoreScale : Pass<"attn-fold-score-scale", "::mlir::ModuleOp"> {
  let summary = "A scaling score map folds into the row max and the exp2 argument";
  let description = [{
    On tensor-core kernels, a map inside a KV loop whose body is exactly
    `x * c` (c a positive constant) and whose consumers are max reductions
    and maps is removed: the max is taken over x and scaled per row
    (max(x * c) = max(x) * c exactly, since c > 0 and rounding is monotone),
    and each consuming map multiplies its element itself, so the numerator
    `exp2(x * c - m)` becomes one FFMA. Run after -attn-specialize-interior,
    whose interior version holds the unmasked score map.
  }];
  let dependentDialects = ["::attn::AttnDialect", "::mlir::arith::ArithDialect"];
}

def AttnNarrowIndices : Pass<"attn-narrow-indices", "::mlir::ModuleOp"> {
  let summary = "Index arithmetic of map bodies in i32 where its range allows";
  let description = [{
    Runs upstream integer range analysis over the kernels (every extent of a
    kernel argument at most 2^30, abi::kMaxExtent, which the runtime's
    packer enforces; a map body's local indices below its output's extent;
    captures as computed outside) and rewrites each index add, subtract,
    multiply, division, remainder, min, max, select and compare of a map
    body whose operands and result provably lie in [-2^31, 2^31) to i32
    (unsigned division, remainder, min and max only on non-negative
    operands). What the analysis cannot bound stays 64-bit; i32 results
    reach 64-bit users through a sign-extending index_cast, and sitofp
    converts the 32-bit value. A map body runs per element (on tensor cores,
    per fragment element of unrolled loops), so this halves the registers
    and the instructions of its index code. Run last: later passes match map
    bodies as written.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // ATTN_CODEGEN_PASSES_TD
