#include "ionmap/numerics/campaign_fits.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/statistics.hpp"
#include "ionmap/numerics/stats.hpp"

namespace ionmap::stats {
namespace {

// Regularised lower P(a, x) by its series (x < a + 1), upper Q(a, x) by Lentz's continued
// fraction otherwise.
double upperGamma(double a, double x) {
  if (x <= 0) return 1.0;
  const double lg = std::lgamma(a);
  if (x < a + 1) {
    double sum = 1.0 / a, term = sum;
    for (int n = 1; n < 1000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::abs(term) < std::abs(sum) * 1e-15) break;
    }
    return 1.0 - sum * std::exp(-x + a * std::log(x) - lg);
  }
  double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < 1e-15) break;
  }
  return std::exp(-x + a * std::log(x) - lg) * h;
}

}  // namespace

double arrheniusValue(double q_ref, double activation_eV, double kelvin, double ref_kelvin) {
  return q_ref * std::exp(-activation_eV / kBoltzmann_eV * (1 / kelvin - 1 / ref_kelvin));
}

double chiSquareUpper(double x, double dof) {
  if (!(dof > 0)) return std::nan("");
  return std::clamp(upperGamma(dof / 2, x / 2), 0.0, 1.0);
}

double studentTQuantile(double alpha, double dof) {
  double lo = 0, hi = 1e3;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (studentTTwoSided(mid, dof) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

LineFit weightedLine(const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<double>& sigma) {
  LineFit f;
  f.n = x.size();
  if (y.size() != f.n || sigma.size() != f.n)
    throw ProcessingError("weighted line: x, y and errors differ in length");
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < f.n; ++i) {
    if (!(sigma[i] > 0) || !std::isfinite(sigma[i]) || !std::isfinite(x[i]) || !std::isfinite(y[i]))
      throw ProcessingError(
          fmt::format("weighted line: point {} has no finite value with a positive error ({} ± {})",
                      i + 1, y[i], sigma[i]));
    const double w = 1 / (sigma[i] * sigma[i]);
    sw += w, sx += w * x[i], sy += w * y[i], sxx += w * x[i] * x[i], sxy += w * x[i] * y[i];
  }
  const double det = sw * sxx - sx * sx;
  if (f.n < 2 || !(det > 1e-300 * sw * sxx))
    throw ProcessingError("weighted line: needs at least two different x");
  f.slope = (sw * sxy - sx * sy) / det;
  f.intercept = (sxx * sy - sx * sxy) / det;
  for (std::size_t i = 0; i < f.n; ++i) {
    const double r = (y[i] - f.intercept - f.slope * x[i]) / sigma[i];
    f.chi2 += r * r;
  }
  f.dof = static_cast<int>(f.n) - 2;
  f.p_lack_of_fit = f.dof > 0 ? chiSquareUpper(f.chi2, f.dof) : std::nan("");
  f.scale = f.dof > 0 ? std::max(1.0, std::sqrt(f.chi2 / f.dof)) : 1.0;
  const double s2 = f.scale * f.scale;
  f.se_slope = std::sqrt(sw / det * s2);
  f.se_intercept = std::sqrt(sxx / det * s2);
  f.covariance = -sx / det * s2;
  return f;
}

ArrheniusFit fitArrhenius(const std::vector<double>& kelvin, const std::vector<double>& q,
                          const std::vector<double>& sigma_q) {
  std::vector<double> x, y, s;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (!(kelvin[i] > 0) || !(q[i] > 0))
      throw ProcessingError(
          fmt::format("Arrhenius fit: point {} has T = {} K and value {}: both must be positive",
                      i + 1, kelvin[i], q[i]));
    x.push_back(1 / (kBoltzmann_eV * kelvin[i]));
    y.push_back(std::log(q[i]));
    s.push_back(sigma_q[i] / q[i]);
  }
  ArrheniusFit a;
  std::vector<double> t = kelvin;
  std::sort(t.begin(), t.end());
  a.temperatures = static_cast<std::size_t>(std::unique(t.begin(), t.end()) - t.begin());
  if (a.temperatures < 2) throw ProcessingError("Arrhenius fit: needs two temperatures or more");
  a.line = weightedLine(x, y, s);
  a.activation_eV = -a.line.slope;
  a.activation_se = a.line.se_slope;
  a.ln_prefactor = a.line.intercept;
  a.ln_prefactor_se = a.line.se_intercept;
  a.covariance = -a.line.covariance;
  a.prefactor = std::exp(a.ln_prefactor);
  a.prefactor_se = a.prefactor * a.ln_prefactor_se;
  return a;
}

PooledEstimate poolRandomEffects(const std::vector<double>& y, const std::vector<double>& sigma,
                                 double level) {
  PooledEstimate p;
  p.k = y.size();
  if (p.k == 0 || sigma.size() != p.k) throw ProcessingError("pooling: no estimates");
  for (std::size_t i = 0; i < p.k; ++i) {
    if (!(sigma[i] > 0) || !std::isfinite(y[i]))
      throw ProcessingError(fmt::format("pooling: estimate {} is {} ± {}", i + 1, y[i], sigma[i]));
  }
  if (p.k == 1) {
    const double z = normalQuantile(0.5 + level / 2);
    p.mean = y[0], p.se = sigma[0], p.ci_lo = y[0] - z * sigma[0], p.ci_hi = y[0] + z * sigma[0];
    p.tau2 = std::nan(""), p.p_heterogeneity = std::nan(""), p.i2 = std::nan("");
    return p;
  }
  double sw = 0, swy = 0, sw2 = 0;
  for (std::size_t i = 0; i < p.k; ++i) {
    const double w = 1 / (sigma[i] * sigma[i]);
    sw += w, swy += w * y[i], sw2 += w * w;
  }
  const double fixed = swy / sw;
  for (std::size_t i = 0; i < p.k; ++i)
    p.q += (y[i] - fixed) * (y[i] - fixed) / (sigma[i] * sigma[i]);
  const double df = static_cast<double>(p.k - 1);
  p.tau2 = std::max(0.0, (p.q - df) / (sw - sw2 / sw));
  p.i2 = p.q > 0 ? std::max(0.0, (p.q - df) / p.q) : 0.0;
  p.p_heterogeneity = chiSquareUpper(p.q, df);
  double sws = 0, swsy = 0;
  for (std::size_t i = 0; i < p.k; ++i) {
    const double w = 1 / (sigma[i] * sigma[i] + p.tau2);
    sws += w, swsy += w * y[i];
  }
  p.mean = swsy / sws;
  // Hartung–Knapp: the error from the spread of the estimates about the pooled mean, with a t
  // interval on k − 1 degrees of freedom.
  double hk = 0;
  for (std::size_t i = 0; i < p.k; ++i)
    hk += (y[i] - p.mean) * (y[i] - p.mean) / (sigma[i] * sigma[i] + p.tau2);
  hk /= df;
  p.se = std::sqrt(hk / sws);
  const double t = studentTQuantile(1 - level, df);
  p.ci_lo = p.mean - t * p.se, p.ci_hi = p.mean + t * p.se;
  return p;
}

}  // namespace ionmap::stats
