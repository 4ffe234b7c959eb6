// Algorithms on count maps: Poisson dead-time correction, binning and smoothing that keep
// counting statistics right, 6Li fraction with its uncertainty, mass-fractionation factor,
// and profiles averaged along a direction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::tofsims {

struct DeadTimeResult {
  Map corrected;
  Map variance;               // counts², ≈ n_s (e^λ − 1) with λ = N_corr / n_s
  std::size_t saturated = 0;  // pixels with N ≥ n_s (marked invalid)
};

// Integrated peak counts of a TDC detector with at most one count per primary shot:
// N_corr = −n_s · ln(1 − N/n_s) (Stephan et al. 1994), n_s = shots on the pixel (shots per
// pixel × scans). Throws UsageError when shots ≤ 0.
DeadTimeResult correctDeadTime(const Map& counts, double shots);
// Counts passed without correction: their Poisson variance (= the counts), in the counts'
// unit squared. A negative count is a ProcessingError (not counts).
Map poissonVariance(const Map& counts);
// The corrected total over the recorded one, minus 1, in percent (over the corrected map's
// valid pixels; 0 without counts).
double totalCorrectionPercent(const Map& recorded, const Map& corrected);

// The per-channel form: N'(i) = n_s − Σ_{j=i−k}^{i−1} N(j), N_corr(i) = −n_s ln(1 − N(i)/N'(i)),
// with k dead channels after each count. Channels with N(i) ≥ N'(i) come back as NaN.
std::vector<double> correctDeadTimeChannels(const std::vector<double>& counts, double shots,
                                            int dead_channels);

// b × b binning: sums counts (exact counting statistics); pixel size × b. A block is valid
// when all its pixels are; incomplete edge blocks are dropped.
Map binCounts(const Map& counts, int factor);

// Gaussian smoothing (σ in µm) that returns *effective counts*: C_eff = (Σ w C) / Σ w² with
// Σ w = 1 over the valid neighbours, which has mean = variance like Poisson counts, so that
// σ_f = sqrt(f(1 − f)/N) stays right for fractions formed from smoothed maps.
Map smoothCounts(const Map& counts, double sigma_um);

struct FractionOptions {
  double min_counts = 20;      // pixels with fewer total counts are masked
  double fractionation = 1.0;  // K: measured ratios are divided by K
  // The options' one check: false, with the reason in *error, for settings no pair of count
  // maps can use. Preflight and isotopeFraction share it.
  bool IsValid(std::string* error) const;
};

struct FractionResult {
  Map fraction;  // f = I6/(I6 + I7), after dividing the ratio by K
  Map sigma;     // from counting statistics (or the given variances)
  std::size_t low_count_pixels = 0;
};

// f and σ_f per pixel. With variance maps (from dead-time correction) σ_f² =
// (I7² V6 + I6² V7)/N⁴, which reduces to f(1 − f)/N for Poisson counts.
FractionResult isotopeFraction(const Map& light, const Map& heavy, const Map* light_variance,
                               const Map* heavy_variance, const FractionOptions& options);

// K = (Σ I6 / Σ I7 over the region) / R_nat, from pixels where region is non-zero and both
// maps are valid. Throws ProcessingError for an empty region or zero counts.
double massFractionation(const Map& light, const Map& heavy, const Image<std::uint8_t>& region,
                         double natural_ratio);

// f' = (f − f_bg)/(f_s − f_bg), σ scaled alike. Throws UsageError unless canNormalise.
void normaliseFraction(Map& fraction, Map& sigma, double f_bg, double f_s);
// Whether f_s and f_bg define a normalisation (they differ); the reason in *error if not.
bool canNormalise(double f_bg, double f_s, std::string* error);

struct ProfileOptions {
  double angle_deg = 0;  // direction of increasing distance (0 = +x, 90 = +y)
  double bin_um = 1.0;
  std::vector<double> roi;  // [x0, y0, x1, y1] µm, empty = whole map
  // The options' one check (preflight and fractionProfile).
  bool IsValid(std::string* error) const;
};

// Counts summed in bins of distance along the direction (never averaging per-pixel ratios):
// columns distance (µm, bin centre from the ROI's start), f, sigma_f, light, heavy, pixels.
Table fractionProfile(const Map& light, const Map& heavy, const ProfileOptions& options);

}  // namespace ionmap::tofsims
