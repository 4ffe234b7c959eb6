#include "registration/synthetic.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "ionmap/numerics/random.hpp"

namespace ionmap::registration {
namespace {

struct Microstructure {
  std::vector<Point2> seeds;
  std::vector<double> brightness, yield;
  // Nearest grain and distance to its boundary (bisector with the second nearest seed).
  int grain(Point2 q, double& boundary) const {
    int best = 0, second = 0;
    double d1 = std::numeric_limits<double>::max(), d2 = d1;
    for (int i = 0; i < static_cast<int>(seeds.size()); ++i) {
      const double d =
          (seeds[i].x - q.x) * (seeds[i].x - q.x) + (seeds[i].y - q.y) * (seeds[i].y - q.y);
      if (d < d1) {
        d2 = d1, second = best, d1 = d, best = i;
      } else if (d < d2) {
        d2 = d, second = i;
      }
    }
    const double dx = seeds[second].x - seeds[best].x, dy = seeds[second].y - seeds[best].y;
    boundary = (d2 - d1) / (2 * std::sqrt(dx * dx + dy * dy));
    return best;
  }
};

}  // namespace

SyntheticPair makePair(const PairSpec& s) {
  SplitMix64 rng(s.seed);
  const double field = s.fixed_pixels * s.fixed_pixel_um;
  Microstructure ms;
  for (int i = 0; i < s.grains; ++i) {
    // Seeds beyond the field too, so that the moving field's corners have grains.
    ms.seeds.push_back({(rng.uniform() * 1.4 - 0.2) * field, (rng.uniform() * 1.4 - 0.2) * field});
    ms.brightness.push_back(0.5 + 0.5 * rng.uniform());
    ms.yield.push_back(0.4 + 0.6 * rng.uniform());  // unrelated to brightness: another modality
  }
  SyntheticPair pair;
  Grid fg;
  fg.width = fg.height = s.fixed_pixels;
  fg.pixel_x = fg.pixel_y = s.fixed_pixel_um;
  pair.fixed = Map("laser", fg, "counts");
  for (int y = 0; y < fg.height; ++y) {
    for (int x = 0; x < fg.width; ++x) {
      double b = 0;
      const Point2 q = fg.centre(x, y);
      const int g = ms.grain(q, b);
      const double groove = 1 - 0.7 * std::exp(-(b * b) / (0.15 * 0.15));
      const double shading = 1 - 0.2 * (q.x + q.y) / (2 * field);
      pair.fixed.values(x, y) = 20000 * ms.brightness[g] * groove * shading + 300 * rng.gauss();
    }
  }
  // Moving grid: its centre maps to the fixed centre plus the shift, rotated.
  const int mp = static_cast<int>(std::lround(field / s.moving_pixel_um));
  Grid mg;
  mg.width = mg.height = mp;
  mg.pixel_x = mg.pixel_y = s.moving_pixel_um;
  const double a = s.rotation_deg * M_PI / 180, c = std::cos(a), sn = std::sin(a);
  const double cm = 0.5 * mp * s.moving_pixel_um, cf = 0.5 * field;
  pair.moving_to_fixed = Transform2D::rigid(a, cf + s.shift_x_um - (c * cm - sn * cm),
                                            cf + s.shift_y_um - (sn * cm + c * cm));
  pair.moving = Map(s.multimodal ? "sims total ions" : "laser (second image)", mg, "counts");
  constexpr int kSub = 3;
  for (int y = 0; y < mp; ++y) {
    for (int x = 0; x < mp; ++x) {
      double v = 0;
      for (int j = 0; j < kSub; ++j) {
        for (int i = 0; i < kSub; ++i) {
          const Point2 pm{(x + (i + 0.5) / kSub) * s.moving_pixel_um,
                          (y + (j + 0.5) / kSub) * s.moving_pixel_um};
          double b = 0;
          const int g = ms.grain(pair.moving_to_fixed.apply(pm), b);
          if (s.multimodal) {
            // Sputter yield per grain, lower where the surface is tilted at the grooves.
            v += ms.yield[g] * (1 - 0.5 * std::exp(-(b * b) / (0.25 * 0.25)));
          } else {
            v += ms.brightness[g] * (1 - 0.7 * std::exp(-(b * b) / (0.15 * 0.15)));
          }
        }
      }
      v /= kSub * kSub;
      if (s.multimodal) {
        // Poisson counts (normal approximation is fine at these rates).
        const double lambda = s.counts_per_pixel * v;
        pair.moving.values(x, y) =
            std::max(0.0, std::round(lambda + std::sqrt(lambda) * rng.gauss()));
      } else {
        pair.moving.values(x, y) = 18000 * v + 400 * rng.gauss();
      }
    }
  }
  return pair;
}

void targetRegistrationError(const Transform2D& est, const Transform2D& truth, const Grid& fixed,
                             double& mean, double& max) {
  const Transform2D back = truth.inverse();
  mean = max = 0;
  int n = 0;
  for (int j = 0; j < 10; ++j) {
    for (int i = 0; i < 10; ++i) {
      const Point2 p{fixed.origin_x + fixed.extentX() * (0.1 + 0.8 * i / 9.0),
                     fixed.origin_y + fixed.extentY() * (0.1 + 0.8 * j / 9.0)};
      const Point2 q = est.apply(back.apply(p));
      const double e = std::hypot(q.x - p.x, q.y - p.y) / fixed.pixel_x;
      mean += e, max = std::max(max, e), ++n;
    }
  }
  mean /= n;
}

}  // namespace ionmap::registration
