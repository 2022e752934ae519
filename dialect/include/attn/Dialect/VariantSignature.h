//===- VariantSignature.h - a variant function's argument roles -*- C++ -*-===//
//
// A variant is a func.func whose first three arguments are q [B,Hq,Nq,D],
// k [B,Hkv,Nk,D] and v [B,Hkv,Nk,Dv]; any other argument binds a dynamic
// dimension to a size symbol with `attn.dims`. The interpreter's inputs and
// the compiler's size reasoning read the roles from here.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_VARIANTSIGNATURE_H
#define ATTN_DIALECT_VARIANTSIGNATURE_H

namespace attn {

/// The size symbol of dimensions 0..2 of q, k and v (dimension 3 is the
/// head dim, which must be static).
inline constexpr const char *kQkvDimSymbols[3][3] = {
    {"b", "hq", "nq"}, {"b", "hkv", "nk"}, {"b", "hkv", "nk"}};

} // namespace attn

#endif // ATTN_DIALECT_VARIANTSIGNATURE_H
