#include "ebsd/segment_ebsd.hpp"

#include <cmath>
#include <map>
#include <queue>

#include "ionmap/core/error.hpp"

namespace ionmap::ebsd {

EbsdSegmentation segmentEbsd(const EbsdData& d, double threshold_deg, double min_quality,
                             int min_pixels) {
  if (!(threshold_deg > 0)) throw UsageError("misorientation threshold must be > 0 degrees");
  const int w = d.grid.width, h = d.grid.height;
  Image<Quat> q(w, h);
  Image<std::uint8_t> usable(w, h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      q(x, y) = fromBunge(d.phi1(x, y), d.Phi(x, y), d.phi2(x, y));
      const bool quality_ok = !(min_quality > 0) || d.quality(x, y) >= min_quality;
      usable(x, y) = d.phase(x, y) > 0 && quality_ok;
    }
  }
  EbsdSegmentation s;
  s.labels = LabelMap("EBSD grains", d.grid);
  std::size_t usable_count = 0;
  for (auto u : usable.values()) usable_count += u;
  if (usable_count == 0) {
    throw ProcessingError(
        "no indexed point passes the quality threshold: there are no grains to segment");
  }
  int next = 0;
  std::vector<std::pair<int, int>> stack;
  for (int y0 = 0; y0 < h; ++y0) {
    for (int x0 = 0; x0 < w; ++x0) {
      if (!usable(x0, y0) || s.labels.labels(x0, y0)) continue;
      const int label = ++next;
      const int phase = d.phase(x0, y0);
      const Laue laue = d.phaseInfo(phase) ? d.phaseInfo(phase)->laue : Laue::kTriclinic;
      GrainOrientation g{label, phase, 0, {0, 0, 0, 0}};
      const Quat ref = q(x0, y0);
      s.labels.labels(x0, y0) = label;
      stack.assign(1, {x0, y0});
      while (!stack.empty()) {
        const auto [x, y] = stack.back();
        stack.pop_back();
        ++g.pixels;
        const Quat e = closestEquivalent(q(x, y), ref, laue);
        g.mean.w += e.w, g.mean.x += e.x, g.mean.y += e.y, g.mean.z += e.z;
        for (auto [dx, dy] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) {
          const int xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h || !usable(xx, yy) || s.labels.labels(xx, yy))
            continue;
          if (d.phase(xx, yy) != phase ||
              misorientationDeg(q(x, y), q(xx, yy), laue) >= threshold_deg)
            continue;
          s.labels.labels(xx, yy) = label;
          stack.push_back({xx, yy});
        }
      }
      const double n = std::sqrt(g.mean.w * g.mean.w + g.mean.x * g.mean.x + g.mean.y * g.mean.y +
                                 g.mean.z * g.mean.z);
      g.mean = {g.mean.w / n, g.mean.x / n, g.mean.y / n, g.mean.z / n};
      s.grains.push_back(g);
    }
  }
  // Grains smaller than min_pixels belong to no grain; labels are renumbered 1..n.
  std::vector<int> renum(s.grains.size() + 1, 0);
  std::vector<GrainOrientation> kept;
  for (const auto& g : s.grains) {
    if (static_cast<int>(g.pixels) >= min_pixels) {
      kept.push_back(g);
      kept.back().label = static_cast<int>(kept.size());
      renum[static_cast<std::size_t>(g.label)] = kept.back().label;
    } else {
      ++s.small_grains_removed;
    }
  }
  for (auto& v : s.labels.labels.values()) v = renum[static_cast<std::size_t>(v)];
  s.grains = std::move(kept);
  for (auto v : s.labels.labels.values()) s.excluded_points += v == 0;
  return s;
}

Table ebsdGrainTable(const EbsdSegmentation& s, const EbsdData& d) {
  Table t("EBSD grains");
  t.addNumeric("label", "");
  t.addNumeric("phase", "");
  t.addText("phase_name");
  t.addNumeric("pixels", "");
  t.addNumeric("area", "um^2");
  for (const char* c : {"phi1", "Phi", "phi2"}) t.addNumeric(c, "deg");
  for (const auto& g : s.grains) {
    double p1, P, p2;
    toBunge(g.mean, p1, P, p2);
    const PhaseInfo* info = d.phaseInfo(g.phase);
    t.columns[0].numbers.push_back(g.label);
    t.columns[1].numbers.push_back(g.phase);
    t.columns[2].texts.push_back(info ? info->name : "");
    t.columns[3].numbers.push_back(static_cast<double>(g.pixels));
    t.columns[4].numbers.push_back(g.pixels * d.grid.pixel_x * d.grid.pixel_y);
    t.columns[5].numbers.push_back(p1 * 180 / M_PI);
    t.columns[6].numbers.push_back(P * 180 / M_PI);
    t.columns[7].numbers.push_back(p2 * 180 / M_PI);
  }
  return t;
}

Table ebsdBoundaryTable(const EbsdSegmentation& s, const EbsdData& d) {
  std::map<std::pair<int, int>, double> shared;
  const auto& l = s.labels.labels;
  for (int y = 0; y < l.height(); ++y) {
    for (int x = 0; x < l.width(); ++x) {
      const int a = l(x, y);
      auto edge = [&](int b, double len) {
        if (a > 0 && b > 0 && a != b) shared[{std::min(a, b), std::max(a, b)}] += len;
      };
      if (x + 1 < l.width()) edge(l(x + 1, y), d.grid.pixel_y);
      if (y + 1 < l.height()) edge(l(x, y + 1), d.grid.pixel_x);
    }
  }
  Table t("EBSD grain boundaries");
  t.addNumeric("grain_a", "");
  t.addNumeric("grain_b", "");
  t.addNumeric("length", "um");
  t.addNumeric("misorientation", "deg");
  for (const auto& [pair, len] : shared) {
    const auto& ga = s.grains[static_cast<std::size_t>(pair.first - 1)];
    const auto& gb = s.grains[static_cast<std::size_t>(pair.second - 1)];
    const PhaseInfo* info = d.phaseInfo(ga.phase);
    // Between phases a misorientation needs an orientation relationship: not defined here.
    const double mis =
        ga.phase == gb.phase && info ? misorientationDeg(ga.mean, gb.mean, info->laue) : NAN;
    t.columns[0].numbers.push_back(pair.first);
    t.columns[1].numbers.push_back(pair.second);
    t.columns[2].numbers.push_back(len);
    t.columns[3].numbers.push_back(mis);
  }
  return t;
}

}  // namespace ionmap::ebsd
