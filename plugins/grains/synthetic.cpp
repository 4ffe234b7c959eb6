#include "grains/synthetic.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <tbb/parallel_for.h>

#include "ionmap/numerics/random.hpp"

namespace ionmap::grains {

Microstructure makeMicrostructure(const MicrostructureSpec& s) {
  SplitMix64 rng(s.seed);
  const double field = s.pixels * s.pixel_um;
  const int n = std::max(4, static_cast<int>(std::lround(
                                field * field / (M_PI / 4 * s.grain_size_um * s.grain_size_um))));
  std::vector<Point2> seeds;
  std::vector<double> brightness;
  // A bucket grid keeps the nearest-seed search local (4096² images have ~10⁴ grains).
  const double cell = s.grain_size_um;
  const int nc = static_cast<int>(std::ceil(field / cell)) + 1;
  std::vector<std::vector<int>> buckets(static_cast<std::size_t>(nc) * nc);
  for (int i = 0; i < n; ++i) {
    seeds.push_back({rng.uniform() * field, rng.uniform() * field});
    brightness.push_back(0.55 + 0.45 * rng.uniform());
    const int bx = static_cast<int>(seeds.back().x / cell),
              by = static_cast<int>(seeds.back().y / cell);
    buckets[static_cast<std::size_t>(by) * nc + bx].push_back(i);
  }
  Grid g;
  g.width = g.height = s.pixels;
  g.pixel_x = g.pixel_y = s.pixel_um;
  Microstructure m{Map("laser (synthetic)", g, "counts"), LabelMap("true grains", g)};
  std::vector<double> noise(static_cast<std::size_t>(s.pixels) * s.pixels);
  for (auto& v : noise) v = rng.gauss();
  tbb::parallel_for(0, s.pixels, [&](int y) {
    for (int x = 0; x < s.pixels; ++x) {
      const Point2 q{(x + 0.5) * s.pixel_um, (y + 0.5) * s.pixel_um};
      const int bx = static_cast<int>(q.x / cell), by = static_cast<int>(q.y / cell);
      int best = -1, second = -1;
      double d1 = std::numeric_limits<double>::max(), d2 = d1;
      for (int r = 1; best < 0 || second < 0 || r <= 3; ++r) {  // widen until two seeds are found
        d1 = d2 = std::numeric_limits<double>::max();
        best = second = -1;
        for (int j = std::max(0, by - r); j <= std::min(nc - 1, by + r); ++j) {
          for (int i = std::max(0, bx - r); i <= std::min(nc - 1, bx + r); ++i) {
            for (int k : buckets[static_cast<std::size_t>(j) * nc + i]) {
              const double d =
                  (seeds[k].x - q.x) * (seeds[k].x - q.x) + (seeds[k].y - q.y) * (seeds[k].y - q.y);
              if (d < d1) {
                d2 = d1, second = best, d1 = d, best = k;
              } else if (d < d2) {
                d2 = d, second = k;
              }
            }
          }
        }
        if (r > 8) break;
      }
      const double dx = seeds[second].x - seeds[best].x, dy = seeds[second].y - seeds[best].y;
      const double b = (d2 - d1) / (2 * std::sqrt(dx * dx + dy * dy));
      const double groove = 1 - 0.7 * std::exp(-(b * b) / (s.groove_width_um * s.groove_width_um));
      const double shade = 1 - s.shading * (q.x + q.y) / (2 * field);
      m.image.values(x, y) = 20000 * (brightness[best] * groove * shade +
                                      s.noise * noise[static_cast<std::size_t>(y) * s.pixels + x]);
      m.truth.labels(x, y) = best + 1;
    }
  });
  return m;
}

}  // namespace ionmap::grains
