#include "diffusion/sample.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <utility>

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
  const int nl = static_cast<int>(std::lround(s.laser_field_um / laser_um));
  grains::MicrostructureSpec ms;
  ms.seed = s.seed;
  ms.pixels = nl;
  ms.pixel_um = laser_um;
  ms.grain_size_um = s.grain_um;
  const grains::Microstructure m = grains::makeMicrostructure(ms);
  const auto& truth = m.truth.labels;

  // SIMS frame → laser frame: rotate by rotation_deg, then shift.
  const double th = s.rotation_deg * M_PI / 180, c = std::cos(th), sn = std::sin(th);
  auto laserPixel = [&](double xs, double ys) {
    const double xl = c * xs - sn * ys + s.shift_x_um, yl = sn * xs + c * ys + s.shift_y_um;
    const int i = static_cast<int>(std::floor(xl / laser_um)),
              j = static_cast<int>(std::floor(yl / laser_um));
    if (i < 0 || j < 0 || i >= nl || j >= nl)
      throw UsageError("gb-exchange sample: the SIMS field does not lie inside the laser field");
    return std::pair{i, j};
  };
  auto onBoundary = [&](int i, int j) {
    const int l = truth(i, j);
    return (i > 0 && truth(i - 1, j) != l) || (i + 1 < nl && truth(i + 1, j) != l) ||
           (j > 0 && truth(i, j - 1) != l) || (j + 1 < nl && truth(i, j + 1) != l);
  };
  // The model grid is the SIMS grid; each SIMS pixel takes the grain covering most of it and
  // its relative ion yield drops over the boundary grooves inside it (5 x 5 points per pixel).
  Domain d;
  d.labels = Image<std::int32_t>(n, n, 0);
  Image<double> yield(n, n, 1.0);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      int groove = 0;
      std::map<std::int32_t, int> votes;
      for (int b = 0; b < 5; ++b) {
        for (int a = 0; a < 5; ++a) {
          const auto [i, j] =
              laserPixel((x + (a + 0.5) / 5) * s.sims_um, (y + (b + 0.5) / 5) * s.sims_um);
          groove += onBoundary(i, j);
          ++votes[truth(i, j)];
        }
      }
      int most = 0;
      for (const auto& [l, count] : votes) {
        if (count > most) d.labels(x, y) = l, most = count;  // ties: the smaller label
      }
      yield(x, y) = 1 - s.groove_yield_drop * groove / 25.0;
    }
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
  t.yield = &yield;
  t.yield_origin =
      fmt::format("1 - {} x (fraction of the pixel on boundary grooves)", s.groove_yield_drop);
  tofsims::writeExchangeSample(dir, t);

  Image<double> laser(nl, nl), labels(nl, nl), sims_labels(n, n);
  for (std::size_t i = 0; i < laser.size(); ++i) {
    laser[i] = m.image.values[i];
    labels[i] = truth[i];
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
           "sims_labels: sims_labels.tif}}\n",
           laser_um)
    << "# a SIMS map point p lies at R(rotation_deg) p + shift_um in the laser image\n"
    << fmt::format("sims_to_laser: {{rotation_deg: {}, shift_um: [{}, {}]}}\n", s.rotation_deg,
                   s.shift_x_um, s.shift_y_um);
  if (!y) throw InputError((dir / "truth.yaml").string(), "cannot write");
}

}  // namespace ionmap::diffusion
