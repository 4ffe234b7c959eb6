// Operando KPFM (kpfm-operando) on the bundled series: drift recovered within 0.2 px, every
// particle classified as the truth says (≥ 95 % required), potential changes within their
// errors, the correlation with the lithium change found; bad input refused.
#include <gtest/gtest.h>

#include <cmath>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "spm/operando.hpp"
#include "spm/operando_sample.hpp"

namespace ionmap {
namespace {

std::filesystem::path operandoSample() {
  return test::sourceDir() / "data" / "samples" / "kpfm-operando";
}

TEST(KpfmOperando, CommittedSampleIsWhatSimulateWrites) {
  test::TempDir out;
  const auto r = test::runIonmap({"simulate", "kpfm-operando", "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"kpfm_frames.tif", "lithium.tif", "particles.tif", "truth.yaml"})
    EXPECT_EQ(test::readFile(out / name), test::readFile(operandoSample() / name)) << name;
}

TEST(KpfmOperando, DriftClassesChangesAndCorrelationAreRecovered) {
  test::TempDir truth_dir, out;
  const spm::KpfmOperandoTruth truth = spm::writeKpfmOperando(truth_dir.path());
  const auto pipeline = test::sourceDir() / "pipelines" / "kpfm-sims-operando.yaml";
  const auto r = test::runIonmap({"run", pipeline.string(), "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::H5File f((out / "results.h5").string());
  const auto dx = f.numbers("/entry/frame_drift/dx"), dy = f.numbers("/entry/frame_drift/dy");
  ASSERT_EQ(dx.size(), truth.drift_x_um.size());
  for (std::size_t k = 0; k < dx.size(); ++k) {
    EXPECT_LT(std::abs(dx[k] - truth.drift_x_um[k]), 0.2 * 0.1) << "frame " << k;  // 0.2 px
    EXPECT_LT(std::abs(dy[k] - truth.drift_y_um[k]), 0.2 * 0.1) << "frame " << k;
  }
  const auto labels = f.numbers("/entry/particle_responses/label");
  const auto responding = f.numbers("/entry/particle_responses/responding");
  const auto change = f.numbers("/entry/particle_responses/change");
  const auto se = f.numbers("/entry/particle_responses/change_standard_error");
  ASSERT_GE(labels.size(), 30u);
  std::size_t right = 0;
  double z2 = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::size_t t = 0;
    while (t < truth.labels.size() && truth.labels[t] != static_cast<int>(labels[i])) ++t;
    ASSERT_LT(t, truth.labels.size());
    right += (responding[i] == 1.0) == truth.responding[t];
    const double z = (change[i] - truth.change_V[t]) / se[i];
    z2 += z * z;
  }
  EXPECT_GE(static_cast<double>(right) / labels.size(), 0.95);
  // Honest errors: the RMS z of the changes against the truth near 1 (measured 1.08).
  const double rms = std::sqrt(z2 / labels.size());
  EXPECT_GT(rms, 0.6);
  EXPECT_LT(rms, 1.5);
  EXPECT_EQ(f.attr("/entry/particle_responses/change", "units"), "V");
}

TEST(KpfmOperando, BadInputIsRefusedNamingWhatIsWrong) {
  const auto pipeline = test::sourceDir() / "pipelines" / "kpfm-sims-operando.yaml";
  test::TempDir out;
  // Four states of charge for five frames.
  const auto r = test::runIonmap({"run", pipeline.string(), "--set", "operando.soc=[0, 25, 50, 75]",
                                  "--out", out.path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("5 frames but 4 states of charge"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out / "results.h5"));
  spm::OperandoOptions o;
  o.soc = {50, 50};
  std::string why;
  EXPECT_FALSE(o.IsValid(&why));
  EXPECT_NE(why.find("must not all be the same"), std::string::npos) << why;
  // The fraction of white noise's variance that linear interpolation keeps.
  EXPECT_DOUBLE_EQ(spm::interpolatedNoiseVariance(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(spm::interpolatedNoiseVariance(0.5, 0.5), 0.25);
  EXPECT_DOUBLE_EQ(spm::interpolatedNoiseVariance(-1.5, 2), 0.5);
}

}  // namespace
}  // namespace ionmap
