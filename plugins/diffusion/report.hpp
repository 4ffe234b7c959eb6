// What the diffusion fit reports, as plain functions the stage calls and tests can call: the
// parameter table (each quantity with its unit, standard error, interval and systematic error,
// or reported as a bound), the depth profile of measured and model fraction, the cost profiles
// — and their plots. Physical units here (cm²/s, cm/s, µm); the models work in µm and s.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "diffusion/diagnostics.hpp"
#include "diffusion/fit.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/table.hpp"

namespace ionmap::diffusion {

constexpr double kUm2PerCm2 = 1e8;  // D: cm²/s → µm²/s
constexpr double kUmPerCm = 1e4;    // κ, k: cm/s → µm/s

struct FitReportSettings {
  std::string model, source_edge;  // names, for the table's description
  double time_s = 0;               // exchange time
  double delta_nm = 1;             // boundary width for D_gb = κ·δ
  bool surface_exchange = false;   // report k (Robin source)
  bool reservoir = false;          // report the finite reservoir's fraction at the end
};

struct FitReport {
  Table table;  // "diffusion fit": one row per quantity, with its unit
  std::vector<std::pair<std::string, std::string>> notes;  // one-line summaries for the log
  std::vector<std::string> warnings;  // parameters the map bounds but does not measure
};

// The parameter table. Linear values with standard errors from the log-space covariance
// (σ_x = x ln10 σ_log10x, first order); `estimate` says "interval" (value ± standard error,
// ci95 from the profile likelihood), "lower bound" / "upper bound" (value is the limit; the map
// does not close the other side), "not identified", "fixed", "diagnostic" or "verdict".
FitReport fitReport(const FitResult& r, const ResidualDiagnostics& diag, const Verdict& verdict,
                    const FitReportSettings& s);

// Facts about the fit for the results' notes: verdict, residual diagnostics, convergence, model
// runs and memory, the labels' preferred offset (cell_um: the model cell), χ²/ν, and the other
// optima the result depends on ("log10_D_b = …, log10_kappa = …").
std::vector<std::pair<std::string, std::string>> fitNotes(const FitResult& r,
                                                          const ResidualDiagnostics& diag,
                                                          const Verdict& verdict, double cell_um);

// (f − model)/σ where the pixel was usable (mask, finite f, σ > 0), with σ the one the fit used.
Map residualMap(const Map& f, const Map& sigma, const Image<std::uint8_t>& mask,
                const FitResult& r);

// Depth of every cell from the source, in whole cells (−1 inside a source region): the line
// index parallel to an edge source, or the 4-connected step count from a source region.
std::vector<int> depthMap(const Domain& d);

// Measured and model 6Li fraction averaged over the lines at each distance from the source
// (d: the map's own grid), with the number of measured pixels per line.
Table depthProfile(const Map& f, const Image<std::uint8_t>& mask, const Image<double>& model,
                   const Domain& d);
// Its plot: measured (points) and model (line) against distance.
void writeDepthPlot(const Table& profile, const Domain& d, const std::filesystem::path& png);

// The cost profiles in physical units (parameter, value, unit, Δχ²); empty without profiles.
Table costProfileTable(const FitResult& r);
// One plot per profiled parameter: <prefix>-D_bulk.png, <prefix>-kappa.png, ...
void writeCostProfilePlots(const FitResult& r, const std::filesystem::path& prefix);

}  // namespace ionmap::diffusion
