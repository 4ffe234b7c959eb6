#include "ionmap/pipeline/params.hpp"

#include <gtest/gtest.h>

namespace ionmap {
namespace {

struct P {
  bool flag = false;
  int order = 1;
  double size = 0.5;
  std::string method = "plane";
  std::vector<double> xy{0, 0};
};

const ParamSchema<P>& schema() {
  static const auto s = ParamSchema<P>()
                            .flag("flag", &P::flag, "a flag")
                            .integer("order", &P::order, Range::between(0, 5), "", "order")
                            .real("size", &P::size, Range::above(0), "um", "size")
                            .choice("method", &P::method, {"plane", "rows"}, "method")
                            .reals("xy", &P::xy, 2, Range::any(), "um", "pair");
  return s;
}

ParamInput scalar(const std::string& s) {
  ParamInput in;
  in.scalar = s;
  in.where = "p.yaml:3";
  return in;
}

std::string errorOf(const std::string& key, const ParamInput& in) {
  P p;
  try {
    schema().set(p, key, in, "stage 'x' (#1)");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(ParamSchema, DefaultsComeFromTheStructAndAreListedAsText) {
  const auto specs = schema().specs();
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[1].default_text, "1");
  EXPECT_EQ(specs[2].default_text, "0.5");
  EXPECT_EQ(specs[4].default_text, "[0, 0]");
  EXPECT_EQ(specs[2].range.text(), "> 0");
  EXPECT_EQ(specs[1].range.text(), "[0, 5]");
}

// A choice bound to an enum: the member receives the enum value, the default and the current
// value are listed by name, and an unknown name is refused naming the key and every choice
// (never mapped silently onto one of them).
enum class Side { kLeft, kRight, kBottom };
struct E {
  Side side = Side::kRight;
  std::string label = "a";  // other fields, as a stage's parameters have
  double size = 1;
};
TEST(ParamSchema, ChoicesBindStraightToEnums) {
  const auto s = ParamSchema<E>().choice(
      "side", &E::side, {{"left", Side::kLeft}, {"right", Side::kRight}, {"bottom", Side::kBottom}},
      "side");
  EXPECT_EQ(s.specs()[0].default_text, "right");
  EXPECT_EQ(s.specs()[0].choices, (std::vector<std::string>{"left", "right", "bottom"}));
  E e;
  s.set(e, "side", scalar("bottom"), "stage 'x' (#1)");
  EXPECT_EQ(e.side, Side::kBottom);
  EXPECT_EQ(s.values(e)[0].second, "bottom");
  try {
    s.set(e, "side", scalar("middle"), "stage 'x' (#1)");
    FAIL() << "an unknown choice was accepted";
  } catch (const UsageError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("'side'"), std::string::npos) << m;
    EXPECT_NE(m.find("middle"), std::string::npos) << m;
    EXPECT_NE(m.find("left"), std::string::npos) << m;
    EXPECT_NE(m.find("bottom"), std::string::npos) << m;
  }
  EXPECT_EQ(e.side, Side::kBottom);  // unchanged by the refused value
}

TEST(ParamSchema, ValidValuesAreParsedIntoTheStruct) {
  P p;
  schema().set(p, "flag", scalar("yes"), "s");
  schema().set(p, "order", scalar("3"), "s");
  schema().set(p, "size", scalar("1e-3"), "s");
  schema().set(p, "method", scalar("rows"), "s");
  schema().set(p, "xy", scalar("[1.5, -2]"), "s");
  EXPECT_TRUE(p.flag);
  EXPECT_EQ(p.order, 3);
  EXPECT_DOUBLE_EQ(p.size, 1e-3);
  EXPECT_EQ(p.method, "rows");
  EXPECT_EQ(p.xy, (std::vector<double>{1.5, -2}));
}

TEST(ParamSchema, OutOfRangeValuesAreRejectedNamingStageAndKeyNeverClamped) {
  const std::string e = errorOf("order", scalar("9"));
  EXPECT_NE(e.find("stage 'x' (#1), parameter 'order'"), std::string::npos) << e;
  EXPECT_NE(e.find("out of range [0, 5]"), std::string::npos) << e;
  EXPECT_NE(errorOf("size", scalar("0")).find("out of range > 0 um"), std::string::npos);
}

TEST(ParamSchema, WrongTypesAreRejectedWithWhatWasExpected) {
  EXPECT_NE(errorOf("order", scalar("2.5")).find("expected an integer, got '2.5'"),
            std::string::npos);
  EXPECT_NE(errorOf("size", scalar("big")).find("expected a finite number"), std::string::npos);
  EXPECT_NE(errorOf("size", scalar("nan")).find("expected a finite number"), std::string::npos);
  EXPECT_NE(errorOf("flag", scalar("maybe")).find("expected true or false"), std::string::npos);
  EXPECT_NE(errorOf("method", scalar("poly")).find("not one of: plane, rows"), std::string::npos);
  EXPECT_NE(errorOf("xy", scalar("[1]")).find("expected a list of 2 numbers"), std::string::npos);
  ParamInput list;
  list.is_list = true;
  list.items = {"1", "2"};
  EXPECT_NE(errorOf("order", list).find("expected an integer, got a list"), std::string::npos);
}

TEST(ParamSchema, UnknownKeysSuggestTheClosestKnownOne) {
  const std::string e = errorOf("ordr", scalar("1"));
  EXPECT_NE(e.find("unknown parameter 'ordr'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'order'"), std::string::npos) << e;
}

TEST(ParamSchema, ErrorsNameWhereTheValueWasWritten) {
  EXPECT_NE(errorOf("order", scalar("x")).find("(p.yaml:3)"), std::string::npos);
}

}  // namespace
}  // namespace ionmap
