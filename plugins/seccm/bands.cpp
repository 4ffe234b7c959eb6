#include "seccm/bands.hpp"

#include <algorithm>
#include <cmath>

#include <ceres/ceres.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>

#include "ionmap/core/error.hpp"

namespace ionmap::seccm {
namespace {

struct WaveResidual {
  double x, y, v;
  template <class T>
  bool operator()(const T* p, T* r) const {
    // p: mean, amplitude, phase, kx, ky
    r[0] = T(v) - (p[0] + p[1] * cos(T(2 * M_PI) * (p[3] * T(x) + p[4] * T(y)) + p[2]));
    return true;
  }
};

// Period and band angle (from +y towards +x, in [-90, 90)) of a wave vector with covariance.
void periodAndAngle(Bands& b) {
  const double k2 = b.kx * b.kx + b.ky * b.ky, k = std::sqrt(k2);
  b.period_um = 1 / k;
  // dP/dk = -k/|k|^3
  const double gx = -b.kx / (k2 * k), gy = -b.ky / (k2 * k);
  b.period_se_um =
      std::sqrt(std::max(0.0, gx * gx * b.cov_xx + 2 * gx * gy * b.cov_xy + gy * gy * b.cov_yy));
  // The bands run perpendicular to k, along d = (ky, -kx) (or its opposite): the angle of d
  // from +y towards +x is atan2(d.x, d.y).
  double angle = std::atan2(b.ky, -b.kx) * 180 / M_PI;
  while (angle >= 90) angle -= 180;
  while (angle < -90) angle += 180;
  b.angle_deg = angle;
  // d atan2(ky, -kx) = (ky dkx - kx dky) / |k|^2 (rad)
  const double ax = b.ky / k2, ay = -b.kx / k2;
  b.angle_se_deg =
      std::sqrt(std::max(0.0, ax * ax * b.cov_xx + 2 * ax * ay * b.cov_xy + ay * ay * b.cov_yy)) *
      180 / M_PI;
}

}  // namespace

Bands findBands(const Map& m) {
  m.checkConsistent();
  if (!m.grid.calibrated) throw ProcessingError("bands of '" + m.name + "': no pixel size");
  const int w = m.width(), h = m.height();
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    if (m.mask[i] && std::isfinite(m.values[i])) sum += m.values[i], ++n;
  }
  if (n < 16)
    throw ProcessingError(fmt::format("bands of '{}': {} valid pixels (need 16)", m.name, n));
  const double mean = sum / n;
  // Power spectrum of the Hann-windowed map, invalid pixels at the mean.
  cv::Mat a(h, w, CV_64F);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double v = m.valid(x, y) && std::isfinite(m.values(x, y)) ? m.values(x, y) - mean : 0.0;
      const double hw = 0.5 - 0.5 * std::cos(2 * M_PI * (x + 0.5) / w);
      const double hh = 0.5 - 0.5 * std::cos(2 * M_PI * (y + 0.5) / h);
      a.at<double>(y, x) = v * hw * hh;
    }
  }
  cv::Mat f;
  cv::dft(a, f, cv::DFT_COMPLEX_OUTPUT);
  Bands b;
  b.spectrum = Map(m.name + " power spectrum",
                   Grid{w, h, 1.0 / (w * m.grid.pixel_x), 1.0 / (h * m.grid.pixel_y),
                        -0.5 / m.grid.pixel_x, -0.5 / m.grid.pixel_y},
                   "");
  b.spectrum.grid.calibrated = false;  // frequency bins, not micrometres
  b.spectrum.unit = "1";
  std::vector<double> powers;
  int best_x = 0, best_y = 0;
  double best = -1;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto c = f.at<cv::Vec2d>(y, x);
      const double p = c[0] * c[0] + c[1] * c[1];
      // Signed bins, zero frequency at (0, 0).
      const int bx = x <= w / 2 ? x : x - w, by = y <= h / 2 ? y : y - h;
      b.spectrum.values((bx + w / 2 + w) % w, (by + h / 2 + h) % h) = std::log10(p + 1e-300);
      if (bx * bx + by * by < 3) continue;  // zero and the lowest frequencies: the window's
      powers.push_back(p);
      // Half the plane (the spectrum of a real map is symmetric).
      if ((by > 0 || (by == 0 && bx > 0)) && p > best) best = p, best_x = bx, best_y = by;
    }
  }
  std::nth_element(powers.begin(), powers.begin() + powers.size() / 2, powers.end());
  b.spectrum_peak_ratio = best / std::max(powers[powers.size() / 2], 1e-300);
  // Start: the peak's frequency; amplitude and phase by linear least squares at that frequency.
  double p[5] = {mean, 0, 0, best_x / (w * m.grid.pixel_x), best_y / (h * m.grid.pixel_y)};
  {
    double scc = 0, sss = 0, scs = 0, svc = 0, svs = 0;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (!m.valid(x, y) || !std::isfinite(m.values(x, y))) continue;
        const Point2 q = m.grid.centre(x, y);
        const double th = 2 * M_PI * (p[3] * q.x + p[4] * q.y);
        const double c = std::cos(th), s = std::sin(th), v = m.values(x, y) - mean;
        scc += c * c, sss += s * s, scs += c * s, svc += v * c, svs += v * s;
      }
    }
    const double det = scc * sss - scs * scs;
    const double ac = det != 0 ? (svc * sss - svs * scs) / det : 0;
    const double as = det != 0 ? (svs * scc - svc * scs) / det : 0;
    // v ≈ ac cos θ + as sin θ = A cos(θ + φ) with A = |(ac, as)|, φ = atan2(-as, ac)
    p[1] = std::hypot(ac, as);
    p[2] = std::atan2(-as, ac);
  }
  ceres::Problem problem;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (!m.valid(x, y) || !std::isfinite(m.values(x, y))) continue;
      const Point2 q = m.grid.centre(x, y);
      problem.AddResidualBlock(new ceres::AutoDiffCostFunction<WaveResidual, 1, 5>(
                                   new WaveResidual{q.x, q.y, m.values(x, y)}),
                               nullptr, p);
    }
  }
  ceres::Solver::Options so;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = 100;
  ceres::Solver::Summary summary;
  ceres::Solve(so, &problem, &summary);
  b.converged = summary.termination_type == ceres::CONVERGENCE;
  b.pixels = n;
  b.mean = p[0];
  b.amplitude = std::abs(p[1]);
  b.kx = p[3], b.ky = p[4];
  const double s2 = 2 * summary.final_cost / std::max(1, n - 5);
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.null_space_rank = -1;
  ceres::Covariance cov(co);
  std::vector<std::pair<const double*, const double*>> blocks{{p, p}};
  if (cov.Compute(blocks, &problem)) {
    double c[25];
    cov.GetCovarianceBlock(p, p, c);
    b.amplitude_se = std::sqrt(c[6] * s2);
    b.cov_xx = c[18] * s2, b.cov_xy = c[19] * s2, b.cov_yy = c[24] * s2;
  }
  periodAndAngle(b);
  return b;
}

Bands inFrameOf(const Bands& r, const Transform2D& t) {
  const auto& m = t.matrix();  // [a b tx; c d ty]
  Bands b = r;
  // k' = Aᵀ k
  b.kx = m[0] * r.kx + m[3] * r.ky;
  b.ky = m[1] * r.kx + m[4] * r.ky;
  // Cov' = Aᵀ Cov A
  const double a = m[0], bb = m[1], c = m[3], d = m[4];
  const double xx = r.cov_xx, xy = r.cov_xy, yy = r.cov_yy;
  b.cov_xx = a * a * xx + 2 * a * c * xy + c * c * yy;
  b.cov_xy = a * bb * xx + (a * d + bb * c) * xy + c * d * yy;
  b.cov_yy = bb * bb * xx + 2 * bb * d * xy + d * d * yy;
  periodAndAngle(b);
  return b;
}

}  // namespace ionmap::seccm
