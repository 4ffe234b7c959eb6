#include "grains/statistics.hpp"

#include <cmath>
#include <map>

#include <opencv2/imgproc.hpp>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::grains {

GrainStatistics grainStatistics(const LabelMap& l) {
  l.checkConsistent();
  const int w = l.width(), h = l.height();
  const double px = l.grid.pixel_x, py = l.grid.pixel_y;
  struct Acc {
    std::size_t n = 0;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, perimeter = 0;
    bool border = false;
  };
  std::map<int, Acc> acc;
  std::map<std::pair<int, int>, double> shared;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int v = l.labels(x, y);
      if (v > 0) {
        Acc& a = acc[v];
        const double cx = (x + 0.5) * px, cy = (y + 0.5) * py;
        ++a.n, a.sx += cx, a.sy += cy, a.sxx += cx * cx, a.syy += cy * cy, a.sxy += cx * cy;
        if (x == 0 || y == 0 || x == w - 1 || y == h - 1) a.border = true;
        // Edges against the field border count towards the perimeter.
        a.perimeter += (x == 0) * py + (x == w - 1) * py + (y == 0) * px + (y == h - 1) * px;
      }
      auto edge = [&](int u, double len) {
        if (u == v) return;
        if (v > 0) acc[v].perimeter += len;
        if (u > 0) acc[u].perimeter += len;
        if (u > 0 && v > 0) shared[{std::min(u, v), std::max(u, v)}] += len;
      };
      if (x + 1 < w) edge(l.labels(x + 1, y), py);
      if (y + 1 < h) edge(l.labels(x, y + 1), px);
    }
  }
  if (acc.empty()) throw ProcessingError("label map '" + l.name + "' holds no grain");
  GrainStatistics s;
  const Transform2D to_phys = l.grid.pixelToPhysical();
  std::size_t inside = 0, cut = 0;
  for (const auto& [label, a] : acc) {
    GrainRecord g;
    g.label = label;
    g.pixels = a.n;
    g.area_um2 = a.n * px * py;
    g.equivalent_diameter_um = std::sqrt(4 * g.area_um2 / M_PI);
    const double mx = a.sx / a.n, my = a.sy / a.n;
    // Centroid in the physical frame (the accumulation used unrotated local coordinates).
    const Point2 c = to_phys.apply({mx / px - 0.5, my / py - 0.5});
    g.centroid_x_um = c.x, g.centroid_y_um = c.y;
    g.perimeter_um = a.perimeter;
    // Equal-moment ellipse: variance of a pixel itself (1/12 px²) keeps one-pixel grains finite.
    const double vxx = a.sxx / a.n - mx * mx + px * px / 12,
                 vyy = a.syy / a.n - my * my + py * py / 12;
    const double vxy = a.sxy / a.n - mx * my;
    const double tr = vxx + vyy,
                 disc = std::sqrt(std::max(0.0, 0.25 * (vxx - vyy) * (vxx - vyy) + vxy * vxy));
    g.aspect_ratio = std::sqrt((0.5 * tr + disc) / std::max(1e-300, 0.5 * tr - disc));
    g.touches_border = a.border;
    (a.border ? cut : inside) += 1;
    s.grains.push_back(g);
  }
  for (const auto& [pair, len] : shared) s.boundaries.push_back({pair.first, pair.second, len});
  // ASTM E112: Jeffries planimetric count and lineal intercepts on every 8th row and column.
  const double area_mm2 = w * px * h * py * 1e-6;
  s.astm.grains_per_mm2 = (inside + 0.5 * cut) / area_mm2;
  s.astm.planimetric_G = 3.321928 * std::log10(s.astm.grains_per_mm2) - 2.954;
  double length_um = 0;
  std::size_t crossings = 0;
  for (int y = 4; y < h; y += 8) {
    for (int x = 0; x + 1 < w; ++x) crossings += l.labels(x, y) != l.labels(x + 1, y);
    length_um += w * px;
  }
  for (int x = 4; x < w; x += 8) {
    for (int y = 0; y + 1 < h; ++y) crossings += l.labels(x, y) != l.labels(x, y + 1);
    length_um += h * py;
  }
  s.astm.mean_intercept_um = crossings ? length_um / crossings : std::nan("");
  s.astm.intercept_G =
      crossings ? -6.643856 * std::log10(s.astm.mean_intercept_um * 1e-3) - 3.288 : std::nan("");
  return s;
}

Table grainTable(const GrainStatistics& s) {
  Table t("grains");
  t.description = "one row per grain";
  for (auto [name, unit] : {std::pair{"label", ""},
                            {"pixels", ""},
                            {"area", "um^2"},
                            {"equivalent_diameter", "um"},
                            {"centroid_x", "um"},
                            {"centroid_y", "um"},
                            {"perimeter", "um"},
                            {"aspect_ratio", ""},
                            {"touches_border", ""}}) {
    t.addNumeric(name, unit);
  }
  for (const auto& g : s.grains) {
    const double v[9] = {1.0 * g.label,
                         1.0 * g.pixels,
                         g.area_um2,
                         g.equivalent_diameter_um,
                         g.centroid_x_um,
                         g.centroid_y_um,
                         g.perimeter_um,
                         g.aspect_ratio,
                         g.touches_border ? 1.0 : 0.0};
    for (int c = 0; c < 9; ++c) t.columns[c].numbers.push_back(v[c]);
  }
  return t;
}

Table boundaryTable(const GrainStatistics& s) {
  Table t("grain boundaries");
  t.description = "grain adjacency graph: one row per pair of touching grains";
  t.addNumeric("grain_a", "");
  t.addNumeric("grain_b", "");
  t.addNumeric("length", "um");
  for (const auto& b : s.boundaries) {
    t.columns[0].numbers.push_back(b.a);
    t.columns[1].numbers.push_back(b.b);
    t.columns[2].numbers.push_back(b.length_um);
  }
  return t;
}

BoundaryScore boundaryF1(const Image<std::uint8_t>& pred, const Image<std::uint8_t>& truth,
                         double tol) {
  auto distanceTo = [](const Image<std::uint8_t>& b) {
    cv::Mat not_b = cvb::view(b) == 0, d;
    cv::distanceTransform(not_b, d, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    return d;
  };
  const cv::Mat dt = distanceTo(truth), dp = distanceTo(pred);
  std::size_t tp_p = 0, np = 0, tp_r = 0, nt = 0;
  for (int y = 0; y < pred.height(); ++y) {
    for (int x = 0; x < pred.width(); ++x) {
      if (pred(x, y)) ++np, tp_p += dt.at<float>(y, x) <= tol;
      if (truth(x, y)) ++nt, tp_r += dp.at<float>(y, x) <= tol;
    }
  }
  BoundaryScore s;
  s.precision = np ? static_cast<double>(tp_p) / np : 0;
  s.recall = nt ? static_cast<double>(tp_r) / nt : 0;
  s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
  return s;
}

}  // namespace ionmap::grains
