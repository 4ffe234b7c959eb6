// Descriptive statistics over the valid pixels of a map, whole or per label.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap {

struct Summary {
  std::size_t count = 0;
  double mean = 0, std = 0, sem = 0, min = 0, max = 0, median = 0, p05 = 0, p95 = 0;
};

// Sample statistics (std with n − 1; sem = std/√n). All fields NaN when `values` is empty.
// Percentiles use linear interpolation between order statistics.
Summary summarize(std::vector<double> values);

struct LabelSummary {
  std::int32_t label = 0;
  std::size_t pixels = 0;                 // pixels carrying the label (valid or not)
  double area_um2 = 0;                    // pixels × pixel area
  double centroid_x = 0, centroid_y = 0;  // µm, physical frame
  Summary values;  // over pixels that carry the label and are valid in the map
};

// Statistics of `map` inside each label > 0 of `labels`, in label order. The two must share
// a grid size (resample first); throws ProcessingError otherwise.
std::vector<LabelSummary> summarizeByLabel(const Map& map, const LabelMap& labels);

// Φ⁻¹(p): the standard normal quantile, for p in (0, 1) (bisection on erfc, |error| < 1e-12).
// E.g. 1.959964 for p = 0.975; the χ²(1) quantile at level q is normalQuantile((1 + q)/2)².
double normalQuantile(double p);

}  // namespace ionmap
