// Boundary geometry on the grid: the staircase correction (κ per unit of true boundary length on
// faces crossed by inclined boundaries) and the source contact of wedge-shaped grains.
#include "diffusion/model.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

#include "diffusion/domain.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {

namespace {

struct Point {
  double x = 0, y = 0;
};

// A line through points: their centroid and principal direction (unit).
struct Line {
  Point c, t;
};

Line fitLine(const std::vector<Point>& p) {
  double sx = 0, sy = 0;
  for (const Point& q : p) sx += q.x, sy += q.y;
  const double n = static_cast<double>(p.size());
  const Point c{sx / n, sy / n};
  double cxx = 0, cyy = 0, cxy = 0;
  for (const Point& q : p) {
    cxx += (q.x - c.x) * (q.x - c.x), cyy += (q.y - c.y) * (q.y - c.y);
    cxy += (q.x - c.x) * (q.y - c.y);
  }
  const double a = 0.5 * std::atan2(2 * cxy, cxx - cyy);
  return {c, {std::cos(a), std::sin(a)}};
}

}  // namespace

int chordLengths(Domain& s) {
  const int w = s.labels.width(), h = s.labels.height();
  if (w < 2 || h < 2 || s.kappa_scale_x.empty()) return 0;
  // Coordinates in cells with the grid's corner at (0, 0): cell (x, y) spans [x, x+1] × [y, y+1].
  struct Face {
    bool along_x;  // between (x, y) and (x + 1, y)
    int x, y;
  };
  struct Pair {
    std::vector<Point> mid;
    std::vector<Face> faces;
    std::vector<Point> ends;
  };
  std::map<std::pair<std::int32_t, std::int32_t>, Pair> pairs;
  auto key = [](std::int32_t a, std::int32_t b) {
    return std::pair{std::min(a, b), std::max(a, b)};
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const std::int32_t a = s.labels(x, y);
      if (x + 1 < w && a != s.labels(x + 1, y)) {
        Pair& p = pairs[key(a, s.labels(x + 1, y))];
        p.mid.push_back({x + 1.0, y + 0.5}), p.faces.push_back({true, x, y});
      }
      if (y + 1 < h && a != s.labels(x, y + 1)) {
        Pair& p = pairs[key(a, s.labels(x, y + 1))];
        p.mid.push_back({x + 0.5, y + 1.0}), p.faces.push_back({false, x, y});
      }
    }
  }
  // Triple junctions: grid corners where three or more grains meet, 8-connected into one
  // junction each. Its position is where the lines of its boundaries (fitted to their faces
  // within kReach cells) cross, or the corners' mean where they do not cross nearby.
  constexpr double kReach = 10, kNearby = 2;
  const int vw = w - 1, vh = h - 1;
  auto corner = [&](int i, int j) {
    const std::int32_t l[4] = {s.labels(i, j), s.labels(i + 1, j), s.labels(i, j + 1),
                               s.labels(i + 1, j + 1)};
    int distinct = 1;
    for (int k = 1; k < 4; ++k) {
      bool seen = false;
      for (int m = 0; m < k; ++m) seen = seen || l[m] == l[k];
      distinct += seen ? 0 : 1;
    }
    return distinct >= 3;
  };
  std::vector<std::uint8_t> junction(static_cast<std::size_t>(vw) * vh, 0);
  for (int j = 0; j < vh; ++j)
    for (int i = 0; i < vw; ++i) junction[static_cast<std::size_t>(j) * vw + i] = corner(i, j);
  std::vector<std::pair<int, int>> stack, cluster;
  for (int j0 = 0; j0 < vh; ++j0) {
    for (int i0 = 0; i0 < vw; ++i0) {
      if (!junction[static_cast<std::size_t>(j0) * vw + i0]) continue;
      junction[static_cast<std::size_t>(j0) * vw + i0] = 0;
      stack.assign(1, {i0, j0});
      cluster.clear();
      while (!stack.empty()) {
        const auto [i, j] = stack.back();
        stack.pop_back();
        cluster.push_back({i, j});
        for (int dj = -1; dj <= 1; ++dj) {
          for (int di = -1; di <= 1; ++di) {
            const int ii = i + di, jj = j + dj;
            if (ii < 0 || jj < 0 || ii >= vw || jj >= vh) continue;
            auto& m = junction[static_cast<std::size_t>(jj) * vw + ii];
            if (m) m = 0, stack.push_back({ii, jj});
          }
        }
      }
      Point v;
      std::vector<std::pair<std::int32_t, std::int32_t>> meeting;
      for (const auto& [i, j] : cluster) {
        v.x += i + 1.0, v.y += j + 1.0;
        const std::int32_t tl = s.labels(i, j), tr = s.labels(i + 1, j), bl = s.labels(i, j + 1),
                           br = s.labels(i + 1, j + 1);
        for (const auto& [a, b] :
             {std::pair{tl, tr}, std::pair{bl, br}, std::pair{tl, bl}, std::pair{tr, br}}) {
          if (a == b) continue;
          const auto k = key(a, b);
          if (std::find(meeting.begin(), meeting.end(), k) == meeting.end()) meeting.push_back(k);
        }
      }
      v.x /= static_cast<double>(cluster.size()), v.y /= static_cast<double>(cluster.size());
      // Least-squares crossing of the boundaries' lines: Σ (I − t tᵀ) J = Σ (I − t tᵀ) c.
      double axx = 0, axy = 0, ayy = 0, bx = 0, by = 0;
      std::vector<Point> near;
      for (const auto& k : meeting) {
        near.clear();
        for (const Point& q : pairs[k].mid)
          if (std::hypot(q.x - v.x, q.y - v.y) <= kReach) near.push_back(q);
        if (near.size() < 3) continue;
        const Line l = fitLine(near);
        const double pxx = 1 - l.t.x * l.t.x, pxy = -l.t.x * l.t.y, pyy = 1 - l.t.y * l.t.y;
        axx += pxx, axy += pxy, ayy += pyy;
        bx += pxx * l.c.x + pxy * l.c.y, by += pxy * l.c.x + pyy * l.c.y;
      }
      Point at = v;
      const double det = axx * ayy - axy * axy;
      if (det > 0.05) {  // at least two lines at more than ~13° to each other
        const Point cross{(ayy * bx - axy * by) / det, (axx * by - axy * bx) / det};
        if (std::hypot(cross.x - v.x, cross.y - v.y) <= kNearby) at = cross;
      }
      for (const auto& k : meeting) pairs[k].ends.push_back(at);
    }
  }
  // A boundary that runs into the grid's edge ends there: its line continued from its last face
  // to the edge (within two cells), unless a junction is already that end.
  int scaled = 0;
  for (auto& [k, p] : pairs) {
    if (p.mid.size() < 3) continue;
    const Line l = fitLine(p.mid);
    double lo = 0, hi = 0;
    for (const Point& q : p.mid) {
      const double u = (q.x - l.c.x) * l.t.x + (q.y - l.c.y) * l.t.y;
      lo = std::min(lo, u), hi = std::max(hi, u);
    }
    for (const double side : {-1.0, 1.0}) {
      const double u = side < 0 ? lo : hi;
      const Point e{l.c.x + u * l.t.x, l.c.y + u * l.t.y};
      const Point dir{side * l.t.x, side * l.t.y};
      bool joined = false;
      for (const Point& j : p.ends) joined = joined || std::hypot(j.x - e.x, j.y - e.y) <= 3;
      if (joined) continue;
      double r = 2.0;
      bool edge = false;
      for (const auto& [d, from, lim] :
           {std::tuple{dir.x, e.x, 0.0}, std::tuple{dir.x, e.x, double(w)},
            std::tuple{dir.y, e.y, 0.0}, std::tuple{dir.y, e.y, double(h)}}) {
        if (std::abs(d) < 1e-9) continue;
        const double rr = (lim - from) / d;
        if (rr >= 0 && rr <= r) r = rr, edge = true;
      }
      if (edge) p.ends.push_back({e.x + r * dir.x, e.y + r * dir.y});
    }
    // Two ends and every face within kStraight cells of the chord between them: the boundary
    // is straight there, and its length is the chord's.
    constexpr double kStraight = 1.5;
    if (p.ends.size() != 2) continue;
    const Point a = p.ends[0], b = p.ends[1];
    const double chord = std::hypot(b.x - a.x, b.y - a.y);
    if (chord < 2) continue;
    bool straight = true;
    for (const Point& q : p.mid)
      straight =
          straight &&
          std::abs((q.x - a.x) * (b.y - a.y) - (q.y - a.y) * (b.x - a.x)) / chord <= kStraight;
    if (!straight) continue;
    double sum = 0;
    for (const Face& f : p.faces)
      sum += f.along_x ? s.kappa_scale_x(f.x, f.y) : s.kappa_scale_y(f.x, f.y);
    const double scale = chord / sum;
    if (!(scale > 0.75 && scale < 1.0 / 0.75)) continue;  // not the staircase of that chord
    for (const Face& f : p.faces)
      (f.along_x ? s.kappa_scale_x(f.x, f.y) : s.kappa_scale_y(f.x, f.y)) *= scale;
    ++scaled;
  }
  return scaled;
}

double correctStaircase(Domain& s, int radius, int* chord_pairs) {
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
  const int chords = chordLengths(s);
  if (chord_pairs) *chord_pairs = chords;
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
