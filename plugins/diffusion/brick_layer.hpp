// The ideal brick layer of PHYSICS.md: square grains on a grid, boundaries straight and along the
// pixels (optionally staggered like bricks), e.g. the series model's exact case.
#pragma once

#include "ionmap/core/map.hpp"

namespace ionmap::diffusion {

// Labels 1, 2, ... of square grains `cells` pixels a side on `grid`; with `stagger`, every
// other row of grains is shifted by half a grain.
LabelMap brickLayer(const Grid& grid, int cells, bool stagger);

}  // namespace ionmap::diffusion
