// Crystal orientations as unit quaternions, the rotation groups of the Laue classes, and the
// misorientation angle between two orientations of one crystal symmetry.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/orientation_map.hpp"

namespace ionmap::ebsd {

struct Quat {
  double w = 1, x = 0, y = 0, z = 0;
};
Quat operator*(const Quat& a, const Quat& b);
Quat conj(const Quat& q);

// Bunge Euler angles (ZXZ, radians) → passive rotation (sample → crystal frame).
Quat fromBunge(double phi1, double Phi, double phi2);
void toBunge(const Quat& q, double& phi1, double& Phi, double& phi2);

using Laue = LaueClass;  // the core item's Laue classes (orientation_map.hpp)
inline const char* laueName(Laue l) {
  return laueClassName(l);
}
// Rotation operators of the Laue class (1, 2, 4, 6, 8, 12 or 24 quaternions).
const std::vector<Quat>& symmetryOperators(Laue l);
// TSL .ang "Symmetry" codes (43 cubic m-3m, 62 hexagonal, 42 tetragonal, 32 trigonal, ...) and
// Oxford .ctf Laue group numbers (1-11). Unknown codes give triclinic (no symmetry).
Laue laueFromTsl(int code);
Laue laueFromOxford(int group);

// Smallest rotation angle (degrees) between the two orientations over the symmetry.
double misorientationDeg(const Quat& a, const Quat& b, Laue symmetry);
// The symmetric equivalent of q closest to `reference` (sign-aligned), for averaging.
Quat closestEquivalent(const Quat& q, const Quat& reference, Laue symmetry);

}  // namespace ionmap::ebsd
