#include "ebsd/orientation.hpp"

#include <algorithm>
#include <cmath>

namespace ionmap::ebsd {

Quat operator*(const Quat& a, const Quat& b) {
  return {
      a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z, a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
      a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x, a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w};
}

Quat conj(const Quat& q) {
  return {q.w, -q.x, -q.y, -q.z};
}

Quat fromBunge(double phi1, double Phi, double phi2) {
  // Rotations about Z (phi1), X (Phi), Z (phi2), composed as g = Rz(phi2) Rx(Phi) Rz(phi1).
  const Quat z1{std::cos(phi1 / 2), 0, 0, std::sin(phi1 / 2)};
  const Quat x{std::cos(Phi / 2), std::sin(Phi / 2), 0, 0};
  const Quat z2{std::cos(phi2 / 2), 0, 0, std::sin(phi2 / 2)};
  return z2 * x * z1;
}

void toBunge(const Quat& q0, double& phi1, double& Phi, double& phi2) {
  Quat q = q0;
  if (q.w < 0) q = {-q.w, -q.x, -q.y, -q.z};
  // From g = Rz(phi2) Rx(Phi) Rz(phi1): w = cos(Phi/2) cos(s), z = cos(Phi/2) sin(s),
  // x = sin(Phi/2) cos(d), y = −sin(Phi/2) sin(d), with s = (phi1+phi2)/2, d = (phi1-phi2)/2.
  const double c = std::hypot(q.w, q.z), s = std::hypot(q.x, q.y);
  Phi = 2 * std::atan2(s, c);
  const double sum = 2 * std::atan2(q.z, q.w), diff = 2 * std::atan2(-q.y, q.x);
  phi1 = 0.5 * (sum + diff);
  phi2 = 0.5 * (sum - diff);
  auto wrap = [](double a) { return a < 0 ? a + 2 * M_PI : (a >= 2 * M_PI ? a - 2 * M_PI : a); };
  phi1 = wrap(phi1), phi2 = wrap(phi2);
}

namespace {
Quat axisAngle(double ax, double ay, double az, double angle) {
  const double n = std::sqrt(ax * ax + ay * ay + az * az), s = std::sin(angle / 2) / n;
  return {std::cos(angle / 2), ax * s, ay * s, az * s};
}

std::vector<Quat> build(Laue l) {
  std::vector<Quat> ops{{1, 0, 0, 0}};
  auto nfold = [&](double x, double y, double z, int n) {
    for (int k = 1; k < n; ++k) ops.push_back(axisAngle(x, y, z, 2 * M_PI * k / n));
  };
  switch (l) {
    case Laue::kTriclinic:
      break;
    case Laue::kMonoclinic:
      nfold(0, 1, 0, 2);
      break;
    case Laue::kOrthorhombic:
      nfold(1, 0, 0, 2), nfold(0, 1, 0, 2), nfold(0, 0, 1, 2);
      break;
    case Laue::kTrigonal:
      nfold(0, 0, 1, 3);
      for (int k = 0; k < 3; ++k)
        ops.push_back(axisAngle(std::cos(k * 2 * M_PI / 3), std::sin(k * 2 * M_PI / 3), 0, M_PI));
      break;
    case Laue::kTetragonal:
      nfold(0, 0, 1, 4);
      for (int k = 0; k < 4; ++k)
        ops.push_back(axisAngle(std::cos(k * M_PI / 4), std::sin(k * M_PI / 4), 0, M_PI));
      break;
    case Laue::kHexagonal:
      nfold(0, 0, 1, 6);
      for (int k = 0; k < 6; ++k)
        ops.push_back(axisAngle(std::cos(k * M_PI / 6), std::sin(k * M_PI / 6), 0, M_PI));
      break;
    case Laue::kCubic:
      nfold(1, 0, 0, 4), nfold(0, 1, 0, 4), nfold(0, 0, 1, 4);
      for (int sx : {1, -1}) {
        for (int sy : {1, -1}) nfold(sx, sy, 1, 3);  // the four <111> axes
      }
      {
        static const int axes[6][3] = {{1, 1, 0},  {1, -1, 0}, {1, 0, 1},
                                       {1, 0, -1}, {0, 1, 1},  {0, 1, -1}};
        for (const auto& a : axes) ops.push_back(axisAngle(a[0], a[1], a[2], M_PI));
      }
      break;
  }
  return ops;
}
}  // namespace

const std::vector<Quat>& symmetryOperators(Laue l) {
  static const std::vector<Quat> table[] = {build(Laue::kTriclinic),    build(Laue::kMonoclinic),
                                            build(Laue::kOrthorhombic), build(Laue::kTrigonal),
                                            build(Laue::kTetragonal),   build(Laue::kHexagonal),
                                            build(Laue::kCubic)};
  return table[static_cast<int>(l)];
}

Laue laueFromTsl(int code) {
  switch (code) {
    case 43:
    case 23:
      return Laue::kCubic;
    case 62:
    case 6:
      return Laue::kHexagonal;
    case 42:
    case 4:
      return Laue::kTetragonal;
    case 32:
    case 3:
      return Laue::kTrigonal;
    case 22:
      return Laue::kOrthorhombic;
    case 2:
    case 20:
    case 21:
      return Laue::kMonoclinic;
    default:
      return Laue::kTriclinic;
  }
}

Laue laueFromOxford(int g) {
  if (g >= 10) return Laue::kCubic;
  if (g >= 8) return Laue::kHexagonal;
  if (g >= 6) return Laue::kTrigonal;
  if (g >= 4) return Laue::kTetragonal;
  if (g == 3) return Laue::kOrthorhombic;
  if (g == 2) return Laue::kMonoclinic;
  return Laue::kTriclinic;
}

double misorientationDeg(const Quat& a, const Quat& b, Laue l) {
  const Quat d = b * conj(a);
  double best = 0;
  for (const Quat& s : symmetryOperators(l)) best = std::max(best, std::abs((s * d).w));
  return 2 * std::acos(std::min(1.0, best)) * 180 / M_PI;
}

Quat closestEquivalent(const Quat& q, const Quat& ref, Laue l) {
  Quat best = q;
  double bd = -1;
  for (const Quat& s : symmetryOperators(l)) {
    Quat e = s * q;
    double d = e.w * ref.w + e.x * ref.x + e.y * ref.y + e.z * ref.z;
    if (d < 0) e = {-e.w, -e.x, -e.y, -e.z}, d = -d;
    if (d > bd) bd = d, best = e;
  }
  return best;
}

}  // namespace ionmap::ebsd
