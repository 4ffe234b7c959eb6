#include "ionmap/core/orientation_map.hpp"

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

const char* laueClassName(LaueClass l) {
  switch (l) {
    case LaueClass::kTriclinic:
      return "triclinic (-1)";
    case LaueClass::kMonoclinic:
      return "monoclinic (2/m)";
    case LaueClass::kOrthorhombic:
      return "orthorhombic (mmm)";
    case LaueClass::kTrigonal:
      return "trigonal (-3m)";
    case LaueClass::kTetragonal:
      return "tetragonal (4/mmm)";
    case LaueClass::kHexagonal:
      return "hexagonal (6/mmm)";
    case LaueClass::kCubic:
      return "cubic (m-3m)";
  }
  return "unknown";
}

const CrystalPhase* OrientationMap::phaseInfo(int id) const {
  for (const auto& p : phases) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

void OrientationMap::checkConsistent() const {
  const int w = grid.width, h = grid.height;
  for (const auto* img : {&phi1, &Phi, &phi2, &quality}) {
    if (img->width() != w || img->height() != h) {
      throw ProcessingError(
          fmt::format("orientation map '{}': an image is {} x {}, the grid {} x {}", name,
                      img->width(), img->height(), w, h));
    }
  }
  if (phase.width() != w || phase.height() != h) {
    throw ProcessingError(
        fmt::format("orientation map '{}': the phase image is {} x {}, the grid "
                    "{} x {}",
                    name, phase.width(), phase.height(), w, h));
  }
  for (std::size_t i = 0; i < phase.size(); ++i) {
    if (phase[i] != 0 && !phaseInfo(phase[i])) {
      throw ProcessingError(
          fmt::format("orientation map '{}': point {} has phase {}, which the "
                      "map does not list",
                      name, i, phase[i]));
    }
  }
}

}  // namespace ionmap
