#include "spm/interface_profile.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <ceres/ceres.h>
#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::spm {

double ProfileLine::length() const {
  return std::hypot(x1 - x0, y1 - y0);
}

const char* modelName(InterfaceModel m) {
  return m == InterfaceModel::kBlurredStep ? "blurred step" : "space charge";
}

const FittedValue& InterfaceFit::value(const std::string& name) const {
  for (const auto& v : values) {
    if (v.name == name) return v;
  }
  throw ProcessingError("interface fit has no value '" + name + "'");
}

bool InterfaceFitOptions::IsValid(std::string* error) const {
  std::string why;
  if (interfaces < 1 || interfaces > 8) why = "interfaces must be 1 to 8";
  if (!initial_positions_um.empty() &&
      initial_positions_um.size() != static_cast<std::size_t>(interfaces))
    why = "give one starting position per interface, or none";
  if (max_iterations < 1) why = "max_iterations must be at least 1";
  if (error) *error = why;
  return why.empty();
}

BandProfile bandProfile(const Map& m, const ProfileLine& line, double half_width_um,
                        double step_um) {
  const double len = line.length();
  if (!(len > 0) || !(half_width_um > 0) || !(step_um > 0))
    throw ProcessingError("the profile line needs a length, a band width and a step > 0");
  const double ux = (line.x1 - line.x0) / len, uy = (line.y1 - line.y0) / len;
  const int bins = static_cast<int>(std::floor(len / step_um));
  std::vector<double> sum(bins, 0), sum2(bins, 0), n(bins, 0);
  for (int y = 0; y < m.height(); ++y) {
    for (int x = 0; x < m.width(); ++x) {
      if (!m.valid(x, y) || !std::isfinite(m.values(x, y))) continue;
      const Point2 p = m.grid.centre(x, y);
      const double dx = p.x - line.x0, dy = p.y - line.y0;
      const double s = dx * ux + dy * uy, t = -dx * uy + dy * ux;
      if (std::abs(t) > half_width_um || s < 0) continue;
      const int b = static_cast<int>(std::floor(s / step_um));
      if (b >= bins) continue;
      sum[b] += m.values(x, y), sum2[b] += m.values(x, y) * m.values(x, y), ++n[b];
    }
  }
  BandProfile p;
  p.unit = m.unit;
  for (int b = 0; b < bins; ++b) {
    if (n[b] < 3) continue;
    const double mean = sum[b] / n[b];
    const double var = std::max(0.0, (sum2[b] - n[b] * mean * mean) / (n[b] - 1));
    p.s.push_back((b + 0.5) * step_um);
    p.value.push_back(mean);
    p.se.push_back(std::sqrt(var / n[b]));
    p.pixels.push_back(n[b]);
  }
  if (p.s.size() < 8) {
    throw ProcessingError(fmt::format(
        "the profile band holds only {} bins of 3 or more valid pixels (need 8): is the line on "
        "the map, and the band wide enough?",
        p.s.size()));
  }
  // A bin whose pixels agree exactly (noise-free data) would get infinite weight.
  const double floor_se = 1e-9 * (1 + *std::max_element(p.value.begin(), p.value.end()) -
                                  *std::min_element(p.value.begin(), p.value.end()));
  for (double& e : p.se) e = std::max(e, floor_se);
  return p;
}

void requirePotential(const Map& m) {
  for (const char* u : {"V", "mV", "uV", "\xC2\xB5V", "kV"}) {
    if (m.unit == u) return;
  }
  throw ProcessingError(fmt::format(
      "'{}' is in '{}', not a potential (V, mV): bind the potential channel (the read stage's "
      "`channel`, e.g. Potential or NapPotentialRetrace), or give a file without units its unit "
      "(the read stage's `unit: V`)",
      m.name, m.unit.empty() ? "no unit" : m.unit));
}

std::vector<double> steepestChanges(const BandProfile& p, int n) {
  const std::size_t m = p.s.size();
  std::vector<double> grad(m, 0);
  for (std::size_t i = 2; i + 2 < m; ++i)  // over ±2 points: less sensitive to noise
    grad[i] = std::abs(p.value[i + 2] - p.value[i - 2]) / (p.s[i + 2] - p.s[i - 2]);
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return grad[a] > grad[b]; });
  std::vector<std::size_t> picked;
  for (std::size_t i : order) {
    if (static_cast<int>(picked.size()) == n) break;
    bool near = false;
    for (std::size_t j : picked) near = near || (i > j ? i - j : j - i) < 4;
    if (!near) picked.push_back(i);
  }
  std::vector<double> out;
  for (std::size_t i : picked) out.push_back(p.s[i]);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Parameters: [V0, g, then per interface dV, s, log(w)] or [.., dV, s, log(λL), log(λR)].
template <class T>
T stepShape(InterfaceModel model, const T* q, double s) {
  if (model == InterfaceModel::kBlurredStep) {
    const T w = exp(q[2]);
    return T(0.5) * erfc(-(T(s) - q[1]) / (w * T(M_SQRT2)));
  }
  const T left = exp(q[2]), right = exp(q[3]);
  const T r = left / (left + right);
  const T d = T(s) - q[1];
  if (d < T(0)) return r * exp(d / left);
  return T(1) - (T(1) - r) * exp(-d / right);
}

int perInterface(InterfaceModel m) {
  return m == InterfaceModel::kBlurredStep ? 3 : 4;
}

struct ProfileCost {
  const BandProfile* p;
  InterfaceModel model;
  int interfaces;
  template <class T>
  bool operator()(T const* const* params, T* residuals) const {
    const T* q = params[0];
    const int k = perInterface(model);
    for (std::size_t i = 0; i < p->s.size(); ++i) {
      T v = q[0] + q[1] * T(p->s[i]);
      for (int j = 0; j < interfaces; ++j) {
        const T* qj = q + 2 + k * j;  // dV, position, log widths
        v += qj[0] * stepShape(model, qj, p->s[i]);
      }
      residuals[i] = (v - T(p->value[i])) / T(p->se[i]);
    }
    return true;
  }
};

}  // namespace

InterfaceFit fitInterfaces(const BandProfile& p, InterfaceModel model,
                           const InterfaceFitOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("interface fit options: " + why);
  const int k = perInterface(model);
  const int nparams = 2 + k * o.interfaces;
  const int npts = static_cast<int>(p.s.size());
  if (npts < nparams + 3) {
    throw ProcessingError(
        fmt::format("the profile has {} points, too few for {} parameters", npts, nparams));
  }
  // Start: steps where the profile changes fastest, heights from the means on either side.
  std::vector<double> pos =
      o.initial_positions_um.empty() ? steepestChanges(p, o.interfaces) : o.initial_positions_um;
  if (static_cast<int>(pos.size()) < o.interfaces)
    throw ProcessingError("could not place the starting interfaces on the profile");
  std::sort(pos.begin(), pos.end());
  const double step = p.s.size() > 1 ? (p.s.back() - p.s.front()) / (p.s.size() - 1) : 1;
  std::vector<double> q(nparams, 0.0);
  q[0] = p.value.front();
  auto meanNear = [&](double at, int sign) {
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < p.s.size(); ++i) {
      const double d = (p.s[i] - at) * sign;
      if (d > 3 * step && d < 10 * step) sum += p.value[i], ++n;
    }
    return n ? sum / n : 0.0;
  };
  for (int j = 0; j < o.interfaces; ++j) {
    double* qi = q.data() + 2 + k * j;
    qi[0] = meanNear(pos[j], +1) - meanNear(pos[j], -1);
    qi[1] = pos[j];
    qi[2] = std::log(2 * step);
    if (k == 4) qi[3] = std::log(2 * step);
  }
  ceres::Problem problem;
  auto* cost = new ceres::DynamicAutoDiffCostFunction<ProfileCost, 8>(
      new ProfileCost{&p, model, o.interfaces});
  cost->AddParameterBlock(nparams);
  cost->SetNumResiduals(npts);
  problem.AddResidualBlock(cost, nullptr, q.data());
  const double lo = p.s.front(), hi = p.s.back();
  const double log_min = std::log(step * 0.05), log_max = std::log(hi - lo);
  for (int j = 0; j < o.interfaces; ++j) {
    const int at = 2 + k * j;
    problem.SetParameterLowerBound(q.data(), at + 1, lo);
    problem.SetParameterUpperBound(q.data(), at + 1, hi);
    for (int w = 2; w < k; ++w) {
      q[at + w] = std::clamp(q[at + w], log_min, log_max);
      problem.SetParameterLowerBound(q.data(), at + w, log_min);
      problem.SetParameterUpperBound(q.data(), at + w, log_max);
    }
  }
  ceres::Solver::Options so;
  so.max_num_iterations = o.max_iterations;
  so.linear_solver_type = ceres::DENSE_QR;
  so.function_tolerance = 1e-12;
  so.parameter_tolerance = 1e-12;
  ceres::Solver::Summary summary;
  ceres::Solve(so, &problem, &summary);

  InterfaceFit f;
  f.model = model;
  f.points = npts;
  f.parameters = nparams;
  f.converged = summary.termination_type == ceres::CONVERGENCE;
  f.chi2 = 2 * summary.final_cost;
  f.reduced_chi2 = f.chi2 / std::max(1, npts - nparams);
  f.aic = f.chi2 + 2 * nparams;
  f.bic = f.chi2 + nparams * std::log(static_cast<double>(npts));
  // Standard errors from (JᵀJ)⁻¹ at the optimum (residuals already weighted by 1/se).
  std::vector<double> var(nparams, NAN);
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.null_space_rank = -1;
  ceres::Covariance cov(co);
  std::vector<std::pair<const double*, const double*>> blocks{{q.data(), q.data()}};
  if (cov.Compute(blocks, &problem)) {
    std::vector<double> c(static_cast<std::size_t>(nparams) * nparams);
    cov.GetCovarianceBlock(q.data(), q.data(), c.data());
    for (int i = 0; i < nparams; ++i) var[i] = c[static_cast<std::size_t>(i) * nparams + i];
  }
  const std::string u = p.unit;
  f.values.push_back({"V0", u, q[0], std::sqrt(var[0])});
  f.values.push_back({"slope", u + "/um", q[1], std::sqrt(var[1])});
  for (int j = 0; j < o.interfaces; ++j) {
    const int at = 2 + k * j;
    const std::string tag = o.interfaces == 1 ? "" : fmt::format("_{}", j + 1);
    f.values.push_back({"dV" + tag, u, q[at], std::sqrt(var[at])});
    f.values.push_back({"position" + tag, "um", q[at + 1], std::sqrt(var[at + 1])});
    auto positive = [&](const std::string& name, int i) {  // fitted as a log: delta method
      const double v = std::exp(q[i]);
      f.values.push_back({name + tag, "um", v, v * std::sqrt(var[i])});
    };
    if (k == 3) {
      positive("width", at + 2);
    } else {
      positive("lambda_left", at + 2);
      positive("lambda_right", at + 3);
    }
  }
  ProfileCost eval{&p, model, o.interfaces};
  f.prediction.resize(npts);
  const double* params[] = {q.data()};
  eval(params, f.prediction.data());
  for (int i = 0; i < npts; ++i) f.prediction[i] = p.value[i] + f.prediction[i] * p.se[i];
  return f;
}

}  // namespace ionmap::spm
