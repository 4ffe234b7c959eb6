#include "ionmap/core/transform2d.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/grid.hpp"

namespace ionmap {
namespace {

constexpr double kTol = 1e-12;

TEST(Transform2D, SimilarityMapsPointsAsRotationScaleThenShift) {
  const auto t = Transform2D::similarity(2.0, M_PI / 2, 1.0, -3.0);
  const Point2 p = t.apply({1.0, 0.0});  // (1,0) → rotate 90° → (0,1) → ×2 → (0,2) → shift
  EXPECT_NEAR(p.x, 1.0, kTol);
  EXPECT_NEAR(p.y, -1.0, kTol);
}

TEST(Transform2D, InverseUndoesTheTransform) {
  const auto t = Transform2D::fromMatrix({1.3, 0.2, 5.0, -0.4, 0.9, -2.0});
  const Point2 p{3.7, -8.1};
  const Point2 q = t.inverse().apply(t.apply(p));
  EXPECT_NEAR(q.x, p.x, 1e-12);
  EXPECT_NEAR(q.y, p.y, 1e-12);
}

TEST(Transform2D, AfterComposesRightToLeft) {
  const auto a = Transform2D::translation(10, 0);
  const auto b = Transform2D::rigid(M_PI, 0, 0);
  const Point2 p = b.after(a).apply({1, 1});  // translate first: (11, 1), then rotate: (-11, -1)
  EXPECT_NEAR(p.x, -11, kTol);
  EXPECT_NEAR(p.y, -1, kTol);
  EXPECT_EQ(b.after(a).kind(), Transform2D::Kind::kRigid);
}

TEST(Transform2D, SingularTransformRefusesInversion) {
  const auto t = Transform2D::fromMatrix({1, 2, 0, 2, 4, 0});
  EXPECT_THROW(t.inverse(), ProcessingError);
}

TEST(Transform2D, KindNamesRoundTripAndUnknownNamesAreUsageErrors) {
  EXPECT_EQ(Transform2D::kindFromName("similarity"), Transform2D::Kind::kSimilarity);
  EXPECT_THROW(Transform2D::kindFromName("projective"), UsageError);
}

TEST(Grid, PixelCentresFollowOriginPixelSizeAndRotation) {
  Grid g;
  g.width = 10;
  g.height = 5;
  g.pixel_x = 0.5;
  g.pixel_y = 0.25;
  g.origin_x = 100;
  g.origin_y = 200;
  Point2 c = g.centre(0, 0);
  EXPECT_NEAR(c.x, 100.25, kTol);
  EXPECT_NEAR(c.y, 200.125, kTol);
  g.rotation = M_PI / 2;  // +x of the grid points along +y of the frame
  c = g.centre(2, 0);     // local (1.25, 0.125)
  EXPECT_NEAR(c.x, 100 - 0.125, kTol);
  EXPECT_NEAR(c.y, 200 + 1.25, kTol);
  const Point2 back = g.physicalToPixel().apply(c);
  EXPECT_NEAR(back.x, 2, 1e-9);
  EXPECT_NEAR(back.y, 0, 1e-9);
}

TEST(Grid, CheckRejectsNonPositivePixelSizes) {
  Grid g;
  g.width = g.height = 4;
  g.pixel_x = 0;
  EXPECT_THROW(g.check("test"), UsageError);
}

}  // namespace
}  // namespace ionmap
