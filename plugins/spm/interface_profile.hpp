// Potential profiles across interfaces (cross-sectional KPFM): the map averaged over a band
// along a line, with the standard error of each point, and the interfaces of that profile fitted
// with two models on a common linear (ohmic) slope:
//   blurred step:  V(s) = V0 + g·s + Σ_j ΔV_j · Φ((s − s_j)/w_j)   (Φ: normal CDF; w: the
//                  step's width, tip resolution and the interface's own width together)
//   space charge:  V(s) = V0 + g·s + Σ_j ΔV_j · L_j(s), L_j rising as exp((s − s_j)/λL_j) on
//                  the left and settling as exp(−(s − s_j)/λR_j) on the right (the asymmetric
//                  Laplace CDF: the potential of two space-charge layers of decay lengths λL, λR)
// Fits are weighted least squares (Ceres); standard errors from the curvature at the optimum;
// the models are compared by AIC and BIC.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap::spm {

// A line from (x0, y0) to (x1, y1) in the map's physical coordinates (µm).
struct ProfileLine {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double length() const;
};

struct BandProfile {
  std::vector<double> s;      // µm from the line's start, mean of each bin's pixels
  std::vector<double> value;  // mean over the band
  std::vector<double> se;     // standard error of the mean (sd / sqrt(pixels))
  std::vector<double> pixels;
  std::string unit;
};

// Valid pixels within `half_width_um` of the line (perpendicular distance) and between its ends,
// binned by their distance along it in bins of `step_um`; bins with fewer than 3 pixels are left
// out. Throws ProcessingError when fewer than 8 bins remain (a line off the map, a band too
// narrow).
BandProfile bandProfile(const Map& map, const ProfileLine& line, double half_width_um,
                        double step_um);

// Values binned by their coordinate s in [0, length) into bins of `step`; finish() keeps bins of
// 3 or more values with their mean, standard error and mean coordinate, and throws
// ProcessingError when fewer than 8 remain. Values given their scan line (>= 0; for profiles that
// cross the scan lines) have each line's mean offset from the bin means taken out before the
// spread: an offset common to a whole line shifts all bins alike and is no error of the profile's
// shape.
class ProfileBins {
 public:
  ProfileBins(double length_um, double step_um);
  // Ignored outside [0, length) or when not finite; scan_line -1 = none.
  void add(double s, double value, int scan_line = -1);
  BandProfile finish(const std::string& unit) const;

 private:
  struct Entry {
    int bin, line;
    double s, value;
  };
  double step_;
  int bins_;
  std::vector<Entry> entries_;
};

enum class InterfaceModel { kBlurredStep, kSpaceCharge };
const char* modelName(InterfaceModel m);

struct InterfaceFitOptions {
  int interfaces = 1;
  // Starting positions along the line (µm); empty = the steepest changes of the profile.
  std::vector<double> initial_positions_um;
  int max_iterations = 200;
  bool IsValid(std::string* error) const;
};

struct FittedValue {
  std::string name, unit;
  double value = 0, standard_error = 0;
};

struct InterfaceFit {
  InterfaceModel model = InterfaceModel::kBlurredStep;
  std::vector<FittedValue> values;  // V0, slope, then per interface: dV_j, s_j, width_j or
                                    // lambda_left_j, lambda_right_j
  std::vector<double> prediction;   // at the profile's points
  double chi2 = 0, reduced_chi2 = 0, aic = 0, bic = 0;
  int points = 0, parameters = 0;
  bool converged = false;
  const FittedValue& value(const std::string& name) const;
};

// Throws UsageError for invalid options and ProcessingError when the profile has too few points
// for the model.
InterfaceFit fitInterfaces(const BandProfile& profile, InterfaceModel model,
                           const InterfaceFitOptions& options);

// Throws ProcessingError unless the map is a potential (unit V, mV, uV or kV): a height or
// phase channel bound by mistake is named with what to do.
void requirePotential(const Map& map);

// Positions (µm) of the `n` steepest changes of the profile, at least 4 points apart.
std::vector<double> steepestChanges(const BandProfile& profile, int n);

}  // namespace ionmap::spm
