// The parts of fitDiffusion that are not the fit itself, exposed for fit.cpp and tests: the
// coarse problems its starts are solved on (coarse_problems.cpp), and the bookkeeping of its
// intervals (intervals.cpp). Not part of the plugin's interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "diffusion/fit.hpp"
#include "diffusion/fit_problem.hpp"

namespace ionmap::diffusion::detail {

constexpr int kCoarseMinCells = 48;  // the coarsest level keeps at least this many a side
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

}  // namespace ionmap::diffusion::detail
