#include "ionmap/core/grid.hpp"

#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap {

Transform2D Grid::pixelToPhysical() const {
  const double c = std::cos(rotation), s = std::sin(rotation);
  // local (u, v) = ((col + 0.5)·px, (row + 0.5)·py), then rotate and shift.
  const double a = c * pixel_x, b = -s * pixel_y, d = s * pixel_x, e = c * pixel_y;
  const double tx = origin_x + 0.5 * a + 0.5 * b;
  const double ty = origin_y + 0.5 * d + 0.5 * e;
  return Transform2D::fromMatrix({a, b, tx, d, e, ty}, Transform2D::Kind::kAffine);
}

Point2 Grid::centre(int col, int row) const {
  return pixelToPhysical().apply({1.0 * col, 1.0 * row});
}

Grid Grid::subdivided(int n) const {
  Grid g = *this;
  g.width *= n, g.height *= n;
  g.pixel_x /= n, g.pixel_y /= n;
  return g;
}

bool Grid::sameAs(const Grid& o, double rel_tol) const {
  auto close = [&](double a, double b, double scale) { return std::abs(a - b) <= rel_tol * scale; };
  const double scale = std::max(std::abs(pixel_x), std::abs(pixel_y));
  return width == o.width && height == o.height && close(pixel_x, o.pixel_x, scale) &&
         close(pixel_y, o.pixel_y, scale) && close(origin_x, o.origin_x, scale) &&
         close(origin_y, o.origin_y, scale) && close(rotation, o.rotation, 1.0);
}

std::string Grid::describe() const {
  if (!calibrated) return fmt::format("{} x {} px, uncalibrated (no pixel size)", width, height);
  std::string s = fmt::format(
      "{} x {} px, {:.6g} x {:.6g} um/px ({:.6g} x {:.6g} um), origin ({:.6g}, {:.6g}) um", width,
      height, pixel_x, pixel_y, extentX(), extentY(), origin_x, origin_y);
  if (rotation != 0.0) s += fmt::format(", rotated {:.4g} deg", rotation * 180.0 / M_PI);
  return s;
}

void Grid::check(const std::string& what) const {
  if (width <= 0 || height <= 0) {
    throw UsageError(fmt::format("{}: grid size {} x {} must be positive", what, width, height));
  }
  if (!(std::isfinite(pixel_x) && pixel_x > 0 && std::isfinite(pixel_y) && pixel_y > 0)) {
    throw UsageError(fmt::format("{}: pixel size {} x {} um must be positive and finite", what,
                                 pixel_x, pixel_y));
  }
  if (!(std::isfinite(origin_x) && std::isfinite(origin_y) && std::isfinite(rotation))) {
    throw UsageError(what + ": origin and rotation must be finite");
  }
}

}  // namespace ionmap
