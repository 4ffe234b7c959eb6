// The bundled SECCM sample through pipelines/seccm-orientation.yaml: the committed files are what
// `ionmap simulate seccm` writes; each class's mean conductivity agrees with the truth at the
// same landings within its standard error; the classes differ, by the block bootstrap over
// domains; failed landings are left out and counted; the landing grid is put on the TEM image
// through fiducial marks, within 0.1 um of the truth.
#include <gtest/gtest.h>

#include <cmath>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "seccm/seccm_sample.hpp"

namespace ionmap {
namespace {

std::filesystem::path seccmSample() {
  return test::sourceDir() / "data" / "samples" / "seccm";
}

TEST(SeccmPipeline, CommittedSampleIsWhatSimulateWrites) {
  test::TempDir out;
  const auto r = test::runIonmap({"simulate", "seccm", "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"seccm_map.tdms", "tem_classes.tif", "tem_image.tif", "landmarks.csv",
                           "landing_to_tem.yaml", "truth.yaml"})
    EXPECT_EQ(test::readFile(out / name), test::readFile(seccmSample() / name)) << name;
}

// The sample's three layouts — the rig's TDMS stream, a long table of contact samples with
// landing ids, a wide table of one current column per landing — give the same conductance on
// every cell of the landing grid (to the CSV files' 10 digits), and the same failed landings.
TEST(SeccmPipeline, TdmsLongAndWideLayoutsGiveTheSameMap) {
  test::TempDir dir;
  const auto sample = seccmSample().string();
  const std::string analyse =
      "  - {stage: seccm-analyse, in: {curves: landings}, out: {landings: fits, conductance: g}}\n";
  test::writeFile(dir / "tdms.yaml",
                  "version: 1\ninputs: {m: " + sample +
                      "/seccm_map.tdms}\nstages:\n"
                      "  - {stage: read, in: {file: m}, params: {as: table}, out: {table: t}}\n"
                      "  - {stage: seccm-landings, params: {state: State}, in: {table: t}, "
                      "out: {curves: landings}}\n" +
                      analyse);
  test::writeFile(
      dir / "long.yaml",
      "version: 1\ninputs: {m: " + sample +
          "/seccm_long.csv}\nstages:\n"
          "  - {stage: read, in: {file: m}, params: {as: table}, out: {table: t}}\n"
          "  - {stage: seccm-landings, params: {point: point, potential: E, current: I, "
          "time: t, time_is_increment: false}, in: {table: t}, out: {curves: landings}}\n" +
          analyse);
  test::writeFile(
      dir / "wide.yaml",
      "version: 1\ninputs: {m: " + sample +
          "/seccm_wide.csv}\nstages:\n"
          "  - {stage: read, in: {file: m}, params: {as: table}, out: {table: t}}\n"
          "  - {stage: seccm-wide, params: {landings_per_row: 30, rows: 30, pitch: 0.4, "
          "time_step: 0.002}, in: {table: t}, out: {curves: landings}}\n" +
          analyse);
  std::vector<std::vector<double>> maps;
  for (const char* layout : {"tdms", "long", "wide"}) {
    const auto r = test::runIonmap({"run", (dir / (std::string(layout) + ".yaml")).string(),
                                    "--out", (dir / layout).string()});
    ASSERT_EQ(r.exit_code, 0) << layout << ": " << r.err;
    test::H5File f((dir / layout / "results.h5").string());
    maps.push_back(f.numbers("/entry/g/data"));
    ASSERT_EQ(maps.back().size(), 900u) << layout;
  }
  for (std::size_t m = 1; m < 3; ++m) {
    int both_nan = 0;
    for (std::size_t i = 0; i < 900; ++i) {
      const double a = maps[0][i], b = maps[m][i];
      if (std::isnan(a) || std::isnan(b)) {
        EXPECT_TRUE(std::isnan(a) && std::isnan(b)) << "layout " << m << ", cell " << i;
        both_nan += std::isnan(a) && std::isnan(b);
        continue;
      }
      EXPECT_NEAR(b, a, 1e-7 * std::abs(a)) << "layout " << m << ", cell " << i;
    }
    EXPECT_GT(both_nan, 20) << "the failed landings";
  }
}

TEST(SeccmPipeline, ClassConductivitiesAreRecoveredAndCompared) {
  test::TempDir truth_dir, out;
  const seccm::SeccmSampleTruth truth = seccm::writeSeccmSample(truth_dir.path());
  const auto pipeline = test::sourceDir() / "pipelines" / "seccm-orientation.yaml";
  const auto r = test::runIonmap({"run", pipeline.string(), "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::H5File f((out / "results.h5").string());
  const auto x = f.numbers("/entry/landing_classes/x"), y = f.numbers("/entry/landing_classes/y");
  const auto value = f.numbers("/entry/landing_classes/value");
  const auto cls = f.numbers("/entry/landing_classes/class");
  const auto share = f.numbers("/entry/landing_classes/share");
  ASSERT_GE(x.size(), 800u);  // 900 landings less the failed ones
  // Per class, over the landings the pipeline put in it: measured mean against the true mean at
  // the same places, within 3 standard errors of the measured mean.
  for (int c = 1; c <= 2; ++c) {
    double sm = 0, sm2 = 0, st = 0, n = 0;
    int wrong_class = 0;
    for (std::size_t k = 0; k < x.size(); ++k) {
      if (cls[k] != c || share[k] < 0.75) continue;
      const int band_class = ((truth.band(x[k], y[k]) % 2) + 2) % 2 + 1;
      wrong_class += band_class != c;
      sm += value[k], sm2 += value[k] * value[k], st += truth.sigma(x[k], y[k]), ++n;
    }
    ASSERT_GT(n, 200) << "class " << c;
    EXPECT_EQ(wrong_class, 0) << "class " << c;
    const double mean = sm / n, se = std::sqrt((sm2 / n - mean * mean) / (n - 1));
    EXPECT_LT(std::abs(mean - st / n), 3 * se) << "class " << c << ": " << mean << " vs " << st / n;
  }
  const auto means = f.numbers("/entry/class_statistics/mean");
  ASSERT_EQ(means.size(), 2u);
  EXPECT_NEAR(means[0] / means[1], 1e-3 / 0.3e-3, 0.1 * 1e-3 / 0.3e-3);
  EXPECT_LT(f.numbers("/entry/class_comparisons/block_p")[0], 0.01);
  // The summary's errors count domains, not landings: against the classes' nominal
  // conductivities (each domain scattered by 5 %), within 3 of them, and several times the
  // landings' naive error.
  const double m100 = f.number("/entry/class_summary/mean_100");
  const double se100 = f.number("/entry/class_summary/mean_100_errors");
  const double m001 = f.number("/entry/class_summary/mean_001");
  const double se001 = f.number("/entry/class_summary/mean_001_errors");
  EXPECT_LT(std::abs(m100 - 1e-3), 3 * se100) << m100 << " +- " << se100;
  EXPECT_LT(std::abs(m001 - 0.3e-3), 3 * se001) << m001 << " +- " << se001;
  const auto sd = f.numbers("/entry/class_statistics/sd");
  const auto n = f.numbers("/entry/class_statistics/n");
  EXPECT_GT(se100, 2 * sd[0] / std::sqrt(n[0]));
  EXPECT_EQ(f.attr("/entry/class_summary/mean_100", "units"), "S/cm");
  EXPECT_GE(f.numbers("/entry/class_comparisons/domains_a")[0], 5);
  EXPECT_EQ(f.attr("/entry/class_statistics/mean", "units"), "S/cm");
  // The bands: period 2.4 um at 20 deg within 3 standard errors (and 1 %), agreeing with the
  // domains on the reference.
  const double period = f.number("/entry/bands/map_period");
  const double period_se = f.number("/entry/bands/map_period_errors");
  EXPECT_LT(std::abs(period - 2.4), std::max(3 * period_se, 0.0)) << period << " +- " << period_se;
  EXPECT_NEAR(period, 2.4, 0.024);
  EXPECT_LT(std::abs(f.number("/entry/bands/map_angle") - 20),
            3 * f.number("/entry/bands/map_angle_errors"));
  EXPECT_LT(std::abs(f.number("/entry/bands/period_difference_z")), 3);
  EXPECT_LT(std::abs(f.number("/entry/bands/angle_difference_z")), 3);
  EXPECT_TRUE(std::filesystem::exists(out / "bands-spectrum.png"));
  // The landing grid on the TEM image, through the fiducial marks: within 0.1 um of the true
  // transform over the whole raster, its stated error of the size of the marks' click scatter
  // (0.03 um), and confirmed by the image (the bands against the diffraction contrast).
  const auto lin = f.numbers("/entry/landing_to_tem/linear");
  const auto tr = f.numbers("/entry/landing_to_tem/translation");
  ASSERT_EQ(lin.size(), 4u);
  const double a = 3 * M_PI / 180;
  for (double px : {0.0, 12.0}) {
    for (double py : {0.0, 12.0}) {
      const double fx = lin[0] * px + lin[1] * py + tr[0], fy = lin[2] * px + lin[3] * py + tr[1];
      const double tx = std::cos(a) * px - std::sin(a) * py + 1,
                   ty = std::sin(a) * px + std::cos(a) * py + 1;
      EXPECT_LT(std::hypot(fx - tx, fy - ty), 0.1) << px << ", " << py;
    }
  }
  EXPECT_NEAR(f.number("/entry/registration/landmark_uncertainty"), 0.03, 0.025);
  EXPECT_EQ(f.attr("/entry/registration/landmark_uncertainty", "units"), "um");
  // 4 marks, rigid: 5 degrees of freedom, t_0.975(5) = 2.5706.
  EXPECT_NEAR(f.number("/entry/registration/landmark_uncertainty_95") /
                  f.number("/entry/registration/landmark_uncertainty"),
              2.5706, 1e-3);
  EXPECT_GT(f.number("/entry/registration/ncc"), 0.5);
  EXPECT_EQ(f.number("/entry/registration/quality_good"), 1);
  EXPECT_EQ(r.err.find("could not be cross-checked"), std::string::npos) << r.err;
  // The failed landings (two samples in contact) are named in the run's warnings.
  EXPECT_NE(r.err.find(std::to_string(truth.failed) + " landing(s) shorter"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ionmap
