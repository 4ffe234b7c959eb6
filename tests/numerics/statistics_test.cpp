#include "ionmap/numerics/statistics.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

TEST(Statistics, SummaryOfKnownValues) {
  const Summary s = summarize({4, 1, 3, 2, 5});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(s.sem, std::sqrt(2.5) / std::sqrt(5.0));
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.p05, 1.2);
  EXPECT_DOUBLE_EQ(s.p95, 4.8);
}

TEST(Statistics, EmptyInputGivesNaNNotGarbage) {
  const Summary s = summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_TRUE(std::isnan(s.mean));
}

TEST(Statistics, LargeCommonOffsetKeepsVarianceAccurate) {
  const Summary s = summarize({1e9 + 1, 1e9 + 2, 1e9 + 3});
  EXPECT_NEAR(s.std, 1.0, 1e-9);
}

TEST(Statistics, PerLabelStatisticsUseOnlyValidPixelsOfEachLabel) {
  Grid g;
  g.width = 4;
  g.height = 1;
  g.pixel_x = g.pixel_y = 2.0;
  Map m("m", g, "mV");
  m.values.values() = {1, 3, 10, 1000};
  m.mask[3] = 0;
  LabelMap l("l", g);
  l.labels.values() = {1, 1, 2, 2};
  const auto rows = summarizeByLabel(m, l);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].values.mean, 2);
  EXPECT_DOUBLE_EQ(rows[0].area_um2, 8);
  EXPECT_DOUBLE_EQ(rows[0].centroid_x, 2);  // centres at 1 and 3 µm
  EXPECT_EQ(rows[1].pixels, 2u);
  EXPECT_EQ(rows[1].values.count, 1u);
  EXPECT_DOUBLE_EQ(rows[1].values.mean, 10);
}

TEST(Statistics, PerLabelStatisticsRefuseLabelsOnAnotherGridSize) {
  Grid a, b;
  a.width = a.height = 4;
  b.width = b.height = 5;
  EXPECT_THROW(summarizeByLabel(Map("m", a, ""), LabelMap("l", b)), ProcessingError);
}

// Φ⁻¹ against tabulated values: 1.959964 at 0.975, 3.090232 at 0.999, symmetric about 0.5.
TEST(Statistics, NormalQuantileMatchesTables) {
  EXPECT_NEAR(normalQuantile(0.975), 1.959963985, 1e-8);
  EXPECT_NEAR(normalQuantile(0.999), 3.090232306, 1e-8);
  EXPECT_NEAR(normalQuantile(0.5), 0.0, 1e-12);
  EXPECT_NEAR(normalQuantile(0.025), -normalQuantile(0.975), 1e-12);
  EXPECT_THROW(normalQuantile(1.0), UsageError);
}

}  // namespace
}  // namespace ionmap
