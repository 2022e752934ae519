//===- Catalogue.cpp - well-known attention variants, built in C++ --------===//
//
// Each entry whose name is an example's file name (examples/<name>.mlir)
// builds the same function: same signature, same input generators, the
// same mask and score values (test/examples/catalogue.test checks the
// interpreter's outputs bitwise and the report's counts).
//
//===----------------------------------------------------------------------===//

#include "attn/VariantBuilder.h"

using namespace attn;
using namespace attn::var;

namespace {

std::vector<CatalogueEntry> buildCatalogue() {
  std::vector<CatalogueEntry> c;
  auto add = [&](std::string name, std::string source, std::string summary,
                 VariantBuilder v) {
    c.push_back(
        {std::move(name), std::move(source), std::move(summary), std::move(v)});
  };
  auto variant = [](const char *name) { return VariantBuilder(name); };

  add("softmax", "Vaswani et al. 2017", "dense softmax attention, with lse",
      variant("softmax").lse());
  add("causal", "GPT (decoder LMs)", "j <= i, with lse",
      variant("causal").lse().mask(mods::causal()));
  add("causal_bottom_right", "FlashAttention 2.1 (KV cache, chunked prefill)",
      "causal aligned at the last query: j + nq <= i + nk",
      variant("causal_bottom_right").lse().mask(mods::bottomRightCausal()));
  add("cross_attention", "encoder-decoder attention",
      "dense, nq != nk allowed, head dim 64 for q/k and 32 for v",
      variant("cross_attention").headDim(64, 32));
  add("gqa", "GQA (Ainslie et al. 2023; Llama 2/3)",
      "8 query heads over 2 KV heads, causal, with lse",
      variant("gqa").heads(8, 2).lse().mask(mods::causal()));
  add("sliding_window", "Mistral 7B, Longformer",
      "causal window of the 256 previous keys",
      variant("sliding_window").mask(mods::slidingWindow(256)));
  add("sliding_window_sinks", "StreamingLLM (Xiao et al. 2024)",
      "causal: 4 sink tokens and a window of 512",
      variant("sliding_window_sinks")
          .mask(mods::causal() && (mods::sinkTokens(4) || j() >= i() - 512)));
  add("chunked", "Llama 4 (chunked local attention; 8192 there)",
      "causal within chunks of 1024 tokens",
      variant("chunked").mask(mods::chunked(1024) && mods::causal()));
  VariantCapture prefix =
      VariantCapture::scalar("prefix", Gen::intRange(1, 200));
  add("prefix_lm", "T5, PaliGemma (prefix-LM)",
      "causal, plus the whole prefix (a captured length)",
      variant("prefix_lm").mask(mods::prefixLm(prefix.value())));
  VariantCapture doc = VariantCapture::tensor("doc", ScalarType::I32,
                                              {Dim::of("b"), Dim::of("nk")},
                                              Gen::segments(1, 160));
  add("document", "FlexAttention document_mask (packed sequences)",
      "causal within a token's document (captured ids)",
      variant("document").mask(mods::document(doc) && mods::causal()));
  add("block_diffusion", "BD3-LM (Arriola et al. 2025)",
      "[x_t, x_0] halves, blocks of 16: block-diagonal, offset block-causal, "
      "block-causal",
      variant("block_diffusion").mask(mods::blockDiffusion(16)));
  add("neighborhood_1d", "NATTEN (Hassani et al. 2023)",
      "the 33 nearest keys, window clamped inside the sequence",
      variant("neighborhood_1d").mask(mods::neighborhood1d(33)));
  add("neighborhood_1d_dilated", "DiNAT (Hassani & Shi 2022)",
      "7 keys of the query's residue class mod 4",
      variant("neighborhood_1d_dilated").mask(mods::neighborhood1d(7, 4)));
  add("neighborhood_1d_causal", "NATTEN causal neighborhood",
      "the 33 keys up to the query",
      variant("neighborhood_1d_causal")
          .mask(mods::neighborhood1d(33, 1, /*causal=*/true)));
  add("neighborhood_2d", "NATTEN 2-D (Hassani et al. 2023)",
      "7x7 window on a grid of rows of 32 tokens",
      variant("neighborhood_2d").mask(mods::neighborhood2d(32, 7)));
  add("neighborhood_3d", "NATTEN 3-D (video)",
      "3x3x3 window on frames of 8x8 tokens",
      variant("neighborhood_3d").mask(mods::neighborhood3d(8, 8, 3)));
  VariantCapture slopes = VariantCapture::tensor(
      "slopes", ScalarType::F32, {Dim::fixed(8)}, Gen::uniform(0.0039, 1.0));
  add("alibi", "ALiBi (Press et al. 2022; BLOOM, MPT)",
      "causal, s + slope[h]·(j - i) with captured slopes",
      variant("alibi")
          .capture(slopes)
          .mask(mods::causal())
          .score(mods::alibi(slopes)));
  add("softcap", "Gemma 2, Grok-1", "50·tanh(s / 50)",
      variant("softcap").score(mods::softcap(50.0)));
  VariantCapture rel = VariantCapture::tensor("rel", ScalarType::F32,
                                              {Dim::fixed(8), Dim::fixed(257)});
  add("relative_position", "T5-style learned relative bias (clipped at 128)",
      "causal, s + rel[h, clamp(j - i, -128, 128) + 128]",
      variant("relative_position")
          .mask(mods::causal())
          .score(mods::relativePosition(rel, 128)));
  VariantCapture bias = VariantCapture::tensor(
      "bias", ScalarType::F32, {Dim::fixed(8), Dim::of("nq"), Dim::of("nk")});
  add("bias", "FlexAttention score_mod with a bias tensor",
      "s + bias[h, i, j], a captured [hq, nq, nk] table",
      variant("bias").score(mods::biasTable(bias)));
  add("softcap_alibi", "Gemma 2-style capping over ALiBi (composition)",
      "causal, 30·tanh((s + slope[h]·(j - i)) / 30)",
      variant("softcap_alibi")
          .capture(slopes)
          .mask(mods::causal())
          .score(compose(mods::softcap(30.0), mods::alibi(slopes))));
  add("sigmoid", "FlashSigmoid (Ramapuram et al. 2025)",
      "sigmoid(s - ln nk), no row normalization",
      variant("sigmoid").normalizer(Normalizer::sigmoid()));
  add("softplus", "softplus-normalized attention",
      "causal, softplus(s) / Σ softplus",
      variant("softplus")
          .normalizer(Normalizer::softplus())
          .mask(mods::causal()));
  VariantCapture sinks = VariantCapture::tensor(
      "sinks", ScalarType::F32, {Dim::fixed(64)}, Gen::uniform(-4.0, 4.0));
  add("sink_logits", "gpt-oss (learned sink logits)",
      "64 query heads over 8 KV heads, window of 127, a sink logit per head",
      variant("sink_logits")
          .heads(64, 8)
          .lse()
          .sinkLogits(sinks)
          .mask(mods::slidingWindow(127)));
  return c;
}

} // namespace

const std::vector<CatalogueEntry> &attn::catalogue() {
  static const std::vector<CatalogueEntry> entries = buildCatalogue();
  return entries;
}
