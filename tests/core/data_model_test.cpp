#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/spectrum_image.hpp"
#include "ionmap/core/table.hpp"
#include "ionmap/core/units.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

TEST(Map, MaskNonFiniteMarksNaNAndInfInvalid) {
  Grid g;
  g.width = 3;
  g.height = 1;
  Map m("m", g, "mV");
  m.values[1] = std::nan("");
  m.values[2] = INFINITY;
  EXPECT_EQ(m.maskNonFinite(), 2u);
  EXPECT_EQ(m.countValid(), 1u);
}

TEST(Table, CsvHasUnitsInHeaderAndRoundTripsNumbersExactly) {
  Table t("t");
  t.addNumeric("x", "um");
  t.addText("name");
  t.columns[0].numbers = {0.1, 1.0 / 3.0};
  t.columns[1].texts = {"a,b", "plain"};
  const std::string csv = t.toCsv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "x [um],name");
  EXPECT_NE(csv.find("\"a,b\""), std::string::npos);
  const auto second = csv.substr(csv.rfind('\n', csv.size() - 2) + 1);
  EXPECT_EQ(std::stod(second.substr(0, second.find(','))), 1.0 / 3.0);
}

TEST(Table, ColumnsOfDifferentLengthAreRejected) {
  Table t("t");
  t.addNumeric("a", "");
  t.addNumeric("b", "");
  t.columns[0].numbers = {1, 2};
  t.columns[1].numbers = {1};
  EXPECT_THROW(t.checkConsistent(), ProcessingError);
}

// Rows go in whole or not at all: a row of the wrong length or with a cell of the wrong kind is
// refused naming the table (and the column), and the table is left as it was.
TEST(Table, RowsAreAddedWholeOrRefused) {
  Table t = Table::ofQuantities("fit");
  t.addRow({"kappa", 1.4e-6, "cm/s"});
  t.addRow({"f_s", 0.95, ""});
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_TRUE(t.hasQuantities());
  EXPECT_EQ(t.column("value").numbers[0], 1.4e-6);
  EXPECT_EQ(t.column("unit").texts[0], "cm/s");
  try {
    t.addRow({"D_b", "2.6e-8", "cm^2/s"});
    ADD_FAILURE() << "a text in the value column was accepted";
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("'value'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.addRow({"D_b", 2.6e-8}), ProcessingError);
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_NO_THROW(t.checkConsistent());
}

TEST(Units, MicrometreSpellingsNormaliseAndLengthsConvert) {
  EXPECT_EQ(units::normalise("\xC2\xB5m"), "um");
  EXPECT_EQ(units::normalise("micron"), "um");
  EXPECT_DOUBLE_EQ(*units::lengthToMicrometres("nm"), 1e-3);
  EXPECT_DOUBLE_EQ(*units::lengthToMicrometres("inch"), 25400.0);
  EXPECT_FALSE(units::lengthToMicrometres("mV").has_value());
  EXPECT_EQ(units::pretty("um^2"), "\xC2\xB5m^2");
  EXPECT_EQ(units::pretty("mum"), "mum");
}

class RawFileSpectraTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Spectrum 0: m/z float64 [6, 7], intensity float32 [10, 20]; spectrum 1 shares m/z.
    std::ofstream out(file(), std::ios::binary);
    const double mz[2] = {6.0, 7.0};
    const float a[2] = {10.f, 20.f}, b[2] = {1.f, 2.f};
    out.write("0123456789abcdef", 16);  // a 16-byte header, as in .ibd
    out.write(reinterpret_cast<const char*>(mz), sizeof mz);
    out.write(reinterpret_cast<const char*>(a), sizeof a);
    out.write(reinterpret_cast<const char*>(b), sizeof b);
  }
  std::filesystem::path file() const { return dir.path() / "s.ibd"; }
  SpectrumLocation loc(std::uint64_t int_offset) const {
    return {{16, 2, BinaryType::kFloat64}, {int_offset, 2, BinaryType::kFloat32}};
  }
  test::TempDir dir;
};

TEST_F(RawFileSpectraTest, StreamsEachSpectrumFromItsOffsets) {
  RawFileSpectra s(file().string(), {loc(32), loc(40)});
  Spectrum sp;
  s.read(1, sp);
  ASSERT_EQ(sp.mz.size(), 2u);
  EXPECT_EQ(sp.mz[1], 7.0);
  EXPECT_EQ(sp.intensity[0], 1.0);
  s.read(0, sp);
  EXPECT_EQ(sp.intensity[1], 20.0);
}

TEST_F(RawFileSpectraTest, OffsetsPastTheEndAreRejectedWithTheByteOffset) {
  try {
    RawFileSpectra s(file().string(), {loc(32), loc(44)});  // 44 + 8 > 48 bytes
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 44"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("spectrum 1"), std::string::npos) << e.what();
  }
}

TEST_F(RawFileSpectraTest, HugeLengthsDoNotOverflowTheBoundsCheck) {
  SpectrumLocation l = loc(32);
  l.intensity.length = (1ull << 62);
  EXPECT_THROW(RawFileSpectra(file().string(), {l}), InputError);
}

}  // namespace
}  // namespace ionmap
