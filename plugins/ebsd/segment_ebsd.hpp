// Grains from EBSD: flood fill over neighbouring points of one phase whose misorientation
// (with the phase's crystal symmetry) is below a threshold. Unindexed points and points below
// a quality threshold belong to no grain (label 0).
#pragma once

#include "ebsd/ebsd_data.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::ebsd {

struct GrainOrientation {
  int label = 0, phase = 0;
  std::size_t pixels = 0;
  Quat mean;  // symmetry-aligned average of the grain's orientations
};

struct EbsdSegmentation {
  LabelMap labels;
  std::vector<GrainOrientation> grains;  // index = label − 1
  std::size_t excluded_points = 0;       // unindexed, below min_quality, or in grains < min_pixels
  std::size_t small_grains_removed = 0;
};

EbsdSegmentation segmentEbsd(const EbsdData& data, double threshold_deg, double min_quality,
                             int min_pixels);

// Grain table (label, phase, pixels, area, mean Bunge Euler angles in degrees) and boundary
// table (touching grain pairs, shared length in um, misorientation of the mean orientations).
Table ebsdGrainTable(const EbsdSegmentation& s, const EbsdData& data);
Table ebsdBoundaryTable(const EbsdSegmentation& s, const EbsdData& data);

}  // namespace ionmap::ebsd
