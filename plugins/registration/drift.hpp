// Drift correction of a series of frames (e.g. the scans of one ToF-SIMS or SPM acquisition):
// every frame is aligned onto the first by sub-pixel phase correlation of the standardised
// images and resampled onto its grid; the aligned frames are combined where all of them are
// valid.
#pragma once

#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap::registration {

enum class Combine { kMean, kSum };

struct FrameShift {
  double dx = 0, dy = 0;  // µm, of the frame against frame 0
  double peak = 1;        // phase-correlation peak (1 for frame 0; < 0.05: a weak match)
};

struct DriftCorrection {
  std::vector<FrameShift> shifts;  // one per frame
  Map combined;                    // valid where every aligned frame is
  std::vector<Map> aligned;        // every frame on frame 0's grid (when asked for)
};

// Throws InputError(file, ...) when fewer than 2 frames are given or they differ in size,
// ProcessingError when frame 0 has no pixel size. `file` names the series in messages.
DriftCorrection correctDrift(const std::vector<Map>& frames, Combine combine,
                             const std::string& file, bool keep_aligned = false);

}  // namespace ionmap::registration
