// Document masking (packed sequences; FlexAttention's document_mask): tokens
// attend only within their own document, given by sorted per-token document
// ids, and causally. Self-attention over one packed sequence: nq = nk.
func.func @document(%q: tensor<?x8x?x64xf16>, %k: tensor<?x8x?x64xf16>, %v: tensor<?x8x?x64xf16>,
                    %doc: tensor<?x?xi32> {attn.gen = #attn.gen<segments, 1.0, 160.0>,
                                           attn.dims = ["b", "nk"]})
    -> tensor<?x8x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%doc : tensor<?x?xi32>)
      {normalizer = #attn.normalizer<softmax>}
      : tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16>, tensor<?x8x?x64xf16> -> tensor<?x8x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index,
           %d: tensor<?x?xi32>):
        %di = tensor.extract %d[%b, %i] : tensor<?x?xi32>
        %dj = tensor.extract %d[%b, %j] : tensor<?x?xi32>
        %same = arith.cmpi eq, %di, %dj : i32
        %causal = arith.cmpi ule, %j, %i : index
        %attend = arith.andi %same, %causal : i1
        attn.yield %attend : i1
      }
  return %o : tensor<?x8x?x64xf16>
}
