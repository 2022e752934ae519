//===- tile_class.h - Device library: tile classification (mask domain) -*- C++ -*-===//
//
// The abstract domain in which attn reasons about masks, as plain functions
// usable on the host (the compiler's MaskAnalysis is built on them), in the
// emulator and under NVRTC. It is the one definition of the transfer
// functions: attn's region-op registry (attn/Dialect/RegionOps.h) names, for
// each modelled arith/math op, the transfer function here by number (Op), and
// both the compiler-side analysis and the kernels the emitter writes call
// apply() with that number, so the two cannot drift apart.
//
// Integer values are exact affine forms c0 + ci·i + cj·j with their range
// [lo, hi] over the tile, or intervals once the arithmetic leaves the affine
// world; i1 values are true, false or unknown. Reads of captured integer
// tensors are ranges: on the device from per-block summaries (read_range)
// that the plan's summary kernel computes before the main kernel, on the host
// from the tensor's contents; without them they are unknown, which only makes
// tiles partial.
//
// Self-contained (no other attn header): the compiler includes it too.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DEVICE_TILE_CLASS_H
#define ATTN_DEVICE_TILE_CLASS_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define ATTN_TC_FN __host__ __device__ __forceinline__
#define ATTN_TC_NOINLINE __device__ __noinline__
namespace attn::device::tc {
using int64_t = long long;
} // namespace attn::device::tc
#else
#include <cstdint>
#define ATTN_TC_FN inline
#define ATTN_TC_NOINLINE __attribute__((noinline))
namespace attn::device::tc {
using std::int64_t;
} // namespace attn::device::tc
#endif

namespace attn::device::tc {

/// Three-valued truth.
enum Tri : int { kFalse = 0, kTrue = 1, kUnknown = 2 };

/// arith.cmpi predicates, numbered as mlir::arith::CmpIPredicate.
enum Pred : int {
  kEq = 0, kNe = 1, kSlt = 2, kSle = 3, kSgt = 4, kSge = 5,
  kUlt = 6, kUle = 7, kUgt = 8, kUge = 9
};

/// Tile classes, numbered as attn.tile_class's result (TileClassOp::kEmpty..).
enum Class : int { kEmpty = 0, kFull = 1, kPartial = 2 };

/// A half-open tile [i0, i1) x [j0, j1) of the attention matrix.
struct Tile {
  int64_t i0, i1, j0, j1;
};

/// An abstract value (see MaskAnalysis.cpp's Abs).
struct Val {
  bool known, affine;
  int64_t c0, ci, cj, lo, hi;
  int truth;
};

ATTN_TC_FN int64_t min2(int64_t a, int64_t b) { return a < b ? a : b; }
ATTN_TC_FN int64_t max2(int64_t a, int64_t b) { return a > b ? a : b; }
ATTN_TC_FN int64_t clampTo(int64_t x, int64_t lo, int64_t hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

ATTN_TC_FN int notT(int a) { return a == kUnknown ? a : (a == kTrue ? kFalse : kTrue); }
ATTN_TC_FN int andT(int a, int b) {
  if (a == kFalse || b == kFalse)
    return kFalse;
  return a == kTrue && b == kTrue ? kTrue : kUnknown;
}
ATTN_TC_FN int orT(int a, int b) {
  if (a == kTrue || b == kTrue)
    return kTrue;
  return a == kFalse && b == kFalse ? kFalse : kUnknown;
}
ATTN_TC_FN int ofBool(bool b) { return b ? kTrue : kFalse; }

/// Nothing known (data, float math, unmodelled ops).
ATTN_TC_FN Val unknown() { return Val{false, false, 0, 0, 0, 0, 0, kUnknown}; }
/// An i1 value.
ATTN_TC_FN Val boolean(int t) {
  Val v = unknown();
  v.known = t != kUnknown;
  v.truth = t;
  return v;
}
ATTN_TC_FN bool isConstant(const Val &a) { return a.known && a.lo == a.hi; }

/// c0 + ci·i + cj·j with its exact range over `t`.
ATTN_TC_FN Val affine(const Tile &t, int64_t c0, int64_t ci, int64_t cj) {
  Val a = unknown();
  a.known = a.affine = true;
  a.c0 = c0;
  a.ci = ci;
  a.cj = cj;
  int64_t iLast = t.i1 - 1, jLast = t.j1 - 1;
  a.lo = c0 + min2(ci * t.i0, ci * iLast) + min2(cj * t.j0, cj * jLast);
  a.hi = c0 + max2(ci * t.i0, ci * iLast) + max2(cj * t.j0, cj * jLast);
  return a;
}
ATTN_TC_FN Val constant(const Tile &t, int64_t c) { return affine(t, c, 0, 0); }
/// The query row index i and the key column index j.
ATTN_TC_FN Val rowIndex(const Tile &t) { return affine(t, 0, 1, 0); }
ATTN_TC_FN Val colIndex(const Tile &t) { return affine(t, 0, 0, 1); }

ATTN_TC_FN Val interval(const Tile &t, int64_t lo, int64_t hi) {
  if (lo == hi)
    return constant(t, lo);
  Val a = unknown();
  a.known = true;
  a.lo = lo;
  a.hi = hi;
  return a;
}

/// a + sign·b.
ATTN_TC_FN Val add(const Tile &t, const Val &a, const Val &b, int64_t sign) {
  if (!a.known || !b.known)
    return unknown();
  if (a.affine && b.affine)
    return affine(t, a.c0 + sign * b.c0, a.ci + sign * b.ci, a.cj + sign * b.cj);
  return sign > 0 ? interval(t, a.lo + b.lo, a.hi + b.hi)
                  : interval(t, a.lo - b.hi, a.hi - b.lo);
}
ATTN_TC_FN Val addi(const Tile &t, const Val &a, const Val &b) { return add(t, a, b, 1); }
ATTN_TC_FN Val subi(const Tile &t, const Val &a, const Val &b) { return add(t, a, b, -1); }

ATTN_TC_FN Val muli(const Tile &t, const Val &a, const Val &b) {
  if (!a.known || !b.known)
    return unknown();
  if (a.affine && isConstant(b))
    return affine(t, a.c0 * b.lo, a.ci * b.lo, a.cj * b.lo);
  if (b.affine && isConstant(a))
    return affine(t, b.c0 * a.lo, b.ci * a.lo, b.cj * a.lo);
  int64_t c0 = a.lo * b.lo, c1 = a.lo * b.hi, c2 = a.hi * b.lo, c3 = a.hi * b.hi;
  return interval(t, min2(min2(c0, c1), min2(c2, c3)),
                  max2(max2(c0, c1), max2(c2, c3)));
}

ATTN_TC_FN int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b, r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? q - 1 : q;
}

ATTN_TC_FN Val divByConstant(const Tile &t, const Val &a, int64_t c, bool floor) {
  if (!a.known || c <= 0)
    return unknown();
  if (c == 1)
    return a;
  if (floor)
    return interval(t, floorDiv(a.lo, c), floorDiv(a.hi, c));
  return interval(t, a.lo / c, a.hi / c);
}

/// arith.floordivsi, arith.divsi, arith.divui.
ATTN_TC_FN Val floordivsi(const Tile &t, const Val &a, const Val &d) {
  return isConstant(d) ? divByConstant(t, a, d.lo, true) : unknown();
}
ATTN_TC_FN Val divsi(const Tile &t, const Val &a, const Val &d) {
  return isConstant(d) ? divByConstant(t, a, d.lo, a.lo >= 0) : unknown();
}
ATTN_TC_FN Val divui(const Tile &t, const Val &a, const Val &d) {
  if (a.lo < 0)
    return unknown();
  return isConstant(d) ? divByConstant(t, a, d.lo, true) : unknown();
}
ATTN_TC_FN Val ceildivsi(const Tile &t, const Val &a, const Val &d) {
  if (!a.known || !isConstant(d) || d.lo <= 0)
    return unknown();
  return interval(t, -floorDiv(-a.lo, d.lo), -floorDiv(-a.hi, d.lo));
}

ATTN_TC_FN Val remByConstant(const Tile &t, const Val &a, int64_t c) {
  if (!a.known || c <= 0)
    return unknown();
  if (a.lo >= 0) {
    if (a.lo / c == a.hi / c)
      return interval(t, a.lo % c, a.hi % c);
    return interval(t, 0, c - 1);
  }
  if (a.hi <= 0 && a.lo / c == a.hi / c)
    return interval(t, a.lo % c, a.hi % c);
  return interval(t, -(c - 1), c - 1);
}
ATTN_TC_FN Val remsi(const Tile &t, const Val &a, const Val &d) {
  return isConstant(d) ? remByConstant(t, a, d.lo) : unknown();
}
ATTN_TC_FN Val remui(const Tile &t, const Val &a, const Val &d) {
  if (a.lo < 0)
    return unknown();
  return remsi(t, a, d);
}

ATTN_TC_FN Val absi(const Tile &t, const Val &a) {
  if (!a.known || a.lo >= 0)
    return a;
  if (a.hi <= 0)
    return add(t, constant(t, 0), a, -1);
  return interval(t, 0, max2(-a.lo, a.hi));
}

ATTN_TC_FN Val minMax(const Tile &t, const Val &a, const Val &b, bool isMax) {
  if (!a.known || !b.known)
    return unknown();
  // One side dominating over the whole tile keeps its (affine) form.
  Val diff = add(t, a, b, -1);
  if (diff.lo >= 0)
    return isMax ? a : b;
  if (diff.hi <= 0)
    return isMax ? b : a;
  return isMax ? interval(t, max2(a.lo, b.lo), max2(a.hi, b.hi))
               : interval(t, min2(a.lo, b.lo), min2(a.hi, b.hi));
}
ATTN_TC_FN Val maxsi(const Tile &t, const Val &a, const Val &b) { return minMax(t, a, b, true); }
ATTN_TC_FN Val minsi(const Tile &t, const Val &a, const Val &b) { return minMax(t, a, b, false); }
ATTN_TC_FN Val maxui(const Tile &t, const Val &a, const Val &b) {
  return a.lo < 0 || b.lo < 0 ? unknown() : minMax(t, a, b, true);
}
ATTN_TC_FN Val minui(const Tile &t, const Val &a, const Val &b) {
  return a.lo < 0 || b.lo < 0 ? unknown() : minMax(t, a, b, false);
}

/// index_cast / index_castui / extsi / extui / trunci between integer types
/// of `fromBits` and `toBits` bits (64 for index). A value keeps its form
/// when the cast cannot change it: a sign extension, an unsigned extension
/// of a range known non-negative, a narrowing whose range fits the narrower
/// type. Otherwise (a negative i8 from a captured tensor zero-extended, say)
/// it is unknown.
ATTN_TC_FN Val cast(const Val &a, int fromBits, int toBits, bool isUnsigned) {
  if (!a.known)
    return unknown();
  if (isUnsigned && toBits > fromBits && a.lo < 0)
    return unknown();
  if (toBits < 64 && toBits < fromBits) {
    int64_t limit = int64_t(1) << (toBits - 1);
    if (a.lo < -limit || a.hi >= limit)
      return unknown();
  }
  return a;
}
/// extsi / extui (isSigned) of an i1: true is -1 (signed) or 1.
ATTN_TC_FN Val extBool(const Tile &t, const Val &a, bool isSigned) {
  if (a.truth == kUnknown)
    return interval(t, isSigned ? -1 : 0, isSigned ? 0 : 1);
  return constant(t, a.truth == kTrue ? (isSigned ? -1 : 1) : 0);
}

ATTN_TC_FN int compare(const Tile &t, int p, const Val &a, const Val &b) {
  if (!a.known || !b.known)
    return kUnknown;
  bool isUnsigned = p == kUlt || p == kUle || p == kUgt || p == kUge;
  if (isUnsigned) {
    // Unsigned order is signed order for same-sign sides; a negative value
    // is larger than any non-negative one.
    bool aNeg = a.hi < 0, bNeg = b.hi < 0;
    bool aNonNeg = a.lo >= 0, bNonNeg = b.lo >= 0;
    if (!((aNeg || aNonNeg) && (bNeg || bNonNeg)))
      return kUnknown;
    if (aNeg != bNeg) {
      bool aLarger = aNeg;
      return (p == kUlt || p == kUle) ? ofBool(!aLarger) : ofBool(aLarger);
    }
    p = p == kUlt ? kSlt : p == kUle ? kSle : p == kUgt ? kSgt : kSge;
  }
  // d = a - b over the tile (exact for affine forms); b - a is [-hi, -lo].
  // No recursion (unlike MaskAnalysis.cpp's compare) so that it inlines.
  Val d = add(t, a, b, -1);
  int eq = (d.lo == 0 && d.hi == 0) ? kTrue
           : (d.lo > 0 || d.hi < 0) ? kFalse
                                    : kUnknown;
  switch (p) {
  case kEq:
    return eq;
  case kNe:
    return notT(eq);
  case kSlt:
    return d.hi < 0 ? kTrue : d.lo >= 0 ? kFalse : kUnknown;
  case kSle:
    return d.hi <= 0 ? kTrue : d.lo > 0 ? kFalse : kUnknown;
  case kSgt: // b < a
    return d.lo > 0 ? kTrue : d.hi <= 0 ? kFalse : kUnknown;
  case kSge: // b <= a
    return d.lo >= 0 ? kTrue : d.hi < 0 ? kFalse : kUnknown;
  default:
    return kUnknown;
  }
}
/// arith.cmpi on integers / index.
ATTN_TC_FN Val cmpi(const Tile &t, int p, const Val &a, const Val &b) {
  return boolean(compare(t, p, a, b));
}
/// arith.cmpi on i1 operands.
ATTN_TC_FN Val cmpiBool(int p, const Val &a, const Val &b) {
  if (a.truth == kUnknown || b.truth == kUnknown)
    return boolean(kUnknown);
  if (p == kEq)
    return boolean(ofBool(a.truth == b.truth));
  if (p == kNe)
    return boolean(ofBool(a.truth != b.truth));
  return boolean(kUnknown);
}

/// arith.andi / ori / xori on i1 values.
ATTN_TC_FN Val andBool(const Val &a, const Val &b) { return boolean(andT(a.truth, b.truth)); }
ATTN_TC_FN Val orBool(const Val &a, const Val &b) { return boolean(orT(a.truth, b.truth)); }
ATTN_TC_FN Val xorBool(const Val &a, const Val &b) {
  if (a.truth == kUnknown || b.truth == kUnknown)
    return boolean(kUnknown);
  return boolean(ofBool(a.truth != b.truth));
}
/// arith.andi / ori / xori (op 0, 1, 2) on integers: constants only.
ATTN_TC_FN Val bitwise(const Tile &t, int op, const Val &a, const Val &b) {
  if (!isConstant(a) || !isConstant(b))
    return unknown();
  return constant(t, op == 0 ? (a.lo & b.lo) : op == 1 ? (a.lo | b.lo) : (a.lo ^ b.lo));
}

/// arith.select of integers (isBool false) or i1 values.
ATTN_TC_FN Val select(const Tile &t, const Val &c, const Val &tv, const Val &fv,
                      bool isBool) {
  if (c.truth == kTrue)
    return tv;
  if (c.truth == kFalse)
    return fv;
  if (isBool) {
    if (tv.truth == fv.truth)
      return tv;
    if (fv.truth == kFalse)
      return boolean(andT(c.truth, tv.truth));
    if (tv.truth == kTrue)
      return boolean(orT(c.truth, fv.truth));
    return boolean(kUnknown);
  }
  if (!tv.known || !fv.known)
    return unknown();
  return interval(t, min2(tv.lo, fv.lo), max2(tv.hi, fv.hi));
}

/// Elements of a captured tensor's last dimension per summary block.
constexpr int64_t kSummaryBlock = 16;

/// The range of a read of a captured integer tensor at abstract indices
/// `idx[0..rank)`, from its block summaries: `summary[2 * (row * blocks +
/// b)]` and `[... + 1]` are the min and max of elements [16b, 16b + 16) of
/// the last dimension in row `row` (the other indices, row-major). The
/// leading indices must be one value over the tile, the last a range inside
/// the tensor; anything else (or no summaries: null) is unknown, which only
/// makes the tile partial. The cost is one lookup per 16 elements of the
/// range -- never one per element of the tile.
ATTN_TC_FN Val read_range(const Tile &t, const int64_t *summary, int rank,
                          const int64_t *sizes, const Val *idx) {
  if (!summary || rank < 1)
    return unknown();
  int64_t row = 0;
  for (int k = 0; k + 1 < rank; ++k) {
    if (!idx[k].known || idx[k].lo != idx[k].hi || idx[k].lo < 0 ||
        idx[k].lo >= sizes[k])
      return unknown();
    row = row * sizes[k] + idx[k].lo;
  }
  const Val &last = idx[rank - 1];
  int64_t n = sizes[rank - 1];
  if (!last.known || last.lo < 0 || last.hi >= n || last.lo > last.hi)
    return unknown();
  int64_t blocks = (n + kSummaryBlock - 1) / kSummaryBlock;
  int64_t lo = summary[2 * (row * blocks + last.lo / kSummaryBlock)];
  int64_t hi = summary[2 * (row * blocks + last.lo / kSummaryBlock) + 1];
  for (int64_t b = last.lo / kSummaryBlock + 1; b <= last.hi / kSummaryBlock;
       ++b) {
    lo = min2(lo, summary[2 * (row * blocks + b)]);
    hi = max2(hi, summary[2 * (row * blocks + b) + 1]);
  }
  return interval(t, lo, hi);
}

/// Whether a read at abstract indices `idx[0..rank)` is of one element:
/// every index one known value inside `sizes`. The caller then reads that
/// element itself (a mask over a per-(b, h) value, key padding's len[b],
/// is then classified exactly, as the interpreter classifies it, instead of
/// from the range of its summary block).
ATTN_TC_FN bool at_point(int rank, const int64_t *sizes, const Val *idx) {
  for (int k = 0; k < rank; ++k)
    if (!idx[k].known || idx[k].lo != idx[k].hi || idx[k].lo < 0 ||
        idx[k].lo >= sizes[k])
      return false;
  return true;
}

/// F(args...) as a call that is never inlined. The emitter's outlined
/// classification of a large mask region (codegen/lib/Outline.cpp) makes
/// each transfer function such a call, so that its code grows linearly with
/// the region (inlined, a 1,000-op mask took NVRTC 40 s). Arguments go by
/// value under NVRTC, which keeps them in registers (references would put
/// every tc::Val of the region in local memory), and by reference on the
/// host, where clang's memcpy optimisation is quadratic in by-value struct
/// arguments (12 s for 1,000 ops).
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
template <auto F, typename... Args>
ATTN_TC_NOINLINE auto noinline(Args... args) {
  return F(args...);
}
#else
template <auto F, typename... Args>
ATTN_TC_NOINLINE auto noinline(const Args &...args) {
  return F(args...);
}
#endif

/// The transfer functions by number, for apply(): what the region-op
/// registry names for each modelled op. Immediates (imm0..imm2) carry what
/// the op's attributes say; operands are the abstract values a, b, c.
enum Op : int {
  /// Nothing known (unmodelled ops: float math, say).
  kOpUnknown = 0,
  /// An integer constant: imm0.
  kOpConstant,
  /// An i1 constant: imm0 is the truth (kFalse / kTrue).
  kOpBoolConstant,
  kOpAddi, kOpSubi, kOpMuli,
  kOpFloordivsi, kOpDivsi, kOpDivui, kOpCeildivsi, kOpRemsi, kOpRemui,
  kOpAbsi, kOpMaxsi, kOpMinsi, kOpMaxui, kOpMinui,
  /// An integer cast: imm0 = source bits, imm1 = result bits (64 for index),
  /// imm2 = 1 for a zero extension.
  kOpCast,
  /// An i1 extended to an integer: imm0 = 1 for a sign extension.
  kOpExtBool,
  /// arith.cmpi on integers: imm0 = the predicate (Pred).
  kOpCmpi,
  /// arith.cmpi on i1 values: imm0 = the predicate.
  kOpCmpiBool,
  kOpAndBool, kOpOrBool, kOpXorBool,
  /// Bitwise and / or / xor of integers: imm0 = 0, 1, 2.
  kOpBitwise,
  /// arith.select of integers / of i1 values.
  kOpSelect, kOpSelectBool,
};

/// The enumerator's name of `op` ("kOpAddi"), which the emitter writes so
/// that generated code reads as the call it is.
ATTN_TC_FN const char *opName(int op) {
  switch (op) {
  case kOpConstant: return "kOpConstant";
  case kOpBoolConstant: return "kOpBoolConstant";
  case kOpAddi: return "kOpAddi";
  case kOpSubi: return "kOpSubi";
  case kOpMuli: return "kOpMuli";
  case kOpFloordivsi: return "kOpFloordivsi";
  case kOpDivsi: return "kOpDivsi";
  case kOpDivui: return "kOpDivui";
  case kOpCeildivsi: return "kOpCeildivsi";
  case kOpRemsi: return "kOpRemsi";
  case kOpRemui: return "kOpRemui";
  case kOpAbsi: return "kOpAbsi";
  case kOpMaxsi: return "kOpMaxsi";
  case kOpMinsi: return "kOpMinsi";
  case kOpMaxui: return "kOpMaxui";
  case kOpMinui: return "kOpMinui";
  case kOpCast: return "kOpCast";
  case kOpExtBool: return "kOpExtBool";
  case kOpCmpi: return "kOpCmpi";
  case kOpCmpiBool: return "kOpCmpiBool";
  case kOpAndBool: return "kOpAndBool";
  case kOpOrBool: return "kOpOrBool";
  case kOpXorBool: return "kOpXorBool";
  case kOpBitwise: return "kOpBitwise";
  case kOpSelect: return "kOpSelect";
  case kOpSelectBool: return "kOpSelectBool";
  default: return "kOpUnknown";
  }
}

/// The transfer function `op` (Op) on operands a, b, c. Under NVRTC `op` is
/// a literal at every call site, so the switch folds away.
ATTN_TC_FN Val apply(const Tile &t, int op, int64_t imm0, int64_t imm1,
                     int64_t imm2, const Val &a = unknown(),
                     const Val &b = unknown(), const Val &c = unknown()) {
  switch (op) {
  case kOpConstant: return constant(t, imm0);
  case kOpBoolConstant: return boolean(static_cast<int>(imm0));
  case kOpAddi: return addi(t, a, b);
  case kOpSubi: return subi(t, a, b);
  case kOpMuli: return muli(t, a, b);
  case kOpFloordivsi: return floordivsi(t, a, b);
  case kOpDivsi: return divsi(t, a, b);
  case kOpDivui: return divui(t, a, b);
  case kOpCeildivsi: return ceildivsi(t, a, b);
  case kOpRemsi: return remsi(t, a, b);
  case kOpRemui: return remui(t, a, b);
  case kOpAbsi: return absi(t, a);
  case kOpMaxsi: return maxsi(t, a, b);
  case kOpMinsi: return minsi(t, a, b);
  case kOpMaxui: return maxui(t, a, b);
  case kOpMinui: return minui(t, a, b);
  case kOpCast:
    return cast(a, static_cast<int>(imm0), static_cast<int>(imm1), imm2 != 0);
  case kOpExtBool: return extBool(t, a, imm0 != 0);
  case kOpCmpi: return cmpi(t, static_cast<int>(imm0), a, b);
  case kOpCmpiBool: return cmpiBool(static_cast<int>(imm0), a, b);
  case kOpAndBool: return andBool(a, b);
  case kOpOrBool: return orBool(a, b);
  case kOpXorBool: return xorBool(a, b);
  case kOpBitwise: return bitwise(t, static_cast<int>(imm0), a, b);
  case kOpSelect: return select(t, a, b, c, false);
  case kOpSelectBool: return select(t, a, b, c, true);
  default: return unknown();
  }
}

/// The class of the tile from the region's yielded i1.
ATTN_TC_FN int classify(const Val &result) {
  return result.truth == kTrue ? kFull : result.truth == kFalse ? kEmpty : kPartial;
}

} // namespace attn::device::tc

#endif // ATTN_DEVICE_TILE_CLASS_H
