// Operando KPFM: the same particles' surface potential across states of charge (SOC), and the
// lithium signal of the same particles from in-situ ToF-SIMS. Per particle: the mean potential
// in every state with its standard error, its change from the first to the last state and the
// slope against SOC; a particle "responds" when its change exceeds a stated threshold and its
// own uncertainty several times over. With lithium maps, the particles' lithium relative to
// the first state, and the correlation of the potential change with the lithium change.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap::spm {

struct OperandoOptions {
  std::vector<double> soc;  // state of charge of each frame (%), in frame order
  double threshold = 0.02;  // |ΔV| above which a particle responds (map unit)
  double min_z = 3;         // and |ΔV| / σ(ΔV) above this
  int min_pixels = 20;      // particles with fewer valid pixels in any state are left out
  // Pixels within this many pixels of another particle are left out of the means: after drift
  // correction they mix the neighbours' potential by the alignment's own error.
  int edge_px = 2;
  // Names of the phases 1, 2, … of the optional phase map (e.g. "electrolyte", "active
  // material"); phases beyond the list are named by their number.
  std::vector<std::string> phase_names;
  bool IsValid(std::string* error) const;
};

struct ParticleResponse {
  int label = 0;
  std::size_t pixels = 0;            // valid in every state
  std::vector<double> mean, se;      // potential per state
  double change = 0, change_se = 0;  // last − first
  double slope = 0, slope_se = 0;    // per % SOC, weighted least squares over the states
  double z = 0;                      // change / change_se
  bool responding = false;
  std::vector<double> lithium;  // mean per state relative to the first (empty: none)
  double lithium_change = NAN, lithium_change_se = NAN;  // last − first, relative
  int phase = 0;              // the phase most of its pixels are in (0: none / no phase map)
  double phase_fraction = 0;  // the share of its pixels in that phase
};

struct OperandoResult {
  std::vector<ParticleResponse> particles;
  int responding = 0;
  // Pearson correlation of ΔV with the lithium change over the particles (NaN without lithium
  // maps or with fewer than 3 particles), and its approximate standard error sqrt((1−r²)/(n−2)).
  double correlation = NAN, correlation_se = NAN;
};

// What the particles of one phase did.
struct PhaseSummary {
  int phase = 0;
  std::string name;
  int particles = 0, responding = 0;
  double responding_lo = 0, responding_hi = 0;     // Wilson 95 % interval of the fraction
  double mean_change = NAN, mean_change_se = NAN;  // over particles: mean and sd / √n
  double median_change = NAN;
  double mean_lithium_change = NAN, mean_lithium_change_se = NAN;
};

// One summary per phase present among the particles, in phase order.
std::vector<PhaseSummary> phaseSummaries(const OperandoResult& r,
                                         const std::vector<std::string>& names);
std::string phaseName(int phase, const std::vector<std::string>& names);

// What linear interpolation by a shift of (dx, dy) pixels leaves of white noise's per-pixel
// variance: ((1−fx)² + fx²)((1−fy)² + fy²) with f the fractional parts. The mean over many
// pixels keeps its variance, so a standard error from the pixels' spread must be divided by
// the square root of this.
double interpolatedNoiseVariance(double dx_px, double dy_px);

// `frames` (aligned onto one grid), `particles` on that grid (> 0 = particle), optional
// `lithium` maps per state on the same grid. Throws UsageError for invalid options and
// ProcessingError when the frames, labels or lithium maps disagree in size or count.
// `noise_variance` (one per frame, or empty for 1): interpolatedNoiseVariance of each frame's
// drift correction.
// `phases` (optional, on the labels' grid): each pixel's phase (> 0); each particle gets the
// phase of most of its pixels.
OperandoResult particleResponses(const std::vector<Map>& frames, const LabelMap& particles,
                                 const std::vector<Map>& lithium, const OperandoOptions& o,
                                 const std::vector<double>& noise_variance = {},
                                 const LabelMap* phases = nullptr);

}  // namespace ionmap::spm
