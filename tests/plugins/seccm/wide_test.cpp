// A wide SECCM table as CSV (potential, then one current column per landing in serpentine
// order) through read (csv-table) + seccm-wide + seccm-analyse: every landing's conductance on
// its raster cell; a raster that does not match the columns and a column without a unit are
// refused by name.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "seccm/wide.hpp"

namespace ionmap {
namespace {

TEST(SeccmWide, AWideCsvTableGivesEveryLandingOnItsCell) {
  test::TempDir dir;
  // 3 x 2 raster, serpentine: visit k = 0 1 2 on row 0 left to right, 3 4 5 on row 1 right to
  // left; landing k has a conductance of (k + 1) nS; currents in nA.
  std::string csv = "E (mV)";
  for (int k = 0; k < 6; ++k) csv += fmt::format(",landing {} (nA)", k);
  csv += "\n";
  for (int s = 0; s < 11; ++s) {
    const double e = -100 + 20 * s;  // mV
    csv += fmt::format("{}", e);
    for (int k = 0; k < 6; ++k) csv += fmt::format(",{}", (k + 1) * e * 1e-3);  // nA
    csv += "\n";
  }
  test::writeFile(dir / "wide.csv", csv);
  test::writeFile(
      dir / "p.yaml",
      "version: 1\nname: wide\ninputs:\n  w: wide.csv\nstages:\n"
      "  - stage: read\n    in: {file: w}\n    params: {as: table}\n    out: {table: t}\n"
      "  - stage: seccm-wide\n    id: wide\n"
      "    params: {landings_per_row: 3, rows: 2, pitch: 1.0, time_step: 0.001}\n"
      "    in: {table: t}\n    out: {curves: landings}\n"
      "  - stage: seccm-analyse\n    params: {skip: 0}\n    in: {curves: landings}\n"
      "    out: {landings: fits, current: current, conductance: g}\n");
  const auto r = test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::H5File f((dir / "o" / "results.h5").string());
  const auto g = f.numbers("/entry/g/data");  // row-major, 3 x 2
  ASSERT_EQ(g.size(), 6u);
  const double expected[6] = {1, 2, 3, 6, 5, 4};  // row 1 was visited right to left
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(g[i], expected[i] * 1e-9, 1e-18) << i;

  // A raster of 3 x 3 for 6 columns; then no unit on the currents.
  const auto bad = test::runIonmap(
      {"run", (dir / "p.yaml").string(), "--set", "wide.rows=3", "--out", (dir / "o2").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("has 6 current columns after its first, but the raster of 3 x 3 has 9"),
            std::string::npos)
      << bad.err;
  Table t("w");
  t.addNumerics({{"E", "V"}, {"a", ""}, {"b", ""}});
  t.addRow({0.1, 1e-9, 2e-9});
  seccm::WideOptions o;
  o.nx = 2, o.ny = 1, o.pitch_um = 1;
  try {
    seccm::landingsFromWideTable(t, o);
    ADD_FAILURE();
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("column 'a': no unit for the current"), std::string::npos)
        << e.what();
  }
  o.current_unit = "pA";
  EXPECT_DOUBLE_EQ(seccm::landingsFromWideTable(t, o).curves[1].samples[2][0], 2e-21);
}

}  // namespace
}  // namespace ionmap
