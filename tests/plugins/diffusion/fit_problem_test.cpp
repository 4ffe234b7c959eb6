// The diffusion fit's cost function against finite differences: its Jacobian is the exact
// derivative of the discrete model (tangent-linear BDF2 for the grid, the network's own
// sensitivities), so ceres::GradientChecker's central differences must agree with it closely,
// for every fitted parameter, on every kind of problem the fit builds.
#include "diffusion/fit_problem.hpp"

#include <gtest/gtest.h>

#include "fit_case.hpp"

namespace ionmap::diffusion {
namespace {

// Probes the cost at a point away from the truth (where the residuals are not small) and
// returns the largest relative difference between the analytic and numeric Jacobians.
double worstJacobianError(const FitOptions& o, const test::FitCase& c) {
  const detail::Layout l = detail::layoutOf(o);
  const detail::Data d = detail::usableData(c.f, c.sigma, c.mask, o.domain, o.model);
  const detail::Model m(o);
  bdf2::WorkspacePool pool;
  const detail::MapCost cost(m, l, d, pool);
  std::vector<double> x(static_cast<std::size_t>(l.size()));
  // log10 D_b, log10 κ (µm²/s, µm/s), then log10 k, f_s, f_bg as the layout has them.
  x[static_cast<std::size_t>(l.iD)] = std::log10(0.6);
  x[static_cast<std::size_t>(l.iK)] = std::log10(0.05);
  if (l.ik >= 0) x[static_cast<std::size_t>(l.ik)] = std::log10(0.3);
  if (l.ifs >= 0) x[static_cast<std::size_t>(l.ifs)] = 0.85;
  if (l.ifb >= 0) x[static_cast<std::size_t>(l.ifb)] = 0.08;
  ceres::NumericDiffOptions nd;
  const ceres::GradientChecker checker(
      &cost, static_cast<const std::vector<const ceres::Manifold*>*>(nullptr), nd);
  ceres::GradientChecker::ProbeResults results;
  const double* params[] = {x.data()};
  const bool ok = checker.Probe(params, 1e-5, &results);
  EXPECT_TRUE(ok) << results.error_log;
  EXPECT_TRUE(results.return_value);
  return results.maximum_relative_error;
}

TEST(DiffusionFitProblem, GradientCheckerAcceptsTheCostFunctionOfEveryProblemKind) {
  // Dirichlet source, grid model, D_b, κ, f_s fitted.
  test::FitCase c = test::makeFitCase(0.01, 5, 24);
  EXPECT_LT(worstJacobianError(c.options, c), 1e-5) << "grid, Dirichlet";

  // Robin source (k fitted) and the background fraction fitted too.
  FitOptions robin = c.options;
  robin.initial.k_surface = 0.3;
  robin.fit_surface_exchange = true;
  robin.fit_f_bg = true;
  EXPECT_LT(worstJacobianError(robin, c), 1e-5) << "grid, Robin, f_bg";

  // Observation model: labels twice as fine as the map, each pixel the mean of its cells.
  test::FitCase fine = test::makeFitCase(0.01, 6, 16, 0.08, 2);
  EXPECT_LT(worstJacobianError(fine.options, fine), 1e-5) << "observation model";

  // Grain network: one residual per grain.
  FitOptions network = c.options;
  network.model = ModelKind::kNetwork;
  EXPECT_LT(worstJacobianError(network, c), 1e-5) << "network";
}

// The fit's statistical errors are (JᵀJ)⁻¹ of its own Jacobian (covariance.cpp), computed there
// because the cluster-robust scale needs J and the per-pixel residuals anyway. They are the
// numbers ceres::Covariance gives for the same cost function at the optimum.
TEST(DiffusionFitProblem, StatisticalErrorsAreWhatCeresCovarianceGives) {
  test::FitCase c = test::makeFitCase(0.01, 5, 24);
  c.options.interval_level = 0;
  c.options.label_ensemble = 0;
  const FitResult r = fitDiffusion(c.f, c.sigma, c.mask, c.options);
  const detail::Layout l = detail::layoutOf(c.options);
  const detail::Data d =
      detail::usableData(c.f, c.sigma, c.mask, c.options.domain, c.options.model);
  const detail::Model m(c.options);
  bdf2::WorkspacePool pool;
  std::vector<double> x = r.values;
  ceres::Problem::Options po;
  po.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  detail::MapCost cost(m, l, d, pool);
  problem.AddResidualBlock(&cost, nullptr, x.data());
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.null_space_rank = -1;
  ceres::Covariance cov(co);
  const std::vector<std::pair<const double*, const double*>> blocks{{x.data(), x.data()}};
  ASSERT_TRUE(cov.Compute(blocks, &problem));
  const int n = l.size();
  std::vector<double> cv(static_cast<std::size_t>(n * n));
  ASSERT_TRUE(cov.GetCovarianceBlock(x.data(), x.data(), cv.data()));
  ASSERT_EQ(r.statistical_errors.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double ceres_se = std::sqrt(cv[static_cast<std::size_t>(i * n + i)]);
    EXPECT_NEAR(r.statistical_errors[static_cast<std::size_t>(i)], ceres_se, 1e-6 * ceres_se)
        << r.names[static_cast<std::size_t>(i)];
  }
}

}  // namespace
}  // namespace ionmap::diffusion
