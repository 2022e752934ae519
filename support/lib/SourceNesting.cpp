//===- SourceNesting.cpp - bounding the nesting of MLIR source text -------===//
//
// A single pass over the text with a stack of open brackets. It mirrors just
// enough of MLIR's lexer (strings, comments, the arrows and comparisons that
// are not brackets) to count what the recursive-descent parser will recurse
// on, and errs towards not counting: a bracket it cannot match is ignored.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/SourceNesting.h"

#include <cctype>
#include <unordered_map>
#include <vector>

using namespace attn;

namespace {

bool isIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         c == '.';
}

class Scanner {
public:
  Scanner(std::string_view text, unsigned limit) : text(text), limit(limit) {}

  std::optional<DeepNesting> run() {
    for (pos = 0; pos < text.size() && !found; ++pos) {
      char c = text[pos];
      if (c == '\n') {
        endLine();
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(c)))
        continue;
      if (c != '-')
        minusRun = 0;
      if (c == '"') {
        skipString();
      } else if (c == '/' && peek(1) == '/') {
        skipComment();
      } else if (c == '(' || c == '[' || c == '{' ||
                 (c == '<' && peek(1) != '=')) {
        open.push_back(c);
        reach(open.size());
      } else if (c == ')' || c == ']' || c == '}') {
        close(c);
      } else if (c == '>') {
        bool arrow = pos > 0 && text[pos - 1] == '-';
        if (!arrow && peek(1) != '=' && !open.empty() && open.back() == '<')
          open.pop_back();
      } else if (c == '-' && peek(1) != '>') {
        // Unary minus chains (`- - - d0`) recurse in the affine parser.
        ++minusRun;
        reach(open.size() + minusRun);
      } else if (c == '#' || c == '!') {
        alias();
      }
    }
    return found;
  }

private:
  char peek(size_t ahead) const {
    return pos + ahead < text.size() ? text[pos + ahead] : '\0';
  }

  /// Records that nesting reaches `depth` at the current position.
  void reach(size_t depth) {
    if (defining && depth > definitionDepth)
      definitionDepth = depth;
    if (depth <= limit || found)
      return;
    DeepNesting d;
    d.line = line;
    d.column = static_cast<unsigned>(pos - lineStart + 1);
    d.message = "nesting deeper than " + std::to_string(limit) +
                " levels (brackets, the aliases used inside them, unary "
                "minus signs); MLIR's parser recurses once per level, so "
                "attn accepts at most " +
                std::to_string(limit);
    found = d;
  }

  /// A closing bracket: a '<' left open inside it was a comparison.
  void close(char c) {
    char want = c == ')' ? '(' : c == ']' ? '[' : '{';
    while (!open.empty() && open.back() == '<')
      open.pop_back();
    if (!open.empty() && open.back() == want)
      open.pop_back();
  }

  void endLine() {
    // An alias definition ends with the line that closes its brackets.
    if (defining && open.empty()) {
      aliasDepth[*defining] = static_cast<unsigned>(definitionDepth);
      defining.reset();
    }
    ++line;
    lineStart = pos + 1;
  }

  void skipString() {
    for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
      if (text[pos] == '\\')
        ++pos;
      else if (text[pos] == '\n')
        endLine();
    }
  }

  void skipComment() {
    // A --split-input-file marker starts a new, independent buffer.
    if (text.substr(pos, 8) == "// -----") {
      open.clear();
      defining.reset();
    }
    while (pos + 1 < text.size() && text[pos + 1] != '\n')
      ++pos;
  }

  /// `#name` or `!name`: the definition of an alias (at the start of a
  /// top-level line, before `=`) or a use, which nests as deep as the
  /// definition did.
  void alias() {
    size_t start = pos + 1, end = start;
    while (end < text.size() && isIdentifierChar(text[end]))
      ++end;
    std::string name(text.substr(pos, end - pos));
    bool atLineStart = true;
    for (size_t p = lineStart; p < pos; ++p)
      atLineStart &= std::isspace(static_cast<unsigned char>(text[p])) != 0;
    size_t next = end;
    while (next < text.size() && (text[next] == ' ' || text[next] == '\t'))
      ++next;
    bool isDefinition = atLineStart && open.empty() && end > start &&
                        next < text.size() && text[next] == '=' &&
                        (next + 1 >= text.size() || text[next + 1] != '=');
    if (isDefinition) {
      defining = name;
      definitionDepth = 0;
    } else if (auto it = aliasDepth.find(name); it != aliasDepth.end()) {
      reach(open.size() + it->second);
    }
    pos = end - 1;
  }

  std::string_view text;
  unsigned limit;
  size_t pos = 0, lineStart = 0;
  unsigned line = 1;
  std::vector<char> open;
  size_t minusRun = 0;
  std::unordered_map<std::string, unsigned> aliasDepth;
  std::optional<std::string> defining;
  size_t definitionDepth = 0;
  std::optional<DeepNesting> found;
};

} // namespace

std::optional<DeepNesting> attn::findDeepNesting(std::string_view text,
                                                 unsigned limit) {
  return Scanner(text, limit).run();
}

std::string attn::formatDeepNesting(std::string_view bufferName,
                                    const DeepNesting &nesting) {
  return std::string(bufferName) + ":" + std::to_string(nesting.line) + ":" +
         std::to_string(nesting.column) + ": error: " + nesting.message;
}
