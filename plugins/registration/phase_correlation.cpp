#include "registration/phase_correlation.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/fft.hpp"

namespace ionmap::registration {
namespace {

using Complex = std::complex<double>;

cv::Mat hann(int rows, int cols) {
  cv::Mat w;
  cv::createHanningWindow(w, cv::Size(cols, rows), CV_64F);
  return w;
}

std::vector<Complex> spectrum(const cv::Mat& img, const RealFft2D& fft) {
  cv::Mat c = img.isContinuous() ? img : img.clone();
  std::vector<Complex> out(static_cast<std::size_t>(fft.rows()) * fft.spectrumCols());
  fft.forward(c.ptr<double>(), out.data());
  return out;
}

double parabolic(double left, double centre, double right) {
  const double d = left - 2 * centre + right;
  return std::abs(d) > 1e-12 ? 0.5 * (left - right) / d : 0.0;
}

// Sub-pixel peak by an upsampled DFT of the cross-power spectrum around the integer peak
// (Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33, 156 (2008)): the correlation is
// evaluated on a 1/kUp-pixel grid over ±1.5 px by two small matrix products, then a parabola
// through the finest maximum. `half` is the Hermitian half spectrum (rows × cols/2+1).
constexpr int kUp = 20;
cv::Point2d upsampledPeak(const std::vector<Complex>& half, int rows, int cols, cv::Point peak) {
  const int sc = cols / 2 + 1, n = 3 * kUp + 1;
  std::vector<double> off(n);
  for (int i = 0; i < n; ++i) off[i] = -1.5 + static_cast<double>(i) / kUp;
  // Signed frequencies; the half spectrum stands for the full one: kx and −kx pair up, so
  // summing over kx ≥ 0 with weight 2 (except kx = 0 and Nyquist) and taking the real part
  // gives the real correlation.
  auto fy = [&](int ky) { return ky <= rows / 2 ? ky : ky - rows; };
  // T(ky, j) = Σ_kx w(kx) X(ky, kx) e^{i2π kx (px + off_j)/cols}
  std::vector<Complex> t(static_cast<std::size_t>(rows) * n);
  std::vector<Complex> ex(static_cast<std::size_t>(sc) * n);
  for (int kx = 0; kx < sc; ++kx) {
    const double w = (kx == 0 || (cols % 2 == 0 && kx == cols / 2)) ? 1.0 : 2.0;
    for (int j = 0; j < n; ++j)
      ex[static_cast<std::size_t>(kx) * n + j] =
          w * std::polar(1.0, 2 * M_PI * kx * (peak.x + off[j]) / cols);
  }
  for (int ky = 0; ky < rows; ++ky) {
    const Complex* row = half.data() + static_cast<std::size_t>(ky) * sc;
    Complex* out = t.data() + static_cast<std::size_t>(ky) * n;
    for (int kx = 0; kx < sc; ++kx) {
      const Complex x = row[kx];
      const Complex* e = ex.data() + static_cast<std::size_t>(kx) * n;
      for (int j = 0; j < n; ++j) out[j] += x * e[j];
    }
  }
  cv::Mat r(n, n, CV_64F, cv::Scalar(0));
  for (int ky = 0; ky < rows; ++ky) {
    const Complex* tr = t.data() + static_cast<std::size_t>(ky) * n;
    for (int i = 0; i < n; ++i) {
      const Complex e = std::polar(1.0, 2 * M_PI * fy(ky) * (peak.y + off[i]) / rows);
      double* ri = r.ptr<double>(i);
      for (int j = 0; j < n; ++j) ri[j] += (e * tr[j]).real();
    }
  }
  cv::Point best;
  double top = 0;
  cv::minMaxLoc(r, nullptr, &top, nullptr, &best);
  auto at = [&](int y, int x) {
    return r.at<double>(std::clamp(y, 0, n - 1), std::clamp(x, 0, n - 1));
  };
  const double sx = parabolic(at(best.y, best.x - 1), top, at(best.y, best.x + 1));
  const double sy = parabolic(at(best.y - 1, best.x), top, at(best.y + 1, best.x));
  return {peak.x + off[best.x] + sx / kUp, peak.y + off[best.y] + sy / kUp};
}

}  // namespace

PhaseCorrelation phaseCorrelate(const cv::Mat& a, const cv::Mat& b, bool window, bool whiten) {
  if (a.size() != b.size() || a.type() != CV_64F || b.type() != CV_64F) {
    throw ProcessingError("phase correlation needs two CV_64F images of one size");
  }
  const int rows = a.rows, cols = a.cols;
  cv::Mat aw = a - cv::mean(a)[0], bw = b - cv::mean(b)[0];
  if (window) {
    const cv::Mat w = hann(rows, cols);
    aw = aw.mul(w);
    bw = bw.mul(w);
  }
  const RealFft2D fft(rows, cols);
  const auto fa = spectrum(aw, fft), fb = spectrum(bw, fft);
  std::vector<Complex> cross(fa.size());
  double max_m = 0;
  for (std::size_t i = 0; i < fa.size(); ++i) {
    cross[i] = fb[i] * std::conj(fa[i]);
    max_m = std::max(max_m, std::abs(cross[i]));
  }
  if (whiten) {
    // Phase-only correlation, regularised: frequencies with almost no energy in either image
    // hold only noise and round-off, and must not get the same weight as real structure.
    const double eps = 1e-4 * max_m;
    for (auto& x : cross) x /= std::abs(x) + eps + 1e-300;
  }
  cv::Mat r(rows, cols, CV_64F);
  fft.inverse(cross.data(), r.ptr<double>());
  r /= static_cast<double>(rows) * cols;
  if (!whiten)
    r /= std::sqrt(aw.dot(aw) * bw.dot(bw)) / (static_cast<double>(rows) * cols) + 1e-300;
  cv::Point peak;
  double top = 0;
  cv::minMaxLoc(r, nullptr, &top, nullptr, &peak);
  PhaseCorrelation out;
  out.peak = top;
  {
    // Peak-to-sidelobe ratio: the peak against the rest of the surface, a disc of radius
    // max(5, 5 % of the size) around it (cyclically) left out.
    const double excl = std::max(5.0, 0.05 * std::min(rows, cols));
    double sum = 0, sum2 = 0;
    std::size_t n = 0;
    for (int y = 0; y < rows; ++y) {
      const int dy = std::min(std::abs(y - peak.y), rows - std::abs(y - peak.y));
      const double* ry = r.ptr<double>(y);
      for (int x = 0; x < cols; ++x) {
        const int dx = std::min(std::abs(x - peak.x), cols - std::abs(x - peak.x));
        if (dx * dx + dy * dy <= excl * excl) continue;
        sum += ry[x], sum2 += ry[x] * ry[x], ++n;
      }
    }
    if (n > 1) {
      const double mean = sum / n, var = std::max(0.0, sum2 / n - mean * mean);
      out.sidelobe_ratio = (top - mean) / (std::sqrt(var) + 1e-300);
    }
  }
  const cv::Point2d sub = upsampledPeak(cross, rows, cols, peak);
  double dx = sub.x, dy = sub.y;
  if (dx > cols / 2.0) dx -= cols;
  if (dy > rows / 2.0) dy -= rows;
  out.dx = dx;
  out.dy = dy;
  return out;
}

namespace {

// log(1 + |FFT|) of the image under a *circular* window, centred, times a radial high-pass
// filter. Both must be isotropic: a separable window or filter is the same, unrotated,
// pattern in both spectra and pulls the rotation estimate to zero.
cv::Mat logMagnitude(const cv::Mat& img) {
  const int rows = img.rows, cols = img.cols;
  const double r_max = std::min(rows, cols) / 2.0;
  cv::Mat w = img - cv::mean(img)[0];
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      const double dx = x + 0.5 - cols / 2.0, dy = y + 0.5 - rows / 2.0;
      const double r = std::sqrt(dx * dx + dy * dy) / r_max;
      w.at<double>(y, x) *= r < 1 ? 0.5 + 0.5 * std::cos(M_PI * r) : 0.0;
    }
  }
  const RealFft2D fft(rows, cols);
  const auto s = spectrum(w, fft);
  const int sc = fft.spectrumCols();
  cv::Mat mag(rows, cols, CV_64F);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      // Full spectrum from the Hermitian half: S(ky, kx) = conj(S(−ky, −kx)).
      const int kx = x < sc ? x : cols - x;
      const int ky = x < sc ? y : (rows - y) % rows;
      const double m = std::abs(s[static_cast<std::size_t>(ky) * sc + kx]);
      const int cy = (y + rows / 2) % rows, cx = (x + cols / 2) % cols;  // centred position
      const double fy = (cy - rows / 2.0) / rows, fx = (cx - cols / 2.0) / cols;
      const double fr2 = fy * fy + fx * fx;  // (cycles/pixel)²
      mag.at<double>(cy, cx) = std::log1p(m) * (1 - std::exp(-fr2 / (0.02 * 0.02)));
    }
  }
  return mag;
}

cv::Mat similarityAboutCentre(double angle, double scale, cv::Point2d centre) {
  const double c = scale * std::cos(angle), s = scale * std::sin(angle);
  cv::Mat m = (cv::Mat_<double>(2, 3) << c, -s, 0, s, c, 0);
  m.at<double>(0, 2) = centre.x - (c * centre.x - s * centre.y);
  m.at<double>(1, 2) = centre.y - (s * centre.x + c * centre.y);
  return m;
}

}  // namespace

SimilarityEstimate fourierMellin(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) throw ProcessingError("Fourier-Mellin needs two images of one size");
  const cv::Mat ma = logMagnitude(a), mb = logMagnitude(b);
  // Log-polar: columns = log radius, rows = angle over 360° (periodic). Only the angle axis
  // is periodic, so the radius axis gets a Hann window and the innermost radii (a few,
  // heavily interpolated low-frequency pixels) are left out; without that the correlation
  // peaks at "no rotation, no scale" whatever the images.
  const int n = std::max(a.rows, a.cols);
  const cv::Size lp_size(n, 720);
  const cv::Point2f centre(a.cols / 2.0f, a.rows / 2.0f);
  const double max_radius = std::min(a.rows, a.cols) / 2.0;
  cv::Mat la, lb;
  cv::warpPolar(ma, la, lp_size, centre, max_radius, cv::INTER_LINEAR | cv::WARP_POLAR_LOG);
  cv::warpPolar(mb, lb, lp_size, centre, max_radius, cv::INTER_LINEAR | cv::WARP_POLAR_LOG);
  const double kmag = lp_size.width / std::log(max_radius);  // columns per unit of ln(radius)
  const int first = static_cast<int>(std::ceil(kmag * std::log(4.0)));  // skip radius < 4 px
  cv::Mat radial(1, lp_size.width, CV_64F, cv::Scalar(0));
  for (int x = first; x < lp_size.width; ++x) {
    radial.at<double>(x) =
        0.5 - 0.5 * std::cos(2 * M_PI * (x - first) / std::max(1, lp_size.width - 1 - first));
  }
  // The isotropic part (the mean over angles at each radius) is the same for every rotation:
  // remove it, keep what varies with angle.
  for (cv::Mat* lp : {&la, &lb}) {
    cv::Mat profile;
    cv::reduce(*lp, profile, 0, cv::REDUCE_AVG);
    for (int y = 0; y < lp->rows; ++y) lp->row(y) = (lp->row(y) - profile).mul(radial);
  }
  const PhaseCorrelation pc = phaseCorrelate(la, lb, false, false);
  const double angle = pc.dy * 2 * M_PI / lp_size.height;
  const double log_scale = pc.dx / kmag;

  SimilarityEstimate best;
  best.peak = -1;
  const cv::Point2d c(a.cols / 2.0, a.rows / 2.0);
  for (double th : {angle, -angle, angle + M_PI, -angle + M_PI}) {
    for (double ls : {log_scale, -log_scale}) {
      const double s = std::exp(ls);
      // b'(p) = b(M p): with M = b's content rotated by th and scaled by s about the centre.
      const cv::Mat m = similarityAboutCentre(th, s, c);
      cv::Mat bw;
      cv::warpAffine(b, bw, m, b.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                     cv::BORDER_CONSTANT, cv::Scalar(cv::mean(b)[0]));
      const PhaseCorrelation t = phaseCorrelate(a, bw, true);
      if (t.peak <= best.peak) continue;
      // b(M (p + d)) = a(p): a pixel q of b sits at p = M⁻¹ q − d in a.
      cv::Mat inv;
      cv::invertAffineTransform(m, inv);
      inv.at<double>(0, 2) -= t.dx;
      inv.at<double>(1, 2) -= t.dy;
      best.b_to_a = inv;
      best.rotation_rad = std::remainder(th, 2 * M_PI);
      best.scale = s;
      best.peak = t.peak;
    }
  }
  return best;
}

}  // namespace ionmap::registration
