// Interfaces found on a map (kpfm-profile's `detect`): a tilted, bowed step is located on every
// scan line and described by its line to a fraction of a pixel, in either orientation; a map
// without an interface is refused; the profile along the found interface keeps the step as
// sharp as it is, where a profile along x smears it over the tilt.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ionmap/core/error.hpp"
#include "spm/interface_detect.hpp"
#include "spm/interface_profile.hpp"

namespace ionmap {
namespace {

using spm::Across;
using spm::DetectOptions;
using spm::InterfaceModel;

constexpr double kPixel = 0.05;  // um

// x_c(y) = 3 + tan(10°)(y − y_mid) + bow·((y − y_mid)/half)², a Gaussian-blurred step of 0.2 V
// (σ 0.08 um) across the normal, 5 mV noise; `transposed` swaps x and y.
Map tiltedStep(double bow_um, bool transposed, unsigned seed = 7) {
  const int w = 160, h = 96;
  Grid g;
  g.width = transposed ? h : w;
  g.height = transposed ? w : h;
  g.pixel_x = g.pixel_y = kPixel;
  Map m("potential", g, "V");
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.005);
  const double mid = h * kPixel / 2, tilt = std::tan(10 * M_PI / 180);
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      const double x = (c + 0.5) * kPixel, y = (r + 0.5) * kPixel, q = (y - mid) / mid;
      const double xc = 3.0 + tilt * (y - mid) + bow_um * q * q;
      const double slope = tilt + 2 * bow_um * q / mid;
      const double d = (x - xc) / std::sqrt(1 + slope * slope);
      const double v = 0.2 * 0.5 * std::erfc(-d / (0.08 * M_SQRT2)) + noise(rng);
      (transposed ? m.values(r, c) : m.values(c, r)) = v;
    }
  }
  return m;
}

TEST(InterfaceDetect, ATiltedBowedStepIsFoundOnEveryScanLine) {
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "interface across y" : "interface across x");
    DetectOptions o;
    o.order = 2;
    const auto c = spm::detectInterface(tiltedStep(0.15, transposed), o);
    EXPECT_EQ(c.across_x, !transposed);
    EXPECT_EQ(c.lines_total, 96);
    EXPECT_GE(c.lines_used, 90);
    EXPECT_NEAR(c.at(c.t_mid), 3.0, 0.2 * kPixel);
    EXPECT_NEAR(c.angleDeg(), 10.0, 0.5);
    ASSERT_EQ(c.coefficients.size(), 3u);
    EXPECT_NEAR(c.coefficients[2], 0.15, 0.3 * kPixel);
    EXPECT_LT(c.rms_residual_um, 0.5 * kPixel);
    EXPECT_GT(c.position_se_um, 0.0);
    EXPECT_LT(c.position_se_um, 0.2 * kPixel);
    EXPECT_TRUE(spm::detectionWarnings(c).empty());
    // The polyline for the quicklook runs along the interface, in physical (x, y).
    const auto pts = c.points(3);
    ASSERT_EQ(pts.size(), 3u);
    EXPECT_NEAR(transposed ? pts[1].y : pts[1].x, 3.0, 0.2 * kPixel);
  }
}

TEST(InterfaceDetect, TheProfileAlongTheInterfaceKeepsTheStepSharp) {
  const Map m = tiltedStep(0.0, false);
  DetectOptions o;
  const auto c = spm::detectInterface(m, o);
  const auto along = spm::bandProfileAlong(m, c, 100.0, kPixel / 4);
  const auto fit = spm::fitInterfaces(along, InterfaceModel::kBlurredStep, {});
  // width² = σ² + pixel²/12 (each pixel averages nothing here: values at its centre) → σ.
  EXPECT_NEAR(fit.value("width").value, 0.08, 0.006);
  EXPECT_NEAR(fit.value("dV").value, 0.2, 0.003);
  EXPECT_NEAR(fit.value("position").value, 3.0, 0.01);
  // Along x through the middle, the tilt smears the step over the rows: 4.8 um · tan 10°.
  const auto across = spm::bandProfile(m, {0, 2.4, 8.0, 2.4}, 100.0, kPixel);
  const auto smeared = spm::fitInterfaces(across, InterfaceModel::kBlurredStep, {});
  EXPECT_GT(smeared.value("width").value, 0.2);
  // The curve's own position error joins the fitted position's.
  auto with_curve = fit;
  spm::addCurvePositionError(with_curve, c);
  EXPECT_GT(with_curve.value("position").standard_error, fit.value("position").standard_error);
  EXPECT_EQ(with_curve.value("dV").standard_error, fit.value("dV").standard_error);
}

TEST(InterfaceDetect, AStrongerInterfaceIsFollowedAndNoInterfaceIsAnError) {
  // A second, weaker step at x = 6 um on the same map: the line follows the stronger one.
  Map m = tiltedStep(0.0, false);
  for (int r = 0; r < m.height(); ++r) {
    for (int c = 0; c < m.width(); ++c) m.values(c, r) += (c + 0.5) * kPixel > 6.0 ? 0.08 : 0.0;
  }
  const auto c = spm::detectInterface(m, {});
  EXPECT_NEAR(c.at(c.t_mid), 3.0, 0.2 * kPixel);

  Grid g;
  g.width = 64, g.height = 64, g.pixel_x = g.pixel_y = kPixel;
  Map flat("potential", g, "V");
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 0.01);
  for (int r = 0; r < g.height; ++r) {
    for (int c = 0; c < g.width; ++c) flat.values(c, r) = noise(rng);
  }
  try {
    spm::detectInterface(flat, {});
    ADD_FAILURE() << "a map of noise gave an interface";
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("no"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("scan lines"), std::string::npos) << e.what();
  }
  DetectOptions bad;
  bad.order = 5;
  std::string why;
  EXPECT_FALSE(bad.IsValid(&why));
  EXPECT_NE(why.find("order"), std::string::npos);
  EXPECT_THROW(spm::detectInterface(m, bad), UsageError);
  DetectOptions across_y;
  across_y.across = Across::kY;  // told the wrong direction: the step is not found along y
  EXPECT_THROW(spm::detectInterface(m, across_y), ProcessingError);
}

}  // namespace
}  // namespace ionmap
