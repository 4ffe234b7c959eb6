// The "kpfm-cross-section" sample: a cross-sectional KPFM scan across one interface of a
// solid-state cell — Height and Potential channels in a Gwyddion .gwy file (and the potential
// as a float32 TIFF), with the instrument's artefacts (tip blur, slow-scan tilt, row offsets,
// two scars, noise) and the truth in truth.yaml.
#pragma once

#include <cstdint>
#include <filesystem>

namespace ionmap::spm {

struct KpfmCrossSectionSpec {
  std::uint64_t seed = 3;
  int width = 160, height = 64;
  double pixel_um = 0.05;
  double interface_um = 3.5;  // x of the interface
  double dV = 0.35;           // V, potential step at the interface
  double V0 = -0.1;           // V at x = 0
  double slope = 0.02;        // V/um, ohmic drop through the electrolyte
  double tip_sigma_um = 0.08;
  double tilt_V_per_um = 0.05;  // along y (slow scan)
  double row_offset_sd = 0.01;  // V
  double noise_sd = 0.01;       // V
  double step_height_nm = 20;   // topography step at the interface
};

void writeKpfmCrossSection(const std::filesystem::path& dir, const KpfmCrossSectionSpec& spec = {});

}  // namespace ionmap::spm
