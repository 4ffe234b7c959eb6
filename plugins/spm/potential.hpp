// From a recorded contact potential difference to a surface potential: the sign turned where
// the instrument records it with the opposite convention, and zero set at a reference region
// (an electrode, or the electrolyte far from the interface).
#pragma once

#include <cstdint>

#include "ionmap/core/map.hpp"

namespace ionmap::spm {

struct ReferencedPotential {
  Map map;
  double reference = 0;        // the mean subtracted (after the sign), map unit; 0 = none
  double reference_error = 0;  // its standard error
  std::size_t reference_pixels = 0;
};

// `invert`: multiply by −1 first. `region` (same size, non-zero = reference; nullptr = none):
// its valid pixels' mean becomes 0. Throws ProcessingError when the region is on another grid
// size or holds no valid pixel.
ReferencedPotential referencePotential(const Map& cpd, bool invert,
                                       const Image<std::uint8_t>* region);

}  // namespace ionmap::spm
