//===- Varlen.cpp - attn-run's variable-length batches ---------------------===//

#include "Varlen.h"

#include "RunSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <string>

using namespace attn::run;
using attn::interp::Tensor;

int64_t VarlenBatch::maxQ() const {
  return q.empty() ? 0 : *std::max_element(q.begin(), q.end());
}
int64_t VarlenBatch::maxK() const {
  return k.empty() ? 0 : *std::max_element(k.begin(), k.end());
}
int64_t VarlenBatch::totalQ() const {
  return std::accumulate(q.begin(), q.end(), int64_t(0));
}
int64_t VarlenBatch::totalK() const {
  return std::accumulate(k.begin(), k.end(), int64_t(0));
}

std::vector<int32_t>
VarlenBatch::offsets(const std::vector<int64_t> &lengths) {
  std::vector<int32_t> out{0};
  for (int64_t n : lengths)
    out.push_back(static_cast<int32_t>(out.back() + n));
  return out;
}

/// The lengths of a comma-separated list given to `flag`.
static llvm::Expected<std::vector<int64_t>> parseLengths(llvm::StringRef flag,
                                                         llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  std::vector<int64_t> out;
  int64_t total = 0;
  for (auto [n, part] : llvm::enumerate(parts)) {
    int64_t length;
    if (part.trim().getAsInteger(10, length) || length < 0)
      return makeError("--" + flag + ": entry " + llvm::Twine(n) + " is '" +
                       part + "'; expected a non-negative integer");
    total += length;
    if (total > std::numeric_limits<int32_t>::max())
      return makeError("--" + flag + ": the sequences have more than 2^31 - 1 "
                       "rows in all (int32 offsets)");
    out.push_back(length);
  }
  return out;
}

llvm::Expected<VarlenBatch>
attn::run::parseVarlenBatch(llvm::StringRef queries, llvm::StringRef keys) {
  VarlenBatch batch;
  auto q = parseLengths("varlen", queries);
  if (!q)
    return q.takeError();
  batch.q = std::move(*q);
  if (keys.empty()) {
    batch.k = batch.q;
  } else {
    auto k = parseLengths("varlen-k", keys);
    if (!k)
      return k.takeError();
    batch.k = std::move(*k);
  }
  if (batch.k.size() != batch.q.size())
    return makeError("--varlen-k has " + llvm::Twine(batch.k.size()) +
                     " lengths but --varlen has " +
                     llvm::Twine(batch.q.size()) +
                     " (one per sequence, both)");
  for (size_t s = 0; s < batch.q.size(); ++s)
    if (batch.q[s] > 0 && batch.k[s] == 0)
      return makeError("sequence " + llvm::Twine(s) + " has " +
                       llvm::Twine(batch.q[s]) +
                       " queries but no keys; the reference defines no "
                       "attention over zero keys");
  return batch;
}

namespace {

/// How a varlen run lays out an input.
enum class Packing {
  /// Drawn once and shared by every sequence (no sequence dimension).
  Shared,
  /// One row per sequence (a dynamic "b" dimension), padded to the longest.
  PerSequence,
  /// Its dynamic "nq"/"nk" dimensions packed like q and k.
  Packed,
};

/// The size symbol of each dimension of argument `a` (empty for a static
/// dimension or one without a symbol), as the runtime's signature reads
/// attn.dims.
std::vector<std::string> dimSymbols(mlir::func::FuncOp func, unsigned a) {
  std::vector<std::string> out;
  auto type = mlir::dyn_cast<mlir::RankedTensorType>(
      func.getArgumentTypes()[a]);
  if (!type)
    return out;
  auto dims = func.getArgAttrOfType<mlir::ArrayAttr>(a, "attn.dims");
  for (int64_t d = 0; d < type.getRank(); ++d) {
    mlir::StringAttr s;
    if (dims && d < static_cast<int64_t>(dims.size()))
      s = mlir::dyn_cast<mlir::StringAttr>(dims[d]);
    out.push_back(s && type.isDynamicDim(d) ? s.getValue().str() : "");
  }
  return out;
}

Packing packingOf(const std::vector<std::string> &symbols) {
  if (llvm::is_contained(symbols, "b"))
    return Packing::PerSequence;
  if (llvm::is_contained(symbols, "nq") || llvm::is_contained(symbols, "nk"))
    return Packing::Packed;
  return Packing::Shared;
}

/// Calls fn(multi-index, linear index) for every element of `shape`.
template <typename Fn>
void forEachIndex(const std::vector<int64_t> &shape, Fn fn) {
  int64_t count = 1;
  for (int64_t n : shape)
    count *= n;
  std::vector<int64_t> at(shape.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    fn(at, i);
    for (size_t d = at.size(); d-- > 0;) {
      if (++at[d] < shape[d])
        break;
      at[d] = 0;
    }
  }
}

int64_t linear(const std::vector<int64_t> &shape,
               const std::vector<int64_t> &at) {
  int64_t out = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    out = out * shape[d] + at[d];
  return out;
}

/// `t` cut to `length` along dimension `dim`.
Tensor sliced(const Tensor &t, size_t dim, int64_t length) {
  Tensor out;
  out.shape = t.shape;
  out.shape[dim] = length;
  forEachIndex(t.shape, [&](const std::vector<int64_t> &at, int64_t i) {
    if (at[dim] < length)
      out.data.push_back(t.data[i]);
  });
  return out;
}

/// [1, H, n, D] tensors of the sequences packed as [total, H, D].
Tensor packRows(const std::vector<const Tensor *> &sequences,
                const std::vector<int32_t> &starts, int64_t total) {
  const Tensor &first = *sequences.front();
  int64_t heads = first.shape[1], features = first.shape[3];
  Tensor out = Tensor::filled({total, heads, features}, 0);
  for (size_t s = 0; s < sequences.size(); ++s)
    forEachIndex(sequences[s]->shape,
                 [&](const std::vector<int64_t> &at, int64_t i) {
                   int64_t row = starts[s] + at[2];
                   out.data[(row * heads + at[1]) * features + at[3]] =
                       sequences[s]->data[i];
                 });
  return out;
}

} // namespace

llvm::Expected<VarlenInputs>
attn::run::makeVarlenInputs(mlir::func::FuncOp func,
                            const attn::interp::SizeBindings &flags,
                            const VarlenBatch &batch, uint64_t seed,
                            mlir::Type dtype) {
  VarlenInputs out;
  unsigned args = func.getNumArguments();
  std::vector<std::vector<std::string>> symbols;
  for (unsigned a = 0; a < args; ++a)
    symbols.push_back(a < 3 ? std::vector<std::string>{"b", a ? "hkv" : "hq",
                                                       a ? "nk" : "nq", ""}
                            : dimSymbols(func, a));
  for (int64_t s = 0; s < batch.sequences(); ++s) {
    attn::interp::SizeBindings bindings = flags;
    bindings.b = 1;
    // An empty sequence is drawn with one row and cut to none.
    bindings.nq = std::max<int64_t>(1, batch.q[s]);
    bindings.nk = std::max<int64_t>(1, batch.k[s]);
    auto shapes = attn::interp::bindShapes(func, bindings);
    if (!shapes)
      return shapes.takeError();
    // Each sequence its own stream: sequence s of one seed is not sequence
    // s + 1 of the next.
    uint64_t sequenceSeed = seed * 0x9E3779B97F4A7C15ull + uint64_t(s);
    auto inputs = attn::interp::makeInputs(func, *shapes, sequenceSeed, dtype);
    if (!inputs)
      return inputs.takeError();
    for (unsigned a = 0; a < args; ++a)
      for (size_t d = 0; d < symbols[a].size(); ++d) {
        if (symbols[a][d] == "nq" && batch.q[s] == 0)
          (*inputs)[a] = sliced((*inputs)[a], d, 0);
        if (symbols[a][d] == "nk" && batch.k[s] == 0)
          (*inputs)[a] = sliced((*inputs)[a], d, 0);
      }
    if (s > 0)
      for (unsigned a = 3; a < args; ++a)
        if (packingOf(symbols[a]) == Packing::Shared)
          (*inputs)[a] = out.perSequence[0][a];
    out.perSequence.push_back(std::move(*inputs));
  }
  std::vector<int32_t> startsQ = VarlenBatch::offsets(batch.q),
                       startsK = VarlenBatch::offsets(batch.k);
  for (unsigned a = 0; a < args; ++a) {
    std::vector<const Tensor *> each;
    for (const auto &inputs : out.perSequence)
      each.push_back(&inputs[a]);
    if (a < 3) {
      out.packed.push_back(packRows(each, a ? startsK : startsQ,
                                    a ? batch.totalK() : batch.totalQ()));
      continue;
    }
    Packing packing = packingOf(symbols[a]);
    if (packing == Packing::Shared) {
      out.packed.push_back(*each.front());
      continue;
    }
    // The packed shape: B rows per sequence, padded to the longest; or the
    // sequences' rows back to back.
    bool perSequence = packing == Packing::PerSequence;
    std::vector<int64_t> shape = each.front()->shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      const std::string &sym = symbols[a][d];
      if (sym == "b")
        shape[d] = batch.sequences();
      else if (sym == "nq")
        shape[d] = perSequence ? batch.maxQ() : batch.totalQ();
      else if (sym == "nk")
        shape[d] = perSequence ? batch.maxK() : batch.totalK();
    }
    // Padding is never read (the kernels stop at each sequence's length).
    Tensor packed = Tensor::filled(shape, 0);
    for (size_t s = 0; s < each.size(); ++s)
      forEachIndex(each[s]->shape, [&](std::vector<int64_t> at, int64_t i) {
        for (size_t d = 0; d < at.size(); ++d) {
          const std::string &sym = symbols[a][d];
          if (sym == "b")
            at[d] = static_cast<int64_t>(s);
          else if (sym == "nq" && !perSequence)
            at[d] += startsQ[s];
          else if (sym == "nk" && !perSequence)
            at[d] += startsK[s];
        }
        packed.data[linear(shape, at)] = each[s]->data[i];
      });
    out.packed.push_back(std::move(packed));
  }
  return out;
}

std::vector<Tensor> attn::run::concatSequences(
    const std::vector<std::vector<Tensor>> &results, const VarlenBatch &batch,
    int64_t hq, int64_t dv, size_t resultCount) {
  int64_t total = batch.totalQ();
  std::vector<Tensor> out;
  out.push_back(Tensor::filled({1, hq, total, dv}, 0));
  if (resultCount > 1)
    out.push_back(Tensor::filled({1, hq, total}, 0));
  std::vector<int32_t> starts = VarlenBatch::offsets(batch.q);
  for (size_t s = 0; s < results.size(); ++s) {
    if (results[s].empty())
      continue;
    for (size_t r = 0; r < out.size(); ++r) {
      const Tensor &t = results[s][r];
      int64_t features = r == 0 ? dv : 1;
      forEachIndex(t.shape, [&](const std::vector<int64_t> &at, int64_t i) {
        int64_t row = starts[s] + at[2];
        int64_t feature = r == 0 ? at[3] : 0;
        out[r].data[(at[1] * total + row) * features + feature] = t.data[i];
      });
    }
  }
  return out;
}

std::vector<Tensor>
attn::run::unpackResults(const std::vector<Tensor> &packed) {
  std::vector<Tensor> out;
  const Tensor &o = packed[0];
  int64_t total = o.shape[0], hq = o.shape[1], dv = o.shape[2];
  Tensor cat = Tensor::filled({1, hq, total, dv}, 0);
  forEachIndex(o.shape, [&](const std::vector<int64_t> &at, int64_t i) {
    cat.data[(at[1] * total + at[0]) * dv + at[2]] = o.data[i];
  });
  out.push_back(std::move(cat));
  if (packed.size() > 1) {
    // lse [Hq, total_q] is [1, Hq, total_q] already.
    Tensor lse = packed[1];
    lse.shape.insert(lse.shape.begin(), 1);
    out.push_back(std::move(lse));
  }
  return out;
}

Tensor attn::run::concatValues(const VarlenInputs &inputs,
                               const VarlenBatch &batch) {
  const Tensor &first = inputs.perSequence.front()[2];
  int64_t heads = first.shape[1], dv = first.shape[3],
          total = batch.totalK();
  Tensor out = Tensor::filled({1, heads, total, dv}, 0);
  std::vector<int32_t> starts = VarlenBatch::offsets(batch.k);
  for (size_t s = 0; s < inputs.perSequence.size(); ++s) {
    const Tensor &v = inputs.perSequence[s][2];
    forEachIndex(v.shape, [&](const std::vector<int64_t> &at, int64_t i) {
      out.data[(at[1] * total + starts[s] + at[2]) * dv + at[3]] = v.data[i];
    });
  }
  return out;
}

PageLayout attn::run::layoutPages(const VarlenBatch &batch, int64_t pageSize,
                                  uint64_t seed) {
  PageLayout out;
  out.pageSize = pageSize;
  std::vector<int64_t> perSequence;
  for (int64_t n : batch.k) {
    perSequence.push_back((n + pageSize - 1) / pageSize);
    out.pages += perSequence.back();
    out.maxPages = std::max(out.maxPages, perSequence.back());
  }
  std::vector<int32_t> order(out.pages);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed * 0x2545F4914F6CDD1Dull + 1);
  std::shuffle(order.begin(), order.end(), rng);
  out.table.assign(batch.sequences() * out.maxPages, -1);
  int64_t next = 0;
  for (int64_t s = 0; s < batch.sequences(); ++s)
    for (int64_t k = 0; k < perSequence[s]; ++k)
      out.table[s * out.maxPages + k] = order[next++];
  return out;
}

Tensor attn::run::toPages(const Tensor &packed, const VarlenBatch &batch,
                          const PageLayout &layout) {
  int64_t heads = packed.shape[1], features = packed.shape[2];
  int64_t rowElements = heads * features;
  Tensor out = Tensor::filled({layout.pages, layout.pageSize, heads, features},
                              std::nan(""));
  std::vector<int32_t> starts = VarlenBatch::offsets(batch.k);
  for (int64_t s = 0; s < batch.sequences(); ++s)
    for (int64_t j = 0; j < batch.k[s]; ++j) {
      int64_t page = layout.table[s * layout.maxPages + j / layout.pageSize];
      int64_t slot = j % layout.pageSize;
      std::copy_n(packed.data.begin() + (starts[s] + j) * rowElements,
                  rowElements,
                  out.data.begin() +
                      (page * layout.pageSize + slot) * rowElements);
    }
  return out;
}

Tensor attn::run::fromPages(const Tensor &pages, const VarlenBatch &batch,
                            const PageLayout &layout, int64_t s) {
  int64_t heads = pages.shape[2], features = pages.shape[3];
  int64_t keys = batch.k[s];
  Tensor out = Tensor::filled({1, heads, keys, features}, 0);
  for (int64_t j = 0; j < keys; ++j) {
    int64_t page = layout.table[s * layout.maxPages + j / layout.pageSize];
    int64_t slot = j % layout.pageSize;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t d = 0; d < features; ++d)
        out.data[(h * keys + j) * features + d] =
            pages.data[((page * layout.pageSize + slot) * heads + h) *
                           features +
                       d];
  }
  return out;
}
