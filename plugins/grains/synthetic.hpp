// Synthetic microstructures with known grains: a laser-microscope-like image of a Voronoi
// tessellation (per-grain brightness, dark grooves, shading, noise) and its true labels.
#pragma once

#include <cstdint>

#include "ionmap/core/map.hpp"

namespace ionmap::grains {

struct MicrostructureSpec {
  std::uint64_t seed = 3;
  int pixels = 1024;  // square image
  double pixel_um = 0.1;
  double grain_size_um = 6.0;  // mean equivalent diameter (sets the number of seeds)
  double groove_width_um = 0.25;
  double noise = 0.03;   // relative to the mean brightness
  double shading = 0.2;  // linear shading across the field
};

struct Microstructure {
  Map image;
  LabelMap truth;
};

Microstructure makeMicrostructure(const MicrostructureSpec& spec);

}  // namespace ionmap::grains
