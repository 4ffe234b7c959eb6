// Per-landing analysis of SECCM curves: the samples after the capacitive touchdown spike, the
// current at a requested potential or the plateau's mean with its standard error, a straight-line
// fit of I against E (conductance, intercept, R², residual), and a verdict for each landing
// (too few samples, saturated current, no potential range to fit); and the landing grid, on
// which per-landing values become maps with a pitch like any other map.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "ionmap/core/curve_set.hpp"
#include "ionmap/core/map.hpp"

namespace ionmap::seccm {

struct LandingFitOptions {
  double skip_s = 0.005;  // samples within this time of touchdown are left out (capacitive spike)
  // Current at this potential (mean over samples within `potential_tolerance_V` of it); NaN =
  // the mean over every sample kept (a plateau at a held potential).
  double potential_V = NAN;
  double potential_tolerance_V = 0.005;
  double saturation_A = 0;  // |I| at or above this in any kept sample: saturated (0 = no check)
  int min_samples = 5;      // fewer kept samples: failed
  bool IsValid(std::string* error) const;
};

struct LandingResult {
  double x = 0, y = 0;                                   // µm
  int samples = 0;                                       // kept
  double current = NAN, current_se = NAN;                // A
  double conductance = NAN, conductance_se = NAN;        // S (dI/dE)
  double intercept = NAN, r2 = NAN, residual_rms = NAN;  // A, 1, A
  double potential = NAN;                                // V, mean of the kept samples
  // From resistanceAndConductivity():
  double resistance = NAN, resistance_se = NAN;  // Ω
  double conductivity = NAN;                     // S/cm
  double conductivity_se = NAN;                  // S/cm, from this landing's own noise
  double conductivity_systematic_se = NAN;       // S/cm, from the contact's radius, pipette, film
  std::string flag;                              // "" = good; else why the landing is not used
  bool good() const { return flag.empty(); }
};

// How a landing's resistance becomes a local conductivity (PHYSICS.md §2): R = R_pipette +
// R_contact + R_ct, with R_contact = 1/(4 σ a) for a disk of radius a on a thick conductor
// (spreading) or h/(π a² σ) on a film of thickness h ≪ a over a reversible back contact.
struct ContactModel {
  enum class Kind { kNone, kSpreading, kThinFilm } kind = Kind::kNone;
  double radius_um = 0, radius_error_um = 0;
  double pipette_ohm = 0, pipette_error_ohm = 0;
  double charge_transfer_ohm = 0;
  double film_um = 0, film_error_um = 0;
  double rest_potential_V = 0;  // held potentials: R = (E − rest) / I
  bool IsValid(std::string* error) const;
};

// Per landing: R = 1/G where the potential was swept, else (E − rest)/I, with its error; with a
// contact model, σ with its error from the landing's own noise and, apart, the systematic error
// that the radius, the pipette's resistance and the film's thickness give every landing alike
// (what matters for an absolute σ, not for comparing landings of one map). The radius enters
// the thin-film σ squared: its relative error counts twice. A good landing whose resistance is
// not above R_pipette + R_ct gets no σ; returns how many did not.
int resistanceAndConductivity(std::vector<LandingResult>& r, const ContactModel& m);

// Throws UsageError for invalid options and ProcessingError when the curve set lacks a t, E or I
// channel.
std::vector<LandingResult> fitLandings(const CurveSet& curves, const LandingFitOptions& options);

// The contact's radius and the pipette's resistance from calibration landings on two references
// of known conductivity (spreading contact): R = R_pipette + (1/a)·1/(4σ), a straight line in
// 1/(4σ) through the two references' mean resistances; the errors from each mean's standard
// error (the landings' spread / √n) by the delta method. Throws ProcessingError when a
// reference has fewer than 2 resistances or the line gives a radius ≤ 0.
struct Calibration {
  double radius_um = 0, radius_error_um = 0;
  double pipette_ohm = 0, pipette_error_ohm = 0;
  int landings_a = 0, landings_b = 0;
};
Calibration calibrateContact(const std::vector<double>& resistance_a, double sigma_a_S_cm,
                             const std::vector<double>& resistance_b, double sigma_b_S_cm);

// The raster the landings lie on: its pitch along x and y is the median spacing of the distinct
// positions (positions closer than 0.3 of the typical step count as one), the origin the first
// position minus half a pitch. Throws ProcessingError when fewer than 2 distinct
// positions along both axes make no raster.
struct LandingGrid {
  Grid grid;
  std::vector<int> cell;  // per landing: its pixel (row-major), or -1 when another landing has it
  int repeated = 0;       // landings that fell on a cell an earlier one took
};
LandingGrid landingGrid(const std::vector<double>& x, const std::vector<double>& y);

// A map of one value per landing on that grid; cells without a good landing are invalid.
Map landingMap(const LandingGrid& g, const std::vector<LandingResult>& r, const std::string& name,
               const std::string& unit, double (*value)(const LandingResult&));

}  // namespace ionmap::seccm
