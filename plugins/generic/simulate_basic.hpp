// The "basic" sample: a laser-microscope-like groove image of a Voronoi microstructure, its
// true grain labels, and a KPFM-like surface-potential map on a coarser, rotated and shifted
// grid with a tilted background and noise. Deterministic for a given seed; the ground truth
// (grain potentials, background plane, transform) is written to truth.yaml.
#pragma once

#include <cstdint>
#include <filesystem>

namespace ionmap::generic {

struct BasicSampleSpec {
  std::uint64_t seed = 20261122;
  int grains = 40;
  int laser_pixels = 512;  // square image
  double laser_pixel_um = 0.1;
  int kpfm_pixels = 128;
  double kpfm_pixel_um = 0.4;
  double rotation_deg = 2.0;  // KPFM → laser frame
  double shift_x_um = 1.5;
  double shift_y_um = -0.8;
  double noise_mv = 2.0;
  double plane_offset_mv = 20.0;  // background plane at the KPFM map centre
  double plane_gx_mv_per_um = 1.5;
  double plane_gy_mv_per_um = -0.8;
};

// Writes laser.tif, grains.tif, kpfm.csv and truth.yaml into `dir` (created if needed).
void writeBasicSample(const std::filesystem::path& dir, const BasicSampleSpec& spec = {});

}  // namespace ionmap::generic
