// Campaign-level fits over per-dataset estimates with standard errors: a weighted straight line
// (trends against a condition), the Arrhenius law (activation energy and prefactor) and the
// random-effects pooling of one quantity over many datasets (between-dataset heterogeneity).
#pragma once

#include <cstddef>
#include <vector>

namespace ionmap::stats {

// P(X >= x) for X ~ χ²(dof): the regularised upper incomplete gamma Q(dof/2, x/2).
double chiSquareUpper(double x, double dof);
// The two-sided Student-t quantile: t with P(|T| >= t) = alpha.
double studentTQuantile(double alpha, double dof);

struct LineFit {
  double intercept = 0, slope = 0;
  double se_intercept = 0, se_slope = 0, covariance = 0;  // after `scale`
  double chi2 = 0;
  int dof = 0;
  double p_lack_of_fit = 1;  // P(χ² >= chi2): small = the points scatter beyond their errors
  // √(χ²/ν) when above 1 (the errors are then scaled by it: the scatter is real), else 1.
  double scale = 1;
  std::size_t n = 0;
};
// y = intercept + slope · x with weights 1/σ²; needs two distinct x and σ > 0 (else throws
// ProcessingError).
LineFit weightedLine(const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<double>& sigma);

inline constexpr double kBoltzmann_eV = 8.617333262e-5;  // eV/K

// q(T) of the Arrhenius law through q(T_ref) = q_ref: q_ref exp(−E_a/k_B (1/T − 1/T_ref)).
double arrheniusValue(double q_ref, double activation_eV, double kelvin, double ref_kelvin);

struct ArrheniusFit {
  double activation_eV = 0, activation_se = 0;
  double prefactor = 0, prefactor_se = 0;  // in the quantity's unit
  double ln_prefactor = 0, ln_prefactor_se = 0;
  double covariance = 0;  // of (E_a [eV], ln prefactor)
  LineFit line;           // ln q against 1/(k_B T) [1/eV]
  std::size_t temperatures = 0;
};
// q = q0 exp(−E_a / (k_B T)), fitted as ln q against 1/(k_B T) with σ_ln q = σ_q / q. Needs
// two temperatures and positive q.
ArrheniusFit fitArrhenius(const std::vector<double>& kelvin, const std::vector<double>& q,
                          const std::vector<double>& sigma_q);

struct PooledEstimate {
  double mean = 0, se = 0, ci_lo = 0, ci_hi = 0;  // Hartung–Knapp (t, k − 1) interval
  double tau2 = 0;                                // between-dataset variance (DerSimonian–Laird)
  double q = 0, p_heterogeneity = 1, i2 = 0;      // Cochran's Q, its p, I²
  std::size_t k = 0;
};
// Random-effects pooling of estimates y ± σ (k ≥ 1; with one, the estimate itself).
PooledEstimate poolRandomEffects(const std::vector<double>& y, const std::vector<double>& sigma,
                                 double level = 0.95);

}  // namespace ionmap::stats
