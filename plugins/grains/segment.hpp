// Grain segmentation from images whose grain boundaries are dark grooves (laser microscope,
// thermally etched SEM) or steps of a mapped quantity (isotope fraction, current): background
// flattening, multi-scale Hessian ridge enhancement, Otsu threshold, gap closing, watershed
// from distance-transform markers, and merging of spurious small grains. Parameters are in µm.
#pragma once

#include "ionmap/core/map.hpp"

namespace ionmap::grains {

enum class BoundaryContrast {
  kDarkGrooves,  // boundaries are darker lines (valleys)
  kBrightLines,  // boundaries are brighter lines (ridges)
  kSteps,        // boundaries are steps between regions of different value
};

struct SegmentOptions {
  BoundaryContrast contrast = BoundaryContrast::kDarkGrooves;
  double grain_size_um = 5.0;       // expected (equivalent) grain diameter
  double groove_width_um = 0.3;     // apparent width of a boundary
  double min_grain_fraction = 0.1;  // grains smaller than this × expected area are merged
};

struct Segmentation {
  LabelMap labels;               // 1..n, every pixel assigned (boundaries split between grains)
  Image<std::uint8_t> boundary;  // 1 on pixels whose right or lower neighbour differs
  int merged_small = 0;          // spurious grains merged into a neighbour
};

// Throws ProcessingError for uniform images and UsageError for a grain size larger than the
// field or a groove narrower than a pixel.
Segmentation segmentGrains(const Map& image, const SegmentOptions& options);

// One-pixel boundary map of a label image: pixels whose right or lower neighbour differs.
Image<std::uint8_t> boundaryPixels(const LabelMap& labels);

}  // namespace ionmap::grains
