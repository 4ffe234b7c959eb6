#include "diffusion/brick_layer.hpp"

namespace ionmap::diffusion {

LabelMap brickLayer(const Grid& g, int d, bool stagger) {
  const int columns = (g.width + d - 1) / d + 1;  // room for the staggered half grain
  LabelMap out("brick layer", g);
  for (int y = 0; y < g.height; ++y) {
    const int row = y / d;
    const int shift = stagger && row % 2 ? d / 2 : 0;
    for (int x = 0; x < g.width; ++x) out.labels(x, y) = 1 + row * columns + (x + shift) / d;
  }
  return out;
}

}  // namespace ionmap::diffusion
