#include "ionmap/core/transform2d.hpp"

#include <cmath>
#include <sstream>

#include "ionmap/core/error.hpp"

namespace ionmap {

Transform2D Transform2D::fromMatrix(const std::array<double, 6>& m, Kind kind) {
  Transform2D t;
  t.m_ = m;
  t.kind_ = kind;
  return t;
}

Transform2D Transform2D::translation(double tx, double ty) {
  return fromMatrix({1, 0, tx, 0, 1, ty}, Kind::kTranslation);
}

Transform2D Transform2D::similarity(double scale, double angle_rad, double tx, double ty) {
  const double c = scale * std::cos(angle_rad);
  const double s = scale * std::sin(angle_rad);
  return fromMatrix({c, -s, tx, s, c, ty}, scale == 1.0 ? Kind::kRigid : Kind::kSimilarity);
}

Point2 Transform2D::apply(Point2 p) const {
  return {m_[0] * p.x + m_[1] * p.y + m_[2], m_[3] * p.x + m_[4] * p.y + m_[5]};
}

Transform2D Transform2D::after(const Transform2D& first) const {
  const auto& a = m_;
  const auto& b = first.m_;
  Transform2D t;
  t.m_ = {a[0] * b[0] + a[1] * b[3], a[0] * b[1] + a[1] * b[4], a[0] * b[2] + a[1] * b[5] + a[2],
          a[3] * b[0] + a[4] * b[3], a[3] * b[1] + a[4] * b[4], a[3] * b[2] + a[4] * b[5] + a[5]};
  t.kind_ = kind_ > first.kind_ ? kind_ : first.kind_;
  return t;
}

Transform2D Transform2D::inverse() const {
  const double det = determinant();
  const double scale = std::abs(m_[0]) + std::abs(m_[1]) + std::abs(m_[3]) + std::abs(m_[4]);
  if (!(std::abs(det) > 1e-12 * scale * scale)) {
    throw ProcessingError("transform " + describe() + " is singular and cannot be inverted");
  }
  const double ia = m_[4] / det, ib = -m_[1] / det, ic = -m_[3] / det, id = m_[0] / det;
  return fromMatrix({ia, ib, -(ia * m_[2] + ib * m_[5]), ic, id, -(ic * m_[2] + id * m_[5])},
                    kind_);
}

const char* Transform2D::kindName(Kind k) {
  switch (k) {
    case Kind::kIdentity:
      return "identity";
    case Kind::kTranslation:
      return "translation";
    case Kind::kRigid:
      return "rigid";
    case Kind::kSimilarity:
      return "similarity";
    case Kind::kAffine:
      return "affine";
  }
  return "affine";
}

Transform2D::Kind Transform2D::kindFromName(const std::string& name) {
  for (Kind k :
       {Kind::kIdentity, Kind::kTranslation, Kind::kRigid, Kind::kSimilarity, Kind::kAffine}) {
    if (name == kindName(k)) return k;
  }
  throw UsageError("unknown transform kind '" + name +
                   "'; expected identity, translation, rigid, similarity or affine");
}

std::string Transform2D::describe() const {
  std::ostringstream os;
  os.precision(8);
  os << kindName(kind_) << " [" << m_[0] << ' ' << m_[1] << ' ' << m_[2] << "; " << m_[3] << ' '
     << m_[4] << ' ' << m_[5] << "] (um)";
  return os.str();
}

std::string Transform2D::toYaml(const std::string& comment) const {
  std::ostringstream os;
  os.precision(17);
  os << "# ionmap transform: x' = a x + b y + tx, y' = c x + d y + ty, lengths in micrometres\n";
  if (!comment.empty()) os << "# " << comment << "\n";
  os << "ionmap_transform:\n  kind: " << kindName(kind_) << "\n  matrix: [" << m_[0] << ", "
     << m_[1] << ", " << m_[2] << ", " << m_[3] << ", " << m_[4] << ", " << m_[5]
     << "]  # [a, b, tx, c, d, ty]\n";
  return os.str();
}

}  // namespace ionmap
