// What the grain stages report, as plain functions: the notes and warnings on a segmentation's
// plausibility, the ASTM E112 table and the grain-size histogram.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "grains/segment.hpp"
#include "grains/statistics.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::grains {

// Where a guide map holds valid values (the field a segmentation is judged in when guided).
Image<std::uint8_t> guideField(const Map& guide);

// Notes on a segmentation and its quality (grain counts, areas, merged small grains).
std::vector<std::pair<std::string, std::string>> segmentationNotes(const Segmentation& s,
                                                                   const SegmentationQuality& q);

// Warnings when the grain count is far from what grain_size suggests (×0.67–1.5), or when large
// grains (> 2× the median area) hold more than 10 % of the area (probably merged).
std::vector<std::string> segmentationWarnings(const SegmentationQuality& q, double grain_size_um,
                                              bool guided);

// The ASTM E112 grain size numbers, planimetric and by mean lineal intercept.
Table astmTable(const GrainStatistics& s);

// A PNG of the distribution of equivalent diameters in `bins` bins.
void writeGrainSizeHistogram(const GrainStatistics& s, int bins, const std::filesystem::path& png);

}  // namespace ionmap::grains
