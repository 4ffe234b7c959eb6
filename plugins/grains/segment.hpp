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
  // A second image of the same boundaries on the same grid (e.g. the registered ToF-SIMS
  // total-ion image, whose counts dip over boundaries the laser image hides), valid where it
  // was measured; nullptr = none. Its dark-line response at its own resolution
  // (guide_resolution_um) joins the image's where it is valid.
  const Map* guide = nullptr;
  double guide_resolution_um = 0;  // the guide's native pixel size; 0 = its grid's

  // The options' one check (Ceres' Options::IsValid): false, with the reason in *error, for
  // settings no image can be segmented with. The stage's preflight calls it on the options as
  // bound; segmentGrains calls it once on entry. What depends on the image (a grain larger
  // than the field, a groove narrower than half a pixel) is checked there.
  bool IsValid(std::string* error) const;
};

struct Segmentation {
  LabelMap labels;               // 1..n on the sample (boundaries split between grains), 0 off it
  Image<std::uint8_t> boundary;  // 1 on grain pixels whose right or lower neighbour is another
  int merged_small = 0;          // spurious grains merged into a neighbour
  // Share of the image found to lie off the sample (a large area far darker than the sample):
  // label 0 there, and its edge is no grain boundary.
  double off_sample_fraction = 0;
};

// Throws UsageError for options that are not valid, and ProcessingError for uniform images, a
// grain size larger than the field, a groove narrower than half a pixel or a guide on another
// grid.
Segmentation segmentGrains(const Map& image, const SegmentOptions& options);

// How plausible a segmentation is, from the labels alone. Grains of a polycrystal have a
// narrow area distribution (coefficient of variation ~0.2–0.5 for equiaxed grains); grains
// merged across a missed boundary are twice as large or more.
struct SegmentationQuality {
  int grains = 0;
  double expected_grains = 0;      // field area / area of a grain of the expected size
  int interior_grains = 0;         // grains not touching the field's edge
  double median_area_um2 = 0;      // of the interior grains
  double area_cv = 0;              // coefficient of variation of the interior grains' areas
  int large_grains = 0;            // interior grains larger than 2 × the median
  double large_area_fraction = 0;  // their share of the interior grains' area
};
// `region` (same grid, non-zero = inside; nullptr = everywhere): only grains wholly inside it
// count as interior grains, and the expected count is for its area.
SegmentationQuality assessSegmentation(const LabelMap& labels, double grain_size_um,
                                       const Image<std::uint8_t>* region = nullptr);

// One-pixel boundary map of a label image: grain pixels whose right or lower neighbour is
// another grain (label 0, no grain, makes no boundary).
Image<std::uint8_t> boundaryPixels(const LabelMap& labels);

}  // namespace ionmap::grains
