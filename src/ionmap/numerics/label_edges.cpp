#include "ionmap/numerics/label_edges.hpp"

#include <utility>

namespace ionmap {

Image<std::uint8_t> nearOtherLabels(const Image<std::int32_t>& l, int steps) {
  const int w = l.width(), h = l.height();
  Image<std::uint8_t> near(w, h, 0);
  if (steps <= 0) return near;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto v = l(x, y);
      if ((x > 0 && l(x - 1, y) != v) || (x + 1 < w && l(x + 1, y) != v) ||
          (y > 0 && l(x, y - 1) != v) || (y + 1 < h && l(x, y + 1) != v))
        near(x, y) = 1;
    }
  }
  for (int step = 1; step < steps; ++step) {  // grow by one pixel per step
    Image<std::uint8_t> grown = near;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if ((x > 0 && near(x - 1, y)) || (x + 1 < w && near(x + 1, y)) ||
            (y > 0 && near(x, y - 1)) || (y + 1 < h && near(x, y + 1)))
          grown(x, y) = 1;
      }
    }
    near = std::move(grown);
  }
  return near;
}

}  // namespace ionmap
