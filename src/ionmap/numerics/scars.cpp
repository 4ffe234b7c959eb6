#include "ionmap/numerics/scars.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ionmap {

ScarRepair repairScars(Map& m, double threshold, int min_length, int max_width) {
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
  // Bands of w rows (1 ≤ w ≤ max_width), narrowest first: a column of the band sticks out when
  // every one of its rows lies beyond the limit on the same side of both rows that enclose the
  // band (y − 1 and y + w), measured against the typical step between rows.
  for (int w = 1; w <= std::max(1, max_width); ++w) {
    for (int y = 1; y + w < m.height(); ++y) {
      auto side = [&](int x) {
        if (!ok(x, y - 1) || !ok(x, y + w)) return 0;
        int sign = 0;
        for (int i = 0; i < w; ++i) {
          if (!ok(x, y + i) || r.repaired(x, y + i)) return 0;
          const double v = before.values(x, y + i);
          const double up = v - before.values(x, y - 1) - centre * (i + 1);
          const double down = v - before.values(x, y + w) + centre * (w - i);
          const int si = up > limit && down > limit ? 1 : (up < -limit && down < -limit ? -1 : 0);
          if (si == 0 || (sign != 0 && si != sign)) return 0;
          sign = si;
        }
        return sign;
      };
      int x = 0;
      while (x < m.width()) {
        const int sd = side(x);
        if (sd == 0) {
          ++x;
          continue;
        }
        int end = x;
        while (end < m.width() && side(end) == sd) ++end;
        if (end - x >= min_length) {
          for (int k = x; k < end; ++k) {
            const double a = before.values(k, y - 1), b = before.values(k, y + w);
            for (int i = 0; i < w; ++i) {
              m.values(k, y + i) = a + (b - a) * (i + 1) / (w + 1);
              r.repaired(k, y + i) = 1;
            }
          }
          r.pixels += static_cast<std::size_t>(end - x) * w;
          ++r.scars;
        }
        x = end;
      }
    }
  }
  return r;
}

}  // namespace ionmap
