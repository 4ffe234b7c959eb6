// Boundary geometry on the grid: the staircase correction (κ per unit of true boundary length on
// faces crossed by inclined boundaries) and the source contact of wedge-shaped grains.
#include "diffusion/model.hpp"

#include <algorithm>
#include <cmath>

#include "diffusion/domain.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {

double correctStaircase(Domain& s, int radius) {
  if (s.labels.empty()) throw UsageError("staircase correction: the grid is empty");
  if (radius < 1) throw UsageError("staircase correction: the radius must be >= 1 cell");
  const int w = s.labels.width(), h = s.labels.height();
  s.kappa_scale_x = Image<double>(w, h, 1.0);
  s.kappa_scale_y = Image<double>(w, h, 1.0);
  double sum = 0;
  std::size_t faces = 0;
  // Face between (x, y) and (x + dx, y + dy); its midpoint is at (x + dx/2, y + dy/2). The
  // boundary's local direction is the principal axis of the midpoints of the faces between the
  // same two grains within `radius` cells (a straight staircase's midpoints scatter about the
  // true line); the normal is perpendicular to it.
  auto factor = [&](int x, int y, int dx, int dy) {
    const int a = s.labels(x, y), b = s.labels(x + dx, y + dy);
    const double mx = x + 0.5 * dx, my = y + 0.5 * dy;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int count = 0;
    auto add = [&](double px, double py) {
      if (std::hypot(px - mx, py - my) > radius) return;
      sx += px, sy += py, sxx += px * px, syy += py * py, sxy += px * py, ++count;
    };
    auto pair = [&](int i, int j, int ii, int jj) {
      const int l = s.labels(i, j), m = s.labels(ii, jj);
      return (l == a && m == b) || (l == b && m == a);
    };
    for (int j = std::max(0, y - radius); j <= std::min(h - 1, y + radius); ++j) {
      for (int i = std::max(0, x - radius); i <= std::min(w - 1, x + radius); ++i) {
        if (i + 1 < w && pair(i, j, i + 1, j)) add(i + 0.5, j);
        if (j + 1 < h && pair(i, j, i, j + 1)) add(i, j + 0.5);
      }
    }
    if (count < 3) return 1.0;
    const double cxx = sxx / count - (sx / count) * (sx / count),
                 cyy = syy / count - (sy / count) * (sy / count),
                 cxy = sxy / count - (sx / count) * (sy / count);
    // Tangent angle of the principal axis; the normal is at +90°. The face passes the normal
    // flux's component along its own normal: κ|n·e_face|. Along a monotone staircase that sums
    // to κ × the true length (as a uniform 1/(|n_x| + |n_y|) would), and faces of a bump that a
    // noisy segmentation adds across the boundary's direction pass almost nothing.
    const double t = 0.5 * std::atan2(2 * cxy, cxx - cyy);
    const double nx = -std::sin(t), ny = std::cos(t);
    return dx != 0 ? std::abs(nx) : std::abs(ny);
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (x + 1 < w && s.labels(x, y) != s.labels(x + 1, y)) {
        s.kappa_scale_x(x, y) = factor(x, y, 1, 0);
        sum += s.kappa_scale_x(x, y), ++faces;
      }
      if (y + 1 < h && s.labels(x, y) != s.labels(x, y + 1)) {
        s.kappa_scale_y(x, y) = factor(x, y, 0, 1);
        sum += s.kappa_scale_y(x, y), ++faces;
      }
    }
  }
  if (s.wedge_contacts) {
    s.source_scale = sourceContactFactors(s);
  } else {
    s.source_scale.clear();
  }
  return faces ? sum / static_cast<double>(faces) : 1.0;
}

std::vector<double> sourceContactFactors(const Domain& s, const Image<std::int32_t>* drawn) {
  if (s.labels.empty()) throw UsageError("source-contact correction: the grid is empty");
  if (drawn && !drawn->sameSize(s.labels))
    throw UsageError("source-contact correction: the drawn labels and the grid differ in size");
  if (!s.source_region.empty()) return {};
  const Image<std::int32_t>& raw = drawn ? *drawn : s.labels;
  const int n = edgeLength(s);
  const int deep =
      s.source == Edge::kLeft || s.source == Edge::kRight ? s.labels.width() : s.labels.height();
  constexpr int kDepths = 4;  // widths measured at depths 0..3 (at least 3 needed)
  auto labelIn = [&](const Image<std::int32_t>& l, int k, int depth) {
    const auto [x, y] = edgeCell(s, k, depth);
    return l(x, y);
  };
  // The wedges of the drawn labels: grain, first and last edge cell, width at the edge face.
  struct Wedge {
    std::int32_t g;
    int k0, k1;
    double at_edge;
  };
  std::vector<Wedge> wedges;
  for (int k0 = 0; k0 < n;) {
    const auto g = labelIn(raw, k0, 0);
    int k1 = k0;
    while (k1 + 1 < n && labelIn(raw, k1 + 1, 0) == g) ++k1;
    const int run = k1 - k0 + 1;
    // Short contacts between two other grains only (a run at a corner has one side unknown).
    if (run <= 2 && k0 > 0 && k1 < n - 1) {
      std::vector<double> width{static_cast<double>(run)};
      int a = k0, b = k1;
      for (int depth = 1; depth < std::min(kDepths, deep); ++depth) {
        int hit = -1;  // a cell of the grain next to the run one cell shallower
        for (int k = std::max(0, a - 1); k <= std::min(n - 1, b + 1) && hit < 0; ++k)
          if (labelIn(raw, k, depth) == g) hit = k;
        if (hit < 0) break;
        int lo = hit, hi = hit;
        while (lo > 0 && labelIn(raw, lo - 1, depth) == g) --lo;
        while (hi + 1 < n && labelIn(raw, hi + 1, depth) == g) ++hi;
        if (lo == 0 || hi == n - 1) break;  // reaches a corner: not a wedge between two grains
        a = lo, b = hi;
        width.push_back(hi - lo + 1);
      }
      if (width.size() >= 3) {
        // Least-squares slope of width against depth.
        const double m_count = static_cast<double>(width.size());
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (std::size_t d = 0; d < width.size(); ++d) {
          const double x = static_cast<double>(d);
          sx += x, sy += width[d], sxx += x * x, sxy += x * width[d];
        }
        const double slope = (m_count * sxy - sx * sy) / (m_count * sxx - sx * sx);
        // Widening inward over the four depths: a wedge, not a strip with parallel sides. Its
        // width at the edge face (half a cell before the first cells' centres) from the first
        // step, the wedge's local opening at its tip (a thin neighbour bending further in
        // would skew a line through all four).
        if (slope > 0.5) wedges.push_back({g, k0, k1, width[0] - 0.5 * (width[1] - width[0])});
      }
    }
    k0 = k1 + 1;
  }
  // Each run of the model's labels along the edge that a wedge of the same grain overlaps
  // (within two cells: smoothing may have moved or widened its tip) gets the wedge's contact.
  std::vector<double> scale(static_cast<std::size_t>(n), 1.0);
  for (int k0 = 0; k0 < n;) {
    const auto g = labelIn(s.labels, k0, 0);
    int k1 = k0;
    while (k1 + 1 < n && labelIn(s.labels, k1 + 1, 0) == g) ++k1;
    for (const Wedge& w : wedges) {
      if (w.g != g || w.k1 < k0 - 2 || w.k0 > k1 + 2) continue;
      const double factor = std::clamp(w.at_edge / (k1 - k0 + 1), 0.0, 1.0);
      for (int k = k0; k <= k1; ++k) scale[static_cast<std::size_t>(k)] = factor;
    }
    k0 = k1 + 1;
  }
  return scale;
}

}  // namespace ionmap::diffusion
