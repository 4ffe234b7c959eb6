#include "registration/drift.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opencv2/imgproc.hpp>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/resample.hpp"
#include "registration/phase_correlation.hpp"

namespace ionmap::registration {

namespace {
// The frame standardised over its valid pixels (invalid ones at the mean) and smoothed by a
// Gaussian of σ = 1 pixel: what is correlated. Phase correlation whitens the spectrum, so that
// the noise of the highest frequencies would weigh as much as the image; on noisy frames (KPFM
// with tens of mV of noise) its peak then moved by up to half a pixel. Smoothing both frames
// alike moves nothing and takes the noise out.
cv::Mat standardised(const Map& m) {
  cv::Mat v = cvb::view(m.values).clone();
  cv::Scalar mean, sd;
  cv::meanStdDev(v, mean, sd, cvb::view(m.mask));
  v.setTo(mean[0], cvb::view(m.mask) == 0);
  cv::Mat s = (v - mean[0]) / std::max(sd[0], 1e-300);
  cv::GaussianBlur(s, s, {0, 0}, 1.0, 1.0, cv::BORDER_REFLECT);
  return s;
}
}  // namespace

DriftCorrection correctDrift(const std::vector<Map>& frames, Combine combine,
                             const std::string& file, bool keep_aligned) {
  if (frames.size() < 2) throw InputError(file, "a drift series needs at least 2 frames (pages)");
  const Map& first = frames.front();
  if (!first.grid.calibrated)
    throw ProcessingError("'" + file + "' has no pixel size; set `pixel_size`");
  DriftCorrection out;
  out.combined = Map(first.name + (combine == Combine::kMean ? " (drift-corrected mean)"
                                                             : " (drift-corrected sum)"),
                     first.grid, first.unit);
  std::vector<int> count(out.combined.values.size(), 0);
  const cv::Mat ref = standardised(first);
  for (std::size_t k = 0; k < frames.size(); ++k) {
    const Map& f = frames[k];
    if (!f.values.sameSize(first.values)) {
      throw InputError(file, fmt::format("frame {} is {} x {}, frame 0 is {} x {}", k, f.width(),
                                         f.height(), first.width(), first.height()));
    }
    const PhaseCorrelation pc =
        k == 0 ? PhaseCorrelation{0, 0, 1} : phaseCorrelate(ref, standardised(f), true);
    const FrameShift s{pc.dx * first.grid.pixel_x, pc.dy * first.grid.pixel_y, pc.peak};
    out.shifts.push_back(s);
    Map g = f;
    g.grid = first.grid;
    const Map aligned =
        resampleMap(g, first.grid, Transform2D::translation(-s.dx, -s.dy), Interpolation::kLinear);
    for (std::size_t i = 0; i < aligned.values.size(); ++i) {
      if (aligned.mask[i]) out.combined.values[i] += aligned.values[i], ++count[i];
    }
    if (keep_aligned) out.aligned.push_back(aligned);
  }
  for (std::size_t i = 0; i < count.size(); ++i) {
    const bool all = count[i] == static_cast<int>(frames.size());
    out.combined.mask[i] = all;
    if (combine == Combine::kMean && count[i]) out.combined.values[i] /= count[i];
    if (!all) out.combined.values[i] = NAN;
  }
  return out;
}

}  // namespace ionmap::registration
