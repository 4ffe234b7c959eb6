// Which grains touch the source edge, decided by the data. A grain with any direct contact to
// the source fills almost to f_s (its bulk carries tracer far faster than its boundaries), one
// behind a sliver of another grain only through κ: its level turns on whether the junctions
// and boundaries that run near the edge lie a fraction of a cell inside the sample or outside
// it, which no segmentation draws reliably (the boundary between a grain outside the map and
// one inside, running along the edge, lands on the first row of cells or not). On 20
// independent 256² cases those first rows flagged half the runs as misfits. The candidate
// edits of the labels' first row along the edge:
//   fill  — a run of edge cells whose grain is not the one behind them (a sliver one cell
//           deep) is given to the grains behind: they touch the source there;
//   cover — a grain's contact becomes a grain of its own, one cell
//           thin, between the grain and the source: a sliver of another grain (an outside
//           grain's tip) lies in front of it, or its own tip ends just inside the sample.
// The fit (FitOptions::edge_contacts) runs the edits the residuals ask for at its optimum on
// the labels as drawn, keeps those that lower χ² clearly (kEdgeEditGain), and fits again on
// the edited labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/domain.hpp"
#include "diffusion/model.hpp"

namespace ionmap::diffusion {

struct EdgeEdit {
  enum Kind { kFill, kCover } kind = kFill;
  int first = 0, last = 0;  // cells along the source edge (edgeCell's k), inclusive
  std::int32_t grain = 0;   // fill: the grain behind the run's first cell; cover: the grain
  double delta_chi2 = 0;    // χ² with the edit minus without (at the same parameters)
  bool tried = false;       // run (the residuals asked for it)
  bool accepted = false;
};

// The edits worth trying on a domain with an edge source (none for a region source or a grid
// less than 3 cells deep).
std::vector<EdgeEdit> edgeContactEdits(const Domain& domain);
// The domain's labels with one edit made (a cover's sliver takes the next free label).
Image<std::int32_t> applyEdgeEdit(const Domain& domain, const EdgeEdit& edit);
// "N of M tried: ..." with the accepted ones and where they are (µm from the edge's start).
std::string describeEdgeEdits(const std::vector<EdgeEdit>& edits, double cell_um);

// An edit is kept when it lowers χ² by more than this (at the fit's optimum as drawn).
inline constexpr double kEdgeEditGain = 10.0;

}  // namespace ionmap::diffusion
