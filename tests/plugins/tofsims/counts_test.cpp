// Count-map algorithms against analytic results and simulated detectors.
#include "tofsims/counts.hpp"
#include "tofsims/spectra.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/random.hpp"

namespace ionmap {
namespace {

using namespace tofsims;

Map uniform(int w, int h, double v, double px = 1.0) {
  Grid g;
  g.width = w;
  g.height = h;
  g.pixel_x = g.pixel_y = px;
  Map m("c", g, "counts");
  for (auto& x : m.values.values()) x = v;
  return m;
}

// A TDC that records at most one count per shot, with 0.5 ions per shot on average: 39 % of
// the ions are lost. The correction must bring the counts back within 1 %.
TEST(DeadTime, RecoversTheTrueCountsOfASaturatedDetectorWithin1Percent) {
  SplitMix64 rng(42);
  const int shots = 4000;
  const double mu = 0.5;
  Map recorded = uniform(20, 20, 0);
  double true_total = 0;
  for (auto& v : recorded.values.values()) {
    int n = 0;
    for (int k = 0; k < shots; ++k) {
      const int arrivals = rng.poisson(mu);
      true_total += arrivals;
      n += arrivals > 0;
    }
    v = n;
  }
  const DeadTimeResult r = correctDeadTime(recorded, shots);
  double recorded_total = 0, corrected_total = 0;
  for (std::size_t i = 0; i < recorded.values.size(); ++i) {
    recorded_total += recorded.values[i];
    corrected_total += r.corrected.values[i];
  }
  EXPECT_LT(recorded_total / true_total, 0.80);  // the loss is real
  EXPECT_NEAR(corrected_total / true_total, 1.0, 0.01);
  // Per-pixel scatter matches the stated variance n_s (e^λ − 1).
  double chi2 = 0;
  const double mean = true_total / recorded.values.size();
  for (std::size_t i = 0; i < recorded.values.size(); ++i) {
    chi2 += std::pow(r.corrected.values[i] - mean, 2) / r.variance.values[i];
  }
  EXPECT_NEAR(chi2 / recorded.values.size(), 1.0, 0.2);
  EXPECT_EQ(r.saturated, 0u);
}

TEST(DeadTime, SaturatedPixelsAreMaskedAndMissingShotsRefused) {
  Map m = uniform(2, 1, 10);
  m.values[1] = 10;
  const DeadTimeResult r = correctDeadTime(m, 10);
  EXPECT_EQ(r.saturated, 2u);
  EXPECT_EQ(r.corrected.countValid(), 0u);
  EXPECT_THROW(correctDeadTime(m, 0), UsageError);
}

TEST(DeadTime, ChannelFormMatchesStephanEtAl) {
  // k = 1 dead channel: channel i sees n_s − N(i−1) live shots.
  const std::vector<double> n{100, 50, 0, 10};
  const auto c = correctDeadTimeChannels(n, 1000, 1);
  EXPECT_NEAR(c[0], -1000 * std::log(1 - 100.0 / 1000), 1e-9);
  EXPECT_NEAR(c[1], -1000 * std::log(1 - 50.0 / 900), 1e-9);
  EXPECT_NEAR(c[3], -1000 * std::log(1 - 10.0 / 1000), 1e-9);
  // k = 0 is the integrated form.
  EXPECT_NEAR(correctDeadTimeChannels(n, 1000, 0)[1], -1000 * std::log(1 - 0.05), 1e-9);
  EXPECT_TRUE(std::isnan(correctDeadTimeChannels({5, 1000}, 1000, 1)[1]));
}

TEST(Binning, SumsBlocksAndScalesThePixelSize) {
  Map m = uniform(5, 4, 1, 0.5);
  m.values(0, 0) = 10;
  const Map b = binCounts(m, 2);
  EXPECT_EQ(b.width(), 2);
  EXPECT_EQ(b.height(), 2);
  EXPECT_DOUBLE_EQ(b.grid.pixel_x, 1.0);
  EXPECT_DOUBLE_EQ(b.values(0, 0), 13);
  EXPECT_DOUBLE_EQ(b.values(1, 1), 4);
}

// Smoothed Poisson counts, rescaled to effective counts, must again have variance = mean.
TEST(Smoothing, EffectiveCountsKeepPoissonStatistics) {
  SplitMix64 rng(7);
  Map m = uniform(120, 120, 0);
  for (auto& v : m.values.values()) {
    int n = 0;
    for (int k = 0; k < 50; ++k) n += rng.poisson(1.0);  // Poisson(50)
    v = n;
  }
  const Map s = smoothCounts(m, 2.0);
  double sum = 0, sum2 = 0;
  int n = 0;
  for (int y = 10; y < 110; ++y) {
    for (int x = 10; x < 110; ++x)
      sum += s.values(x, y), sum2 += s.values(x, y) * s.values(x, y), ++n;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Independent pixels are ~ (100 / (2·sqrt(π)·2))² ≈ 200 per axis; the ratio is ~10 % noisy.
  EXPECT_NEAR(var / mean, 1.0, 0.25);
  EXPECT_GT(mean, 50 * 10);  // effective counts gather many pixels' worth of counts
}

TEST(Fraction, PoissonSigmaAndKnownRatio) {
  const Map a = uniform(3, 1, 300), b = uniform(3, 1, 700);
  const FractionResult r = isotopeFraction(a, b, nullptr, nullptr, {});
  EXPECT_DOUBLE_EQ(r.fraction.values[0], 0.3);
  EXPECT_NEAR(r.sigma.values[0], std::sqrt(0.3 * 0.7 / 1000), 1e-15);
  // σ_f ≈ 0.0084 at N = 1000 and f = 0.0759 is quoted in PHYSICS.md.
  const FractionResult nat =
      isotopeFraction(uniform(1, 1, 75.9), uniform(1, 1, 924.1), nullptr, nullptr, {});
  EXPECT_NEAR(nat.sigma.values[0], 0.0084, 0.0001);
}

TEST(Fraction, LowCountPixelsAreMaskedAndCounted) {
  Map a = uniform(2, 1, 5), b = uniform(2, 1, 5);
  a.values[1] = 500;
  FractionOptions o;
  o.min_counts = 20;
  const FractionResult r = isotopeFraction(a, b, nullptr, nullptr, o);
  EXPECT_EQ(r.low_count_pixels, 1u);
  EXPECT_EQ(r.fraction.mask[0], 0);
  EXPECT_EQ(r.fraction.mask[1], 1);
}

TEST(Fraction, MassFractionationFromANaturalReferenceIsRemoved) {
  // The instrument sees 6Li 3 % too strongly: measured ratio = 1.03 R.
  const double k = 1.03;
  Map a = uniform(4, 1, 0), b = uniform(4, 1, 10000);
  a.values = Image<double>(4, 1, 10000 * kNaturalRatio * k);
  a.values[3] = 10000 * k;  // an exchanged pixel with true ratio 1
  Image<std::uint8_t> region(4, 1, 1);
  region[3] = 0;
  FractionOptions o;
  o.fractionation = massFractionation(a, b, region, kNaturalRatio);
  EXPECT_NEAR(o.fractionation, k, 1e-12);
  const FractionResult r = isotopeFraction(a, b, nullptr, nullptr, o);
  EXPECT_NEAR(r.fraction.values[0], kNaturalFraction, 1e-4);
  EXPECT_NEAR(r.fraction.values[3], 0.5, 1e-12);
}

TEST(Profile, SumsCountsPerDistanceBinAlongTheDirection) {
  Map a = uniform(4, 2, 0, 1.0), b = uniform(4, 2, 100, 1.0);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 4; ++x) a.values(x, y) = 100.0 * (3 - x) + y;  // decreasing along +x
  }
  ProfileOptions o;
  o.bin_um = 2.0;
  const Table t = fractionProfile(a, b, o);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_DOUBLE_EQ(t.column("distance").numbers[0], 1.0);
  const double l0 = 300 + 301 + 200 + 201;
  EXPECT_DOUBLE_EQ(t.column("f").numbers[0], l0 / (l0 + 400));
  EXPECT_DOUBLE_EQ(t.column("pixels").numbers[1], 4);
  o.angle_deg = 90;  // along +y: two bins of one row each... with 2 µm bins, one bin
  EXPECT_EQ(fractionProfile(a, b, o).rows(), 1u);
  o.roi = {0, 0, 1};
  EXPECT_THROW(fractionProfile(a, b, o), UsageError);
}

// One check per options struct, the same sentence in preflight and in the algorithm.
TEST(Options, EachOptionsStructSaysWhatIsWrongWithIt) {
  std::string why;
  ProfileOptions p;
  EXPECT_TRUE(p.IsValid(&why)) << why;
  p.roi = {4, 0, 1, 2};  // x1 < x0
  EXPECT_FALSE(p.IsValid(&why));
  EXPECT_NE(why.find("x1 > x0"), std::string::npos) << why;
  p.roi.clear();
  p.bin_um = 0;
  EXPECT_FALSE(p.IsValid(&why));
  EXPECT_NE(why.find("bin width"), std::string::npos) << why;
  FractionOptions f;
  EXPECT_TRUE(f.IsValid(&why)) << why;
  f.fractionation = 0;
  EXPECT_FALSE(f.IsValid(&why));
  EXPECT_NE(why.find("K must be > 0"), std::string::npos) << why;
  const Map a = uniform(2, 2, 10, 1.0);
  EXPECT_THROW(isotopeFraction(a, a, nullptr, nullptr, f), UsageError);
  EXPECT_FALSE(canNormalise(0.3, 0.3, &why));
  EXPECT_NE(why.find("must differ"), std::string::npos) << why;
  EXPECT_TRUE(canNormalise(0.0759, 0.95, &why));
}

}  // namespace
}  // namespace ionmap
