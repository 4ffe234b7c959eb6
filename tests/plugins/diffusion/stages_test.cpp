// The diffusion stages end to end on a synthetic case: grain labels written as a TIFF, an
// exchange map simulated from them with binomial counting noise (simulate-exchange), then
// fitted (fit-diffusion); results.h5 must give back κ within 5 % and f_s within 0.01.
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "grains/synthetic.hpp"
#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap::diffusion {
namespace {

// The fit's quantities by name from /entry/fit (one dataset each, with its unit); NaN when
// missing.
auto fitValues(const test::H5File& f) {
  return [&f](const std::string& name) { return f.number("/entry/fit/" + name); };
}

void writeLabels(const std::filesystem::path& path, int pixels, double pixel_um,
                 std::uint64_t seed) {
  grains::MicrostructureSpec ms;
  ms.pixels = pixels;
  ms.pixel_um = pixel_um;
  ms.grain_size_um = 6;
  ms.seed = seed;
  const auto m = grains::makeMicrostructure(ms);
  Image<double> v(pixels, pixels, 0.0);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = m.truth.labels[i];
  tiff::write(path, {{&v, "grain labels"}}, tiff::SampleType::kInt32, pixel_um, pixel_um);
}

// Truth: D_b = 1e-8 cm²/s (1 µm²/s), κ = 8e-6 cm/s (0.08 µm/s), f_s = 0.9, 60 s.
std::string pipeline(const std::filesystem::path& labels, const std::string& fit_labels) {
  return "version: 1\ninputs: {labels: '" + labels.string() + "', other: '" + fit_labels +
         "'}\nstages:\n"
         "  - {stage: read, in: {file: labels}, params: {as: labels}, out: {labels: grains}}\n"
         "  - {stage: read, id: read-other, in: {file: other}, params: {as: labels}, out: {labels: "
         "fit_grains}}\n"
         "  - {stage: simulate-exchange, params: {D_bulk: 1e-8, kappa: 8e-6, f_source: 0.9, time: "
         "60, steps: 30, counts_per_pixel: 2000, seed: 4}, in: {labels: grains}, out: {fraction: "
         "f, sigma: sf}}\n"
         "  - {stage: fit-diffusion, params: {D_bulk: 3e-9, kappa: 1e-6, f_source: 0.8, time: 60, "
         "steps: 30}, in: {fraction: f, sigma: sf, labels: fit_grains}, out: {parameters: fit, "
         "model: model, residual: residual, profile: profile}}\n";
}

// labels.tif → simulate-exchange (truth as above) → fit-diffusion, each stage with extra
// parameters (written "key: value, ").
std::string exchangeYaml(const std::string& simulate_extra, const std::string& fit_extra) {
  return "version: 1\ninputs: {labels: labels.tif}\nstages:\n"
         "  - {stage: read, in: {file: labels}, params: {as: labels}, out: {labels: grains}}\n"
         "  - {stage: simulate-exchange, params: {" +
         simulate_extra +
         "D_bulk: 1e-8, kappa: 8e-6, f_source: 0.9, time: 60, steps: 30, counts_per_pixel: 2000, "
         "seed: 4}, in: {labels: grains}, out: {fraction: f, sigma: sf}}\n"
         "  - {stage: fit-diffusion, params: {" +
         fit_extra +
         "D_bulk: 3e-9, kappa: 1e-6, f_source: 0.8, time: 60, steps: 30, profile_points: 0}, in: "
         "{fraction: f, sigma: sf, labels: grains}, out: {parameters: fit}}\n";
}

TEST(DiffusionStages, SimulatedExchangeIsFittedBackFromResultsFile) {
  test::TempDir dir;
  writeLabels(dir / "labels.tif", 48, 0.5, 5);
  const auto labels = (dir / "labels.tif").string();
  test::runYaml(pipeline(dir / "labels.tif", labels), dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  ASSERT_TRUE(f.ok());
  const auto v = fitValues(f);
  EXPECT_NEAR(v("kappa") / 8e-6, 1.0, 0.05) << "kappa";
  EXPECT_NEAR(v("f_source"), 0.9, 0.01) << "f_source";
  EXPECT_NEAR(v("D_bulk") / 1e-8, 1.0, 0.10) << "D_bulk";
  EXPECT_NEAR(v("D_gb"), v("kappa") * 1e-7, 1e-20) << "D_gb = kappa * 1 nm";
  EXPECT_NEAR(v("reduced_chi2"), 1.0, 0.2) << "reduced chi2 of binomial noise with its own sigma";
  EXPECT_GT(v("kappa_errors"), 0);
  EXPECT_LT(v("kappa_errors") / v("kappa"), 0.05);
  // The residual map is noise: mean near 0, RMS near 1.
  const auto r = f.numbers("/entry/residual/data");
  ASSERT_EQ(r.size(), 48u * 48u);
  double s = 0, s2 = 0;
  for (double x : r) s += x, s2 += x * x;
  EXPECT_NEAR(s / r.size(), 0.0, 0.1);
  EXPECT_NEAR(std::sqrt(s2 / r.size()), 1.0, 0.1);
  EXPECT_EQ(f.numbers("/entry/profile/distance").size(), 48u);
}

// An ideal brick layer (square grains aligned with the source edge) is exactly one-dimensional,
// so the published 1D series model fitted to its depth profile must recover the truth.
TEST(DiffusionStages, SeriesModelRecoversTheBrickLayerFromItsDepthProfile) {
  test::TempDir dir;
  Image<double> bricks(48, 48, 0.0);  // 0.5 um pixels, 6 um square grains
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 48; ++x) bricks(x, y) = 1 + x / 12 + 4 * (y / 12);
  }
  tiff::write(dir / "bricks.tif", {{&bricks, "grain labels"}}, tiff::SampleType::kInt32, 0.5, 0.5);
  const auto labels = (dir / "bricks.tif").string();
  std::string yaml = pipeline(dir / "bricks.tif", labels);
  const std::string fit = "{stage: fit-diffusion, params: {";
  yaml.replace(yaml.find(fit), fit.size(), fit + "model: series, grain_size: 6, ");
  test::runYaml(yaml, dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  const auto v = fitValues(f);
  EXPECT_NEAR(v("kappa") / 8e-6, 1.0, 0.05) << "kappa";
  EXPECT_NEAR(v("f_source"), 0.9, 0.01) << "f_source";
  EXPECT_NEAR(v("D_bulk") / 1e-8, 1.0, 0.10) << "D_bulk";
  EXPECT_NEAR(v("mean_grain_size"), 6.0, 1e-12) << "boundary spacing";
  EXPECT_NEAR(v("reduced_chi2"), 1.0, 0.5) << "reduced chi2 of 48 profile points";
  EXPECT_EQ(f.numbers("/entry/residual/data").size(), 48u * 48u);
}

// What the 1D series model cannot represent is refused before any work, naming the parameter.
TEST(DiffusionStages, SeriesModelRefusesWhatItCannotModel) {
  test::TempDir dir;
  writeLabels(dir / "labels.tif", 48, 0.5, 5);
  const std::string fit = "{stage: fit-diffusion, params: {";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"reservoir: 5, ", "reservoir"}, {"source_edge: region, ", "region"}};
  for (const auto& [extra, named] : cases) {
    std::string yaml = pipeline(dir / "labels.tif", (dir / "labels.tif").string());
    yaml.replace(yaml.find(fit), fit.size(), fit + "model: series, " + extra);
    try {
      test::runYaml(yaml, dir.path(), dir / "out");
      FAIL() << "the series model ran with " << extra;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
      EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "out" / "results.h5"));
  }
}

// brick-labels makes the ideal brick layer: square grains of d/h pixels (staggered rows
// shifted by half a grain), and the series model recovers exchange simulated through it.
TEST(DiffusionStages, BrickLabelsMakeTheIdealBrickLayer) {
  test::TempDir dir;
  const std::string yaml =
      "version: 1\nstages:\n"
      "  - {stage: brick-labels, params: {width: 24, height: 24, pixel_size: 0.5, grain_size: "
      "6}, out: {labels: bricks}}\n"
      "  - {stage: brick-labels, id: staggered, params: {width: 24, height: 24, pixel_size: "
      "0.5, grain_size: 6, stagger: true}, out: {labels: wall}}\n"
      "  - {stage: simulate-exchange, params: {D_bulk: 1e-8, kappa: 8e-6, f_source: 0.9, time: "
      "60, steps: 30, counts_per_pixel: 2000, seed: 4}, in: {labels: bricks}, out: {fraction: "
      "f, sigma: sf}}\n"
      "  - {stage: fit-diffusion, params: {model: series, grain_size: 6, D_bulk: 3e-9, kappa: "
      "1e-6, f_source: 0.8, time: 60, steps: 30, profile_points: 0}, in: {fraction: f, sigma: "
      "sf, labels: bricks}, out: {parameters: fit}}\n";
  test::runYaml(yaml, dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  const auto bricks = f.numbers("/entry/bricks/labels");
  const auto wall = f.numbers("/entry/wall/labels");
  ASSERT_EQ(bricks.size(), 48u * 48u);
  ASSERT_EQ(wall.size(), 48u * 48u);
  auto at = [](const std::vector<double>& l, int x, int y) { return l[y * 48 + x]; };
  // 4 × 4 grains of 12 × 12 pixels.
  EXPECT_EQ(at(bricks, 0, 0), at(bricks, 11, 11));
  EXPECT_NE(at(bricks, 11, 0), at(bricks, 12, 0));
  EXPECT_NE(at(bricks, 0, 11), at(bricks, 0, 12));
  EXPECT_EQ(std::set<double>(bricks.begin(), bricks.end()).size(), 16u);
  // Staggered: the second row of grains has its boundaries at x = 6, 18, 30, 42.
  EXPECT_NE(at(wall, 5, 12), at(wall, 6, 12));
  EXPECT_EQ(at(wall, 11, 12), at(wall, 12, 12));
  EXPECT_NE(at(wall, 11, 0), at(wall, 12, 0));
  const auto v = fitValues(f);
  EXPECT_NEAR(v("kappa") / 8e-6, 1.0, 0.05) << "kappa";
  EXPECT_NEAR(v("f_source"), 0.9, 0.01) << "f_source";

  const std::string bad =
      "version: 1\nstages:\n  - {stage: brick-labels, params: {pixel_size: 0.5, grain_size: "
      "5.2}, out: {labels: b}}\n";
  EXPECT_THROW(test::runYaml(bad, dir.path(), dir / "bad"), Error);
}

TEST(DiffusionStages, LabelsOnAnotherGridAreRefusedWithAPointer) {
  test::TempDir dir;
  writeLabels(dir / "labels.tif", 48, 0.5, 5);
  writeLabels(dir / "coarse.tif", 24, 1.0, 5);
  try {
    test::runYaml(pipeline(dir / "labels.tif", (dir / "coarse.tif").string()), dir.path(),
                  dir / "out");
    FAIL() << "fitted a map with labels on another grid";
  } catch (const ProcessingError& e) {  // found in the data, not in the pipeline: exit 1
    EXPECT_EQ(e.exitCode(), 1) << e.what();
    EXPECT_NE(std::string(e.what()).find("resample"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "results.h5"));
}

// A source region instead of an edge: a disc of 4 um radius in the middle of the map (a contact
// area) held at f_s. Simulated and fitted with the same region: κ within 5 %, f_s within
// 0.01; the disc's pixels are left out of the residuals and the profile runs from its rim.
TEST(DiffusionStages, SourceRegionIsSimulatedAndFittedBack) {
  test::TempDir dir;
  writeLabels(dir / "labels.tif", 48, 0.5, 5);
  Image<double> disc(48, 48, 0.0);
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 48; ++x) disc(x, y) = std::hypot(x - 23.5, y - 23.5) < 8 ? 1 : 0;
  }
  tiff::write(dir / "disc.tif", {{&disc, "contact"}}, tiff::SampleType::kInt32, 0.5, 0.5);
  const std::string yaml =
      "version: 1\ninputs: {labels: labels.tif, disc: disc.tif}\nstages:\n"
      "  - {stage: read, in: {file: labels}, params: {as: labels}, out: {labels: grains}}\n"
      "  - {stage: read, id: read-disc, in: {file: disc}, params: {as: labels}, out: {labels: "
      "contact}}\n"
      "  - {stage: simulate-exchange, params: {source_edge: region, D_bulk: 1e-8, kappa: 8e-6, "
      "f_source: 0.9, time: 60, steps: 30, counts_per_pixel: 2000, seed: 4}, in: {labels: "
      "grains, source: contact}, out: {fraction: f, sigma: sf}}\n"
      "  - {stage: fit-diffusion, params: {source_edge: region, D_bulk: 3e-9, kappa: 1e-6, "
      "f_source: 0.8, time: 60, steps: 30, profile_points: 0}, in: {fraction: f, sigma: sf, "
      "labels: grains, source: contact}, out: {parameters: fit, profile: profile}}\n";
  test::runYaml(yaml, dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  ASSERT_TRUE(f.ok());
  const auto v = fitValues(f);
  EXPECT_NEAR(v("kappa") / 8e-6, 1.0, 0.05) << "kappa";
  EXPECT_NEAR(v("f_source"), 0.9, 0.01) << "f_source";
  EXPECT_NEAR(v("reduced_chi2"), 1.0, 0.2) << "reduced chi2";
  std::size_t disc_pixels = 0;
  for (double x : disc.values()) disc_pixels += x > 0;
  EXPECT_EQ(v("residuals"), 48.0 * 48.0 - static_cast<double>(disc_pixels)) << "residual count";
  const auto measured = f.numbers("/entry/profile/measured");
  ASSERT_GT(measured.size(), 10u);
  EXPECT_GT(measured.front(), measured[10]);  // falls off away from the rim

  // Without the `source` input, region is refused before any work.
  const std::string missing = yaml.substr(0, yaml.find("  - {stage: fit-diffusion")) +
                              "  - {stage: fit-diffusion, params: {source_edge: region}, in: "
                              "{fraction: f, sigma: sf, labels: grains}, out: {parameters: fit}}\n";
  try {
    test::runYaml(missing, dir.path(), dir / "out2");
    FAIL() << "ran source_edge: region without a source region";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("source"), std::string::npos) << e.what();
  }
}

// A finite reservoir (as much Li as 3 um of sample along the left edge) is visibly depleted
// after the exchange. Fitted with the same reservoir: κ within 5 %, f_s (the starting source
// fraction) within 0.01 and the fitted end fraction reported below it. Fitted as if the source
// were unlimited, the same map misfits (χ²/n clearly above 1).
TEST(DiffusionStages, FiniteReservoirIsSimulatedAndFittedBack) {
  test::TempDir dir;
  writeLabels(dir / "labels.tif", 48, 0.5, 5);
  auto yaml = [](const std::string& fit_reservoir) {
    return exchangeYaml("reservoir: 3, ", "reservoir: " + fit_reservoir + ", ");
  };
  test::runYaml(yaml("3"), dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  ASSERT_TRUE(f.ok());
  const auto v = fitValues(f);
  EXPECT_NEAR(v("kappa") / 8e-6, 1.0, 0.05) << "kappa";
  EXPECT_NEAR(v("f_source"), 0.9, 0.01) << "f_source";
  const std::string csv = test::readFile(dir / "out" / "fit.csv");
  ASSERT_NE(csv.find("\nf_background,"), std::string::npos) << csv;
  EXPECT_LT(csv.find("\nf_background,"), csv.find("\nf_source_end,")) << csv;  // row 5
  EXPECT_LT(v("f_source_end"), 0.85);                                          // depleted
  EXPECT_GT(v("f_source_end"), 0.2);
  EXPECT_NEAR(v("reduced_chi2"), 1.0, 0.2) << "reduced chi2";

  test::runYaml(yaml("0"), dir.path(), dir / "unlimited");
  test::H5File g((dir / "unlimited" / "results.h5").string());
  // χ²/n of 2304 pixels scatters by ±0.03: 1.15 is a misfit far beyond noise (measured 1.24).
  EXPECT_GT(fitValues(g)("reduced_chi2"), 1.15) << "an unlimited source cannot fit it";
}

// Exchange simulated with the staircase correction (boundaries passing κ times their true
// length) is fitted back with it (κ within 5 %); fitted without it, κ comes out low by about
// the mean correction factor, as the staircase passes too much tracer.
TEST(DiffusionStages, StaircaseCorrectionIsAppliedByBothStages) {
  test::TempDir dir;
  writeLabels(dir / "labels.tif", 48, 0.5, 5);
  auto yaml = [](const std::string& fit_correction) {
    return exchangeYaml("staircase_correction: true, ",
                        "staircase_correction: " + fit_correction + ", ");
  };
  test::runYaml(yaml("true"), dir.path(), dir / "with");
  test::runYaml(yaml("false"), dir.path(), dir / "without");
  const double with = fitValues(test::H5File((dir / "with" / "results.h5").string()))("kappa");
  const double without =
      fitValues(test::H5File((dir / "without" / "results.h5").string()))("kappa");
  EXPECT_NEAR(with / 8e-6, 1.0, 0.05);
  EXPECT_LT(without / 8e-6, 0.95);
  EXPECT_GT(without / 8e-6, 0.6);
  // The factor is noted by each stage that applies it: both in one run, only the simulation in
  // the other.
  auto notes = [](const std::string& log) {
    std::size_t n = 0;
    for (auto at = log.find("staircase_mean_factor"); at != std::string::npos;
         at = log.find("staircase_mean_factor", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(notes(test::readFile(dir / "with" / "run.log")), 2u);
  EXPECT_EQ(notes(test::readFile(dir / "without" / "run.log")), 1u);
}

}  // namespace
}  // namespace ionmap::diffusion
