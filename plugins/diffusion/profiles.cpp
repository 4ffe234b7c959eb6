// Likelihood profiles of a fit: cost profiles on a fixed grid of steps, and the 95 %
// profile-likelihood intervals (each side stepped out until Δχ² reaches its quantile, or open
// at the search bound).
#include <algorithm>
#include <cmath>

#include <tbb/parallel_for.h>

#include "diffusion/fit_detail.hpp"

namespace ionmap::diffusion::detail {

void costProfiles(FitResult& res, const Solver& solver, const Model& model, const Run& b) {
  const FitOptions& o = solver.options();
  const Layout& l = solver.layout();
  // Cost profiles: each rate parameter stepped over ±profile_sigmas standard errors (at most
  // ±1 decade) with the others re-optimised; Δχ² = 2 Δcost / max(1, χ²/n), which is ≈ (step/σ)²
  // where the quadratic (covariance) picture holds.
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
    solver.solve(model, pr[j], jobs[j].first);
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

std::vector<std::vector<double>> profileIntervals(FitResult& res, const Solver& solver,
                                                  const Model& model, const Run& b) {
  const FitOptions& o = solver.options();
  const Layout& l = solver.layout();
  const int n = l.size();
  res.interval_level = o.interval_level;
  const double level = chi2Quantile1(o.interval_level);
  struct SideResult {
    double limit = 0;
    bool open = false;
    int evaluations = 0, points = 0;
    std::vector<std::pair<double, double>> profile;  // (value, Δχ²)
    std::vector<double> last;                        // the farthest point's parameters
  };
  const std::size_t sides = 2 * static_cast<std::size_t>(n);
  std::vector<SideResult> sr(sides);
  // Steps out from the optimum along parameter i (direction dir) with the others re-optimised,
  // until Δχ² reaches `level` (secant on the signed root √Δχ², which is linear in the step
  // where the quadratic picture holds) or the search bound is reached (open side). Each point
  // starts on the predicted profile trace (where the others' optimum lies for that value of
  // parameter i): the covariance's regression Σ_ji/Σ_ii for the first point, the line through
  // the last two re-optimised points after that, so that a point usually costs one or two runs
  // instead of a walk of the others from the optimum. Where the profile is nearly flat at the
  // first point (Δχ² < 0.04 at the quadratic limit), the next point is the search bound itself.
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
    // The trace's slope d x_j / d x_i: the covariance's regression at first.
    std::vector<double> slope(b.x.size(), 0.0);
    for (std::size_t j = 0; j < slope.size(); ++j) {
      if (j != k && j < res.correlation.size() && res.standard_errors[k] > 0)
        slope[j] = res.correlation[k][j] * res.standard_errors[j] / res.standard_errors[k];
    }
    bool done = false;
    for (int iter = 0; iter < 10 && !done; ++iter) {
      Run pr;
      pr.x = warm;
      pr.x[k] = x0 + dir * step;
      for (std::size_t j = 0; j < pr.x.size(); ++j) {
        if (j != k) pr.x[j] = warm[j] + slope[j] * (pr.x[k] - warm[k]);
      }
      solver.solveNear(model, pr, i, kProfileStepAccept);  // moves the start onto the bounds
      out.evaluations += pr.evaluations;
      ++out.points;
      const double d = 2 * (pr.summary.final_cost - b.summary.final_cost) / res.chi2_scale;
      out.profile.emplace_back(pr.x[k], d);
      const double r = std::sqrt(std::max(0.0, d));
      out.last = pr.x;
      if (std::abs(d - level) < 0.05 * level) {
        out.limit = x0 + dir * step;
        done = true;
      } else if (d < level) {
        // The trace through this point and the previous one (others may not move: 0 slope).
        for (std::size_t j = 0; j < slope.size(); ++j) {
          if (j != k && std::abs(pr.x[k] - warm[k]) > 0)
            slope[j] = (pr.x[j] - warm[j]) / (pr.x[k] - warm[k]);
        }
        lo_step = step, lo_r = r, warm = pr.x;
        if (step >= room * (1 - 1e-9)) {
          out.limit = bound, out.open = true;
          done = true;
        } else if (hi_step > 0) {
          step = lo_step + (target - lo_r) * (hi_step - lo_step) / (hi_r - lo_r);
        } else if (r > 0.2) {
          step = std::min(room, 1.1 * step * target / r);
        } else {
          // Flat: the trace's straight line says nothing that far out; start at this point.
          step = room;
          std::fill(slope.begin(), slope.end(), 0.0);
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
      for (const auto& pt : pts) cp.values.push_back(pt.first), cp.delta_chi2.push_back(pt.second);
      res.profiles.push_back(std::move(cp));
    }
  }
  std::vector<std::vector<double>> far(sides);
  for (std::size_t side = 0; side < sides; ++side) far[side] = std::move(sr[side].last);
  return far;
}

}  // namespace ionmap::diffusion::detail
