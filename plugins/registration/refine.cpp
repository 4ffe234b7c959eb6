#include "registration/refine.hpp"

#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "ionmap/core/error.hpp"

namespace ionmap::registration {

double normalisedCrossCorrelation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  double sa = 0, sb = 0, n = 0;
  for (int y = 0; y < a.rows; ++y) {
    const double* pa = a.ptr<double>(y);
    const double* pb = b.ptr<double>(y);
    const uchar* pm = mask.ptr<uchar>(y);
    for (int x = 0; x < a.cols; ++x) {
      if (pm[x]) sa += pa[x], sb += pb[x], n += 1;
    }
  }
  if (n < 2) return 0;
  const double ma = sa / n, mb = sb / n;
  double sab = 0, saa = 0, sbb = 0;
  for (int y = 0; y < a.rows; ++y) {
    const double* pa = a.ptr<double>(y);
    const double* pb = b.ptr<double>(y);
    const uchar* pm = mask.ptr<uchar>(y);
    for (int x = 0; x < a.cols; ++x) {
      if (!pm[x]) continue;
      const double da = pa[x] - ma, db = pb[x] - mb;
      sab += da * db, saa += da * da, sbb += db * db;
    }
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

namespace {

// Intensities scaled to [0, bins − 1] from the 1st–99th percentile of the valid pixels.
cv::Mat toBins(const cv::Mat& img, const cv::Mat& mask, int bins) {
  std::vector<double> v;
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      if (mask.at<uchar>(y, x)) v.push_back(img.at<double>(y, x));
    }
  }
  if (v.empty()) return cv::Mat::zeros(img.size(), CV_64F);
  const auto lo_it = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 100);
  std::nth_element(v.begin(), lo_it, v.end());
  const double lo = *lo_it;
  const auto hi_it = v.begin() + static_cast<std::ptrdiff_t>(v.size() - 1 - v.size() / 100);
  std::nth_element(v.begin(), hi_it, v.end());
  const double hi = *hi_it > lo ? *hi_it : lo + 1;
  cv::Mat out;
  img.convertTo(out, CV_64F, (bins - 1) / (hi - lo), -lo * (bins - 1) / (hi - lo));
  cv::min(cv::max(out, 0.0), bins - 1.0, out);
  return out;
}

double miOfBinned(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask, int bins) {
  // Partial-volume joint histogram: each pixel spreads over the 2 × 2 neighbouring bins, so
  // that the metric changes smoothly with sub-pixel motion.
  std::vector<double> h(static_cast<std::size_t>(bins) * bins, 0.0);
  double n = 0;
  for (int y = 0; y < a.rows; ++y) {
    const double* pa = a.ptr<double>(y);
    const double* pb = b.ptr<double>(y);
    const uchar* pm = mask.ptr<uchar>(y);
    for (int x = 0; x < a.cols; ++x) {
      if (!pm[x]) continue;
      const int ia = std::min(static_cast<int>(pa[x]), bins - 2),
                ib = std::min(static_cast<int>(pb[x]), bins - 2);
      const double fa = pa[x] - ia, fb = pb[x] - ib;
      double* row = h.data() + static_cast<std::size_t>(ia) * bins + ib;
      row[0] += (1 - fa) * (1 - fb);
      row[1] += (1 - fa) * fb;
      row[bins] += fa * (1 - fb);
      row[bins + 1] += fa * fb;
      n += 1;
    }
  }
  if (n < 2) return 0;
  std::vector<double> pa(bins, 0.0), pb(bins, 0.0);
  for (int i = 0; i < bins; ++i) {
    for (int j = 0; j < bins; ++j) {
      const double p = h[static_cast<std::size_t>(i) * bins + j] / n;
      pa[i] += p, pb[j] += p;
    }
  }
  double mi = 0;
  for (int i = 0; i < bins; ++i) {
    for (int j = 0; j < bins; ++j) {
      const double p = h[static_cast<std::size_t>(i) * bins + j] / n;
      if (p > 0) mi += p * std::log(p / (pa[i] * pb[j]));
    }
  }
  return mi;
}

int parameterCount(Transform2D::Kind k) {
  switch (k) {
    case Transform2D::Kind::kIdentity:
    case Transform2D::Kind::kTranslation:
      return 2;
    case Transform2D::Kind::kRigid:
      return 3;
    case Transform2D::Kind::kSimilarity:
      return 4;
    case Transform2D::Kind::kAffine:
      return 6;
  }
  return 4;
}

// The correction Δ about the centre c (level-0 pixels), from scaled parameters: rotations and
// scale changes are expressed as displacement at radius r so that all parameters are pixels.
cv::Mat correction(const double* p, Transform2D::Kind k, cv::Point2d c, double r) {
  double a = 1, b = 0, cc = 0, d = 1;
  if (k == Transform2D::Kind::kRigid || k == Transform2D::Kind::kSimilarity) {
    const double s = k == Transform2D::Kind::kSimilarity ? std::exp(p[3] / r) : 1.0;
    a = d = s * std::cos(p[2] / r);
    cc = s * std::sin(p[2] / r);
    b = -cc;
  } else if (k == Transform2D::Kind::kAffine) {
    a = 1 + p[2] / r, b = p[3] / r, cc = p[4] / r, d = 1 + p[5] / r;
  }
  return (cv::Mat_<double>(2, 3) << a, b, c.x + p[0] - (a * c.x + b * c.y), cc, d,
          c.y + p[1] - (cc * c.x + d * c.y));
}

cv::Mat compose(const cv::Mat& outer, const cv::Mat& inner) {  // outer ∘ inner, both 2×3
  cv::Mat o3 = cv::Mat::eye(3, 3, CV_64F), i3 = cv::Mat::eye(3, 3, CV_64F);
  outer.copyTo(o3.rowRange(0, 2));
  inner.copyTo(i3.rowRange(0, 2));
  const cv::Mat p = o3 * i3;
  return p.rowRange(0, 2).clone();
}

struct Level {
  cv::Mat fixed, fixed_mask, moving, moving_mask;  // moving_mask as CV_64F (for warping)
  double factor;                                   // this level's pixels per level-0 pixel
};

class MetricCost final : public ceres::FirstOrderFunction {
 public:
  MetricCost(const Level& level, const cv::Mat& initial, const RefineOptions& o, cv::Point2d centre,
             double radius)
      : level_(level),
        initial_(initial),
        o_(o),
        centre_(centre),
        radius_(radius),
        n_(parameterCount(o.kind)) {}

  int NumParameters() const override { return n_; }

  bool Evaluate(const double* p, double* cost, double* gradient) const override {
    *cost = -metric(p);
    if (gradient) {
      // Central differences with a step of half a pixel at this level.
      const double h = 0.5 / level_.factor;
      std::vector<double> q(p, p + n_);
      for (int i = 0; i < n_; ++i) {
        q[i] = p[i] + h;
        const double up = -metric(q.data());
        q[i] = p[i] - h;
        const double down = -metric(q.data());
        q[i] = p[i];
        gradient[i] = (up - down) / (2 * h);
      }
    }
    return std::isfinite(*cost);
  }

  double metric(const double* p) const {
    ++evaluations;
    cv::Mat m = compose(correction(p, o_.kind, centre_, radius_), initial_);
    m.at<double>(0, 2) *= level_.factor;
    m.at<double>(1, 2) *= level_.factor;
    cv::Mat warped, wmask, mask;
    cv::warpAffine(level_.moving, warped, m, level_.fixed.size(), cv::INTER_LINEAR,
                   cv::BORDER_CONSTANT, 0);
    cv::warpAffine(level_.moving_mask, wmask, m, level_.fixed.size(), cv::INTER_LINEAR,
                   cv::BORDER_CONSTANT, 0);
    cv::bitwise_and(wmask > 0.999, level_.fixed_mask, mask);
    if (cv::countNonZero(mask) < 0.02 * mask.total()) return -1;  // no meaningful overlap
    return o_.metric == Metric::kNcc ? normalisedCrossCorrelation(level_.fixed, warped, mask)
                                     : miOfBinned(level_.fixed, warped, mask, o_.bins);
  }

  mutable int evaluations = 0;

 private:
  const Level& level_;
  cv::Mat initial_;
  const RefineOptions& o_;
  cv::Point2d centre_;
  double radius_;
  int n_;
};

}  // namespace

double mutualInformation(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask, int bins) {
  return miOfBinned(toBins(a, mask, bins), toBins(b, mask, bins), mask, bins);
}

RefineResult refine(const cv::Mat& fixed, const cv::Mat& fixed_mask, const cv::Mat& moving,
                    const cv::Mat& moving_mask, const cv::Mat& initial, const RefineOptions& o) {
  if (fixed.size() != moving.size())
    throw ProcessingError("refine: fixed and moving must share the working grid");
  const cv::Point2d centre(fixed.cols / 2.0, fixed.rows / 2.0);
  const double radius = 0.5 * std::min(fixed.cols, fixed.rows);
  // Pyramid (level 0 = full working resolution).
  std::vector<Level> levels;
  Level l0;
  l0.fixed = o.metric == Metric::kNcc ? fixed : toBins(fixed, fixed_mask, o.bins);
  l0.moving = o.metric == Metric::kNcc ? moving : toBins(moving, moving_mask, o.bins);
  l0.fixed_mask = fixed_mask.clone();
  moving_mask.convertTo(l0.moving_mask, CV_64F, 1.0 / 255.0);
  l0.factor = 1.0;
  levels.push_back(l0);
  for (int i = 1;
       i < o.levels && std::min(levels.back().fixed.rows, levels.back().fixed.cols) >= 64; ++i) {
    const Level& prev = levels.back();
    Level l;
    cv::pyrDown(prev.fixed, l.fixed);
    cv::pyrDown(prev.moving, l.moving);
    cv::resize(prev.fixed_mask, l.fixed_mask, l.fixed.size(), 0, 0, cv::INTER_NEAREST);
    cv::pyrDown(prev.moving_mask, l.moving_mask);
    l.factor = prev.factor / 2;
    levels.push_back(l);
  }
  std::vector<double> p(parameterCount(o.kind), 0.0);
  RefineResult r;
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    MetricCost* cost = new MetricCost(*it, initial, o, centre, radius);
    ceres::GradientProblem problem(cost);  // takes ownership
    ceres::GradientProblemSolver::Options so;
    so.line_search_direction_type = ceres::LBFGS;
    so.max_num_iterations = o.max_iterations;
    so.logging_type = ceres::SILENT;
    so.minimizer_progress_to_stdout = false;
    so.function_tolerance = 1e-7;
    so.gradient_tolerance = 1e-10;
    so.parameter_tolerance = 1e-5;
    ceres::GradientProblemSolver::Summary summary;
    ceres::Solve(so, problem, p.data(), &summary);
    r.evaluations += cost->evaluations;
  }
  r.moving_to_fixed = compose(correction(p.data(), o.kind, centre, radius), initial);
  // Final quality at full resolution, on the images as given.
  cv::Mat warped, wmask, mask, mm;
  moving_mask.convertTo(mm, CV_64F, 1.0 / 255.0);
  cv::warpAffine(moving, warped, r.moving_to_fixed, fixed.size(), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, 0);
  cv::warpAffine(mm, wmask, r.moving_to_fixed, fixed.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 0);
  cv::bitwise_and(wmask > 0.999, fixed_mask, mask);
  r.overlap =
      static_cast<double>(cv::countNonZero(mask)) / std::max(1, cv::countNonZero(fixed_mask));
  r.ncc = normalisedCrossCorrelation(fixed, warped, mask);
  r.mutual_information = mutualInformation(fixed, warped, mask, o.bins);
  return r;
}

}  // namespace ionmap::registration
