// One bounded solve of the fit problem (fit_detail.hpp).
#include <algorithm>
#include <cmath>

#include "diffusion/fit_detail.hpp"

namespace ionmap::diffusion::detail {

Solver::Solver(const FitOptions& o, const Layout& l, const Data& data, bdf2::WorkspacePool& pool)
    : o_(o), l_(l), data_(data), pool_(pool) {}

void Solver::clampToBounds(std::vector<double>& x) const {
  for (int i = 0; i < l_.size(); ++i) {
    const auto [lo, hi] = boundsOf(l_, o_, i);
    x[static_cast<std::size_t>(i)] = std::clamp(x[static_cast<std::size_t>(i)], lo, hi);
  }
}

void Solver::solveNear(const Model& m, Run& r, int held, double accept,
                       const std::vector<double>* max_step) const {
  const int n = l_.size();
  clampToBounds(r.x);
  Run probe;
  probe.cost = std::make_unique<MapCost>(m, l_, data_, pool_);
  const GaussNewtonStep gn = gaussNewtonStep(*probe.cost, r.x, held);
  const double dof =
      std::max<double>(1, static_cast<double>(data_.cell.size()) - static_cast<double>(n));
  bool inside =
      gn.ok && gn.decrease >= 0 && gn.decrease <= accept * std::max(1.0, 2 * gn.cost / dof);
  std::vector<double> x = r.x;
  for (int i = 0; i < n && inside; ++i) {
    const auto [lo, hi] = boundsOf(l_, o_, i);
    const auto k = static_cast<std::size_t>(i);
    x[k] += gn.step(i);
    inside = x[k] >= lo && x[k] <= hi && (!max_step || std::abs(gn.step(i)) <= (*max_step)[k]);
  }
  if (inside) {
    r.x = std::move(x);
    r.summary = ceres::Solver::Summary();
    r.summary.initial_cost = gn.cost;
    r.summary.final_cost = gn.cost - gn.decrease;
    r.summary.termination_type = ceres::USER_SUCCESS;
    r.summary.message = "one Gauss-Newton step from a point near the optimum";
    r.evaluations = probe.cost->evaluations();
    r.cost = std::move(probe.cost);
    return;
  }
  const int probe_runs = probe.cost->evaluations();
  solve(m, r, held, &probe);
  r.evaluations += probe_runs;
}

void Solver::solve(const Model& m, Run& r, int held, const Run* before) const {
  const FitOptions& o = o_;
  const Layout& l = l_;
  const int n = l.size();
  ceres::Problem::Options po;
  po.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  r.cost = std::make_unique<MapCost>(m, l, data_, pool_);
  MapCost* cost = r.cost.get();
  if (before && before->cost) cost->adopt(*before->cost);
  problem.AddResidualBlock(cost, nullptr, r.x.data());
  auto bound = [&](int i, double lo, double hi) {
    if (i < 0) return;
    problem.SetParameterLowerBound(r.x.data(), i, lo);
    problem.SetParameterUpperBound(r.x.data(), i, hi);
  };
  bound(l.iD, o.log10_min_D, o.log10_max_D);
  bound(l.iK, o.log10_min_kappa, o.log10_max_kappa);
  bound(l.ik, o.log10_min_kappa, o.log10_max_kappa);
  bound(l.ifs, 0.0, 1.0);
  bound(l.ifb, 0.0, 1.0);
  // Multi-start points beyond the bounds are moved onto them (Ceres needs a feasible start;
  // the user's own start was checked above).
  clampToBounds(r.x);
  if (held >= 0) problem.SetManifold(r.x.data(), new ceres::SubsetManifold(n, {held}));
  ceres::Solver::Options so;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = o.max_iterations;
  so.num_threads = 1;  // the parallelism is across starts and within each model run
  so.logging_type = ceres::SILENT;
  if (o.dogleg) so.trust_region_strategy_type = ceres::DOGLEG;
  GaussNewtonStop stop(*cost, r.x, held, o.stop_decrease);
  if (o.stop_decrease > 0) {
    so.update_state_every_iteration = true;  // the callback reads the accepted point
    so.callbacks.push_back(&stop);
  }
  ceres::Solve(so, &problem, &r.summary);
  r.evaluations = cost->evaluations();
}

}  // namespace ionmap::diffusion::detail
