// Interfaces found in a map (cross-sectional KPFM: the anode | electrolyte | cathode stack seen
// edge-on): on every scan line the position where the smoothed signal changes fastest, then a
// straight or gently curved line through those positions, fitted robustly (RANSAC for a first
// line, then a polynomial refitted with outlying scan lines left out). Profiles then follow the
// curve (bandProfileAlong): each pixel's coordinate is its distance from the interface along
// the interface's normal, so a tilted or bowed interface is not smeared over the band.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "spm/interface_profile.hpp"

namespace ionmap::spm {

enum class Across { kAuto, kX, kY };

struct DetectOptions {
  Across across = Across::kAuto;  // the direction the potential changes in (profile direction)
  int order = 1;                  // 0 = parallel to the scan axis, 1 = straight, 2–3 = curved
  double smooth_px = 1.5;         // Gaussian smoothing before the gradient, in pixels
  bool IsValid(std::string* error) const;
};

// The interface as u = c(t): u the coordinate across it, t along it (both µm, physical).
// For an interface across x (running along y), u = x and t = y.
struct InterfaceCurve {
  bool across_x = true;
  std::vector<double> coefficients;   // c(t) = Σ a_k ((t − t_mid)/half_span)^k, µm
  double t_mid = 0, half_span = 1;    // µm
  double t_min = 0, t_max = 0;        // µm, the extent of the scan lines used
  double u_origin = 0, u_extent = 0;  // µm, the map's range across the interface
  double sign = 1;                    // +1 when the signal rises across increasing u
  // Per scan line: t, detected u (NaN where no change stood out) and whether it was used.
  std::vector<double> line_t, line_u;
  std::vector<bool> line_used;
  int lines_used = 0, lines_total = 0;
  double rms_residual_um = 0;  // of the lines used, about the curve
  double position_se_um = 0;   // standard error of c(t_mid), from the lines' scatter
  double shape_blur_um = 0;    // RMS uncertainty of the curve's shape about its middle
  double pixel_um = 0;         // across the interface

  double at(double t) const;     // c(t), µm
  double slope(double t) const;  // dc/dt
  double angleDeg() const;       // tilt at t_mid from the scan-line normal, degrees
  // The curve as points in the map's physical coordinates (x, y), from t_min to t_max.
  std::vector<Point2> points(int n = 64) const;
};

// Throws UsageError for invalid options and ProcessingError when the map is rotated, has fewer
// than 8 usable scan lines, or no interface is found on at least half of them.
InterfaceCurve detectInterface(const Map& map, const DetectOptions& options);

// Adds the curve's position error (position_se_um) in quadrature to every fitted interface
// position: profiles along the curve measure positions from it.
void addCurvePositionError(InterfaceFit& fit, const InterfaceCurve& c);

// Plain-language doubts about a detection: scan lines left out, scatter about the curve.
std::vector<std::string> detectionWarnings(const InterfaceCurve& c);

// Like bandProfile, with s the distance across the interface measured along its normal and
// offset so that the interface sits at its position on the middle scan line (s from the map's
// edge). Pixels with |t − t_mid| > half_width_um are left out, and so are the bins that not every
// scan line of the band reaches (at a tilted interface, the ends of the map).
BandProfile bandProfileAlong(const Map& map, const InterfaceCurve& curve, double half_width_um,
                             double step_um);

}  // namespace ionmap::spm
