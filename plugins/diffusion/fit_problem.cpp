#include "diffusion/fit_problem.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include <tbb/task_arena.h>
#include <Eigen/Dense>

#include "diffusion/observation.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion::detail {

// Mean equivalent diameter sqrt(4A/π) over the labels with an area (µm², per label).
double meanEquivalentDiameter(const std::vector<double>& area) {
  double s = 0;
  std::size_t grains = 0;
  for (double a : area) {
    if (!(a > 0)) continue;
    s += std::sqrt(4 * a / M_PI);
    ++grains;
  }
  return grains == 0 ? 0 : s / static_cast<double>(grains);
}

Physics Layout::toPhysics(const double* x) const {
  Physics p = fixed;
  if (iD >= 0) p.D_b = std::pow(10.0, x[iD]);
  if (iK >= 0) p.kappa = std::pow(10.0, x[iK]);
  if (ik >= 0) p.k_surface = std::pow(10.0, x[ik]);
  if (ifs >= 0) p.f_s = x[ifs];
  if (ifb >= 0) p.f_bg = x[ifb];
  return p;
}

// The fitted parameters and their order: log10 D_b, log10 κ, then log10 k, f_s, f_bg if fitted.
Layout layoutOf(const FitOptions& o) {
  Layout l;
  l.fixed = o.initial;
  l.names = {"log10_D_b", "log10_kappa"};
  l.iD = 0, l.iK = 1;
  if (o.fit_surface_exchange) l.ik = l.size(), l.names.push_back("log10_k");
  if (o.fit_f_s) l.ifs = l.size(), l.names.push_back("f_s");
  if (o.fit_f_bg) l.ifb = l.size(), l.names.push_back("f_bg");
  return l;
}

Data usableData(const Image<double>& f, const Image<double>& sigma, const Image<std::uint8_t>& mask,
                const Domain& domain, ModelKind kind) {
  Data d;
  std::vector<std::array<double, 3>> sums;  // network, per label: Σw², Σw²f, Σw²f²
  if (kind == ModelKind::kGrid) {
    d.cell.reserve(f.size()), d.f.reserve(f.size()), d.w.reserve(f.size());
  }
  // Network: summed along runs of one label (in registers), then added to the label's sums.
  double run0 = 0, run1 = 0, run2 = 0;
  std::size_t run_label = 0, pixels = 0;
  auto flush = [&sums](std::size_t label, double& s0, double& s1, double& s2) {
    if (label >= sums.size()) sums.resize(label + 1, {0.0, 0.0, 0.0});
    sums[label][0] += s0, sums[label][1] += s1, sums[label][2] += s2;
    s0 = s1 = s2 = 0;
  };
  for (std::size_t i = 0; i < f.size(); ++i) {
    const bool source = !domain.source_region.empty() && domain.source_region[i];
    if (source || !mask[i] || !std::isfinite(f[i]) || !std::isfinite(sigma[i]) || !(sigma[i] > 0))
      continue;
    ++pixels;
    if (kind == ModelKind::kGrid) {
      d.cell.push_back(i), d.f.push_back(f[i]), d.w.push_back(1 / sigma[i]);
      continue;
    }
    const auto label = static_cast<std::size_t>(domain.labels[i]);
    if (label != run_label) flush(run_label, run0, run1, run2), run_label = label;
    const double w2 = 1 / (sigma[i] * sigma[i]);
    run0 += w2, run1 += w2 * f[i], run2 += w2 * f[i] * f[i];
  }
  if (kind == ModelKind::kNetwork) flush(run_label, run0, run1, run2);
  d.pixels = pixels;
  for (std::size_t label = 0; label < sums.size(); ++label) {
    const auto& a = sums[label];
    if (!(a[0] > 0)) continue;
    const double mean = a[1] / a[0];
    d.cell.push_back(label);
    d.f.push_back(mean);
    d.w.push_back(std::sqrt(a[0]));
    d.constant_cost += 0.5 * std::max(0.0, a[2] - a[0] * mean * mean);
  }
  return d;
}

Model::Model(const FitOptions& o) : o_(o) {
  if (o.model == ModelKind::kNetwork)
    graph_ = grainGraph(o.domain);
  else
    ordering_ = std::make_shared<const std::vector<int>>(
        o.domain.ordering.empty() ? fillReducingOrdering(o.domain) : o.domain.ordering);
}

Model::Model(const FitOptions& o, const Model& same_domain)
    : o_(o), ordering_(same_domain.ordering_), graph_(same_domain.graph_) {}

void Model::compute(const Physics& p, Response& r, bdf2::Workspace* workspace) const {
  const bool robin = p.k_surface > 0;
  if (o_.model == ModelKind::kGrid) {
    GridSensitivities g = gridSensitivities(o_.domain, p, robin, workspace, ordering_.get());
    r.u_source = g.u_source;
    const int s = std::max(1, o_.subsample);
    if (s > 1) {  // observation model: each map pixel sees the mean over its s × s cells
      const int w = o_.domain.labels.width() / s, h = o_.domain.labels.height() / s;
      const double blur = o_.boundary_blur_um / o_.domain.h;  // cells
      for (auto* v : {&g.u, &g.du_dlnkappa, &g.rate}) *v = observe(*v, w, h, s, blur);
      if (robin) g.du_dlnk = observe(g.du_dlnk, w, h, s, blur);
    }
    r.u = std::move(g.u);
    r.dK = std::move(g.du_dlnkappa);
    r.dk = robin ? std::move(g.du_dlnk) : std::vector<double>(r.u.size(), 0.0);
    r.dD.resize(r.u.size());
    for (std::size_t i = 0; i < r.u.size(); ++i) r.dD[i] = g.rate[i] - r.dK[i] - r.dk[i];
    return;
  }
  Physics unit = p;
  unit.f_s = 1, unit.f_bg = 0;
  NetworkSensitivities g = networkSensitivities(graph_, o_.domain, unit, true, workspace);
  r.u = std::move(g.u);
  r.u_source = g.source;
  r.dD = std::move(g.du_dlnD);
  r.dK = std::move(g.du_dlnkappa);
  r.dk = std::move(g.du_dlnk);
}

Image<double> Model::simulate(const Physics& p, bdf2::Workspace* workspace) const {
  if (o_.model != ModelKind::kGrid) return forward(o_.domain, p, o_.model);
  return simulateGrid(o_.domain, p, *ordering_, workspace);
}

MapCost::MapCost(const Model& m, const Layout& l, const Data& d, bdf2::WorkspacePool& pool)
    : m_(m), l_(l), d_(d), pool_(pool) {
  set_num_residuals(static_cast<int>(d_.cell.size()));
  mutable_parameter_block_sizes()->push_back(l.size());
}

bool MapCost::Evaluate(double const* const* params, double* residuals, double** jacobians) const {
  const double* x = params[0];
  const int n = l_.size();
  const Physics p = l_.toPhysics(x);
  auto at = [&](const Response& c) { return std::equal(x, x + n, c.x.begin(), c.x.end()); };
  // Two entries: the last point and the one before (a rejected trial must not evict the
  // accepted point that the final covariance is evaluated at).
  if (at(previous_)) std::swap(cache_, previous_);
  if (!at(cache_)) {
    std::swap(cache_, previous_);
    try {
      // Isolated: while this thread waits for the run's own parallel parts it takes no other
      // solve's run, which would borrow (and fill) another workspace.
      tbb::this_task_arena::isolate([&] {
        const bdf2::WorkspacePool::Lease workspace = pool_.borrow();
        m_.compute(p, cache_, workspace.get());
      });
    } catch (const Error&) {
      cache_.x.clear();
      return false;  // e.g. a factorisation failure at extreme parameters: Ceres shrinks the step
    }
    cache_.x.assign(x, x + n);
    ++evaluations_;  // one model run (with its tangent-linear derivatives)
  }
  const Response& r = cache_;
  const double span = p.f_s - p.f_bg, ln10 = std::log(10.0);
  for (std::size_t i = 0; i < d_.cell.size(); ++i) {
    const double u = r.u[d_.cell[i]];
    residuals[i] = (p.f_bg + span * u - d_.f[i]) * d_.w[i];
    if (!(jacobians && jacobians[0])) continue;
    double* row = jacobians[0] + i * static_cast<std::size_t>(n);
    const double s = ln10 * span * d_.w[i];
    if (l_.iD >= 0) row[l_.iD] = s * r.dD[d_.cell[i]];
    if (l_.iK >= 0) row[l_.iK] = s * r.dK[d_.cell[i]];
    if (l_.ik >= 0) row[l_.ik] = s * r.dk[d_.cell[i]];
    if (l_.ifs >= 0) row[l_.ifs] = u * d_.w[i];
    if (l_.ifb >= 0) row[l_.ifb] = (1 - u) * d_.w[i];
  }
  return true;
}

void MapCost::adopt(const MapCost& other) {
  if (&other.m_ != &m_) return;
  cache_ = other.cache_;
  previous_ = other.previous_;
}

bool MapCost::cached(const double* x) const {
  const auto n = static_cast<std::size_t>(l_.size());
  return (cache_.x.size() == n && std::equal(x, x + n, cache_.x.begin())) ||
         (previous_.x.size() == n && std::equal(x, x + n, previous_.x.begin()));
}

GaussNewtonStep gaussNewtonStep(const MapCost& cost, const std::vector<double>& x, int held) {
  GaussNewtonStep out;
  const auto n = static_cast<Eigen::Index>(x.size());
  const auto m = static_cast<Eigen::Index>(cost.num_residuals());
  std::vector<double> r(static_cast<std::size_t>(m)), jac(static_cast<std::size_t>(m * n));
  const double* params[] = {x.data()};
  double* jacs[] = {jac.data()};
  if (!cost.Evaluate(params, r.data(), jacs)) return out;
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> J(
      jac.data(), m, n);
  const Eigen::Map<const Eigen::VectorXd> res(r.data(), m);
  Eigen::MatrixXd H = J.transpose() * J;
  Eigen::VectorXd g = J.transpose() * res;
  if (held >= 0) {  // the held parameter does not move
    H.row(held).setZero();
    H.col(held).setZero();
    H(held, held) = 1;
    g(held) = 0;
  }
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(H);
  if (ldlt.info() != Eigen::Success) return out;
  out.step = ldlt.solve(-g);
  out.cost = 0.5 * res.squaredNorm();
  out.decrease = -0.5 * g.dot(out.step);
  out.ok = std::isfinite(out.decrease) && out.step.allFinite();
  return out;
}

ceres::CallbackReturnType GaussNewtonStop::operator()(const ceres::IterationSummary& s) {
  // Also at the start (iteration 0): a solve that starts at its optimum (a profile point started
  // on the predicted profile trace, a fit started from a finer level's optimum) costs one run.
  if ((s.iteration > 0 && !s.step_is_successful) || !cost_.cached(x_.data()))
    return ceres::SOLVER_CONTINUE;
  const GaussNewtonStep gn = gaussNewtonStep(cost_, x_, held_);
  const double dof = std::max<double>(
      1, static_cast<double>(cost_.num_residuals()) - static_cast<double>(x_.size()));
  return gn.ok && gn.decrease < threshold_ * std::max(1.0, 2 * s.cost / dof)
             ? ceres::SOLVER_TERMINATE_SUCCESSFULLY
             : ceres::SOLVER_CONTINUE;
}

}  // namespace ionmap::diffusion::detail
