//===- TileSummaries.cpp - per-block summaries of captured tensors ---------===//
//
// Masks that read captured integer tensors (document ids, block maps) cannot
// be classified from index arithmetic alone. The plan's first kernel
// summarises every such tensor: min and max of each 16-element block of its
// last dimension, O(tensor size) work. The other kernels' tile
// classification turns a read of the tensor over a tile's index range into
// the range the covering blocks' summaries give (tc::read_range), so a tile
// whose documents cannot match is skipped and a tile inside one document
// runs without mask code -- with a few lookups per tile, never a mask
// evaluation per element. A read of one element (indices fixed for the
// tile: len[b]) reads that element, so such a mask is classified exactly.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include <set>

using namespace mlir;
using namespace attn;

namespace attn::codegen::detail {

/// The function argument a tile_class region reads through `extract`, when
/// it is a captured integer tensor of the function.
static std::optional<unsigned> summarizableCapture(func::FuncOp func,
                                                   TileClassOp op,
                                                   tensor::ExtractOp extract) {
  Block &body = op.getMask().front();
  auto arg = dyn_cast<BlockArgument>(extract.getTensor());
  if (!arg || arg.getOwner() != &body || arg.getArgNumber() < 6)
    return std::nullopt;
  Value capture = op.getCaptures()[arg.getArgNumber() - 6];
  auto funcArg = dyn_cast<BlockArgument>(capture);
  if (!funcArg || funcArg.getOwner() != &func.getBody().front() ||
      funcArg.getArgNumber() < 3)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(funcArg.getType());
  // A rank-0 tensor is one value: nothing to summarise per block.
  if (!type || type.getRank() < 1 ||
      !type.getElementType().isSignlessInteger() ||
      type.getElementType().getIntOrFloatBitWidth() > 64 ||
      type.getElementType().isInteger(1))
    return std::nullopt;
  return funcArg.getArgNumber() - 3;
}

SmallVector<unsigned> KernelEmitter::summarizedCaptures(func::FuncOp func,
                                                        bool varlen) {
  std::set<unsigned> found;
  func.walk([&](TileClassOp op) {
    op.getMask().walk([&](tensor::ExtractOp extract) {
      if (auto n = summarizableCapture(func, op, extract))
        if (!varlen || varlenPackedDims(func, 3 + *n).empty())
          found.insert(*n);
    });
  });
  return SmallVector<unsigned>(found.begin(), found.end());
}

void KernelEmitter::collectSummarized() {
  summarized = summarizedCaptures(func, options.varlen);
}

std::optional<std::string>
KernelEmitter::summaryRead(TileClassOp op, tensor::ExtractOp extract,
                           ArrayRef<std::string> indices) {
  auto n = summarizableCapture(func, op, extract);
  if (!n || !llvm::is_contained(summarized, *n))
    return std::nullopt;
  std::string c = "p.c" + std::to_string(*n);
  std::string idx = fresh("idx"), sizes = fresh("sizes");
  std::string list, sizeList;
  for (auto [d, i] : llvm::enumerate(indices)) {
    list += (d ? ", " : "") + i;
    sizeList += (d ? ", " : "") + c + "_n" + std::to_string(d);
  }
  w.linef("const tc::Val {}[] = {{{}}};", idx, list);
  w.linef("const int64_t {}[] = {{{}}};", sizes, sizeList);
  // One element (every index a single known value): read it, exactly.
  std::string offset;
  for (size_t d = 0; d < indices.size(); ++d)
    offset += fmt::format("{}{}[{}].lo * {}_s{}", d ? " + " : "", idx, d, c, d);
  std::string value = fresh("read");
  w.linef("const tc::Val {} = tc::at_point({}, {}, {}) ? tc::constant(tcT, "
          "(tc::int64_t)ld_global({}, {}, {}_extent)) : tc::read_range(tcT, "
          "p.sum{}, {}, {}, {});",
          value, indices.size(), sizes, idx, c, offset, c, *n, indices.size(),
          sizes, idx);
  return value;
}

LogicalResult KernelEmitter::emitSummaryKernelBody() {
  w.line("const long long first = (long long)blockIdx.x * blockDim.x + "
         "threadIdx.x;");
  w.line("const long long stride = (long long)gridDim.x * blockDim.x;");
  for (unsigned n : summarized) {
    auto type = cast<RankedTensorType>(func.getArgument(3 + n).getType());
    int64_t rank = type.getRank();
    std::string c = "p.c" + std::to_string(n);
    std::string last = std::to_string(rank - 1);
    w.linef("// capture {}: min and max of each 16-element block of its last "
            "dimension",
            n);
    w.openScope();
    w.linef("const long long n = {}_n{};", c, last);
    w.line("const long long blocks = (n + tc::kSummaryBlock - 1) / "
           "tc::kSummaryBlock;");
    std::string rows = "1LL";
    for (int64_t d = 0; d + 1 < rank; ++d)
      rows = rows + " * " + c + "_n" + std::to_string(d);
    w.linef("const long long rows = {};", rows);
    w.line("#pragma unroll 1");
    w.open("for (long long w = first; w < rows * blocks; w += stride)");
    w.line("long long r = w / blocks, base = 0;");
    for (int64_t d = rank - 2; d >= 0; --d) {
      w.linef("base += (r % {0}_n{1}) * {0}_s{1};", c, d);
      w.linef("r /= {}_n{};", c, d);
    }
    w.line("const long long e0 = (w % blocks) * tc::kSummaryBlock;");
    w.line("const long long e1 = e0 + tc::kSummaryBlock < n ? e0 + "
           "tc::kSummaryBlock : n;");
    w.linef("long long lo = (long long)ld_global({0}, base + e0 * {0}_s{1}, "
            "{0}_extent);",
            c, last);
    w.line("long long hi = lo;");
    w.line("#pragma unroll 1");
    w.open("for (long long e = e0 + 1; e < e1; ++e)");
    w.linef("const long long x = (long long)ld_global({0}, base + e * "
            "{0}_s{1}, {0}_extent);",
            c, last);
    w.line("lo = x < lo ? x : lo;");
    w.line("hi = x > hi ? x : hi;");
    w.close();
    w.linef("st_global(p.sum{0}, 2 * w, p.sum{0}_extent, (int64_t)lo);", n);
    w.linef("st_global(p.sum{0}, 2 * w + 1, p.sum{0}_extent, (int64_t)hi);",
            n);
    w.close();
    w.close();
  }
  return success();
}

} // namespace attn::codegen::detail
