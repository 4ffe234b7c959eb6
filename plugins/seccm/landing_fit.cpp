#include "seccm/landing_fit.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::seccm {

bool LandingFitOptions::IsValid(std::string* error) const {
  std::string why;
  if (!(skip_s >= 0)) why = "skip must be >= 0 s";
  if (!(potential_tolerance_V > 0)) why = "potential_tolerance must be > 0 V";
  if (!(saturation_A >= 0)) why = "saturation must be >= 0 A";
  if (min_samples < 2) why = "min_samples must be at least 2";
  if (error) *error = why;
  return why.empty();
}

std::vector<LandingResult> fitLandings(const CurveSet& c, const LandingFitOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("SECCM landing fit: " + why);
  c.checkConsistent();
  const std::size_t ti = c.channelIndex("t"), ei = c.channelIndex("E"), ii = c.channelIndex("I");
  std::vector<LandingResult> out;
  out.reserve(c.curves.size());
  for (const Curve& cv : c.curves) {
    LandingResult r;
    r.x = cv.x, r.y = cv.y;
    const auto& t = cv.samples[ti];
    const auto& e = cv.samples[ei];
    const auto& i = cv.samples[ii];
    std::vector<double> ek, ik;
    bool saturated = false;
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (t[k] - t.front() < o.skip_s || !std::isfinite(e[k]) || !std::isfinite(i[k])) continue;
      ek.push_back(e[k]), ik.push_back(i[k]);
      saturated = saturated || (o.saturation_A > 0 && std::abs(i[k]) >= o.saturation_A);
    }
    r.samples = static_cast<int>(ek.size());
    if (r.samples < o.min_samples) {
      r.flag =
          fmt::format("{} samples after the touchdown spike (need {})", r.samples, o.min_samples);
      out.push_back(r);
      continue;
    }
    if (saturated) r.flag = "current saturated";
    // The current: at the requested potential, or the mean of every kept sample.
    double s = 0, s2 = 0;
    int n = 0;
    for (std::size_t k = 0; k < ek.size(); ++k) {
      if (std::isfinite(o.potential_V) && std::abs(ek[k] - o.potential_V) > o.potential_tolerance_V)
        continue;
      s += ik[k], s2 += ik[k] * ik[k], ++n;
    }
    if (n >= 2) {
      r.current = s / n;
      r.current_se = std::sqrt(std::max(0.0, (s2 - n * r.current * r.current) / (n - 1)) / n);
    } else if (r.flag.empty()) {
      r.flag = fmt::format("fewer than 2 samples within {} V of {} V", o.potential_tolerance_V,
                           o.potential_V);
    }
    // I = a + G·E by least squares, when the potential was swept.
    const double em = [&] {
      double a = 0;
      for (double v : ek) a += v;
      return a / static_cast<double>(ek.size());
    }();
    double sxx = 0, sxy = 0, im = 0;
    for (double v : ik) im += v;
    im /= static_cast<double>(ik.size());
    for (std::size_t k = 0; k < ek.size(); ++k) {
      sxx += (ek[k] - em) * (ek[k] - em);
      sxy += (ek[k] - em) * (ik[k] - im);
    }
    r.potential = em;
    const double range =
        *std::max_element(ek.begin(), ek.end()) - *std::min_element(ek.begin(), ek.end());
    if (range > 1e-6) {
      r.conductance = sxy / sxx;
      r.intercept = im - r.conductance * em;
      double ss = 0, st = 0;
      for (std::size_t k = 0; k < ek.size(); ++k) {
        const double res = ik[k] - (r.intercept + r.conductance * ek[k]);
        ss += res * res, st += (ik[k] - im) * (ik[k] - im);
      }
      const double dof = static_cast<double>(ek.size()) - 2;
      r.residual_rms = std::sqrt(ss / static_cast<double>(ek.size()));
      r.r2 = st > 0 ? 1 - ss / st : NAN;
      r.conductance_se = dof > 0 ? std::sqrt(ss / dof / sxx) : NAN;
    }
    out.push_back(r);
  }
  return out;
}

bool ContactModel::IsValid(std::string* error) const {
  std::string why;
  if (kind != Kind::kNone && !(radius_um > 0)) why = "the contact model needs a radius > 0";
  if (kind == Kind::kThinFilm && !(film_um > 0)) why = "the thin-film model needs a thickness > 0";
  if (radius_error_um < 0 || pipette_error_ohm < 0 || film_error_um < 0 || pipette_ohm < 0 ||
      charge_transfer_ohm < 0)
    why = "resistances and errors must be >= 0";
  if (error) *error = why;
  return why.empty();
}

int resistanceAndConductivity(std::vector<LandingResult>& r, const ContactModel& m) {
  if (std::string why; !m.IsValid(&why)) throw UsageError("SECCM contact model: " + why);
  int below = 0;
  for (auto& l : r) {
    if (std::isfinite(l.conductance)) {
      l.resistance = 1.0 / l.conductance;
      l.resistance_se = l.conductance_se / (l.conductance * l.conductance);
    } else if (std::isfinite(l.current) && l.current != 0) {
      l.resistance = (l.potential - m.rest_potential_V) / l.current;
      l.resistance_se = std::abs(l.resistance) * l.current_se / std::abs(l.current);
    }
    if (m.kind == ContactModel::Kind::kNone || !l.good() || !std::isfinite(l.resistance)) continue;
    const double contact = l.resistance - m.pipette_ohm - m.charge_transfer_ohm;
    if (!(contact > 0)) {
      ++below;
      continue;
    }
    const double a = m.radius_um * 1e-4;  // cm
    const double rel_stat = std::abs(l.resistance_se / contact);
    double rel_sys2 = 0;
    if (m.kind == ContactModel::Kind::kSpreading) {
      l.conductivity = 1.0 / (4 * a * contact);
      rel_sys2 = std::pow(m.radius_error_um / m.radius_um, 2);
    } else {
      l.conductivity = m.film_um * 1e-4 / (M_PI * a * a * contact);
      rel_sys2 = std::pow(2 * m.radius_error_um / m.radius_um, 2) +
                 std::pow(m.film_error_um / m.film_um, 2);
    }
    rel_sys2 += std::pow(m.pipette_error_ohm / contact, 2);
    l.conductivity_se = l.conductivity * rel_stat;
    l.conductivity_systematic_se = l.conductivity * std::sqrt(rel_sys2);
  }
  return below;
}

Calibration calibrateContact(const std::vector<double>& ra, double sa,
                             const std::vector<double>& rb, double sb) {
  auto meanSe = [](const std::vector<double>& v, const char* which) {
    std::vector<double> f;
    for (double x : v) {
      if (std::isfinite(x)) f.push_back(x);
    }
    if (f.size() < 2)
      throw ProcessingError(
          fmt::format("calibration: reference {} has {} landings with a "
                      "resistance (need 2)",
                      which, f.size()));
    double s = 0, s2 = 0;
    for (double x : f) s += x, s2 += x * x;
    const double n = static_cast<double>(f.size()), m = s / n;
    return std::array<double, 3>{m, std::sqrt(std::max(0.0, (s2 - n * m * m) / (n - 1)) / n), n};
  };
  if (!(sa > 0) || !(sb > 0) || sa == sb)
    throw UsageError("calibration: two different reference conductivities > 0 are needed");
  const auto [ma, ea, na] = meanSe(ra, "a");
  const auto [mb, eb, nb] = meanSe(rb, "b");
  const double xa = 1 / (4 * sa), xb = 1 / (4 * sb);  // Ohm·cm
  const double slope = (ma - mb) / (xa - xb);         // 1/a, 1/cm
  if (!(slope > 0))
    throw ProcessingError(fmt::format(
        "calibration: the references' resistances ({:.4g} and {:.4g} Ohm) do not fall with their "
        "conductivities ({:.3g} and {:.3g} S/cm): no positive radius",
        ma, mb, sa, sb));
  Calibration c;
  c.radius_um = 1e4 / slope;
  const double slope_se = std::hypot(ea, eb) / std::abs(xa - xb);
  c.radius_error_um = c.radius_um * slope_se / slope;
  c.pipette_ohm = ma - slope * xa;
  // R_p = (ma·xb − mb·xa)/(xb − xa): ∂/∂ma = xb/(xb − xa), ∂/∂mb = −xa/(xb − xa)
  c.pipette_error_ohm = std::hypot(ea * xb, eb * xa) / std::abs(xb - xa);
  c.landings_a = static_cast<int>(na), c.landings_b = static_cast<int>(nb);
  return c;
}

namespace {

// Distinct positions (a cluster within `tol` counts once), sorted.
std::vector<double> distinct(std::vector<double> v, double tol) {
  std::sort(v.begin(), v.end());
  std::vector<double> out;
  for (double a : v) {
    if (out.empty() || a - out.back() > tol) out.push_back(a);
  }
  return out;
}

double medianStep(const std::vector<double>& d) {
  std::vector<double> steps;
  for (std::size_t k = 1; k < d.size(); ++k) steps.push_back(d[k] - d[k - 1]);
  std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
  return steps[steps.size() / 2];
}

}  // namespace

LandingGrid landingGrid(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.empty())
    throw ProcessingError("landing grid: no landings, or x and y of different lengths");
  // How close two positions may be and still be one: 0.3 of the typical step between distinct
  // positions (the median of the gaps above a tenth of the largest), so that jitter within a
  // point merges and neighbouring points, or a missing row, do not.
  auto tolerance = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::vector<double> gaps;
    double largest = 0;
    for (std::size_t k = 1; k < v.size(); ++k) largest = std::max(largest, v[k] - v[k - 1]);
    for (std::size_t k = 1; k < v.size(); ++k) {
      if (v[k] - v[k - 1] > 0.1 * largest) gaps.push_back(v[k] - v[k - 1]);
    }
    if (gaps.empty()) return 1e-9;
    std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
    return 0.3 * gaps[gaps.size() / 2];
  };
  const std::vector<double> dx = distinct(x, tolerance(x));
  const std::vector<double> dy = distinct(y, tolerance(y));
  if (dx.size() < 2 || dy.size() < 2)
    throw ProcessingError(fmt::format(
        "the landings lie on {} distinct x and {} distinct y positions: no raster to make maps on "
        "(a line scan needs at least 2 of each)",
        dx.size(), dy.size()));
  LandingGrid g;
  g.grid.pixel_x = medianStep(dx);
  g.grid.pixel_y = medianStep(dy);
  g.grid.width = static_cast<int>(std::lround((dx.back() - dx.front()) / g.grid.pixel_x)) + 1;
  g.grid.height = static_cast<int>(std::lround((dy.back() - dy.front()) / g.grid.pixel_y)) + 1;
  g.grid.origin_x = dx.front() - 0.5 * g.grid.pixel_x;
  g.grid.origin_y = dy.front() - 0.5 * g.grid.pixel_y;
  if (static_cast<double>(g.grid.width) * g.grid.height > 4.0 * x.size() + 1e6)
    throw ProcessingError(fmt::format(
        "the landings' positions make a raster of {} x {} cells for {} landings: they are not on "
        "a regular grid",
        g.grid.width, g.grid.height, x.size()));
  std::vector<char> taken(static_cast<std::size_t>(g.grid.width) * g.grid.height, 0);
  for (std::size_t k = 0; k < x.size(); ++k) {
    const int cx = static_cast<int>(std::lround((x[k] - dx.front()) / g.grid.pixel_x));
    const int cy = static_cast<int>(std::lround((y[k] - dy.front()) / g.grid.pixel_y));
    const int at = cy * g.grid.width + cx;
    if (taken[at]) {
      g.cell.push_back(-1);
      ++g.repeated;
    } else {
      taken[at] = 1;
      g.cell.push_back(at);
    }
  }
  return g;
}

Map landingMap(const LandingGrid& g, const std::vector<LandingResult>& r, const std::string& name,
               const std::string& unit, double (*value)(const LandingResult&)) {
  Map m(name, g.grid, unit);
  for (std::size_t i = 0; i < m.values.size(); ++i) m.values[i] = NAN, m.mask[i] = 0;
  for (std::size_t k = 0; k < r.size() && k < g.cell.size(); ++k) {
    if (g.cell[k] < 0 || !r[k].good()) continue;
    const double v = value(r[k]);
    m.values[static_cast<std::size_t>(g.cell[k])] = v;
    m.mask[static_cast<std::size_t>(g.cell[k])] = std::isfinite(v);
  }
  return m;
}

}  // namespace ionmap::seccm
