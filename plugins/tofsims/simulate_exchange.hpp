// The "isotope-exchange" sample: a cryo-ToF-SIMS measurement of a 6Li-exchanged electrolyte,
// written as imzML (processed mode, zlib, float32 m/z, int32 counts) and as a TIFF stack of
// per-mass count images, with the ground truth.
//
// Physics of the synthetic measurement:
// - f(x) = f_bg + (f_s − f_bg)·erfc(x / L) from the exchange edge at x = 0.
// - Li ions arriving per pixel: λ(x, y) (a smooth ±15 % pattern around `mean_li_ions`),
//   split into 6Li and 7Li by f. Each of n_s = shots × scans primary shots yields a Poisson
//   number of arrivals per isotope; a TDC records at most one count per peak per shot.
// - Each recorded count lands at a mass drawn from a Gaussian peak (resolving power R) on a
//   slightly miscalibrated mass scale, binned into time channels; H+, Na+ and 12C2+ peaks and
//   a flat background are added so that calibration has reference peaks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "ionmap/core/image.hpp"

namespace ionmap::tofsims {

struct ExchangeSampleSpec {
  std::uint64_t seed = 6;
  int pixels = 40;
  double pixel_um = 0.6;
  double f_s = 0.9;
  double f_bg = 0.0759;
  double decay_um = 6.0;  // L in erfc(x / L)
  double mean_li_ions = 1500;
  int shots_per_pixel = 400;
  int scans = 10;
  double resolving_power = 3000;
  double scale_error = 1.5e-4;  // sqrt(m') = (1 + scale_error)·sqrt(m) + offset_error
  double offset_error = 2e-4;
  // Optional truth f per pixel (pixels × pixels) replacing the erfc profile, e.g. from a
  // diffusion model through a microstructure; `fraction_origin` describes it in truth.yaml.
  const Image<double>* fraction = nullptr;
  std::string fraction_origin;
  // Optional relative secondary-ion yield per pixel (all species), e.g. lower over the grooves
  // of grain boundaries, which gives the total-ion image contrast to register on.
  const Image<double>* yield = nullptr;
  std::string yield_origin;
  std::string command = "isotope-exchange";  // the `ionmap simulate` sample name, for truth.yaml
};

// Writes exchange.imzML/.ibd, counts.tif (recorded 6Li, 7Li, total counts), truth_f.tif,
// expected_counts.tif (mean 6Li and 7Li arrivals) and truth.yaml into `dir`.
void writeExchangeSample(const std::filesystem::path& dir, const ExchangeSampleSpec& spec = {});

}  // namespace ionmap::tofsims
