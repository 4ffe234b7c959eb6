// Statistics for comparing groups of measurements (per-class SECCM conductivities, per-phase
// KPFM changes, …), as plain functions: descriptive summaries with a bootstrap confidence
// interval of the mean; Welch's t-test and the Mann–Whitney U test with effect sizes (Cohen's
// d, Cliff's delta); Holm's correction over several comparisons; and a block (cluster)
// bootstrap of a difference of means for measurements that are not independent — neighbouring
// SECCM landings share a domain, so the unit of replication is the block, not the landing.
#pragma once

#include <cstdint>
#include <vector>

namespace ionmap::stats {

struct Summary {
  std::size_t n = 0;
  double mean = 0, sd = 0, median = 0, q1 = 0, q3 = 0;  // quartiles by linear interpolation
  double ci_lo = 0, ci_hi = 0;  // percentile bootstrap interval of the mean (describe())
};
// NaN values are left out. The bootstrap uses `resamples` draws seeded by `seed` (0: no
// interval, NaN).
Summary describe(const std::vector<double>& values, double level = 0.95, int resamples = 2000,
                 std::uint64_t seed = 1);

// Regularised incomplete beta I_x(a, b) and the distributions built on it.
double incompleteBeta(double a, double b, double x);
double studentTTwoSided(double t, double dof);  // P(|T| >= |t|)
double normalTwoSided(double z);                // P(|Z| >= |z|)

struct TestResult {
  double statistic = 0;  // t, or z of U
  double dof = 0;        // Welch–Satterthwaite (t-test)
  double p = 1;          // two-sided
  double effect = 0;     // Cohen's d (pooled sd), or Cliff's delta
  double u = 0;          // Mann–Whitney U of the first sample
};
// Throws ProcessingError unless both samples hold at least 2 finite values.
TestResult welch(const std::vector<double>& a, const std::vector<double>& b);
// Normal approximation with the tie correction and a continuity correction of 1/2.
TestResult mannWhitney(const std::vector<double>& a, const std::vector<double>& b);

// Holm–Bonferroni adjusted p-values (same order as given).
std::vector<double> holm(const std::vector<double>& p);

// Mean(a) − mean(b) when the values come in blocks (a block id per value, e.g. the domain or a
// spatial tile): each group's mean is resampled by blocks with replacement; its variance, times
// k/(k − 1) for k blocks, is that mean's squared standard error. The two-sided p of no
// difference and the interval come from t = difference / se on Welch–Satterthwaite degrees of
// freedom counted in blocks (with 8 blocks per group, normal tails would reject a true null
// about 8.5 % of the time at 5 %; these about 5 %, a test).
struct BlockBootstrap {
  double difference = 0, se = 0, ci_lo = 0, ci_hi = 0, p = 1, dof = 0;
  std::size_t blocks_a = 0, blocks_b = 0;
};
BlockBootstrap blockBootstrapDifference(const std::vector<double>& a,
                                        const std::vector<int>& blocks_a,
                                        const std::vector<double>& b,
                                        const std::vector<int>& blocks_b, double level = 0.95,
                                        int resamples = 2000, std::uint64_t seed = 1);

}  // namespace ionmap::stats
