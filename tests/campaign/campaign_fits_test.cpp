// Campaign-level statistics against known values and over many simulated campaigns: the χ²
// tail against SciPy's, the weighted line on exact data, the Arrhenius fit's and the pooled
// mean's intervals covering the truth ~95 % of the time (fixed seeds).
#include <gtest/gtest.h>

#include <cmath>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/campaign_fits.hpp"
#include "ionmap/numerics/random.hpp"

namespace ionmap::stats {
namespace {

TEST(CampaignFits, ChiSquareTailAndTQuantileAgreeWithScipy) {
  // scipy.stats.chi2.sf(x, k) and t.ppf(0.975, k).
  EXPECT_NEAR(chiSquareUpper(3.841458820694124, 1), 0.05, 1e-10);
  EXPECT_NEAR(chiSquareUpper(10, 5), 0.07523524614651217, 1e-12);
  EXPECT_NEAR(chiSquareUpper(20, 10), 0.029252688076961127, 1e-12);
  EXPECT_NEAR(chiSquareUpper(0.5, 8), 0.999866630349486, 1e-12);
  EXPECT_NEAR(chiSquareUpper(150, 100), 0.0009039320423540184, 1e-12);
  EXPECT_NEAR(studentTQuantile(0.05, 3), 3.182446305284263, 1e-8);
  EXPECT_NEAR(studentTQuantile(0.05, 30), 2.0422724563012373, 1e-8);
}

TEST(CampaignFits, WeightedLineOnExactPointsAndItsRefusals) {
  const auto f = weightedLine({1, 2, 3, 4}, {3, 5, 7, 9}, {0.1, 0.1, 0.2, 0.2});
  EXPECT_NEAR(f.slope, 2, 1e-12);
  EXPECT_NEAR(f.intercept, 1, 1e-12);
  EXPECT_NEAR(f.chi2, 0, 1e-18);
  EXPECT_EQ(f.dof, 2);
  EXPECT_EQ(f.scale, 1);
  EXPECT_THROW(weightedLine({1, 1}, {1, 2}, {1, 1}), ProcessingError);
  EXPECT_THROW(weightedLine({1, 2}, {1, 2}, {1, 0}), ProcessingError);
}

// 3 temperatures x 4 datasets, 5-15 % errors, E_a 0.5 eV: the 95 % interval of E_a holds the
// truth in 93-97 % of 1000 campaigns; with extra scatter the lack of fit is seen and the scaled
// errors still cover.
TEST(CampaignFits, ArrheniusIntervalsCoverTheTruth) {
  constexpr double kB = 8.617333262e-5;
  for (double extra : {0.0, 0.2}) {
    SplitMix64 rng(extra > 0 ? 11 : 7);
    int covered = 0, flagged = 0;
    const int runs = 1000;
    for (int run = 0; run < runs; ++run) {
      std::vector<double> t, q, s;
      for (double temp : {573.0, 623.0, 673.0}) {
        for (int r = 0; r < 4; ++r) {
          const double truth = 1e-9 * std::exp(-0.5 / kB * (1 / temp - 1 / 623.0));
          const double rel = 0.05 + 0.1 * rng.uniform();
          t.push_back(temp);
          q.push_back(truth * (1 + rel * rng.gauss()) * (1 + extra * rng.gauss()));
          s.push_back(rel * truth);
        }
      }
      bool ok = true;
      for (double v : q) ok = ok && v > 0;
      if (!ok) continue;
      const auto f = fitArrhenius(t, q, s);
      covered += std::abs(f.activation_eV - 0.5) < 1.96 * f.activation_se;
      flagged += f.line.p_lack_of_fit < 0.05;
    }
    if (extra == 0) {
      EXPECT_NEAR(covered / double(runs), 0.95, 0.025);
      EXPECT_NEAR(flagged / double(runs), 0.05, 0.025);  // the lack-of-fit test's size
    } else {
      EXPECT_GT(covered / double(runs), 0.88);  // scaled by the Birge ratio
      EXPECT_GT(flagged / double(runs), 0.8);
    }
  }
}

// Per-dataset estimates of one quantity with a real spread between datasets (tau) on top of
// their own errors: the pooled interval covers the true mean ~95 % of the time, for 4 and 12
// datasets, with and without heterogeneity.
TEST(CampaignFits, RandomEffectsPoolingCoversTheMean) {
  SplitMix64 rng(3);
  for (int k : {4, 12}) {
    for (double tau : {0.0, 0.3}) {
      int covered = 0;
      const int runs = 2000;
      for (int run = 0; run < runs; ++run) {
        std::vector<double> y, s;
        for (int i = 0; i < k; ++i) {
          const double se = 0.1 + 0.3 * rng.uniform();
          y.push_back(1.0 + tau * rng.gauss() + se * rng.gauss());
          s.push_back(se);
        }
        const auto p = poolRandomEffects(y, s);
        covered += p.ci_lo <= 1.0 && 1.0 <= p.ci_hi;
      }
      EXPECT_GT(covered / double(runs), 0.925) << "k " << k << " tau " << tau;
      EXPECT_LT(covered / double(runs), 0.99) << "k " << k << " tau " << tau;
    }
  }
  const auto one = poolRandomEffects({2.0}, {0.5});
  EXPECT_DOUBLE_EQ(one.mean, 2.0);
  EXPECT_DOUBLE_EQ(one.se, 0.5);
  const auto same = poolRandomEffects({1, 1, 1}, {0.1, 0.2, 0.3});
  EXPECT_DOUBLE_EQ(same.tau2, 0);
  EXPECT_DOUBLE_EQ(same.mean, 1);
}

}  // namespace
}  // namespace ionmap::stats
