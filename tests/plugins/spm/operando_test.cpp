// Operando KPFM (kpfm-operando) on the bundled series: drift recovered within 0.2 px, every
// particle classified as the truth says (≥ 95 % required), potential changes within their
// errors, the correlation with the lithium change found; bad input refused.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "../../h5_util.hpp"
#include "../../pipeline_runner.hpp"
#include "../../test_util.hpp"
#include "ionmap/io/tiff.hpp"
#include "ionmap/numerics/resample.hpp"
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
  for (const char* name :
       {"kpfm_frames.tif", "lithium.tif", "particles.tif", "phases.tif", "truth.yaml"})
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

  // Phases: every particle's phase as the truth says; per phase, the responding count and mean
  // change of the particles the truth puts there (no electrolyte particle responds).
  const auto phase = f.numbers("/entry/particle_responses/phase");
  int truth_responding[3] = {0, 0, 0}, truth_particles[3] = {0, 0, 0};
  double truth_change[3] = {0, 0, 0};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::size_t t = 0;
    while (truth.labels[t] != static_cast<int>(labels[i])) ++t;
    EXPECT_EQ(static_cast<int>(phase[i]), truth.phase[t]) << "particle " << labels[i];
    ++truth_particles[truth.phase[t]];
    truth_responding[truth.phase[t]] += truth.responding[t];
    truth_change[truth.phase[t]] += truth.change_V[t];
  }
  const auto ph = f.numbers("/entry/phase_summary/phase");
  const auto n = f.numbers("/entry/phase_summary/particles");
  const auto resp = f.numbers("/entry/phase_summary/responding");
  const auto mean = f.numbers("/entry/phase_summary/mean_change");
  const auto mean_se = f.numbers("/entry/phase_summary/mean_change_standard_error");
  const auto lo = f.numbers("/entry/phase_summary/responding_fraction_lo");
  const auto hi = f.numbers("/entry/phase_summary/responding_fraction_hi");
  ASSERT_EQ(ph.size(), 2u);
  EXPECT_EQ(f.texts("/entry/phase_summary/name"),
            (std::vector<std::string>{"electrolyte", "active material"}));
  for (std::size_t k = 0; k < 2; ++k) {
    const int at = static_cast<int>(ph[k]);
    EXPECT_EQ(n[k], truth_particles[at]);
    EXPECT_NEAR(resp[k], truth_responding[at], 1.0);
    // The truth's mean over the same particles lies within 3 standard errors (the errors are
    // the spread of the particles, far above each particle's own).
    EXPECT_LT(std::abs(mean[k] - truth_change[at] / truth_particles[at]), 3 * mean_se[k] + 1e-3);
    EXPECT_LE(lo[k], resp[k] / n[k]);
    EXPECT_GE(hi[k], resp[k] / n[k]);
  }
  EXPECT_EQ(resp[0], 0.0);  // electrolyte
  EXPECT_GT(resp[1], 0.6 * n[1]);
  for (const char* png : {"operando-changes.png", "operando-traces.png", "operando-dv-dli.png"})
    EXPECT_GT(std::filesystem::file_size(out / png), 5000u) << png;
}

// Lithium maps recorded on their own grid (shifted by 0.35, -0.2 um against the first KPFM
// frame) and brought onto it through a bound transform give the same lithium changes as the
// maps already in place.
TEST(KpfmOperando, LithiumMapsAreBroughtOntoTheFrameThroughATransform) {
  test::TempDir dir;
  const auto sample = operandoSample();
  std::vector<Map> pages;
  for (const auto& p : tiff::readAll(sample / "lithium.tif")) {
    Map m("Li", Grid{}, "counts");
    m.grid.width = p.values.width(), m.grid.height = p.values.height();
    m.grid.pixel_x = m.grid.pixel_y = 0.1;
    m.values = p.values;
    m.mask = Image<std::uint8_t>(m.width(), m.height(), 1);
    pages.push_back(
        resampleMap(m, m.grid, Transform2D::translation(0.35, -0.2), Interpolation::kLinear));
  }
  std::vector<tiff::WritePage> w;
  for (auto& p : pages) {
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      if (!p.mask[i]) p.values[i] = 0;  // outside the shifted field (such particles are skipped)
    }
    w.push_back({&p.values, "Li"});
  }
  tiff::write(dir / "shifted.tif", w, tiff::SampleType::kFloat32, 0.1, 0.1);
  test::writeFile(dir / "t.yaml", Transform2D::translation(-0.35, 0.2).toYaml());
  auto yaml = [&](bool shifted) {
    std::string y =
        "version: 1\ninputs: {frames: " + (sample / "kpfm_frames.tif").string() +
        ", particles: " + (sample / "particles.tif").string() +
        ", lithium: " + (shifted ? (dir / "shifted.tif") : (sample / "lithium.tif")).string() +
        ", t: " + (dir / "t.yaml").string() + "}\nstages:\n" +
        "  - {stage: read, in: {file: particles}, params: {as: labels}, out: {labels: p}}\n";
    if (shifted)
      y += "  - {stage: read, id: rt, in: {file: t}, params: {as: transform}, out: {transform: "
           "t}}\n";
    y += "  - {stage: kpfm-operando, params: {soc: [0, 25, 50, 75, 100], unit: V, plot: ''}, in: "
         "{frames: frames, particles: p, lithium: lithium" +
         std::string(shifted ? ", lithium_transform: t" : "") + "}, out: {responses: r}}\n";
    return y;
  };
  test::runYaml(yaml(false), dir.path(), dir / "direct");
  test::runYaml(yaml(true), dir.path(), dir / "moved");
  test::H5File a((dir / "direct" / "results.h5").string()),
      b((dir / "moved" / "results.h5").string());
  const auto la = a.numbers("/entry/r/label"), lb = b.numbers("/entry/r/label");
  const auto ca = a.numbers("/entry/r/lithium_change"), cb = b.numbers("/entry/r/lithium_change");
  const auto ea = a.numbers("/entry/r/lithium_change_standard_error");
  // Particles within 5 px of the field's edge see the shifted maps' missing border: skipped.
  const Image<double> labels = tiff::readAll(sample / "particles.tif").front().values;
  std::set<double> border;
  for (int y = 0; y < labels.height(); ++y) {
    for (int x = 0; x < labels.width(); ++x) {
      if (x < 5 || y < 5 || x >= labels.width() - 5 || y >= labels.height() - 5)
        border.insert(labels(x, y));
    }
  }
  std::size_t compared = 0;
  for (std::size_t i = 0; i < la.size(); ++i) {
    for (std::size_t j = 0; j < lb.size(); ++j) {
      if (la[i] != lb[j] || border.count(la[i])) continue;
      EXPECT_LT(std::abs(ca[i] - cb[j]), 4 * ea[i]) << "particle " << la[i];
      ++compared;
    }
  }
  EXPECT_GE(compared, 15u);
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
  // A phase name left empty; a phase map on another grid than the particles.
  const auto e =
      test::runIonmap({"run", pipeline.string(), "--set",
                       "operando.phase_names=electrolyte,,active", "--out", out.path().string()});
  EXPECT_EQ(e.exit_code, 2) << e.err;
  EXPECT_NE(e.err.find("empty name"), std::string::npos) << e.err;
  Grid g;
  g.width = g.height = 16;
  LabelMap particles("particles", g), wrong("phases", Grid{8, 8});
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) particles.labels(x, y) = 1;
  }
  std::vector<Map> frames(2, Map("potential", g, "V"));
  spm::OperandoOptions two;
  two.soc = {0, 100};
  try {
    spm::particleResponses(frames, particles, {}, two, {}, &wrong);
    ADD_FAILURE() << "a phase map of another size was taken";
  } catch (const ProcessingError& err) {
    EXPECT_NE(std::string(err.what()).find("phase map is 8 x 8"), std::string::npos) << err.what();
  }
  // The fraction of white noise's variance that linear interpolation keeps.
  EXPECT_DOUBLE_EQ(spm::interpolatedNoiseVariance(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(spm::interpolatedNoiseVariance(0.5, 0.5), 0.25);
  EXPECT_DOUBLE_EQ(spm::interpolatedNoiseVariance(-1.5, 2), 0.5);
}

}  // namespace
}  // namespace ionmap
