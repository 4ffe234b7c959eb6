// Per-landing analysis: exact currents and conductances on noise-free landings (the touchdown
// spike left out, the current at a potential or the plateau), verdicts for short, saturated and
// unswept landings, honest standard errors of the conductance over many noisy landings, and the
// landing grid (pitch, serpentine order, jitter, repeats, a line that is no raster).
#include <gtest/gtest.h>

#include <cmath>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/random.hpp"
#include "seccm/landing_fit.hpp"

namespace ionmap {
namespace {

using seccm::LandingFitOptions;

// A landing at (x, y): samples every 1 ms, E swept from -0.2 to 0.2 V (or held at e_held),
// I = a + g E + noise, with a 1 uA capacitive spike in the first 2 ms.
Curve landing(double x, double y, double a, double g, int n, double noise, SplitMix64& rng,
              double e_held = NAN) {
  Curve c;
  c.x = x, c.y = y;
  c.samples.assign(3, {});
  for (int k = 0; k < n; ++k) {
    const double e = std::isfinite(e_held) ? e_held : -0.2 + 0.4 * k / (n - 1);
    c.samples[0].push_back(0.001 * k);
    c.samples[1].push_back(e);
    c.samples[2].push_back(a + g * e + noise * rng.gauss() + (k < 2 ? 1e-6 : 0.0));
  }
  return c;
}

CurveSet set(std::vector<Curve> curves) {
  CurveSet s;
  s.name = "landings";
  s.channels = {{"t", "s"}, {"E", "V"}, {"I", "A"}};
  s.curves = std::move(curves);
  return s;
}

TEST(SeccmFit, CurrentsAndConductancesOfExactLandings) {
  SplitMix64 rng(1);
  const CurveSet s = set({landing(0, 0, 1e-11, 2e-9, 41, 0, rng),
                          landing(2, 0, 0, 5e-9, 41, 0, rng, 0.1),  // held: no sweep
                          landing(4, 0, 0, 1e-9, 6, 0, rng),        // 4 samples after the spike
                          landing(6, 0, 0, 1e-6, 41, 0, rng)});     // reaches 0.2 uA
  LandingFitOptions o;
  o.saturation_A = 1e-7;
  auto r = seccm::fitLandings(s, o);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_TRUE(r[0].good());
  EXPECT_EQ(r[0].samples, 36);  // 5 ms skipped
  EXPECT_NEAR(r[0].conductance, 2e-9, 1e-20);
  EXPECT_NEAR(r[0].intercept, 1e-11, 1e-22);
  EXPECT_NEAR(r[0].r2, 1.0, 1e-12);
  EXPECT_TRUE(r[1].good());
  EXPECT_TRUE(std::isnan(r[1].conductance));  // a held potential has no slope
  EXPECT_NEAR(r[1].current, 5e-10, 1e-21);
  EXPECT_FALSE(r[2].good());
  EXPECT_NE(r[2].flag.find("1 samples"), std::string::npos) << r[2].flag;
  EXPECT_EQ(r[3].flag, "current saturated");
  // The current at 0.1 V: a + 0.1 g, from the samples within 15 mV of it (0.09, 0.1, 0.11 V).
  o.potential_V = 0.1;
  o.potential_tolerance_V = 0.015;
  r = seccm::fitLandings(s, o);
  EXPECT_NEAR(r[0].current, 1e-11 + 2e-10, 1e-20);
  o.skip_s = -1;
  EXPECT_THROW(seccm::fitLandings(s, o), UsageError);
}

// 400 noisy landings: z = (G - truth)/se has mean ~0 and RMS ~1.
TEST(SeccmFit, ConductanceErrorsHoldOverManyLandings) {
  SplitMix64 rng(7);
  std::vector<Curve> curves;
  for (int k = 0; k < 400; ++k) curves.push_back(landing(k % 20, k / 20, 0, 3e-9, 30, 5e-11, rng));
  const auto r = seccm::fitLandings(set(curves), {});
  double s = 0, s2 = 0;
  for (const auto& l : r) {
    const double z = (l.conductance - 3e-9) / l.conductance_se;
    s += z, s2 += z * z;
  }
  EXPECT_LT(std::abs(s / 400), 3 / std::sqrt(400.0));
  EXPECT_NEAR(std::sqrt(s2 / 400), 1.0, 0.1);
}

// PHYSICS.md §2's example: sigma = 1e-3 S/cm under a 0.5 um contact gives R_spread = 5 MOhm;
// with a 13 MOhm pipette the landing measures 18 MOhm, and the conductivity comes back with its
// systematic error from the radius (10 %) and the pipette (1 of 5 MOhm, 20 %). On a 0.1 um
// film under a 5 um contact, R = h/(pi a^2 sigma) = 12.73 kOhm, and the radius error counts
// twice.
TEST(SeccmFit, ContactModelsGiveTheConductivityAndItsErrors) {
  SplitMix64 rng(2);
  const CurveSet s = set({landing(0, 0, 0, 1 / 18e6, 41, 0, rng),
                          landing(2, 0, 0, 0, 41, 0, rng, 0.5),      // held at 0.5 V, no current
                          landing(4, 0, 0, 1 / 10e6, 41, 0, rng)});  // below the pipette's
  auto r = seccm::fitLandings(s, {});
  seccm::ContactModel m;
  m.kind = seccm::ContactModel::Kind::kSpreading;
  m.radius_um = 0.5, m.radius_error_um = 0.05;
  m.pipette_ohm = 13e6, m.pipette_error_ohm = 1e6;
  EXPECT_EQ(seccm::resistanceAndConductivity(r, m), 1);
  EXPECT_NEAR(r[0].resistance, 18e6, 1.0);
  EXPECT_NEAR(r[0].conductivity, 1e-3, 1e-9);
  EXPECT_NEAR(r[0].conductivity_systematic_se, 1e-3 * std::sqrt(0.1 * 0.1 + 0.2 * 0.2), 1e-9);
  EXPECT_NEAR(r[0].conductivity_se, 0.0, 1e-12);  // noise-free
  EXPECT_TRUE(std::isnan(r[1].resistance));       // no current at a held potential
  EXPECT_TRUE(r[2].good());                       // a landing, just no conductivity
  EXPECT_TRUE(std::isnan(r[2].conductivity));

  const double film_r = 0.1e-4 / (M_PI * 5e-4 * 5e-4 * 1e-3);
  auto f = seccm::fitLandings(set({landing(0, 0, 0, 1 / film_r, 41, 0, rng)}), {});
  seccm::ContactModel film;
  film.kind = seccm::ContactModel::Kind::kThinFilm;
  film.radius_um = 5, film.radius_error_um = 0.25, film.film_um = 0.1;
  seccm::resistanceAndConductivity(f, film);
  EXPECT_NEAR(f[0].resistance, 12732.4, 0.1);
  EXPECT_NEAR(f[0].conductivity, 1e-3, 1e-9);
  EXPECT_NEAR(f[0].conductivity_systematic_se, 1e-3 * 2 * 0.05, 1e-9);
  film.film_um = 0;
  EXPECT_THROW(seccm::resistanceAndConductivity(f, film), UsageError);
}

TEST(SeccmFit, TheLandingGridFollowsThePositions) {
  // A 4 x 3 serpentine raster at 2 um pitch from (10, 20), positions jittered by up to 0.05 um.
  SplitMix64 rng(3);
  std::vector<double> x, y;
  for (int k = 0; k < 12; ++k) {
    const int row = k / 4, col = row % 2 ? 3 - k % 4 : k % 4;
    x.push_back(10 + 2.0 * col + 0.05 * (2 * rng.uniform() - 1));
    y.push_back(20 + 2.0 * row + 0.05 * (2 * rng.uniform() - 1));
  }
  x.push_back(x[5]), y.push_back(y[5]);  // landed twice on one point
  const auto g = seccm::landingGrid(x, y);
  EXPECT_EQ(g.grid.width, 4);
  EXPECT_EQ(g.grid.height, 3);
  EXPECT_NEAR(g.grid.pixel_x, 2.0, 0.1);
  EXPECT_NEAR(g.grid.origin_x, 9.0, 0.1);
  EXPECT_EQ(g.cell[0], 0);
  EXPECT_EQ(g.cell[4], 7);  // second row runs right to left
  EXPECT_EQ(g.cell[12], -1);
  EXPECT_EQ(g.repeated, 1);
  std::vector<seccm::LandingResult> r(13);
  for (int k = 0; k < 13; ++k) r[k].current = k;
  r[2].flag = "failed";
  const Map m = seccm::landingMap(g, r, "current", "A",
                                  [](const seccm::LandingResult& l) { return l.current; });
  EXPECT_EQ(m.values(3, 1), 4.0);
  EXPECT_FALSE(m.valid(2, 0));  // the failed landing
  EXPECT_EQ(m.countValid(), 11u);
  EXPECT_THROW(seccm::landingGrid({0, 1, 2}, {0, 0, 0}), ProcessingError);  // a line
}

}  // namespace
}  // namespace ionmap
