// The main job, end to end: pipelines/sims-gb-diffusion.yaml on the bundled gb-exchange sample
// (ToF-SIMS spectra → 6Li fraction → grains from the laser image → fit) must give back the
// simulation's boundary permeance within 5 % and f_s within 0.01.
#include <gtest/gtest.h>

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
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::H5File f((out / "results.h5").string());
  const auto v = f.numbers("/entry/diffusion_fit/value");
  ASSERT_GE(v.size(), 9u);
  // Truth (data/samples/gb/truth.yaml): D_bulk 1e-9 cm²/s, κ 2e-6 cm/s, f_s 0.9.
  EXPECT_NEAR(v[1] / 2e-6, 1.0, 0.05) << "kappa";
  EXPECT_NEAR(v[3], 0.9, 0.01) << "f_source";
  EXPECT_NEAR(v[0] / 1e-9, 1.0, 0.10) << "D_bulk";
  EXPECT_LT(v[8], 2.0) << "reduced chi2";
  EXPECT_TRUE(std::filesystem::exists(out / "f_residual.png"));
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
