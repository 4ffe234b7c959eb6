// Fitting D_b and the boundary permeance κ (and optionally the surface exchange k, f_s, f_bg)
// to a measured 6Li-fraction map with Ceres, residuals weighted by σ_f. Parameters are
// searched in log space within bounds; the Jacobian is exact for the discrete model (one
// run with its tangent-linear sensitivities per evaluation, model.hpp), and a multi-start over
// initial guesses spread over decades runs in parallel (TBB), coarse-to-fine on large maps.
// Results do not depend on the thread count beyond round-off.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "diffusion/model.hpp"

namespace ionmap::diffusion {

enum class ModelKind { kGrid, kNetwork };

struct FitOptions {
  Domain domain;  // labels, cell size, source edge, exchange time, steps
  ModelKind model = ModelKind::kGrid;
  Physics initial;                    // starting values (µm, s units)
  bool fit_surface_exchange = false;  // fit k (Robin) instead of a fixed surface
  bool fit_f_s = true, fit_f_bg = false;
  double decades = 1.0;  // multi-start: D_b and κ at initial × 10^{−d, 0, +d}
  // bounds of D_b, µm²/s: 1e-14 … 1e-5 cm²/s (no solid conducts Li faster; beyond it the
  // grains of any map are well mixed and the cost is flat in D_b)
  double log10_min_D = -6, log10_max_D = 3;
  double log10_min_kappa = -8, log10_max_kappa = 4;  // bounds of κ and k, µm/s
  int max_iterations = 50;                           // Levenberg–Marquardt iterations per start
  // Statistical stop: a start ends when the full Gauss–Newton step from the accepted point would
  // lower the cost (½χ²) by less than this × max(1, χ²/n), i.e. the point is within about
  // √(2·0.005) ≈ 0.1 standard errors of the optimum. 0 = only Ceres' relative tolerances.
  double stop_decrease = 0.005;
  // Ceres' dogleg trust region instead of Levenberg–Marquardt. For refits that start at a
  // nearby optimum (the shifted-label members, the check refits): where their optimum lies
  // along the curved D_b–κ valley, Levenberg–Marquardt overshoots and rejects step after step
  // (256² independent case: 29 runs for the labels moved towards the source, 16 with dogleg);
  // from far starts (the multi-start grid) Levenberg–Marquardt takes fewer.
  bool dogleg = false;
  // Coarse-to-fine. Grid model (nine starts on maps of at least 96 cells a side, a single
  // start from 384): the starts are solved on the map binned 2 × 2 (labels by majority, f
  // weighted by 1/σ², recursively), and the best coarse optimum seeds one fit on the full
  // grid. Grain network (32 time steps or more): the starts are solved with an eighth of the
  // time steps first. Same optimum, far fewer full runs.
  bool coarse_start = true;
  // A single start on the grid goes coarse-to-fine from this many cells a side (at 512² it then
  // needs 3 full-grid runs instead of 7; at 256² it gains nothing); the binned levels below go
  // on binning while they can.
  int coarse_single_start_cells = 384;
  int profile_points = 0;     // cost profile points per rate parameter (0 = none, else ≥ 3)
  double profile_sigmas = 3;  // profile half-width in standard errors (at most 1 decade)
  // Observation model: the domain's labels are `subsample` times finer per side than f (the
  // same field), and each pixel of f is predicted as the mean of the model over its
  // subsample² cells, so pixels that straddle a boundary are data, not guesses (grid model,
  // edge source only).
  int subsample = 1;
  // Uncertainty of the boundaries' positions (µm, 1σ, along their normals) from segmentation
  // and registration, with the observation model: a shift δ of a boundary between grains of
  // fractions f_a, f_b changes the mean of a pixel it crosses by (f_a − f_b)·(true length in
  // the pixel)·δ / (pixel area). That variance, from the model at the start of the fine fit, is
  // added to σ_f² of each pixel (errors in the positions, not only in the counts). 0 = none.
  double boundary_sigma_um = 0;
  // With the observation model: the model is blurred by a Gaussian of this standard deviation
  // (µm) before each pixel's mean is taken — what it predicts on average when each boundary
  // lies where drawn ± this error. A pixel the drawn boundary crosses then sees the step's
  // expected profile, not the drawn step: least squares on drawn steps whose positions scatter
  // would shrink the modelled jumps across boundaries (errors in the regressors attenuate
  // them) and so bias κ high. 0 = none.
  double boundary_blur_um = 0;
  // Weights from the model, not from each pixel's own noise: σ_f² of a fraction is
  // ∝ f(1 − f) at a given number of counts, so σ_f computed from the measured f is smaller
  // where the noise happened to push f towards 0 or 1, and a fit weighted by it is pulled that
  // way (near f_s = 0.95 by about σ_f² · d ln w/df ≈ +5e-4). With a start from a cheaper
  // problem's optimum (coarse-to-fine, observation model), each pixel's σ_f² is scaled by
  // m(1 − m) / (f(1 − f)) with m the model there (the ratio kept within [1/4, 4]).
  bool variance_from_model = false;
  // Profile-likelihood intervals at this confidence for every fitted parameter (0 = none): the
  // parameter is stepped out from the optimum with the others re-optimised until Δχ² reaches
  // the χ²(1) quantile; a side whose profile stays below it up to the search bound is open
  // (the parameter is only bounded from the other side, or not identified at all).
  double interval_level = 0.95;
  // Scale χ² differences and standard errors by max(1, χ²/ν) (a misfit taken as extra noise).
  bool scale_by_chi2 = false;
  // Bytes the grid model's runs may hold at once (0 = no limit): a run holds a factorisation
  // of the grid, so the runs that go at once (starts, profiles, refits) are as
  // many as fit in it, and a grid whose single run does not fit is refused before it starts.
  std::uint64_t memory_budget = 0;
  // When set, what is left of the budget when the runs are about to start (after the fit's own
  // set-up: its models, orderings and data), used instead of memory_budget.
  std::function<std::uint64_t()> memory_left;
  // Systematic error from where the labels sit (grid model): > 0 refits with the labels moved
  // by one cell along ±x and ±y (FitResult::systematic_errors). 0 = none.
  int label_ensemble = 0;
  // Observation model with an edge source: which grains touch the source is decided by the
  // data where the labels' first row of cells along the edge is in doubt (edge_contacts.hpp):
  // the edits the residuals ask for are tried at the fit's optimum on the labels as drawn,
  // those that lower χ² by more than kEdgeEditGain are kept, and the fit runs again on the
  // edited labels from there.
  bool edge_contacts = false;
  // Observation model: boundary_blur_um is measured by the data instead of given. At the fit's
  // optimum, refits with the blur at 0, ½ and 1 cell give χ² against the blur's square (the
  // blur's leading effect is ∝ b²: a parabola whose minimum is where the blur matches the
  // drawn boundaries' real scatter — least squares predicts each pixel by its expected value
  // there); the fit then runs again at that blur from the optimum (fitDiffusion's result
  // carries it in boundary_blur_*).
  bool fit_boundary_blur = false;
  // When not empty (fit space, the Layout's order): the fit's one start, instead of the
  // multi-start grid or a cheaper problem (the fit on edge-edited labels starts where the fit
  // on the drawn ones had got to).
  std::vector<double> start_from;

  // The options' one check, in the spirit of Ceres' Options::IsValid: false, with the reason in
  // *error, when these settings cannot be fitted whatever the data (a start outside the search
  // bounds, k fitted from 0, too few profile points, ...). The fit stage's preflight calls it
  // on the options as bound; fitDiffusion calls it once on entry and trusts them after.
  bool IsValid(std::string* error) const;
};

// A profile-likelihood interval in fit space (log10 for rates).
// D_b is identified only when the grains' internal gradients exceed this many times the
// label cell's share of a grain (h/d): see FitResult::d_bulk_signal.
inline constexpr double kDBulkSignalPerCellFraction = 2.0;

struct ProfileInterval {
  double low = 0, high = 0;
  bool low_open = false, high_open = false;  // the profile never reached the level on that side
  int evaluations = 0;                       // re-optimised profile points
};

// The cost along one parameter with the others re-optimised.
struct CostProfile {
  std::string name;                // fitted parameter (log10 of a rate)
  std::vector<double> values;      // in fit space
  std::vector<double> delta_chi2;  // 2 (cost − best cost) / max(1, χ²/n)
};

struct FitResult {
  Physics best;
  std::vector<std::string> names;          // fitted parameters, in order
  std::vector<double> values;              // in fit space (log10 for rates)
  std::vector<double> standard_errors;     // in fit space, cluster-robust (× robust_scale)
  std::vector<double> statistical_errors;  // from (JᵀJ)⁻¹ alone (independent pixels)
  // Per parameter, ≥ 1: how much wider the grain-clustered (sandwich) covariance is than
  // (JᵀJ)⁻¹, i.e. the share of the error that comes from whole grains missed together (labels,
  // boundaries); applied to standard_errors and to the intervals. Empty: not computed.
  std::vector<double> robust_scale;
  // Per parameter (fit space): the systematic error from where the labels sit (see
  // FitOptions::label_ensemble), included in standard_errors and intervals. Empty: none.
  std::vector<double> systematic_errors;
  // The label offset (cells, x and y) the data prefer, from the shifted refits (0: none made).
  std::array<double, 2> label_offset_cells{0, 0};
  std::vector<std::vector<double>> correlation;
  double cost = 0;  // ½ Σ r²
  double reduced_chi2 = 0;
  std::size_t residuals = 0;
  int evaluations = 0;             // model runs, all levels
  int coarse_evaluations = 0;      // of which on binned grids (coarse-to-fine)
  int interval_evaluations = 0;    // of which for the profile-likelihood intervals
  int systematic_evaluations = 0;  // of which for the labels' systematic error
  // Wall-clock seconds per part of the work, in the order done ("start (cheaper problem, model
  // set-up)", "fit", "profile intervals", ...; the stage adds its check refits): where the
  // time goes (note `seconds_split`).
  std::vector<std::pair<std::string, double>> seconds;
  // Grid model: the memory one model run holds (bytes) and how many went at once (the pool's
  // workspaces: at most the threads, or what memory_budget allows).
  std::uint64_t bytes_per_run = 0;
  std::size_t runs_at_once = 0;
  double condition_number = 0;  // of the weighted Jacobian
  double biot = 0;              // κ d / D_b with d the mean grain size
  double mean_grain_um = 0;     // d: mean equivalent diameter of the grains, µm
  // D_b's signal: the grains' internal gradients relative to the boundary jumps,
  // max(Bi, d²/(D_b t)) at the upper end of D_b's interval; below `needed` (=
  // kDBulkSignalPerCellFraction · h/d, what the label grid resolves) D_b's interval is open
  // upwards: a lower bound.
  double d_bulk_signal = 0, d_bulk_signal_needed = 0;
  // The optimum of the cheaper problem the fit started from (majority labels on the map's
  // grid for the observation model, or the 2 × 2-binned problem); empty when none was solved.
  std::vector<double> coarse_values;
  // When D_b is only a lower bound: the refit with D_b held 100× higher (fit space, same
  // order as names), whose own intervals the other parameters' intervals were widened to hold.
  std::vector<double> uniform_grain_values;
  // The refit without the pixels of grains the residual diagnostics flagged
  // (allowForSuspectGrains), fit space; empty when none was made.
  std::vector<double> without_suspect_values;
  // The refit without the pixels next to a boundary (allowForBoundaryPixels), fit space; empty
  // when none was made.
  std::vector<double> without_boundary_values;
  // The refit on the model grid twice as fine (allowForFinerGrid), fit space; empty when none.
  std::vector<double> finer_grid_values;
  bool converged = false;
  std::string report;                 // Ceres' brief report of the best start
  std::vector<std::string> warnings;  // plain-language identifiability warnings
  Image<double> model;                // best-fit f on the grid
  Image<double> sigma_used;           // σ of each residual as fitted (σ_f ⊕ boundary positions)
  // variance_from_model: whether the weights came from the model at the fit's start, and how
  // many pixels' variance ratio (model over data) was limited to [1/4, 4] (data far from that
  // model: those pixels keep at most 4x or at least 1/4 of their own variance).
  bool model_weights = false;
  std::size_t model_weights_limited = 0;
  double source_final = 0;                 // source fraction at the end (f_s unless a reservoir)
  std::vector<CostProfile> profiles;       // when FitOptions::profile_points ≥ 3
  std::vector<ProfileInterval> intervals;  // per fitted parameter (FitOptions::interval_level)
  double interval_level = 0;
  // Goodness of fit: z of χ² against its distribution for ν = residuals − parameters
  // ((χ² − ν)/√(2ν)); the χ² scale applied to intervals and errors (1 unless scale_by_chi2).
  double chi2_z = 0, chi2_scale = 1;
  // Starts that ended at clearly different optima (Δχ² > 4 above the best, both converged), and
  // profile points that found a lower cost than the reported optimum (Δχ² < −1).
  int disagreeing_starts = 0;
  double profile_improvement = 0;  // most negative Δχ² seen on a profile (0 = none)
  // Fitted parameters that ended on a search bound (names).
  std::vector<std::string> on_bound;
  // FitOptions::edge_contacts: the edits tried and kept (describeEdgeEdits); empty when none
  // were tried.
  std::string edge_contacts;
  // The blur the model was observed with (FitOptions::boundary_blur_um), and when the data
  // measured it (fit_boundary_blur): its standard error (from χ²'s curvature, Δχ² = 1; NaN
  // when not measured) and how (the refits' blurs and χ²).
  double boundary_blur_um = 0, boundary_blur_se_um = std::numeric_limits<double>::quiet_NaN();
  std::string boundary_blur;
};

// `f` and `sigma` on the domain's grid; pixels with mask 0 (or non-finite values, σ ≤ 0) and
// pixels inside the domain's source region (held at f_s by the model) are excluded. Throws
// UsageError for grids that disagree, or when no pixel is usable.
FitResult fitDiffusion(const Image<double>& f, const Image<double>& sigma,
                       const Image<std::uint8_t>& mask, const FitOptions& options);

// How much the result leans on grains whose labels are suspect (`suspect`: the grains the
// residual diagnostics flagged, most often two grains merged by the segmentation near where
// the data constrain a parameter): refits from the optimum with their pixels (`map_labels` on
// the map's grid) left out of the residuals, widens every interval to hold that refit's own
// interval and adds the shift to the systematic and standard errors. The refit's values go to
// r.without_suspect_values (nothing is done when no usable pixel belongs to those grains).
void allowForSuspectGrains(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                           const Image<std::uint8_t>& mask, const Image<std::int32_t>& map_labels,
                           const std::vector<std::int32_t>& suspect, const FitOptions& options);

// How much the result leans on the pixels next to a boundary (within `margin` pixels of a face
// between different `map_labels`), where errors in the labels act: segmentation and
// registration misplace boundaries, and the model then misreads those pixels as in-grain
// gradients or as the boundaries' jumps. Refits from the optimum without them and, like
// allowForSuspectGrains, widens every interval to hold that refit's interval, adding the
// shift to the systematic and standard errors; the values go to r.without_boundary_values.
// Returns the largest shift of a rate parameter (D_b, κ, k) in its statistical standard
// errors (0 when nothing was left out).
double allowForBoundaryPixels(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                              const Image<std::uint8_t>& mask,
                              const Image<std::int32_t>& map_labels, int margin,
                              const FitOptions& options);

// How much the result depends on the model's own grid (its discretisation error): refits from
// the optimum with `finer` (the same options on splitCells of the domain, subsample doubled) and
// widens every interval to hold that refit's interval, the shift joining the systematic and
// standard errors; the values go to r.finer_grid_values. Returns the largest shift of a rate
// parameter in its statistical standard errors. Throws what fitDiffusion throws (e.g. when one
// run on the finer grid exceeds the memory budget).
double allowForFinerGrid(FitResult& r, const Image<double>& f, const Image<double>& sigma,
                         const Image<std::uint8_t>& mask, const FitOptions& finer);

// The published approach (series model): the depth profile (means over lines parallel to the
// source edge, σ of each mean from the pixels' σ) fitted with a 1D chain of cells whose
// boundaries recur every `grain_size_um` (≤ 0: the labels' mean equivalent diameter, reported
// as mean_grain_um). Needs an edge source. The model comes back spread over the map.
FitResult fitSeries(const Image<double>& f, const Image<double>& sigma,
                    const Image<std::uint8_t>& mask, FitOptions options, double grain_size_um);
// The series model's 1D chain for a map: one cell per line parallel to the source edge, its
// grains `grain_size_um` long, the source on the left.
Domain seriesDomain(const Domain& map, double grain_size_um);

// Lines parallel to the source edge of a w × h map, and the line of pixel (x, y) (0 = the line
// touching the source).
int depthLines(Edge source, int w, int h);
int depthOf(Edge source, int w, int h, int x, int y);

// Mean equivalent diameter sqrt(4A/π) of the labelled regions (every label, 0 included), µm.
double meanGrainSize(const Image<std::int32_t>& labels, double h);

// f per cell from either model (the network's grain values spread over their cells).
Image<double> forward(const Domain& domain, const Physics& physics, ModelKind kind);

}  // namespace ionmap::diffusion
