// Background surfaces: least-squares polynomial surfaces over the valid pixels of a map, as
// used to remove sample tilt and bow (plane = order 1), and per-row offsets for scan lines.
// Regions that must not shape the background (electrodes, particles) are left out by clearing
// their pixels from the map's mask before fitting.
#pragma once

#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap {

struct SurfaceFit {
  int order = 1;
  // Coefficients of x^i·y^j (i + j ≤ order, ordered by total degree, then by descending i:
  // 1, x, y, x², xy, y², ...) with x, y in µm measured from the map's centre, in the map's
  // unit per µm^(i+j).
  std::vector<double> coefficients;
  double rms_residual = 0;  // over the pixels used, map unit
  std::size_t pixels_used = 0;
};

// Throws ProcessingError when there are fewer valid pixels than terms or the fit is singular
// (e.g. all valid pixels on one line).
SurfaceFit fitPolynomialSurface(const Map& map, int order);
// The fitted surface evaluated at every pixel centre of `grid` (the grid it was fitted on).
Image<double> evaluateSurface(const SurfaceFit& fit, const Grid& grid);
// Median of the valid pixels in each row (NaN for rows without valid pixels).
std::vector<double> rowMedians(const Map& map);
// Row offsets from the median of differences between neighbouring rows: row y is shifted by
// the median over x of v(x, y) − v(x, y − 1) (pixels valid in both) relative to the row above,
// the shifts are summed down the map, and their mean is removed (the map keeps its level).
// What neighbouring rows share cancels in their differences, so, unlike row medians, a
// background that varies along x or a feature spanning many rows does not shift the rows; a
// feature's top and bottom edge must cover less than half a row. Rows without a pixel valid
// in both get the previous row's offset; `unmatched` counts them.
std::vector<double> rowDifferenceOffsets(const Map& map, int* unmatched = nullptr);

}  // namespace ionmap
