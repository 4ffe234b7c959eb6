// The ToF-SIMS pipelines on the synthetic isotope-exchange sample, against its ground truth,
// and the stages' refusals on bad input.
#include <cmath>

#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

std::filesystem::path simsDir() {
  return test::sourceDir() / "data/samples/sims";
}

class SimsPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = new test::TempDir();
    test::runPipelineFile(test::sourceDir() / "pipelines/sims-isotope-map.yaml", out_->path());
  }
  static void TearDownTestSuite() { delete out_; }
  static test::H5File results() { return test::H5File((out_->path() / "results.h5").string()); }
  static test::TempDir* out_;
};
test::TempDir* SimsPipeline::out_ = nullptr;

// Σ ((f − f_true)/σ_f)² / n over all pixels must be ≈ 1: the uncertainties are honest.
TEST_F(SimsPipeline, FractionMatchesTheTruthWithinItsStatedSigma) {
  const auto f = results().numbers("/entry/f/data");
  const auto sigma = results().numbers("/entry/sigma_f/data");
  const auto truth = tiff::readAll(simsDir() / "truth_f.tif").at(0).values;
  ASSERT_EQ(f.size(), truth.size());
  double chi2 = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (!std::isfinite(f[i])) continue;
    chi2 += std::pow((f[i] - truth[i]) / sigma[i], 2);
    ++n;
  }
  ASSERT_EQ(n, f.size()) << "every pixel of the sample has enough counts";
  // For n = 1600 the reduced chi-square has a standard deviation of sqrt(2/n) = 0.035.
  EXPECT_NEAR(chi2 / n, 1.0, 0.15) << "chi2/n = " << chi2 / n;
}

TEST_F(SimsPipeline, DeadTimeCorrectionRecoversTheExpectedIonArrivalsWithin1Percent) {
  const auto expected = tiff::readAll(simsDir() / "expected_counts.tif");
  for (auto [item, page] : {std::pair{"li6", 0}, {"li7", 1}}) {
    const auto corrected = results().numbers(std::string("/entry/") + item + "/data");
    const auto recorded = results().numbers(std::string("/entry/") + item + "_recorded/data");
    double c = 0, r = 0, e = 0;
    for (std::size_t i = 0; i < corrected.size(); ++i) {
      c += corrected[i], r += recorded[i], e += expected[page].values[i];
    }
    EXPECT_NEAR(c / e, 1.0, 0.01) << item;
    EXPECT_LT(r / e, 0.97) << item << ": the sample's detector should lose counts";
  }
}

TEST_F(SimsPipeline, CalibrationRemovesTheSimulatedMassScaleError) {
  const auto before = results().numbers("/entry/mass_calibration/offset_before");
  const auto after = results().numbers("/entry/mass_calibration/residual");
  ASSERT_EQ(before.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GT(std::abs(before[i]), 300.0) << "ppm before";
    EXPECT_LT(std::abs(after[i]), 30.0) << "ppm after";
  }
  // The Li peaks then sit in their windows: centroids within 20 ppm of the true masses.
  const auto centroid = results().numbers("/entry/li_windows/centroid");
  EXPECT_NEAR(centroid[0], 6.014574, 6.014574 * 20e-6);
  EXPECT_NEAR(centroid[1], 7.015455, 7.015455 * 20e-6);
}

TEST_F(SimsPipeline, ProvenanceRecordsShotsAndResolvingPower) {
  auto f = results();
  EXPECT_EQ(f.text("/entry/process_04_deadtime-6li/notes/shots"), "4000");
  const double r = std::stod(f.text("/entry/process_03_integrate/notes/resolving_power.7Li"));
  EXPECT_NEAR(r, 3000, 600);
  EXPECT_TRUE(std::filesystem::exists(out_->path() / "sum-spectrum.png"));
  EXPECT_TRUE(std::filesystem::exists(out_->path() / "f_profile-plot.png"));
  EXPECT_TRUE(std::filesystem::exists(out_->path() / "total_ions.png"));
}

TEST_F(SimsPipeline, TiffStackPathGivesTheSameCountsAsTheSpectra) {
  test::TempDir out;
  test::runPipelineFile(test::sourceDir() / "pipelines/sims-isotope-map-tiff.yaml", out.path());
  test::H5File tiff_results((out / "results.h5").string());
  const auto from_tiff = tiff_results.numbers("/entry/li6_recorded/data");
  const auto from_spectra = results().numbers("/entry/li6_recorded/data");
  ASSERT_EQ(from_tiff.size(), from_spectra.size());
  double diff = 0;
  for (std::size_t i = 0; i < from_tiff.size(); ++i)
    diff += std::abs(from_tiff[i] - from_spectra[i]);
  // Only the flat background inside the window (≈ 0.02 counts per pixel) differs.
  EXPECT_LT(diff / from_tiff.size(), 0.1);
}

// ROI spectra: left and right halves of the sample; together they make the sum spectrum, and
// the exchanged (left) half holds most of the 6Li.
TEST(SimsRoi, RoiSpectraPartitionTheSumSpectrum) {
  test::TempDir dir;
  Image<double> halves(40, 40);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 40; ++x) halves(x, y) = x < 20 ? 1 : 2;
  }
  tiff::write(dir / "roi.tif", {{&halves, "roi"}}, tiff::SampleType::kUInt16, 0.6, 0.6);
  const std::string yaml =
      "version: 1\ninputs: {s: '" + (simsDir() / "exchange.imzML").string() +
      "', r: roi.tif}\nstages:\n"
      "  - {stage: read, in: {file: s}, params: {as: spectra}, out: {spectra: sp}}\n"
      "  - {stage: read, id: rr, in: {file: r}, params: {as: labels}, out: {labels: roi}}\n"
      "  - {stage: sims-integrate, params: {half_width: 0.012}, in: {spectra: sp, roi: roi}, "
      "out: {spectrum: sum, roi_spectra: per_roi}}\n";
  test::runYaml(yaml, dir.path(), dir.path() / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  const auto sum = f.numbers("/entry/sum/counts");
  const auto left = f.numbers("/entry/per_roi/roi_1");
  const auto right = f.numbers("/entry/per_roi/roi_2");
  const auto mz = f.numbers("/entry/per_roi/mz");
  ASSERT_EQ(left.size(), sum.size());
  double l6 = 0, r6 = 0;
  for (std::size_t i = 0; i < sum.size(); ++i) {
    ASSERT_NEAR(left[i] + right[i], sum[i], 1e-9);
    if (std::abs(mz[i] - 6.017) < 0.01) l6 += left[i], r6 += right[i];  // uncalibrated 6Li peak
  }
  EXPECT_GT(l6, 3 * r6);
}

TEST(SimsSample, CommittedFilesAreWhatSimulateWrites) {
  test::TempDir out;
  const auto r = test::runIonmap({"simulate", "isotope-exchange", "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"exchange.imzML", "exchange.ibd", "counts.tif", "truth_f.tif",
                        "expected_counts.tif", "truth.yaml"}) {
    EXPECT_EQ(test::readFile(out / f), test::readFile(simsDir() / f)) << f;
  }
}

// --- refusals -------------------------------------------------------------------------------

class SimsStages : public ::testing::Test {
 protected:
  static std::string yamlWith(const std::string& stages) {
    return "version: 1\ninputs: {s: '" + (simsDir() / "exchange.imzML").string() + "', c: '" +
           (simsDir() / "counts.tif").string() +
           "'}\nstages:\n"
           "  - {stage: read, in: {file: s}, params: {as: spectra}, out: {spectra: sp}}\n"
           "  - {stage: read, id: r6, in: {file: c}, params: {channel: 6Li}, out: {map: a}}\n"
           "  - {stage: read, id: r7, in: {file: c}, params: {channel: 7Li}, out: {map: b}}\n" +
           stages;
  }
  std::string failure(const std::string& stages, ErrorKind kind) {
    const std::string yaml = yamlWith(stages);
    test::TempDir out;
    try {
      test::runYaml(yaml, out.path(), out.path());
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_FALSE(std::filesystem::exists(out / "results.h5"));
      return e.what();
    }
    ADD_FAILURE() << "did not fail";
    return "";
  }
};

TEST_F(SimsStages, DeadTimeRefusesToGuessTheNumberOfShots) {
  const auto e = failure("  - {stage: sims-deadtime, in: {map: a}}\n", ErrorKind::kUsage);
  EXPECT_NE(e.find("refusing to guess"), std::string::npos) << e;
}

TEST_F(SimsStages, WindowsOutsideTheSpectrumAreAProcessingError) {
  const auto e = failure(
      "  - {stage: sims-integrate, params: {light_mass: 120, heavy_mass: 121}, in: {spectra: "
      "sp}}\n",
      ErrorKind::kProcessing);
  EXPECT_NE(e.find("outside the spectra's m/z range"), std::string::npos) << e;
}

TEST_F(SimsStages, CalibrationReferenceWithoutAPeakIsNamed) {
  const auto e = failure(
      "  - {stage: sims-calibrate, params: {references: [6.014574, 40.5]}, in: {spectra: sp}}\n",
      ErrorKind::kProcessing);
  EXPECT_NE(e.find("no peak within"), std::string::npos) << e;
  EXPECT_NE(e.find("40.5"), std::string::npos) << e;
}

// A reference the spectra do not hold (outside the recorded range) is left out with a warning
// when two others remain: a user's spectrum over 5.5-7.5 u still calibrates on the Li pair.
TEST_F(SimsStages, CalibrationLeavesOutReferencesTheSpectraDoNotHold) {
  test::TempDir out;
  const RunSummary s = test::runYaml(
      yamlWith("  - {stage: sims-calibrate, params: {references: [6.014574, 7.015455, 40.5]}, "
               "in: {spectra: sp}, out: {calibration: cal}}\n"),
      out.path(), out.path());
  EXPECT_GE(s.warnings, 1u);
  const std::string log = test::readFile(out / "run.log");
  EXPECT_NE(log.find("40.5 u"), std::string::npos) << log;
  EXPECT_NE(log.find("left out of the calibration (2 references used)"), std::string::npos) << log;
  const auto masses =
      test::H5File((out / "results.h5").string()).numbers("/entry/cal/reference_mass");
  ASSERT_EQ(masses.size(), 2u);
  EXPECT_DOUBLE_EQ(masses[1], 7.015455);
}

// Dead-time correction switched off: the counts pass unchanged with Poisson variance.
TEST_F(SimsStages, DeadTimeCorrectionCanBeSwitchedOff) {
  test::TempDir out;
  test::runYaml(yamlWith("  - {stage: sims-deadtime, params: {correction: none}, in: {map: a}, "
                         "out: {map: a2, variance: v}}\n"),
                out.path(), out.path());
  test::H5File f((out / "results.h5").string());
  const auto a = f.numbers("/entry/a/data"), a2 = f.numbers("/entry/a2/data"),
             v = f.numbers("/entry/v/data");
  ASSERT_EQ(a.size(), a2.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) continue;
    EXPECT_EQ(a[i], a2[i]);
    EXPECT_EQ(v[i], a[i]);
  }
  const auto e = failure(
      "  - {stage: sims-deadtime, params: {correction: none, shots_per_pixel: 400}, in: {map: "
      "a}}\n",
      ErrorKind::kUsage);
  EXPECT_NE(e.find("say which one you mean"), std::string::npos) << e;
}

TEST_F(SimsStages, NormalisedFractionNeedsTheSourceFraction) {
  const auto e =
      failure("  - {stage: sims-fraction, in: {light: a, heavy: b}, out: {normalised: fn}}\n",
              ErrorKind::kUsage);
  EXPECT_NE(e.find("needs `f_s`"), std::string::npos) << e;
}

TEST_F(SimsStages, OverlappingWindowsAreRejectedBeforeRunning) {
  const auto e = failure(
      "  - {stage: sims-integrate, params: {light_mass: 6.8, half_width: 0.2}, in: {spectra: "
      "sp}}\n",
      ErrorKind::kUsage);
  EXPECT_NE(e.find("the two windows overlap"), std::string::npos) << e;
}

}  // namespace
}  // namespace ionmap
