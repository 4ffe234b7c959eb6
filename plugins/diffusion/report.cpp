#include "diffusion/report.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include <fmt/format.h>

#include "ionmap/io/quicklook.hpp"

namespace ionmap::diffusion {

FitReport fitReport(const FitResult& r, const ResidualDiagnostics& diag, const Verdict& verdict,
                    const FitReportSettings& s) {
  FitReport out;
  Table& t = out.table;
  t = Table("diffusion fit");
  t.description = fmt::format(
      "{} model, source edge {}, exchange time {} s; standard_error (statistical, over "
      "grains, and systematic from the labels, combined) is NaN for quantities held fixed or "
      "derived and for bounds; ci95_low/high: 95% profile-likelihood interval widened by the "
      "same errors; systematic_error: the labels' share",
      s.model, s.source_edge, s.time_s);
  t.addText("parameter");
  t.addQuantity("value");
  t.addQuantity("standard_error");
  t.addText("unit");
  t.addQuantity("ci95_low");
  t.addQuantity("ci95_high");
  t.addText("estimate");
  t.addQuantity("systematic_error");
  const double nan = std::nan("");
  auto row = [&](const std::string& name, double v, double se, const std::string& unit,
                 double lo = std::nan(""), double hi = std::nan(""),
                 const std::string& kind = "diagnostic", double sys = std::nan("")) {
    t.columns[0].texts.push_back(name);
    t.columns[1].numbers.push_back(v);
    t.columns[2].numbers.push_back(se);
    t.columns[3].texts.push_back(unit);
    t.columns[4].numbers.push_back(lo);
    t.columns[5].numbers.push_back(hi);
    t.columns[6].texts.push_back(kind);
    t.columns[7].numbers.push_back(sys);
  };
  // A fitted parameter's interval in physical units: (low, high, kind, value to report).
  struct Reported {
    double lo, hi;
    std::string kind;
    double value, se;
  };
  auto reported = [&](const std::string& name, double value, double se,
                      double to_unit) -> Reported {
    for (std::size_t i = 0; i < r.names.size(); ++i) {
      if (r.names[i] != name) continue;
      if (i >= r.intervals.size()) return {nan, nan, "interval", value, se};
      const ProfileInterval& pi = r.intervals[i];
      const bool log = name.rfind("log10_", 0) == 0;
      auto lin = [&](double x) { return log ? std::pow(10.0, x) / to_unit : x; };
      const double lo = lin(pi.low), hi = lin(pi.high);
      if (pi.low_open && pi.high_open) return {lo, hi, "not identified", nan, nan};
      if (pi.high_open) return {lo, hi, "lower bound", lo, nan};
      if (pi.low_open) return {lo, hi, "upper bound", hi, nan};
      return {lo, hi, "interval", value, se};
    }
    return {nan, nan, "fixed", value, nan};
  };
  // An error of a fitted parameter in linear units (σ_x = x ln10 σ_log10x, first order).
  auto errorOf = [&](const std::vector<double>& errors, const std::string& name, double value) {
    for (std::size_t i = 0; i < r.names.size() && i < errors.size(); ++i) {
      if (r.names[i] != name) continue;
      return name.rfind("log10_", 0) == 0 ? value * std::log(10.0) * errors[i] : errors[i];
    }
    return std::nan("");  // held fixed, or not computed
  };
  auto seOf = [&](const std::string& name, double value) {
    return errorOf(r.standard_errors, name, value);
  };
  const double D = r.best.D_b / kUm2PerCm2, kappa = r.best.kappa / kUmPerCm;
  const double se_D = seOf("log10_D_b", D), se_kappa = seOf("log10_kappa", kappa);
  const double delta_cm = s.delta_nm * 1e-7;
  auto fitted = [&](const std::string& name, const std::string& fit_name, double value, double se,
                    double to_unit, const std::string& unit, double factor = 1) {
    const Reported q = reported(fit_name, value, se, to_unit);
    const double sys = errorOf(r.systematic_errors, fit_name, value);
    row(name, q.value * factor, q.se * factor, unit, q.lo * factor, q.hi * factor, q.kind,
        q.kind == "interval" ? sys * factor : nan);
    if (name == "D_bulk" || name == "kappa") {  // the log's one-line summary, as reported
      const std::string key = name == "D_bulk" ? "D_bulk_cm2_per_s" : "kappa_cm_per_s";
      out.notes.emplace_back(
          key, q.kind == "interval"
                   ? fmt::format("{:.4g} +- {:.2g} (95% interval {:.4g} .. {:.4g})", q.value, q.se,
                                 q.lo, q.hi)
               : q.kind == "not identified"
                   ? std::string("not identified")
                   : fmt::format("{} {:.4g} ({})", q.kind == "lower bound" ? ">" : "<", q.value,
                                 q.kind));
    }
    const std::string shown = unit == "1" ? "" : " " + unit;  // dimensionless: no unit
    if (name != "D_gb" &&
        (q.kind == "lower bound" || q.kind == "upper bound" || q.kind == "not identified")) {
      out.warnings.push_back(fmt::format(
          "{}: {} (95% profile likelihood; best fit {:.3g}{}, not a measurement)", name,
          q.kind == "not identified"
              ? "not identified by this map"
              : fmt::format("{} {:.3g}{}, not identified beyond that by this map",
                            q.kind == "lower bound" ? ">" : "<", q.value * factor, shown),
          value * factor, shown));
    }
  };
  fitted("D_bulk", "log10_D_b", D, se_D, kUm2PerCm2, "cm^2/s");
  fitted("kappa", "log10_kappa", kappa, se_kappa, kUmPerCm, "cm/s");
  fitted("D_gb", "log10_kappa", kappa, se_kappa, kUmPerCm, "cm^2/s", delta_cm);
  if (s.surface_exchange) {
    const double k = r.best.k_surface / kUmPerCm;
    fitted("surface_exchange", "log10_k", k, seOf("log10_k", k), kUmPerCm, "cm/s");
  }
  fitted("f_source", "f_s", r.best.f_s, seOf("f_s", r.best.f_s), 1, "1");
  fitted("f_background", "f_bg", r.best.f_bg, seOf("f_bg", r.best.f_bg), 1, "1");
  if (s.reservoir)  // the finite reservoir's fraction at the end of the exchange
    row("f_source_end", r.source_final, nan, "1");
  // Brick-layer effective diffusivity of the fitted pair at the measured grain size.
  const double d_um = r.mean_grain_um;
  const double D_eff_um = 1 / (1 / r.best.D_b + 1 / (r.best.kappa * d_um));
  row("D_eff", D_eff_um / kUm2PerCm2, nan, "cm^2/s");
  row("mean_grain_size", d_um, nan, "um");
  row("biot", r.biot, nan, "1");
  // The drawn boundaries' scatter about where the data put them (observation model): measured
  // (with its standard error) or as given.
  if (r.boundary_blur_um > 0 || !r.boundary_blur.empty())
    row("boundary_blur", r.boundary_blur_um, r.boundary_blur_se_um, "um");
  row("reduced_chi2", r.reduced_chi2, nan, "1");
  row("condition_number", r.condition_number, nan, "1");
  row("residuals", static_cast<double>(r.residuals), nan, "1");
  row("converged", r.converged ? 1 : 0, nan, "1");
  row("chi2_z", r.chi2_z, nan, "1");
  row("grains_misfit", static_cast<double>(std::max(diag.offsets.size(), diag.steps.size())), nan,
      "1");
  row("fit_for_use", verdict.fit_for_use ? 1 : 0, nan, "1", nan, nan, "verdict");
  for (std::size_t i = 0; i < r.names.size(); ++i) {
    for (std::size_t j = i + 1; j < r.names.size(); ++j)
      row("correlation(" + r.names[i] + "," + r.names[j] + ")", r.correlation[i][j], nan, "1");
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> fitNotes(const FitResult& r,
                                                          const ResidualDiagnostics& diag,
                                                          const Verdict& verdict, double cell_um) {
  std::vector<std::pair<std::string, std::string>> n;
  n.emplace_back("fit_for_use", verdict.fit_for_use ? "true" : "false");
  n.emplace_back("grains_tested", std::to_string(diag.grains));
  n.emplace_back("grains_offset", std::to_string(diag.offsets.size()));
  n.emplace_back("grains_with_steps", std::to_string(diag.steps.size()));
  n.emplace_back("chi2_z", fmt::format("{:.2f}", r.chi2_z));
  n.emplace_back("converged", r.converged ? "true" : "false");
  n.emplace_back("ceres_report", r.report);
  n.emplace_back("evaluations", std::to_string(r.evaluations));
  if (r.bytes_per_run > 0) {
    n.emplace_back("memory_per_model_run_MB",
                   fmt::format("{:.0f}", static_cast<double>(r.bytes_per_run) / 1e6));
    n.emplace_back("model_runs_at_once", std::to_string(r.runs_at_once));
  }
  n.emplace_back("evaluations_split",
                 fmt::format("{} coarse (majority labels or binned), {} for the intervals, {} for "
                             "the labels' systematic error, {} for the fit itself",
                             r.coarse_evaluations, r.interval_evaluations, r.systematic_evaluations,
                             r.evaluations - r.coarse_evaluations - r.interval_evaluations -
                                 r.systematic_evaluations));
  if (!r.edge_contacts.empty()) n.emplace_back("edge_contacts", r.edge_contacts);
  if (!r.boundary_blur.empty()) n.emplace_back("boundary_blur", r.boundary_blur);
  if (r.model_weights) {
    n.emplace_back("model_weights_limited",
                   fmt::format("{} of {} pixels (variance ratio model/data outside [1/4, 4])",
                               r.model_weights_limited, r.residuals));
  }
  if (!r.seconds.empty()) {
    std::string text;
    for (const auto& [what, s] : r.seconds)
      text += fmt::format("{}{:.1f} s {}", text.empty() ? "" : ", ", s, what);
    n.emplace_back("seconds_split", text);
  }
  if (!r.systematic_errors.empty()) {
    n.emplace_back("label_offset_preferred_um",
                   fmt::format("{:.4f} {:.4f}", r.label_offset_cells[0] * cell_um,
                               r.label_offset_cells[1] * cell_um));
  }
  n.emplace_back("reduced_chi2", fmt::format("{:.3f}", r.reduced_chi2));
  auto values = [&](const std::string& key, const std::vector<double>& x) {
    if (x.empty()) return;
    std::string text;
    for (std::size_t i = 0; i < x.size() && i < r.names.size(); ++i)
      text += fmt::format("{}{} = {:.6g}", i ? ", " : "", r.names[i], x[i]);
    n.emplace_back(key, text);
  };
  values("refit_with_D_bulk_100x", r.uniform_grain_values);
  values("coarse_start_optimum", r.coarse_values);
  values("refit_without_flagged_grains", r.without_suspect_values);
  values("refit_without_boundary_pixels", r.without_boundary_values);
  values("refit_on_twice_finer_model_grid", r.finer_grid_values);
  return n;
}

Map residualMap(const Map& f, const Map& sigma, const Image<std::uint8_t>& mask,
                const FitResult& r) {
  Map res("normalised residual (f - model)/sigma", f.grid, "1");
  for (std::size_t i = 0; i < res.values.size(); ++i) {
    const bool ok = mask[i] && std::isfinite(f.values[i]) && sigma.values[i] > 0;
    res.mask[i] = ok ? 1 : 0;
    res.values[i] = ok ? (f.values[i] - r.model[i]) / r.sigma_used[i] : 0;
  }
  return res;
}

std::vector<int> depthMap(const Domain& d) {
  const int w = d.labels.width(), h = d.labels.height();
  std::vector<int> depth(static_cast<std::size_t>(w) * h, -1);
  if (d.source_region.empty()) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x)
        depth[static_cast<std::size_t>(y) * w + x] = depthOf(d.source, w, h, x, y);
    }
    return depth;
  }
  std::deque<std::pair<int, int>> queue;
  std::vector<char> seen(depth.size(), 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (d.source_region(x, y))
        queue.emplace_back(x, y), seen[static_cast<std::size_t>(y) * w + x] = 1;
    }
  }
  while (!queue.empty()) {
    const auto [x, y] = queue.front();
    queue.pop_front();
    const int here = depth[static_cast<std::size_t>(y) * w + x];
    const int nx[] = {x - 1, x + 1, x, x}, ny[] = {y, y, y - 1, y + 1};
    for (int k = 0; k < 4; ++k) {
      if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h) continue;
      const auto j = static_cast<std::size_t>(ny[k]) * w + nx[k];
      if (seen[j]) continue;
      seen[j] = 1;
      depth[j] = here + 1;  // region cells are −1, so their neighbours get 0
      queue.emplace_back(nx[k], ny[k]);
    }
  }
  return depth;
}

Table depthProfile(const Map& f, const Image<std::uint8_t>& mask, const Image<double>& model,
                   const Domain& d) {
  const int w = f.width(), h = f.height();
  const std::vector<int> depth = depthMap(d);
  const int n = 1 + *std::max_element(depth.begin(), depth.end());
  Table t(d.source_region.empty()
              ? "depth profile of measured and model 6Li fraction"
              : "profile of measured and model 6Li fraction against distance from the source "
                "region (4-connected pixel steps)");
  t.addNumeric("distance", "um");
  t.addNumeric("measured", "1");
  t.addNumeric("model", "1");
  t.addNumeric("pixels", "");
  std::vector<double> measured(static_cast<std::size_t>(n), 0.0), modelled(measured),
      count(measured), line(measured);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int dk = depth[static_cast<std::size_t>(y) * w + x];
      if (dk < 0) continue;  // inside the source region
      const auto k = static_cast<std::size_t>(dk);
      modelled[k] += model(x, y), ++line[k];
      if (mask(x, y) && std::isfinite(f.values(x, y))) measured[k] += f.values(x, y), ++count[k];
    }
  }
  for (std::size_t k = 0; k < measured.size(); ++k) {
    t.columns[0].numbers.push_back((static_cast<double>(k) + 0.5) * d.h);
    t.columns[1].numbers.push_back(count[k] > 0 ? measured[k] / count[k] : std::nan(""));
    t.columns[2].numbers.push_back(modelled[k] / line[k]);
    t.columns[3].numbers.push_back(count[k]);
  }
  return t;
}

void writeDepthPlot(const Table& profile, const Domain& d, const std::filesystem::path& png) {
  LinePlot plot;
  plot.x = profile.columns[0].numbers;
  plot.y = profile.columns[1].numbers;
  plot.y2 = profile.columns[2].numbers;
  plot.markers = true;
  plot.legend = "measured";
  plot.legend2 = "model";
  plot.title = d.source_region.empty() ? "6Li fraction against depth from the source edge"
                                       : "6Li fraction against distance from the source region";
  plot.x_label = "distance (µm)";
  plot.y_label = "6Li fraction";
  writeLinePlot(plot, png);
}

namespace {
// A profiled parameter's reported name, unit and factor from the fit's µm units.
struct Profiled {
  std::string name, unit;
  double to_cm;
};
Profiled profiledOf(const std::string& fit_name) {
  if (fit_name == "log10_D_b") return {"D_bulk", "cm^2/s", kUm2PerCm2};
  return {fit_name == "log10_kappa" ? "kappa" : "surface_exchange", "cm/s", kUmPerCm};
}
}  // namespace

Table costProfileTable(const FitResult& r) {
  Table t("cost profiles");
  t.description =
      "delta chi^2 = 2 (cost - best cost) / max(1, reduced chi^2), other parameters "
      "re-optimised; 1 marks the 68% interval of one parameter";
  t.addText("parameter");
  t.addQuantity("value");
  t.addText("unit");
  t.addNumeric("delta_chi2", "1");
  for (const auto& cp : r.profiles) {
    const Profiled q = profiledOf(cp.name);
    for (std::size_t i = 0; i < cp.values.size(); ++i) {
      t.columns[0].texts.push_back(q.name);
      t.columns[1].numbers.push_back(std::pow(10.0, cp.values[i]) / q.to_cm);
      t.columns[2].texts.push_back(q.unit);
      t.columns[3].numbers.push_back(cp.delta_chi2[i]);
    }
  }
  return t;
}

void writeCostProfilePlots(const FitResult& r, const std::filesystem::path& prefix) {
  for (const auto& cp : r.profiles) {
    const Profiled q = profiledOf(cp.name);
    LinePlot plot;
    for (std::size_t i = 0; i < cp.values.size(); ++i) {
      plot.x.push_back(std::pow(10.0, cp.values[i]) / q.to_cm);
      plot.y.push_back(cp.delta_chi2[i]);
    }
    plot.markers = true;
    plot.title = fmt::format("Cost profile of {} (others re-optimised)", q.name);
    plot.x_label = fmt::format("{} ({})", q.name, q.unit);
    plot.y_label = "delta chi^2";
    writeLinePlot(plot, prefix.string() + "-" + q.name + ".png");
  }
}

}  // namespace ionmap::diffusion
