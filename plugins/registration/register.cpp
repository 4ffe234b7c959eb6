#include "registration/register.hpp"

#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/resample.hpp"
#include "registration/phase_correlation.hpp"

namespace ionmap::registration {

Transform2D toTransform(const cv::Mat& m, Transform2D::Kind kind) {
  return Transform2D::fromMatrix({m.at<double>(0, 0), m.at<double>(0, 1), m.at<double>(0, 2),
                                  m.at<double>(1, 0), m.at<double>(1, 1), m.at<double>(1, 2)},
                                 kind);
}

cv::Mat toMat(const Transform2D& t) {
  const auto& a = t.matrix();
  return (cv::Mat_<double>(2, 3) << a[0], a[1], a[2], a[3], a[4], a[5]);
}

namespace {

struct Raster {
  cv::Mat values;  // CV_64F, invalid filled with the valid mean
  cv::Mat mask;    // CV_8U 255 = valid
};

}  // namespace

cv::Mat valleyResponse(const cv::Mat& smoothed) {
  cv::Mat dxx, dyy, dxy;
  cv::Sobel(smoothed, dxx, CV_64F, 2, 0);
  cv::Sobel(smoothed, dyy, CV_64F, 0, 2);
  cv::Sobel(smoothed, dxy, CV_64F, 1, 1);
  cv::Mat out(smoothed.size(), CV_64F);
  for (int y = 0; y < out.rows; ++y) {
    const double *a = dxx.ptr<double>(y), *b = dyy.ptr<double>(y), *c = dxy.ptr<double>(y);
    double* o = out.ptr<double>(y);
    for (int x = 0; x < out.cols; ++x) {
      const double mean = 0.5 * (a[x] + b[x]);
      const double half = 0.5 * (a[x] - b[x]);
      const double r = std::sqrt(half * half + c[x] * c[x]);  // (std::hypot is far slower)
      // λ1 ≥ λ2: a dark line has λ1 > 0 across it and λ2 ≈ 0 along it; a round dark speck
      // has λ1 ≈ λ2 > 0 and gives ≈ 0.
      o[x] = std::max(mean + r, 0.0) - std::max(mean - r, 0.0);
    }
  }
  return out;
}

namespace {

// The map on the working grid: anti-aliased, resampled, holes filled, optionally gradient
// magnitude or dark-line response, normalised to zero mean and unit variance.
Raster toWorking(const Map& map, const Grid& work, const Transform2D& to_fixed,
                 const RegisterOptions& o, const std::string& role) {
  map.checkConsistent();
  Map src = map;
  // Fill invalid pixels with the mean of the valid ones before any filtering.
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < src.values.size(); ++i) {
    if (src.mask[i] && std::isfinite(src.values[i])) sum += src.values[i], ++n;
  }
  if (n == 0)
    throw ProcessingError(fmt::format("the {} map '{}' has no valid pixel", role, map.name));
  for (std::size_t i = 0; i < src.values.size(); ++i) {
    if (!src.mask[i] || !std::isfinite(src.values[i])) src.values[i] = sum / n;
  }
  // Anti-aliasing when the working grid is coarser than the map.
  const double scale = std::sqrt(std::abs(to_fixed.determinant()));
  const double ratio = work.pixel_x / (map.grid.pixel_x * scale);
  if (ratio > 1.2) {
    cv::Mat v = cvb::view(src.values);
    cv::GaussianBlur(v, v, cv::Size(), 0.5 * ratio);
  }
  const Map r = resampleMap(src, work, to_fixed, Interpolation::kLinear);
  Raster out;
  out.values = cvb::view(r.values).clone();
  out.mask = cvb::view(r.mask).clone() * 255;
  const int valid = cv::countNonZero(out.mask);
  if (valid == 0) {
    throw ProcessingError(
        fmt::format("the {} map '{}' does not overlap the fixed field under the initial transform",
                    role, map.name));
  }
  const double mean = cv::mean(out.values, out.mask)[0];
  out.values.setTo(mean, out.mask == 0);
  if (o.preprocess != Preprocess::kNone) {
    const double sigma = o.smooth_um > 0 ? o.smooth_um / work.pixel_x : 1.0;
    cv::Mat s;
    cv::GaussianBlur(out.values, s, cv::Size(), sigma);
    if (o.preprocess == Preprocess::kGradient) {
      cv::Mat gx, gy;
      cv::Sobel(s, gx, CV_64F, 1, 0);
      cv::Sobel(s, gy, CV_64F, 0, 1);
      cv::magnitude(gx, gy, out.values);
    } else {
      out.values = valleyResponse(s);
    }
    // Edges of the valid region are not image content.
    cv::erode(out.mask, out.mask, cv::Mat(), cv::Point(-1, -1),
              static_cast<int>(std::ceil(2 * sigma)) + 1);
  }
  cv::Scalar m, sd;
  cv::meanStdDev(out.values, m, sd, out.mask);
  if (!(sd[0] > 1e-12 * (std::abs(m[0]) + 1e-300))) {
    throw ProcessingError(
        fmt::format("the {} map '{}' is uniform (blank) where it overlaps: nothing to register",
                    role, map.name));
  }
  out.values = (out.values - m[0]) / sd[0];
  out.values.setTo(0.0, out.mask == 0);
  return out;
}

// The coarse estimate restricted to the family being fitted, keeping where the working-grid
// centre goes: a rigid fit cannot undo a (small, spurious) scale from Fourier–Mellin, and a
// translation fit no rotation.
cv::Mat projectToFamily(const cv::Mat& m, Transform2D::Kind kind, cv::Point2d c) {
  if (kind == Transform2D::Kind::kSimilarity || kind == Transform2D::Kind::kAffine)
    return m.clone();
  const double a = m.at<double>(0, 0), b = m.at<double>(0, 1), cc = m.at<double>(1, 0),
               d = m.at<double>(1, 1);
  const cv::Point2d mc(a * c.x + b * c.y + m.at<double>(0, 2),
                       cc * c.x + d * c.y + m.at<double>(1, 2));
  double r00 = 1, r01 = 0, r10 = 0, r11 = 1;
  if (kind == Transform2D::Kind::kRigid) {
    const double angle = std::atan2(cc - b, a + d);  // rotation of the closest rotation matrix
    r00 = r11 = std::cos(angle);
    r10 = std::sin(angle);
    r01 = -r10;
  }
  return (cv::Mat_<double>(2, 3) << r00, r01, mc.x - (r00 * c.x + r01 * c.y), r10, r11,
          mc.y - (r10 * c.x + r11 * c.y));
}

}  // namespace

// Tiles are matched by phase correlation (whitened) and a tile's peak must stand out of its
// correlation surface by this peak-to-sidelobe ratio (unrelated images: ~4-5).
constexpr double kTileMinSidelobeRatio = 6.0;

TileCheck checkTiles(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask, int tiles,
                     double agree_px) {
  TileCheck t;
  const cv::Rect box = cv::boundingRect(mask);
  // Tiles of at least 24 px a side (fewer tiles on a small field), and none under 16.
  while (tiles > 2 && std::min(box.width, box.height) / tiles < 24) --tiles;
  const int w = box.width / tiles, h = box.height / tiles;
  if (w < 16 || h < 16) return t;
  // Smooth or multimodal content (a KPFM potential against laser grooves) leaves a right
  // tile a pixel or two off; a wrong transform leaves it anywhere in the tile.
  const double radius = std::max(agree_px, 0.1 * std::min(w, h));
  t.agree_radius_px = radius;
  double sx = 0, sy = 0, sxx = 0, syy = 0;
  for (int j = 0; j < tiles; ++j) {
    for (int i = 0; i < tiles; ++i) {
      const cv::Rect r(box.x + i * w, box.y + j * h, w, h);
      // Only tiles inside the overlap: masked borders shared by both images would correlate
      // at zero shift whatever the transform.
      if (cv::countNonZero(mask(r)) < 0.9 * r.area()) continue;
      const PhaseCorrelation pc = phaseCorrelate(a(r).clone(), b(r).clone(), true);
      ++t.tiles_used;
      t.shifts.emplace_back(pc.dx, pc.dy);
      t.sidelobe_ratios.push_back(pc.sidelobe_ratio);
      const bool clear = pc.sidelobe_ratio > kTileMinSidelobeRatio;
      if (clear && std::hypot(pc.dx, pc.dy) <= radius) {
        ++t.tiles_agreeing;
        sx += pc.dx, sy += pc.dy, sxx += pc.dx * pc.dx, syy += pc.dy * pc.dy;
      }
    }
  }
  if (t.tiles_used) t.agreement = static_cast<double>(t.tiles_agreeing) / t.tiles_used;
  if (t.tiles_agreeing) {
    const double n = t.tiles_agreeing;
    t.rms_shift_px = std::sqrt((sxx + syy) / n);
    if (n > 1) {
      const double vx = std::max(0.0, (sxx - sx * sx / n) / (n - 1));
      const double vy = std::max(0.0, (syy - sy * sy / n) / (n - 1));
      t.uncertainty_px = std::sqrt((vx + vy) / n);
    }
  }
  return t;
}

bool RegisterOptions::IsValid(std::string* error) const {
  const RefineOptions& r = refine_options;
  std::string why;
  if (max_working_pixels < 16) why = "the working grid needs at least 16 pixels a side";
  if (!(smooth_um >= 0)) why = "the smoothing sigma must be >= 0 um";
  if (r.levels < 1 || r.levels > 10) why = "the refinement needs 1 to 10 pyramid levels";
  if (r.max_iterations < 1) why = "the refinement needs at least one iteration per level";
  if (r.bins < 2) why = "mutual information needs at least 2 histogram bins";
  if (error) *error = why;
  return why.empty();
}

RegisterResult registerMaps(const Map& fixed, const Map& moving, const Transform2D& initial,
                            const RegisterOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("registration options: " + why);
  if (!fixed.grid.calibrated || !moving.grid.calibrated) {
    throw ProcessingError("registration works in micrometres: both maps need a pixel size");
  }
  RegisterResult r;
  // Working grid: the fixed field at the coarser pixel size, at most max_working_pixels a side.
  const double moving_px = moving.grid.pixel_x * std::sqrt(std::abs(initial.determinant()));
  double w = std::max({fixed.grid.pixel_x, fixed.grid.pixel_y, moving_px});
  w = std::max(w, std::max(fixed.grid.extentX(), fixed.grid.extentY()) / o.max_working_pixels);
  Grid g = fixed.grid;
  g.pixel_x = g.pixel_y = w;
  g.width = std::max(8, static_cast<int>(std::lround(fixed.grid.extentX() / w)));
  g.height = std::max(8, static_cast<int>(std::lround(fixed.grid.extentY() / w)));
  r.working = g;

  const Raster f = toWorking(fixed, g, Transform2D(), o, "fixed");
  const Raster m = toWorking(moving, g, initial, o, "moving");

  cv::Mat coarse = cv::Mat::eye(2, 3, CV_64F);
  if (o.coarse == Coarse::kPhase) {
    const PhaseCorrelation pc = phaseCorrelate(f.values, m.values, true);
    coarse.at<double>(0, 2) = -pc.dx;
    coarse.at<double>(1, 2) = -pc.dy;
    r.coarse_peak = pc.peak;
  } else if (o.coarse == Coarse::kFourierMellin) {
    const SimilarityEstimate fm = fourierMellin(f.values, m.values);
    coarse = fm.b_to_a;
    r.coarse_peak = fm.peak;
  }
  coarse =
      projectToFamily(coarse, o.refine_options.kind, cv::Point2d(g.width / 2.0, g.height / 2.0));
  cv::Mat final_m = coarse;
  if (o.refine) {
    const RefineResult rr = refine(f.values, f.mask, m.values, m.mask, coarse, o.refine_options);
    final_m = rr.moving_to_fixed;
    r.evaluations = rr.evaluations;
  }
  // Quality at full working resolution.
  cv::Mat warped, wmask, mm, mask;
  m.mask.convertTo(mm, CV_64F, 1.0 / 255.0);
  cv::warpAffine(m.values, warped, final_m, f.values.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 0);
  cv::warpAffine(mm, wmask, final_m, f.values.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  cv::bitwise_and(wmask > 0.999, f.mask, mask);
  r.overlap = static_cast<double>(cv::countNonZero(mask)) / std::max(1, cv::countNonZero(f.mask));
  r.ncc = normalisedCrossCorrelation(f.values, warped, mask);
  r.mutual_information = mutualInformation(f.values, warped, mask, o.refine_options.bins);
  {
    // Tiles are cut in the moving image's frame, where its field is an upright rectangle:
    // the fixed image is brought there with the inverse transform.
    cv::Mat fixed_back, fmask_back, fm, tile_mask;
    f.mask.convertTo(fm, CV_64F, 1.0 / 255.0);
    const int flags = cv::INTER_LINEAR | cv::WARP_INVERSE_MAP;
    cv::warpAffine(f.values, fixed_back, final_m, m.values.size(), flags, cv::BORDER_CONSTANT, 0);
    cv::warpAffine(fm, fmask_back, final_m, m.values.size(), flags, cv::BORDER_CONSTANT, 0);
    cv::bitwise_and(fmask_back > 0.999, m.mask, tile_mask);
    r.tiles = checkTiles(fixed_back, m.values, tile_mask);
  }

  // Working pixels → physical: T = G · C · G⁻¹ ∘ initial.
  const Transform2D gp = g.pixelToPhysical();
  const Transform2D c = toTransform(final_m, o.refine_options.kind);
  r.moving_to_fixed = gp.after(c).after(gp.inverse()).after(initial);
  r.moving_to_fixed = Transform2D::fromMatrix(
      r.moving_to_fixed.matrix(),
      o.refine ? o.refine_options.kind
               : (o.coarse == Coarse::kPhase ? Transform2D::Kind::kTranslation
                                             : Transform2D::Kind::kSimilarity));
  r.fixed = f.values;
  r.fixed_mask = f.mask;
  r.moving_before = m.values;
  r.moving_after = warped;
  r.after_mask = mask;
  return r;
}

}  // namespace ionmap::registration
