#include "spm/potential.hpp"

#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::spm {

ReferencedPotential referencePotential(const Map& cpd, bool invert,
                                       const Image<std::uint8_t>* region) {
  ReferencedPotential r;
  r.map = cpd;
  r.map.name = "surface potential";
  if (invert) {
    for (double& v : r.map.values.values()) v = -v;
  }
  if (!region) return r;
  if (!region->sameSize(cpd.values)) {
    throw ProcessingError(
        fmt::format("the reference region is {} x {} px, the map {} x {}: "
                    "resample it onto the map's grid",
                    region->width(), region->height(), cpd.width(), cpd.height()));
  }
  double sum = 0, sum2 = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < r.map.values.size(); ++i) {
    const double v = r.map.values[i];
    if (!(*region)[i] || !r.map.mask[i] || !std::isfinite(v)) continue;
    sum += v, sum2 += v * v, ++n;
  }
  if (n == 0) throw ProcessingError("the reference region holds no valid pixel of the map");
  r.reference = sum / n;
  r.reference_pixels = n;
  r.reference_error =
      n > 1 ? std::sqrt(std::max(0.0, (sum2 - n * r.reference * r.reference) / (n - 1)) / n) : 0;
  for (double& v : r.map.values.values()) v -= r.reference;
  return r;
}

}  // namespace ionmap::spm
