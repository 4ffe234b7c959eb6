// Registration of a moving map onto a fixed map, in physical coordinates. Both are first
// resampled onto one working grid (the fixed field at the coarser of the two pixel sizes,
// capped in size), optionally turned into gradient magnitude (so that, e.g., a SIMS count map
// can match the grooves of a laser image), then a coarse estimate (phase correlation or
// Fourier–Mellin) is refined on a pyramid (NCC or mutual information, Ceres).
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "ionmap/core/map.hpp"
#include "registration/refine.hpp"

namespace ionmap::registration {

enum class Coarse { kNone, kPhase, kFourierMellin };

struct RegisterOptions {
  Coarse coarse = Coarse::kFourierMellin;
  bool refine = true;
  RefineOptions refine_options;
  bool gradient = false;         // match gradient magnitude instead of intensity
  double smooth_um = 0;          // smoothing before the gradient; 0 = one working pixel
  int max_working_pixels = 512;  // longest side of the working grid
};

struct RegisterResult {
  Transform2D moving_to_fixed;  // physical, µm
  double ncc = 0, mutual_information = 0, overlap = 0;
  double coarse_peak = 0;  // phase-correlation peak of the coarse step
  int evaluations = 0;
  Grid working;
  // Working-grid images for quicklooks: fixed, moving before (initial transform) and after.
  cv::Mat fixed, moving_before, moving_after, fixed_mask, after_mask;
};

// `initial` maps moving physical coordinates into the fixed frame (identity if unknown).
// Throws ProcessingError for blank images or when the fields do not overlap.
RegisterResult registerMaps(const Map& fixed, const Map& moving, const Transform2D& initial,
                            const RegisterOptions& options);

// 2×3 cv::Mat ⇄ Transform2D.
Transform2D toTransform(const cv::Mat& m, Transform2D::Kind kind);
cv::Mat toMat(const Transform2D& t);

}  // namespace ionmap::registration
