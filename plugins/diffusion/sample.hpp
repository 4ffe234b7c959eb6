// The "gb-exchange" sample: 6Li exchange through a polycrystal with grain-boundary resistance,
// measured by ToF-SIMS (imzML + TIFF stack, the tofsims sample physics) over a laser-microscope
// image of the same grains, with the truth (D_bulk, κ, labels on both grids, f).
#pragma once

#include <cstdint>
#include <filesystem>

namespace ionmap::diffusion {

struct GbExchangeSampleSpec {
  std::uint64_t seed = 8;
  int sims_pixels = 48;  // SIMS map, square
  double sims_um = 0.5;  // SIMS pixel size
  int laser_factor = 5;  // laser pixels per SIMS pixel (0.1 µm)
  double grain_um = 6;   // mean equivalent grain diameter
  double D_bulk_cm2_s = 1e-9;
  double kappa_cm_s = 2e-6;  // Bi = κ d / D ≈ 1.2
  double f_s = 0.9, f_bg = 0.0759;
  double time_s = 600;
  int steps = 40;
  // Where the SIMS field lies in the laser image (SIMS → laser: rotate, then shift), and the
  // laser field's size; the total-ion yield drops by `groove_yield_drop` over boundary grooves.
  double rotation_deg = 2.0;
  double shift_x_um = 3.0, shift_y_um = 2.5;
  double laser_field_um = 30;
  double groove_yield_drop = 0.4;
};

// Writes the tofsims files (exchange.imzML/.ibd, counts.tif, truth_f.tif, expected_counts.tif),
// laser.tif and grains.tif (laser grid, a larger field than the SIMS map, which lies rotated and
// shifted in it), sims_labels.tif (the labels the model ran on) and truth.yaml into `dir`.
void writeGbExchangeSample(const std::filesystem::path& dir, const GbExchangeSampleSpec& spec = {});

}  // namespace ionmap::diffusion
