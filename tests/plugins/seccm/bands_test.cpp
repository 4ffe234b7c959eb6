// Bands: a plane wave in noise is found with honest errors (over 40 seeds the period's and the
// angle's z against the truth have an RMS near 1), square stripes give their period, a map
// without bands says so by its spectrum's peak ratio, and a reference's bands carried through a
// rotation turn by its angle.
#include <gtest/gtest.h>

#include <cmath>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/random.hpp"
#include "seccm/bands.hpp"

namespace ionmap {
namespace {

// 32 x 32 px at 0.4 um; bands of `period` running at `angle_deg` from +y towards +x.
Map wave(double period, double angle_deg, double noise, bool square, SplitMix64& rng) {
  Grid g;
  g.width = g.height = 32;
  g.pixel_x = g.pixel_y = 0.4;
  Map m("conductance", g, "S");
  const double a = angle_deg * M_PI / 180;
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      const double px = (x + 0.5) * 0.4, py = (y + 0.5) * 0.4;
      const double u = (px * std::cos(a) - py * std::sin(a)) / period;
      const double s = square ? (std::fmod(std::floor(2 * u), 2.0) == 0 ? 1.0 : -1.0)
                              : std::cos(2 * M_PI * u + 0.3);
      m.values(x, y) = 5 + s + noise * rng.gauss();
    }
  }
  return m;
}

TEST(SeccmBands, APlaneWaveIsFoundWithHonestErrors) {
  SplitMix64 rng(5);
  double zp2 = 0, za2 = 0;
  const int seeds = 40;
  for (int k = 0; k < seeds; ++k) {
    const double period = 2 + 2 * rng.uniform(), angle = -60 + 120 * rng.uniform();
    const seccm::Bands b = seccm::findBands(wave(period, angle, 1.0, false, rng));
    EXPECT_TRUE(b.converged);
    const double zp = (b.period_um - period) / b.period_se_um;
    double da = b.angle_deg - angle;
    if (da > 90) da -= 180;
    if (da < -90) da += 180;
    const double za = da / b.angle_se_deg;
    zp2 += zp * zp, za2 += za * za;
    EXPECT_NEAR(b.amplitude, 1.0, 5 * b.amplitude_se);
  }
  EXPECT_NEAR(std::sqrt(zp2 / seeds), 1.0, 0.35);
  EXPECT_NEAR(std::sqrt(za2 / seeds), 1.0, 0.35);
}

TEST(SeccmBands, StripesNoBandsAndOtherFrames) {
  SplitMix64 rng(9);
  const seccm::Bands s = seccm::findBands(wave(2.4, 20, 0.1, true, rng));
  EXPECT_NEAR(s.period_um, 2.4, 0.01 * 2.4);
  EXPECT_NEAR(s.angle_deg, 20, 0.5);
  EXPECT_GT(s.spectrum_peak_ratio, 100);
  // White noise: no peak stands out.
  Grid g;
  g.width = g.height = 32;
  g.pixel_x = g.pixel_y = 0.4;
  Map noise("noise", g, "S");
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) noise.values(x, y) = rng.gauss();
  }
  EXPECT_LT(seccm::findBands(noise).spectrum_peak_ratio, 15);
  // Bands measured in a reference the landing frame is rotated into by 30 deg (a rotation that
  // turns +x towards +y lowers a direction's angle from +y by 30 deg): in the landing frame they
  // run at 30 deg more, with the same period.
  const seccm::Bands in_ref = seccm::findBands(wave(2.4, 20, 0.1, false, rng));
  const seccm::Bands seen = seccm::inFrameOf(in_ref, Transform2D::rigid(30 * M_PI / 180, 1, 2));
  EXPECT_NEAR(seen.period_um, in_ref.period_um, 1e-9);
  EXPECT_NEAR(seen.angle_deg, in_ref.angle_deg + 30, 1e-6);
  Map few("few", g, "S");
  for (std::size_t i = 0; i < few.mask.size(); ++i) few.mask[i] = i < 10;
  EXPECT_THROW(seccm::findBands(few), ProcessingError);
}

}  // namespace
}  // namespace ionmap
