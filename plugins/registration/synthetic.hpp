// Synthetic registration pairs with a known transform, for tests and the benchmark: a
// laser-microscope-like groove image of a Voronoi microstructure (fixed) and either another
// laser-like image or a SIMS-like count map (moving) on its own, coarser, rotated and
// shifted grid.
#pragma once

#include <cstdint>

#include "ionmap/core/map.hpp"

namespace ionmap::registration {

struct PairSpec {
  std::uint64_t seed = 11;
  bool multimodal = true;  // moving = SIMS-like counts (else laser-like intensity)
  int fixed_pixels = 512;
  double fixed_pixel_um = 0.1;
  double moving_pixel_um = 0.2;                // 2× coarser
  double rotation_deg = 3.0;                   // of the moving frame in the fixed frame
  double shift_x_um = 1.3, shift_y_um = -0.7;  // of the moving field's centre
  int grains = 60;
  double counts_per_pixel = 60;  // SIMS-like map
};

struct SyntheticPair {
  Map fixed, moving;
  Transform2D moving_to_fixed;  // the truth
};

SyntheticPair makePair(const PairSpec& spec);

// Mean and max target registration error in fixed pixels over a 10 × 10 grid of points
// spanning the central 80 % of the fixed field.
void targetRegistrationError(const Transform2D& estimate, const Transform2D& truth,
                             const Grid& fixed, double& mean, double& max);

}  // namespace ionmap::registration
