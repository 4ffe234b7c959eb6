// Fit verification (issue 6): synthetic 6Li-fraction maps from the forward model on a Voronoi
// microstructure with known D_b, κ and f_s, plus Gaussian noise of known σ; the fit must
// recover them within the stated tolerances and report a reduced χ² near 1.
#include "diffusion/fit.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "fit_case.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {
namespace {

using Synthetic = test::FitCase;

Synthetic makeSynthetic(double noise, std::uint64_t seed, int pixels = 48) {
  return test::makeFitCase(noise, seed, pixels);
}

// Where the time goes: the split names the fit and the work around it, in the order done, and
// accounts for the fit's wall-clock time (every part measured, none counted twice).
TEST(DiffusionFit, TheTimeSplitAccountsForTheWholeFit) {
  Synthetic s = makeSynthetic(0.01, 3);
  const auto start = std::chrono::steady_clock::now();
  const FitResult r = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_GE(r.seconds.size(), 4u);
  EXPECT_EQ(r.seconds[0].first.rfind("start", 0), 0u) << r.seconds[0].first;
  EXPECT_EQ(r.seconds[1].first, "fit");
  double sum = 0;
  for (const auto& [what, secs] : r.seconds) {
    EXPECT_GE(secs, 0.0) << what;
    sum += secs;
  }
  EXPECT_LE(sum, wall);
  EXPECT_GE(sum, 0.9 * wall) << "the split leaves out part of the fit";
}

// Coarse-to-fine: on a 120 × 120 map the nine starts are solved on the 60 × 60 binned map and
// one fit on the full grid continues from the best of them. It must land on the same optimum
// as nine full-grid starts (within 0.05 standard errors) while running the full-grid model
// far fewer times; a map too small to bin (48 × 48) is fitted directly either way.
TEST(DiffusionFit, CoarseToFineReachesTheSameOptimumWithFewerFullRuns) {
  Synthetic s = makeSynthetic(0.01, 7, 120);
  s.options.coarse_start = false;
  const FitResult direct = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  s.options.coarse_start = true;
  const FitResult staged = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_TRUE(direct.converged && staged.converged) << staged.report;
  for (std::size_t i = 0; i < direct.values.size(); ++i) {
    EXPECT_NEAR(staged.values[i], direct.values[i], 0.05 * direct.standard_errors[i])
        << direct.names[i];
  }
  EXPECT_NEAR(staged.cost, direct.cost, 1e-3 * direct.cost);
  const int full_runs = staged.evaluations - staged.coarse_evaluations;
  EXPECT_GT(staged.coarse_evaluations, 0);
  EXPECT_LT(full_runs, direct.evaluations / 5)
      << "full-grid runs: staged " << full_runs << " vs direct " << direct.evaluations;

  Synthetic small = makeSynthetic(0.01, 5);
  small.options.coarse_start = false;
  const FitResult a = fitDiffusion(small.f, small.sigma, small.mask, small.options);
  small.options.coarse_start = true;
  const FitResult b = fitDiffusion(small.f, small.sigma, small.mask, small.options);
  EXPECT_EQ(a.values, b.values);
}

// The statistical stop (FitOptions::stop_decrease) ends a start once the remaining Gauss–Newton
// step is worth less than Δχ² = 0.01: the same optimum as Ceres' own relative tolerances within
// 0.1 standard errors, with fewer model runs.
TEST(DiffusionFit, StatisticalStopLandsOnTheOptimumWithFewerRuns) {
  Synthetic s = makeSynthetic(0.01, 3, 64);
  s.options.decades = 0;
  s.options.stop_decrease = 0;
  const FitResult ceres_only = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  s.options.stop_decrease = 0.005;
  const FitResult stopped = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_TRUE(ceres_only.converged && stopped.converged) << stopped.report;
  for (std::size_t i = 0; i < stopped.values.size(); ++i) {
    EXPECT_NEAR(stopped.values[i], ceres_only.values[i], 0.1 * ceres_only.standard_errors[i])
        << stopped.names[i];
  }
  EXPECT_LT(stopped.evaluations, ceres_only.evaluations);
}

// The dogleg trust region (FitOptions::dogleg, used for refits from a nearby optimum) lands on
// the optimum Levenberg–Marquardt finds, within 0.1 standard errors, from a start a few
// standard errors away in κ and f_s.
TEST(DiffusionFit, DoglegLandsOnTheSameOptimumAsLevenbergMarquardt) {
  Synthetic s = makeSynthetic(0.01, 3, 64);
  s.options.decades = 0;
  s.options.coarse_start = false;
  s.options.interval_level = 0;
  s.options.profile_points = 0;
  const FitResult lm = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_TRUE(lm.converged) << lm.report;
  s.options.initial = lm.best;
  s.options.initial.kappa *= std::pow(10.0, 5 * lm.standard_errors[1]);
  const auto fs = static_cast<std::size_t>(std::find(lm.names.begin(), lm.names.end(), "f_s") -
                                           lm.names.begin());
  ASSERT_LT(fs, lm.names.size());
  s.options.initial.f_s -= 5 * lm.standard_errors[fs];
  s.options.dogleg = true;
  const FitResult dl = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_TRUE(dl.converged) << dl.report;
  for (std::size_t i = 0; i < lm.values.size(); ++i)
    EXPECT_NEAR(dl.values[i], lm.values[i], 0.1 * lm.standard_errors[i]) << lm.names[i];
  EXPECT_GT(dl.evaluations, 1) << "it started away from the optimum";
}

// The grain-network fit on a map the network itself made (plus noise): κ and f_s come back, and
// the coarse-in-time start (an eighth of the time steps first, on which D_b is first held)
// reaches the same optimum within 0.1 standard errors with fewer full runs, whether or not the
// map constrains D_b.
TEST(DiffusionFit, GrainNetworkFitRecoversThePermeanceCoarseInTimeFirst) {
  // D_b = 10: the grains at the source fill at once and D_b is barely constrained (Bi ≈ 0.006);
  // D_b = 0.02: they fill about as fast as tracer crosses the boundaries, so the map fixes D_b
  // too, and the coarse level's first solve with D_b held starts it in the wrong place.
  for (const double D : {10.0, 0.02}) {
    Synthetic s = makeSynthetic(0.01, 11, 96);
    s.truth.D_b = D;
    s.truth.kappa = 0.01;
    s.options.domain.time = 400;
    s.options.domain.steps = 40;
    s.options.model = ModelKind::kNetwork;
    s.options.decades = 0;
    s.options.initial.D_b = 0.3 * D;
    s.options.initial.kappa = 0.03;
    s.f = forward(s.options.domain, s.truth, ModelKind::kNetwork);
    std::mt19937_64 rng(11);
    std::normal_distribution<double> gauss(0, 0.01);
    for (std::size_t i = 0; i < s.f.size(); ++i) s.f[i] += gauss(rng);
    s.options.coarse_start = false;
    const FitResult direct = fitDiffusion(s.f, s.sigma, s.mask, s.options);
    s.options.coarse_start = true;
    const FitResult staged = fitDiffusion(s.f, s.sigma, s.mask, s.options);
    ASSERT_TRUE(direct.converged && staged.converged) << staged.report;
    EXPECT_NEAR(staged.best.kappa / s.truth.kappa, 1, 0.05) << D;
    EXPECT_NEAR(staged.best.f_s, s.truth.f_s, 0.01) << D;
    const bool constrained = D < 1;
    if (constrained) {
      EXPECT_NEAR(staged.best.D_b / D, 1, 0.05);
    }
    for (std::size_t i = constrained ? 0 : 1; i < direct.values.size(); ++i) {
      EXPECT_NEAR(staged.values[i], direct.values[i], 0.1 * direct.standard_errors[i])
          << direct.names[i] << " at D_b = " << D;
    }
    EXPECT_GT(staged.coarse_evaluations, 0);
    EXPECT_LT(staged.evaluations - staged.coarse_evaluations, direct.evaluations) << D;
    // The mean grain size (from the grain graph here) is the labels' own.
    EXPECT_NEAR(staged.mean_grain_um, meanGrainSize(s.options.domain.labels, s.options.domain.h),
                1e-9);
    EXPECT_GT(staged.mean_grain_um, 3.0);
  }
}

TEST(DiffusionFit, RecoversBulkDiffusivityAndBoundaryPermeanceFromANoisyMap) {
  Synthetic s = makeSynthetic(0.01, 5);
  const FitResult r = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_TRUE(r.converged) << r.report;
  EXPECT_NEAR(r.best.D_b / s.truth.D_b, 1.0, 0.05);
  EXPECT_NEAR(r.best.kappa / s.truth.kappa, 1.0, 0.05);
  EXPECT_NEAR(r.best.f_s, s.truth.f_s, 0.01);
  EXPECT_NEAR(r.reduced_chi2, 1.0, 0.15);  // 2304 residuals: ±0.03 at 1σ
  ASSERT_EQ(r.standard_errors.size(), r.names.size());
  for (double se : r.standard_errors) {
    EXPECT_TRUE(std::isfinite(se));
    EXPECT_GT(se, 0);
  }
  // The truth lies within 4 standard errors of the estimate (log10 space).
  for (std::size_t i = 0; i < r.names.size(); ++i) {
    double truth = 0;
    if (r.names[i] == "log10_D_b")
      truth = std::log10(s.truth.D_b);
    else if (r.names[i] == "log10_kappa")
      truth = std::log10(s.truth.kappa);
    else if (r.names[i] == "f_s")
      truth = s.truth.f_s;
    else
      continue;
    EXPECT_LT(std::abs(r.values[i] - truth), 4 * r.standard_errors[i]) << r.names[i];
  }
  EXPECT_NEAR(r.biot, s.truth.kappa * 6 / s.truth.D_b, 0.5 * s.truth.kappa * 6 / s.truth.D_b);
}

// Where the fit is well identified, the profiled cost is the quadratic the covariance assumes:
// Δχ² ≈ (step/σ)², so ≈ 4 at ±2σ, and nothing along the profile beats the optimum.
TEST(DiffusionFit, CostProfilesAgreeWithTheStandardErrors) {
  Synthetic s = makeSynthetic(0.01, 5);
  s.options.profile_points = 5;
  s.options.profile_sigmas = 2;
  const FitResult r = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_EQ(r.profiles.size(), 2u);
  for (const auto& p : r.profiles) {
    ASSERT_EQ(p.delta_chi2.size(), 5u) << p.name;
    EXPECT_NEAR(p.delta_chi2[0], 4.0, 1.0) << p.name;
    EXPECT_NEAR(p.delta_chi2[4], 4.0, 1.0) << p.name;
    EXPECT_NEAR(p.delta_chi2[1], 1.0, 0.3) << p.name;
    EXPECT_NEAR(p.delta_chi2[2], 0.0, 0.05) << p.name;
    for (double d : p.delta_chi2) EXPECT_GT(d, -0.05) << p.name;
  }
}

TEST(DiffusionFit, WarnsWhenTheBoundariesAreInvisible) {
  // κ so large that boundaries do not resist: κ is unidentifiable, and the fit must say so
  // rather than report a confident value.
  Synthetic s = makeSynthetic(0.01, 7);
  s.truth.kappa = 1e3;
  s.f = forward(s.options.domain, s.truth, ModelKind::kGrid);
  const FitResult r = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  EXPECT_NEAR(r.best.D_b / s.truth.D_b, 1.0, 0.05);
  EXPECT_FALSE(r.warnings.empty());
}

// The memory budget decides how many model runs go at once: one that holds a single run gives
// the same fit (bit for bit: a run's arithmetic does not depend on which workspace it borrows),
// and one that cannot hold a single run is refused before any run with a message naming the
// budget. The per-run figure is the factor's own size: within 2x of what one Eigen LDLT
// factorisation of the same grid stores (values and row indices).
TEST(DiffusionFit, TheMemoryBudgetDecidesHowManyRunsGoAtOnce) {
  Synthetic s = makeSynthetic(0.01, 5);
  s.options.interval_level = 0;
  const FitResult free_run = fitDiffusion(s.f, s.sigma, s.mask, s.options);
  ASSERT_GT(free_run.bytes_per_run, 0u);
  const std::uint64_t cells = s.f.size();
  EXPECT_GT(free_run.bytes_per_run, cells * 12);
  EXPECT_LT(free_run.bytes_per_run, cells * 2000);

  FitOptions one = s.options;
  one.memory_budget = free_run.bytes_per_run + free_run.bytes_per_run / 2;
  const FitResult r = fitDiffusion(s.f, s.sigma, s.mask, one);
  EXPECT_EQ(r.runs_at_once, 1u);
  EXPECT_EQ(r.values, free_run.values);
  EXPECT_EQ(r.evaluations, free_run.evaluations);

  FitOptions tiny = s.options;
  tiny.memory_budget = free_run.bytes_per_run / 2;
  try {
    fitDiffusion(s.f, s.sigma, s.mask, tiny);
    ADD_FAILURE() << "a budget below one model run was accepted";
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("IONMAP_MAX_MEMORY"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("48 x 48"), std::string::npos) << e.what();
  }
}

TEST(DiffusionFit, RefusesMapsThatDoNotMatchTheGrid) {
  Synthetic s = makeSynthetic(0.01, 5);
  const Image<double> wrong(10, 10, 0.5);
  EXPECT_THROW(fitDiffusion(wrong, s.sigma, s.mask, s.options), UsageError);
  Image<std::uint8_t> none(s.mask.width(), s.mask.height(), 0);
  EXPECT_THROW(fitDiffusion(s.f, s.sigma, none, s.options), UsageError);
  s.options.initial.D_b = 1e-9;  // µm²/s, below the 1e-6 bound
  try {
    fitDiffusion(s.f, s.sigma, s.mask, s.options);
    FAIL() << "accepted a start outside the bounds";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("outside the fit bounds"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ionmap::diffusion
