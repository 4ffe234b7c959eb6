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
  EXPECT_NE(e.find("[0, 5]"), std::string::npos) << e;
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

// An algorithm's options struct, bound in place inside the stage's parameters.
struct Inner {
  double rate = 2.0;  // um/s (the algorithm's unit)
  Side side = Side::kLeft;
};
struct Outer {
  struct {
    Inner inner;
    int passes = 3;
  } options;
  bool plot = true;
};

TEST(ParamSchema, NestedOptionsBindInPlaceAndNumbersConvertAtBinding) {
  using Opt = decltype(Outer::options);
  const auto s = ParamSchema<Outer>()
                     .real("rate", field(&Outer::options, &Opt::inner, &Inner::rate),
                           Range::above(0), "cm/s", "a rate written in cm/s")
                     .convertedBy(1e4)
                     .integer("passes", field(&Outer::options, &Opt::passes), Range::between(1, 9),
                              "", "passes")
                     .choice("side", field(&Outer::options, &Opt::inner, &Inner::side),
                             {{"left", Side::kLeft}, {"right", Side::kRight}}, "side")
                     .flag("plot", &Outer::plot, "plot");
  // Defaults are shown in the user's unit.
  EXPECT_EQ(s.specs()[0].default_text, "0.0002");
  EXPECT_EQ(s.specs()[0].unit, "cm/s");
  EXPECT_EQ(s.specs()[1].default_text, "3");
  EXPECT_EQ(s.specs()[2].default_text, "left");
  Outer o;
  s.set(o, "rate", scalar("1.4e-6"), "s");
  s.set(o, "passes", scalar("5"), "s");
  s.set(o, "side", scalar("right"), "s");
  EXPECT_DOUBLE_EQ(o.options.inner.rate, 1.4e-2);  // the algorithm receives um/s
  EXPECT_EQ(o.options.passes, 5);
  EXPECT_EQ(o.options.inner.side, Side::kRight);
  const auto v = s.values(o);
  EXPECT_EQ(v[0].second, "1.4e-06");  // provenance in the unit the user wrote
  EXPECT_EQ(v[1].second, "5");
  EXPECT_EQ(v[2].second, "right");
  // The range applies to the value as written, before conversion.
  EXPECT_THROW(s.set(o, "rate", scalar("0"), "s"), UsageError);
  EXPECT_DOUBLE_EQ(o.options.inner.rate, 1.4e-2);
}

TEST(ParamSchema, AMovedKeySaysWhatReplacedIt) {
  const auto s = ParamSchema<P>()
                     .integer("order", &P::order, Range::between(0, 5), "", "order")
                     .moved("input", "bind the file as `in: {file: <input name>}`");
  P p;
  try {
    s.set(p, "input", scalar("sims"), "stage 'read' (#1)");
    FAIL() << "a moved key was accepted";
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("stage 'read' (#1), parameter 'input'"), std::string::npos) << m;
    EXPECT_NE(m.find("in: {file: <input name>}"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace ionmap
