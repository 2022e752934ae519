//===- Equation.cpp - einsum equations of the cascade ops -----------------===//
//
// Parses "in0,in1->out" equations. Semantic checks that need operand types
// (letter sizes) live in the op verifiers.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Equation.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

using namespace attn;

static bool isLetter(char c) { return c >= 'a' && c <= 'z'; }

/// Checks one operand's letter string: letters only, no repeats.
static bool checkTerm(llvm::StringRef term, llvm::StringRef what,
                      std::string &error) {
  for (size_t i = 0; i < term.size(); ++i) {
    if (!isLetter(term[i])) {
      error = ("invalid character '" + llvm::Twine(term[i]) + "' in " + what +
               " '" + term + "' (letters a-z only)")
                  .str();
      return false;
    }
    if (term.find(term[i], i + 1) != llvm::StringRef::npos) {
      error = ("letter '" + llvm::Twine(term[i]) + "' repeated in " + what +
               " '" + term + "'")
                  .str();
      return false;
    }
  }
  return true;
}

std::optional<Equation> Equation::parse(llvm::StringRef text,
                                        std::string &error) {
  size_t arrow = text.find("->");
  if (arrow == llvm::StringRef::npos) {
    error = "equation '" + text.str() + "' has no '->'";
    return std::nullopt;
  }
  Equation eq;
  llvm::StringRef lhs = text.take_front(arrow);
  llvm::StringRef rhs = text.drop_front(arrow + 2);
  if (!lhs.empty()) {
    llvm::SmallVector<llvm::StringRef> terms;
    lhs.split(terms, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/true);
    for (auto [idx, term] : llvm::enumerate(terms)) {
      std::string what = "input " + std::to_string(idx);
      if (!checkTerm(term, what, error))
        return std::nullopt;
      eq.inputs.push_back(term.str());
    }
  }
  if (!checkTerm(rhs, "output", error))
    return std::nullopt;
  eq.output = rhs.str();
  return eq;
}

std::string Equation::allInputLetters() const {
  std::string letters;
  for (const std::string &in : inputs)
    for (char c : in)
      if (letters.find(c) == std::string::npos)
        letters.push_back(c);
  return letters;
}

std::string Equation::reducedLetters() const {
  std::string reduced;
  for (char c : allInputLetters())
    if (output.find(c) == std::string::npos)
      reduced.push_back(c);
  return reduced;
}

std::string Equation::str() const {
  std::string text;
  for (auto [idx, in] : llvm::enumerate(inputs)) {
    if (idx)
      text += ",";
    text += in;
  }
  return text + "->" + output;
}
