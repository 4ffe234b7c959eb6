// TIFF files through libtiff: every page of a file as double images with calibration, and a
// writer for the sample generator and tests. Pixel size comes from the resolution tags
// (inch or cm) or from an ImageJ description ("unit=micron" with pixels per unit).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ionmap/core/image.hpp"
#include "ionmap/core/map.hpp"

namespace ionmap::tiff {

struct Page {
  Image<double> values;
  std::string name;         // PageName tag, "" if absent
  double pixel_x_um = 0.0;  // 0 = not calibrated
  double pixel_y_um = 0.0;
  Metadata metadata;  // bits, sample format, compression, software, description ...
};

// Reads every page. Throws InputError naming the file, page and byte offset on any problem
// (bad header, strips outside the file, decode failure, unsupported sample layout).
std::vector<Page> readAll(const std::filesystem::path& path);

enum class SampleType { kUInt8, kUInt16, kInt32, kFloat32, kFloat64 };

struct WritePage {
  const Image<double>* values = nullptr;
  std::string name;
};

// Writes pages with deflate compression and resolution tags in centimetres (pixel_um > 0).
// Values are rounded for integer types and must fit them (throws ProcessingError if not).
void write(const std::filesystem::path& path, const std::vector<WritePage>& pages, SampleType type,
           double pixel_x_um, double pixel_y_um);

}  // namespace ionmap::tiff
