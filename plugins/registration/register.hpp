// Registration of a moving map onto a fixed map, in physical coordinates. Both are first
// resampled onto one working grid (the fixed field at the coarser of the two pixel sizes,
// capped in size), optionally turned into gradient magnitude (so that, e.g., a SIMS count map
// can match the grooves of a laser image), then a coarse estimate (phase correlation or
// Fourier–Mellin) is refined on a pyramid (NCC or mutual information, Ceres).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "ionmap/core/map.hpp"
#include "registration/refine.hpp"

namespace ionmap::registration {

enum class Coarse { kNone, kPhase, kFourierMellin };

// What is matched: the intensities, their gradient magnitude (edges), or dark lines (valleys:
// grooves of a laser image, count dips over boundaries), the Hessian's line response, which
// ignores smooth illumination, per-grain contrast and round specks.
enum class Preprocess { kNone, kGradient, kValleys };

struct RegisterOptions {
  Coarse coarse = Coarse::kFourierMellin;
  bool refine = true;
  RefineOptions refine_options;
  Preprocess preprocess = Preprocess::kNone;
  double smooth_um = 0;          // Gaussian sigma of the preprocessing; 0 = one working pixel
  int max_working_pixels = 512;  // longest side of the working grid

  // The options' one check (preflight and registerMaps): false, with the reason in *error, for
  // settings no pair of maps can be registered with.
  bool IsValid(std::string* error) const;
};

// The found transform checked tile by tile: the overlap (in the moving image's frame) is cut
// into tiles × tiles rectangles (fewer on a small field: tiles of at least 24 px) and each is
// phase-correlated again (the fixed image brought into that frame against the moving image).
// A right transform leaves every tile with a residual shift near zero and a clear peak; a
// wrong one leaves random shifts. The spread of the agreeing tiles' shifts estimates the
// transform's own uncertainty (a bootstrap over tiles).
struct TileCheck {
  int tiles_used = 0;                   // tiles lying inside the overlap
  int tiles_agreeing = 0;               // residual shift within agree_radius_px, with a clear peak
  double agree_radius_px = 0;           // max(agree_px, 10 % of the tile size)
  double agreement = 0;                 // tiles_agreeing / tiles_used (0 when none is used)
  double rms_shift_px = 0;              // RMS residual shift of the agreeing tiles (working pixels)
  double uncertainty_px = 0;            // standard error of the mean translation from the tiles
  std::vector<cv::Vec2d> shifts;        // per used tile: residual dx, dy (working px)
  std::vector<double> sidelobe_ratios;  // per used tile: its peak-to-sidelobe ratio
};

TileCheck checkTiles(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask, int tiles = 3,
                     double agree_px = 1.5);

struct RegisterResult {
  Transform2D moving_to_fixed;  // physical, µm
  double ncc = 0, mutual_information = 0, overlap = 0;
  double coarse_peak = 0;  // phase-correlation peak of the coarse step
  TileCheck tiles;
  int evaluations = 0;
  Grid working;
  // Working-grid images for quicklooks: fixed, moving before (initial transform) and after.
  cv::Mat fixed, moving_before, moving_after, fixed_mask, after_mask;
};

// `initial` maps moving physical coordinates into the fixed frame (identity if unknown).
// Throws ProcessingError for blank images or when the fields do not overlap.
RegisterResult registerMaps(const Map& fixed, const Map& moving, const Transform2D& initial,
                            const RegisterOptions& options);

// Dark-line response of a smoothed CV_64F image: λ1⁺ − λ2⁺ of the Hessian (λ1 ≥ λ2), large
// across valleys, ≈ 0 on flat ground, smooth shading and round dark specks.
cv::Mat valleyResponse(const cv::Mat& smoothed);

// 2×3 cv::Mat ⇄ Transform2D.
Transform2D toTransform(const cv::Mat& m, Transform2D::Kind kind);
cv::Mat toMat(const Transform2D& t);

}  // namespace ionmap::registration
