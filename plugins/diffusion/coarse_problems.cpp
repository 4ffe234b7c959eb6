// The coarse problems a fit's starts are solved on: the map binned 2 × 2, and the
// observation-model problem seen at the map's own resolution.
#include <algorithm>
#include <cmath>

#include "diffusion/fit_detail.hpp"
#include "diffusion/observation.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion::detail {

Coarse coarsen(const Image<double>& f, const Image<double>& sigma, const Image<std::uint8_t>& mask,
               const FitOptions& o) {
  const Domain& d = o.domain;
  const int w = d.labels.width(), h = d.labels.height();
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  Coarse c;
  c.options = o;
  c.options.profile_points = 0;
  c.options.interval_level = 0;
  c.options.label_ensemble = 0;
  c.options.coarse_single_start_cells = 2 * kCoarseMinCells;  // below the top, bin while possible
  Domain& cd = c.options.domain;
  cd.labels = Image<std::int32_t>(cw, ch, 0);
  cd.h = 2 * d.h;
  cd.ordering.clear();
  cd.kappa_scale_x = cd.kappa_scale_y = Image<double>();
  cd.source_scale.clear();
  cd.source_region =
      d.source_region.empty() ? Image<std::uint8_t>() : Image<std::uint8_t>(cw, ch, 0);
  c.f = Image<double>(cw, ch, 0.0);
  c.sigma = Image<double>(cw, ch, 0.0);
  c.mask = Image<std::uint8_t>(cw, ch, 0);
  for (int y = 0; y < ch; ++y) {
    for (int x = 0; x < cw; ++x) {
      std::array<std::int32_t, 4> labels{};
      int cells = 0, region = 0;
      double sw = 0, swf = 0;
      for (int j = 2 * y; j < std::min(h, 2 * y + 2); ++j) {
        for (int i = 2 * x; i < std::min(w, 2 * x + 2); ++i) {
          labels[static_cast<std::size_t>(cells++)] = d.labels(i, j);
          if (!d.source_region.empty()) region += d.source_region(i, j) != 0;
          if (mask(i, j) && std::isfinite(f(i, j)) && std::isfinite(sigma(i, j)) &&
              sigma(i, j) > 0) {
            const double wt = 1 / (sigma(i, j) * sigma(i, j));
            sw += wt, swf += wt * f(i, j);
          }
        }
      }
      std::int32_t best = labels[0];
      int most = 0;
      for (int a = 0; a < cells; ++a) {
        int count = 0;
        for (int b = 0; b < cells; ++b)
          count += labels[static_cast<std::size_t>(b)] == labels[static_cast<std::size_t>(a)];
        const auto l = labels[static_cast<std::size_t>(a)];
        if (count > most || (count == most && l < best)) best = l, most = count;
      }
      cd.labels(x, y) = best;
      if (!cd.source_region.empty()) cd.source_region(x, y) = 2 * region > cells;
      if (sw > 0) c.f(x, y) = swf / sw, c.sigma(x, y) = 1 / std::sqrt(sw), c.mask(x, y) = 1;
    }
  }
  if (!d.kappa_scale_x.empty()) correctStaircase(cd);
  return c;
}

// The observation-model problem (labels s times finer than f) seen at f's own resolution: each
// cell takes the grain that covers most of its s × s block (ties to the smaller label), the
// staircase factors are made anew for that grid. The cheap start of the fine fit.
Coarse majorityProblem(const Image<double>& f, const Image<double>& sigma,
                       const Image<std::uint8_t>& mask, const FitOptions& o) {
  const Domain& d = o.domain;
  const int s = o.subsample;
  Coarse c;
  c.f = f, c.sigma = sigma, c.mask = mask;
  c.options = o;
  c.options.subsample = 1;
  c.options.profile_points = 0;
  c.options.interval_level = 0;
  c.options.label_ensemble = 0;
  Domain& cd = c.options.domain;
  cd.h = d.h * s;
  cd.ordering.clear();
  cd.kappa_scale_x = cd.kappa_scale_y = Image<double>();
  cd.source_scale.clear();
  cd.labels = majorityLabels(d.labels, s);
  if (!d.kappa_scale_x.empty()) correctStaircase(cd);
  return c;
}

}  // namespace ionmap::diffusion::detail
