//===- NestedSource.h - deeply nested MLIR text for tests --------*- C++ -*-===//
//
// The inputs that overflowed MLIR's recursive parser (20,000 nested
// `tensor<`, 10,000 nested regions), at any depth, for the tests of the
// nesting bound in the tools' support library and in the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_NESTEDSOURCE_H
#define ATTN_TEST_UNIT_NESTEDSOURCE_H

#include <string>

namespace attn::test {

/// `s` repeated `n` times.
inline std::string repeat(const std::string &s, int n) {
  std::string out;
  out.reserve(s.size() * n);
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

/// `function` (e.g. "func.func @f") taking one argument whose type nests
/// `depth` tensor types, on one line.
inline std::string nestedTensors(int depth,
                                 const std::string &function = "func.func @f") {
  return function + "(%a: " + repeat("tensor<", depth) + "f32" +
         repeat(">", depth) + ") { return }\n";
}

/// `function` whose body nests `depth` scf.if regions, one per line.
inline std::string nestedRegions(int depth,
                                 const std::string &function = "func.func @f") {
  return function + "(%c: i1) {\n" + repeat("scf.if %c {\n", depth) +
         repeat("}\n", depth) + "return\n}\n";
}

} // namespace attn::test

#endif // ATTN_TEST_UNIT_NESTEDSOURCE_H
