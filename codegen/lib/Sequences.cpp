//===- Sequences.cpp - varlen batches and paged KV caches ------------------===//
//
// The same kernel body serves a dense batch, a variable-length batch
// (CudaEmitOptions::varlen) and a paged KV cache (CudaEmitOptions::pagedKv):
// CTA z runs sequence z as its own problem, and the kernel's first lines
// copy the parameters and rebase that copy on the sequence.
//  - Varlen (FlashAttention's varlen API, inference engines): q, o
//    [total_q, Hq, D], k, v [total_k, Hkv, D], lse [Hq, total_q], packed
//    back to back, with cumulative starts cu_seqlens_q and cu_seqlens_k
//    (int32, B + 1 entries). Nq and Nk become the sequence's lengths and
//    every tensor packed along the sequences (q, k, v, o, lse, the captures
//    packed like them) starts at the sequence's first row. The host binds
//    the packed tensors with a batch stride of 0 and sizes the grid from the
//    longest sequence; it never reads the offsets.
//  - Paged KV (vLLM, FlashInfer): k, v are pages [num_pages, page_size,
//    Hkv, D]; Nk becomes seq_lens_k[z] and the block table's pointer its
//    row z; the K/V loaders (stage_tile_paged, paged_row_offset) find each
//    key row's page through it.
// So masks and scores see per-sequence i, j, nq, nk, a Q tile never reaches
// past its sequence's rows and a KV tile never past its keys.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"
#include "attn/Dialect/KernelAttrs.h"

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

SmallVector<std::pair<int64_t, bool>>
KernelEmitter::varlenPackedDims(func::FuncOp func, unsigned a) {
  if (a < 3)
    return {{2, a != 0}};
  auto dims = func.getArgAttrOfType<ArrayAttr>(a, "attn.dims");
  auto type = dyn_cast<RankedTensorType>(func.getArgument(a).getType());
  if (!dims || !type)
    return {};
  // Only dynamic dimensions take a size symbol (as the runtime's signature
  // reads attn.dims): a static one is the same for every sequence.
  auto symbolOf = [&](int64_t d) -> StringRef {
    auto s = d < static_cast<int64_t>(dims.size())
                 ? dyn_cast<StringAttr>(dims[d])
                 : StringAttr();
    return s && type.isDynamicDim(d) ? s.getValue() : StringRef();
  };
  SmallVector<std::pair<int64_t, bool>> out;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    // A capture indexed by the batch is one row per sequence, read at the
    // sequence's own positions: nothing to rebase.
    if (symbolOf(d) == "b")
      return {};
    if (symbolOf(d) == "nq" || symbolOf(d) == "nk")
      out.push_back({d, symbolOf(d) == "nk"});
  }
  return out;
}

LogicalResult KernelEmitter::checkSequenceLayout() {
  const char *what = options.varlen ? "varlen" : "paged-KV";
  if (splitLoop && options.varlen)
    return splitLoop.emitError(
        "CUDA emitter: a varlen plan is a plain plan; this function is "
        "split-KV");
  scf::ForOp outer = gridLoops.front();
  auto lb = getConstantIntValue(outer.getLowerBound());
  auto step = getConstantIntValue(outer.getStep());
  if (gridLoops.size() < 3 || gridLetter(outer) != 'b' || !lb || *lb != 0 ||
      !step || *step != 1)
    return outer.emitError("CUDA emitter: a ")
           << what
           << " plan needs the batch as the outermost grid loop ('b' from 0 "
              "by 1, one sequence per CTA along z)";
  // Sizes the sequences set must be read from the parameters, not folded
  // into the code: a static batch would run one sequence, a static length
  // every sequence at it.
  auto type = [&](unsigned a) {
    return cast<RankedTensorType>(func.getArgument(a).getType());
  };
  auto needDynamic = [&](unsigned a, int64_t d,
                         const char *why) -> LogicalResult {
    if (!type(a).isDynamicDim(d))
      return func.emitError("CUDA emitter: a ")
             << what << " plan needs a dynamic " << why << " ('"
             << (a == 0 ? "q" : "k") << "' dimension " << d << " is "
             << type(a).getDimSize(d) << ")";
    return success();
  };
  if (options.varlen &&
      (failed(needDynamic(0, 0, "batch (the sequences)")) ||
       failed(needDynamic(0, 2, "query length"))))
    return failure();
  if ((options.varlen || options.pagedKv) &&
      failed(needDynamic(1, 2, "key length")))
    return failure();
  if (options.varlen && options.pagedKv)
    for (unsigned a = 3; a < func.getNumArguments(); ++a)
      for (auto [dim, keys] : varlenPackedDims(func, a))
        if (keys)
          return func.emitError("CUDA emitter: capture ")
                 << a - 3 << " is packed along the keys (attn.dims 'nk' "
                 << "without 'b'), which a paged KV cache does not pack: "
                 << "index it per sequence ('b')";
  return success();
}

void KernelEmitter::emitSequencePrologue() {
  if (options.varlen) {
    w.line("// A variable-length batch: CTA z runs sequence z as its own "
           "problem. It rebases a");
    w.line("// copy of the parameters on the sequence's rows "
           "[cu_seqlens_q[z], cu_seqlens_q[z+1]) of");
    w.line(options.pagedKv
               ? "// the packed queries."
               : "// the packed queries and [cu_seqlens_k[z], "
                 "cu_seqlens_k[z+1]) of the packed keys.");
  }
  if (options.pagedKv) {
    w.line("// A paged KV cache: sequence z's keys are seq_lens_k[z] rows "
           "in the pages listed by");
    w.line("// row z of the block table, which the copy is rebased on.");
  }
  w.line("if ((long long)blockIdx.z >= pArg.B) return;");
  w.linef("{} p = pArg;", paramsType);
  w.openScope();
  w.line("const long long seq = (long long)blockIdx.z;");
  if (options.varlen) {
    w.line("const long long q0 = ld_global(p.cu_seqlens_q, seq, "
           "p.cu_seqlens_q_extent);");
    w.line("p.Nq = ld_global(p.cu_seqlens_q, seq + 1, p.cu_seqlens_q_extent) "
           "- q0;");
  }
  if (options.pagedKv) {
    w.line("p.Nk = ld_global(p.seq_lens_k, seq, p.seq_lens_k_extent);");
    w.line("p.block_table += seq * p.block_table_s0;");
    w.line("p.block_table_extent -= seq * p.block_table_s0;");
  } else {
    w.line("const long long k0 = ld_global(p.cu_seqlens_k, seq, "
           "p.cu_seqlens_k_extent);");
    w.line("p.Nk = ld_global(p.cu_seqlens_k, seq + 1, p.cu_seqlens_k_extent) "
           "- k0;");
  }
  if (!options.varlen) {
    w.close();
    return;
  }
  auto rebase = [&](const std::string &name, int64_t dim, bool keys,
                    bool sized) {
    std::string start = keys ? "k0" : "q0";
    std::string stride = "p." + name + "_s" + std::to_string(dim);
    w.linef("p.{0} += {1} * {2};", name, start, stride);
    w.linef("p.{0}_extent -= {1} * {2};", name, start, stride);
    if (sized)
      w.linef("p.{}_n{} = {};", name, dim, keys ? "p.Nk" : "p.Nq");
  };
  static const char *const qkv[] = {"q", "k", "v"};
  for (unsigned a = 0; a < func.getNumArguments(); ++a) {
    if (!isa<RankedTensorType>(func.getArgument(a).getType()) ||
        (options.pagedKv && (a == 1 || a == 2)))
      continue;
    std::string name = a < 3 ? qkv[a] : "c" + std::to_string(a - 3);
    for (auto [dim, keys] : varlenPackedDims(func, a))
      rebase(name, dim, keys, /*sized=*/a >= 3);
  }
  rebase("o", 2, false, false);
  if (func.getNumResults() > 1)
    rebase("lse", 2, false, false);
  w.close();
}

} // namespace attn::codegen::detail
