// Image<T>: a dense row-major 2D array with plain storage. Core types use it instead of
// cv::Mat or Eigen so that their headers stay light; algorithms wrap the storage as cv::Mat
// or Eigen::Map inside their own .cpp files (see ionmap/core/cv_bridge.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace ionmap {

template <typename T>
class Image {
 public:
  Image() = default;
  Image(int width, int height, T fill = T{}) : width_(width), height_(height) {
    if (width < 0 || height < 0) throw std::invalid_argument("Image: negative size");
    data_.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), fill);
  }

  int width() const { return width_; }
  int height() const { return height_; }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }

  T& operator()(int x, int y) { return data_[index(x, y)]; }
  const T& operator()(int x, int y) const { return data_[index(x, y)]; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T* row(int y) { return data_.data() + static_cast<std::size_t>(y) * width_; }
  const T* row(int y) const { return data_.data() + static_cast<std::size_t>(y) * width_; }
  std::vector<T>& values() { return data_; }
  const std::vector<T>& values() const { return data_; }

  bool sameSize(int w, int h) const { return w == width_ && h == height_; }
  template <typename U>
  bool sameSize(const Image<U>& o) const {
    return o.width() == width_ && o.height() == height_;
  }

 private:
  std::size_t index(int x, int y) const {
    return static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) +
           static_cast<std::size_t>(x);
  }
  int width_ = 0;
  int height_ = 0;
  std::vector<T> data_;
};

}  // namespace ionmap
