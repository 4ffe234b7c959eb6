// The series (brick-layer, 1D) model: the map averaged along the source edge into a depth
// profile, fitted with one dimension of grains in series.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "diffusion/fit.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {

int depthLines(Edge source, int w, int h) {
  return source == Edge::kLeft || source == Edge::kRight ? w : h;
}

int depthOf(Edge source, int w, int h, int x, int y) {
  return source == Edge::kLeft    ? x
         : source == Edge::kRight ? w - 1 - x
         : source == Edge::kTop   ? y
                                  : h - 1 - y;
}

Domain seriesDomain(const Domain& map, double grain_size_um) {
  const int n = depthLines(map.source, map.labels.width(), map.labels.height());
  Domain line = map;
  line.source = Edge::kLeft;
  line.labels = Image<std::int32_t>(n, 1, 0);
  for (int k = 0; k < n; ++k)
    line.labels(k, 0) = 1 + static_cast<int>(std::floor((k + 0.5) * map.h / grain_size_um));
  line.ordering.clear();  // the map's own pattern and staircase factors do not apply
  line.kappa_scale_x = line.kappa_scale_y = Image<double>();
  line.source_scale.clear();
  return line;
}

FitResult fitSeries(const Image<double>& f, const Image<double>& sigma,
                    const Image<std::uint8_t>& mask, FitOptions o, double grain_size_um) {
  const Domain& d = o.domain;
  if (!f.sameSize(d.labels) || !sigma.sameSize(f) || !mask.sameSize(f)) {
    throw UsageError(
        "the fraction, sigma, mask and label maps must share one grid (resample them first)");
  }
  if (!d.source_region.empty())
    throw UsageError(
        "the series model needs a source edge (its depth profile is 1D), not a region");
  const int w = f.width(), h = f.height(), n = depthLines(d.source, w, h);
  std::vector<double> sum(static_cast<std::size_t>(n), 0.0), var(sum), count(sum);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (!mask(x, y) || !std::isfinite(f(x, y)) || !(sigma(x, y) > 0)) continue;
      const auto k = static_cast<std::size_t>(depthOf(d.source, w, h, x, y));
      sum[k] += f(x, y), var[k] += sigma(x, y) * sigma(x, y), ++count[k];
    }
  }
  Image<double> pf(n, 1, 0.0), ps(n, 1, 0.0);
  Image<std::uint8_t> pm(n, 1, 0);
  for (int k = 0; k < n; ++k) {
    const auto i = static_cast<std::size_t>(k);
    if (count[i] == 0) continue;
    pf[i] = sum[i] / count[i], ps[i] = std::sqrt(var[i]) / count[i], pm[i] = 1;
  }
  const double spacing = grain_size_um > 0 ? grain_size_um : meanGrainSize(d.labels, d.h);
  if (spacing < 2 * d.h) {
    throw UsageError(
        fmt::format("series model: grain_size {:.3g} um is less than two pixels ({:.3g} um)",
                    spacing, 2 * d.h));
  }
  o.domain = seriesDomain(d, spacing);
  o.model = ModelKind::kGrid;
  FitResult r = fitDiffusion(pf, ps, pm, o);
  r.mean_grain_um = spacing;
  r.biot = r.best.kappa * spacing / r.best.D_b;
  Image<double> map(w, h, 0.0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) map(x, y) = r.model(depthOf(d.source, w, h, x, y), 0);
  }
  r.model = std::move(map);
  r.sigma_used = sigma;  // the pixels' own σ (the fit used the profile's)
  return r;
}

}  // namespace ionmap::diffusion
