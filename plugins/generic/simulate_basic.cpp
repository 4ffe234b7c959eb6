#include "generic/simulate_basic.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/transform2d.hpp"
#include "ionmap/io/tiff.hpp"
#include "ionmap/numerics/random.hpp"

namespace ionmap::generic {
namespace {

using Rng = SplitMix64;

struct Seeds {
  std::vector<Point2> p;
  // Index of the nearest seed and the distance to the nearest bisector (boundary).
  int nearest(Point2 q, double* boundary_distance = nullptr) const {
    int best = 0, second = -1;
    double d1 = std::numeric_limits<double>::max(), d2 = d1;
    for (int i = 0; i < static_cast<int>(p.size()); ++i) {
      const double d = (p[i].x - q.x) * (p[i].x - q.x) + (p[i].y - q.y) * (p[i].y - q.y);
      if (d < d1) {
        d2 = d1, second = best;
        d1 = d, best = i;
      } else if (d < d2) {
        d2 = d, second = i;
      }
    }
    if (boundary_distance && second >= 0) {
      // Distance from q to the bisector of seeds best and second.
      const double dx = p[second].x - p[best].x, dy = p[second].y - p[best].y;
      *boundary_distance = (d2 - d1) / (2.0 * std::sqrt(dx * dx + dy * dy));
    }
    return best;
  }
};

}  // namespace

void writeBasicSample(const std::filesystem::path& dir, const BasicSampleSpec& s) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir.string(), "cannot create folder: " + ec.message());
  Rng rng(s.seed);
  const double field = s.laser_pixels * s.laser_pixel_um;

  // Grain seeds with a minimum spacing, so grains are a few µm across.
  Seeds seeds;
  const double min_gap = 0.6 * field / std::sqrt(static_cast<double>(s.grains));
  for (int tries = 0; static_cast<int>(seeds.p.size()) < s.grains && tries < 100000; ++tries) {
    Point2 c{rng.uniform() * field, rng.uniform() * field};
    bool ok = true;
    for (const auto& q : seeds.p) ok = ok && std::hypot(c.x - q.x, c.y - q.y) >= min_gap;
    if (ok) seeds.p.push_back(c);
  }
  const int n = static_cast<int>(seeds.p.size());
  std::vector<double> brightness(n), potential(n);
  for (int i = 0; i < n; ++i) {
    brightness[i] = 22000 + 8000 * rng.uniform();
    potential[i] = -40.0 + 100.0 * rng.uniform();  // mV
  }

  // Laser image: per-grain brightness, dark grooves at boundaries, shading, noise.
  const int L = s.laser_pixels;
  Image<double> laser(L, L), labels(L, L);
  const double groove_um = 0.15;
  for (int y = 0; y < L; ++y) {
    for (int x = 0; x < L; ++x) {
      const Point2 q{(x + 0.5) * s.laser_pixel_um, (y + 0.5) * s.laser_pixel_um};
      double bd = 1e9;
      const int g = seeds.nearest(q, &bd);
      labels(x, y) = g + 1;
      const double shading = 1.0 - 0.15 * ((q.x + 0.5 * q.y) / (1.5 * field));
      const double groove = 1.0 - 0.7 * std::exp(-(bd * bd) / (groove_um * groove_um));
      laser(x, y) =
          std::clamp(brightness[g] * shading * groove + 400.0 * rng.gauss(), 0.0, 65535.0);
    }
  }
  tiff::write(dir / "laser.tif", {{&laser, "laser intensity"}}, tiff::SampleType::kUInt16,
              s.laser_pixel_um, s.laser_pixel_um);
  tiff::write(dir / "grains.tif", {{&labels, "grain labels"}}, tiff::SampleType::kUInt16,
              s.laser_pixel_um, s.laser_pixel_um);

  // KPFM map on its own grid; T maps KPFM physical coordinates into the laser frame.
  const Transform2D t =
      Transform2D::rigid(s.rotation_deg * M_PI / 180.0, s.shift_x_um, s.shift_y_um);
  const int K = s.kpfm_pixels;
  const double kc = 0.5 * K * s.kpfm_pixel_um;
  std::ofstream csv(dir / "kpfm.csv");
  constexpr int kSub = 4;  // finite tip: average of 4 x 4 points per pixel
  for (int y = 0; y < K; ++y) {
    for (int x = 0; x < K; ++x) {
      double v = 0;
      for (int j = 0; j < kSub; ++j) {
        for (int i = 0; i < kSub; ++i) {
          const Point2 pk{(x + (i + 0.5) / kSub) * s.kpfm_pixel_um,
                          (y + (j + 0.5) / kSub) * s.kpfm_pixel_um};
          v += potential[seeds.nearest(t.apply(pk))];
        }
      }
      v /= kSub * kSub;
      const double u = (x + 0.5) * s.kpfm_pixel_um - kc, w = (y + 0.5) * s.kpfm_pixel_um - kc;
      v += s.plane_offset_mv + s.plane_gx_mv_per_um * u + s.plane_gy_mv_per_um * w;
      v += s.noise_mv * rng.gauss();
      csv << (x ? "," : "") << fmt::format("{:.4f}", v);
    }
    csv << '\n';
  }
  if (!csv) throw InputError((dir / "kpfm.csv").string(), "cannot write");

  std::ofstream truth(dir / "truth.yaml");
  truth << "# Ground truth of the basic sample, written by `ionmap simulate basic`.\n"
        << fmt::format("seed: {}\n", s.seed)
        << fmt::format("laser: {{file: laser.tif, pixels: {}, pixel_size_um: {}}}\n", L,
                       s.laser_pixel_um)
        << fmt::format("grains: {{file: grains.tif, count: {}}}\n", n)
        << fmt::format(
               "kpfm: {{file: kpfm.csv, pixels: {}, pixel_size_um: {}, unit: mV, noise_sigma_mV: "
               "{}}}\n",
               K, s.kpfm_pixel_um, s.noise_mv)
        << "# KPFM physical frame -> laser physical frame: x_laser = R(rotation) x_kpfm + "
           "translation\n"
        << fmt::format("kpfm_to_laser: {{rotation_deg: {}, translation_um: [{}, {}]}}\n",
                       s.rotation_deg, s.shift_x_um, s.shift_y_um)
        << "# background added to the KPFM map: offset + gx*u + gy*v, u, v in um from the map "
           "centre\n"
        << fmt::format("background_plane: {{offset_mV: {}, gx_mV_per_um: {}, gy_mV_per_um: {}}}\n",
                       s.plane_offset_mv, s.plane_gx_mv_per_um, s.plane_gy_mv_per_um)
        << "grain_potential_mV:  # label: surface potential\n";
  for (int i = 0; i < n; ++i) truth << fmt::format("  {}: {:.6f}\n", i + 1, potential[i]);
  truth << "grain_seed_um:  # label: [x, y] Voronoi seed in the laser frame\n";
  for (int i = 0; i < n; ++i) {
    truth << fmt::format("  {}: [{:.6f}, {:.6f}]\n", i + 1, seeds.p[i].x, seeds.p[i].y);
  }
  if (!truth) throw InputError((dir / "truth.yaml").string(), "cannot write");
}

}  // namespace ionmap::generic
