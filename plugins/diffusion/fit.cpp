#include "diffusion/fit.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <Eigen/Dense>

#include "diffusion/bdf2.hpp"
#include "diffusion/edge_contacts.hpp"
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
using detail::boundDBulkWhereUnresolved;
using detail::boundsOf;
using detail::chi2Quantile1;
using detail::closeAtBounds;
using detail::Coarse;
using detail::coarsen;
using detail::costProfiles;
using detail::covarianceAtOptimum;
using detail::kCoarseMinCells;
using detail::kCoarseTimeFactor;
using detail::labelShiftErrors;
using detail::majorityProblem;
using detail::profileIntervals;
using detail::Run;
using detail::Solver;
using detail::widenForClusters;
using detail::widenInterval;

// The maps on one grid, the labels on it or `subsample` times finer (observation model: grid
// model and an edge source only).
void checkGrids(const Image<double>& f, const Image<double>& sigma, const Image<std::uint8_t>& mask,
                const FitOptions& o) {
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
}

// How many model runs fit in what is left of the memory budget (0: no limit, as many as the
// threads run); a grid whose single run does not fit is refused here, before any run.
std::size_t runsAtOnce(const FitOptions& o, std::uint64_t bytes_per_run) {
  if (bytes_per_run == 0) return 0;
  const std::uint64_t budget = o.memory_left ? o.memory_left() : o.memory_budget;
  if (budget == 0) return 0;
  if (bytes_per_run > budget) {
    throw ProcessingError(fmt::format(
        "fit-diffusion: one model run on the {} x {} label grid holds {:.0f} MB (a sparse LDL^T "
        "factorisation and its right-hand sides), more than the {:.0f} MB of the memory budget "
        "left for it (IONMAP_MAX_MEMORY, default half the machine's memory): raise the budget, "
        "or give the fit labels on a coarser grid",
        o.domain.labels.width(), o.domain.labels.height(), static_cast<double>(bytes_per_run) / 1e6,
        static_cast<double>(budget) / 1e6));
  }
  return static_cast<std::size_t>(budget / bytes_per_run);
}

// The multi-start grid over decades of D_b and κ (one start when decades = 0, not nine
// identical ones).
std::vector<std::vector<double>> startGrid(const FitOptions& o, const Layout& l) {
  std::vector<std::vector<double>> starts;
  const std::vector<double> offsets =
      o.decades > 0 ? std::vector<double>{-o.decades, 0.0, o.decades} : std::vector<double>{0.0};
  for (double a : offsets) {
    for (double b : offsets) {
      std::vector<double> x(static_cast<std::size_t>(l.size()));
      x[0] = std::log10(o.initial.D_b) + a;
      x[1] = std::log10(o.initial.kappa) + b;
      if (l.ik >= 0) x[static_cast<std::size_t>(l.ik)] = std::log10(o.initial.k_surface);
      if (l.ifs >= 0) x[static_cast<std::size_t>(l.ifs)] = o.initial.f_s;
      if (l.ifb >= 0) x[static_cast<std::size_t>(l.ifb)] = o.initial.f_bg;
      starts.push_back(x);
    }
  }
  return starts;
}

// Starts that converged to a cost within Δχ² = 4 of the best but more than 3 standard errors
// away in a rate parameter: the data do not single out one optimum.
int disagreeingStarts(const std::vector<Run>& runs, std::size_t best, const FitResult& res,
                      const Layout& l) {
  int count = 0;
  const Run& b = runs[best];
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
        ++count;
        break;
      }
    }
  }
  return count;
}

// The parameters that ended on a search bound.
std::vector<std::string> onBound(const std::vector<double>& x, const Layout& l,
                                 const FitOptions& o) {
  std::vector<std::string> names;
  for (int i = 0; i < l.size(); ++i) {
    const auto [lo, hi] = boundsOf(l, o, i);
    const double v = x[static_cast<std::size_t>(i)];
    if (v <= lo + 1e-6 * (hi - lo) || v >= hi - 1e-6 * (hi - lo))
      names.push_back(l.names[static_cast<std::size_t>(i)]);
  }
  return names;
}

// Plain-language warnings for parameters the data do not constrain, and an ill-conditioned fit.
void identifiabilityWarnings(FitResult& res) {
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
}

// FitOptions::edge_contacts: the candidate edits of the labels' first row along the source
// edge, run at `at` (the fit's optimum on the labels as drawn). One run as drawn first: an edit is
// worth trying only where it would move a grain's level the way the data ask (a cover for a grain
// the model over-predicts as a whole by more than kEdgeEditZ standard errors of its mean, a fill
// where a grain behind the sliver is under-predicted so). Those are run on the whole grid, in
// batches, and marked accepted when they lower χ² (σ as given, usable pixels near them) by
// more than kEdgeEditGain; of accepted edits that change the same cells, the better one.
inline constexpr double kEdgeEditZ = 3.0, kEdgeReachUm = 6.0;
std::vector<EdgeEdit> tryEdgeEdits(const Image<double>& f, const Image<double>& sigma,
                                   const Image<std::uint8_t>& mask, const FitOptions& o,
                                   const Model& model, const Physics& at, bdf2::WorkspacePool& pool,
                                   int& runs) {
  std::vector<EdgeEdit> edits = edgeContactEdits(o.domain);
  runs = 0;
  if (edits.empty()) return edits;
  const int sub = std::max(1, o.subsample);
  // Normalised residuals per map pixel (NaN where not usable).
  auto residuals = [&](const Model& m) {
    const Image<double> fine = [&] {
      const bdf2::WorkspacePool::Lease workspace = pool.borrow();
      return m.simulate(at, workspace.get());
    }();
    std::vector<double> r =
        observe(fine.values(), f.width(), f.height(), sub, o.boundary_blur_um / o.domain.h);
    for (std::size_t i = 0; i < r.size(); ++i) {
      r[i] = mask[i] && std::isfinite(f[i]) && sigma[i] > 0
                 ? (r[i] - f[i]) / sigma[i]
                 : std::numeric_limits<double>::quiet_NaN();
    }
    return r;
  };
  const std::vector<double> base = residuals(model);
  // Each grain's mean residual in standard errors of that mean, over the pixels whose
  // top-left cell it holds.
  std::map<std::int32_t, std::pair<double, double>> sums;  // label -> (Σr, n)
  for (int y = 0; y < f.height(); ++y) {
    for (int x = 0; x < f.width(); ++x) {
      const double r = base[static_cast<std::size_t>(y) * static_cast<std::size_t>(f.width()) +
                            static_cast<std::size_t>(x)];
      if (!std::isfinite(r)) continue;
      auto& s = sums[o.domain.labels(x * sub, y * sub)];
      s.first += r, s.second += 1;
    }
  }
  auto z = [&](std::int32_t label) {
    const auto it = sums.find(label);
    return it == sums.end() || it->second.second < 1
               ? 0.0
               : it->second.first / std::sqrt(it->second.second);
  };
  std::vector<std::size_t> worth;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const EdgeEdit& e = edits[i];
    bool asked = false;
    if (e.kind == EdgeEdit::kCover) {
      asked = z(e.grain) > kEdgeEditZ;
    } else {
      for (int k = e.first; k <= e.last && !asked; ++k) {
        const auto [x, y] = edgeCell(o.domain, k, 1);
        asked = z(o.domain.labels(x, y)) < -kEdgeEditZ;
      }
    }
    if (asked) worth.push_back(i);
  }
  // The edits worth trying go in batches whose members lie at least 2 kEdgeReachUm apart
  // along the edge: one run per batch, each edit judged on the pixels within kEdgeReachUm of
  // its centre along the edge (all depths), which the others do not reach.
  const double cell = o.domain.h, pixel = cell * sub;
  auto centre = [&](const EdgeEdit& e) { return 0.5 * (e.first + e.last + 1) * cell; };
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t i : worth) {
    auto fits = [&](const std::vector<std::size_t>& b) {
      for (std::size_t j : b) {
        if (std::abs(centre(edits[i]) - centre(edits[j])) < 2 * kEdgeReachUm) return false;
      }
      return true;
    };
    auto it = std::find_if(batches.begin(), batches.end(), fits);
    if (it == batches.end())
      batches.push_back({i});
    else
      it->push_back(i);
  }
  const bool columns = o.domain.source == Edge::kLeft || o.domain.source == Edge::kRight;
  runs = 1 + static_cast<int>(batches.size());
  tbb::parallel_for(std::size_t{0}, batches.size(), [&](std::size_t b) {
    FitOptions edited = o;
    for (std::size_t i : batches[b]) edited.domain.labels = applyEdgeEdit(edited.domain, edits[i]);
    const Model m(edited, model);  // same grid: the same elimination order
    const std::vector<double> r = residuals(m);
    for (std::size_t i : batches[b]) {
      EdgeEdit& e = edits[i];
      double delta = 0;
      for (int y = 0; y < f.height(); ++y) {
        for (int x = 0; x < f.width(); ++x) {
          const double along = ((columns ? y : x) + 0.5) * pixel;
          if (std::abs(along - centre(e)) > kEdgeReachUm) continue;
          const std::size_t k = static_cast<std::size_t>(y) * static_cast<std::size_t>(f.width()) +
                                static_cast<std::size_t>(x);
          if (std::isfinite(base[k])) delta += r[k] * r[k] - base[k] * base[k];
        }
      }
      e.tried = true;
      e.delta_chi2 = delta;
      e.accepted = std::isfinite(delta) && delta < -kEdgeEditGain;
    }
  });
  for (auto& a : edits) {
    for (const auto& b : edits) {
      if (&a == &b || !a.accepted || !b.accepted) continue;
      const bool overlap = a.first <= b.last && b.first <= a.last;
      if (overlap && (b.delta_chi2 < a.delta_chi2 || (b.delta_chi2 == a.delta_chi2 && &b < &a)))
        a.accepted = false;
    }
  }
  return edits;
}

// FitOptions::fit_boundary_blur: the blur at which the data are best described, from refits at
// the optimum `b` (one Gauss–Newton step each: the optimum moves by a few standard errors
// between them). The blur's leading effect on the model is ∝ b² (the diffusion equation's:
// b²/2 · ∇²u), so χ² is about a parabola in b² near its minimum: refits at 0, ½ and 1 cell
// place it, one more refit there, and the parabola through the three lowest refits (the
// parabola over a whole cell is flatter than near the minimum: on a 256² case it put the
// minimum at 0.067 µm, the finer one at 0.058).
struct BlurEstimate {
  double blur_um = 0, se_um = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x;  // the refit's parameters nearest to the blur found
  int runs = 0;
  bool curved = true;  // false: χ² is not curved upwards in b², the lowest refit stands
  std::string note;
};

BlurEstimate measureBoundaryBlur(const FitOptions& o, const Solver& solver, const Model& model,
                                 const Run& b, bool one_at_a_time) {
  const double h = o.domain.h, s_max = 4 * h * h;  // at most two cells
  FitOptions near = o;
  near.dogleg = true;
  const Solver near_solver(near, solver.layout(), solver.data(), solver.pool());
  struct Point {
    double s = 0, cost = 0;  // b², ½χ²
    std::vector<double> x;
  };
  BlurEstimate e;
  auto refit = [&](double blur) {
    FitOptions ob = o;
    ob.boundary_blur_um = blur;
    const Model m(ob, model);  // the same domain: its ordering is shared
    Run r;
    r.x = b.x;
    near_solver.solveNear(m, r, -1, std::numeric_limits<double>::infinity());
    return std::pair{Point{blur * blur, r.summary.final_cost, r.x}, r.evaluations};
  };
  std::vector<Point> points(3);
  std::array<int, 3> runs{};
  const std::array<double, 3> first = {0.0, 0.5 * h, h};
  auto one = [&](int k) {
    const auto i = static_cast<std::size_t>(k);
    std::tie(points[i], runs[i]) = refit(first[i]);
  };
  if (one_at_a_time) {
    for (int k = 0; k < 3; ++k) one(k);
  } else {
    tbb::parallel_for(0, 3, one);
  }
  for (const int r : runs) e.runs += r;
  // Minimum and curvature (½χ² per (µm²)²) of the parabola through three points; C ≤ 0 when
  // not curved upwards.
  auto parabola = [](const std::vector<Point>& p, double& s_min, double& C) {
    const double d01 = (p[1].cost - p[0].cost) / (p[1].s - p[0].s),
                 d12 = (p[2].cost - p[1].cost) / (p[2].s - p[1].s);
    C = (d12 - d01) / (p[2].s - p[0].s);
    s_min = C > 0 ? -(d01 - C * (p[0].s + p[1].s)) / (2 * C) : 0;
  };
  double s_hat = 0, C = 0;
  parabola(points, s_hat, C);
  if (C > 0 && s_hat > 0 && s_hat < s_max) {
    auto [p, runs_here] = refit(std::sqrt(s_hat));
    e.runs += runs_here;
    points.push_back(std::move(p));
    std::vector<Point> low = points;
    std::sort(low.begin(), low.end(),
              [](const Point& a, const Point& c) { return a.cost < c.cost; });
    low.resize(3);
    std::sort(low.begin(), low.end(), [](const Point& a, const Point& c) { return a.s < c.s; });
    double s2 = 0, C2 = 0;
    parabola(low, s2, C2);
    if (C2 > 0) s_hat = s2, C = C2;
  }
  std::string how;
  if (C > 0) {
    s_hat = std::clamp(s_hat, 0.0, s_max);
    const double ds = std::sqrt(0.5 / C);  // Δ(½χ²) = ½
    e.se_um = s_hat > ds * ds ? ds / (2 * std::sqrt(s_hat)) : std::sqrt(ds);
    how = s_hat == 0       ? "chi^2 rises from 0: the drawn boundaries are where the data put them"
          : s_hat == s_max ? "at its upper limit, 2 cells: the drawn boundaries scatter more"
                           : "the minimum of chi^2 against the blur's square";
  } else {
    s_hat = std::min_element(points.begin(), points.end(), [](const Point& a, const Point& c) {
              return a.cost < c.cost;
            })->s;
    how = "chi^2 is not curved in the blur: its lowest refit";
    e.curved = false;
  }
  e.blur_um = std::sqrt(s_hat);
  const auto nearest =
      std::min_element(points.begin(), points.end(), [&](const Point& a, const Point& c) {
        return std::abs(a.s - s_hat) < std::abs(c.s - s_hat);
      });
  e.x = nearest->x;
  std::string tried;
  for (const Point& p : points)
    tried +=
        fmt::format("{}{:.4f} um: {:.1f}", tried.empty() ? "" : ", ", std::sqrt(p.s), 2 * p.cost);
  e.note = fmt::format("{:.4f} um ({}); chi^2 of the refits at {}", e.blur_um, how, tried);
  return e;
}

}  // namespace

FitResult fitDiffusion(const Image<double>& f, const Image<double>& sigma,
                       const Image<std::uint8_t>& mask, const FitOptions& o) {
  const int sub = std::max(1, o.subsample);
  checkGrids(f, sigma, mask, o);
  // Wall-clock time per part of the work (FitResult::seconds).
  std::vector<std::pair<std::string, double>> seconds;
  auto lap = [&seconds, last = std::chrono::steady_clock::now()](const char* what) mutable {
    const auto now = std::chrono::steady_clock::now();
    seconds.emplace_back(what, std::chrono::duration<double>(now - last).count());
    last = now;
  };
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
  if (std::string why; !o.IsValid(&why)) throw UsageError("fit options: " + why);

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
  if (!o.start_from.empty()) {
    if (o.start_from.size() != static_cast<std::size_t>(n))
      throw UsageError("fit options: start_from does not hold one value per fitted parameter");
    starts.push_back(o.start_from);
    coarse_values = o.start_from;
  } else if (o.coarse_start && sub > 1) {
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
  // budget holds (0: as many as the threads run).
  const std::uint64_t bytes_per_run =
      o.model == ModelKind::kGrid ? model->runBytes(o.fit_surface_exchange) : 0;
  const std::size_t runs_at_once = runsAtOnce(o, bytes_per_run);
  bdf2::WorkspacePool pool(runs_at_once);
  const bool boundary_variance = sub > 1 && o.boundary_sigma_um > 0;
  const bool model_weights = o.variance_from_model && !starts.empty();
  std::size_t weights_limited = 0;  // pixels whose model/data variance ratio left [1/4, 4]
  if (boundary_variance || model_weights) {
    // The model at the start of this fit (the coarse optimum, or the initial values): it sets
    // the weights (variance_from_model: the cheaper problem's optimum depends on all pixels,
    // not on one pixel's noise) and the variance from errors in the boundaries' positions,
    // which joins σ_f².
    const Physics at = starts.empty() ? o.initial : l.toPhysics(starts.front().data());
    const Image<double> fine = [&] {  // on the fit's own workspace: no second factorisation
      const bdf2::WorkspacePool::Lease workspace = pool.borrow();
      return model->simulate(at, workspace.get());
    }();
    std::vector<double> var(sigma.size());
    for (std::size_t i = 0; i < var.size(); ++i) var[i] = sigma[i] * sigma[i];
    if (model_weights) {
      const std::vector<double> m = sub > 1 ? observe(fine.values(), f.width(), f.height(), sub,
                                                      o.boundary_blur_um / o.domain.h)
                                            : fine.values();
      for (std::size_t i = 0; i < var.size(); ++i) {
        const double measured = f[i] * (1 - f[i]), modelled = m[i] * (1 - m[i]);
        if (!(measured > 0 && modelled > 0)) continue;
        const double ratio = modelled / measured;
        if ((ratio < 0.25 || ratio > 4.0) && mask[i]) ++weights_limited;  // of the fitted ones
        var[i] *= std::clamp(ratio, 0.25, 4.0);
      }
    }
    if (boundary_variance) {
      const Image<double> extra =
          boundaryPositionVariance(o.domain, sub, fine, o.boundary_sigma_um);
      for (std::size_t i = 0; i < var.size(); ++i) var[i] += extra[i];
    }
    for (std::size_t i = 0; i < sigma_used.size(); ++i) sigma_used[i] = std::sqrt(var[i]);
    data = usableData(f, sigma_used, mask, o.domain, o.model);
  }
  if (grains_from_graph) mean_grain_um = model->meanGrainUm();
  if (starts.empty()) starts = startGrid(o, l);
  const Solver solver(o, l, data, pool);
  // Solves from every start concurrently; the index of the best.
  // `before`: the previous stage's solves on the same model, one per start.
  auto solveAll = [&](const Model& m, std::vector<Run>& runs, int held,
                      const std::vector<Run>* before) {
    tbb::parallel_for(std::size_t{0}, starts.size(), [&](std::size_t s) {
      runs[s].x = starts[s];
      solver.solve(m, runs[s], held, before ? &(*before)[s] : nullptr);
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
  lap("start (cheaper problem, model set-up)");
  std::vector<Run> runs(starts.size());
  const std::size_t best = solveAll(*model, runs, -1, nullptr);
  lap("fit");
  std::string edge_note;  // FitOptions::edge_contacts: the edits tried, none kept
  int edge_runs = 0;      // model runs that judged them
  // A fit that continues from here on other labels or another blur (a recursion) reports the
  // work done so far too: `more` runs besides the solves, and this fit's seconds, its own
  // "fit" renamed `fit_name`.
  auto inherit = [&](FitResult& r, int more, const char* fit_name) {
    r.evaluations += coarse_evaluations + edge_runs + more;
    for (const auto& run : runs) r.evaluations += run.evaluations;
    r.coarse_evaluations += coarse_evaluations;
    r.disagreeing_starts += inherited_disagreeing_starts;
    if (!coarse_values.empty()) r.coarse_values = coarse_values;
    for (auto& [what, t] : seconds) {
      if (what == "fit") what = fit_name;
    }
    r.seconds.insert(r.seconds.begin(), seconds.begin(), seconds.end());
  };
  if (o.edge_contacts && sub > 1 && o.model == ModelKind::kGrid && o.domain.source_region.empty()) {
    // Which grains touch the source: the edits of the edge's first row that the data prefer
    // at this optimum. When there are any, the fit runs again on the edited labels from here.
    // (Judged at the cheaper problem's optimum instead, edits made up for its parameters: on a
    // 48² campaign map χ²/ν went from 1.28 to 3.76.)
    std::vector<EdgeEdit> edits = tryEdgeEdits(f, sigma_used, mask, o, *model,
                                               l.toPhysics(runs[best].x.data()), pool, edge_runs);
    lap("source-edge contacts (a run as drawn, one per batch of edits worth trying)");
    if (std::any_of(edits.begin(), edits.end(), [](const EdgeEdit& e) { return e.accepted; })) {
      FitOptions edited = o;
      edited.edge_contacts = false;
      edited.start_from = runs[best].x;
      edited.domain.ordering = model->ordering();  // the labels do not change the order
      for (const EdgeEdit& e : edits) {  // fills first, then covers (edgeContactEdits' order)
        if (e.accepted) edited.domain.labels = applyEdgeEdit(edited.domain, e);
      }
      FitResult r = fitDiffusion(f, sigma, mask, edited);
      r.edge_contacts = describeEdgeEdits(edits, o.domain.h);
      inherit(r, 0, "fit on the labels as drawn");
      return r;
    }
    edge_note = describeEdgeEdits(edits, o.domain.h);
  }
  if (o.fit_boundary_blur && sub > 1 && o.model == ModelKind::kGrid) {
    // How far the drawn boundaries scatter about where the data put them: measured here, after
    // the edge contacts are decided (a grain's wrong contact misfits by thousands in χ² and
    // would decide the blur instead), and the fit runs again at that blur from this optimum.
    const BlurEstimate e = measureBoundaryBlur(o, solver, *model, runs[best], runs_at_once == 1);
    lap("boundary blur (refits at three blurs)");
    FitOptions next = o;
    next.fit_boundary_blur = false;
    next.edge_contacts = false;  // decided above
    next.boundary_blur_um = e.blur_um;
    next.start_from = e.x;
    next.domain.ordering = model->ordering();  // the same grid: no second ordering
    FitResult r = fitDiffusion(f, sigma, mask, next);
    r.boundary_blur_se_um = e.se_um;
    r.boundary_blur = e.note;
    r.edge_contacts = edge_note;
    inherit(r, e.runs, "fit at the blur as given");
    if (!e.curved)
      r.warnings.push_back(fmt::format(
          "the boundaries' blur is not measured: chi^2 is not curved in it between 0 and a "
          "label cell ({} um), so the model is blurred by the refit that described the data "
          "best, {:.3f} um (note boundary_blur lists the refits); set boundary_blur to the "
          "boundaries' known scatter if that is not plausible",
          o.domain.h, e.blur_um));
    return r;
  }
  for (std::size_t s = 0; s < runs.size(); ++s) {
    if (s != best) runs[s].cost.reset();  // only the best one's cached runs serve below
  }
  FitResult res;
  res.evaluations = res.coarse_evaluations = coarse_evaluations;
  res.evaluations += edge_runs;
  res.bytes_per_run = bytes_per_run;
  res.coarse_values = coarse_values;
  res.edge_contacts = edge_note;
  res.boundary_blur_um = sub > 1 ? o.boundary_blur_um : 0;
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
  res.model_weights = model_weights;
  res.model_weights_limited = weights_limited;
  {
    const double nu = static_cast<double>(data.pixels - static_cast<std::size_t>(n));
    res.chi2_z = (2 * res.cost - nu) / std::sqrt(2 * nu);
    res.chi2_scale = o.scale_by_chi2 ? std::max(1.0, res.reduced_chi2) : 1.0;
  }
  res.disagreeing_starts = inherited_disagreeing_starts;

  covarianceAtOptimum(res, b, data, o, f.width(), f.height());
  if (o.profile_points >= 3) costProfiles(res, solver, *model, b);
  lap("covariance, cost profiles");
  res.disagreeing_starts += disagreeingStarts(runs, best, res, l);
  res.on_bound = onBound(b.x, l, o);
  std::vector<std::vector<double>> far;  // the profile sides' farthest points
  if (o.interval_level > 0) far = profileIntervals(res, solver, *model, b);
  widenForClusters(res, l, o);
  lap("profile intervals");
  if (o.label_ensemble > 0 && o.model == ModelKind::kGrid) {
    labelShiftErrors(res, solver, *model, b, runs_at_once == 1);
    lap("labels' systematic error (shifted labels)");
  }
  res.mean_grain_um = mean_grain_um;
  res.biot = res.best.kappa * res.mean_grain_um / res.best.D_b;
  boundDBulkWhereUnresolved(res, solver, *model, b,
                            far.size() > 1 ? far[1] : std::vector<double>{});  // D_b's upper side
  lap("D_bulk's identification (refit at 100x D_bulk if a bound)");
  identifiabilityWarnings(res);
  res.seconds = std::move(seconds);
  res.runs_at_once = pool.made();
  return res;
}

}  // namespace ionmap::diffusion
