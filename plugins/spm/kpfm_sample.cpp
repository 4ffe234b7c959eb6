#include "spm/kpfm_sample.hpp"

#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "ionmap/io/tiff.hpp"
#include "ionmap/numerics/random.hpp"
#include "spm/gwy_writer.hpp"

namespace ionmap::spm {

void writeKpfmCrossSection(const std::filesystem::path& dir, const KpfmCrossSectionSpec& s) {
  std::filesystem::create_directories(dir);
  SplitMix64 rng(s.seed);
  Grid g;
  g.width = s.width, g.height = s.height, g.pixel_x = g.pixel_y = s.pixel_um;
  Map potential("Potential", g, "V"), height("Height", g, "m");
  // Each pixel: the mean over 8 sub-samples across x of the tip-blurred step (a Gaussian tip of
  // sigma on a sharp step is an erf), on the ohmic slope.
  constexpr int kSub = 8;
  std::vector<double> column(s.width), topo(s.width);
  for (int x = 0; x < s.width; ++x) {
    double v = 0, t = 0;
    for (int k = 0; k < kSub; ++k) {
      const double at = (x + (k + 0.5) / kSub) * s.pixel_um;
      const double step = 0.5 * std::erfc(-(at - s.interface_um) / (s.tip_sigma_um * M_SQRT2));
      v += s.V0 + s.slope * at + s.dV * step;
      t += s.step_height_nm * 1e-9 * step;
    }
    column[x] = v / kSub, topo[x] = t / kSub;
  }
  std::vector<double> rows(s.height);
  for (int y = 0; y < s.height; ++y)
    rows[y] = s.tilt_V_per_um * (y + 0.5) * s.pixel_um + s.row_offset_sd * rng.gauss();
  const int scars[2] = {s.height / 3, (2 * s.height) / 3 + 1};
  for (int y : scars) rows[y] += 0.1;
  for (int y = 0; y < s.height; ++y) {
    for (int x = 0; x < s.width; ++x) {
      potential.values(x, y) = column[x] + rows[y] + s.noise_sd * rng.gauss();
      height.values(x, y) = topo[x] + 0.3e-9 * rng.gauss();
    }
  }
  potential.metadata.emplace_back("Mode", "KPFM (simulated by ionmap)");
  writeGwy(dir / "cross_section.gwy", {height, potential});
  tiff::write(dir / "cross_section.tif", {{&potential.values, "Potential"}},
              tiff::SampleType::kFloat32, s.pixel_um, s.pixel_um);
  std::ofstream t(dir / "truth.yaml");
  t << fmt::format(
      "# kpfm-cross-section sample (ionmap simulate kpfm-cross-section): one interface\n"
      "seed: {}\npixels: [{}, {}]\npixel_um: {}\ninterface_um: {}\ndV_V: {}\nV0_V: {}\n"
      "slope_V_per_um: {}\ntip_sigma_um: {}\n"
      "# the blurred-step model's width: tip and pixel together, sqrt(sigma^2 + pixel^2/12)\n"
      "width_um: {:.6f}\ntilt_V_per_um_along_y: {}\nrow_offset_sd_V: {}\nscar_rows: [{}, {}]\n"
      "scar_V: 0.1\nnoise_sd_V: {}\nstep_height_nm: {}\n",
      s.seed, s.width, s.height, s.pixel_um, s.interface_um, s.dV, s.V0, s.slope, s.tip_sigma_um,
      std::sqrt(s.tip_sigma_um * s.tip_sigma_um + s.pixel_um * s.pixel_um / 12), s.tilt_V_per_um,
      s.row_offset_sd, scars[0], scars[1], s.noise_sd, s.step_height_nm);
}

}  // namespace ionmap::spm
