// OrientationMap: crystal orientations on a calibrated grid, as an EBSD map gives them — Bunge
// Euler angles per point, the phase of each point (0 = not indexed), an indexing-quality value
// (confidence index or band contrast), and each phase's name and Laue class. Any reader of
// orientation data (.ang, .ctf, ...) produces one, and stages read it like any other item.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ionmap/core/grid.hpp"
#include "ionmap/core/image.hpp"
#include "ionmap/core/map.hpp"

namespace ionmap {

// The eleven Laue groups collapse to these seven rotation groups for misorientations.
enum class LaueClass {
  kTriclinic,
  kMonoclinic,
  kOrthorhombic,
  kTrigonal,
  kTetragonal,
  kHexagonal,
  kCubic
};
// "cubic (m-3m)", ...
const char* laueClassName(LaueClass l);

struct CrystalPhase {
  int id = 0;  // as in the phase image (>= 1)
  std::string name;
  LaueClass laue = LaueClass::kTriclinic;
};

class OrientationMap {
 public:
  std::string name;
  Grid grid;
  Image<double> phi1, Phi, phi2;  // Bunge Euler angles (ZXZ, sample → crystal), radians
  Image<std::int32_t> phase;      // phase id (>= 1), 0 = not indexed
  Image<double> quality;          // confidence index (.ang) or band contrast (.ctf)
  std::string quality_name;       // "CI", "BC", ...
  std::vector<CrystalPhase> phases;
  std::string grid_type;  // "SqrGrid", "HexGrid (resampled to square)", "Grid"
  std::size_t unindexed = 0;
  Metadata metadata;

  int width() const { return grid.width; }
  int height() const { return grid.height; }
  const CrystalPhase* phaseInfo(int id) const;
  // Throws ProcessingError when an image disagrees with the grid or a point names a phase the
  // map does not list.
  void checkConsistent() const;
};

}  // namespace ionmap
