// Map: a calibrated 2D scalar field — values, physical grid, unit, name and a validity mask.
// LabelMap: an integer label image on a physical grid (0 = no label / background).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/core/grid.hpp"
#include "ionmap/core/image.hpp"

namespace ionmap {

using Metadata = std::vector<std::pair<std::string, std::string>>;

class Map {
 public:
  Map() = default;
  // All pixels valid, values zero.
  Map(std::string name, const Grid& grid, std::string unit);

  std::string name;
  std::string unit;  // e.g. "mV", "counts", "1" for dimensionless, "" if unknown
  Grid grid;
  Image<double> values;
  Image<std::uint8_t> mask;  // 1 = valid, 0 = invalid (out of field, saturated, missing)
  Metadata metadata;         // free-form provenance from the reader (instrument, channel ...)

  int width() const { return grid.width; }
  int height() const { return grid.height; }
  bool valid(int x, int y) const { return mask(x, y) != 0; }
  std::size_t countValid() const;
  // Marks non-finite values invalid and returns how many there were.
  std::size_t maskNonFinite();
  // Throws ProcessingError if values/mask sizes disagree with the grid.
  void checkConsistent() const;
};

class LabelMap {
 public:
  LabelMap() = default;
  LabelMap(std::string name, const Grid& grid);

  std::string name;
  Grid grid;
  Image<std::int32_t> labels;  // 0 = background / unassigned, > 0 = region id
  Metadata metadata;

  int width() const { return grid.width; }
  int height() const { return grid.height; }
  std::int32_t maxLabel() const;
  void checkConsistent() const;
};

}  // namespace ionmap
