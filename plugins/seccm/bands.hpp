// Periodic bands in a map (SECCM conductance bands whose period matches the [001] domain width):
// the strongest peak of the map's 2-D power spectrum (Hann-windowed, mean removed) as a start,
// then a plane wave v = m + A cos(2π k·r + φ) fitted to the valid pixels by least squares
// (Ceres), whose wave vector k gives the period 1/|k| and the direction of the bands with
// standard errors: the larger of the fit's curvature (scaled by the residual variance) and a
// sandwich estimate whose residual correlations fall off across the bands over one period and
// not along them (a stripe domain's own offset and profile are shared along the stripe).
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/transform2d.hpp"

namespace ionmap::seccm {

struct Bands {
  double period_um = 0, period_se_um = 0;
  // Direction the bands run along, degrees from +y towards +x (0: bands parallel to y), in
  // [-90, 90); its standard error.
  double angle_deg = 0, angle_se_deg = 0;
  double amplitude = 0, amplitude_se = 0;  // in the map's unit
  double mean = 0;
  double spectrum_peak_ratio = 0;  // the peak's power over the median power: < 5 = no clear bands
  int pixels = 0;
  bool errors_from_stripes = false;  // the along-stripes sandwich estimate was the larger
  bool converged = false;
  // The wave vector (cycles/µm) and its covariance, for carrying the result into another frame.
  double kx = 0, ky = 0, cov_xx = 0, cov_xy = 0, cov_yy = 0;
  // The power spectrum (log10, shifted so that zero frequency is in the centre), for a quicklook.
  Map spectrum;
};

// Throws ProcessingError when fewer than 16 valid pixels or no calibrated pixel size.
Bands findBands(const Map& map);

// Bands measured in a reference frame (e.g. the TEM labels) seen in the frame that
// `to_reference` maps onto it: k' = Aᵀ k for the linear part A, and the covariance alike.
Bands inFrameOf(const Bands& reference_bands, const Transform2D& to_reference);

}  // namespace ionmap::seccm
