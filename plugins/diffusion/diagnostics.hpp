// Whether a diffusion fit can be used: the structure of its residuals per grain (a grain whose
// level the model misses as a whole, or with a step inside it — most often two grains merged
// by the segmentation), and the verdict that combines them with the fit's own checks
// (convergence, χ² against its expected spread, parameters identified, optimum unique).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/fit.hpp"

namespace ionmap::diffusion {

struct GrainResidual {
  std::int32_t label = 0;
  std::size_t pixels = 0;
  double offset_z = 0;   // Σr/√n: the grain's mean misfit in standard errors of that mean
  double step_chi2 = 0;  // χ²(2) of a linear trend of r across the grain (steps, gradients)
};

struct ResidualDiagnostics {
  std::size_t grains = 0;              // grains with enough usable pixels to test (≥ 8)
  std::vector<GrainResidual> offsets;  // |offset_z| above its threshold, worst first
  std::vector<GrainResidual> steps;    // step_chi2 above its threshold, worst first
  double offset_threshold = 0, step_threshold = 0;
  // The grains' own scatter (robust, ≥ 1): 1.4826 × median |offset_z|, median step χ² / 2 ln 2.
  double offset_scale = 1, step_scale = 1;
};

// Tests every grain's normalised residuals r = (f − model)/σ (usable where mask is set) on the
// map's grid. Thresholds keep the expected number of false alarms over all grains below 0.01
// for residuals that are independent N(0, 1) — |z| > Φ⁻¹(1 − 0.005/grains) for the offset,
// χ²(2) > −2 ln(0.01/grains) for the trend — times the grains' own robust scatter when that is
// larger (so that what is flagged stands out from the rest).
ResidualDiagnostics diagnoseResiduals(const Image<double>& residual,
                                      const Image<std::uint8_t>& mask,
                                      const Image<std::int32_t>& labels);

struct Verdict {
  bool fit_for_use = true;
  std::vector<std::string> reasons;   // why not (each a failed check)
  std::vector<std::string> warnings;  // worth knowing, not disqualifying
};

// χ² beyond its expected spread (z = (χ² − ν)/√(2ν) above this) is a misfit: a warning naming
// its structure, the errors then being cluster-robust over grains. A reduced χ² above
// kMaxReducedChi2 means the model misses much of the data: not fit for use.
inline constexpr double kMaxChi2Z = 5.0;
inline constexpr double kMaxReducedChi2 = 1.5;
// A fit with more than this fraction of its tested grains (and more than kMaxFlaggedGrains)
// flagged by diagnoseResiduals does not describe the microstructure (labels merged or wrong,
// registration off); fewer are a warning (e.g. one grain cut by the field's edge).
inline constexpr double kMaxFlaggedGrainFraction = 0.02;
inline constexpr double kMaxFlaggedGrains = 2;

// The verdict on a fit: not fit for use when it did not converge, χ²/ν is beyond kMaxReducedChi2, κ
// (the headline number) is not bounded on both sides by its profile, a profile found a lower cost
// than the optimum, starts ended at distinct optima of equal cost, or too many grains misfit.
// Parameters on a search bound and open intervals of other parameters are warnings.
Verdict judgeFit(const FitResult& r, const ResidualDiagnostics& d);

}  // namespace ionmap::diffusion
