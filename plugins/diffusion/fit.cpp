#include "diffusion/fit.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <future>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <Eigen/Dense>

#include "diffusion/bdf2.hpp"
#include "diffusion/fit_detail.hpp"
#include "diffusion/fit_problem.hpp"
#include "diffusion/observation.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/statistics.hpp"

namespace ionmap::diffusion {

Image<double> forward(const Domain& d, const Physics& p, ModelKind kind) {
  if (kind == ModelKind::kGrid) return simulateGrid(d, p);
  const NetworkSensitivities g = networkSensitivities(grainGraph(d), d, p, false);
  Image<double> out(d.labels.width(), d.labels.height());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool source = !d.source_region.empty() && d.source_region[i];
    out[i] = source ? g.source : g.u[static_cast<std::size_t>(d.labels[i])];
  }
  return out;
}

double meanGrainSize(const Image<std::int32_t>& labels, double h) {
  // Pixels per label, counted along runs of one label.
  std::vector<double> area;
  const std::vector<std::int32_t>& v = labels.values();
  for (std::size_t i = 0, run = 0; i < v.size(); i = run) {
    while (run < v.size() && v[run] == v[i]) ++run;
    if (v[i] < 0) continue;
    const auto label = static_cast<std::size_t>(v[i]);
    if (label >= area.size()) area.resize(label + 1, 0.0);
    area[label] += static_cast<double>(run - i);
  }
  for (double& a : area) a *= h * h;
  return detail::meanEquivalentDiameter(area);
}

namespace {

using detail::Data;
using detail::GaussNewtonStop;
using detail::Layout;
using detail::layoutOf;
using detail::MapCost;
using detail::Model;
using detail::Response;
using detail::usableData;

using detail::allowForOptimum;
using detail::boundsOf;
using detail::chi2Quantile1;
using detail::closeAtBounds;
using detail::Coarse;
using detail::coarsen;
using detail::kCoarseMinCells;
using detail::kCoarseTimeFactor;
using detail::majorityProblem;
using detail::widenInterval;

}  // namespace

FitResult fitDiffusion(const Image<double>& f, const Image<double>& sigma,
                       const Image<std::uint8_t>& mask, const FitOptions& o) {
  const int sub = std::max(1, o.subsample);
  if (f.width() * sub != o.domain.labels.width() || f.height() * sub != o.domain.labels.height() ||
      !sigma.sameSize(f) || !mask.sameSize(f)) {
    throw UsageError(fmt::format(
        "the fraction, sigma and mask maps must share one grid, and the labels must be on it or "
        "on a grid {} times finer (here {} x {} values for {} x {} labels): resample them first",
        sub, f.width(), f.height(), o.domain.labels.width(), o.domain.labels.height()));
  }
  if (sub > 1 && (o.model != ModelKind::kGrid || !o.domain.source_region.empty())) {
    throw UsageError(
        "labels finer than the map (the observation model) need the microstructure model and "
        "an edge source");
  }
  // The grid's elimination order (or the network's graph) is built on another thread while the
  // data are prepared (and the coarse levels run); a failed check below still waits for it.
  std::optional<Model> model;
  std::future<void> model_ready = std::async(std::launch::async, [&] { model.emplace(o); });
  Data data = usableData(f, sigma, mask, o.domain, o.model);
  Image<double> sigma_used = sigma;
  if (data.pixels == 0)
    throw UsageError("no pixel has a finite fraction and a positive sigma: nothing to fit");
  const Layout l = layoutOf(o);
  const int n = l.size();
  if (data.pixels <= static_cast<std::size_t>(n))
    throw UsageError("fewer usable pixels than fitted parameters");
  // The mean grain size (for Bi): from the grain graph's areas where they hold every pixel (the
  // network without a source region), else counted here while the model is set up.
  const bool grains_from_graph = o.model == ModelKind::kNetwork && o.domain.source_region.empty();
  double mean_grain_um = grains_from_graph ? 0.0 : meanGrainSize(o.domain.labels, o.domain.h);
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
  int coarse_evaluations = 0, inherited_disagreeing_starts = 0;
  std::vector<double> coarse_values;  // the cheaper problem's optimum, when it was solved
  const int w = o.domain.labels.width(), h = o.domain.labels.height();
  // Solves the starts on a cheaper version of the problem and continues from its optimum. A
  // cheaper problem that cannot be posed (a source region that vanishes when binned, no usable
  // block) or fails to solve only means no shortcut: the starts run here instead.
  auto startFrom = [&](Coarse (*make)(const Image<double>&, const Image<double>&,
                                      const Image<std::uint8_t>&, const FitOptions&)) {
    try {
      const Coarse c = make(f, sigma, mask, o);
      const FitResult cr = fitDiffusion(c.f, c.sigma, c.mask, c.options);
      coarse_evaluations = cr.evaluations;
      inherited_disagreeing_starts = cr.disagreeing_starts;
      coarse_values = cr.values;
      starts.push_back(cr.values);
    } catch (const Error&) {
      starts.clear();
    }
  };
  if (o.coarse_start && sub > 1) {
    // Observation model: the starts are solved on the map's own grid with majority labels
    // (itself coarse-to-fine), and its optimum seeds the fit with the finer labels.
    startFrom(majorityProblem);
  } else if (o.coarse_start && o.model == ModelKind::kGrid &&
             std::min(w, h) >= 2 * kCoarseMinCells &&
             (o.decades > 0 || std::min(w, h) >= o.coarse_single_start_cells)) {
    // Solve the starts on the 2 × 2-binned problem (itself coarse-to-fine while large enough)
    // and continue from its best optimum here: the two optima differ only by the
    // discretisation, so a few full-grid iterations finish the job.
    startFrom(coarsen);
  }
  model_ready.get();  // rethrows what the model's set-up threw
  // The factorisations of every solve below: one per run in flight, and no more than the memory
  // budget holds.
  std::uint64_t bytes_per_run = 0;
  std::size_t runs_at_once = 0;  // 0: as many as the threads run
  if (o.model == ModelKind::kGrid) {
    bytes_per_run = model->runBytes(o.fit_surface_exchange);
    const std::uint64_t budget = o.memory_left ? o.memory_left() : o.memory_budget;
    if (budget > 0) {
      if (bytes_per_run > budget) {
        throw ProcessingError(fmt::format(
            "fit-diffusion: one model run on the {} x {} label grid holds {:.0f} MB (a sparse "
            "LDL^T factorisation and its right-hand sides), more than the {:.0f} MB of the "
            "memory budget left for it (IONMAP_MAX_MEMORY, default half the machine's memory): "
            "raise the budget, or give the fit labels on a coarser grid",
            w, h, static_cast<double>(bytes_per_run) / 1e6, static_cast<double>(budget) / 1e6));
      }
      runs_at_once = static_cast<std::size_t>(budget / bytes_per_run);
    }
  }
  bdf2::WorkspacePool pool(runs_at_once);
  if (sub > 1 && o.boundary_sigma_um > 0) {
    // Errors in the boundaries' positions: their variance per pixel from the model at the
    // start of this fit (the coarse optimum, or the initial values) joins σ_f².
    const Physics at = starts.empty() ? o.initial : l.toPhysics(starts.front().data());
    const Image<double> fine = [&] {  // on the fit's own workspace: no second factorisation
      const bdf2::WorkspacePool::Lease workspace = pool.borrow();
      return model->simulate(at, workspace.get());
    }();
    const Image<double> extra = boundaryPositionVariance(o.domain, sub, fine, o.boundary_sigma_um);
    for (std::size_t i = 0; i < sigma_used.size(); ++i)
      sigma_used[i] = std::sqrt(sigma[i] * sigma[i] + extra[i]);
    data = usableData(f, sigma_used, mask, o.domain, o.model);
  }
  if (grains_from_graph) mean_grain_um = model->meanGrainUm();
  // decades = 0: one start (not nine identical ones).
  const std::vector<double> offsets =
      o.decades > 0 ? std::vector<double>{-o.decades, 0.0, o.decades} : std::vector<double>{0.0};
  for (double a : starts.empty() ? offsets : std::vector<double>{}) {
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
    std::unique_ptr<MapCost> cost;  // kept: its cached runs serve the covariance
  };
  // One bounded solve from x; `held` ≥ 0 keeps that parameter constant (cost profiles).
  // `before`: a solve on the same model whose runs this one may reuse.
  auto solveWith = [&](const Model& m, Run& r, int held, const Run* before) {
    ceres::Problem::Options po;
    po.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
    ceres::Problem problem(po);
    r.cost = std::make_unique<MapCost>(m, l, data, pool);
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
  };
  auto solve = [&](Run& r, int held) { solveWith(*model, r, held, nullptr); };
  // Solves from every start concurrently; the index of the best.
  // `before`: the previous stage's solves on the same model, one per start.
  auto solveAll = [&](const Model& m, std::vector<Run>& runs, int held,
                      const std::vector<Run>* before) {
    tbb::parallel_for(std::size_t{0}, starts.size(), [&](std::size_t s) {
      runs[s].x = starts[s];
      solveWith(m, runs[s], held, before ? &(*before)[s] : nullptr);
    });
    std::size_t best = 0;
    for (std::size_t s = 1; s < runs.size(); ++s) {
      if (runs[s].summary.final_cost < runs[best].summary.final_cost) best = s;
    }
    return best;
  };
  if (o.coarse_start && o.model == ModelKind::kNetwork && o.domain.steps >= 4 * kCoarseTimeFactor) {
    // Coarse in time: the network's starts converge first with an eighth of the time steps
    // (runs about 3× cheaper) and the best of them continues here; the two optima differ only
    // by the time discretisation, so a few full runs finish the job. On that level D_b is
    // first held at its start: where the network is valid (Bi ≪ 1) the map fixes κ and f_s,
    // while D_b only sets how fast the grains at the source fill and is weakly constrained, so
    // Levenberg–Marquardt would first wander along it (512² case B: 4 + 4 coarse runs instead
    // of 12). Then D_b is released, still coarse.
    FitOptions coarse = o;
    coarse.domain.steps = o.domain.steps / kCoarseTimeFactor;
    const Model coarse_model(coarse, *model);
    std::vector<Run> held_runs(starts.size()), coarse_runs(starts.size());
    solveAll(coarse_model, held_runs, l.iD, nullptr);
    for (std::size_t s = 0; s < starts.size(); ++s) {
      starts[s] = held_runs[s].x;
      coarse_evaluations += held_runs[s].evaluations;
    }
    const std::size_t best = solveAll(coarse_model, coarse_runs, -1, &held_runs);
    for (const auto& r : coarse_runs) coarse_evaluations += r.evaluations;
    starts = {coarse_runs[best].x};
  }
  std::vector<Run> runs(starts.size());
  const std::size_t best = solveAll(*model, runs, -1, nullptr);
  for (std::size_t s = 0; s < runs.size(); ++s) {
    if (s != best) runs[s].cost.reset();  // only the best one's cached runs serve below
  }
  FitResult res;
  res.evaluations = res.coarse_evaluations = coarse_evaluations;
  res.bytes_per_run = bytes_per_run;
  res.coarse_values = coarse_values;
  for (const auto& r : runs) res.evaluations += r.evaluations;
  const Run& b = runs[best];
  res.names = l.names;
  res.values = b.x;
  res.best = l.toPhysics(b.x.data());
  res.cost = b.summary.final_cost + data.constant_cost;
  res.residuals = data.pixels;
  res.reduced_chi2 = 2 * res.cost / static_cast<double>(data.pixels - static_cast<std::size_t>(n));
  res.converged = b.summary.termination_type == ceres::CONVERGENCE ||
                  b.summary.termination_type == ceres::USER_SUCCESS;  // GaussNewtonStop
  res.report = b.summary.BriefReport();
  res.sigma_used = std::move(sigma_used);
  {
    const double nu = static_cast<double>(data.pixels - static_cast<std::size_t>(n));
    res.chi2_z = (2 * res.cost - nu) / std::sqrt(2 * nu);
    res.chi2_scale = o.scale_by_chi2 ? std::max(1.0, res.reduced_chi2) : 1.0;
  }
  res.disagreeing_starts = inherited_disagreeing_starts;

  // Uncertainty from the Jacobian at the optimum: covariance (JᵀJ)⁻¹ scaled by the reduced χ².
  {
    std::vector<double> x = b.x;
    MapCost& cost = *b.cost;  // usually holds the final point already
    std::vector<double> r(data.cell.size()), jac(data.cell.size() * static_cast<std::size_t>(n));
    const double* params[] = {x.data()};
    double* jacs[] = {jac.data()};
    if (!cost.Evaluate(params, r.data(), jacs))
      throw ProcessingError("the diffusion model failed at the best-fit parameters");
    res.evaluations += cost.evaluations() - b.evaluations;  // 1 if it was not cached
    // The best-fit map from the same run: f = f_bg + (f_s − f_bg)·u on every cell.
    const std::vector<double>& u = cost.response().u;
    res.source_final = res.best.f_bg + (res.best.f_s - res.best.f_bg) * cost.response().u_source;
    res.model = Image<double>(f.width(), f.height());
    for (std::size_t i = 0; i < res.model.size(); ++i) {
      const std::size_t cell =
          o.model == ModelKind::kGrid ? i : static_cast<std::size_t>(o.domain.labels[i]);
      const bool source = !o.domain.source_region.empty() && o.domain.source_region[i];
      res.model[i] = res.best.f_bg +
                     (res.best.f_s - res.best.f_bg) * (source ? cost.response().u_source : u[cell]);
    }
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
        J(jac.data(), static_cast<Eigen::Index>(data.cell.size()), n);
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(J);
    const auto sv = svd.singularValues();
    res.condition_number = sv(n - 1) > 0 ? sv(0) / sv(n - 1) : INFINITY;
    const Eigen::MatrixXd jtj = J.transpose() * J;
    const Eigen::MatrixXd cov =
        jtj.completeOrthogonalDecomposition().pseudoInverse() * res.chi2_scale;
    res.standard_errors.resize(static_cast<std::size_t>(n));
    res.correlation.assign(static_cast<std::size_t>(n),
                           std::vector<double>(static_cast<std::size_t>(n), 0.0));
    for (int i = 0; i < n; ++i)
      res.standard_errors[static_cast<std::size_t>(i)] = std::sqrt(std::max(0.0, cov(i, i)));
    // Cluster-robust (sandwich) covariance with the grains as clusters: A⁻¹ (Σ_g s_g s_gᵀ) A⁻¹,
    // s_g = Σ_{i∈g} J_iᵀ r_i, A = JᵀJ, with the small-sample factor G/(G − 1). Where the
    // residuals of a grain share an error (its label or boundaries a little off, so that its
    // level is missed as a whole) the pixels are not independent data, and this covariance
    // grows where (JᵀJ)⁻¹ does not; where the model holds the two agree.
    {
      const Image<std::int32_t> grains =
          sub > 1 ? majorityLabels(o.domain.labels, sub) : o.domain.labels;
      std::map<std::int64_t, Eigen::VectorXd> score;
      for (std::size_t i = 0; i < data.cell.size(); ++i) {
        const std::int64_t g = o.model == ModelKind::kGrid
                                   ? static_cast<std::int64_t>(grains[data.cell[i]])
                                   : static_cast<std::int64_t>(i);
        auto [it, fresh] = score.try_emplace(g, Eigen::VectorXd::Zero(n));
        it->second += J.row(static_cast<Eigen::Index>(i)).transpose() * r[i];
      }
      const double clusters = static_cast<double>(score.size());
      if (clusters > 2 * n) {
        Eigen::MatrixXd meat = Eigen::MatrixXd::Zero(n, n);
        for (const auto& [g, sg] : score) meat += sg * sg.transpose();
        const Eigen::MatrixXd ainv = jtj.completeOrthogonalDecomposition().pseudoInverse();
        const Eigen::MatrixXd robust = ainv * meat * ainv * (clusters / (clusters - 1));
        res.robust_scale.assign(static_cast<std::size_t>(n), 1.0);
        for (int i = 0; i < n; ++i) {
          if (cov(i, i) > 0 && robust(i, i) > cov(i, i))
            res.robust_scale[static_cast<std::size_t>(i)] = std::sqrt(robust(i, i) / cov(i, i));
        }
      }
    }
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
      pr[j].cost.reset();  // its cached runs are not needed again
    });
    const double scale = res.chi2_scale;
    for (int i : which) {
      CostProfile cp;
      cp.name = l.names[static_cast<std::size_t>(i)];
      for (std::size_t j = 0; j < jobs.size(); ++j) {
        if (jobs[j].first != i) continue;
        cp.values.push_back(pr[j].x[static_cast<std::size_t>(i)]);
        cp.delta_chi2.push_back(2 * (pr[j].summary.final_cost - b.summary.final_cost) / scale);
        res.evaluations += pr[j].evaluations;
      }
      res.profiles.push_back(std::move(cp));
    }
  }
  // Starts that converged to a cost within Δχ² = 4 of the best but more than 3 standard errors
  // away in a rate parameter: the data do not single out one optimum.
  for (std::size_t s = 0; s < runs.size(); ++s) {
    if (s == best || runs[s].x.empty()) continue;
    const auto& rs = runs[s].summary;
    if (rs.termination_type != ceres::CONVERGENCE && rs.termination_type != ceres::USER_SUCCESS)
      continue;
    if (2 * (rs.final_cost - b.summary.final_cost) / res.chi2_scale > 4) continue;
    for (int i : {l.iD, l.iK, l.ik}) {
      if (i < 0) continue;
      const auto k = static_cast<std::size_t>(i);
      if (std::abs(runs[s].x[k] - b.x[k]) > 3 * std::max(1e-3, res.standard_errors[k])) {
        ++res.disagreeing_starts;
        break;
      }
    }
  }
  // Parameters that ended on a search bound.
  for (int i = 0; i < n; ++i) {
    const auto [lo, hi] = boundsOf(l, o, i);
    const double v = b.x[static_cast<std::size_t>(i)];
    if (v <= lo + 1e-6 * (hi - lo) || v >= hi - 1e-6 * (hi - lo))
      res.on_bound.push_back(l.names[static_cast<std::size_t>(i)]);
  }
  if (o.interval_level > 0) {
    res.interval_level = o.interval_level;
    const double level = chi2Quantile1(o.interval_level);
    struct SideResult {
      double limit = 0;
      bool open = false;
      int evaluations = 0, points = 0;
      std::vector<std::pair<double, double>> profile;  // (value, Δχ²)
    };
    const std::size_t sides = 2 * static_cast<std::size_t>(n);
    std::vector<SideResult> sr(sides);
    // Steps out from the optimum along parameter i (direction dir) with the others re-optimised,
    // until Δχ² reaches `level` (secant on the signed root √Δχ², which is linear in the step
    // where the quadratic picture holds) or the search bound is reached (open side).
    tbb::parallel_for(std::size_t{0}, sides, [&](std::size_t side) {
      const int i = static_cast<int>(side / 2);
      const double dir = side % 2 == 0 ? -1.0 : 1.0;
      const auto k = static_cast<std::size_t>(i);
      const auto [lo, hi] = boundsOf(l, o, i);
      const double x0 = b.x[k], bound = dir < 0 ? lo : hi, room = std::abs(bound - x0);
      SideResult& out = sr[side];
      if (room < 1e-9) {
        out.limit = bound, out.open = true;
        return;
      }
      const double target = std::sqrt(level);
      double step = std::min(room, target * std::max(1e-4, res.standard_errors[k]));
      double lo_step = 0, lo_r = 0, hi_step = -1, hi_r = 0;
      std::vector<double> warm = b.x;
      bool done = false;
      for (int iter = 0; iter < 10 && !done; ++iter) {
        Run pr;
        pr.x = warm;
        pr.x[k] = x0 + dir * step;
        solveWith(*model, pr, i, nullptr);
        out.evaluations += pr.evaluations;
        ++out.points;
        const double d = 2 * (pr.summary.final_cost - b.summary.final_cost) / res.chi2_scale;
        out.profile.emplace_back(pr.x[k], d);
        const double r = std::sqrt(std::max(0.0, d));
        if (std::abs(d - level) < 0.05 * level) {
          out.limit = x0 + dir * step;
          done = true;
        } else if (d < level) {
          lo_step = step, lo_r = r, warm = pr.x;
          if (step >= room * (1 - 1e-9)) {
            out.limit = bound, out.open = true;
            done = true;
          } else if (hi_step > 0) {
            step = lo_step + (target - lo_r) * (hi_step - lo_step) / (hi_r - lo_r);
          } else {
            step = std::min(room, r > 0.2 ? 1.1 * step * target / r : 4 * step);
          }
        } else {
          hi_step = step, hi_r = r;
          step = lo_step + (target - lo_r) * (hi_step - lo_step) / (hi_r - lo_r);
        }
      }
      if (!done) {  // bracketed but not within tolerance after the iterations: interpolate
        out.limit = hi_step > 0 ? x0 + dir * (lo_step + (target - lo_r) * (hi_step - lo_step) /
                                                            std::max(1e-12, hi_r - lo_r))
                                : bound;
        out.open = hi_step <= 0;
      }
    });
    for (int i = 0; i < n; ++i) {
      const SideResult& down = sr[2 * static_cast<std::size_t>(i)];
      const SideResult& up = sr[2 * static_cast<std::size_t>(i) + 1];
      ProfileInterval pi;
      pi.low = down.limit, pi.low_open = down.open;
      pi.high = up.limit, pi.high_open = up.open;
      pi.evaluations = down.points + up.points;
      {
        const auto [lo, hi] = boundsOf(l, o, i);
        closeAtBounds(pi, lo, hi);
      }
      res.evaluations += down.evaluations + up.evaluations;
      res.interval_evaluations += down.evaluations + up.evaluations;
      for (const auto* side : {&down, &up}) {
        for (const auto& pt : side->profile)
          res.profile_improvement = std::min(res.profile_improvement, pt.second);
      }
      res.intervals.push_back(pi);
      // The points become the cost profile of a rate parameter when no fixed grid was asked.
      const bool rate = i == l.iD || i == l.iK || i == l.ik;
      if (rate && o.profile_points < 3) {
        CostProfile cp;
        cp.name = l.names[static_cast<std::size_t>(i)];
        std::vector<std::pair<double, double>> pts = down.profile;
        pts.insert(pts.end(), up.profile.begin(), up.profile.end());
        pts.emplace_back(b.x[static_cast<std::size_t>(i)], 0.0);
        std::sort(pts.begin(), pts.end());
        for (const auto& pt : pts)
          cp.values.push_back(pt.first), cp.delta_chi2.push_back(pt.second);
        res.profiles.push_back(std::move(cp));
      }
    }
  }
  // The cluster-robust scale widens the standard errors and the closed sides of the intervals
  // (a profile computed as if every pixel were independent, stretched about the optimum).
  res.statistical_errors = res.standard_errors;
  for (std::size_t i = 0; i < res.robust_scale.size(); ++i) {
    const double k = res.robust_scale[i];
    res.standard_errors[i] *= k;
    if (i >= res.intervals.size() || k <= 1) continue;
    ProfileInterval& pi = res.intervals[i];
    widenInterval(pi, b.x[i] - k * (b.x[i] - pi.low), b.x[i] + k * (pi.high - b.x[i]),
                  boundsOf(l, o, static_cast<int>(i)));
  }
  // Systematic error from where the labels sit (registration, segmentation offsets): refits
  // with the label map moved by one cell along +x, −x, +y, −y, from the optimum. Along each
  // axis the three costs give the offset s* the data prefer and its uncertainty σ_s (a parabola
  // in the shift: Δχ² = C (s − s*)²), and the three optima each parameter's response a per cell;
  // its systematic error is |a|·√(s*² + σ_s²) per axis, in quadrature, added to the statistical
  // error and to the intervals' half-widths (z·σ_sys in quadrature). The fit itself stays at
  // the labels as given.
  if (o.label_ensemble > 0 && o.model == ModelKind::kGrid) {
    static const int kShift[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
    std::vector<Run> member(4);
    // At once when more than one run fits in the memory budget; one after the other otherwise
    // (a member waiting for the one workspace would hold its own labels and model meanwhile).
    auto forEachMember = [&](auto&& fit) {
      if (runs_at_once == 1) {
        for (int k = 0; k < 4; ++k) fit(k);
      } else {
        tbb::parallel_for(0, 4, fit);
      }
    };
    forEachMember([&](int k) {
      FitOptions po = o;
      po.domain.labels = shiftLabels(o.domain.labels, kShift[k][0], kShift[k][1]);
      if (!o.domain.kappa_scale_x.empty()) correctStaircase(po.domain);
      const Model pm(po, *model);  // the grid's ordering does not depend on the labels
      Run& pr = member[static_cast<std::size_t>(k)];
      pr.x = b.x;
      solveWith(pm, pr, -1, nullptr);
      pr.cost.reset();  // its model is local to this task
    });
    res.systematic_errors.assign(static_cast<std::size_t>(n), 0.0);
    const double c0 = b.summary.final_cost;
    for (int axis = 0; axis < 2; ++axis) {
      const Run& plus = member[static_cast<std::size_t>(2 * axis)];
      const Run& minus = member[static_cast<std::size_t>(2 * axis + 1)];
      res.evaluations += plus.evaluations + minus.evaluations;
      res.systematic_evaluations += plus.evaluations + minus.evaluations;
      const double cp = plus.summary.final_cost, cm = minus.summary.final_cost;
      const double curvature = (cp + cm - 2 * c0) / res.chi2_scale;  // Δχ² per cell², /2 ×2
      double offset = 1, spread = 1;  // no minimum inside ±1 cell: a whole cell either way
      if (curvature > 0) {
        offset = std::min(1.0, std::abs(cm - cp) / (2 * (cp + cm - 2 * c0)));
        spread = std::min(1.0, 1 / std::sqrt(curvature));
      }
      res.label_offset_cells[static_cast<std::size_t>(axis)] = (cm > cp ? 1 : -1) * offset;
      for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const double a = 0.5 * (plus.x[k] - minus.x[k]);
        res.systematic_errors[k] += a * a * (offset * offset + spread * spread);
      }
    }
    const double z = o.interval_level > 0 ? normalQuantile(0.5 * (1 + o.interval_level)) : 0;
    for (int i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const double sys = std::sqrt(res.systematic_errors[k]);
      res.systematic_errors[k] = sys;
      res.standard_errors[k] = std::hypot(res.standard_errors[k], sys);
      if (k >= res.intervals.size()) continue;
      ProfileInterval& pi = res.intervals[k];
      widenInterval(pi, b.x[k] - std::hypot(b.x[k] - pi.low, z * sys),
                    b.x[k] + std::hypot(pi.high - b.x[k], z * sys), boundsOf(l, o, i));
    }
  }
  res.mean_grain_um = mean_grain_um;
  res.biot = res.best.kappa * res.mean_grain_um / res.best.D_b;
  // Identifiability of D_b (PHYSICS.md): D_b is read from the grains' internal gradients, whose
  // size relative to the jumps at the boundaries is ~Bi in steady exchange and ~d²/(D_b t)
  // while a grain is still filling. The labels place boundaries to within a cell h, which
  // disturbs the apparent internal gradients by ~h/d of the jumps. Below twice that, the upper
  // side of D_b is set by the label grid, not by the data: D_b is a lower bound. The signal
  // must be there throughout D_b's interval, so it is judged at the interval's upper limit
  // (label errors pull D_b low, and a D_b pulled low would otherwise vouch for itself).
  {
    // l.names[0] is always log10_D_b; intervals exist when interval_level > 0.
    ProfileInterval* pd = res.intervals.empty() ? nullptr : &res.intervals.front();
    const double d = res.mean_grain_um, h = o.domain.h;
    const double D =
        pd && !pd->high_open ? std::max(res.best.D_b, std::pow(10.0, pd->high)) : res.best.D_b;
    const double biot_at_D = res.best.kappa * d / D;
    res.d_bulk_signal = std::max(biot_at_D, d * d / (D * o.domain.time));
    res.d_bulk_signal_needed = kDBulkSignalPerCellFraction * h / d;
    if (pd && res.d_bulk_signal < res.d_bulk_signal_needed && !pd->high_open) {
      pd->high_open = true;
      pd->high = std::nan("");
      // D_b may then lie anywhere above its limit, and the other parameters must allow for it
      // (they trade off against D_b: a D_b pulled low by the label grid pulls f_s up). Refit with
      // D_b held 100× higher (grains uniform for this map) and widen each other interval to hold
      // that refit's own interval; the shift joins the systematic error.
      Run up;
      up.x = b.x;
      up.x[0] = std::min(boundsOf(l, o, 0).second, b.x[0] + 2.0);
      solveWith(*model, up, 0, nullptr);
      res.evaluations += up.evaluations;
      res.systematic_evaluations += up.evaluations;
      res.uniform_grain_values = up.x;
      allowForOptimum(res, up.x, l, o, 1);
      // What would make D_b measurable: larger grains (Bi·d/h grows as d²) or an exchange
      // short enough that grains are still filling.
      const double d_needed = std::sqrt(kDBulkSignalPerCellFraction * h * D / res.best.kappa);
      const double t_needed = d * d * d / (kDBulkSignalPerCellFraction * h * D);
      res.warnings.push_back(fmt::format(
          "D_b is reported as a lower bound only: at D_b = {:.3g} cm^2/s (the upper end of its "
          "profile interval) grains equilibrate internally (Bi = {:.2g}, d^2/(D_b t) = {:.2g}), "
          "so their internal gradients ({:.2g} of the boundary jumps) are below what the label "
          "grid resolves ({:.2g} = 2 h/d with cells of {:.3g} um and grains of {:.3g} um); D_b "
          "would be measured with grains of >= {:.2g} um, or an exchange time <= {:.2g} s",
          D * 1e-8, biot_at_D, d * d / (D * o.domain.time), res.d_bulk_signal,
          res.d_bulk_signal_needed, h, d, d_needed, t_needed));
    }
  }
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
  res.runs_at_once = pool.made();
  return res;
}

}  // namespace ionmap::diffusion
