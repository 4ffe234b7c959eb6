// Landmark registration: the transform (translation, rigid, similarity or affine) that maps
// moving control points onto fixed ones in the least-squares sense, with per-point residuals
// and an outlier flag.
#pragma once

#include <filesystem>
#include <vector>

#include "ionmap/core/transform2d.hpp"

namespace ionmap::registration {

struct LandmarkFit {
  Transform2D moving_to_fixed;
  std::vector<double> residual;  // µm, |T(moving_i) − fixed_i|
  std::vector<bool> outlier;     // residual > max(3 × 1.4826 × MAD, 1e-9) (with ≥ 4 points)
  double rms = 0;                // µm
  // The transform's RMS position error over the marks (µm): σ̂ √(p / n), with σ̂² the residual
  // sum of squares over its 2n − p degrees of freedom; NaN when the marks fix it exactly.
  double uncertainty = 0;
  int dof = 0;  // 2n − p
  // A 95 % bound on that error: σ̂ is estimated from dof residuals, so the ratio of the true
  // error to it follows Student's t(dof): t₀.₉₇₅(dof) · uncertainty (2.57 × for 4 marks, rigid).
  double uncertainty95 = 0;
};

// Throws UsageError when there are fewer points than the family needs (translation 1,
// rigid/similarity 2, affine 3), the lists differ in length, or the points are collinear
// (affine) or coincide (rigid/similarity).
LandmarkFit fitLandmarks(const std::vector<Point2>& fixed, const std::vector<Point2>& moving,
                         Transform2D::Kind kind);

// Control points from a CSV file whose header names fixed_x, fixed_y, moving_x, moving_y (µm),
// in any column order ('#' lines and blank lines skipped); appends them to `fixed`, `moving`.
// Throws InputError naming the file, line and column for a missing column or a bad number.
void readLandmarkCsv(const std::filesystem::path& file, std::vector<Point2>& fixed,
                     std::vector<Point2>& moving);

}  // namespace ionmap::registration
