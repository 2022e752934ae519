//===- VariantBuilder.h - attention variants from C++ ----------*- C++ -*-===//
//
// Builds the `attn` dialect text of a variant from C++ values, so a host
// needs neither MLIR text in string literals nor the MLIR headers:
//
//   using namespace attn;
//   using namespace attn::var;
//   VariantCapture slopes = VariantCapture::tensor(
//       "slopes", ScalarType::F32, {Dim::fixed(8)}, Gen::uniform(0.0039, 1));
//   VariantBuilder v("alibi_window");
//   v.heads(8).headDim(64).mask(mods::causal() && j() >= i() - 1024)
//    .score(mods::alibi(slopes));
//   Expected<std::string> text = v.toMlir();  // for Runtime::compileText
//
// Masks are boolean expressions over the indices b, h, i, j, nq, nk and the
// captures; score modifications are f32 expressions over the same and the
// score s (`var::s()`). Both compose as ordinary C++ expressions (`&&`, `||`,
// `!`, arithmetic, comparisons) and with `compose` (a score modification of
// another). `attn::mods` holds the well-known ones and `attn::catalogue()`
// the named variants of the README's catalogue. Text of a ModuleOp:
// attn::buildModule in RuntimeMLIR.h.
//
// Arithmetic follows C++: integer `/` and `%` truncate (arith.divsi/remsi),
// integer comparisons are signed, mixed operands promote index/i32/i64 to
// the wider integer (index first) and integers to f32. A misuse (a boolean in
// arithmetic, a float index) is reported by toMlir(), never thrown.
//
// Several attentions and an element-wise epilogue over their outputs, as one
// function (differential attention):
//
//   VariantCapture lambda = VariantCapture::tensor("lambda", ScalarType::F32,
//                                                  {Dim::fixed(1)});
//   ProgramBuilder p("differential");
//   p.attention(VariantBuilder("a1").mask(mods::causal()), "q1", "k1", "v")
//    .attention(VariantBuilder("a2").mask(mods::causal()), "q2", "k2", "v")
//    .epilogue(out(0) - lambda(0) * out(1));
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_VARIANTBUILDER_H
#define ATTN_VARIANTBUILDER_H

#include "attn/Status.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <iosfwd>
#include <string>
#include <vector>

namespace attn {

/// The scalar type of an expression (index: the region's indices and index
/// constants; f32: scores and float constants; bool: masks).
enum class ScalarType { Index, I32, I64, F32, Bool };

/// A scalar expression of a mask or score modification. Cheap to copy
/// (shared, immutable nodes); a node used twice is emitted once.
class Expr {
public:
  /// An index constant.
  Expr(int value);
  /// An index constant.
  Expr(long value);
  /// An index constant.
  Expr(long long value);
  /// An f32 constant (rounded to f32).
  Expr(double value);

  /// The expression's type.
  ScalarType type() const;

  /// The tree node (the builder's own representation).
  struct Node;
  /// An expression of `node`.
  explicit Expr(std::shared_ptr<const Node> node);
  /// The tree node.
  const std::shared_ptr<const Node> &node() const { return root; }

private:
  std::shared_ptr<const Node> root;
};

/// The indices and the score a region sees.
namespace var {
/// The batch index.
Expr b();
/// The query head.
Expr h();
/// The query row.
Expr i();
/// The key.
Expr j();
/// The number of query rows.
Expr nq();
/// The number of keys.
Expr nk();
/// The score (scaled q·k; score modifications only).
Expr s();
} // namespace var

/// x + y (the operands promoted to their common type).
Expr operator+(const Expr &x, const Expr &y);
/// x - y.
Expr operator-(const Expr &x, const Expr &y);
/// x * y.
Expr operator*(const Expr &x, const Expr &y);
/// Truncating for integers (C++), IEEE for floats.
Expr operator/(const Expr &x, const Expr &y);
/// Truncating remainder for integers (C++); fmod-like for floats.
Expr operator%(const Expr &x, const Expr &y);
/// -x.
Expr operator-(const Expr &x);
/// x < y (signed for integers, ordered for floats).
Expr operator<(const Expr &x, const Expr &y);
/// x <= y.
Expr operator<=(const Expr &x, const Expr &y);
/// x > y.
Expr operator>(const Expr &x, const Expr &y);
/// x >= y.
Expr operator>=(const Expr &x, const Expr &y);
/// x == y (ordered for floats: false when either is NaN).
Expr operator==(const Expr &x, const Expr &y);
/// Unordered for floats: true when either is NaN, as in C++.
Expr operator!=(const Expr &x, const Expr &y);
/// Both masks (no short circuit: both are expressions).
Expr operator&&(const Expr &x, const Expr &y);
/// Either mask.
Expr operator||(const Expr &x, const Expr &y);
/// The complement of a mask.
Expr operator!(const Expr &x);

/// Floored integer division (arith.floordivsi): floorDiv(-1, 4) = -1.
Expr floorDiv(const Expr &x, const Expr &y);
/// The smaller of two values (signed for integers; NaN-propagating floats).
Expr min(const Expr &x, const Expr &y);
/// The larger of two values (signed for integers; NaN-propagating floats).
Expr max(const Expr &x, const Expr &y);
/// min(max(x, lo), hi).
Expr clamp(const Expr &x, const Expr &lo, const Expr &hi);
/// `cond ? x : y`.
Expr select(const Expr &cond, const Expr &x, const Expr &y);
/// |x|.
Expr abs(const Expr &x);
/// e^x (f32).
Expr exp(const Expr &x);
/// Natural logarithm (f32).
Expr log(const Expr &x);
/// Hyperbolic tangent (f32).
Expr tanh(const Expr &x);
/// Square root (f32).
Expr sqrt(const Expr &x);
/// An integer or index value as f32 (sitofp).
Expr toF32(const Expr &x);
/// `outer` with its score `s` replaced by `inner`: outer(inner(s)).
Expr compose(const Expr &outer, const Expr &inner);

/// One dimension of a captured tensor: a fixed size, or a size bound to one
/// of the problem's sizes (b, hq, hkv, nq, nk) at run time.
struct Dim {
  /// A fixed size.
  static Dim fixed(int64_t size) { return {size, {}}; }
  /// The problem size `symbol` ("b", "hq", "hkv", "nq" or "nk").
  static Dim of(std::string symbol) { return {-1, std::move(symbol)}; }
  /// The fixed size, or -1.
  int64_t size = -1;
  /// The bound symbol, or empty.
  std::string symbol;
};

/// How test inputs (attn-run, --check) are drawn for a capture.
struct Gen {
  /// Standard normal.
  static Gen normal() { return {"normal", 0, 0, false}; }
  /// Uniform in [lo, hi].
  static Gen uniform(double lo, double hi) { return {"uniform", lo, hi, true}; }
  /// Integers in [lo, hi].
  static Gen intRange(double lo, double hi) {
    return {"int_range", lo, hi, true};
  }
  /// Sorted segment ids with segment lengths in [lo, hi].
  static Gen segments(double lo, double hi) {
    return {"segments", lo, hi, true};
  }
  /// The #attn.gen kind.
  std::string kind;
  /// The bounds (when `bounded`).
  double lo = 0, hi = 0;
  /// Whether lo and hi are given.
  bool bounded = false;
};

/// A value the variant captures: an index scalar or a tensor of f32, i32 or
/// i64. Equal names mean the same capture.
class VariantCapture {
public:
  /// An index scalar (a prefix length, say).
  static VariantCapture scalar(std::string name,
                               Gen gen = Gen::intRange(1, 200));
  /// A tensor of `element` (F32, I32 or I64) with `dims`.
  static VariantCapture tensor(std::string name, ScalarType element,
                               std::vector<Dim> dims, Gen gen = Gen::normal());

  /// The scalar's value (scalars only).
  Expr value() const;
  /// The element at `indices` (tensors only; one index per dimension).
  Expr operator()(std::initializer_list<Expr> indices) const;
  /// The element at `indices` (tensors only; one index per dimension).
  template <typename... Indices> Expr operator()(Indices... indices) const {
    return (*this)({Expr(indices)...});
  }

  /// What the capture is.
  struct Info {
    /// The function argument's name.
    std::string name;
    /// A tensor (else an index scalar).
    bool isTensor = false;
    /// The tensor's element type.
    ScalarType element = ScalarType::Index;
    /// The tensor's dimensions.
    std::vector<Dim> dims;
    /// How tests draw it.
    Gen gen;
  };
  /// What the capture is.
  const Info &info() const { return *data; }

private:
  std::shared_ptr<const Info> data;
};

/// The normalizer applied over a row's unmasked keys.
struct Normalizer {
  /// exp(s - max) / Σ (the default).
  static Normalizer softmax() { return {"softmax", false, 0}; }
  /// sigmoid(s + bias), bias -ln(nk) by default (FlashSigmoid).
  static Normalizer sigmoid() { return {"sigmoid", false, 0}; }
  /// sigmoid(s + bias).
  static Normalizer sigmoid(double bias) { return {"sigmoid", true, bias}; }
  /// softplus(s) / Σ softplus.
  static Normalizer softplus() { return {"softplus", false, 0}; }
  /// The scores as they are (linear attention).
  static Normalizer none() { return {"none", false, 0}; }
  /// The #attn.normalizer kind.
  std::string kind;
  /// Whether `bias` is given (sigmoid only).
  bool hasBias = false;
  /// The sigmoid bias.
  double bias = 0;
};

/// Element types of q, k, v and o.
enum class ElementType { F16, BF16, F32 };

/// A variant, built up by chained setters; toMlir() gives its text.
class VariantBuilder {
public:
  /// A softmax variant named `name` (the function's symbol): 8 heads, head
  /// dim 64, f16, dynamic batch and lengths, no mask, no score modification.
  explicit VariantBuilder(std::string name);

  /// Query heads and KV heads (`hkv` 0: as many as query heads; a divisor
  /// of `hq` makes grouped-query attention).
  VariantBuilder &heads(int64_t hq, int64_t hkv = 0);
  /// Head dim of q and k, and of v and o (`dv` 0: the same).
  VariantBuilder &headDim(int64_t d, int64_t dv = 0);
  /// Element type of q, k, v and o.
  VariantBuilder &elementType(ElementType type);
  /// A fixed batch size (0: dynamic, the default).
  VariantBuilder &batch(int64_t b);
  /// Fixed query and key lengths (0: dynamic, the default).
  VariantBuilder &lengths(int64_t nq, int64_t nk);
  /// The normalizer (softmax by default).
  VariantBuilder &normalizer(Normalizer n);
  /// The scale of q·k (default 1/sqrt(D)).
  VariantBuilder &scale(double scale);
  /// Also return the log-sum-exp per row (softmax only).
  VariantBuilder &lse(bool on = true);
  /// Which keys a row attends to (a boolean expression).
  VariantBuilder &mask(Expr mask);
  /// The modified score (an f32 expression of var::s()).
  VariantBuilder &score(Expr score);
  /// One learned sink logit per query head (a capture tensor<Hq x f32>).
  VariantBuilder &sinkLogits(VariantCapture sinks);
  /// Declares `c` as a capture now (captures are otherwise added in the
  /// order the mask, then the score, first read them).
  VariantBuilder &capture(VariantCapture c);

  /// The function's name.
  const std::string &name() const { return fnName; }
  /// The variant as `attn` dialect text (one func.func), or what is wrong.
  Expected<std::string> toMlir() const;

private:
  friend class ProgramBuilder;
  struct Prepared;
  /// The variant's captures, types and regions, validated.
  Expected<Prepared> prepare() const;
  /// Prints the attention op, its results named `results`, over the values
  /// `q`, `k`, `v`.
  void printAttention(std::ostringstream &os, const Prepared &prepared,
                      const std::string &results, const std::string &q,
                      const std::string &k, const std::string &v) const;

  std::string fnName;
  int64_t hq = 8, hkv = 0, d = 64, dv = 0, batchSize = 0, nq = 0, nk = 0;
  ElementType element = ElementType::F16;
  Normalizer norm = Normalizer::softmax();
  bool hasScale = false, withLse = false;
  double scaleValue = 0;
  std::shared_ptr<const Expr::Node> maskExpr, scoreExpr;
  std::vector<VariantCapture> captures;
  std::shared_ptr<const VariantCapture::Info> sinks;
};

namespace var {
/// The output element of the program's attention number `n` (in the order
/// they were added), as f32: epilogues only.
Expr out(int n);
/// The value column of the output (epilogues only; with b, h and i).
Expr dv();
} // namespace var

/// A function of several attentions and an element-wise epilogue over their
/// outputs (differential attention's o1 - λ·o2, gated or multi-branch
/// attention): one kernel where the attentions share the query rows and the
/// keys. Each attention is a VariantBuilder (its name, lse and sink logits
/// are not used: a program returns the epilogue's output only) over q, k
/// and v arguments named here: a new name is a new argument, a name used
/// again is the same tensor (its types must agree).
class ProgramBuilder {
public:
  /// A program named `name` (the function's symbol).
  explicit ProgramBuilder(std::string name);
  /// Adds an attention computing `variant` over the arguments `q`, `k`,
  /// `v`; its output is var::out(n) for the n-th added (from 0).
  ProgramBuilder &attention(VariantBuilder variant, std::string q,
                            std::string k, std::string v);
  /// The output: an f32 expression of var::out(n), the indices var::b(),
  /// var::h(), var::i() and var::dv(), and captures (default: out(0)).
  ProgramBuilder &epilogue(Expr e);
  /// The function's name.
  const std::string &name() const { return fnName; }
  /// The program as `attn` dialect text (one func.func), or what is wrong.
  Expected<std::string> toMlir() const;

private:
  struct Branch {
    VariantBuilder variant;
    std::string q, k, v;
  };
  std::string fnName;
  std::vector<Branch> branches;
  std::shared_ptr<const Expr::Node> epilogueExpr;
};

/// Well-known mask and score modifications.
namespace mods {
/// j <= i.
Expr causal();
/// Causal aligned at the bottom right: j <= i + nk - nq.
Expr bottomRightCausal();
/// Causal within a window of the `w` previous keys: i - w <= j <= i.
Expr slidingWindow(int64_t w);
/// The first `n` keys (attention sinks, StreamingLLM): j < n.
Expr sinkTokens(int64_t n);
/// Prefix-LM: causal, plus every key before `prefix` (j < prefix).
Expr prefixLm(const Expr &prefix);
/// Same document: ids(b, i) == ids(b, j) for per-token ids [b, n].
Expr document(const VariantCapture &ids);
/// Same chunk of `c` tokens (Llama 4's chunked attention): i/c == j/c.
Expr chunked(int64_t c);
/// 1-D neighborhood attention (NATTEN): of the keys with j ≡ i (mod
/// `dilation`), the `kernel` nearest, the window clamped inside [0, nk)
/// (causal: the `kernel` up to i).
Expr neighborhood1d(int64_t kernel, int64_t dilation = 1, bool causal = false);
/// 2-D neighborhood attention over a [nk / width, width] grid (row-major
/// tokens), a kernel × kernel window per axis as in neighborhood1d.
Expr neighborhood2d(int64_t width, int64_t kernel, int64_t dilation = 1,
                    bool causal = false);
/// 3-D neighborhood attention over a [nk / (height·width), height, width]
/// grid.
Expr neighborhood3d(int64_t height, int64_t width, int64_t kernel,
                    int64_t dilation = 1, bool causal = false);
/// Block diffusion (BD3-LM, Arriola et al. 2025) training mask over the
/// concatenation [x_t, x_0] of two halves of nk / 2 tokens, blocks of
/// `block` tokens: x_t sees its own block of x_t and the earlier blocks of
/// x_0; x_0 is block-causal.
Expr blockDiffusion(int64_t block);
/// ALiBi: s + slopes(h) · (j - i) for slopes [hq] (f32).
Expr alibi(const VariantCapture &slopes);
/// Tanh soft-capping (Gemma 2): cap · tanh(s / cap).
Expr softcap(double cap);
/// An additive bias: s + table(h, i, j) for a table [hq, nq, nk] (f32).
Expr biasTable(const VariantCapture &table);
/// A learned relative-position bias: s + table(h, clamp(j - i, -maxDistance,
/// maxDistance) + maxDistance) for a table [hq, 2·maxDistance + 1] (f32).
Expr relativePosition(const VariantCapture &table, int64_t maxDistance);
} // namespace mods

/// One variant of the catalogue.
struct CatalogueEntry {
  /// Its name (an example's file name when there is a hand-written one).
  std::string name;
  /// Where it comes from (paper or model).
  std::string source;
  /// What it computes, in a line.
  std::string summary;
  /// The variant.
  VariantBuilder variant;
};

/// The catalogue of well-known variants, in the README's order.
const std::vector<CatalogueEntry> &catalogue();

} // namespace attn

#endif // ATTN_VARIANTBUILDER_H
