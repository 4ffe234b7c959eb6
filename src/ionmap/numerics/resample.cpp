#include "ionmap/numerics/resample.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <tbb/parallel_for.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/progress.hpp"

namespace ionmap {
namespace {

// Target pixel index → source fractional pixel index.
Transform2D targetToSourcePixels(const Grid& source, const Grid& target,
                                 const Transform2D& source_to_target) {
  return source.physicalToPixel().after(source_to_target.inverse().after(target.pixelToPhysical()));
}

double keys(double t) {
  constexpr double a = -0.5;
  t = std::abs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

bool inField(double sx, double sy, int w, int h) {
  return sx >= -0.5 && sy >= -0.5 && sx <= w - 0.5 && sy <= h - 0.5;
}

int clampi(int v, int lo, int hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace

Interpolation interpolationFromName(const std::string& name) {
  if (name == "nearest") return Interpolation::kNearest;
  if (name == "linear") return Interpolation::kLinear;
  if (name == "cubic") return Interpolation::kCubic;
  throw UsageError("unknown interpolation '" + name + "'; expected nearest, linear or cubic");
}

Map resampleMap(const Map& src, const Grid& target, const Transform2D& source_to_target,
                Interpolation method) {
  src.checkConsistent();
  const Transform2D m = targetToSourcePixels(src.grid, target, source_to_target);
  Map out(src.name, target, src.unit);
  out.metadata = src.metadata;
  // The resolution the values really have (the first grid they were measured on), for
  // stages that need the scale of their features (e.g. a segmentation guide).
  bool known = false;
  for (const auto& [k, v] : out.metadata) known |= k == "measured_pixel_um";
  if (!known && src.grid.calibrated)
    out.metadata.emplace_back(
        "measured_pixel_um",
        fmt::format("{:.6g}",
                    src.grid.pixel_x * std::sqrt(std::abs(source_to_target.determinant()))));
  const int w = src.width(), h = src.height();
  Progress progress("resample " + src.name, static_cast<std::size_t>(target.height));
  tbb::parallel_for(0, target.height, [&](int ty) {
    progress.advance();
    for (int tx = 0; tx < target.width; ++tx) {
      const Point2 s = m.apply({1.0 * tx, 1.0 * ty});
      double value = 0;
      bool ok = inField(s.x, s.y, w, h);
      if (ok && method == Interpolation::kNearest) {
        const int x = clampi(static_cast<int>(std::lround(s.x)), 0, w - 1);
        const int y = clampi(static_cast<int>(std::lround(s.y)), 0, h - 1);
        ok = src.valid(x, y);
        value = src.values(x, y);
      } else if (ok) {
        const int x0 = static_cast<int>(std::floor(s.x)), y0 = static_cast<int>(std::floor(s.y));
        const double fx = s.x - x0, fy = s.y - y0;
        const int lo = method == Interpolation::kLinear ? 0 : -1;
        const int hi = method == Interpolation::kLinear ? 1 : 2;
        double wsum = 0;
        for (int j = lo; j <= hi && ok; ++j) {
          const double wy =
              method == Interpolation::kLinear ? (j == 0 ? 1 - fy : fy) : keys(j - fy);
          if (wy == 0) continue;
          const int y = clampi(y0 + j, 0, h - 1);
          for (int i = lo; i <= hi; ++i) {
            const double wx =
                method == Interpolation::kLinear ? (i == 0 ? 1 - fx : fx) : keys(i - fx);
            if (wx == 0) continue;
            const int x = clampi(x0 + i, 0, w - 1);
            if (!src.valid(x, y)) {
              ok = false;
              break;
            }
            value += wx * wy * src.values(x, y);
            wsum += wx * wy;
          }
        }
        if (ok && wsum != 0) value /= wsum;
      }
      out.values(tx, ty) = ok ? value : 0.0;
      out.mask(tx, ty) = ok ? 1 : 0;
    }
  });
  return out;
}

LabelMap resampleLabels(const LabelMap& src, const Grid& target,
                        const Transform2D& source_to_target) {
  src.checkConsistent();
  const Transform2D m = targetToSourcePixels(src.grid, target, source_to_target);
  LabelMap out(src.name, target);
  out.metadata = src.metadata;
  const int w = src.width(), h = src.height();
  tbb::parallel_for(0, target.height, [&](int ty) {
    for (int tx = 0; tx < target.width; ++tx) {
      const Point2 s = m.apply({1.0 * tx, 1.0 * ty});
      if (!inField(s.x, s.y, w, h)) continue;
      const int x = clampi(static_cast<int>(std::lround(s.x)), 0, w - 1);
      const int y = clampi(static_cast<int>(std::lround(s.y)), 0, h - 1);
      out.labels(tx, ty) = src.labels(x, y);
    }
  });
  return out;
}

LabelMap resampleLabelsMajority(const LabelMap& src, const Grid& target,
                                const Transform2D& source_to_target) {
  src.checkConsistent();
  const Transform2D m = targetToSourcePixels(src.grid, target, source_to_target);
  // Source pixels spanned by one target pixel along each target axis → k × k sample points.
  const auto& c = m.matrix();
  const double span = std::max(std::hypot(c[0], c[3]), std::hypot(c[1], c[4]));
  const int k = std::clamp(static_cast<int>(std::ceil(span)), 1, 16);
  LabelMap out(src.name, target);
  out.metadata = src.metadata;
  const int w = src.width(), h = src.height();
  tbb::parallel_for(0, target.height, [&](int ty) {
    std::vector<std::pair<std::int32_t, int>> votes;
    for (int tx = 0; tx < target.width; ++tx) {
      const Point2 centre = m.apply({1.0 * tx, 1.0 * ty});
      if (!inField(centre.x, centre.y, w, h)) continue;
      votes.clear();
      for (int b = 0; b < k; ++b) {
        for (int a = 0; a < k; ++a) {
          const Point2 s = m.apply({tx - 0.5 + (a + 0.5) / k, ty - 0.5 + (b + 0.5) / k});
          if (!inField(s.x, s.y, w, h)) continue;
          const std::int32_t l = src.labels(clampi(static_cast<int>(std::lround(s.x)), 0, w - 1),
                                            clampi(static_cast<int>(std::lround(s.y)), 0, h - 1));
          if (l <= 0) continue;  // boundary lines and unassigned pixels do not vote
          auto it = std::find_if(votes.begin(), votes.end(), [&](auto& v) { return v.first == l; });
          if (it == votes.end())
            votes.emplace_back(l, 1);
          else
            ++it->second;
        }
      }
      std::int32_t best = 0;
      int most = 0;
      for (const auto& [l, n] : votes) {
        if (n > most || (n == most && l < best)) best = l, most = n;
      }
      out.labels(tx, ty) = best;
    }
  });
  return out;
}

}  // namespace ionmap
