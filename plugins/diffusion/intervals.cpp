// The bookkeeping of a fit's intervals: search bounds, open sides, widening to hold another
// optimum; and the refit without the grains whose labels are suspect.
#include <algorithm>
#include <cmath>

#include "diffusion/fit_detail.hpp"
#include "diffusion/fit_inputs.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/statistics.hpp"

namespace ionmap::diffusion {
namespace detail {

// The search bounds of fitted parameter i, in fit space.
std::pair<double, double> boundsOf(const Layout& l, const FitOptions& o, int i) {
  if (i == l.iD) return {o.log10_min_D, o.log10_max_D};
  if (i == l.iK || i == l.ik) return {o.log10_min_kappa, o.log10_max_kappa};
  return {0.0, 1.0};
}

// A side of an interval that reaches the parameter's search bound is open: the data do not
// close it inside the range searched (a bound, not a limit).
void closeAtBounds(ProfileInterval& pi, double lo, double hi) {
  const double eps = 1e-9 * std::max(1.0, hi - lo);
  if (!pi.low_open && pi.low <= lo + eps) pi.low_open = true;
  if (!pi.high_open && pi.high >= hi - eps) pi.high_open = true;
}

// Moves the interval's closed sides to `low` and `high`, within the search bounds [lo, hi];
// a side that lands on its bound becomes open. Open sides stay as they are.
void widenInterval(ProfileInterval& pi, double low, double high, std::pair<double, double> bounds) {
  const auto [lo, hi] = bounds;
  if (!pi.low_open) pi.low = std::max(lo, low);
  if (!pi.high_open) pi.high = std::min(hi, high);
  closeAtBounds(pi, lo, hi);
}

// Another optimum that the data cannot tell from the reported one (the refit with D_b held 100×
// higher when D_b is only a lower bound; the refit without the grains whose labels are suspect):
// each parameter from `first` on gets an interval that also holds the other optimum's own
// interval (its closed sides shifted by the difference), and the difference joins its
// systematic and standard errors (as difference / z, z of the interval level).
void allowForOptimum(FitResult& res, const std::vector<double>& other, const Layout& l,
                     const FitOptions& o, std::size_t first) {
  const double z = o.interval_level > 0 ? normalQuantile(0.5 * (1 + o.interval_level)) : 1.96;
  if (res.systematic_errors.size() != res.values.size())
    res.systematic_errors.assign(res.values.size(), 0.0);
  for (std::size_t k = first; k < other.size() && k < res.values.size(); ++k) {
    const double shift = other[k] - res.values[k];
    if (k < res.intervals.size()) {
      ProfileInterval& pk = res.intervals[k];
      widenInterval(pk, std::min(pk.low, pk.low + shift), std::max(pk.high, pk.high + shift),
                    boundsOf(l, o, static_cast<int>(k)));
    }
    res.systematic_errors[k] = std::hypot(res.systematic_errors[k], shift / z);
    if (k < res.standard_errors.size())
      res.standard_errors[k] = std::hypot(res.standard_errors[k], shift / z);
  }
}

// The quantile of χ² with one degree of freedom at probability p: z² with Φ(z) = (1 + p)/2.
double chi2Quantile1(double p) {
  const double z = normalQuantile(0.5 * (1 + p));
  return z * z;
}

}  // namespace detail

using detail::allowForOptimum;
using detail::layoutOf;

namespace {

// A refit from the optimum with only the `kept` pixels in the residuals, on the full grid: no
// intervals, no ensemble, no coarse levels, a looser stop. It weighs each pixel as the fit did
// (r.sigma_used: the σ_f from the model and the boundaries' position errors, not made anew) and
// at the blur the fit was observed with. Its runs count as systematic work.
FitResult refitFromOptimum(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                           const Image<std::uint8_t>& kept, const FitOptions& o) {
  FitOptions po = o;
  const bool same_weights = r.sigma_used.sameSize(sigma);
  if (same_weights) {
    po.variance_from_model = false;
    po.boundary_sigma_um = 0;
  }
  po.initial = r.best;
  // At the blur the fit measured (its refits would measure it again, ~4 runs and a second fit).
  if (po.fit_boundary_blur) po.fit_boundary_blur = false, po.boundary_blur_um = r.boundary_blur_um;
  po.stop_decrease = std::max(o.stop_decrease, detail::kCheckStopDecrease);
  po.dogleg = true;  // from a nearby optimum
  po.decades = 0;
  po.coarse_start = false;
  po.interval_level = 0;
  po.label_ensemble = 0;
  po.profile_points = 0;
  FitResult without = fitDiffusion(f, same_weights ? r.sigma_used : sigma, kept, po);
  r.evaluations += without.evaluations;
  r.systematic_evaluations += without.evaluations;
  return without;
}

// The largest shift of a rate parameter (D_b, κ, k) from r's optimum to `other`, in r's
// statistical standard errors; parameters reported as bounds (an open side) do not count.
double largestRateShift(const FitResult& r, const std::vector<double>& other,
                        const detail::Layout& l) {
  const std::vector<double>& se = r.statistical_errors;
  double largest = 0;
  for (int i : {l.iD, l.iK, l.ik}) {
    const auto k = static_cast<std::size_t>(i);
    if (i < 0 || k >= se.size() || !(se[k] > 0) || k >= other.size()) continue;
    // A bound (an open side) claims nothing about where inside it the value lies.
    if (k < r.intervals.size() && (r.intervals[k].low_open || r.intervals[k].high_open)) continue;
    largest = std::max(largest, std::abs(other[k] - r.values[k]) / se[k]);
  }
  return largest;
}

// The refit from the optimum (refitFromOptimum), every interval widened to hold its interval
// and the shift added to the errors (allowForOptimum); its values go to `values`. Returns the
// largest shift of a rate parameter in its statistical standard errors.
double allowForRefit(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                     const Image<std::uint8_t>& kept, const FitOptions& o,
                     std::vector<double>& values) {
  const FitResult refit = refitFromOptimum(r, f, sigma, kept, o);
  const detail::Layout l = layoutOf(o);
  const double largest = largestRateShift(r, refit.values, l);
  allowForOptimum(r, refit.values, l, o, 0);
  values = refit.values;
  return largest;
}

}  // namespace

void allowForSuspectGrains(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                           const Image<std::uint8_t>& mask, const Image<std::int32_t>& map_labels,
                           const std::vector<std::int32_t>& suspect, const FitOptions& o) {
  if (suspect.empty() || r.values.empty()) return;
  if (!map_labels.sameSize(mask))
    throw UsageError("allowForSuspectGrains: the labels are not on the map's grid");
  Image<std::uint8_t> kept = mask;
  std::size_t left_out = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (kept[i] && std::find(suspect.begin(), suspect.end(), map_labels[i]) != suspect.end())
      kept[i] = 0, ++left_out;
  }
  if (left_out == 0) return;
  allowForRefit(r, f, sigma, kept, o, r.without_suspect_values);
}

double allowForBoundaryPixels(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                              const Image<std::uint8_t>& mask,
                              const Image<std::int32_t>& map_labels, int margin,
                              const FitOptions& o) {
  if (margin <= 0 || r.values.empty()) return 0;
  if (!map_labels.sameSize(mask))
    throw UsageError("allowForBoundaryPixels: the labels are not on the map's grid");
  Image<std::uint8_t> kept = mask;
  if (maskNearBoundaries(map_labels, margin, kept) == 0) return 0;
  return allowForRefit(r, f, sigma, kept, o, r.without_boundary_values);
}

double allowForFinerGrid(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                         const Image<std::uint8_t>& mask, const FitOptions& finer) {
  if (r.values.empty()) return 0;
  return allowForRefit(r, f, sigma, mask, finer, r.finer_grid_values);
}

}  // namespace ionmap::diffusion
