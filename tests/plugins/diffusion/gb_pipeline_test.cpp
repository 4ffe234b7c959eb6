// The main job, end to end: pipelines/sims-gb-diffusion.yaml on the bundled gb-exchange sample
// (ToF-SIMS spectra → 6Li fraction → SIMS map registered onto the laser image → grains from
// the laser image → labels onto a grid twice as fine as the SIMS pixels → fit with the
// observation model) must find the SIMS field in the laser image within 0.2 um, give back the
// simulation's kappa inside its 95 % interval, and call the result fit for use.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "h5_util.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

std::filesystem::path gbDir() {
  return test::sourceDir() / "data/samples/gb";
}

TEST(GbDiffusionPipeline, RecoversKappaAndSourceFractionOfTheSample) {
  test::TempDir out;
  const auto r =
      test::runIonmap({"run", (test::sourceDir() / "pipelines/sims-gb-diffusion.yaml").string(),
                       "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;  // fit for use
  EXPECT_NE(r.out.find("verdict: fit for use"), std::string::npos) << r.out;
  test::H5File f((out / "results.h5").string());
  EXPECT_EQ(f.text("/entry/verdict").rfind("fit for use", 0), 0u) << f.text("/entry/verdict");
  // Fitted numbers are read by name, each with its own unit (a quantity table).
  const std::string fit = "/entry/diffusion_fit/";
  EXPECT_EQ(f.attr(fit, "ionmap_type"), "quantities");
  auto q = [&](const std::string& name) { return f.number(fit + name); };
  // Truth (data/samples/gb/truth.yaml): D_bulk 1e-9 cm²/s, κ 2e-6 cm/s, f_s 0.9. The model runs
  // on a grid twice as fine as the SIMS pixels from the laser's grains (the sample was made on
  // one five times as fine), so κ and D_gb must lie in their 95 % profile-likelihood intervals
  // (whether the intervals cover the truth 95 % of the time is measured over many independent
  // cases by scripts/validate; on this one sample D_bulk is 1.5 % high, 2 of its sigma, from
  // the coarser label grid, and f_s within 0.001).
  EXPECT_NEAR(q("kappa") / 2e-6, 1.0, 0.03) << "kappa";
  EXPECT_NEAR(q("f_source"), 0.9, 0.005) << "f_source";
  EXPECT_NEAR(q("D_bulk") / 1e-9, 1.0, 0.03) << "D_bulk";
  for (const auto& [name, truth] : {std::pair{"kappa", 2e-6}, {"D_gb", 2e-13}}) {
    EXPECT_LE(q(std::string(name) + "_ci95_low"), truth) << name;
    EXPECT_GE(q(std::string(name) + "_ci95_high"), truth) << name;
  }
  EXPECT_LT(q("reduced_chi2"), 1.1) << "reduced chi2";

  // Every dataset carries a units attribute, and the headline numbers their true unit: what
  // an h5py or MATLAB user reads beside the number (not "1" with the unit in a text column).
  const auto all = f.datasets();
  EXPECT_GT(all.size(), 100u);
  for (const auto& path : all) EXPECT_NE(f.attr(path, "units"), "") << path;
  for (const auto& [name, unit] : {std::pair{"D_bulk", "cm^2/s"},
                                   {"D_bulk_errors", "cm^2/s"},
                                   {"kappa", "cm/s"},
                                   {"kappa_errors", "cm/s"},
                                   {"kappa_ci95_low", "cm/s"},
                                   {"kappa_systematic_error", "cm/s"},
                                   {"D_gb", "cm^2/s"},
                                   {"f_source", "1"},
                                   {"mean_grain_size", "um"}}) {
    EXPECT_EQ(f.attr(fit + name, "units"), unit) << name;
  }
  EXPECT_EQ(f.attr(fit + "kappa", "estimate"), "interval");
  EXPECT_FALSE(f.exists(fit + "value")) << "a column of mixed units";
  EXPECT_EQ(f.attr("/entry/registration_report/uncertainty", "units"), "um");
  EXPECT_TRUE(std::filesystem::exists(out / "f_residual.png"));
  EXPECT_TRUE(std::filesystem::exists(out / "depth-profile.png"));

  // The registration checked itself tile by tile and handed its uncertainty to the fit.
  const std::string report = test::readFile(out / "registration_report.csv");
  EXPECT_NE(report.find("quality_good,1,"), std::string::npos) << report;
  const auto u = report.find("\nuncertainty,");
  ASSERT_NE(u, std::string::npos) << report;
  const double uncertainty = std::stod(report.substr(u + 13));
  EXPECT_GT(uncertainty, 0.0);
  EXPECT_LT(uncertainty, 0.2) << "um";

  // Registration: the sample's SIMS field lies rotated by 2° and shifted by (3, 2.5) um in the
  // laser image; the registered transform must put every corner of the 24 um field within
  // 0.2 um (0.4 SIMS pixels) of where the truth puts it. (With this sample's counts the rigid
  // NCC optimum lies at 1.77 deg: 0.15 um at the far corners; registration accuracy and its
  // own uncertainty are issue 13's subject.)
  const std::string yaml = test::readFile(out / "sims_to_laser.yaml");
  const auto at = yaml.find("matrix: [");
  ASSERT_NE(at, std::string::npos) << yaml;
  std::array<double, 6> m{};
  std::istringstream in(yaml.substr(at + 9));
  for (double& x : m) {
    in >> x;
    in.ignore(1);  // the comma
  }
  const double th = 2.0 * M_PI / 180;
  for (double x : {0.0, 24.0}) {
    for (double y : {0.0, 24.0}) {
      const double tx = std::cos(th) * x - std::sin(th) * y + 3.0,
                   ty = std::sin(th) * x + std::cos(th) * y + 2.5;
      EXPECT_LT(std::hypot(m[0] * x + m[1] * y + m[2] - tx, m[3] * x + m[4] * y + m[5] - ty), 0.2)
          << "corner " << x << ", " << y << " um; " << yaml;
    }
  }
}

// Refactors leave results alone: every number of the main job's fit table on the bundled
// sample equals the committed reference to round-off (relative 1e-9). A change of results is
// made on purpose: regenerate tests/plugins/diffusion/main_job_reference.csv from
// `ionmap run pipelines/sims-gb-diffusion.yaml` (diffusion_fit.csv) and say why in the
// CHANGELOG.
TEST(GbDiffusionPipeline, TheFittedValuesAreTheReferenceOnesToRoundOff) {
  test::TempDir out;
  const auto r =
      test::runIonmap({"run", (test::sourceDir() / "pipelines/sims-gb-diffusion.yaml").string(),
                       "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // CSV rows split at commas outside quotes (names like "correlation(a,b)" are quoted).
  auto rows = [](const std::string& text) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cells(1);
      bool quoted = false;
      for (char c : line) {
        if (c == '"')
          quoted = !quoted;
        else if (c == ',' && !quoted)
          cells.emplace_back();
        else
          cells.back() += c;
      }
      out.push_back(cells);
    }
    return out;
  };
  const auto got = rows(test::readFile(out / "diffusion_fit.csv"));
  const auto want =
      rows(test::readFile(test::sourceDir() / "tests/plugins/diffusion/main_job_reference.csv"));
  ASSERT_EQ(got.size(), want.size());
  int compared = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << "row " << i;
    for (std::size_t k = 0; k < want[i].size(); ++k) {
      char* end = nullptr;
      const double w = std::strtod(want[i][k].c_str(), &end);
      if (want[i][k].empty() || *end != '\0' || std::isnan(w)) {
        EXPECT_EQ(got[i][k], want[i][k]) << want[i][0] << " column " << k;  // text, nan
        continue;
      }
      const double g = std::stod(got[i][k]);
      EXPECT_NEAR(g, w, 1e-9 * std::abs(w) + 1e-300) << want[i][0] << " column " << k;
      ++compared;
    }
  }
  EXPECT_GT(compared, 40);  // the values, errors, intervals and diagnostics were compared
}

TEST(GbDiffusionPipeline, CommittedSampleIsWhatSimulateWrites) {
  test::TempDir out;
  const auto r = test::runIonmap({"simulate", "gb-exchange", "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"exchange.imzML", "exchange.ibd", "counts.tif", "truth_f.tif",
                           "laser.tif", "grains.tif", "sims_labels.tif", "truth.yaml"}) {
    EXPECT_EQ(test::readFile(out / name), test::readFile(gbDir() / name)) << name;
  }
}

}  // namespace
}  // namespace ionmap
