// Orientation classes of an EBSD map: each indexed point is put in the class of the crystal
// direction (of a short list, e.g. [100] and [001], or [001], [101], [111]) that lies nearest to
// a sample direction (the surface normal by default), over the crystal symmetry — the class an
// inverse pole figure colours it by. What a local probe that sees one orientation per spot
// (SECCM, KPFM) is compared by.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/orientation_map.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::ebsd {

using Vec3 = std::array<double, 3>;

struct CrystalDirection {
  std::string name;  // as written, e.g. "[1-10]"
  Vec3 uvw{};        // in the Cartesian crystal frame (x ∥ a, z ∥ c)
};

// "[100], [001]" or "[1 0 12], [1-10]": Miller indices in brackets, one digit each with an
// optional minus unless separated by spaces. Throws UsageError naming the bad entry.
std::vector<CrystalDirection> parseDirections(const std::string& text);

// A sample direction in the crystal frame of the Bunge orientation (phi1, Phi, phi2), radians:
// g · s, with g the passive sample → crystal matrix.
Vec3 sampleToCrystal(double phi1, double Phi, double phi2, const Vec3& sample);

// Angle (deg) between crystal-frame vector v and direction d, the smallest over the symmetric
// equivalents of v and over ±d (the Laue classes are centrosymmetric).
double angleToDirectionDeg(const Vec3& v, const Vec3& d, LaueClass symmetry);

struct OrientationClasses {
  LabelMap classes;  // 1..n = nearest direction, 0 = unindexed, excluded or beyond max_angle
  std::vector<std::size_t> points;  // per class
  std::vector<double> mean_angle_deg;
  std::size_t beyond = 0;  // indexed points farther than max_angle from every direction
};

// The class of every point of the map (only the phases in `phases`, all when empty).
OrientationClasses classifyOrientations(const OrientationMap& map,
                                        const std::vector<CrystalDirection>& directions,
                                        const Vec3& sample_direction, double max_angle_deg,
                                        const std::vector<int>& phases = {});

// Per class: name, points, share of the indexed points, mean angle to its direction.
Table orientationClassTable(const OrientationClasses& c,
                            const std::vector<CrystalDirection>& directions,
                            const OrientationMap& map);

}  // namespace ionmap::ebsd
