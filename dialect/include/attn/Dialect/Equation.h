//===- Equation.h - einsum equations of the cascade ops -----------*- C++ -*-===//
//
// Parsing and checking of the equation strings of attn.contract, attn.map and
// attn.reduce ("bhid,bhjd->bhij"). Shared by the verifiers, the passes and the
// interpreter so that all agree on what an equation means.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_EQUATION_H
#define ATTN_DIALECT_EQUATION_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace attn {

/// A parsed equation: one letter string per input and one for the output.
/// Letters are ASCII lower-case; a letter names one loop dimension.
struct Equation {
  llvm::SmallVector<std::string> inputs;
  std::string output;

  /// Parses `in0,in1,...->out` (zero inputs: `->out`). On failure returns
  /// std::nullopt and sets `error` to a sentence naming the problem.
  static std::optional<Equation> parse(llvm::StringRef text, std::string &error);

  /// Letters of all inputs in first-appearance order, without repeats.
  std::string allInputLetters() const;

  /// Input letters that do not appear in the output (the reduced letters), in
  /// first-appearance order.
  std::string reducedLetters() const;

  /// Prints the equation back as text.
  std::string str() const;
};

} // namespace attn

#endif // ATTN_DIALECT_EQUATION_H
