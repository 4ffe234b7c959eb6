// Row alignment by the median of differences, and scar repair, against known maps.
#include <gtest/gtest.h>

#include <cmath>

#include "ionmap/numerics/random.hpp"
#include "ionmap/numerics/scars.hpp"
#include "ionmap/numerics/surface_fit.hpp"

namespace ionmap {
namespace {

// A background that varies along x, a feature over the left 30 % of rows 10-40, and an offset
// per row: the median of differences recovers the offsets exactly; each row's median does not
// (the feature moves the median of the rows it covers).
TEST(RowAlignment, MedianOfDifferencesIsUnmovedByWhatTheRowsContain) {
  Grid g;
  g.width = 100, g.height = 60;
  Map truth("t", g, "V"), measured("m", g, "V");
  SplitMix64 rng(4);
  std::vector<double> offset(g.height);
  for (auto& o : offset) o = 0.2 * rng.gauss();
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      truth.values(x, y) = 0.01 * x + ((y >= 10 && y <= 40 && x < 30) ? 0.5 : 0.0);
      measured.values(x, y) = truth.values(x, y) + offset[y];
    }
  }
  const auto off = rowDifferenceOffsets(measured);
  const auto med = rowMedians(measured);
  double worst_diff = 0, worst_median = 0;
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      // Both methods leave an overall constant: compare with the first row's result.
      const double a = measured.values(x, y) - off[y] - (measured.values(0, 0) - off[0]);
      const double b = measured.values(x, y) - med[y] - (measured.values(0, 0) - med[0]);
      const double t = truth.values(x, y) - truth.values(0, 0);
      worst_diff = std::max(worst_diff, std::abs(a - t));
      worst_median = std::max(worst_median, std::abs(b - t));
    }
  }
  EXPECT_LT(worst_diff, 1e-12);
  EXPECT_GT(worst_median, 0.1);  // the feature's rows are pulled by their changed median
  int unmatched = -1;
  rowDifferenceOffsets(measured, &unmatched);
  EXPECT_EQ(unmatched, 0);
}

// Three scars of +0.1 (20 px) on 10 mV noise, and one isolated spike: the scars are repaired
// to the mean of their neighbours, the spike (shorter than min_length) is left, and nothing
// else is touched.
TEST(Scars, ScarsAreRepairedAndNothingElse) {
  Grid g;
  g.width = 120, g.height = 50;
  Map m("m", g, "V");
  SplitMix64 rng(9);
  for (auto& v : m.values.values()) v = 0.01 * rng.gauss();
  const Map clean = m;
  const int rows[3] = {7, 21, 40}, starts[3] = {5, 60, 90};
  for (int k = 0; k < 3; ++k) {
    for (int x = starts[k]; x < starts[k] + 20; ++x) m.values(x, rows[k]) += 0.1;
  }
  m.values(50, 30) += 0.2;  // a spike, not a scar
  const ScarRepair r = repairScars(m, 4, 8);
  EXPECT_EQ(r.scars, 3);
  EXPECT_NEAR(r.difference_sigma, 0.01 * std::sqrt(2.0), 0.002);
  std::size_t inside = 0, outside = 0;
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) {
      bool scar = false;
      for (int k = 0; k < 3; ++k)
        scar = scar || (y == rows[k] && x >= starts[k] && x < starts[k] + 20);
      (scar ? inside : outside) += r.repaired(x, y);
      if (scar && r.repaired(x, y)) {
        EXPECT_NEAR(m.values(x, y), 0.5 * (clean.values(x, y - 1) + clean.values(x, y + 1)), 1e-12);
      }
    }
  }
  EXPECT_GE(inside, 57u);  // of 60 scar pixels: a noisy end pixel may be missed
  EXPECT_EQ(outside, 0u);
  EXPECT_EQ(m.values(50, 30), clean.values(50, 30) + 0.2);
}

// Scars two and three lines tall (+0.1 over 25 px) on 10 mV noise over a tilt along y: with
// max_width 1 none is found (each line has a scarred neighbour); with max_width 3 both are
// repaired to the line between the enclosing rows, a single-line scar still to their mean, and
// a feature four lines tall (wider than max_width) is kept.
TEST(Scars, ScarsOfSeveralLinesAreRepairedUpToTheirWidth) {
  Grid g;
  g.width = 120, g.height = 60;
  Map m("m", g, "V");
  SplitMix64 rng(12);
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) m.values(x, y) = 0.002 * y + 0.01 * rng.gauss();
  }
  const Map clean = m;
  struct Band {
    int y, rows, x;
  };
  const Band bands[] = {{10, 2, 10}, {25, 3, 60}, {40, 1, 30}, {50, 4, 80}};
  for (const Band& b : bands) {
    for (int y = b.y; y < b.y + b.rows; ++y) {
      for (int x = b.x; x < b.x + 25; ++x) m.values(x, y) += 0.1;
    }
  }
  Map narrow = m;
  const ScarRepair one = repairScars(narrow, 4, 8, 1);
  EXPECT_EQ(one.scars, 1);  // only the single line
  const ScarRepair r = repairScars(m, 4, 8, 3);
  EXPECT_EQ(r.scars, 3);
  for (const Band& b : bands) {
    std::size_t repaired = 0;
    for (int y = b.y; y < b.y + b.rows; ++y) {
      for (int x = b.x; x < b.x + 25; ++x) {
        repaired += r.repaired(x, y);
        if (!r.repaired(x, y)) continue;
        const double a = clean.values(x, b.y - 1), c = clean.values(x, b.y + b.rows);
        const double t = static_cast<double>(y - b.y + 1) / (b.rows + 1);
        EXPECT_NEAR(m.values(x, y), a + (c - a) * t, 1e-12);
      }
    }
    if (b.rows <= 3)
      EXPECT_GE(repaired, 23u * b.rows) << "band at row " << b.y;
    else
      EXPECT_EQ(repaired, 0u) << "the four-line feature was taken for a scar";
  }
  std::size_t total = 0;
  for (int y = 0; y < g.height; ++y) {
    for (int x = 0; x < g.width; ++x) total += r.repaired(x, y);
  }
  EXPECT_EQ(total, r.pixels);
  EXPECT_LE(total, 25u * 6);  // nothing outside the three bands
}

}  // namespace
}  // namespace ionmap
