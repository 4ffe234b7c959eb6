// Zero-copy views of core images as cv::Mat, for algorithm .cpp files only (this header
// pulls in OpenCV's core; keep it out of other headers).
#pragma once

#include <opencv2/core.hpp>

#include "ionmap/core/image.hpp"

namespace ionmap::cvb {

inline cv::Mat view(Image<double>& im) {
  return cv::Mat(im.height(), im.width(), CV_64F, im.data());
}
inline cv::Mat view(const Image<double>& im) {
  return cv::Mat(im.height(), im.width(), CV_64F, const_cast<double*>(im.data()));
}
inline cv::Mat view(Image<std::uint8_t>& im) {
  return cv::Mat(im.height(), im.width(), CV_8U, im.data());
}
inline cv::Mat view(const Image<std::uint8_t>& im) {
  return cv::Mat(im.height(), im.width(), CV_8U, const_cast<std::uint8_t*>(im.data()));
}
inline cv::Mat view(Image<std::int32_t>& im) {
  return cv::Mat(im.height(), im.width(), CV_32S, im.data());
}
inline cv::Mat view(const Image<std::int32_t>& im) {
  return cv::Mat(im.height(), im.width(), CV_32S, const_cast<std::int32_t*>(im.data()));
}

}  // namespace ionmap::cvb
