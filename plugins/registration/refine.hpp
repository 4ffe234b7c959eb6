// Intensity-based refinement of a transform on an image pyramid, optimised with Ceres
// (L-BFGS on central-difference gradients): normalised cross-correlation for same-modality
// pairs, mutual information for multimodal pairs.
#pragma once

#include <opencv2/core.hpp>

#include "ionmap/core/transform2d.hpp"

namespace ionmap::registration {

enum class Metric { kNcc, kMutualInformation };

struct RefineOptions {
  Metric metric = Metric::kNcc;
  Transform2D::Kind kind = Transform2D::Kind::kSimilarity;
  int levels = 3;           // pyramid levels (each halves the size)
  int max_iterations = 60;  // per level
  int bins = 32;            // mutual information histogram bins
};

struct RefineResult {
  cv::Mat moving_to_fixed;        // 2×3, working-grid pixels
  double ncc = 0;                 // at full resolution over the overlap
  double mutual_information = 0;  // nats
  double overlap = 0;             // fraction of fixed pixels covered by the warped moving image
  int evaluations = 0;
};

// fixed, moving: CV_64F on the same working grid; masks CV_8U (non-zero = valid). `initial`
// maps moving pixels to fixed pixels (2×3).
RefineResult refine(const cv::Mat& fixed, const cv::Mat& fixed_mask, const cv::Mat& moving,
                    const cv::Mat& moving_mask, const cv::Mat& initial,
                    const RefineOptions& options);

// The two metrics over pixels valid in both masks (exposed for reports and tests).
double normalisedCrossCorrelation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask);
double mutualInformation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask, int bins);

}  // namespace ionmap::registration
