// Grain and boundary statistics of a label map: per-grain geometry, the grain adjacency graph
// with shared boundary lengths, and the ASTM E112 grain size number (planimetric/Jeffries and
// mean lineal intercept), plus the boundary F1 score used to check segmentations.
#pragma once

#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::grains {

struct GrainRecord {
  int label = 0;
  std::size_t pixels = 0;
  double area_um2 = 0, equivalent_diameter_um = 0;
  double centroid_x_um = 0, centroid_y_um = 0;
  double perimeter_um = 0;  // pixel edges against other labels or the field edge
  double aspect_ratio = 1;  // major/minor axis of the equal-moment ellipse
  bool touches_border = false;
};

struct BoundaryRecord {
  int a = 0, b = 0;      // labels, a < b
  double length_um = 0;  // shared pixel edges × edge length
};

struct Astm {
  double planimetric_G = 0;   // G = 3.321928 log10(N_A) − 2.954, N_A per mm² at 1×
  double grains_per_mm2 = 0;  // Jeffries: inside + half of those cut by the field edge
  double intercept_G = 0;     // G = −6.643856 log10(l̄ [mm]) − 3.288
  double mean_intercept_um = 0;
};

struct GrainStatistics {
  std::vector<GrainRecord> grains;
  std::vector<BoundaryRecord> boundaries;
  Astm astm;
};

// Labels ≤ 0 are ignored (no grain). Throws ProcessingError when there is no grain.
GrainStatistics grainStatistics(const LabelMap& labels);

Table grainTable(const GrainStatistics& s);
Table boundaryTable(const GrainStatistics& s);

// Boundary F1 at a tolerance: precision = predicted boundary pixels within `tolerance_px` of a
// true one, recall = true boundary pixels within tolerance of a predicted one.
struct BoundaryScore {
  double precision = 0, recall = 0, f1 = 0;
};
BoundaryScore boundaryF1(const Image<std::uint8_t>& predicted, const Image<std::uint8_t>& truth,
                         double tolerance_px);

}  // namespace ionmap::grains
