#include "diffusion/sample.hpp"

#include <fstream>

#include <fmt/format.h>

#include "diffusion/model.hpp"
#include "generic/tiff_io.hpp"
#include "grains/synthetic.hpp"
#include "ionmap/core/error.hpp"
#include "tofsims/simulate_exchange.hpp"

namespace ionmap::diffusion {

void writeGbExchangeSample(const std::filesystem::path& dir, const GbExchangeSampleSpec& s) {
  const int n = s.sims_pixels, k = s.laser_factor;
  const double laser_um = s.sims_um / k;
  grains::MicrostructureSpec ms;
  ms.seed = s.seed;
  ms.pixels = n * k;
  ms.pixel_um = laser_um;
  ms.grain_size_um = s.grain_um;
  const grains::Microstructure m = grains::makeMicrostructure(ms);

  // The model grid is the SIMS grid; each SIMS pixel takes the grain at its centre.
  Domain d;
  d.labels = Image<std::int32_t>(n, n, 0);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) d.labels(x, y) = m.truth.labels(x * k + k / 2, y * k + k / 2);
  }
  d.h = s.sims_um;
  d.source = Edge::kLeft;
  d.time = s.time_s;
  d.steps = s.steps;
  Physics p;
  p.D_b = s.D_bulk_cm2_s * 1e8;
  p.kappa = s.kappa_cm_s * 1e4;
  p.f_s = s.f_s;
  p.f_bg = s.f_bg;
  const Image<double> f = simulateGrid(d, p);

  tofsims::ExchangeSampleSpec t;
  t.seed = s.seed;
  t.pixels = n;
  t.pixel_um = s.sims_um;
  t.f_s = s.f_s;
  t.f_bg = s.f_bg;
  t.fraction = &f;
  t.fraction_origin = "finite-volume model through the grains (see diffusion: below)";
  t.command = "gb-exchange";
  tofsims::writeExchangeSample(dir, t);

  Image<double> laser(n * k, n * k), labels(n * k, n * k), sims_labels(n, n);
  for (std::size_t i = 0; i < laser.size(); ++i) {
    laser[i] = m.image.values[i];
    labels[i] = m.truth.labels[i];
  }
  for (std::size_t i = 0; i < sims_labels.size(); ++i) sims_labels[i] = d.labels[i];
  tiff::write(dir / "laser.tif", {{&laser, "laser intensity"}}, tiff::SampleType::kUInt16, laser_um,
              laser_um);
  tiff::write(dir / "grains.tif", {{&labels, "grain labels"}}, tiff::SampleType::kInt32, laser_um,
              laser_um);
  tiff::write(dir / "sims_labels.tif", {{&sims_labels, "grain labels on the SIMS grid"}},
              tiff::SampleType::kInt32, s.sims_um, s.sims_um);
  std::ofstream y(dir / "truth.yaml", std::ios::app);
  y << "# 6Li exchange through the grains: finite volumes on sims_labels.tif, boundaries as "
       "interface permeance kappa, source f_s on the left edge, BDF2\n"
    << fmt::format(
           "diffusion: {{D_bulk_cm2_s: {}, kappa_cm_s: {}, time_s: {}, steps: {}, source_edge: "
           "left, grain_size_um: {}}}\n",
           s.D_bulk_cm2_s, s.kappa_cm_s, s.time_s, s.steps, s.grain_um)
    << fmt::format(
           "microstructure: {{laser: laser.tif, labels: grains.tif, pixel_size_um: {}, "
           "sims_labels: sims_labels.tif, same physical frame as the SIMS map}}\n",
           laser_um);
  if (!y) throw InputError((dir / "truth.yaml").string(), "cannot write");
}

}  // namespace ionmap::diffusion
