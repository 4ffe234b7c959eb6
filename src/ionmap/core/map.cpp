#include "ionmap/core/map.hpp"

#include <algorithm>
#include <cmath>

#include "ionmap/core/error.hpp"

namespace ionmap {

Map::Map(std::string name_, const Grid& grid_, std::string unit_)
    : name(std::move(name_)),
      unit(std::move(unit_)),
      grid(grid_),
      values(grid_.width, grid_.height, 0.0),
      mask(grid_.width, grid_.height, 1) {}

std::size_t Map::countValid() const {
  return static_cast<std::size_t>(
      std::count_if(mask.values().begin(), mask.values().end(), [](auto m) { return m != 0; }));
}

std::size_t Map::maskNonFinite() {
  std::size_t n = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) && mask[i]) {
      mask[i] = 0;
      ++n;
    }
  }
  return n;
}

void Map::checkConsistent() const {
  if (!values.sameSize(grid.width, grid.height) || !mask.sameSize(grid.width, grid.height)) {
    throw ProcessingError("map '" + name + "': values or mask size disagrees with its grid");
  }
}

LabelMap::LabelMap(std::string name_, const Grid& grid_)
    : name(std::move(name_)), grid(grid_), labels(grid_.width, grid_.height, 0) {}

std::int32_t LabelMap::maxLabel() const {
  std::int32_t m = 0;
  for (auto v : labels.values()) m = std::max(m, v);
  return m;
}

void LabelMap::checkConsistent() const {
  if (!labels.sameSize(grid.width, grid.height)) {
    throw ProcessingError("label map '" + name + "': size disagrees with its grid");
  }
}

}  // namespace ionmap
