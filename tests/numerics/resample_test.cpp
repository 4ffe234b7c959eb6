#include "ionmap/numerics/resample.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

Grid grid(int w, int h, double px, double ox = 0, double oy = 0) {
  Grid g;
  g.width = w;
  g.height = h;
  g.pixel_x = g.pixel_y = px;
  g.origin_x = ox;
  g.origin_y = oy;
  return g;
}

// A map holding f(x, y) = a + b x + c y at its pixel centres (physical µm).
Map linearMap(const Grid& g) {
  Map m("lin", g, "mV");
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      const Point2 p = g.centre(x, y);
      m.values(x, y) = 5 + 2 * p.x - 3 * p.y;
    }
  }
  return m;
}

TEST(Resample, IdentityOntoTheSameGridIsExact) {
  const Grid g = grid(20, 10, 0.5);
  Map src = linearMap(g);
  for (auto method : {Interpolation::kNearest, Interpolation::kLinear, Interpolation::kCubic}) {
    Map out = resampleMap(src, g, Transform2D(), method);
    for (std::size_t i = 0; i < out.values.size(); ++i) {
      ASSERT_NEAR(out.values[i], src.values[i], 1e-12);
      ASSERT_EQ(out.mask[i], 1);
    }
  }
}

TEST(Resample, BilinearAndBicubicReproduceALinearFieldUnderRotationAndScale) {
  // Source 0.4 µm pixels; target 0.1 µm pixels, rotated 2° and shifted, as in the sample.
  const Grid src_g = grid(64, 64, 0.4);
  const Grid dst_g = grid(200, 200, 0.1, 3.0, 4.0);
  const Transform2D t = Transform2D::rigid(2.0 * M_PI / 180, 1.5, -0.8);
  const Map src = linearMap(src_g);
  for (auto method : {Interpolation::kLinear, Interpolation::kCubic}) {
    const Map out = resampleMap(src, dst_g, t, method);
    const Transform2D inv = t.inverse();
    std::size_t checked = 0;
    for (int y = 0; y < dst_g.height; ++y) {
      for (int x = 0; x < dst_g.width; ++x) {
        if (!out.valid(x, y)) continue;
        const Point2 s = inv.apply(dst_g.centre(x, y));
        // Away from the edge, where clamping would bend the field.
        if (s.x < 1.2 || s.y < 1.2 || s.x > 24.4 || s.y > 24.4) continue;
        ASSERT_NEAR(out.values(x, y), 5 + 2 * s.x - 3 * s.y, 1e-9) << x << "," << y;
        ++checked;
      }
    }
    EXPECT_GT(checked, 30000u);
  }
}

TEST(Resample, PixelsOutsideTheSourceFieldAreMaskedNotExtrapolated) {
  const Grid src_g = grid(10, 10, 1.0);
  const Grid dst_g = grid(20, 10, 1.0);  // right half has no source
  const Map out = resampleMap(linearMap(src_g), dst_g, Transform2D(), Interpolation::kLinear);
  EXPECT_EQ(out.countValid(), 100u);
  EXPECT_EQ(out.mask(15, 5), 0);
}

TEST(Resample, InvalidSourcePixelsInvalidateTheTargetPixelsTheyTouch) {
  const Grid g = grid(10, 10, 1.0);
  Map src = linearMap(g);
  src.mask(5, 5) = 0;
  const Map shifted =
      resampleMap(src, g, Transform2D::translation(0.5, 0.0), Interpolation::kLinear);
  EXPECT_EQ(shifted.mask(5, 5), 0);  // samples between source 4.5 and 5.5 → touches (5, 5)
  EXPECT_EQ(shifted.mask(6, 5), 0);
  EXPECT_EQ(shifted.mask(7, 5), 1);
}

TEST(Resample, LabelsUseNearestNeighbourAndStayIntegers) {
  Grid g = grid(4, 4, 1.0);
  LabelMap l("l", g);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) l.labels(x, y) = x < 2 ? 1 : 7;
  }
  const LabelMap fine = resampleLabels(l, grid(8, 8, 0.5), Transform2D());
  EXPECT_EQ(fine.labels(3, 0), 1);
  EXPECT_EQ(fine.labels(4, 0), 7);
  for (auto v : fine.labels.values()) EXPECT_TRUE(v == 1 || v == 7);
}

// Majority against nearest: source pixels of 0.2 um, label 1 except a one-pixel sliver of
// label 5 at 3.4…3.6 um, a drawn boundary line (0) at 3.0…3.2 um and 0 over 5…6 um. Onto 1 um
// pixels, nearest takes the sliver at the centre of the pixel 3…4 um; majority takes label 1
// (3 votes to 1, the 0 abstains); a pixel with only 0 stays 0.
TEST(Resample, MajorityLabelsTakeTheLabelCoveringMostOfEachTargetPixel) {
  LabelMap l("l", grid(30, 3, 0.2));
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 30; ++x) l.labels(x, y) = x >= 25 ? 0 : x == 17 ? 5 : x == 15 ? 0 : 1;
  }
  const LabelMap nearest = resampleLabels(l, grid(6, 1, 1.0), Transform2D());
  const LabelMap majority = resampleLabelsMajority(l, grid(6, 1, 1.0), Transform2D());
  EXPECT_EQ(nearest.labels(3, 0), 5);
  EXPECT_EQ(majority.labels(3, 0), 1);
  EXPECT_EQ(majority.labels(2, 0), 1);
  EXPECT_EQ(majority.labels(5, 0), 0);
  // Through a transform: shifted by 1 um, the sliver's pixel moves to target pixel 2.
  const LabelMap shifted =
      resampleLabelsMajority(l, grid(6, 1, 1.0), Transform2D::translation(-1.0, 0));
  EXPECT_EQ(shifted.labels(2, 0), 1);
  EXPECT_EQ(shifted.labels(4, 0), 0);
}

TEST(Resample, UnknownInterpolationNameIsAUsageError) {
  EXPECT_THROW(interpolationFromName("lanczos"), UsageError);
}

}  // namespace
}  // namespace ionmap
