// Grid: where a map's pixels are in physical space (µm).
//
// Pixel (col, row) has its centre at local coordinates u = (col + 0.5)·pixel_x,
// v = (row + 0.5)·pixel_y; the physical position is origin + R(rotation)·(u, v). The origin
// is therefore the outer corner of pixel (0, 0). Physical frame: x right, y down (the image
// frame), lengths in µm.
#pragma once

#include <string>

#include "ionmap/core/transform2d.hpp"

namespace ionmap {

struct Grid {
  int width = 0;          // pixels along x (columns)
  int height = 0;         // pixels along y (rows)
  double pixel_x = 1.0;   // µm per pixel along x
  double pixel_y = 1.0;   // µm per pixel along y
  double origin_x = 0.0;  // µm, outer corner of pixel (0, 0)
  double origin_y = 0.0;  // µm
  double rotation = 0.0;  // radians, positive turns +x towards +y
  // False when the file carried no pixel size and none was given: pixel_x/y are then 1 and
  // mean "pixels", and stages that need physical coordinates refuse the map.
  bool calibrated = true;

  double extentX() const { return width * pixel_x; }
  double extentY() const { return height * pixel_y; }
  // Maps fractional pixel indices (centres at integers) to physical coordinates.
  Transform2D pixelToPhysical() const;
  Transform2D physicalToPixel() const { return pixelToPhysical().inverse(); }
  Point2 centre(int col, int row) const;
  bool sameAs(const Grid& o, double rel_tol = 1e-9) const;
  // The same field with every pixel divided into n × n (n ≥ 1; same origin and rotation).
  Grid subdivided(int n) const;
  // "512 × 512 px, 0.1 × 0.1 µm/px, origin (0, 0) µm" — for logs and `inspect`.
  std::string describe() const;
  // Throws UsageError naming `what` if sizes or pixel sizes are not positive and finite.
  void check(const std::string& what) const;
};

}  // namespace ionmap
