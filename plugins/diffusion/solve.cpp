// One bounded solve of the fit problem (fit_detail.hpp).
#include <algorithm>

#include "diffusion/fit_detail.hpp"

namespace ionmap::diffusion::detail {

Solver::Solver(const FitOptions& o, const Layout& l, const Data& data, bdf2::WorkspacePool& pool)
    : o_(o), l_(l), data_(data), pool_(pool) {}

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
  auto clampTo = [&](int i, double lo, double hi) {
    if (i >= 0)
      r.x[static_cast<std::size_t>(i)] = std::clamp(r.x[static_cast<std::size_t>(i)], lo, hi);
  };
  clampTo(l.iD, o.log10_min_D, o.log10_max_D);
  clampTo(l.iK, o.log10_min_kappa, o.log10_max_kappa);
  clampTo(l.ik, o.log10_min_kappa, o.log10_max_kappa);
  clampTo(l.ifs, 0.0, 1.0);
  clampTo(l.ifb, 0.0, 1.0);
  if (held >= 0) problem.SetManifold(r.x.data(), new ceres::SubsetManifold(n, {held}));
  ceres::Solver::Options so;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = o.max_iterations;
  so.num_threads = 1;  // the parallelism is across starts and within each model run
  so.logging_type = ceres::SILENT;
  GaussNewtonStop stop(*cost, r.x, held, o.stop_decrease);
  if (o.stop_decrease > 0) {
    so.update_state_every_iteration = true;  // the callback reads the accepted point
    so.callbacks.push_back(&stop);
  }
  ceres::Solve(so, &problem, &r.summary);
  r.evaluations = cost->evaluations();
}

}  // namespace ionmap::diffusion::detail
