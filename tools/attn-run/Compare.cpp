//===- Compare.cpp - attn-run's comparison of results with the reference --===//
//
// See Compare.h.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <cmath>
#include <set>
#include <tuple>

using attn::interp::Tensor;

namespace attn::run {

Stats statsOf(const Tensor &value) {
  Stats stats;
  double sum = 0;
  for (double x : value.data) {
    if (std::isnan(x))
      ++stats.nanCount;
    else if (std::isinf(x))
      ++stats.infCount;
    else
      sum += x * x;
  }
  stats.l2 = std::sqrt(sum);
  return stats;
}

namespace {

/// Which features of which KV head hold a non-finite V value at some key:
/// where a kernel's P·V can turn a weight-0 key into NaN (0 x NaN, 0 x inf).
class NonFiniteV {
public:
  explicit NonFiniteV(const Tensor &v) {
    if (v.shape.size() != 4)
      return;
    batch = v.shape[0], heads = v.shape[1];
    int64_t keys = v.shape[2];
    features = v.shape[3];
    flags.assign(batch * heads * features, false);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < keys; ++j)
          for (int64_t f = 0; f < features; ++f)
            if (!std::isfinite(v.data[((b * heads + h) * keys + j) * features + f]))
              flags[(b * heads + h) * features + f] = true;
  }

  /// Whether element (b, h, i, f) of an output o [B, Hq, Nq, Dv] can be
  /// such a spread: query head h reads KV head h / (Hq / Hkv).
  bool at(const std::vector<int64_t> &oShape, int64_t flat) const {
    if (flags.empty() || oShape.size() != 4 || oShape[0] != batch ||
        oShape[3] != features || heads == 0 || oShape[1] % heads != 0)
      return false;
    int64_t f = flat % features, h = flat / (features * oShape[2]) % oShape[1],
            b = flat / (features * oShape[2] * oShape[1]);
    int64_t hk = h / (oShape[1] / heads);
    return flags[(b * heads + hk) * features + f];
  }

private:
  int64_t batch = 0, heads = 0, features = 0;
  std::vector<bool> flags;
};

} // namespace

/// The comparison of `a` (the run) with `b` (the reference); `spread` says
/// which elements may be a weight-0 key's spread non-finite V.
static Comparison compareOne(const Tensor &a, const Tensor &b,
                             const NonFiniteV *spread) {
  Comparison c;
  if (a.shape != b.shape || a.data.size() != b.data.size()) {
    c.relErr = INFINITY;
    return c;
  }
  double diff = 0, norm = 0;
  std::set<int64_t> rows;
  int64_t rowLength = a.shape.empty() ? 1 : a.shape.back();
  for (size_t k = 0; k < a.data.size(); ++k) {
    double x = a.data[k], y = b.data[k];
    if (std::isfinite(x) && std::isfinite(y)) {
      diff += (x - y) * (x - y);
      norm += y * y;
      continue;
    }
    if ((std::isnan(x) && std::isnan(y)) || x == y)
      continue; // the same NaN or infinity
    if (std::isfinite(y) && spread && spread->at(a.shape, k)) {
      ++c.spreadElements;
      rows.insert(static_cast<int64_t>(k) / rowLength);
      continue;
    }
    c.relErr = std::isnan(x) || std::isnan(y) ? NAN : INFINITY;
    return c;
  }
  c.spreadRows = static_cast<int64_t>(rows.size());
  diff = std::sqrt(diff);
  norm = std::sqrt(norm);
  c.relErr = norm == 0 ? diff : diff / norm;
  return c;
}

std::vector<Comparison>
compareResults(llvm::ArrayRef<Tensor> results, llvm::ArrayRef<Tensor> reference,
               const Tensor &v, double tol,
               llvm::function_ref<std::string(unsigned)> name) {
  NonFiniteV spread(v);
  std::vector<Comparison> out;
  size_t n = std::max(results.size(), reference.size());
  for (size_t i = 0; i < n; ++i) {
    Comparison c;
    if (i < results.size() && i < reference.size())
      c = compareOne(results[i], reference[i], i == 0 ? &spread : nullptr);
    else
      c.relErr = INFINITY;
    c.name = name(i);
    c.pass = !std::isnan(c.relErr) && c.relErr <= tol;
    out.push_back(std::move(c));
  }
  return out;
}

} // namespace attn::run
