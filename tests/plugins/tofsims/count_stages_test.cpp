// The count-map stages through a pipeline, as a user runs them: bin-counts (block sums, pixel
// size × b) and smooth-counts (Gaussian smoothing into effective counts that keep Poisson
// statistics), each with an exemplar and refused input.
#include <cmath>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

// A w × h count map as CSV, read with 0.5 um pixels in "counts".
template <class F>
std::string countsPipeline(const test::TempDir& dir, int w, int h, F f, const std::string& stage) {
  std::ofstream out(dir / "counts.csv");
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) out << (x ? "," : "") << fmt::format("{:.17g}", f(x, y));
    out << '\n';
  }
  return "version: 1\ninputs: {c: counts.csv}\nstages:\n"
         "  - {stage: read, in: {file: c}, params: {pixel_size: 0.5, unit: counts}, out: {map: "
         "c}}\n" +
         stage;
}

// Runs a pipeline that must be refused with error type E; returns its message and checks that
// nothing was written.
template <class E>
std::string refusal(const std::string& yaml, const test::TempDir& dir, const char* out) {
  std::string message;
  try {
    test::runYaml(yaml, dir.path(), dir / out);
    ADD_FAILURE() << "ran: " << yaml;
  } catch (const E& e) {
    message = e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / out / "results.h5"));
  return message;
}

TEST(CountStages, BinCountsSumsBlocksAndScalesThePixel) {
  test::TempDir dir;
  const auto yaml = countsPipeline(
      dir, 7, 4, [](int x, int y) { return 1.0 + x + 10.0 * y; },
      "  - {stage: bin-counts, params: {factor: 2}, in: {map: c}, out: {map: b}}\n");
  test::runYaml(yaml, dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  // 7 × 4 → 3 × 2 (the last odd column dropped); each value the sum of its 2 × 2 block.
  const auto v = f.numbers("/entry/b/data");
  ASSERT_EQ(v.size(), 6u);
  for (int by = 0; by < 2; ++by) {
    for (int bx = 0; bx < 3; ++bx) {
      double sum = 0;
      for (int j = 0; j < 2; ++j)
        for (int i = 0; i < 2; ++i) sum += 1.0 + (2 * bx + i) + 10.0 * (2 * by + j);
      EXPECT_DOUBLE_EQ(v[static_cast<std::size_t>(by * 3 + bx)], sum) << bx << ", " << by;
    }
  }
  EXPECT_EQ(f.numbers("/entry/b/pixel_size"), (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(f.attr("/entry/b/data", "units"), "counts");

  // A factor beyond the map leaves no pixel: refused with the sizes, nothing written.
  const auto too_big = countsPipeline(
      dir, 7, 4, [](int, int) { return 1.0; },
      "  - {stage: bin-counts, params: {factor: 5}, in: {map: c}, out: {map: b}}\n");
  EXPECT_NE(refusal<ProcessingError>(too_big, dir, "big").find("leaves no pixel of the 7 x 4 map"),
            std::string::npos);
  // A factor outside its range is a usage error naming the parameter.
  const auto zero = countsPipeline(
      dir, 7, 4, [](int, int) { return 1.0; },
      "  - {stage: bin-counts, params: {factor: 0}, in: {map: c}, out: {map: b}}\n");
  EXPECT_NE(refusal<UsageError>(zero, dir, "zero").find("factor"), std::string::npos);
}

// Poisson counts of mean 20 smoothed with σ = 1 um (2 pixels): away from the edges each pixel's
// effective counts are mean × N_eff with N_eff = (Σw)²/Σw² ≈ 4π·2² = 50.3 for a 2-D Gaussian
// of 2 pixels; and they keep Poisson statistics: the smoothed means scatter with variance
// mean/N_eff, within 10 % over the interior of a 300² map (correlated over ~N_eff pixels:
// ≈ 1700 independent samples, so 10 % is three standard deviations of the estimate).
TEST(CountStages, SmoothCountsGiveEffectiveCountsWithPoissonStatistics) {
  test::TempDir dir;
  constexpr int n = 300;
  std::mt19937_64 rng(7);
  std::poisson_distribution<int> poisson(20.0);
  std::vector<double> counts(n * n);
  for (double& c : counts) c = poisson(rng);
  const auto yaml = countsPipeline(
      dir, n, n, [&](int x, int y) { return counts[static_cast<std::size_t>(y * n + x)]; },
      "  - {stage: smooth-counts, params: {sigma: 1.0}, in: {map: c}, out: {map: s}}\n");
  test::runYaml(yaml, dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  const auto v = f.numbers("/entry/s/data");
  ASSERT_EQ(v.size(), static_cast<std::size_t>(n * n));
  // The kernel's own N_eff (radius 3σ = 6 pixels, as the stage cuts it).
  double sw = 0, sw2 = 0;
  for (int j = -6; j <= 6; ++j) {
    for (int i = -6; i <= 6; ++i) {
      const double w = std::exp(-0.5 * (i * i + j * j) / 4.0);
      sw += w, sw2 += w * w;
    }
  }
  const double n_eff = sw * sw / sw2;
  EXPECT_NEAR(n_eff, 4 * M_PI * 4, 0.5);
  double s = 0, s2 = 0;
  int m = 0;
  for (int y = 10; y < n - 10; ++y) {
    for (int x = 10; x < n - 10; ++x) {
      const double mean = v[static_cast<std::size_t>(y * n + x)] / n_eff;  // smoothed mean
      s += mean, s2 += mean * mean, ++m;
    }
  }
  const double mean = s / m, var = s2 / m - mean * mean;
  EXPECT_NEAR(mean, 20.0, 0.3);
  EXPECT_NEAR(var / (mean / n_eff), 1.0, 0.1) << "variance of the smoothed means";

  const auto bad = countsPipeline(
      dir, 4, 4, [](int, int) { return 1.0; },
      "  - {stage: smooth-counts, params: {sigma: 0}, in: {map: c}, out: {map: s}}\n");
  EXPECT_NE(refusal<UsageError>(bad, dir, "bad").find("sigma"), std::string::npos);
}

}  // namespace
}  // namespace ionmap
