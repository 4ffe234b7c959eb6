// FitOptions::IsValid: the fit's settings checked once, before any data are read (preflight)
// and on entry to fitDiffusion.
#include <cmath>

#include <fmt/format.h>

#include "diffusion/fit.hpp"

namespace ionmap::diffusion {
namespace {

// A start outside its search bounds is a mistake in the settings, never something to clamp.
std::string outside(const char* what, double value, double lo, double hi, const char* unit) {
  if (value >= lo && value <= hi) return "";
  return fmt::format(
      "the initial {} = {:g} {} is outside the fit bounds [{:g}, {:g}] {} (1 cm = 1e4 um)", what,
      value, unit, lo, hi, unit);
}

std::string problemOf(const FitOptions& o) {
  const Physics& s = o.initial;
  if (!(s.D_b > 0 && s.kappa > 0)) return "the initial D_b and kappa must be > 0";
  if (o.fit_surface_exchange && !(s.k_surface > 0))
    return "fitting k (fit_surface_exchange) needs a starting k (surface_exchange) > 0";
  if (!(s.k_surface >= 0)) return "k (surface_exchange) must be >= 0";
  const double dlo = std::pow(10.0, o.log10_min_D), dhi = std::pow(10.0, o.log10_max_D);
  const double klo = std::pow(10.0, o.log10_min_kappa), khi = std::pow(10.0, o.log10_max_kappa);
  if (!(dlo < dhi && klo < khi)) return "the search bounds of D_b and kappa are empty";
  for (const std::string& why :
       {outside("D_b", s.D_b, dlo, dhi, "um^2/s"), outside("kappa", s.kappa, klo, khi, "um/s"),
        o.fit_surface_exchange ? outside("k", s.k_surface, klo, khi, "um/s") : std::string(),
        outside("f_s", s.f_s, 0, 1, ""), outside("f_bg", s.f_bg, 0, 1, "")}) {
    if (!why.empty()) return why;
  }
  if (!(o.decades >= 0 && o.decades <= 4)) return "decades must be in [0, 4]";
  if (o.max_iterations < 1) return "max_iterations must be at least 1";
  if (o.profile_points == 1 || o.profile_points == 2 || o.profile_points < 0)
    return "profile_points must be 0 (no profile) or at least 3";
  if (!(o.profile_sigmas > 0)) return "profile_sigmas must be > 0";
  if (!(o.interval_level >= 0 && o.interval_level < 1)) return "interval_level must be in [0, 1)";
  if (o.subsample < 1) return "subsample must be at least 1";
  if (!(o.boundary_sigma_um >= 0)) return "the boundaries' position error must be >= 0";
  if (!(o.boundary_blur_um >= 0)) return "the boundaries' blur must be >= 0";
  if (o.label_ensemble < 0) return "label_ensemble must be >= 0";
  if (!(o.domain.time > 0)) return "the exchange time must be > 0";
  if (o.domain.steps < 2) return "the model needs at least 2 time steps";
  if (!(o.domain.reservoir_um >= 0)) return "the reservoir thickness must be >= 0";
  return "";
}

}  // namespace

bool FitOptions::IsValid(std::string* error) const {
  const std::string why = problemOf(*this);
  if (error) *error = why;
  return why.empty();
}

}  // namespace ionmap::diffusion
