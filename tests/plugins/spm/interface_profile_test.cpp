// Interface profiles (kpfm-profile): the fit on exact profiles, the bundled cross-section sample
// through its pipeline, and the errors a user meets (a height channel where a potential is
// expected, bad options).
#include <gtest/gtest.h>

#include <cmath>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "spm/interface_profile.hpp"
#include "spm/potential.hpp"

namespace ionmap {
namespace {

using spm::BandProfile;
using spm::InterfaceFitOptions;
using spm::InterfaceModel;

// A noise-free profile of two blurred steps on a slope, sampled every 0.05 um.
BandProfile twoSteps() {
  BandProfile p;
  p.unit = "V";
  for (int i = 0; i < 200; ++i) {
    const double s = (i + 0.5) * 0.05;
    const auto step = [&](double at, double w) {
      return 0.5 * std::erfc(-(s - at) / (w * M_SQRT2));
    };
    p.s.push_back(s);
    p.value.push_back(0.1 + 0.01 * s + 0.3 * step(3.0, 0.08) - 0.2 * step(7.0, 0.12));
    p.se.push_back(0.001);
    p.pixels.push_back(10);
  }
  return p;
}

TEST(InterfaceProfile, TwoInterfacesAreFittedTogether) {
  InterfaceFitOptions o;
  o.interfaces = 2;
  const auto f = spm::fitInterfaces(twoSteps(), InterfaceModel::kBlurredStep, o);
  EXPECT_TRUE(f.converged);
  EXPECT_NEAR(f.value("dV_1").value, 0.3, 1e-6);
  EXPECT_NEAR(f.value("position_1").value, 3.0, 1e-6);
  EXPECT_NEAR(f.value("width_1").value, 0.08, 1e-6);
  EXPECT_NEAR(f.value("dV_2").value, -0.2, 1e-6);
  EXPECT_NEAR(f.value("position_2").value, 7.0, 1e-6);
  EXPECT_NEAR(f.value("slope").value, 0.01, 1e-7);
  EXPECT_EQ(f.value("slope").unit, "V/um");
  EXPECT_LT(f.reduced_chi2, 1e-6);
  // The space-charge model describes it worse, and the criteria say so.
  const auto g = spm::fitInterfaces(twoSteps(), InterfaceModel::kSpaceCharge, o);
  EXPECT_GT(g.bic, f.bic);
}

TEST(InterfaceProfile, BadOptionsAndNonPotentialMapsAreRefused) {
  InterfaceFitOptions o;
  o.interfaces = 2;
  o.initial_positions_um = {1.0};
  std::string why;
  EXPECT_FALSE(o.IsValid(&why));
  EXPECT_NE(why.find("one starting position per interface"), std::string::npos) << why;
  EXPECT_THROW(spm::fitInterfaces(twoSteps(), InterfaceModel::kBlurredStep, o), UsageError);
  Grid g;
  g.width = 4, g.height = 3;
  Map height("Height", g, "m");
  try {
    spm::requirePotential(height);
    FAIL() << "a height map was taken for a potential";
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("'Height' is in 'm', not a potential"), std::string::npos)
        << e.what();
  }
  spm::requirePotential(Map("Potential", g, "mV"));
}

// kpfm-potential: the sign turned and the reference region's mean at zero, with its error.
TEST(KpfmPotential, SignAndReferenceRegion) {
  Grid g;
  g.width = 4, g.height = 2;
  Map cpd("CPD", g, "V");
  for (int x = 0; x < 4; ++x) cpd.values(x, 0) = 0.5 + 0.1 * x, cpd.values(x, 1) = 0.7 + 0.1 * x;
  Image<std::uint8_t> region(4, 2, 0);
  region(0, 0) = region(0, 1) = 1;  // the electrode on the left: 0.5 and 0.7
  const auto r = spm::referencePotential(cpd, true, &region);
  EXPECT_NEAR(r.reference, -0.6, 1e-12);
  EXPECT_NEAR(r.reference_error, 0.1, 1e-12);  // sd 0.1414 / sqrt(2)
  EXPECT_EQ(r.reference_pixels, 2u);
  EXPECT_NEAR(r.map.values(3, 0), -0.8 + 0.6, 1e-12);
  EXPECT_NEAR(r.map.values(0, 1), -0.7 + 0.6, 1e-12);
  Image<std::uint8_t> wrong(3, 2, 1);
  EXPECT_THROW(spm::referencePotential(cpd, false, &wrong), ProcessingError);
}

std::filesystem::path kpfmSample() {
  return test::sourceDir() / "data" / "samples" / "kpfm";
}

TEST(KpfmPipeline, CommittedSampleIsWhatSimulateWrites) {
  test::TempDir out;
  const auto r = test::runIonmap({"simulate", "kpfm-cross-section", "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"cross_section.gwy", "cross_section.tif", "truth.yaml"})
    EXPECT_EQ(test::readFile(out / name), test::readFile(kpfmSample() / name)) << name;
}

// The bundled cross-section (dV 0.35 V at 3.5 um on 0.02 V/um, tip sigma 0.08 um, with tilt,
// row offsets, scars and noise) through pipelines/kpfm-interface-profile.yaml: the blurred step
// is preferred and its values lie within 3 of their standard errors of the truth.
TEST(KpfmPipeline, TheBundledCrossSectionIsRecoveredWithinItsErrors) {
  test::TempDir out;
  const auto pipeline = test::sourceDir() / "pipelines" / "kpfm-interface-profile.yaml";
  const auto r = test::runIonmap({"run", pipeline.string(), "--out", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::H5File f((out / "results.h5").string());
  const double width = std::sqrt(0.08 * 0.08 + 0.05 * 0.05 / 12);
  const std::pair<const char*, double> truth[] = {
      {"step_dV", 0.35}, {"step_position", 3.5}, {"step_width", width}, {"step_slope", 0.02}};
  for (const auto& [name, value] : truth) {
    const std::string at = std::string("/entry/interface_fit/") + name;
    const double est = f.numbers(at)[0], se = f.numbers(at + "_errors")[0];
    EXPECT_LT(std::abs(est - value), 3 * se) << name << " " << est << " +- " << se;
    EXPECT_LT(se, 0.01 * std::abs(value)) << name;  // and the errors are informative
  }
  EXPECT_EQ(f.attr("/entry/interface_fit/step_dV", "units"), "V");
  EXPECT_EQ(f.attr("/entry/interface_fit/step_slope", "units"), "V/um");
  EXPECT_EQ(f.numbers("/entry/interface_fit/step_preferred")[0], 1.0);
  // The interface was found on the height channel on every scan line, straight across x.
  const auto found = f.numbers("/entry/interface_line/found");
  const auto used = f.numbers("/entry/interface_line/used");
  ASSERT_EQ(found.size(), 64u);
  for (std::size_t i = 0; i < found.size(); ++i) {
    EXPECT_NEAR(found[i], 3.5, 0.05) << "scan line " << i;
    EXPECT_EQ(used[i], 1.0);
  }
  EXPECT_EQ(f.attr("/entry/interface_line/found", "units"), "um");
  for (const char* png : {"interface-profile-fits.png", "interface-profile-map.png"})
    EXPECT_GT(std::filesystem::file_size(out / png), 5000u) << png;

  // A line of one's own and a detected interface at once: refused before any work.
  test::TempDir both;
  const auto b = test::runIonmap(
      {"run", pipeline.string(), "--set", "profile.line=[0,1,8,1]", "--out", both.path().string()});
  EXPECT_EQ(b.exit_code, 2) << b.err;
  EXPECT_NE(b.err.find("either `line` or `detect`"), std::string::npos) << b.err;

  // The height channel bound where the potential belongs: exit 1, named, nothing written.
  test::TempDir wrong;
  const auto h = test::runIonmap({"run", pipeline.string(), "--set", "read-kpfm.channel=Height",
                                  "--out", wrong.path().string()});
  EXPECT_EQ(h.exit_code, 1) << h.err;
  EXPECT_NE(h.err.find("not a potential"), std::string::npos) << h.err;
  EXPECT_FALSE(std::filesystem::exists(wrong / "results.h5"));
}

}  // namespace
}  // namespace ionmap
