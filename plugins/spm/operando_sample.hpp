// The "kpfm-operando" sample: KPFM frames of a composite electrode at five states of charge,
// each drifted by a known sub-pixel shift; the particles are active material (60 %) or
// electrolyte, and four in five active particles change their potential with SOC and lose
// lithium (in-situ ToF-SIMS maps of the same states, on the first frame's grid); the particle
// labels, the phase map and the truth.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace ionmap::spm {

struct KpfmOperandoSpec {
  std::uint64_t seed = 5;
  int pixels = 128;
  double pixel_um = 0.1;
  double particle_um = 2.0;
  std::vector<double> soc = {0, 25, 50, 75, 100};  // %
  double noise_V = 0.01;
  double max_drift_px = 2.5;
  double lithium_counts = 400;  // mean counts per pixel in the first state
};

struct KpfmOperandoTruth {
  std::vector<int> labels;                     // particles
  std::vector<bool> responding;                // per particle
  std::vector<int> phase;                      // per particle: 1 electrolyte, 2 active
  std::vector<double> change_V;                // potential change first → last state
  std::vector<double> drift_x_um, drift_y_um;  // per frame (frame 0: 0)
};

KpfmOperandoTruth writeKpfmOperando(const std::filesystem::path& dir,
                                    const KpfmOperandoSpec& spec = {});

}  // namespace ionmap::spm
