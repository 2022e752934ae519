//===- EquationTest.cpp - unit tests of einsum equation parsing -----------===//

#include "attn/Dialect/Equation.h"

#include <gtest/gtest.h>

using attn::Equation;

TEST(Equation, ParsesInputsAndOutput) {
  std::string error;
  auto eq = Equation::parse("bhid,bhjd->bhij", error);
  ASSERT_TRUE(eq) << error;
  ASSERT_EQ(eq->inputs.size(), 2u);
  EXPECT_EQ(eq->inputs[0], "bhid");
  EXPECT_EQ(eq->inputs[1], "bhjd");
  EXPECT_EQ(eq->output, "bhij");
  EXPECT_EQ(eq->allInputLetters(), "bhidj");
  EXPECT_EQ(eq->reducedLetters(), "d");
  EXPECT_EQ(eq->str(), "bhid,bhjd->bhij");
}

TEST(Equation, ZeroInputsAndScalarOutput) {
  std::string error;
  auto none = Equation::parse("->ij", error);
  ASSERT_TRUE(none) << error;
  EXPECT_TRUE(none->inputs.empty());
  auto scalar = Equation::parse("ij->", error);
  ASSERT_TRUE(scalar) << error;
  EXPECT_EQ(scalar->output, "");
  EXPECT_EQ(scalar->reducedLetters(), "ij");
}

TEST(Equation, RejectsMalformedText) {
  std::string error;
  EXPECT_FALSE(Equation::parse("bhid,bhjd", error));
  EXPECT_NE(error.find("no '->'"), std::string::npos) << error;
  EXPECT_FALSE(Equation::parse("bhiD->bhi", error));
  EXPECT_NE(error.find("invalid character 'D'"), std::string::npos) << error;
  EXPECT_FALSE(Equation::parse("bhii->bhi", error));
  EXPECT_NE(error.find("letter 'i' repeated"), std::string::npos) << error;
  EXPECT_FALSE(Equation::parse("bhij,b1->bhi", error));
  EXPECT_NE(error.find("input 1"), std::string::npos) << error;
}
