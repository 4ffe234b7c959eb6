#include "diffusion/diagnostics.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "ionmap/numerics/statistics.hpp"

namespace ionmap::diffusion {

namespace {

std::string labelList(const std::vector<GrainResidual>& g, std::size_t most = 8) {
  std::string s;
  for (std::size_t i = 0; i < g.size() && i < most; ++i)
    s += (i ? ", " : "") + std::to_string(g[i].label);
  if (g.size() > most) s += fmt::format(" and {} more", g.size() - most);
  return s;
}

}  // namespace

ResidualDiagnostics diagnoseResiduals(const Image<double>& residual,
                                      const Image<std::uint8_t>& mask,
                                      const Image<std::int32_t>& labels) {
  struct Sums {
    double n = 0, r = 0, x = 0, y = 0, xx = 0, yy = 0, xy = 0, xr = 0, yr = 0;
  };
  std::map<std::int32_t, Sums> per;
  for (int y = 0; y < residual.height(); ++y) {
    for (int x = 0; x < residual.width(); ++x) {
      const double r = residual(x, y);
      if (!mask(x, y) || !std::isfinite(r)) continue;
      Sums& s = per[labels(x, y)];
      const double fx = x, fy = y;
      s.n += 1, s.r += r, s.x += fx, s.y += fy, s.xx += fx * fx, s.yy += fy * fy, s.xy += fx * fy,
          s.xr += fx * r, s.yr += fy * r;
    }
  }
  ResidualDiagnostics d;
  std::vector<GrainResidual> all;
  for (const auto& [label, s] : per) {
    if (s.n < 8) continue;
    GrainResidual g;
    g.label = label;
    g.pixels = static_cast<std::size_t>(s.n);
    g.offset_z = s.r / std::sqrt(s.n);
    // Centred sums: the slopes' share of Σr² under r ~ N(0, 1) is χ²(2).
    const double cxx = s.xx - s.x * s.x / s.n, cyy = s.yy - s.y * s.y / s.n;
    const double cxy = s.xy - s.x * s.y / s.n;
    const double cxr = s.xr - s.x * s.r / s.n, cyr = s.yr - s.y * s.r / s.n;
    const double det = cxx * cyy - cxy * cxy;
    if (det > 1e-9 * (cxx * cyy + 1e-300)) {
      g.step_chi2 = (cyy * cxr * cxr - 2 * cxy * cxr * cyr + cxx * cyr * cyr) / det;
    } else if (cxx + cyy > 0) {  // a line of pixels: one slope
      g.step_chi2 = cxx > cyy ? cxr * cxr / cxx : cyr * cyr / cyy;
    }
    all.push_back(g);
  }
  d.grains = all.size();
  if (all.empty()) return d;
  const double grains = static_cast<double>(all.size());
  // Outliers against the grains' own scatter: label and boundary errors spread every grain's
  // offset a little (that spread goes into the cluster-robust errors); what is flagged stands
  // out from it (a merged grain, a missing boundary).
  std::vector<double> az, st;
  for (const auto& g : all) az.push_back(std::abs(g.offset_z)), st.push_back(g.step_chi2);
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  d.offset_scale = std::max(1.0, 1.4826 * median(az));
  d.step_scale = std::max(1.0, median(st) / 1.3863);  // the median of χ²(2) is 2 ln 2
  d.offset_threshold = d.offset_scale * normalQuantile(1 - 0.005 / grains);
  d.step_threshold = d.step_scale * -2 * std::log(0.01 / grains);
  for (const auto& g : all) {
    if (std::abs(g.offset_z) > d.offset_threshold) d.offsets.push_back(g);
    if (g.step_chi2 > d.step_threshold) d.steps.push_back(g);
  }
  std::sort(d.offsets.begin(), d.offsets.end(), [](const auto& a, const auto& b) {
    return std::abs(a.offset_z) > std::abs(b.offset_z);
  });
  std::sort(d.steps.begin(), d.steps.end(),
            [](const auto& a, const auto& b) { return a.step_chi2 > b.step_chi2; });
  return d;
}

Verdict judgeFit(const FitResult& r, const ResidualDiagnostics& d) {
  Verdict v;
  auto fail = [&v](std::string why) {
    v.fit_for_use = false;
    v.reasons.push_back(std::move(why));
  };
  if (!r.converged) fail("the fit did not converge (Ceres: " + r.report + ")");
  if (r.reduced_chi2 > kMaxReducedChi2) {
    fail(fmt::format(
        "the model does not describe the data: chi^2/nu = {:.3f} for {} residuals (the counts "
        "explain less than {:.0f} % of the scatter)",
        r.reduced_chi2, r.residuals, 100 / kMaxReducedChi2));
  } else if (r.chi2_z > kMaxChi2Z) {
    double worst = 1;
    for (double k : r.robust_scale) worst = std::max(worst, k);
    v.warnings.push_back(fmt::format(
        "misfit: chi^2/nu = {:.3f} is {:.1f} standard deviations above 1 for {} residuals; "
        "grains offset as a whole {:.2g} sigma of their mean on average (labels or "
        "boundaries a little off), so the errors are taken over grains, not pixels "
        "(up to {:.1f}x the counting-only errors)",
        r.reduced_chi2, r.chi2_z, r.residuals, d.offset_scale, worst));
  }
  for (std::size_t i = 0; i < r.names.size() && i < r.intervals.size(); ++i) {
    const ProfileInterval& pi = r.intervals[i];
    const bool kappa = r.names[i] == "log10_kappa";
    if (kappa && pi.low_open && pi.high_open) {
      fail(
          "kappa is not identified: its profile stays below the confidence level over the "
          "whole search range");
    } else if (kappa && (pi.low_open || pi.high_open)) {
      fail(fmt::format("kappa is only bounded from {}: the map does not measure it",
                       pi.low_open ? "above" : "below"));
    }
  }
  for (const auto& name : r.on_bound)
    v.warnings.push_back(fmt::format("{} ended on its search bound", name));
  if (r.profile_improvement < -1) {
    fail(fmt::format(
        "a cost profile found a point {:.1f} in chi^2 better than the reported optimum: the fit "
        "did not find the best parameters (try more starts, `decades`, or other initial values)",
        -r.profile_improvement));
  }
  if (r.disagreeing_starts > 0) {
    fail(fmt::format(
        "{} start(s) ended at an equally good optimum more than 3 standard errors away: the "
        "data do not single out one set of parameters",
        r.disagreeing_starts));
  }
  if (d.grains > 0) {
    const double flagged = static_cast<double>(std::max(d.offsets.size(), d.steps.size()));
    std::string what;
    if (!d.steps.empty()) {
      what += fmt::format(
          "{} of {} grains have a step or trend inside them that the model lacks (most likely "
          "two grains merged by the segmentation, or a boundary misplaced): labels {}",
          d.steps.size(), d.grains, labelList(d.steps));
    }
    if (!d.offsets.empty()) {
      what += fmt::format(
          "{}{} of {} grains are over- or under-predicted as a whole (the model misses their "
          "level: a missing or extra boundary upstream, or a wrong label): labels {}",
          what.empty() ? "" : "; ", d.offsets.size(), d.grains, labelList(d.offsets));
    }
    if (flagged >
        std::max(kMaxFlaggedGrains, kMaxFlaggedGrainFraction * static_cast<double>(d.grains)))
      fail(what);
    else if (!what.empty())
      v.warnings.push_back(what);
  }
  return v;
}

}  // namespace ionmap::diffusion
