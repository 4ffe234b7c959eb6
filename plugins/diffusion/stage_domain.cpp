// The model domain the diffusion stages build from their labels and settings.
#include "diffusion/stage_domain.hpp"

#include <cmath>
#include <deque>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {

const std::vector<std::pair<std::string, SourceEdge>> kEdges = {{"left", SourceEdge::kLeft},
                                                                {"right", SourceEdge::kRight},
                                                                {"top", SourceEdge::kTop},
                                                                {"bottom", SourceEdge::kBottom},
                                                                {"region", SourceEdge::kRegion}};
std::string nameOf(SourceEdge e) {
  return choiceName(kEdges, e);
}

const std::vector<std::pair<std::string, ModelChoice>> kModels = {
    {"microstructure", ModelChoice::kMicrostructure},
    {"network", ModelChoice::kNetwork},
    {"series", ModelChoice::kSeries}};
std::string nameOf(ModelChoice m) {
  return choiceName(kModels, m);
}

namespace {

// The model's edge (a region source keeps the default edge; the caller sets the region).
Edge edgeOf(SourceEdge e) {
  switch (e) {
    case SourceEdge::kRight:
      return Edge::kRight;
    case SourceEdge::kTop:
      return Edge::kTop;
    case SourceEdge::kBottom:
      return Edge::kBottom;
    case SourceEdge::kLeft:
    case SourceEdge::kRegion:
      return Edge::kLeft;
  }
  return Edge::kLeft;
}

// The `source` input as the domain's source region (source_edge: region), on the labels' grid.
void attachSourceRegion(RunContext& ctx, SourceEdge edge, const LabelMap& labels, Domain& d) {
  if (edge != SourceEdge::kRegion) return;
  const LabelMap& src = ctx.get<LabelMap>("source");
  if (!src.grid.sameAs(labels.grid, 1e-6)) {
    throw ProcessingError(
        fmt::format("the source region ({}) must be on the labels' grid ({}): resample it first",
                    src.grid.describe(), labels.grid.describe()));
  }
  d.source_region = Image<std::uint8_t>(src.width(), src.height(), 0);
  for (std::size_t i = 0; i < d.source_region.size(); ++i) d.source_region[i] = src.labels[i] > 0;
}

// Grains that reach the source edge as a narrow wedge, and how many of them end inside the
// sample (no contact at all): these decide whether a whole grain fills from the source.
std::string wedgeNote(const Domain& d) {
  int wedges = 0, cut = 0;
  for (std::size_t k = 0; k < d.source_scale.size(); ++k) {
    const bool starts = k == 0 || d.source_scale[k - 1] != d.source_scale[k];
    if (d.source_scale[k] < 1 && starts) ++wedges, cut += d.source_scale[k] == 0;
  }
  return fmt::format("{} ({} end inside the sample)", wedges, cut);
}

}  // namespace

std::size_t absorbUnlabelled(Image<std::int32_t>& labels) {
  const int w = labels.width(), h = labels.height();
  std::deque<std::pair<int, int>> queue;
  std::size_t zeros = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (labels(x, y) > 0)
        queue.emplace_back(x, y);
      else
        ++zeros;
    }
  }
  if (queue.empty()) throw ProcessingError("the label map has no grain (all labels are 0)");
  while (!queue.empty()) {
    const auto [x, y] = queue.front();
    queue.pop_front();
    const int nx[] = {x - 1, x + 1, x, x}, ny[] = {y, y, y - 1, y + 1};
    for (int k = 0; k < 4; ++k) {
      if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h || labels(nx[k], ny[k]) > 0) continue;
      labels(nx[k], ny[k]) = labels(x, y);
      queue.emplace_back(nx[k], ny[k]);
    }
  }
  return zeros;
}

void preflightSource(Preflight& pf, SourceEdge edge) {
  const bool bound = !pf.readsIfBound("source").empty();
  if (edge == SourceEdge::kRegion && !bound)
    pf.fail("source_edge: region needs the `source` input (a label map, > 0 = source)");
  if (edge != SourceEdge::kRegion && bound)
    pf.fail("the `source` input is only used with source_edge: region");
}

Domain domainFor(RunContext& ctx, const LabelMap& l, const Domain& settings, SourceEdge edge,
                 bool staircase, const Image<std::int32_t>* drawn) {
  if (!l.grid.calibrated)
    throw ProcessingError("diffusion models work in um: the labels need a pixel size");
  if (std::abs(l.grid.pixel_x / l.grid.pixel_y - 1) > 1e-6) {
    throw ProcessingError(fmt::format(
        "the model needs square pixels; the labels have {} x {} um: resample them first",
        l.grid.pixel_x, l.grid.pixel_y));
  }
  Domain d = settings;
  d.labels = l.labels;
  d.h = l.grid.pixel_x;
  d.source = edgeOf(edge);
  attachSourceRegion(ctx, edge, l, d);
  if (!staircase) {
    d.wedge_contacts = false;
    return d;
  }
  int chords = 0;
  ctx.note("staircase_mean_factor", fmt::format("{:.4f}", correctStaircase(d, 3, &chords)));
  ctx.note("boundary_chords",
           fmt::format("{} grain pairs straight between their ends: their faces carry the chord's "
                       "length",
                       chords));
  if (drawn && d.wedge_contacts) d.source_scale = sourceContactFactors(d, drawn);
  ctx.note("source_wedge_contacts", wedgeNote(d));
  return d;
}

}  // namespace ionmap::diffusion
