// Transform2D: an affine map of the plane in physical coordinates (µm),
//   x' = a·x + b·y + tx,   y' = c·x + d·y + ty.
// Registration produces them, resampling consumes them; composition and inversion are exact
// affine algebra. The physical frame is the image frame: x to the right, y downwards.
#pragma once

#include <array>
#include <string>

namespace ionmap {

struct Point2 {
  double x = 0.0;
  double y = 0.0;
};

class Transform2D {
 public:
  // The kind records which family a transform was built as (for reports and for
  // registration, which optimises within one family); the matrix is always a full affine.
  enum class Kind { kIdentity, kTranslation, kRigid, kSimilarity, kAffine };

  Transform2D() = default;  // identity
  // Row-major 2×3 matrix [a b tx; c d ty].
  static Transform2D fromMatrix(const std::array<double, 6>& m, Kind kind = Kind::kAffine);
  static Transform2D translation(double tx, double ty);
  // Rotation by `angle_rad` (positive turns +x towards +y) and isotropic `scale` about the
  // origin, then a translation.
  static Transform2D similarity(double scale, double angle_rad, double tx, double ty);
  static Transform2D rigid(double angle_rad, double tx, double ty) {
    return similarity(1.0, angle_rad, tx, ty);
  }

  Point2 apply(Point2 p) const;
  // (*this ∘ first): applies `first`, then this transform.
  Transform2D after(const Transform2D& first) const;
  // Throws ProcessingError when the linear part is singular (|det| below 1e-12 relative).
  Transform2D inverse() const;

  const std::array<double, 6>& matrix() const { return m_; }
  Kind kind() const { return kind_; }
  double determinant() const { return m_[0] * m_[4] - m_[1] * m_[3]; }
  static const char* kindName(Kind k);
  // Parses "identity", "translation", "rigid", "similarity" or "affine"; throws UsageError.
  static Kind kindFromName(const std::string& name);
  // One line, e.g. "affine [1 0 2.5; 0 1 -1]" (µm), for logs and reports.
  std::string describe() const;
  // A small YAML document (`ionmap_transform: {kind, matrix}`) that the transform-yaml
  // reader reads back exactly (17 significant digits).
  std::string toYaml(const std::string& comment = "") const;

 private:
  std::array<double, 6> m_{1, 0, 0, 0, 1, 0};
  Kind kind_ = Kind::kIdentity;
};

}  // namespace ionmap
