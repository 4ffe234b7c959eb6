// FFT phase correlation (translation, sub-pixel) and Fourier–Mellin (rotation and scale from
// log-polar magnitude spectra), on same-size CV_64F images.
#pragma once

#include <opencv2/core.hpp>

namespace ionmap::registration {

struct PhaseCorrelation {
  double dx = 0, dy = 0;  // b ≈ a shifted by (dx, dy): b(p) = a(p − d)
  double peak = 0;        // height of the normalised correlation peak (0..1; noise ≈ 1/sqrt(N))
  // (peak − mean) / standard deviation of the rest of the correlation surface (a disc
  // around the peak left out): how clearly the peak stands out; ~4–5 for unrelated images.
  double sidelobe_ratio = 0;
};

// Hann-windowed (when `window`) phase correlation with a parabolic sub-pixel peak. With
// `whiten` false it is a plain cross-correlation (peak normalised by the energies), which
// suits smooth signals such as log-polar spectra better.
PhaseCorrelation phaseCorrelate(const cv::Mat& a, const cv::Mat& b, bool window = true,
                                bool whiten = true);

// Similarity in pixel coordinates mapping b's pixels onto a's: p_a = M · p_b (2×3, CV_64F).
struct SimilarityEstimate {
  cv::Mat b_to_a;
  double rotation_rad = 0;  // of b relative to a
  double scale = 1;         // of b's content relative to a's
  double peak = 0;          // translation phase-correlation peak of the chosen candidate
};

// Fourier–Mellin: rotation and scale from phase correlation of log-polar, high-pass
// filtered magnitude spectra, then translation by phase correlation. The 180° ambiguity of
// magnitude spectra (and the orientation of the scale axis) is settled by trying every
// candidate and keeping the one with the strongest translation peak.
SimilarityEstimate fourierMellin(const cv::Mat& a, const cv::Mat& b);

}  // namespace ionmap::registration
