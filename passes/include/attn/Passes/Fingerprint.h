//===- Fingerprint.h - a variant's identity for the tuning DB ----*- C++ -*-===//
//
// The key a tuning database files a variant under: a hash of its Level 1
// function as printed without locations, so that a comment or a blank line
// keeps the tuning while any change to the program drops it.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_FINGERPRINT_H
#define ATTN_PASSES_FINGERPRINT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>

namespace attn {

/// 16 hex digits of the SHA-256 of `func` as printed without locations.
std::string variantFingerprint(mlir::func::FuncOp func);

} // namespace attn

#endif // ATTN_PASSES_FINGERPRINT_H
