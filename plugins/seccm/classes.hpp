// Orientation (or any) classes of SECCM landings and the statistics between them: each landing is
// placed on a reference label image (TEM domains, EBSD classes) through a transform, gets the
// class most of its contact disk covers, the share of the disk in it, the domain it sits in
// (a connected region of one class) and its distance to the nearest other class; then per
// class n, mean, median, IQR and a bootstrap interval, and per pair of classes Welch's t and
// Mann–Whitney U with effect sizes (Holm-corrected over the pairs) and a block bootstrap that
// resamples domains, since landings in one domain are not independent.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/table.hpp"
#include "ionmap/core/transform2d.hpp"

namespace ionmap::seccm {

struct ClassOptions {
  double radius_um = 0.5;          // contact disk radius (for the class shares)
  double min_share = 0.75;         // landings with less of their disk in one class: "boundary"
  std::vector<std::string> names;  // of classes 1, 2, …
  double level = 0.95;
  int resamples = 2000;
  bool IsValid(std::string* error) const;
};

struct LandingClass {
  double x = 0, y = 0;    // µm, on the landing map's grid
  double rx = 0, ry = 0;  // µm, on the reference
  double value = 0;
  int cls = 0;             // 0: off the reference or unlabelled
  double share = 0;        // of the contact disk in that class
  int domain = 0;          // connected region of that class on the reference (0: none)
  double boundary_um = 0;  // distance from the centre to the nearest pixel of another class
};

// Every valid pixel of `values` (one per landing, e.g. the conductivity map of seccm-analyse)
// placed through `to_reference` (landing-map µm → reference µm) on `classes` (> 0 = class).
std::vector<LandingClass> assignClasses(const Map& values, const LabelMap& classes,
                                        const Transform2D& to_reference, const ClassOptions& o);

struct ClassTables {
  Table per_class;    // class, name, n, mean, sd, median, q1, q3, ci_lo, ci_hi, domains
  Table comparisons;  // per pair: difference, Welch t/p/Holm, Cohen's d, U/p/Holm, Cliff's
                      // delta, block bootstrap difference/se/CI/p/Holm with blocks per class
  Table by_distance;  // distance bins from the boundary: n, mean, CI
};
// Throws ProcessingError when fewer than 2 classes have 2 or more landings.
ClassTables classStatistics(const std::vector<LandingClass>& landings, const ClassOptions& o,
                            const std::string& unit);

// The headline numbers as a table of named quantities (for campaigns: pooled over maps): per
// class `mean_<name>` with a standard error that treats each domain as one cluster (landings of
// one domain are not independent: CR1 sandwich over domains), and per pair
// `difference_<a>_<b>` with the block bootstrap's error and `block_p_<a>_<b>`.
Table classSummary(const std::vector<LandingClass>& landings, const ClassTables& tables,
                   const ClassOptions& o, const std::string& unit);

}  // namespace ionmap::seccm
