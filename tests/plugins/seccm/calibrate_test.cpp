// Contact calibration from landings on two references of known conductivity: radius and pipette
// resistance recovered with honest errors over many noisy calibrations, and the chain through
// pipelines (long CSV tables of two references and a sample → seccm-calibrate →
// seccm-analyse's `calibration` port) giving the sample's conductivity.
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include "../../h5_util.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/random.hpp"
#include "seccm/landing_fit.hpp"

namespace ionmap {
namespace {

// Resistances of n landings on a reference of conductivity sigma (S/cm) under a contact of
// radius a (um) and a pipette of rp (Ohm), each with 1 % noise.
std::vector<double> landings(double sigma, double a, double rp, int n, SplitMix64& rng) {
  std::vector<double> r;
  for (int k = 0; k < n; ++k)
    r.push_back((rp + 1 / (4 * sigma * a * 1e-4)) * (1 + 0.01 * rng.gauss()));
  return r;
}

TEST(SeccmCalibrate, RadiusAndPipetteComeBackWithHonestErrors) {
  SplitMix64 rng(8);
  double za2 = 0, zp2 = 0;
  const int runs = 300;
  for (int k = 0; k < runs; ++k) {
    const auto c = seccm::calibrateContact(landings(1e-3, 0.5, 13e6, 20, rng), 1e-3,
                                           landings(1e-2, 0.5, 13e6, 20, rng), 1e-2);
    const double za = (c.radius_um - 0.5) / c.radius_error_um;
    const double zp = (c.pipette_ohm - 13e6) / c.pipette_error_ohm;
    za2 += za * za, zp2 += zp * zp;
  }
  EXPECT_NEAR(std::sqrt(za2 / runs), 1.0, 0.15);
  EXPECT_NEAR(std::sqrt(zp2 / runs), 1.0, 0.15);
  EXPECT_THROW(seccm::calibrateContact({1e7}, 1e-3, {1e7, 2e7}, 1e-2), ProcessingError);
  EXPECT_THROW(seccm::calibrateContact({1e7, 2e7}, 1e-3, {1e7, 2e7}, 1e-3), UsageError);
  // Resistances that rise with conductivity: no positive radius.
  EXPECT_THROW(seccm::calibrateContact({1e7, 1e7}, 1e-3, {2e7, 2e7}, 1e-2), ProcessingError);
}

// A long CSV table of a 3 x 2 raster of landings at 2 um pitch, each a sweep of 11 samples
// with I = E / (rp + 1/(4 sigma a)).
std::string longTable(double sigma, double a, double rp) {
  std::string t = "point,x (um),y (um),t (s),E (V),I (A)\n";
  const double r = rp + 1 / (4 * sigma * a * 1e-4);
  for (int k = 0; k < 6; ++k) {
    for (int s = 0; s < 11; ++s) {
      const double e = 0.05 + 0.02 * s;
      t += fmt::format("{},{},{},{},{},{:.17g}\n", k, 2.0 * (k % 3), 2.0 * (k / 3), 0.01 * s, e,
                       e / r);
    }
  }
  return t;
}

TEST(SeccmCalibrate, ACalibrationFeedsTheSamplesConductivity) {
  test::TempDir dir;
  test::writeFile(dir / "a.csv", longTable(1e-3, 0.4, 8e6));
  test::writeFile(dir / "b.csv", longTable(5e-3, 0.4, 8e6));
  test::writeFile(dir / "s.csv", longTable(2e-3, 0.4, 8e6));
  std::string y = "version: 1\nname: cal\ninputs: {a: a.csv, b: b.csv, s: s.csv}\nstages:\n";
  for (const char* n : {"a", "b", "s"}) {
    y += fmt::format(
        "  - {{stage: read, id: read-{0}, in: {{file: {0}}}, params: {{as: table}}, out: {{table: "
        "t{0}}}}}\n"
        "  - {{stage: seccm-landings, id: land-{0}, params: {{x: x, y: y, potential: E, current: "
        "I, "
        "time: t, time_is_increment: false, point: point}}, in: {{table: t{0}}}, out: {{curves: "
        "c{0}}}}}\n",
        n);
  }
  y += "  - {stage: seccm-analyse, id: fit-a, params: {skip: 0}, in: {curves: ca}, "
       "out: {landings: fa, current: ia}}\n"
       "  - {stage: seccm-analyse, id: fit-b, params: {skip: 0}, in: {curves: cb}, "
       "out: {landings: fb, current: ib}}\n"
       "  - {stage: seccm-calibrate, params: {sigma_a: 1.0e-3, sigma_b: 5.0e-3}, "
       "in: {reference_a: fa, reference_b: fb}, out: {calibration: cal}}\n"
       "  - {stage: seccm-analyse, id: fit-s, params: {skip: 0, contact: spreading}, "
       "in: {curves: cs, calibration: cal}, out: {landings: fs, current: is, conductivity: "
       "sigma}}\n";
  test::writeFile(dir / "p.yaml", y);
  const auto r = test::runIonmap({"run", (dir / "p.yaml").string(), "--out", (dir / "o").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::H5File f((dir / "o" / "results.h5").string());
  EXPECT_NEAR(f.number("/entry/cal/radius"), 0.4, 1e-6);
  EXPECT_NEAR(f.number("/entry/cal/pipette_resistance"), 8e6, 1.0);
  for (double s : f.numbers("/entry/sigma/data")) EXPECT_NEAR(s, 2e-3, 1e-9);
  // Both the parameters and the port: refused before any work.
  const auto both = test::runIonmap({"run", (dir / "p.yaml").string(), "--set", "fit-s.radius=0.5",
                                     "--out", (dir / "o2").string()});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace ionmap
