#include "spm/operando.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/label_edges.hpp"

namespace ionmap::spm {

bool OperandoOptions::IsValid(std::string* error) const {
  std::string why;
  if (soc.size() < 2) why = "give the state of charge of every frame (at least 2)";
  for (std::size_t i = 1; i < soc.size() && why.empty(); ++i) {
    if (!(soc[i] != soc[0])) why = "the states of charge must not all be the same";
  }
  if (!(threshold >= 0)) why = "threshold must be >= 0";
  if (!(min_z > 0)) why = "min_z must be > 0";
  if (min_pixels < 2) why = "min_pixels must be at least 2";
  if (edge_px < 0) why = "edge_px must be >= 0";
  if (error) *error = why;
  return why.empty();
}

namespace {

struct Sums {
  double s = 0, s2 = 0;
  std::size_t n = 0;
  double mean() const { return s / n; }
  // Standard error of the mean from the pixels' spread.
  double se() const {
    const double m = mean();
    return std::sqrt(std::max(0.0, (s2 - n * m * m) / (n - 1)) / n);
  }
};

// Per label and state: sums over the pixels valid in every state.
std::map<int, std::vector<Sums>> sums(const std::vector<Map>& frames, const LabelMap& particles,
                                      const std::vector<std::uint8_t>& everywhere) {
  std::map<int, std::vector<Sums>> out;
  for (std::size_t i = 0; i < everywhere.size(); ++i) {
    const int l = particles.labels[i];
    if (l <= 0 || !everywhere[i]) continue;
    auto& v = out.try_emplace(l, frames.size()).first->second;
    for (std::size_t k = 0; k < frames.size(); ++k) {
      const double x = frames[k].values[i];
      v[k].s += x, v[k].s2 += x * x, ++v[k].n;
    }
  }
  return out;
}

}  // namespace

double interpolatedNoiseVariance(double dx_px, double dy_px) {
  const double fx = dx_px - std::floor(dx_px), fy = dy_px - std::floor(dy_px);
  return ((1 - fx) * (1 - fx) + fx * fx) * ((1 - fy) * (1 - fy) + fy * fy);
}

OperandoResult particleResponses(const std::vector<Map>& frames, const LabelMap& particles,
                                 const std::vector<Map>& lithium, const OperandoOptions& o,
                                 const std::vector<double>& noise_variance,
                                 const LabelMap* phases) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("operando options: " + why);
  if (frames.size() != o.soc.size()) {
    throw ProcessingError(fmt::format("{} frames but {} states of charge: give one SOC per frame",
                                      frames.size(), o.soc.size()));
  }
  if (!lithium.empty() && lithium.size() != frames.size()) {
    throw ProcessingError(fmt::format("{} lithium maps for {} KPFM frames: give one per state",
                                      lithium.size(), frames.size()));
  }
  const std::size_t npx = particles.labels.size();
  std::vector<std::uint8_t> everywhere(npx, 1);
  auto require = [&](const Map& m, const std::string& what) {
    if (!m.values.sameSize(particles.labels)) {
      throw ProcessingError(
          fmt::format("{} is {} x {} px, the particle labels {} x {}: put them "
                      "on one grid (register / resample)",
                      what, m.width(), m.height(), particles.width(), particles.height()));
    }
    for (std::size_t i = 0; i < npx; ++i)
      everywhere[i] = everywhere[i] && m.mask[i] && std::isfinite(m.values[i]);
  };
  for (std::size_t k = 0; k < frames.size(); ++k) require(frames[k], fmt::format("frame {}", k));
  const Image<std::uint8_t> near = nearOtherLabels(particles.labels, o.edge_px);
  for (std::size_t i = 0; i < npx; ++i) everywhere[i] = everywhere[i] && !near[i];
  for (std::size_t k = 0; k < lithium.size(); ++k)
    require(lithium[k], fmt::format("lithium map {}", k));
  if (phases && !phases->labels.sameSize(particles.labels)) {
    throw ProcessingError(fmt::format(
        "the phase map is {} x {} px, the particle labels {} x {}: put them on one grid",
        phases->width(), phases->height(), particles.width(), particles.height()));
  }
  // Per particle: pixels in each phase (all its pixels, edges included).
  std::map<int, std::map<int, std::size_t>> phase_pixels;
  if (phases) {
    for (std::size_t i = 0; i < npx; ++i) {
      if (particles.labels[i] > 0) ++phase_pixels[particles.labels[i]][phases->labels[i]];
    }
  }
  const auto kpfm = sums(frames, particles, everywhere);
  const auto li =
      lithium.empty() ? std::map<int, std::vector<Sums>>() : sums(lithium, particles, everywhere);
  OperandoResult r;
  const std::size_t last = frames.size() - 1;
  double socm = 0;
  for (double s : o.soc) socm += s;
  socm /= static_cast<double>(o.soc.size());
  for (const auto& [label, v] : kpfm) {
    if (v[0].n < static_cast<std::size_t>(o.min_pixels)) continue;
    ParticleResponse p;
    p.label = label;
    p.pixels = v[0].n;
    for (std::size_t k = 0; k < v.size(); ++k) {
      const double kept = k < noise_variance.size() ? noise_variance[k] : 1.0;
      p.mean.push_back(v[k].mean());
      p.se.push_back(v[k].se() / std::sqrt(kept));
    }
    p.change = p.mean[last] - p.mean[0];
    p.change_se = std::hypot(p.se[last], p.se[0]);
    p.z = p.change_se > 0 ? p.change / p.change_se : INFINITY * (p.change > 0 ? 1 : -1);
    p.responding = std::abs(p.change) > o.threshold && std::abs(p.z) > o.min_z;
    // Weighted least-squares slope against SOC.
    double sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
    for (std::size_t k = 0; k < v.size(); ++k) {
      const double w = 1 / std::max(p.se[k] * p.se[k], 1e-300), x = o.soc[k] - socm;
      sw += w, swx += w * x, swy += w * p.mean[k], swxx += w * x * x, swxy += w * x * p.mean[k];
    }
    const double det = sw * swxx - swx * swx;
    p.slope = det > 0 ? (sw * swxy - swx * swy) / det : NAN;
    p.slope_se = det > 0 ? std::sqrt(sw / det) : NAN;
    if (const auto it = li.find(label); it != li.end()) {
      const auto& lv = it->second;
      const double first = lv[0].mean(), final_mean = lv[last].mean();
      for (const Sums& s : lv) p.lithium.push_back(first != 0 ? s.mean() / first : NAN);
      p.lithium_change = p.lithium[last] - 1;
      // Relative change (L_last / L_0 − 1) with both means' errors propagated.
      p.lithium_change_se =
          first != 0 ? std::hypot(lv[last].se() / first, final_mean * lv[0].se() / (first * first))
                     : NAN;
    }
    if (const auto it = phase_pixels.find(label); it != phase_pixels.end()) {
      std::size_t total = 0, best = 0;
      for (const auto& [phase, n] : it->second) {
        total += n;
        if (phase > 0 && n > best) best = n, p.phase = phase;
      }
      p.phase_fraction = total ? static_cast<double>(best) / total : 0.0;
    }
    r.responding += p.responding;
    r.particles.push_back(std::move(p));
  }
  if (r.particles.empty())
    throw ProcessingError("no particle has enough valid pixels in every state");
  if (!lithium.empty() && r.particles.size() >= 3) {
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    const double n = static_cast<double>(r.particles.size());
    for (const auto& p : r.particles) {
      sx += p.change, sy += p.lithium_change, sxx += p.change * p.change;
      syy += p.lithium_change * p.lithium_change, sxy += p.change * p.lithium_change;
    }
    const double cov = sxy - sx * sy / n, vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
    if (vx > 0 && vy > 0) {
      r.correlation = cov / std::sqrt(vx * vy);
      r.correlation_se = std::sqrt((1 - r.correlation * r.correlation) / (n - 2));
    }
  }
  return r;
}

std::string phaseName(int phase, const std::vector<std::string>& names) {
  if (phase <= 0) return "no phase";
  if (phase <= static_cast<int>(names.size())) return names[phase - 1];
  return fmt::format("phase {}", phase);
}

std::vector<PhaseSummary> phaseSummaries(const OperandoResult& r,
                                         const std::vector<std::string>& names) {
  std::map<int, std::vector<const ParticleResponse*>> by_phase;
  for (const auto& p : r.particles) by_phase[p.phase].push_back(&p);
  std::vector<PhaseSummary> out;
  for (const auto& [phase, ps] : by_phase) {
    PhaseSummary s;
    s.phase = phase;
    s.name = phaseName(phase, names);
    s.particles = static_cast<int>(ps.size());
    std::vector<double> dv, dli;
    for (const auto* p : ps) {
      s.responding += p->responding;
      dv.push_back(p->change);
      if (std::isfinite(p->lithium_change)) dli.push_back(p->lithium_change);
    }
    // Wilson score interval (z = 1.96) of the responding fraction.
    const double n = s.particles, f = s.responding / n, z = 1.959964, z2 = z * z;
    const double centre = (f + z2 / (2 * n)) / (1 + z2 / n);
    const double half = z / (1 + z2 / n) * std::sqrt(f * (1 - f) / n + z2 / (4 * n * n));
    s.responding_lo = std::max(0.0, centre - half), s.responding_hi = std::min(1.0, centre + half);
    auto meanSe = [](const std::vector<double>& v, double& mean, double& se) {
      if (v.empty()) return;
      double sum = 0, sum2 = 0;
      for (double x : v) sum += x, sum2 += x * x;
      const double k = static_cast<double>(v.size());
      mean = sum / k;
      se = v.size() > 1 ? std::sqrt(std::max(0.0, (sum2 - k * mean * mean) / (k - 1)) / k) : NAN;
    };
    meanSe(dv, s.mean_change, s.mean_change_se);
    meanSe(dli, s.mean_lithium_change, s.mean_lithium_change_se);
    std::sort(dv.begin(), dv.end());
    s.median_change =
        dv.size() % 2 ? dv[dv.size() / 2] : 0.5 * (dv[dv.size() / 2 - 1] + dv[dv.size() / 2]);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ionmap::spm
