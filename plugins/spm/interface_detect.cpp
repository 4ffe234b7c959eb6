#include "spm/interface_detect.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <Eigen/Dense>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::spm {

bool DetectOptions::IsValid(std::string* error) const {
  std::string why;
  if (order < 0 || order > 3) why = "the interface's order must be 0 to 3";
  if (!(smooth_px >= 0.5 && smooth_px <= 20)) why = "smooth_px must be 0.5 to 20 pixels";
  if (error) *error = why;
  return why.empty();
}

double InterfaceCurve::at(double t) const {
  const double q = (t - t_mid) / half_span;
  double v = 0, p = 1;
  for (double a : coefficients) v += a * p, p *= q;
  return v;
}

double InterfaceCurve::slope(double t) const {
  const double q = (t - t_mid) / half_span;
  double v = 0, p = 1;
  for (std::size_t k = 1; k < coefficients.size(); ++k) v += k * coefficients[k] * p, p *= q;
  return v / half_span;
}

double InterfaceCurve::angleDeg() const {
  return std::atan(slope(t_mid)) * 180.0 / M_PI;
}

std::vector<Point2> InterfaceCurve::points(int n) const {
  std::vector<Point2> out;
  for (int i = 0; i < n; ++i) {
    const double t = t_min + (t_max - t_min) * i / std::max(1, n - 1);
    const double u = at(t);
    out.push_back(across_x ? Point2{u, t} : Point2{t, u});
  }
  return out;
}

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  const auto k = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// Least-squares polynomial in q = (t − t_mid)/half_span through the chosen points.
std::vector<double> fitPolynomial(const std::vector<double>& q, const std::vector<double>& u,
                                  const std::vector<bool>& use, int order) {
  int n = 0;
  for (bool b : use) n += b;
  Eigen::MatrixXd a(n, order + 1);
  Eigen::VectorXd rhs(n);
  int r = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (!use[i]) continue;
    double p = 1;
    for (int k = 0; k <= order; ++k) a(r, k) = p, p *= q[i];
    rhs(r++) = u[i];
  }
  const Eigen::VectorXd c = a.colPivHouseholderQr().solve(rhs);
  return {c.data(), c.data() + c.size()};
}

double evalPolynomial(const std::vector<double>& c, double q) {
  double v = 0, p = 1;
  for (double a : c) v += a * p, p *= q;
  return v;
}

}  // namespace

InterfaceCurve detectInterface(const Map& m, const DetectOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("interface detection: " + why);
  m.checkConsistent();
  if (m.grid.rotation != 0.0)
    throw ProcessingError("interface detection needs an unrotated map ('" + m.name +
                          "' is rotated by " + fmt::format("{:.3g}", m.grid.rotation) + " rad)");
  // Smoothed signal with invalid pixels filled from their neighbours (normalised convolution).
  cv::Mat v(m.height(), m.width(), CV_64F), w(m.height(), m.width(), CV_64F);
  for (int y = 0; y < m.height(); ++y) {
    for (int x = 0; x < m.width(); ++x) {
      const bool ok = m.valid(x, y) && std::isfinite(m.values(x, y));
      v.at<double>(y, x) = ok ? m.values(x, y) : 0.0;
      w.at<double>(y, x) = ok ? 1.0 : 0.0;
    }
  }
  auto gradient = [&](double sx, double sy, bool along_x) {
    cv::Mat vs, ws, g;
    cv::GaussianBlur(v, vs, {0, 0}, sx, sy, cv::BORDER_REFLECT);
    cv::GaussianBlur(w, ws, {0, 0}, sx, sy, cv::BORDER_REFLECT);
    cv::Sobel(vs / cv::max(ws, 1e-12), g, CV_64F, along_x ? 1 : 0, along_x ? 0 : 1, 3, 1.0 / 8, 0,
              cv::BORDER_REPLICATE);
    return g;
  };
  const double sm = o.smooth_px;
  cv::Mat gx = gradient(sm, sm, true), gy = gradient(sm, sm, false);
  // Per scan line, how far its strongest change stands above the typical one.
  auto lineStrength = [&](const cv::Mat& g, bool rows) {
    std::vector<double> strength;
    const int lines = rows ? g.rows : g.cols, len = rows ? g.cols : g.rows;
    for (int l = 0; l < lines; ++l) {
      std::vector<double> a(len);
      for (int i = 0; i < len; ++i) a[i] = std::abs(rows ? g.at<double>(l, i) : g.at<double>(i, l));
      const double peak = *std::max_element(a.begin(), a.end());
      strength.push_back(peak - median(a));
    }
    return median(strength);
  };
  bool across_x = o.across == Across::kX;
  if (o.across == Across::kAuto) across_x = lineStrength(gx, true) >= lineStrength(gy, false);
  if (!across_x) {
    cv::transpose(gy, gx);
    cv::transpose(w, w);
  }
  const cv::Mat& g = gx;  // rows = scan lines crossing the interface, columns = across it
  const int lines = g.rows, len = g.cols;
  const double pu = across_x ? m.grid.pixel_x : m.grid.pixel_y;
  const double pt = across_x ? m.grid.pixel_y : m.grid.pixel_x;
  const double ou = across_x ? m.grid.origin_x : m.grid.origin_y;
  const double ot = across_x ? m.grid.origin_y : m.grid.origin_x;
  if (lines < 8 || len < 8)
    throw ProcessingError(fmt::format(
        "interface detection on '{}': {} scan lines of {} pixels across the interface (need at "
        "least 8 of 8)",
        m.name, lines, len));

  // Which way the signal steps: the sign of the strongest changes.
  double sum_sign = 0;
  for (int l = 0; l < lines; ++l) {
    double best = 0;
    for (int i = 0; i < len; ++i) {
      if (std::abs(g.at<double>(l, i)) > std::abs(best)) best = g.at<double>(l, i);
    }
    sum_sign += best;
  }
  const double sign = sum_sign >= 0 ? 1.0 : -1.0;

  // Position (pixels) of the strongest change of that sign on a line within [lo, hi], refined
  // by a parabola through the peak; NaN where nothing stands out of the line's noise.
  auto peakOn = [&](int l, int lo, int hi, double stand_out) {
    lo = std::max(lo, 1), hi = std::min(hi, len - 2);
    int best = -1;
    double bv = 0;
    std::vector<double> a;
    for (int i = 0; i < len; ++i) {
      if (w.at<double>(l, i) < 0.5) continue;
      const double gi = sign * g.at<double>(l, i);
      a.push_back(std::abs(gi));
      if (i >= lo && i <= hi && gi > bv) bv = gi, best = i;
    }
    if (best < 0 || a.size() < 8) return std::nan("");
    const double typical = median(a);
    const double mad = median([&] {
      std::vector<double> d;
      for (double x : a) d.push_back(std::abs(x - typical));
      return d;
    }());
    if (bv < typical + stand_out * std::max(1.4826 * mad, 1e-12)) return std::nan("");
    const double l0 = sign * g.at<double>(l, best - 1), l2 = sign * g.at<double>(l, best + 1);
    const double den = l0 - 2 * bv + l2;
    const double off = den < 0 ? std::clamp(0.5 * (l0 - l2) / den, -0.5, 0.5) : 0.0;
    return best + off;
  };

  InterfaceCurve c;
  c.across_x = across_x;
  c.sign = sign;
  c.pixel_um = pu;
  c.u_origin = ou;
  c.u_extent = len * pu;
  c.lines_total = lines;
  c.t_min = ot + 0.5 * pt;
  c.t_max = ot + (lines - 0.5) * pt;
  c.t_mid = 0.5 * (c.t_min + c.t_max);
  c.half_span = std::max(0.5 * (c.t_max - c.t_min), pt);
  std::vector<double> q(lines), u(lines);
  for (int l = 0; l < lines; ++l) {
    c.line_t.push_back(ot + (l + 0.5) * pt);
    q[l] = (c.line_t[l] - c.t_mid) / c.half_span;
    u[l] = peakOn(l, 0, len - 1, 5.0);
  }
  std::vector<bool> use(lines);
  std::vector<int> found;
  for (int l = 0; l < lines; ++l) {
    if (std::isfinite(u[l])) found.push_back(l);
  }
  if (found.size() * 2 < static_cast<std::size_t>(lines))
    throw ProcessingError(fmt::format(
        "no interface found in '{}': a change standing out of the noise on only {} of {} scan "
        "lines (give the profile `line` instead, or detect from the other channel)",
        m.name, found.size(), lines));

  // RANSAC for a first straight line (in pixels), tolerant of lines that caught another change.
  const double tol = std::max(2.0, 2.0 * o.smooth_px);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, found.size() - 1);
  double best_a = median([&] {
    std::vector<double> f;
    for (int l : found) f.push_back(u[l]);
    return f;
  }()),
         best_b = 0;
  int best_count = -1;
  for (int it = 0; it < 400; ++it) {
    const int i = found[pick(rng)], j = found[pick(rng)];
    const double b = i == j ? 0.0 : (u[j] - u[i]) / (j - i);
    const double a = u[i] - b * i;
    int count = 0;
    for (int l : found) count += std::abs(u[l] - (a + b * l)) <= tol;
    if (count > best_count) best_count = count, best_a = a, best_b = b;
  }
  std::vector<double> coef;  // in pixels across, of q
  for (int l = 0; l < lines; ++l)
    use[l] = std::isfinite(u[l]) && std::abs(u[l] - (best_a + best_b * l)) <= tol;
  coef = fitPolynomial(q, u, use, std::min(o.order, 1));

  // Search near the curve, refit the polynomial, leave out lines far from it; three rounds.
  const double window = std::max(3.0, 3.0 * o.smooth_px);
  for (int round = 0; round < 3; ++round) {
    for (int l = 0; l < lines; ++l) {
      const double centre = evalPolynomial(coef, q[l]);
      u[l] = peakOn(l, static_cast<int>(std::floor(centre - window)),
                    static_cast<int>(std::ceil(centre + window)), 3.0);
      use[l] = std::isfinite(u[l]);
    }
    if (std::count(use.begin(), use.end(), true) < o.order + 2) break;
    coef = fitPolynomial(q, u, use, o.order);
    std::vector<double> res;
    for (int l = 0; l < lines; ++l) {
      if (use[l]) res.push_back(std::abs(u[l] - evalPolynomial(coef, q[l])));
    }
    const double cut = std::max(0.75, 3.5 * 1.4826 * median(res));
    for (int l = 0; l < lines; ++l) {
      if (use[l] && std::abs(u[l] - evalPolynomial(coef, q[l])) > cut) use[l] = false;
    }
    if (std::count(use.begin(), use.end(), true) >= o.order + 2)
      coef = fitPolynomial(q, u, use, o.order);
  }
  c.lines_used = static_cast<int>(std::count(use.begin(), use.end(), true));
  if (c.lines_used * 2 < lines)
    throw ProcessingError(fmt::format(
        "no consistent interface in '{}': only {} of {} scan lines agree on where it is (give "
        "the profile `line` instead, or detect from the other channel)",
        m.name, c.lines_used, lines));
  double ss = 0;
  for (int l = 0; l < lines; ++l) {
    const double r = use[l] ? u[l] - evalPolynomial(coef, q[l]) : 0.0;
    ss += r * r;
  }
  c.rms_residual_um = std::sqrt(ss / c.lines_used) * pu;
  {
    // Var c(t_mid) = σ² [(AᵀA)⁻¹]₀₀ with σ² the lines' scatter about the curve.
    Eigen::MatrixXd ata = Eigen::MatrixXd::Zero(o.order + 1, o.order + 1);
    for (int l = 0; l < lines; ++l) {
      if (!use[l]) continue;
      Eigen::VectorXd row(o.order + 1);
      double p = 1;
      for (int k = 0; k <= o.order; ++k) row(k) = p, p *= q[l];
      ata += row * row.transpose();
    }
    // The smoothing correlates the lines' errors over about 2√π σ lines: that many count as one.
    const int dof = std::max(1, c.lines_used - (o.order + 1));
    const double correlated = std::max(1.0, 2.0 * std::sqrt(M_PI) * o.smooth_px);
    const Eigen::MatrixXd cov = ata.inverse() * (ss / dof * correlated);
    c.position_se_um = std::sqrt(std::max(0.0, cov(0, 0))) * pu;
    // How far the fitted curve's shape may be off, relative to its middle, RMS over the lines:
    // a blur of the profile that the fit takes for width.
    double blur = 0;
    for (int l = 0; l < lines; ++l) {
      Eigen::VectorXd d(o.order + 1);
      double p = 1;
      for (int k = 0; k <= o.order; ++k) d(k) = p - (k == 0 ? 1.0 : 0.0), p *= q[l];
      blur += d.dot(cov * d);
    }
    c.shape_blur_um = std::sqrt(std::max(0.0, blur / lines)) * pu;
  }
  // Pixels across (centres at integers) → µm.
  c.coefficients = coef;
  for (double& a : c.coefficients) a *= pu;
  c.coefficients[0] += ou + 0.5 * pu;
  for (int l = 0; l < lines; ++l)
    c.line_u.push_back(std::isfinite(u[l]) ? ou + (u[l] + 0.5) * pu : NAN);
  c.line_used = use;
  return c;
}

void addCurvePositionError(InterfaceFit& fit, const InterfaceCurve& c) {
  for (auto& v : fit.values) {
    if (v.name.rfind("position", 0) == 0)
      v.standard_error = std::hypot(v.standard_error, c.position_se_um);
  }
}

std::vector<std::string> detectionWarnings(const InterfaceCurve& c) {
  std::vector<std::string> w;
  if (c.lines_used < 0.8 * c.lines_total)
    w.push_back(fmt::format(
        "the interface was found on only {} of {} scan lines: check the interface line on the "
        "quicklook",
        c.lines_used, c.lines_total));
  if (c.rms_residual_um > 1.5 * c.pixel_um)
    w.push_back(fmt::format(
        "the detected interface scatters by {:.3g} um ({:.1f} px RMS) about its fitted curve: it "
        "may be rougher or more curved than the order allows",
        c.rms_residual_um, c.rms_residual_um / c.pixel_um));
  return w;
}

BandProfile bandProfileAlong(const Map& m, const InterfaceCurve& c, double half_width_um,
                             double step_um) {
  if (!(half_width_um > 0) || !(step_um > 0))
    throw ProcessingError("the profile needs a band width and a step > 0");
  const double at_mid = c.at(c.t_mid) - c.u_origin;
  auto sOf = [&](double u, double t) {
    return at_mid + (u - c.at(t)) / std::sqrt(1.0 + c.slope(t) * c.slope(t));
  };
  // Only the bins every scan line of the band reaches: a bin near the map's edge that only some
  // lines reach would carry those lines' offsets (what levelling left of the slow-scan
  // direction's own potential gradient) and bend the profile's ends.
  double s_lo = -INFINITY, s_hi = INFINITY;
  for (double t : c.line_t) {
    if (std::abs(t - c.t_mid) > half_width_um) continue;
    s_lo = std::max(s_lo, sOf(c.u_origin, t));
    s_hi = std::min(s_hi, sOf(c.u_origin + c.u_extent, t));
  }
  s_lo = std::ceil(std::max(0.0, s_lo) / step_um - 1e-9) * step_um;
  s_hi = std::floor(s_hi / step_um + 1e-9) * step_um;
  ProfileBins bins(c.u_extent, step_um);
  for (int y = 0; y < m.height(); ++y) {
    for (int x = 0; x < m.width(); ++x) {
      if (!m.valid(x, y)) continue;
      const Point2 p = m.grid.centre(x, y);
      const double u = c.across_x ? p.x : p.y, t = c.across_x ? p.y : p.x;
      if (std::abs(t - c.t_mid) > half_width_um) continue;
      const double sv = sOf(u, t);
      if (sv >= s_lo && sv < s_hi) bins.add(sv, m.values(x, y), c.across_x ? y : -1);
    }
  }
  return bins.finish(m.unit);
}

}  // namespace ionmap::spm
