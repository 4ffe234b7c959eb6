#include "seccm/bands.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <ceres/ceres.h>
#include <fmt/format.h>
#include <Eigen/Dense>
#include <opencv2/core.hpp>

#include "ionmap/core/error.hpp"

namespace ionmap::seccm {
namespace {

// The sandwich estimate's reach across the bands, in periods.
constexpr double kStripeBandwidth = 2.0;

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
  // Start: the peak's frequency, refined on a grid of a tenth of a bin within ±1 bin by the
  // unwindowed periodogram (the least-squares cost of a plane wave has side lobes one bin
  // apart; a start off by half a bin may settle in one); amplitude and phase by linear least
  // squares at that frequency.
  double p[5] = {mean, 0, 0, best_x / (w * m.grid.pixel_x), best_y / (h * m.grid.pixel_y)};
  {
    std::vector<std::array<double, 3>> pts;  // x, y, value − mean
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (!m.valid(x, y) || !std::isfinite(m.values(x, y))) continue;
        const Point2 q = m.grid.centre(x, y);
        pts.push_back({q.x, q.y, m.values(x, y) - mean});
      }
    }
    const double dfx = 1.0 / (w * m.grid.pixel_x), dfy = 1.0 / (h * m.grid.pixel_y);
    double top = -1, kx0 = p[3], ky0 = p[4];
    for (int i = -10; i <= 10; ++i) {
      for (int j = -10; j <= 10; ++j) {
        const double kx = kx0 + 0.1 * i * dfx, ky = ky0 + 0.1 * j * dfy;
        double re = 0, im = 0;
        for (const auto& q : pts) {
          const double th = 2 * M_PI * (kx * q[0] + ky * q[1]);
          re += q[2] * std::cos(th), im += q[2] * std::sin(th);
        }
        if (re * re + im * im > top) top = re * re + im * im, p[3] = kx, p[4] = ky;
      }
    }
  }
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
  // The plane wave fitted to the valid pixels from `start`.
  auto fit = [&](const double* start, double* out, ceres::Problem& problem) {
    std::copy(start, start + 5, out);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (!m.valid(x, y) || !std::isfinite(m.values(x, y))) continue;
        const Point2 q = m.grid.centre(x, y);
        problem.AddResidualBlock(new ceres::AutoDiffCostFunction<WaveResidual, 1, 5>(
                                     new WaveResidual{q.x, q.y, m.values(x, y)}),
                                 nullptr, out);
      }
    }
    ceres::Solver::Options so;
    so.linear_solver_type = ceres::DENSE_QR;
    so.max_num_iterations = 100;
    ceres::Solver::Summary summary;
    ceres::Solve(so, &problem, &summary);
    return summary;
  };
  double fitted[5];
  ceres::Problem problem;
  const ceres::Solver::Summary summary = fit(p, fitted, problem);
  b.converged = summary.termination_type == ceres::CONVERGENCE;
  b.pixels = n;
  b.mean = fitted[0];
  b.amplitude = std::abs(fitted[1]);
  b.kx = fitted[3], b.ky = fitted[4];
  // Errors: the fit's curvature scaled by the residual scatter treats the residuals as
  // independent, which the bands' own structure (square profiles, domain-to-domain scatter)
  // is not; the sandwich estimate below sees it, and the larger of the two is reported.
  const double s2 = 2 * summary.final_cost / std::max(1, n - 5);
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.null_space_rank = -1;
  ceres::Covariance cov(co);
  std::vector<std::pair<const double*, const double*>> blocks{{fitted, fitted}};
  if (cov.Compute(blocks, &problem)) {
    double c[25];
    cov.GetCovarianceBlock(fitted, fitted, c);
    b.amplitude_se = std::sqrt(c[6] * s2);
    b.cov_xx = c[18] * s2, b.cov_xy = c[19] * s2, b.cov_yy = c[24] * s2;
  }
  {
    // A stripe pattern's residuals are shared along the stripes (each domain's own offset, its
    // profile): a sandwich estimate whose weights fall off with the distance across the bands
    // only, over kStripeBandwidth periods (Bartlett), instead of taking the pixels as
    // independent.
    const double kk = b.kx * b.kx + b.ky * b.ky, kn = std::sqrt(kk);
    struct Row {
      double u, r;
      Eigen::Matrix<double, 5, 1> j;
    };
    std::vector<Row> rows;
    Eigen::Matrix<double, 5, 5> jtj = Eigen::Matrix<double, 5, 5>::Zero();
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (!m.valid(x, y) || !std::isfinite(m.values(x, y))) continue;
        const Point2 q = m.grid.centre(x, y);
        const double th = 2 * M_PI * (fitted[3] * q.x + fitted[4] * q.y) + fitted[2];
        const double c = std::cos(th), sn = std::sin(th);
        Row r;
        r.r = m.values(x, y) - (fitted[0] + fitted[1] * c);
        r.j << -1, -c, fitted[1] * sn, fitted[1] * sn * 2 * M_PI * q.x,
            fitted[1] * sn * 2 * M_PI * q.y;
        r.u = (b.kx * q.x + b.ky * q.y) / kn;
        jtj += r.j * r.j.transpose();
        rows.push_back(r);
      }
    }
    // Σ_ij w(|u_i − u_j|) r_i r_j J_i J_jᵀ with the rows summed into bins of a twentieth of
    // the bandwidth along u (exact but for the kernel's value inside a bin): fast on any map.
    const double bandwidth = kStripeBandwidth / kn;
    const double bin = bandwidth / 20;
    double u_min = INFINITY, u_max = -INFINITY;
    for (const auto& r : rows) u_min = std::min(u_min, r.u), u_max = std::max(u_max, r.u);
    const int nbins = static_cast<int>((u_max - u_min) / bin) + 1;
    std::vector<Eigen::Matrix<double, 5, 1>> sums(static_cast<std::size_t>(nbins),
                                                  Eigen::Matrix<double, 5, 1>::Zero());
    for (const auto& r : rows) sums[static_cast<std::size_t>((r.u - u_min) / bin)] += r.r * r.j;
    Eigen::Matrix<double, 5, 5> meat = Eigen::Matrix<double, 5, 5>::Zero();
    for (int a = 0; a < nbins; ++a) {
      meat += sums[a] * sums[a].transpose();
      for (int c = a + 1; c < nbins && (c - a) * bin < bandwidth; ++c) {
        const double wgt = 1 - (c - a) * bin / bandwidth;
        const Eigen::Matrix<double, 5, 5> cross = sums[a] * sums[c].transpose();
        meat += wgt * (cross + cross.transpose());
      }
    }
    const Eigen::Matrix<double, 5, 5> bread = jtj.inverse();
    const Eigen::Matrix<double, 5, 5> hac = bread * meat * bread;
    const double along_fit =
        (b.kx * b.kx * b.cov_xx + 2 * b.kx * b.ky * b.cov_xy + b.ky * b.ky * b.cov_yy) / kk;
    const double along_hac =
        (b.kx * b.kx * hac(3, 3) + 2 * b.kx * b.ky * hac(3, 4) + b.ky * b.ky * hac(4, 4)) / kk;
    const double across_fit =
        (b.ky * b.ky * b.cov_xx - 2 * b.kx * b.ky * b.cov_xy + b.kx * b.kx * b.cov_yy) / kk;
    const double across_hac =
        (b.ky * b.ky * hac(3, 3) - 2 * b.kx * b.ky * hac(3, 4) + b.kx * b.kx * hac(4, 4)) / kk;
    if (std::isfinite(along_hac + across_hac) && along_hac + across_hac > along_fit + across_fit) {
      b.cov_xx = hac(3, 3), b.cov_xy = hac(3, 4), b.cov_yy = hac(4, 4);
      b.errors_from_stripes = true;
    }
    if (std::isfinite(hac(1, 1))) b.amplitude_se = std::max(b.amplitude_se, std::sqrt(hac(1, 1)));
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
