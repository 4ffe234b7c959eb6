// Scars: short streaks along scan lines where the feedback jumped (a common SPM artefact) —
// runs of pixels in one row, or in a few rows together, that lie well above (or below) both the
// row above and the row below them. Found against a robust estimate of the noise in vertical
// differences, and replaced by the mean of the two neighbouring rows; what was replaced is returned
// as a mask.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ionmap/core/map.hpp"

namespace ionmap {

struct ScarRepair {
  Image<std::uint8_t> repaired;  // 1 where a pixel was replaced
  std::size_t pixels = 0;
  int scars = 0;                // runs repaired
  double difference_sigma = 0;  // robust σ of v(x, y) − v(x, y − 1) (1.4826 · MAD)
};

// A pixel is part of a scar when it differs from both vertical neighbours in the same direction
// by more than `threshold` × difference_sigma (beyond the typical step between rows, so that a
// tilt along y is no scar); runs of at least `min_length` such pixels in a row are repaired.
// Scars up to `max_width` rows tall are found as bands whose every row differs so from both
// rows enclosing the band (narrower bands first), and replaced by the straight line between
// those two rows. Rows 0 and height − 1 are never changed (one neighbour only).
ScarRepair repairScars(Map& map, double threshold, int min_length, int max_width = 1);

}  // namespace ionmap
