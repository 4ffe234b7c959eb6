// IONTOF SurfaceLab text exports: the real spectrum and depth profile, truncated copies, and
// a recalibration of the real spectrum's mass scale.
#include <cmath>

#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

class IontofText : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::instrumentFilesDir().empty()) {
      GTEST_SKIP()
          << "../shared/data/instrument-files not found (a user's clone): real-file test skipped";
    }
    registerBuiltinPlugins(registry);
  }
  std::filesystem::path real(const char* name) {
    return test::instrumentFilesDir() / "iontof-text" / name;
  }
  Dataset load(const std::filesystem::path& p) { return registry.pickReader(p).load(p, {}); }
  std::string meta(const Dataset& ds, const std::string& key) {
    for (const auto& [k, v] : ds.metadata) {
      if (k == key) return v;
    }
    return "";
  }
  Registry registry;
  test::TempDir dir;
};

TEST_F(IontofText, SpectrumExportBecomesATableWithBinningAndDeadTimeFlag) {
  const auto p = real("iontof_spectrum_N_HEA19_Bi1_1.txt");
  EXPECT_EQ(registry.pickReader(p).name(), "iontof-text");
  const Dataset ds = load(p);
  ASSERT_EQ(ds.tables.size(), 1u);
  const Table& t = ds.tables[0];
  EXPECT_EQ(t.rows(), 4950u);
  EXPECT_EQ(t.column("mz").unit, "u");
  EXPECT_DOUBLE_EQ(t.column("channel").numbers[0], 100);
  EXPECT_DOUBLE_EQ(t.column("intensity").numbers[1], 38);
  EXPECT_EQ(meta(ds, "Binning"), "200 channels");
  EXPECT_EQ(meta(ds, "Deadtime Correction"), "on");
}

TEST_F(IontofText, DepthProfileExportKeepsSpeciesNamesAndMasses) {
  const Dataset ds = load(real("iontof_depthprofile_I241209s_B_FACSPI_pos.txt"));
  const Table& t = ds.tables.at(0);
  EXPECT_EQ(t.rows(), 165u);
  EXPECT_EQ(t.column("sputter_time").unit, "s");
  EXPECT_DOUBLE_EQ(t.column("sputter_time").numbers[1], 1.4666);
  EXPECT_DOUBLE_EQ(t.column("Ag+").numbers[0], 15.0193);
  EXPECT_EQ(meta(ds, "mass:Ag+"), "106.9038");
  EXPECT_EQ(t.columns.size(), 4u + std::stoul(meta(ds, "species")));
  EXPECT_GT(t.columns.size(), 100u);
}

TEST_F(IontofText, TruncatedExportsAreRefusedNamingTheLine) {
  for (const char* name :
       {"iontof_spectrum_N_HEA19_Bi1_1.txt", "iontof_depthprofile_I241209s_B_FACSPI_pos.txt"}) {
    const std::string bytes = test::readFile(real(name));
    // Cut in the middle of a data row (after a tab, so the row is short).
    std::size_t cut = bytes.find('\t', bytes.size() / 2) + 1;
    test::writeFile(dir / name, bytes.substr(0, cut));
    try {
      load(dir / name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("line "), std::string::npos) << e.what();
    }
  }
}

// The export's m/z obeys channel = a·sqrt(m) + b exactly (a ≈ 32984.7, b ≈ −368.4). Locating
// known negative ions (O−, OH−, C2H−, CN−, Cl−, 37Cl−) and refitting must give back nearly the
// same scale. The export is binned by 200 channels, i.e. Δm/m = 400/(a·sqrt(m)) ≈ 2000 ppm per
// bin at m/z 35, so peak centroids (and residuals) are good to about half a bin.
TEST_F(IontofText, RecalibrationOfTheRealSpectrumFromKnownNegativeIons) {
  test::TempDir out;
  const std::string yaml =
      "version: 1\ninputs: {s: '" + real("iontof_spectrum_N_HEA19_Bi1_1.txt").string() +
      "'}\nstages:\n"
      "  - {stage: read, in: {file: s}, params: {as: table}, out: {table: raw}}\n"
      "  - {stage: sims-calibrate, params: {references: [15.995463, 17.003288, 25.008374, "
      "26.003623, 34.969402, 36.966451], search: 0.06}, in: {spectrum: raw}, "
      "out: {spectrum: spec, calibration: cal}}\n";
  test::runYaml(yaml, dir.path(), out.path());
  test::H5File f((out / "results.h5").string());
  const auto residual = f.numbers("/entry/cal/residual");
  ASSERT_EQ(residual.size(), 6u);
  for (double r : residual) EXPECT_LT(std::abs(r), 1500.0) << "ppm";
  const double a = std::stod(f.text("/entry/process_02_sims-calibrate/notes/a"));
  const double b = std::stod(f.text("/entry/process_02_sims-calibrate/notes/b"));
  EXPECT_NEAR(a / 32984.72, 1.0, 5e-3);
  EXPECT_NEAR(b, -368.4, 200.0);  // within one 200-channel bin
  const auto before = f.numbers("/entry/spec/mz_before_calibration");
  const auto after = f.numbers("/entry/spec/mz");
  EXPECT_EQ(before.size(), after.size());
}

}  // namespace
}  // namespace ionmap
