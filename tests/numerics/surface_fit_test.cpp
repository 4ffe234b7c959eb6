#include "ionmap/numerics/surface_fit.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

Map makeMap(int w, int h, double px, double (*f)(double, double)) {
  Grid g;
  g.width = w;
  g.height = h;
  g.pixel_x = g.pixel_y = px;
  Map m("m", g, "mV");
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double u = (x + 0.5 - 0.5 * w) * px, v = (y + 0.5 - 0.5 * h) * px;
      m.values(x, y) = f(u, v);
    }
  }
  return m;
}

TEST(SurfaceFit, PlaneCoefficientsAreRecoveredInPhysicalUnits) {
  Map m = makeMap(40, 30, 0.25, [](double u, double v) { return 20 + 1.5 * u - 0.8 * v; });
  const SurfaceFit fit = fitPolynomialSurface(m, 1);
  ASSERT_EQ(fit.coefficients.size(), 3u);
  EXPECT_NEAR(fit.coefficients[0], 20, 1e-10);
  EXPECT_NEAR(fit.coefficients[1], 1.5, 1e-10);
  EXPECT_NEAR(fit.coefficients[2], -0.8, 1e-10);
  EXPECT_LT(fit.rms_residual, 1e-10);
}

TEST(SurfaceFit, QuadraticSurfaceIsRemovedExactlyIgnoringMaskedPixels) {
  Map m =
      makeMap(50, 50, 0.1, [](double u, double v) { return 3 - u * u + 0.5 * u * v + 2 * v * v; });
  for (int x = 10; x < 20; ++x) {
    m.values(x, 5) = 1e9;  // outliers, masked out
    m.mask(x, 5) = 0;
  }
  const SurfaceFit fit = fitPolynomialSurface(m, 2);
  const Image<double> s = evaluateSurface(fit, m.grid);
  double worst = 0;
  for (int y = 0; y < 50; ++y) {
    for (int x = 0; x < 50; ++x) {
      if (m.valid(x, y)) worst = std::max(worst, std::abs(s(x, y) - m.values(x, y)));
    }
  }
  EXPECT_LT(worst, 1e-9);
  EXPECT_EQ(fit.pixels_used, 2500u - 10u);
}

TEST(SurfaceFit, PixelsOnOneLineCannotDetermineAPlane) {
  Map m = makeMap(10, 10, 1.0, [](double u, double) { return u; });
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 10; ++x) m.mask(x, y) = y == 3;
  }
  EXPECT_THROW(fitPolynomialSurface(m, 1), ProcessingError);
}

TEST(SurfaceFit, RowMediansIgnoreInvalidPixels) {
  Map m = makeMap(5, 2, 1.0, [](double u, double v) { return u + 10 * v; });
  m.mask(4, 0) = 0;
  const auto med = rowMedians(m);
  EXPECT_DOUBLE_EQ(med[0], -5.0 - 0.5);  // values -7,-6,-5,-4 → median -5.5
  EXPECT_DOUBLE_EQ(med[1], 5.0);
}

}  // namespace
}  // namespace ionmap
