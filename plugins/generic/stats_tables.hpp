// The `stats` stage's tables as plain functions: statistics of a map's valid pixels, overall or
// per label.
#pragma once

#include <cstddef>

#include "ionmap/core/map.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::generic {

// One row: valid and invalid pixels, mean, std, sem, median, 5th and 95th percentiles, min, max
// (in the map's unit). `valid` receives the number of valid pixels.
Table overallStatistics(const Map& map, std::size_t* valid = nullptr);

// One row per label: pixels, area, centroid, valid pixels, mean, std, sem, median, min, max.
// A label with fewer than `min_pixels` valid pixels gets NaN statistics; `too_few` receives how
// many did.
Table labelStatistics(const Map& map, const LabelMap& labels, int min_pixels,
                      std::size_t* too_few = nullptr);

}  // namespace ionmap::generic
