// Multi-head latent attention as DeepSeek-V2/V3 decode runs it: the query
// heads attend to one latent KV head, scores over d_qk = 576 (512 latent +
// 64 rotary), values of d_v = 512; bottom-right causal (a chunk of new
// queries at the end of the cache).
func.func @mla(%q: tensor<?x16x?x576xbf16>, %k: tensor<?x1x?x576xbf16>, %v: tensor<?x1x?x512xbf16>) -> (tensor<?x16x?x512xbf16>, tensor<?x16x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x16x?x576xbf16>, tensor<?x1x?x576xbf16>, tensor<?x1x?x512xbf16> -> tensor<?x16x?x512xbf16>, tensor<?x16x?xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %past = arith.subi %nk, %nq : index
        %last = arith.addi %i, %past : index
        %attend = arith.cmpi ule, %j, %last : index
        attn.yield %attend : i1
      }
  return %o, %lse : tensor<?x16x?x512xbf16>, tensor<?x16x?xf32>
}

// A V head dim of 384 with d_qk 192 and GQA (4 query heads per KV head):
// past one warp's registers at 16 rows, split over two warps.
func.func @dv384(%q: tensor<?x8x?x192xf16>, %k: tensor<?x2x?x192xf16>, %v: tensor<?x2x?x384xf16>) -> tensor<?x8x?x384xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x192xf16>, tensor<?x2x?x192xf16>, tensor<?x2x?x384xf16> -> tensor<?x8x?x384xf16>
  return %o : tensor<?x8x?x384xf16>
}
