// Semi-infinite reference solutions (PHYSICS.md §1) for checking the models.
#include "diffusion/model.hpp"

#include <cmath>

namespace ionmap::diffusion {

double erfcx(double x) {
  if (x < 0) return 2 * std::exp(x * x) - erfcx(-x);
  if (x < 25) return std::exp(x * x) * std::erfc(x);
  const double x2 = x * x;
  return 1 / (x * std::sqrt(M_PI)) *
         (1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2));
}

double analyticDirichlet(double x, double D, double t) {
  return std::erfc(x / (2 * std::sqrt(D * t)));
}

double analyticSurfaceExchange(double x, double D, double k, double t) {
  const double xi = x / (2 * std::sqrt(D * t)), h = k / D;
  return std::erfc(xi) - std::exp(-xi * xi) * erfcx(xi + h * std::sqrt(D * t));
}

}  // namespace ionmap::diffusion
