#include "attn/Passes/Passes.h"
namespace attn {
#define GEN_PASS_DEF_ATTNANALYZE
#include "attn/Passes/Passes.h.inc"
}
namespace {
struct AttnAnalyzePass : attn::impl::AttnAnalyzeBase<AttnAnalyzePass> {
  void runOnOperation() override {}
};
}
