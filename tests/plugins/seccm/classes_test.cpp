// Landings on a reference of stripe domains of two classes ([100] and [001], 1.5 um wide each,
// 3 um period): every landing gets the class under its contact disk, boundary landings are told
// apart, the per-class means recover the truth within their intervals, the block bootstrap
// counts domains and finds the difference, and a transform between the frames is applied.
#include <gtest/gtest.h>

#include <cmath>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/random.hpp"
#include "seccm/classes.hpp"

namespace ionmap {
namespace {

LabelMap stripes() {
  Grid g;
  g.width = g.height = 240;
  g.pixel_x = g.pixel_y = 0.05;  // 12 x 12 um
  LabelMap l("classes", g);
  for (int y = 0; y < 240; ++y) {
    for (int x = 0; x < 240; ++x)
      l.labels(x, y) = static_cast<int>(std::floor(x * 0.05 / 1.5)) % 2 + 1;
  }
  return l;
}

// 24 x 24 landings at 0.5 um pitch over the same field; sigma 1e-3 S/cm on class 1 and 0.5e-3
// on class 2, each domain (stripe) offset by its own 3 %, each landing by 5 % noise.
Map landings(double dx, double dy, SplitMix64& rng) {
  Grid g;
  g.width = g.height = 24;
  g.pixel_x = g.pixel_y = 0.5;
  g.origin_x = -dx, g.origin_y = -dy;  // this frame's (0, 0) sits at (dx, dy) on the reference
  Map m("conductivity", g, "S/cm");
  std::vector<double> domain_offset(8);
  for (auto& o : domain_offset) o = 0.03 * rng.gauss();
  for (int y = 0; y < 24; ++y) {
    for (int x = 0; x < 24; ++x) {
      const double rx = g.origin_x + (x + 0.5) * 0.5 + dx;
      const int stripe = static_cast<int>(std::floor(rx / 1.5));
      const double truth = stripe % 2 == 0 ? 1e-3 : 0.5e-3;
      m.values(x, y) = truth * (1 + domain_offset[stripe] + 0.05 * rng.gauss());
    }
  }
  return m;
}

TEST(SeccmClasses, StripeDomainsAreAssignedAndCompared) {
  SplitMix64 rng(11);
  seccm::ClassOptions o;
  o.radius_um = 0.2;
  o.names = {"[100]", "[001]"};
  const Map m = landings(0.0, 0.0, rng);
  const auto l = seccm::assignClasses(m, stripes(), Transform2D(), o);
  ASSERT_EQ(l.size(), 576u);
  // Landing centres at 0.25, 0.75, 1.25, 1.75 … um: 0.25 um from a boundary at most 0.25 away.
  int pure = 0;
  for (const auto& c : l) {
    EXPECT_EQ(c.cls, static_cast<int>(std::floor(c.rx / 1.5)) % 2 + 1) << c.rx;
    pure += c.share >= o.min_share;
    EXPECT_GT(c.domain, 0);
  }
  EXPECT_GT(pure, 400);
  EXPECT_NEAR(l[1].boundary_um, 0.75, 0.06);  // x = 0.75 um: mid-stripe
  EXPECT_NEAR(l[2].boundary_um, 0.25, 0.06);  // x = 1.25 um: 0.25 from the boundary at 1.5
  const auto t = seccm::classStatistics(l, o, "S/cm");
  const auto& means = t.per_class.column("mean").numbers;
  const auto& lo = t.per_class.column("ci_lo").numbers;
  const auto& hi = t.per_class.column("ci_hi").numbers;
  ASSERT_EQ(means.size(), 2u);
  EXPECT_EQ(t.per_class.column("domains").numbers, (std::vector<double>{4, 4}));
  EXPECT_NEAR(means[0], 1e-3, 0.03e-3);
  EXPECT_NEAR(means[1], 0.5e-3, 0.015e-3);
  EXPECT_LT(lo[0], means[0]);
  EXPECT_GT(hi[0], means[0]);
  const auto& p = t.comparisons.column("block_p").numbers;
  ASSERT_EQ(p.size(), 1u);
  EXPECT_LT(p[0], 0.01);
  EXPECT_NEAR(t.comparisons.column("difference").numbers[0], 0.5e-3, 0.04e-3);
  EXPECT_LT(t.comparisons.column("welch_p").numbers[0], 1e-10);
  EXPECT_EQ(t.comparisons.column("a").texts[0], "[100]");
  // Landings near a boundary (< 1 radius) are fewer, and all bins are reported.
  EXPECT_EQ(t.by_distance.rows(), 4u);

  // The same landings recorded in a frame shifted by (0.6, 0.1) um, brought back by the
  // transform: the same classes.
  SplitMix64 rng2(11);
  const Map shifted = landings(0.6, 0.1, rng2);
  const auto l2 = seccm::assignClasses(shifted, stripes(), Transform2D::translation(0.6, 0.1), o);
  for (std::size_t k = 0; k < l2.size(); ++k) EXPECT_EQ(l2[k].cls, l[k].cls) << k;

  // Off the reference: nothing to compare.
  const auto off = seccm::assignClasses(m, stripes(), Transform2D::translation(100, 0), o);
  EXPECT_EQ(off[0].cls, 0);
  EXPECT_THROW(seccm::classStatistics(off, o, "S/cm"), ProcessingError);
}

}  // namespace
}  // namespace ionmap
