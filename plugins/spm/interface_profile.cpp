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

ProfileBins::ProfileBins(double length_um, double step_um)
    : step_(step_um), bins_(step_um > 0 ? static_cast<int>(std::floor(length_um / step_um)) : 0) {
  if (!(length_um > 0) || !(step_um > 0))
    throw ProcessingError("the profile needs a length and a step > 0");
}

void ProfileBins::add(double s, double v, int scan_line) {
  if (!(s >= 0) || !std::isfinite(v)) return;
  const int b = static_cast<int>(std::floor(s / step_));
  if (b < bins_) entries_.push_back({b, scan_line, s, v});
}

BandProfile ProfileBins::finish(const std::string& unit) const {
  std::vector<double> sum(bins_, 0), n(bins_, 0), sum_s(bins_, 0);
  for (const auto& e : entries_) sum[e.bin] += e.value, sum_s[e.bin] += e.s, ++n[e.bin];
  // Each scan line's mean departure from the bin means: an offset common to all bins (what
  // levelling left). Taken out, it neither swells every standard error nor, where a bin holds
  // only some of the lines (a quarter-pixel bin along a tilted interface), moves that bin.
  int lines = 0;
  for (const auto& e : entries_) lines = std::max(lines, e.line + 1);
  std::vector<double> offset(lines, 0), count(lines, 0);
  for (const auto& e : entries_) {
    if (e.line < 0) continue;
    offset[e.line] += e.value - sum[e.bin] / n[e.bin], ++count[e.line];
  }
  for (int l = 0; l < lines; ++l) offset[l] = count[l] > 0 ? offset[l] / count[l] : 0.0;
  std::vector<double> sum1(bins_, 0), sum2(bins_, 0);
  for (const auto& e : entries_) {
    const double v = e.value - (e.line >= 0 ? offset[e.line] : 0.0);
    sum1[e.bin] += v, sum2[e.bin] += v * v;
  }
  BandProfile p;
  p.unit = unit;
  for (int b = 0; b < bins_; ++b) {
    if (n[b] < 3) continue;
    const double mean = sum1[b] / n[b];
    const double var = std::max(0.0, (sum2[b] - n[b] * mean * mean) / (n[b] - 1));
    p.s.push_back(sum_s[b] / n[b]);  // where its pixels are: the bin centre only on average
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

BandProfile bandProfile(const Map& m, const ProfileLine& line, double half_width_um,
                        double step_um) {
  const double len = line.length();
  if (!(len > 0) || !(half_width_um > 0) || !(step_um > 0))
    throw ProcessingError("the profile line needs a length, a band width and a step > 0");
  const double ux = (line.x1 - line.x0) / len, uy = (line.y1 - line.y0) / len;
  ProfileBins bins(len, step_um);
  // Scan lines (rows) cross a profile that runs mostly along x: their offsets can be told apart.
  const bool along_rows = std::abs(ux) > std::abs(uy);
  for (int y = 0; y < m.height(); ++y) {
    for (int x = 0; x < m.width(); ++x) {
      if (!m.valid(x, y)) continue;
      const Point2 p = m.grid.centre(x, y);
      const double dx = p.x - line.x0, dy = p.y - line.y0;
      const double s = dx * ux + dy * uy, t = -dx * uy + dy * ux;
      if (std::abs(t) <= half_width_um) bins.add(s, m.values(x, y), along_rows ? y : -1);
    }
  }
  return bins.finish(m.unit);
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
  const double lo = p.s.front(), hi = p.s.back();
  const double log_min = std::log(step * 0.05), log_max = std::log(hi - lo);
  // A problem started at q with the parameters' bounds; the widths clamped into them.
  auto setUp = [&](ceres::Problem& problem, std::vector<double>& at_q) {
    auto* cost = new ceres::DynamicAutoDiffCostFunction<ProfileCost, 8>(
        new ProfileCost{&p, model, o.interfaces});
    cost->AddParameterBlock(nparams);
    cost->SetNumResiduals(npts);
    problem.AddResidualBlock(cost, nullptr, at_q.data());
    for (int j = 0; j < o.interfaces; ++j) {
      const int at = 2 + k * j;
      problem.SetParameterLowerBound(at_q.data(), at + 1, lo);
      problem.SetParameterUpperBound(at_q.data(), at + 1, hi);
      for (int w = 2; w < k; ++w) {
        at_q[at + w] = std::clamp(at_q[at + w], log_min, log_max);
        problem.SetParameterLowerBound(at_q.data(), at + w, log_min);
        problem.SetParameterUpperBound(at_q.data(), at + w, log_max);
      }
    }
  };
  ceres::Solver::Options so;
  so.max_num_iterations = o.max_iterations;
  so.linear_solver_type = ceres::DENSE_QR;
  so.function_tolerance = 1e-12;
  so.parameter_tolerance = 1e-12;
  ceres::Solver::Summary summary;
  // Several starting widths (2 and 8 points, a twentieth of the profile): a broad space-charge
  // layer started as a sharp step can settle in a poor local minimum. The lowest cost wins.
  double best_cost = INFINITY;
  std::vector<double> best_q = q;
  for (double start_width : {2 * step, 8 * step, (hi - lo) / 20}) {
    std::vector<double> trial = q;
    for (int j = 0; j < o.interfaces; ++j) {
      double* qi = trial.data() + 2 + k * j;
      const double reach = std::max(1.5 * start_width, 3 * step);
      double before = 0, after = 0, nb = 0, na = 0;
      for (std::size_t i = 0; i < p.s.size(); ++i) {
        const double d = p.s[i] - pos[j];
        if (d > reach && d < 3 * reach) after += p.value[i], ++na;
        if (-d > reach && -d < 3 * reach) before += p.value[i], ++nb;
      }
      qi[0] = (na > 0 ? after / na : 0.0) - (nb > 0 ? before / nb : 0.0);
      qi[1] = pos[j];
      qi[2] = std::log(start_width);
      if (k == 4) qi[3] = std::log(start_width);
    }
    {
      ceres::Problem trial_problem;
      setUp(trial_problem, trial);
      ceres::Solver::Summary ts;
      ceres::Solve(so, &trial_problem, &ts);
      if (ts.final_cost < best_cost) best_cost = ts.final_cost, best_q = trial;
    }
  }
  q = best_q;
  ceres::Problem problem;
  setUp(problem, q);
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
