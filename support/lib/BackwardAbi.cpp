//===- BackwardAbi.cpp - the launch description of backward kernels ------===//

#include "attn/Support/BackwardAbi.h"

#include <functional>

using namespace attn::abi;

const char *attn::abi::backwardKernelRoleName(BackwardKernelRole role) {
  switch (role) {
  case BackwardKernelRole::RowSweep:
    return "row-sweep";
  case BackwardKernelRole::ColumnSweep:
    return "column-sweep";
  case BackwardKernelRole::Pointwise:
    return "pointwise";
  case BackwardKernelRole::SumPartials:
    return "sum-partials";
  }
  return "?";
}

std::optional<std::vector<int64_t>>
attn::abi::resolveBackwardDims(const BackwardKernels &kernels,
                               const std::vector<std::vector<int64_t>> &argShapes,
                               std::string *error) {
  std::vector<int64_t> sizes(kernels.dims.size(), -1);
  std::function<bool(unsigned, unsigned)> size = [&](unsigned c,
                                                     unsigned depth) {
    if (sizes[c] >= 0)
      return true;
    const BackwardDim &d = kernels.dims[c];
    if (depth > kernels.dims.size()) {
      *error = "the backward's dimension classes form a cycle";
      return false;
    }
    if (d.staticSize >= 0) {
      sizes[c] = d.staticSize;
      return true;
    }
    if (d.arg >= 0) {
      if (static_cast<size_t>(d.arg) >= argShapes.size() ||
          static_cast<size_t>(d.dim) >= argShapes[d.arg].size()) {
        *error = "argument " + std::to_string(d.arg) + " has no dimension " +
                 std::to_string(d.dim);
        return false;
      }
      sizes[c] = argShapes[d.arg][d.dim];
      return true;
    }
    if (d.quotientOf >= 0) {
      if (!size(d.quotientOf, depth + 1))
        return false;
      int64_t n = sizes[d.quotientOf];
      for (unsigned o : d.quotientBy) {
        if (!size(o, depth + 1))
          return false;
        if (sizes[o] == 0 || n % sizes[o]) {
          *error = "a dimension of size " + std::to_string(sizes[d.quotientOf]) +
                   " is not a multiple of " + std::to_string(sizes[o]) +
                   " (query heads per KV head)";
          return false;
        }
        n /= sizes[o];
      }
      sizes[c] = n;
      return true;
    }
    int64_t n = 1;
    for (unsigned p : d.productOf) {
      if (!size(p, depth + 1))
        return false;
      n *= sizes[p];
    }
    sizes[c] = n;
    return true;
  };
  for (unsigned c = 0; c < kernels.dims.size(); ++c)
    if (!size(c, 0))
      return std::nullopt;
  return sizes;
}

int64_t attn::abi::backwardKernelCtas(const BackwardKernel &kernel,
                                      const std::vector<int64_t> &dimSizes) {
  int64_t product = 1;
  for (unsigned c : kernel.productClasses)
    product *= dimSizes[c];
  int64_t ctas = (product + kernel.productDivisor - 1) / kernel.productDivisor;
  for (auto [c, block] : kernel.blockedClasses)
    ctas *= (dimSizes[c] + block - 1) / block;
  return ctas;
}

std::vector<int64_t>
attn::abi::backwardWorkspaceShape(const BackwardKernels &kernels,
                                  const BackwardTensor &t,
                                  const std::vector<int64_t> &dimSizes) {
  std::vector<int64_t> shape;
  for (const BackwardWorkspaceDim &d : t.dims)
    shape.push_back(d.ctasOfKernel >= 0
                        ? backwardKernelCtas(kernels.kernels[d.ctasOfKernel],
                                             dimSizes)
                        : dimSizes[d.dimClass]);
  return shape;
}
