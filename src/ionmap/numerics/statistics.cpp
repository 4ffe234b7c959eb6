#include "ionmap/numerics/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

double normalQuantile(double p) {
  if (!(p > 0 && p < 1))
    throw UsageError(fmt::format("normal quantile of p = {}: needs 0 < p < 1", p));
  double lo = -40, hi = 40;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

namespace {
double percentileSorted(const std::vector<double>& v, double p) {
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(pos));
  const double f = pos - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] + f * (v[i + 1] - v[i]) : v[i];
}
}  // namespace

Summary summarize(std::vector<double> values) {
  Summary s;
  s.count = values.size();
  if (values.empty()) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    s.mean = s.std = s.sem = s.min = s.max = s.median = s.p05 = s.p95 = nan;
    return s;
  }
  std::sort(values.begin(), values.end());
  // Two-pass mean/variance: accurate for values with a large common offset.
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  double ss = 0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.std = values.size() > 1 ? std::sqrt(ss / static_cast<double>(values.size() - 1)) : 0.0;
  s.sem = s.std / std::sqrt(static_cast<double>(values.size()));
  s.min = values.front();
  s.max = values.back();
  s.median = percentileSorted(values, 50);
  s.p05 = percentileSorted(values, 5);
  s.p95 = percentileSorted(values, 95);
  return s;
}

std::vector<LabelSummary> summarizeByLabel(const Map& map, const LabelMap& labels) {
  if (!labels.labels.sameSize(map.values)) {
    throw ProcessingError(fmt::format(
        "statistics of map '{}' by labels '{}': sizes differ ({} x {} vs {} x {}); resample the "
        "labels onto the map's grid first",
        map.name, labels.name, map.width(), map.height(), labels.width(), labels.height()));
  }
  struct Acc {
    std::vector<double> values;
    std::size_t pixels = 0;
    double sx = 0, sy = 0;
  };
  std::map<std::int32_t, Acc> acc;
  const Transform2D to_phys = map.grid.pixelToPhysical();
  for (int y = 0; y < map.height(); ++y) {
    for (int x = 0; x < map.width(); ++x) {
      const auto l = labels.labels(x, y);
      if (l <= 0) continue;
      Acc& a = acc[l];
      ++a.pixels;
      const Point2 p = to_phys.apply({1.0 * x, 1.0 * y});
      a.sx += p.x;
      a.sy += p.y;
      if (map.valid(x, y) && std::isfinite(map.values(x, y))) a.values.push_back(map.values(x, y));
    }
  }
  std::vector<LabelSummary> out;
  out.reserve(acc.size());
  const double pixel_area = map.grid.pixel_x * map.grid.pixel_y;
  for (auto& [label, a] : acc) {
    LabelSummary s;
    s.label = label;
    s.pixels = a.pixels;
    s.area_um2 = static_cast<double>(a.pixels) * pixel_area;
    s.centroid_x = a.sx / static_cast<double>(a.pixels);
    s.centroid_y = a.sy / static_cast<double>(a.pixels);
    s.values = summarize(std::move(a.values));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ionmap
