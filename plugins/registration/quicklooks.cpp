#include "registration/quicklooks.hpp"

#include <opencv2/imgproc.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/io/image_codecs.hpp"

namespace ionmap::registration {
namespace {

cv::Mat gray8(const cv::Mat& normalised) {  // z-scores → 0..255, ±2.5 σ
  cv::Mat out;
  normalised.convertTo(out, CV_8U, 255.0 / 5.0, 127.5);
  return out;
}

cv::Mat checkerboard(const cv::Mat& a, const cv::Mat& b) {
  const int tile = std::max(8, std::max(a.cols, a.rows) / 8);
  cv::Mat out = gray8(a);
  const cv::Mat gb = gray8(b);
  for (int y = 0; y < a.rows; ++y) {
    for (int x = 0; x < a.cols; ++x) {
      if (((x / tile) + (y / tile)) % 2) out.at<uchar>(y, x) = gb.at<uchar>(y, x);
    }
  }
  cv::Mat bgr;
  cv::cvtColor(out, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

cv::Mat edgeOverlay(const cv::Mat& fixed, const cv::Mat& moving) {
  cv::Mat base;
  cv::cvtColor(gray8(fixed), base, cv::COLOR_GRAY2BGR);
  base *= 0.7;
  cv::Mat m8 = gray8(moving), edges;
  cv::GaussianBlur(m8, m8, cv::Size(), 1.0);
  cv::Canny(m8, edges, 40, 100);
  base.setTo(cv::Scalar(255, 0, 255), edges);
  return base;
}

cv::Mat sideBySide(const cv::Mat& before, const cv::Mat& after, const std::string& title) {
  const double s = std::max(1.0, 400.0 / std::max(before.cols, before.rows));
  cv::Mat b, a;
  cv::resize(before, b, cv::Size(), s, s, cv::INTER_NEAREST);
  cv::resize(after, a, cv::Size(), s, s, cv::INTER_NEAREST);
  const int gap = 12, top = 48;
  cv::Mat canvas(b.rows + top + gap, b.cols + a.cols + 3 * gap, CV_8UC3, cv::Scalar(255, 255, 255));
  b.copyTo(canvas(cv::Rect(gap, top, b.cols, b.rows)));
  a.copyTo(canvas(cv::Rect(2 * gap + b.cols, top, a.cols, a.rows)));
  cv::putText(canvas, title, {gap, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(0, 0, 0), 1,
              cv::LINE_AA);
  cv::putText(canvas, "before (initial transform)", {gap, top - 6}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
              cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(canvas, "after registration", {2 * gap + b.cols, top - 6}, cv::FONT_HERSHEY_SIMPLEX,
              0.45, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  return canvas;
}

void write(const cv::Mat& img, const std::filesystem::path& p) {
  io::writePng(p, img);
}

}  // namespace

std::vector<std::string> writeRegistrationQuicklooks(const RegisterResult& r,
                                                     const std::filesystem::path& dir,
                                                     const std::string& prefix) {
  const std::string cb = prefix + "-checkerboard.png", ed = prefix + "-edges.png";
  write(sideBySide(checkerboard(r.fixed, r.moving_before), checkerboard(r.fixed, r.moving_after),
                   "Checkerboard of fixed and moving tiles (working grid)"),
        dir / cb);
  write(sideBySide(edgeOverlay(r.fixed, r.moving_before), edgeOverlay(r.fixed, r.moving_after),
                   "Moving edges (magenta) over the fixed image"),
        dir / ed);
  return {cb, ed};
}

}  // namespace ionmap::registration
