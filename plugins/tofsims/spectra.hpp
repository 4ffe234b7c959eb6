// Algorithms on mass spectra: sum spectra, integration of mass windows into count maps
// (streamed over the spectrum image, in parallel), peak position and width, time-of-flight
// mass calibration t = a·sqrt(m) + b, and warnings for known interferences near Li.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/spectrum_image.hpp"

namespace ionmap::tofsims {

// Ion masses (u) used as defaults (PHYSICS.md §1).
inline constexpr double kLi6 = 6.014574;
inline constexpr double kLi7 = 7.015455;
inline constexpr double kNaturalRatio = 0.082134;   // 6Li/7Li at natural abundance
inline constexpr double kNaturalFraction = 0.0759;  // 6Li/(6Li+7Li)

// A spectrum on a uniform m/z axis: bin i covers [lo + i·width, lo + (i+1)·width).
struct BinnedSpectrum {
  double lo = 0, width = 1;
  std::vector<double> counts;
  double mzAt(std::size_t i) const { return lo + (static_cast<double>(i) + 0.5) * width; }
};

// Sum of all spectra binned over [lo, hi). Streams the spectra; throws UsageError for bad
// ranges.
BinnedSpectrum sumSpectrum(const SpectrumImage& spectra, double lo, double hi, double bin);

// One sum spectrum per label (> 0) of a label image on the spectra's grid (row-major), in a
// single pass over the data.
std::vector<std::pair<std::int32_t, BinnedSpectrum>> sumSpectraByLabel(
    const SpectrumImage& spectra, const std::vector<std::int32_t>& labels, double lo, double hi,
    double bin);

struct MassWindow {
  std::string name;
  double centre = 0;      // u
  double half_width = 0;  // u
};

enum class Background { kNone, kLocal };

struct WindowMaps {
  std::vector<Image<double>> counts;  // per window, net counts
  Image<double> total;                // all intensity in each spectrum (total ion count)
  Image<std::uint8_t> valid;          // pixel has a spectrum with finite, non-negative data
  std::size_t bad_spectra = 0;        // spectra with negative or non-finite intensities
  std::size_t empty_windows = 0;      // (pixel, window) pairs whose window held no data point
};

// Integrates every window in every spectrum. With kLocal, the mean intensity per data point
// in the two flanks [c − h − w, c − h) and (c + h, c + h + w] is subtracted, scaled to the
// number of points in the window. Spectra with negative or NaN intensities make their pixel
// invalid (counted, never silently used).
WindowMaps integrateWindows(const SpectrumImage& spectra, const std::vector<MassWindow>& windows,
                            Background background, double flank_width);

struct PeakShape {
  bool found = false;
  double apex = 0;      // m/z of the highest point
  double centroid = 0;  // intensity-weighted m/z above half maximum
  double fwhm = 0;      // u, from half-maximum crossings (linear interpolation)
  double height = 0;
  double resolvingPower() const { return fwhm > 0 ? centroid / fwhm : 0; }
};

// The peak with the highest point within ±search of `expected`.
PeakShape measurePeak(const std::vector<double>& mz, const std::vector<double>& intensity,
                      double expected, double search);
PeakShape measurePeak(const BinnedSpectrum& s, double expected, double search);

// x = a·sqrt(m) + b, with x a flight time or channel; m(x) = ((x − b)/a)².
struct TofCalibration {
  double a = 1, b = 0;
  std::vector<double> residual_ppm;  // (m(x_i) − m_i)/m_i · 1e6
  double rms_ppm = 0;
  double massAt(double x) const {
    const double r = (x - b) / a;
    return r * r;
  }
};
// Least squares over ≥ 2 distinct masses; throws ProcessingError otherwise.
TofCalibration fitTofCalibration(const std::vector<double>& x, const std::vector<double>& m);

// The spectra of `base` with m/z mapped through a calibration fitted in sqrt(m) space
// (x = sqrt(m_old)): recalibrates imported spectra without their flight times.
class RecalibratedSpectra : public SpectrumSource {
 public:
  RecalibratedSpectra(std::shared_ptr<const SpectrumSource> base, TofCalibration cal)
      : base_(std::move(base)), cal_(cal) {}
  std::size_t count() const override { return base_->count(); }
  void read(std::size_t index, Spectrum& out) const override;

 private:
  std::shared_ptr<const SpectrumSource> base_;
  TofCalibration cal_;
};

// Known isobaric neighbours of 6Li+ and 7Li+ (PHYSICS.md): a warning for each one that lies
// inside an integration window, or that the measured resolving power cannot separate.
std::vector<std::string> interferenceWarnings(const std::vector<MassWindow>& windows,
                                              double resolving_power);

}  // namespace ionmap::tofsims
