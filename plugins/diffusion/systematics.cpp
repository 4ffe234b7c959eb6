// Systematic errors of a fit beyond its statistics: refits with the labels shifted by one
// cell (where the boundaries sit), and D_b as a lower bound where the label grid, not the data,
// sets its upper side (with a refit at D_b held high that the other parameters must allow for).
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "diffusion/fit_detail.hpp"
#include "diffusion/observation.hpp"
#include "ionmap/numerics/statistics.hpp"

namespace ionmap::diffusion::detail {

void labelShiftErrors(FitResult& res, const Solver& solver, const Model& model, const Run& b,
                      bool one_at_a_time) {
  const FitOptions& o = solver.options();
  const Layout& l = solver.layout();
  const int n = l.size();
  // Systematic error from where the labels sit (registration, segmentation offsets): refits
  // with the label map moved by one cell along +x, −x, +y, −y, from the optimum. Along each
  // axis the three costs give the offset s* the data prefer and its uncertainty σ_s (a parabola
  // in the shift: Δχ² = C (s − s*)²), and the three optima each parameter's response a per cell;
  // its systematic error is |a|·√(s*² + σ_s²) per axis, in quadrature, added to the statistical
  // error and to the intervals' half-widths (z·σ_sys in quadrature). The fit itself stays at
  // the labels as given.
  static const int kShift[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
  std::vector<Run> member(4);
  // At once when more than one run fits in the memory budget; one after the other otherwise
  // (a member waiting for the one workspace would hold its own labels and model meanwhile).
  auto forEachMember = [&](auto&& fit) {
    if (one_at_a_time) {
      for (int k = 0; k < 4; ++k) fit(k);
    } else {
      tbb::parallel_for(0, 4, fit);
    }
  };
  std::vector<double> max_step = res.standard_errors;
  for (double& v : max_step) v *= 2;
  FitOptions near = o;  // refits from a nearby optimum: dogleg (FitOptions::dogleg)
  near.dogleg = true;
  const Solver members(near, l, solver.data(), solver.pool());
  forEachMember([&](int k) {
    FitOptions po = o;
    po.domain.labels = shiftLabels(o.domain.labels, kShift[k][0], kShift[k][1]);
    if (!o.domain.kappa_scale_x.empty()) correctStaircase(po.domain);
    const Model pm(po, model);  // the grid's ordering does not depend on the labels
    Run& pr = member[static_cast<std::size_t>(k)];
    pr.x = b.x;
    // A shift of one cell moves the optimum by about its statistical error, while the cost may
    // change by hundreds: one Gauss–Newton step from the optimum lands there where no parameter
    // moves by more than two standard errors (the model is linear over that range), a full
    // solve follows otherwise.
    members.solveNear(pm, pr, -1, std::numeric_limits<double>::infinity(), &max_step);
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

void boundDBulkWhereUnresolved(FitResult& res, const Solver& solver, const Model& model,
                               const Run& b, const std::vector<double>& d_high) {
  const FitOptions& o = solver.options();
  const Layout& l = solver.layout();
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
      // It starts where D_b's upper profile side ended (D_b far above its limit: the others
      // there are those of grains that mix internally), else at the optimum.
      Run up;
      up.x = d_high.size() == b.x.size() && d_high[0] > b.x[0] ? d_high : b.x;
      up.x[0] = std::min(boundsOf(l, o, 0).second, b.x[0] + 2.0);
      solver.solve(model, up, 0);
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
}

}  // namespace ionmap::diffusion::detail
