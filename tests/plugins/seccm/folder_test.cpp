// A folder of one CSV file per landing (its position in the file name) through seccm-landings
// (folder) + seccm-analyse: every landing's conductance on its raster cell, failed landings
// counted, the folder's content in the provenance; a file without a current column, a name that
// does not match the pattern and a folder that is a file are refused by name.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "seccm/landings.hpp"

namespace ionmap {
namespace {

// One landing's file: t (ms), E (V), I (nA) and the rig's state (0 approach, 1 contact).
std::string landingCsv(double conductance_nS, int contact_samples) {
  std::string csv = "t (ms),E (V),I (nA),State\n";
  for (int s = 0; s < 3; ++s) csv += fmt::format("{},0,0.001,0\n", s);
  for (int s = 0; s < contact_samples; ++s) {
    const double e = 0.05 + 0.02 * s;
    csv += fmt::format("{},{},{},1\n", 3 + s, e, conductance_nS * e);
  }
  return csv;
}

TEST(SeccmFolder, OneFilePerLandingGivesEveryLandingOnItsCell) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "landings");
  // A 3 x 2 raster at 0.5 um: landing (col, row) has (1 + col + 3 row) nS; the last one lost
  // contact at once (2 samples).
  for (int row = 0; row < 2; ++row) {
    for (int col = 0; col < 3; ++col) {
      test::writeFile(dir / "landings" / fmt::format("spot_r{:02d}_c{:02d}.csv", row, col),
                      landingCsv(1 + col + 3 * row, row == 1 && col == 2 ? 2 : 10));
    }
  }
  test::writeFile(dir / "landings" / "notes.txt", "not a landing");
  test::writeFile(
      dir / "p.yaml",
      "version: 1\nname: folder\ninputs:\n  spots: landings\nstages:\n"
      "  - stage: seccm-landings\n    id: landings\n"
      "    params: {files: \"spot_*.csv\", file_position: \"r{row}_c{col}\", file_pitch: 0.5,\n"
      "             potential: E, current: I, time: t, time_is_increment: false, state: State}\n"
      "    in: {folder: spots}\n    out: {curves: landings}\n"
      "  - stage: seccm-analyse\n    params: {skip: 0}\n    in: {curves: landings}\n"
      "    out: {landings: fits, current: current, conductance: g}\n");
  const auto r = test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 landing(s) shorter than 3 samples"), std::string::npos) << r.err;
  test::H5File f((dir / "o" / "results.h5").string());
  const auto g = f.numbers("/entry/g/data");  // row-major, 3 x 2
  ASSERT_EQ(g.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(g[i], (i + 1) * 1e-9, 1e-15) << i;
  EXPECT_TRUE(std::isnan(g[5]));
  EXPECT_NEAR(f.numbers("/entry/g/pixel_size")[0], 0.5, 1e-12);
  // The folder is an input like a file: its digest covers every file in it.
  const std::string digest = f.attr("/entry/inputs/spots", "sha256");
  EXPECT_EQ(digest.size(), 64u);
  test::writeFile(dir / "landings" / "notes.txt", "changed");
  const auto r2 =
      test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o2").string()});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  test::H5File f2((dir / "o2" / "results.h5").string());
  EXPECT_NE(f2.attr("/entry/inputs/spots", "sha256"), digest);

  // A file without the current column: refused, naming the file.
  test::writeFile(dir / "landings" / "spot_r00_c01.csv",
                  "t (ms),E (V),State\n0,0.1,1\n1,0.2,1\n2,0.3,1\n3,0.4,1\n");
  auto bad = test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o3").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("spot_r00_c01.csv"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("current"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o3" / "results.h5"));
  // A name the pattern does not fit; a folder that is a file.
  test::writeFile(dir / "landings" / "spot_r00_c01.csv", landingCsv(2, 10));
  test::writeFile(dir / "landings" / "spot_extra.csv", landingCsv(2, 10));
  bad = test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o4").string()});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("'spot_extra.csv': the name does not match file_position 'r{row}_c{col}'"),
            std::string::npos)
      << bad.err;
  bad = test::runIonmap({"run", (dir / "p.yaml").string(), "--set", "landings.file_position=x{x}",
                         "--out", (dir / "o5").string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("needs {x} and {y}"), std::string::npos) << bad.err;
}

TEST(SeccmFolder, PositionsFromNamesInMicrometres) {
  seccm::LandingOptions o;
  o.file_position = "x{x}_y{y}";
  const auto p = seccm::positionFromFileName("landing_x1p25_y-0.5.csv", o);
  EXPECT_DOUBLE_EQ(p.x, 1.25);
  EXPECT_DOUBLE_EQ(p.y, -0.5);
  o.file_position = "y{y}x{x}";
  EXPECT_DOUBLE_EQ(seccm::positionFromFileName("y3x4.tdms", o).x, 4);
  EXPECT_THROW(seccm::positionFromFileName("y3.tdms", o), InputError);
  o.file_position = "r{row}_c{col}";
  EXPECT_THROW(seccm::positionFromFileName("r1_c2", o), UsageError);  // no pitch
}

}  // namespace
}  // namespace ionmap
