#include "ionmap/numerics/scars.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ionmap {

ScarRepair repairScars(Map& m, double threshold, int min_length) {
  ScarRepair r;
  r.repaired = Image<std::uint8_t>(m.width(), m.height(), 0);
  auto ok = [&](int x, int y) { return m.valid(x, y) && std::isfinite(m.values(x, y)); };
  std::vector<double> d;
  for (int y = 1; y < m.height(); ++y) {
    for (int x = 0; x < m.width(); ++x) {
      if (ok(x, y) && ok(x, y - 1)) d.push_back(m.values(x, y) - m.values(x, y - 1));
    }
  }
  if (d.size() < 16) return r;
  auto median = [](std::vector<double>& v) {
    const std::size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + mid, v.end());
    return v[mid];
  };
  const double centre = median(d);
  for (double& v : d) v = std::abs(v - centre);
  r.difference_sigma = 1.4826 * median(d);
  // Noise-free data (σ = 0): anything beyond round-off sticks out.
  double scale = 0;
  for (double v : m.values.values()) {
    if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  }
  const double limit = threshold * std::max(r.difference_sigma, 1e-12 * (1 + scale));
  const Map before = m;  // decisions on the data as measured, not on repaired rows
  for (int y = 1; y + 1 < m.height(); ++y) {
    // +1 / −1: the pixel sticks out above / below both neighbours; 0: it does not.
    auto side = [&](int x) {
      if (!ok(x, y) || !ok(x, y - 1) || !ok(x, y + 1)) return 0;
      // Measured against the typical step between rows (a tilt along y is no scar).
      const double up = before.values(x, y) - before.values(x, y - 1) - centre;
      const double down = before.values(x, y) - before.values(x, y + 1) + centre;
      if (up > limit && down > limit) return 1;
      if (up < -limit && down < -limit) return -1;
      return 0;
    };
    int x = 0;
    while (x < m.width()) {
      const int s = side(x);
      if (s == 0) {
        ++x;
        continue;
      }
      int end = x;
      while (end < m.width() && side(end) == s) ++end;
      if (end - x >= min_length) {
        for (int k = x; k < end; ++k) {
          m.values(k, y) = 0.5 * (before.values(k, y - 1) + before.values(k, y + 1));
          r.repaired(k, y) = 1;
        }
        r.pixels += static_cast<std::size_t>(end - x);
        ++r.scars;
      }
      x = end;
    }
  }
  return r;
}

}  // namespace ionmap
