#include "diffusion/fit.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <Eigen/Dense>

#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {

Image<double> forward(const Domain& d, const Physics& p, ModelKind kind) {
  if (kind == ModelKind::kGrid) return simulateGrid(d, p);
  const std::vector<double> g = simulateNetwork(d, p);
  Image<double> out(d.labels.width(), d.labels.height());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = g[static_cast<std::size_t>(d.labels[i])];
  return out;
}

double meanGrainSize(const Image<std::int32_t>& labels, double h) {
  std::map<int, int> area;
  for (auto v : labels.values()) ++area[v];
  double s = 0;
  for (const auto& [l, a] : area) s += std::sqrt(4 * a * h * h / M_PI);
  return area.empty() ? 0 : s / area.size();
}

namespace {

// Which parameters are fitted, and the map from the parameter vector to Physics.
struct Layout {
  std::vector<std::string> names;
  int iD = -1, iK = -1, ik = -1, ifs = -1, ifb = -1;
  Physics fixed;
  Physics toPhysics(const double* x) const {
    Physics p = fixed;
    if (iD >= 0) p.D_b = std::pow(10.0, x[iD]);
    if (iK >= 0) p.kappa = std::pow(10.0, x[iK]);
    if (ik >= 0) p.k_surface = std::pow(10.0, x[ik]);
    if (ifs >= 0) p.f_s = x[ifs];
    if (ifb >= 0) p.f_bg = x[ifb];
    return p;
  }
  int size() const { return static_cast<int>(names.size()); }
};

class MapCost final : public ceres::CostFunction {
 public:
  MapCost(const FitOptions& o, const Layout& l, std::vector<std::size_t> pixels,
          std::vector<double> f, std::vector<double> w)
      : o_(o), l_(l), pixels_(std::move(pixels)), f_(std::move(f)), w_(std::move(w)) {
    set_num_residuals(static_cast<int>(pixels_.size()));
    mutable_parameter_block_sizes()->push_back(l.size());
  }
  bool Evaluate(double const* const* params, double* residuals, double** jacobians) const override {
    const double* x = params[0];
    const int n = l_.size();
    // Base model and, for the Jacobian, one perturbed model per parameter, concurrently.
    std::vector<Image<double>> models(
        static_cast<std::size_t>(jacobians && jacobians[0] ? n + 1 : 1));
    std::vector<double> step(static_cast<std::size_t>(n), 0.0);
    try {
      tbb::parallel_for(0, static_cast<int>(models.size()), [&](int k) {
        std::vector<double> y(x, x + n);
        if (k > 0) {
          step[static_cast<std::size_t>(k - 1)] =
              1e-4 * std::max(1.0, std::abs(y[static_cast<std::size_t>(k - 1)]));
          y[static_cast<std::size_t>(k - 1)] += step[static_cast<std::size_t>(k - 1)];
        }
        models[static_cast<std::size_t>(k)] = forward(o_.domain, l_.toPhysics(y.data()), o_.model);
      });
    } catch (const Error&) {
      return false;  // e.g. a factorisation failure at extreme parameters: Ceres shrinks the step
    }
    evaluations_ += static_cast<int>(models.size());
    for (std::size_t i = 0; i < pixels_.size(); ++i)
      residuals[i] = (models[0][pixels_[i]] - f_[i]) * w_[i];
    if (jacobians && jacobians[0]) {
      for (std::size_t i = 0; i < pixels_.size(); ++i) {
        for (int k = 0; k < n; ++k) {
          jacobians[0][i * n + static_cast<std::size_t>(k)] =
              (models[static_cast<std::size_t>(k + 1)][pixels_[i]] - models[0][pixels_[i]]) *
              w_[i] / step[static_cast<std::size_t>(k)];
        }
      }
    }
    return true;
  }
  int evaluations() const { return evaluations_; }

 private:
  const FitOptions& o_;
  const Layout& l_;
  std::vector<std::size_t> pixels_;
  std::vector<double> f_, w_;
  mutable std::atomic<int> evaluations_{0};
};

}  // namespace

FitResult fitDiffusion(const Image<double>& f, const Image<double>& sigma,
                       const Image<std::uint8_t>& mask, const FitOptions& o) {
  if (!f.sameSize(o.domain.labels) || !sigma.sameSize(f) || !mask.sameSize(f)) {
    throw UsageError(
        "the fraction, sigma, mask and label maps must share one grid (resample them first)");
  }
  std::vector<std::size_t> pixels;
  std::vector<double> values, weights;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (mask[i] && std::isfinite(f[i]) && std::isfinite(sigma[i]) && sigma[i] > 0) {
      pixels.push_back(i), values.push_back(f[i]), weights.push_back(1 / sigma[i]);
    }
  }
  if (pixels.empty())
    throw UsageError("no pixel has a finite fraction and a positive sigma: nothing to fit");
  Layout l;
  l.fixed = o.initial;
  l.names = {"log10_D_b", "log10_kappa"};
  l.iD = 0, l.iK = 1;
  if (o.fit_surface_exchange) l.ik = l.size(), l.names.push_back("log10_k");
  if (o.fit_f_s) l.ifs = l.size(), l.names.push_back("f_s");
  if (o.fit_f_bg) l.ifb = l.size(), l.names.push_back("f_bg");
  const int n = l.size();
  if (static_cast<int>(pixels.size()) <= n)
    throw UsageError("fewer usable pixels than fitted parameters");
  if (!(o.initial.D_b > 0 && o.initial.kappa > 0) ||
      (o.fit_surface_exchange && !(o.initial.k_surface > 0))) {
    throw UsageError("initial D_b, kappa (and k when fitted) must be > 0");
  }
  // A start outside the search bounds is a mistake in the settings, not something to clamp.
  auto within = [](const char* what, double value, double lo, double hi, const char* unit) {
    if (!(value >= lo && value <= hi)) {
      throw UsageError(fmt::format(
          "the initial {} = {:g} {} is outside the fit bounds [{:g}, {:g}] {} (1 cm = 1e4 um)",
          what, value, unit, lo, hi, unit));
    }
  };
  within("D_b", o.initial.D_b, std::pow(10.0, o.log10_min_D), std::pow(10.0, o.log10_max_D),
         "um^2/s");
  within("kappa", o.initial.kappa, std::pow(10.0, o.log10_min_kappa),
         std::pow(10.0, o.log10_max_kappa), "um/s");
  if (o.fit_surface_exchange) {
    within("k", o.initial.k_surface, std::pow(10.0, o.log10_min_kappa),
           std::pow(10.0, o.log10_max_kappa), "um/s");
  }
  within("f_s", o.initial.f_s, 0, 1, "");
  within("f_bg", o.initial.f_bg, 0, 1, "");

  // Multi-start grid over decades of D_b and κ, solved concurrently.
  std::vector<std::vector<double>> starts;
  // decades = 0: one start (not nine identical ones).
  const std::vector<double> offsets =
      o.decades > 0 ? std::vector<double>{-o.decades, 0.0, o.decades} : std::vector<double>{0.0};
  for (double a : offsets) {
    for (double b : offsets) {
      std::vector<double> x(static_cast<std::size_t>(n));
      x[0] = std::log10(o.initial.D_b) + a;
      x[1] = std::log10(o.initial.kappa) + b;
      if (l.ik >= 0) x[static_cast<std::size_t>(l.ik)] = std::log10(o.initial.k_surface);
      if (l.ifs >= 0) x[static_cast<std::size_t>(l.ifs)] = o.initial.f_s;
      if (l.ifb >= 0) x[static_cast<std::size_t>(l.ifb)] = o.initial.f_bg;
      starts.push_back(x);
    }
  }
  struct Run {
    std::vector<double> x;
    ceres::Solver::Summary summary;
    int evaluations = 0;
  };
  // One bounded solve from x; `held` ≥ 0 keeps that parameter constant (cost profiles).
  auto solve = [&](Run& r, int held) {
    ceres::Problem problem;
    auto* cost = new MapCost(o, l, pixels, values, weights);
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
    so.num_threads = 1;  // the parallelism is across starts and perturbed models
    so.logging_type = ceres::SILENT;
    ceres::Solve(so, &problem, &r.summary);
    r.evaluations = cost->evaluations();
  };
  std::vector<Run> runs(starts.size());
  tbb::parallel_for(std::size_t{0}, starts.size(), [&](std::size_t s) {
    runs[s].x = starts[s];
    solve(runs[s], -1);
  });
  std::size_t best = 0;
  for (std::size_t s = 1; s < runs.size(); ++s) {
    if (runs[s].summary.final_cost < runs[best].summary.final_cost) best = s;
  }
  FitResult res;
  for (const auto& r : runs) res.evaluations += r.evaluations;
  const Run& b = runs[best];
  res.names = l.names;
  res.values = b.x;
  res.best = l.toPhysics(b.x.data());
  res.cost = b.summary.final_cost;
  res.residuals = pixels.size();
  res.reduced_chi2 =
      2 * res.cost / static_cast<double>(pixels.size() - static_cast<std::size_t>(n));
  res.converged = b.summary.termination_type == ceres::CONVERGENCE;
  res.report = b.summary.BriefReport();
  res.model = forward(o.domain, res.best, o.model);

  // Uncertainty from the Jacobian at the optimum: covariance (JᵀJ)⁻¹ scaled by the reduced χ².
  {
    std::vector<double> x = b.x;
    MapCost cost(o, l, pixels, values, weights);
    std::vector<double> r(pixels.size()), jac(pixels.size() * static_cast<std::size_t>(n));
    const double* params[] = {x.data()};
    double* jacs[] = {jac.data()};
    cost.Evaluate(params, r.data(), jacs);
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
        J(jac.data(), static_cast<Eigen::Index>(pixels.size()), n);
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(J);
    const auto sv = svd.singularValues();
    res.condition_number = sv(n - 1) > 0 ? sv(0) / sv(n - 1) : INFINITY;
    const Eigen::MatrixXd jtj = J.transpose() * J;
    const Eigen::MatrixXd cov =
        jtj.completeOrthogonalDecomposition().pseudoInverse() * std::max(1.0, res.reduced_chi2);
    res.standard_errors.resize(static_cast<std::size_t>(n));
    res.correlation.assign(static_cast<std::size_t>(n),
                           std::vector<double>(static_cast<std::size_t>(n), 0.0));
    for (int i = 0; i < n; ++i)
      res.standard_errors[static_cast<std::size_t>(i)] = std::sqrt(std::max(0.0, cov(i, i)));
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        const double d = res.standard_errors[static_cast<std::size_t>(i)] *
                         res.standard_errors[static_cast<std::size_t>(j)];
        res.correlation[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] =
            d > 0 ? cov(i, j) / d : 0;
      }
    }
  }
  // Cost profiles: each rate parameter stepped over ±profile_sigmas standard errors (at most
  // ±1 decade) with the others re-optimised; Δχ² = 2 Δcost / max(1, χ²/n), which is ≈ (step/σ)²
  // where the quadratic (covariance) picture holds.
  if (o.profile_points >= 3) {
    std::vector<std::pair<int, double>> jobs;  // (parameter, offset in fit units)
    std::vector<int> which = {l.iD, l.iK};
    if (l.ik >= 0) which.push_back(l.ik);
    for (int i : which) {
      const double half = std::min(
          1.0, o.profile_sigmas * std::max(1e-6, res.standard_errors[static_cast<std::size_t>(i)]));
      for (int k = 0; k < o.profile_points; ++k)
        jobs.emplace_back(i, -half + 2 * half * k / (o.profile_points - 1));
    }
    std::vector<Run> pr(jobs.size());
    tbb::parallel_for(std::size_t{0}, jobs.size(), [&](std::size_t j) {
      pr[j].x = b.x;
      pr[j].x[static_cast<std::size_t>(jobs[j].first)] += jobs[j].second;
      solve(pr[j], jobs[j].first);
    });
    const double scale = std::max(1.0, res.reduced_chi2);
    for (int i : which) {
      CostProfile cp;
      cp.name = l.names[static_cast<std::size_t>(i)];
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        if (jobs[j].first != i) continue;
        cp.values.push_back(pr[j].x[static_cast<std::size_t>(i)]);
        cp.delta_chi2.push_back(2 * (pr[j].summary.final_cost - res.cost) / scale);
        res.evaluations += pr[j].evaluations;
      }
      res.profiles.push_back(std::move(cp));
    }
  }
  res.mean_grain_um = meanGrainSize(o.domain.labels, o.domain.h);
  res.biot = res.best.kappa * res.mean_grain_um / res.best.D_b;
  // Plain-language identifiability warnings (PHYSICS.md: at small Bi the map fixes κ only).
  if (res.standard_errors[0] > 0.5) {
    res.warnings.push_back(fmt::format(
        "D_b is not constrained by the data (uncertainty ±{:.1f} decades; Bi = {:.2g}): grains "
        "mix internally faster than tracer crosses boundaries, so only the boundary "
        "permeance is measured",
        res.standard_errors[0], res.biot));
  }
  if (res.standard_errors[1] > 0.5) {
    res.warnings.push_back(fmt::format(
        "kappa is not constrained by the data (uncertainty ±{:.1f} decades; Bi = {:.2g}): the "
        "boundaries do not resist transport measurably, so kappa is only bounded from below",
        res.standard_errors[1], res.biot));
  }
  if (res.condition_number > 1e8) {
    res.warnings.push_back(
        fmt::format("the fit is ill-conditioned (condition number {:.2g}): parameters trade off",
                    res.condition_number));
  }
  return res;
}

}  // namespace ionmap::diffusion
