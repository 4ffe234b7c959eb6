// PNG, JPEG and BMP without OpenCV's imgcodecs (which loads GDAL and ~100 other libraries, ~38 MB
// of resident memory in every run): PNG through libpng, JPEG through libjpeg-turbo, BMP decoded
// here. Every decoder reads from bytes already in memory, refuses what it cannot decode exactly
// (an error naming `file`), and never returns a partial image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace ionmap::io {

// A decoded image: 8- or 16-bit samples, rows top-down, channels interleaved: 1 grey, 2 grey +
// alpha, 3 RGB, 4 RGBA (in that order, not OpenCV's BGR).
struct Raster {
  int width = 0, height = 0, channels = 0, bits = 8;
  std::vector<std::uint16_t> samples;
  std::vector<std::string> notes;  // decoder warnings that did not stop it (JPEG)
  std::uint16_t at(int x, int y, int c) const {
    return samples[(static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                    static_cast<std::size_t>(x)) *
                       static_cast<std::size_t>(channels) +
                   static_cast<std::size_t>(c)];
  }
};

// `bytes` is the whole file. The decoded samples are checked against the memory budget
// (checkMemory) before they are allocated.
Raster decodePng(const std::string& bytes, const std::filesystem::path& file);
Raster decodeJpeg(const std::string& bytes, const std::filesystem::path& file);
Raster decodeBmp(const std::string& bytes, const std::filesystem::path& file);

// Writes an 8-bit image (CV_8UC1 grey, CV_8UC3 BGR or CV_8UC4 BGRA, OpenCV's channel order) as
// PNG; an InputError naming the file when it cannot be written.
void writePng(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace ionmap::io
