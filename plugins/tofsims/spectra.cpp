#include "tofsims/spectra.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/combinable.h>
#include <tbb/parallel_for.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/progress.hpp"

namespace ionmap::tofsims {
namespace {

// Calls f(pixel_index, spectrum) for every pixel with a spectrum, in parallel; each task
// reuses one Spectrum buffer, so memory stays at one spectrum per thread.
template <class F>
void forEachSpectrum(const SpectrumImage& si, const std::string& label, F f) {
  if (!si.source) throw ProcessingError("spectrum image '" + si.name + "' has no spectra");
  const std::size_t n = si.pixel_spectrum.size();
  Progress progress(label, n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 64),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      Spectrum s;
                      for (std::size_t p = r.begin(); p != r.end(); ++p) {
                        const std::int64_t idx = si.pixel_spectrum[p];
                        if (idx < 0) continue;
                        si.source->read(static_cast<std::size_t>(idx), s);
                        f(p, s);
                      }
                      progress.advance(r.size());
                    });
}

bool spectrumOk(const Spectrum& s) {
  for (std::size_t i = 0; i < s.intensity.size(); ++i) {
    if (!(s.intensity[i] >= 0) || !std::isfinite(s.mz[i])) return false;
  }
  return true;
}

}  // namespace

BinnedSpectrum sumSpectrum(const SpectrumImage& si, double lo, double hi, double bin) {
  auto one =
      sumSpectraByLabel(si, std::vector<std::int32_t>(si.pixel_spectrum.size(), 1), lo, hi, bin);
  if (one.empty()) throw ProcessingError("spectrum image '" + si.name + "' has no pixels");
  return std::move(one.front().second);
}

std::vector<std::pair<std::int32_t, BinnedSpectrum>> sumSpectraByLabel(
    const SpectrumImage& si, const std::vector<std::int32_t>& labels, double lo, double hi,
    double bin) {
  if (labels.size() != si.pixel_spectrum.size()) {
    throw ProcessingError(
        "ROI labels and spectrum image have different sizes; resample the labels first");
  }
  if (!(hi > lo) || !(bin > 0) || (hi - lo) / bin > 5e7) {
    throw UsageError(
        fmt::format("spectrum range [{}, {}) with bin {} u is not usable", lo, hi, bin));
  }
  std::map<std::int32_t, std::size_t> slot;
  for (auto l : labels) {
    if (l > 0 && !slot.count(l)) slot.emplace(l, 0);
  }
  if (slot.size() > 256)
    throw UsageError(fmt::format("{} ROI labels; ROI spectra are limited to 256", slot.size()));
  std::size_t k = 0;
  for (auto& [l, i] : slot) i = k++;
  const auto nbins = static_cast<std::size_t>(std::ceil((hi - lo) / bin));
  tbb::combinable<std::vector<double>> partial(
      [&] { return std::vector<double>(nbins * slot.size(), 0.0); });
  forEachSpectrum(si, "ROI spectra", [&](std::size_t p, const Spectrum& s) {
    if (labels[p] <= 0) return;
    double* acc = partial.local().data() + slot.at(labels[p]) * nbins;
    for (std::size_t i = 0; i < s.mz.size(); ++i) {
      const double b = (s.mz[i] - lo) / bin;
      if (b >= 0 && b < static_cast<double>(nbins) && s.intensity[i] >= 0 &&
          std::isfinite(s.intensity[i])) {
        acc[static_cast<std::size_t>(b)] += s.intensity[i];
      }
    }
  });
  std::vector<std::pair<std::int32_t, BinnedSpectrum>> out;
  for (const auto& entry : slot) {
    const auto i = entry.second;  // (a structured binding cannot be captured in C++17)
    BinnedSpectrum b;
    b.lo = lo;
    b.width = bin;
    b.counts.assign(nbins, 0.0);
    partial.combine_each([&](const std::vector<double>& v) {
      for (std::size_t j = 0; j < nbins; ++j) b.counts[j] += v[i * nbins + j];
    });
    out.emplace_back(entry.first, std::move(b));
  }
  return out;
}

WindowMaps integrateWindows(const SpectrumImage& si, const std::vector<MassWindow>& windows,
                            Background background, double flank) {
  const int w = si.grid.width, h = si.grid.height;
  WindowMaps out;
  out.counts.assign(windows.size(), Image<double>(w, h, 0.0));
  out.total = Image<double>(w, h, 0.0);
  out.valid = Image<std::uint8_t>(w, h, 0);
  std::mutex mutex;
  forEachSpectrum(si, "integrate windows", [&](std::size_t p, const Spectrum& s) {
    if (!spectrumOk(s)) {
      std::lock_guard<std::mutex> lock(mutex);
      ++out.bad_spectra;
      return;
    }
    double total = 0;
    for (double v : s.intensity) total += v;
    out.total[p] = total;
    out.valid[p] = 1;
    std::size_t empty = 0;
    for (std::size_t k = 0; k < windows.size(); ++k) {
      const double c = windows[k].centre, hw = windows[k].half_width;
      // Spectra are ascending in m/z: binary search the window and flanks.
      auto at = [&](double m) {
        return static_cast<std::size_t>(std::lower_bound(s.mz.begin(), s.mz.end(), m) -
                                        s.mz.begin());
      };
      const std::size_t a = at(c - hw), b = at(c + hw);
      double sum = 0;
      for (std::size_t i = a; i < b; ++i) sum += s.intensity[i];
      if (b == a) ++empty;
      if (background == Background::kLocal) {
        const std::size_t la = at(c - hw - flank), rb = at(c + hw + flank);
        double fs = 0;
        for (std::size_t i = la; i < a; ++i) fs += s.intensity[i];
        for (std::size_t i = b; i < rb; ++i) fs += s.intensity[i];
        const std::size_t nf = (a - la) + (rb - b);
        if (nf > 0) sum -= fs / static_cast<double>(nf) * static_cast<double>(b - a);
      }
      out.counts[k][p] = sum;
    }
    if (empty) {
      std::lock_guard<std::mutex> lock(mutex);
      out.empty_windows += empty;
    }
  });
  return out;
}

PeakShape measurePeak(const std::vector<double>& mz, const std::vector<double>& y, double expected,
                      double search) {
  PeakShape p;
  const auto lo = static_cast<std::size_t>(
      std::lower_bound(mz.begin(), mz.end(), expected - search) - mz.begin());
  const auto hi = static_cast<std::size_t>(
      std::upper_bound(mz.begin(), mz.end(), expected + search) - mz.begin());
  if (hi <= lo) return p;
  std::size_t top = lo;
  for (std::size_t i = lo; i < hi; ++i) {
    if (y[i] > y[top]) top = i;
  }
  if (!(y[top] > 0)) return p;
  p.found = true;
  p.apex = mz[top];
  p.height = y[top];
  const double half = 0.5 * y[top];
  // Walk out to the half-maximum crossings, interpolating linearly.
  std::size_t l = top, r = top;
  while (l > 0 && y[l - 1] >= half) --l;
  while (r + 1 < y.size() && y[r + 1] >= half) ++r;
  const double ml =
      l > 0 ? mz[l - 1] + (half - y[l - 1]) / (y[l] - y[l - 1]) * (mz[l] - mz[l - 1]) : mz[l];
  const double mr =
      r + 1 < y.size() ? mz[r] + (y[r] - half) / (y[r] - y[r + 1]) * (mz[r + 1] - mz[r]) : mz[r];
  p.fwhm = mr - ml;
  double sw = 0, smw = 0;
  for (std::size_t i = l; i <= r; ++i) sw += y[i], smw += y[i] * mz[i];
  p.centroid = sw > 0 ? smw / sw : p.apex;
  return p;
}

PeakShape measurePeak(const BinnedSpectrum& s, double expected, double search) {
  std::vector<double> mz(s.counts.size());
  for (std::size_t i = 0; i < mz.size(); ++i) mz[i] = s.mzAt(i);
  return measurePeak(mz, s.counts, expected, search);
}

TofCalibration fitTofCalibration(const std::vector<double>& x, const std::vector<double>& m) {
  if (x.size() != m.size() || x.size() < 2) {
    throw ProcessingError(fmt::format(
        "a time-of-flight calibration needs at least 2 reference peaks, got {}", x.size()));
  }
  // Least squares for x = a·sqrt(m) + b.
  double s1 = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(m[i] > 0)) throw ProcessingError(fmt::format("reference mass {} must be positive", m[i]));
    const double q = std::sqrt(m[i]);
    s1 += 1, sq += q, sqq += q * q, sx += x[i], sqx += q * x[i];
  }
  const double det = s1 * sqq - sq * sq;
  if (!(std::abs(det) > 1e-12 * s1 * sqq)) {
    throw ProcessingError("the reference peaks do not determine a calibration (all at one mass?)");
  }
  TofCalibration c;
  c.a = (s1 * sqx - sq * sx) / det;
  c.b = (sqq * sx - sq * sqx) / det;
  if (!(c.a != 0) || !std::isfinite(c.a)) throw ProcessingError("calibration slope is zero");
  double ss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = (c.massAt(x[i]) - m[i]) / m[i] * 1e6;
    c.residual_ppm.push_back(r);
    ss += r * r;
  }
  c.rms_ppm = std::sqrt(ss / static_cast<double>(x.size()));
  return c;
}

void RecalibratedSpectra::read(std::size_t index, Spectrum& out) const {
  base_->read(index, out);
  for (auto& m : out.mz) m = m > 0 ? cal_.massAt(std::sqrt(m)) : m;
}

std::vector<std::string> interferenceWarnings(const std::vector<MassWindow>& windows,
                                              double resolving_power) {
  struct Known {
    const char* name;
    double mass;
  };
  static const Known known[] = {{"12C2+", 5.99945}, {"6LiH+", 7.02240}, {"14N2+", 7.00099}};
  std::vector<std::string> out;
  for (const auto& w : windows) {
    for (const auto& k : known) {
      const double d = std::abs(k.mass - w.centre);
      if (d > 0.05) continue;  // not a neighbour of this window
      const double needed = w.centre / d;
      if (d <= w.half_width) {
        out.push_back(fmt::format(
            "{} at m/z {} lies inside the {} window ({} ± {} u): its counts are included; "
            "narrow the window (separation needs m/dm ≈ {:.0f})",
            k.name, k.mass, w.name, w.centre, w.half_width, needed));
      } else if (resolving_power > 0 && resolving_power < needed) {
        out.push_back(fmt::format(
            "{} at m/z {} is {:.4f} u from {}: separating them needs m/dm ≈ {:.0f}, the "
            "spectrum shows {:.0f}; its tail may reach the window",
            k.name, k.mass, d, w.name, needed, resolving_power));
      }
    }
  }
  return out;
}

}  // namespace ionmap::tofsims
