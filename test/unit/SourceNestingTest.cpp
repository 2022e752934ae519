//===- SourceNestingTest.cpp - the nesting bound on MLIR source text -------===//
//
// findDeepNesting must refuse what overflows MLIR's recursive parser (20,000
// nested `tensor<`, 10,000 nested regions, alias chains, unary minus runs)
// with the position of the first excess, and must not count what is not
// nesting (arrows, comparisons, strings, comments), so that real input of
// any size passes.
//
//===----------------------------------------------------------------------===//

#include "NestedSource.h"

#include "attn/Support/SourceNesting.h"

#include <gtest/gtest.h>

using attn::findDeepNesting;

using attn::test::nestedRegions;
using attn::test::nestedTensors;
using attn::test::repeat;

TEST(SourceNesting, RefusesDeepTypesAndRegionsWithTheirPosition) {
  auto tensors = findDeepNesting(nestedTensors(20000));
  ASSERT_TRUE(tensors);
  // "func.func @f(" opens one level; the 256th tensor< is the 257th level.
  EXPECT_EQ(tensors->line, 1u);
  EXPECT_EQ(tensors->column, 17u + 256 * 7); // the tensor< of level 257
  EXPECT_NE(tensors->message.find("deeper than 256 levels"), std::string::npos);

  auto regions = findDeepNesting(nestedRegions(10000));
  ASSERT_TRUE(regions);
  EXPECT_EQ(regions->line, 257u); // the function body is level 1
  EXPECT_EQ(attn::formatDeepNesting("x.mlir", *regions).substr(0, 22),
            "x.mlir:257:11: error: ");

  EXPECT_FALSE(findDeepNesting(nestedTensors(255)));
  EXPECT_FALSE(findDeepNesting(nestedRegions(255)));
  EXPECT_TRUE(findDeepNesting(nestedRegions(256)));
  EXPECT_FALSE(findDeepNesting(nestedRegions(300), 400));
}

// Aliases nest as deep as their definitions: a chain of 300 one-bracket
// definitions is 300 levels deep where the last one is used.
TEST(SourceNesting, CountsAliasChainsAndUnaryMinusRuns) {
  auto chain = [](int n, const char *sigil) {
    std::string s = std::string(sigil) + "a0 = tuple<i32>\n";
    for (int i = 1; i < n; ++i)
      s += std::string(sigil) + "a" + std::to_string(i) + " = tuple<" +
           sigil + "a" + std::to_string(i - 1) + ">\n";
    return s + "func.func @f(%x: " + sigil + "a" + std::to_string(n - 1) +
           ") { return }\n";
  };
  auto types = findDeepNesting(chain(300, "!"));
  ASSERT_TRUE(types);
  EXPECT_EQ(types->line, 257u); // !a256 = tuple<!a255> is 257 deep
  EXPECT_FALSE(findDeepNesting(chain(250, "!")));
  EXPECT_TRUE(findDeepNesting(chain(300, "#")));

  std::string minus = "#m = affine_map<(d0) -> (" + repeat("- ", 100000) +
                      "d0)>\n";
  auto run = findDeepNesting(minus);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->line, 1u);
  EXPECT_FALSE(findDeepNesting("#m = affine_map<(d0) -> (" +
                               repeat("- ", 100) + "d0)>\n"));
}

TEST(SourceNesting, CountsOnlyWhatNests) {
  // Arrows, comparisons, strings and comments hold no nesting; a closing
  // bracket ends any '<' left open inside it.
  std::string flat;
  for (int i = 0; i < 1000; ++i)
    flat += "%r" + std::to_string(i) +
            " = \"x.op\"() {s = \"((((<<<<[[[[{{{{\"} : () -> "
            "tensor<4xf32> // (((( <<<< {{{{\n"
            "#set" + std::to_string(i) +
            " = affine_set<(d0) : (d0 >= 0, d0 - 1 >= 0)>\n"
            "(a < b)\n";
  EXPECT_FALSE(findDeepNesting(flat));
  // --split-input-file chunks are independent.
  std::string split = repeat("{\n", 200) + "// -----\n" + repeat("{\n", 200);
  EXPECT_FALSE(findDeepNesting(split));
  EXPECT_TRUE(findDeepNesting(repeat("{\n", 400)));
}
