#include "attn/Passes/Passes.h"
namespace attn {
#define GEN_PASS_DEF_ATTNDECOMPOSE
#include "attn/Passes/Passes.h.inc"
}
namespace {
struct AttnDecomposePass : attn::impl::AttnDecomposeBase<AttnDecomposePass> {
  void runOnOperation() override {}
};
}
