//===- Fingerprint.cpp - a variant's identity for the tuning DB -----------===//

#include "attn/Passes/Fingerprint.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

std::string attn::variantFingerprint(mlir::func::FuncOp func) {
  std::string text;
  llvm::raw_string_ostream os(text);
  // Locations are not printed (no debug info); SSA names are the printer's
  // own numbering, so renamed values print the same.
  func->print(os, mlir::OpPrintingFlags().assumeVerified());
  std::array<uint8_t, 32> digest = llvm::SHA256::hash(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(text.data()),
                              text.size()));
  return llvm::toHex(llvm::ArrayRef<uint8_t>(digest).take_front(8),
                     /*LowerCase=*/true);
}
