#include "diffusion/sample.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "diffusion/model.hpp"
#include "grains/synthetic.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
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
  // The model grid divides each SIMS pixel into 5 x 5 cells, each with the grain of the laser
  // pixel under its centre; boundaries carry κ per unit of their true length (staircase
  // correction) and each SIMS pixel sees the mean over its cells. `sims_labels` (the grain
  // covering most of each SIMS pixel) is written for reference. A pixel's relative ion yield
  // drops over the boundary grooves inside it.
  constexpr int kCells = 5;
  Domain d;
  d.labels = Image<std::int32_t>(n * kCells, n * kCells, 0);
  Image<std::int32_t> majority(n, n, 0);
  Image<double> yield(n, n, 1.0);
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      int groove = 0;
      std::map<std::int32_t, int> votes;
      for (int b = 0; b < kCells; ++b) {
        for (int a = 0; a < kCells; ++a) {
          const auto [i, j] = laserPixel((x + (a + 0.5) / kCells) * s.sims_um,
                                         (y + (b + 0.5) / kCells) * s.sims_um);
          groove += onBoundary(i, j);
          ++votes[truth(i, j)];
          d.labels(x * kCells + a, y * kCells + b) = truth(i, j);
        }
      }
      int most = 0;
      for (const auto& [l, count] : votes) {
        if (count > most) majority(x, y) = l, most = count;  // ties: the smaller label
      }
      yield(x, y) = 1 - s.groove_yield_drop * groove / double(kCells * kCells);
    }
  }
  d.h = s.sims_um / kCells;
  correctStaircase(d);
  d.source = Edge::kLeft;
  d.time = s.time_s;
  d.steps = s.steps;
  Physics p;
  p.D_b = s.D_bulk_cm2_s * 1e8;
  p.kappa = s.kappa_cm_s * 1e4;
  p.f_s = s.f_s;
  p.f_bg = s.f_bg;
  const Image<double> cells = simulateGrid(d, p);
  Image<double> f(n, n, 0.0);
  for (int y = 0; y < n * kCells; ++y) {
    for (int x = 0; x < n * kCells; ++x) f(x / kCells, y / kCells) += cells(x, y);
  }
  for (std::size_t i = 0; i < f.size(); ++i) f[i] /= kCells * kCells;

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
  for (std::size_t i = 0; i < sims_labels.size(); ++i) sims_labels[i] = majority[i];
  tiff::write(dir / "laser.tif", {{&laser, "laser intensity"}}, tiff::SampleType::kUInt16, laser_um,
              laser_um);
  tiff::write(dir / "grains.tif", {{&labels, "grain labels"}}, tiff::SampleType::kInt32, laser_um,
              laser_um);
  tiff::write(dir / "sims_labels.tif", {{&sims_labels, "grain labels on the SIMS grid"}},
              tiff::SampleType::kInt32, s.sims_um, s.sims_um);
  std::ofstream y(dir / "truth.yaml", std::ios::app);
  y << "# 6Li exchange through the grains: finite volumes on 5 x 5 cells per SIMS pixel (the "
       "grain of the laser pixel under each cell centre), boundaries as interface permeance "
       "kappa per unit of true length (staircase correction), source f_s on the left edge, "
       "BDF2; each SIMS pixel is the mean over its cells. sims_labels.tif: the grain covering "
       "most of each SIMS pixel\n"
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
