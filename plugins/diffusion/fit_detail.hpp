// The parts of fitDiffusion that are not the fit itself, exposed for fit.cpp and tests: the
// coarse problems its starts are solved on (coarse_problems.cpp), and the bookkeeping of its
// intervals (intervals.cpp). Not part of the plugin's interface.
#pragma once

#include <ceres/ceres.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "diffusion/bdf2.hpp"
#include "diffusion/fit.hpp"
#include "diffusion/fit_problem.hpp"

namespace ionmap::diffusion::detail {

constexpr int kCoarseMinCells = 48;  // the coarsest level keeps at least this many a side
// The stop of the check refits (FitOptions::stop_decrease): a check needs its
// optimum to a fraction of a standard error, not more: a Gauss–Newton step that would lower χ²
// by less than 0.1 leaves it within about 0.3 standard errors.
constexpr double kCheckStopDecrease = 0.05;
// solveNear's acceptance for a profile-likelihood point (½χ² units): a Gauss–Newton step that
// would lower χ² by at most 1 (on the predicted trace the step is a small fraction of a
// standard error, and the point's Δχ² is known to a few hundredths, against the 0.19
// tolerance of the interval's level).
constexpr double kProfileStepAccept = 0.5;
// The grain network's coarse level: this many times fewer time steps (from 32 steps on).
constexpr int kCoarseTimeFactor = 8;

// The fit problem binned 2 × 2: each coarse cell takes the grain (and source-region flag) that
// covers most of its block, ties to the smaller label; f is the 1/σ²-weighted mean of the
// block's usable pixels with σ = 1/√Σσ⁻²; a block with none is masked. Cell size doubles;
// a last odd row or column makes a half-filled block.
struct Coarse {
  Image<double> f, sigma;
  Image<std::uint8_t> mask;
  FitOptions options;
};

Coarse coarsen(const Image<double>& f, const Image<double>& sigma, const Image<std::uint8_t>& mask,
               const FitOptions& o);
// The observation-model problem (labels s times finer than f) seen at f's own resolution: each
// cell takes the grain that covers most of its s × s block (ties to the smaller label), the
// staircase factors are made anew for that grid. The cheap start of the fine fit.
Coarse majorityProblem(const Image<double>& f, const Image<double>& sigma,
                       const Image<std::uint8_t>& mask, const FitOptions& o);

// The search bounds of fitted parameter i, in fit space.
std::pair<double, double> boundsOf(const Layout& l, const FitOptions& o, int i);
// A side of an interval that reaches the parameter's search bound is open: the data do not
// close it inside the range searched (a bound, not a limit).
void closeAtBounds(ProfileInterval& pi, double lo, double hi);
// Moves the interval's closed sides to `low` and `high`, within the search bounds [lo, hi];
// a side that lands on its bound becomes open. Open sides stay as they are.
void widenInterval(ProfileInterval& pi, double low, double high, std::pair<double, double> bounds);
// Another optimum that the data cannot tell from the reported one: each parameter from `first`
// on gets an interval that also holds the other optimum's own interval, and the difference
// joins its systematic and standard errors (intervals.cpp).
void allowForOptimum(FitResult& res, const std::vector<double>& other, const Layout& l,
                     const FitOptions& o, std::size_t first);
// The quantile of χ² with one degree of freedom at probability p.
double chi2Quantile1(double p);

// One bounded solve of the fit problem and what it left.
struct Run {
  std::vector<double> x;
  ceres::Solver::Summary summary;
  int evaluations = 0;
  std::unique_ptr<MapCost> cost;  // kept: its cached runs serve the covariance
};

// Bounded solves on one fit's options, layout, data and workspaces (solve.cpp).
class Solver {
 public:
  Solver(const FitOptions& o, const Layout& l, const Data& data, bdf2::WorkspacePool& pool);
  // From r.x (moved onto the bounds when outside); `held` ≥ 0 keeps that parameter constant;
  // `before`: a solve on the same model whose runs this one may reuse.
  void solve(const Model& m, Run& r, int held, const Run* before = nullptr) const;
  // A solve from a point close to the optimum: one run at r.x and the Gauss–Newton step from
  // there (`held` fixed). When the step stays inside the bounds, would lower the cost (½χ²)
  // by at most `accept` × max(1, χ²/ν) and moves no parameter i by more than max_step[i]
  // (when given), r ends at the stepped point with the cost the step predicts (where the model
  // is linear over the step, the next run would confirm it); otherwise the solve continues as
  // solve() does, from r.x, whose run it reuses.
  void solveNear(const Model& m, Run& r, int held, double accept,
                 const std::vector<double>* max_step = nullptr) const;
  const FitOptions& options() const { return o_; }
  const Layout& layout() const { return l_; }
  const Data& data() const { return data_; }
  bdf2::WorkspacePool& pool() const { return pool_; }

 private:
  // Moves x onto the search bounds where it lies outside them.
  void clampToBounds(std::vector<double>& x) const;
  const FitOptions& o_;
  const Layout& l_;
  const Data& data_;
  bdf2::WorkspacePool& pool_;
};

// Standard errors, correlations, condition number and the cluster-robust scale from the
// Jacobian at the optimum, and the best-fit map (map_width × map_height) (covariance.cpp).
void covarianceAtOptimum(FitResult& res, const Run& b, const Data& data, const FitOptions& o,
                         int map_width, int map_height);
// The cluster-robust scale widens the standard errors and the closed sides of the intervals.
void widenForClusters(FitResult& res, const Layout& l, const FitOptions& o);
// Cost profiles on o.profile_points steps of each rate parameter (profiles.cpp).
void costProfiles(FitResult& res, const Solver& solver, const Model& model, const Run& b);
// Profile-likelihood intervals at o.interval_level (profiles.cpp). Returns per side (parameter
// i's lower side at 2i, upper at 2i + 1) the parameters of the farthest point it re-optimised
// (empty when none).
std::vector<std::vector<double>> profileIntervals(FitResult& res, const Solver& solver,
                                                  const Model& model, const Run& b);
// Systematic errors from refits with the labels shifted by one cell (systematics.cpp).
void labelShiftErrors(FitResult& res, const Solver& solver, const Model& model, const Run& b,
                      bool one_at_a_time);
// D_b as a lower bound where the label grid cannot resolve its signal (systematics.cpp).
// `d_high`: the parameters of the farthest point of D_b's upper profile side (or empty), where
// the refit with D_b held high starts.
void boundDBulkWhereUnresolved(FitResult& res, const Solver& solver, const Model& model,
                               const Run& b, const std::vector<double>& d_high);

}  // namespace ionmap::diffusion::detail
