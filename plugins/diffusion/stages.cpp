// Diffusion stages: `simulate-exchange` (a synthetic 6Li-fraction map from the microstructure
// model, with counting noise) and `fit-diffusion` (D_b, κ = D_gb/δ, f_s from a measured map and
// the grain labels on the same grid). Physical units at the interface (cm²/s, cm/s, s, nm);
// the models work in µm and s.
#include <algorithm>
#include <cmath>
#include <deque>
#include <random>

#include <fmt/format.h>

#include "diffusion/diagnostics.hpp"
#include "diffusion/fit.hpp"
#include "diffusion/observation.hpp"
#include "diffusion/report.hpp"
#include "diffusion/sample.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"
#include "ionmap/io/reader.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap::diffusion {
namespace {

// Where the 6Li comes from: an edge of the map, or a region given as a label map.
enum class SourceEdge { kLeft, kRight, kTop, kBottom, kRegion };
const std::vector<std::pair<std::string, SourceEdge>> kEdges = {{"left", SourceEdge::kLeft},
                                                                {"right", SourceEdge::kRight},
                                                                {"top", SourceEdge::kTop},
                                                                {"bottom", SourceEdge::kBottom},
                                                                {"region", SourceEdge::kRegion}};
std::string nameOf(SourceEdge e) {
  return choiceName(kEdges, e);
}
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

// The forward model a stage uses.
enum class ModelChoice { kMicrostructure, kNetwork, kSeries };
const std::vector<std::pair<std::string, ModelChoice>> kModels = {
    {"microstructure", ModelChoice::kMicrostructure},
    {"network", ModelChoice::kNetwork},
    {"series", ModelChoice::kSeries}};
std::string nameOf(ModelChoice m) {
  return choiceName(kModels, m);
}

// Pixels with label 0 (unassigned, e.g. drawn boundary lines) join the nearest grain
// (breadth-first from the labelled pixels), so that the model sees only grains; the boundary
// resistance sits on the faces between grains. Returns how many pixels were reassigned.
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

Domain domainOf(const LabelMap& l, SourceEdge edge, double time, int steps) {
  if (!l.grid.calibrated)
    throw ProcessingError("diffusion models work in um: the labels need a pixel size");
  if (std::abs(l.grid.pixel_x / l.grid.pixel_y - 1) > 1e-6) {
    throw ProcessingError(fmt::format(
        "the model needs square pixels; the labels have {} x {} um: resample them first",
        l.grid.pixel_x, l.grid.pixel_y));
  }
  Domain d;
  d.labels = l.labels;
  d.h = l.grid.pixel_x;
  d.source = edgeOf(edge);  // region: set by the caller
  d.time = time;
  d.steps = steps;
  return d;
}

constexpr const char* kReservoirHelp =
    "finite source: a well-mixed reservoir holding as much Li as a layer of the sample this "
    "thick along the source boundary, whose 6Li fraction falls from f_source as tracer enters; "
    "0 = unlimited source (constant f_source)";
constexpr const char* kStaircaseHelp =
    "scale kappa on each boundary face by 1/(|n_x| + |n_y|) of the boundary's local normal, so "
    "that inclined boundaries drawn as pixel staircases pass kappa times their true length "
    "(without it, kappa of boundaries at 45 deg comes out up to 1/sqrt(2) low); microstructure "
    "model only: the series model's boundaries lie across its 1D profile";
constexpr const char* kWedgeHelp =
    "with staircase_correction: where a grain reaches the source edge as a wedge one or two "
    "cells wide between two others, give it the contact its boundaries extrapolate to at the "
    "edge (none when they meet inside the sample). For exact labels (simulated, EBSD): a "
    "junction drawn on the edge otherwise fills a whole grain from the source. Off by default: "
    "segmented labels often draw the edge imperfectly, and grains that do touch the source "
    "then look like wedges";
constexpr const char* kEdgeHelp =
    "edge of the map in contact with the 6Li source, or `region`: the pixels labelled > 0 in the "
    "`source` input (e.g. a contact area), held at f_source";

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

// source_edge: region needs the `source` port, and the port means nothing without it.
void preflightSource(Preflight& pf, SourceEdge edge) {
  const bool bound = !pf.readsIfBound("source").empty();
  if (edge == SourceEdge::kRegion && !bound)
    pf.fail("source_edge: region needs the `source` input (a label map, > 0 = source)");
  if (edge != SourceEdge::kRegion && bound)
    pf.fail("the `source` input is only used with source_edge: region");
}

// The model domain a stage's parameters describe (both stages share these fields): grid and
// source, finite reservoir, source region, staircase factors (noted in the results).
// `drawn`: the labels before smoothing, where wedges at the source edge are measured.
template <class P>
Domain domainFor(RunContext& ctx, const LabelMap& labels, const P& p,
                 const Image<std::int32_t>* drawn = nullptr) {
  Domain d = domainOf(labels, p.source_edge, p.time, p.steps);
  d.reservoir_um = p.reservoir;
  attachSourceRegion(ctx, p.source_edge, labels, d);
  if (p.staircase_correction) {
    d.wedge_contacts = p.source_wedges;
    ctx.note("staircase_mean_factor", fmt::format("{:.4f}", correctStaircase(d)));
    if (drawn && p.source_wedges) d.source_scale = sourceContactFactors(d, drawn);
    int wedges = 0, cut = 0;
    for (std::size_t k = 0; k < d.source_scale.size(); ++k) {
      const bool starts = k == 0 || d.source_scale[k - 1] != d.source_scale[k];
      if (d.source_scale[k] < 1 && starts) ++wedges, cut += d.source_scale[k] == 0;
    }
    // Grains that reach the source edge as a narrow wedge, and how many of them end inside the
    // sample (no contact at all): these decide whether a whole grain fills from the source.
    ctx.note("source_wedge_contacts", fmt::format("{} ({} end inside the sample)", wedges, cut));
  }
  return d;
}

struct SimulateParams {
  ModelChoice model = ModelChoice::kMicrostructure;
  SourceEdge source_edge = SourceEdge::kLeft;
  double time = 60;
  int steps = 50;
  double D_bulk = 1e-8;         // cm²/s
  double kappa = 1e-6;          // cm/s
  double surface_exchange = 0;  // cm/s, 0 = fixed surface fraction
  double reservoir = 0;         // um, 0 = unlimited source
  bool staircase_correction = true;
  bool source_wedges = false;
  double f_source = 0.95;        // 6Li fraction of the source
  double f_background = 0.0759;  // natural abundance
  double counts_per_pixel = 0;   // total 6Li + 7Li counts per pixel; 0 = no noise
  int seed = 1;
};

class SimulateStage final : public StageOf<SimulateParams, SimulateStage> {
 public:
  static const ParamSchema<SimulateParams>& schema() {
    static const auto s =
        ParamSchema<SimulateParams>()
            .choice("model", &SimulateParams::model,
                    {{"microstructure", ModelChoice::kMicrostructure},
                     {"network", ModelChoice::kNetwork}},
                    "finite volumes on the label grid, or the grain network (valid for Bi << 1)")
            .choice("source_edge", &SimulateParams::source_edge, kEdges, kEdgeHelp)
            .real("time", &SimulateParams::time, Range::above(0), "s", "exchange time")
            .integer("steps", &SimulateParams::steps, Range::between(2, 100000), "",
                     "BDF2 time steps")
            .real("D_bulk", &SimulateParams::D_bulk, Range::above(0), "cm^2/s",
                  "bulk (grain interior) diffusivity")
            .real("kappa", &SimulateParams::kappa, Range::atLeast(0), "cm/s",
                  "grain-boundary permeance D_gb/delta; 0 = boundaries do not resist")
            .real("surface_exchange", &SimulateParams::surface_exchange, Range::atLeast(0), "cm/s",
                  "surface exchange coefficient k; 0 = fixed surface fraction")
            .real("reservoir", &SimulateParams::reservoir, Range::atLeast(0), "um", kReservoirHelp)
            .flag("staircase_correction", &SimulateParams::staircase_correction, kStaircaseHelp)
            .flag("source_wedges", &SimulateParams::source_wedges, kWedgeHelp)
            .real("f_source", &SimulateParams::f_source, Range::between(0, 1), "",
                  "6Li fraction of the source")
            .real("f_background", &SimulateParams::f_background, Range::between(0, 1), "",
                  "initial 6Li fraction (natural abundance 0.0759)")
            .real("counts_per_pixel", &SimulateParams::counts_per_pixel, Range::atLeast(0), "",
                  "total Li counts per pixel for binomial counting noise; 0 = noise-free")
            .integer("seed", &SimulateParams::seed, Range::atLeast(0), "",
                     "random seed of the noise");
    return s;
  }
  std::string name() const override { return "simulate-exchange"; }
  std::string summary() const override {
    return "synthetic 6Li-fraction map after isotope exchange through a microstructure, with "
           "counting noise";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("labels", ItemKind::kLabelMap, "grain labels with a pixel size")
            .needingPixelSize(),
        PortSpec::optionalIn("source", ItemKind::kLabelMap,
                             "source region (> 0) on the labels' grid, for source_edge: region"),
        PortSpec::out("fraction", ItemKind::kMap, "6Li fraction f"),
        PortSpec::optionalOut("sigma", ItemKind::kMap, "sigma_f of the counting noise")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("labels");
    preflightSource(pf, params().source_edge);
    pf.writes("fraction");
  }
  void run(RunContext& ctx) const override {
    const SimulateParams& p = params();
    LabelMap l = ctx.get<LabelMap>("labels");
    const std::size_t absorbed = absorbUnlabelled(l.labels);
    if (absorbed) ctx.note("unlabelled_pixels_absorbed", std::to_string(absorbed));
    const Domain d = domainFor(ctx, l, p);
    Physics ph;
    ph.D_b = p.D_bulk * kUm2PerCm2;
    ph.kappa = p.kappa * kUmPerCm;
    ph.k_surface = p.surface_exchange * kUmPerCm;
    ph.f_s = p.f_source;
    ph.f_bg = p.f_background;
    const Image<double> f =
        forward(d, ph, p.model == ModelChoice::kNetwork ? ModelKind::kNetwork : ModelKind::kGrid);
    const auto n = static_cast<long long>(std::llround(p.counts_per_pixel));
    CountedFraction c = drawCounts(f, n, static_cast<std::uint64_t>(p.seed));
    Map out("6Li fraction (simulated)", l.grid, "1");
    Map sigma("sigma of 6Li fraction", l.grid, "1");
    out.values = std::move(c.fraction);
    sigma.values = std::move(c.sigma);
    out.metadata.emplace_back("model", nameOf(p.model));
    if (ctx.outputBound("sigma")) {
      if (n == 0) ctx.warn("counts_per_pixel is 0: sigma is 0 everywhere (noise-free map)");
      ctx.put("sigma", std::move(sigma));
    }
    ctx.put("fraction", std::move(out));
  }
};

struct FitParams {
  ModelChoice model = ModelChoice::kMicrostructure;
  SourceEdge source_edge = SourceEdge::kLeft;
  double time = 60;
  int steps = 50;
  double D_bulk = 1e-8;  // initial values, cm²/s and cm/s
  double kappa = 1e-6;
  double surface_exchange = 0;
  double reservoir = 0;              // um
  bool staircase_correction = true;  // measured maps: boundaries pass kappa per true length
  bool source_wedges = false;        // segmented labels: edge contacts as drawn
  bool fit_surface_exchange = false;
  double f_source = 0.9;
  bool fit_f_source = true;
  double f_background = 0.0759;
  bool fit_f_background = false;
  double grain_size = 0;  // um, series model
  double delta = 1.0;     // nm
  double decades = 1.0;
  int max_iterations = 50;
  int profile_points = 0;
  double profile_sigmas = 3;
  double interval_level = 0.95;
  bool scale_by_chi2 = false;
  double boundary_sigma = -1;  // um; < 0 = auto
  int label_ensemble = 1;
  int label_smoothing = -1;  // passes; < 0 = auto
  std::string profile_plot = "cost-profile";
  std::string depth_plot = "depth-profile";
  int boundary_margin = 0;  // pixels next to a boundary left out of the residuals
};

// Clears the mask within `margin` pixels (4-neighbour steps) of a face between different labels;
// returns how many usable pixels it removed.
std::size_t maskNearBoundaries(const Image<std::int32_t>& labels, int margin,
                               Image<std::uint8_t>& mask) {
  const int w = labels.width(), h = labels.height();
  Image<std::uint8_t> near(w, h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto l = labels(x, y);
      if ((x + 1 < w && labels(x + 1, y) != l) || (x > 0 && labels(x - 1, y) != l) ||
          (y + 1 < h && labels(x, y + 1) != l) || (y > 0 && labels(x, y - 1) != l))
        near(x, y) = 1;
    }
  }
  for (int step = 1; step < margin; ++step) {  // grow by one pixel per step
    Image<std::uint8_t> grown = near;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if ((x + 1 < w && near(x + 1, y)) || (x > 0 && near(x - 1, y)) ||
            (y + 1 < h && near(x, y + 1)) || (y > 0 && near(x, y - 1)))
          grown(x, y) = 1;
      }
    }
    near = std::move(grown);
  }
  std::size_t removed = 0;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (near[i] && mask[i]) mask[i] = 0, ++removed;
  }
  return removed;
}

// n when `labels` is `map` divided into n × n cells per pixel (n = 1: the same grid), else 0.
int subdivisionOf(const Grid& map, const Grid& labels) {
  if (map.width <= 0 || labels.width % map.width != 0) return 0;
  const int n = labels.width / map.width;
  return n >= 1 && map.subdivided(n).sameAs(labels, 1e-6) ? n : 0;
}

// How many label cells per map pixel a side (1: the same grid), checking that the maps share
// a grid and the labels divide it, as the model the parameters chose can use.
int modelSubdivision(const Map& f, const Map& sigma, const LabelMap& l, const FitParams& p) {
  const int sub = subdivisionOf(f.grid, l.grid);
  if (sub == 0 || !sigma.grid.sameAs(f.grid, 1e-6)) {
    throw ProcessingError(fmt::format(
        "the fraction map ({}), sigma ({}) and labels ({}) must share one grid, or the labels "
        "must be on that grid divided into n x n cells per pixel: resample the labels onto "
        "the map's grid (stage `resample`, `subdivide: n`)",
        f.grid.describe(), sigma.grid.describe(), l.grid.describe()));
  }
  if (sub > 1 && p.model != ModelChoice::kMicrostructure)
    throw ProcessingError(
        fmt::format("labels {} times finer than the map (the observation model) need model: "
                    "microstructure",
                    sub));
  if (sub > 1 && p.source_edge == SourceEdge::kRegion)
    throw ProcessingError(
        "labels finer than the map need an edge source (not source_edge: region)");
  return sub;
}

// The fit's options from the stage's parameters (physical units → the model's µm and s).
FitOptions optionsFor(const FitParams& p, Domain domain, int sub) {
  FitOptions o;
  o.domain = std::move(domain);
  o.model = p.model == ModelChoice::kNetwork ? ModelKind::kNetwork : ModelKind::kGrid;
  o.initial.D_b = p.D_bulk * kUm2PerCm2;
  o.initial.kappa = p.kappa * kUmPerCm;
  o.initial.k_surface = p.surface_exchange * kUmPerCm;
  o.initial.f_s = p.f_source;
  o.initial.f_bg = p.f_background;
  o.fit_surface_exchange = p.fit_surface_exchange;
  o.fit_f_s = p.fit_f_source;
  o.fit_f_bg = p.fit_f_background;
  o.decades = p.decades;
  o.profile_points = p.profile_points;
  o.max_iterations = p.max_iterations;
  o.profile_sigmas = p.profile_sigmas;
  o.subsample = sub;
  o.interval_level = p.model == ModelChoice::kSeries ? 0 : p.interval_level;
  o.scale_by_chi2 = p.scale_by_chi2;
  o.label_ensemble = p.model == ModelChoice::kMicrostructure ? p.label_ensemble : 0;
  return o;
}

// The registration's own uncertainty (um) from the register stage's report; NaN when it has
// none (too few tiles). Throws ProcessingError for a table that is not such a report.
double registrationUncertainty(const Table& report) {
  const auto& q = report.column("quantity").texts;
  const auto& v = report.column("value").numbers;
  for (std::size_t i = 0; i < q.size() && i < v.size(); ++i) {
    if (q[i] == "uncertainty") return v[i];
  }
  throw ProcessingError(
      "the `registration` input has no `uncertainty` row (bind the register stage's report)");
}

// The grains the residual diagnostics flag (offset as a whole, or with a step inside).
std::vector<std::int32_t> flaggedGrains(const ResidualDiagnostics& diag) {
  std::vector<std::int32_t> out;
  for (const auto* list : {&diag.offsets, &diag.steps}) {
    for (const GrainResidual& g : *list) {
      if (std::find(out.begin(), out.end(), g.label) == out.end()) out.push_back(g.label);
    }
  }
  return out;
}

class FitStage final : public StageOf<FitParams, FitStage> {
 public:
  static const ParamSchema<FitParams>& schema() {
    static const auto s =
        ParamSchema<FitParams>()
            .choice("model", &FitParams::model, kModels,
                    "forward model: finite volumes on the label grid, the grain network (valid "
                    "for Bi << 1), or the 1D series model fitted to the depth profile (bulk and "
                    "boundaries alternating every grain_size; the published approach)")
            .real("grain_size", &FitParams::grain_size, Range::atLeast(0), "um",
                  "series model: boundary spacing; 0 = mean equivalent diameter of the labels")
            .choice("source_edge", &FitParams::source_edge, kEdges, kEdgeHelp)
            .real("time", &FitParams::time, Range::above(0), "s", "exchange time")
            .integer("steps", &FitParams::steps, Range::between(2, 100000), "",
                     "BDF2 time steps of each forward run")
            .real("D_bulk", &FitParams::D_bulk, Range::above(0), "cm^2/s",
                  "initial bulk diffusivity (the multi-start spreads it over `decades`)")
            .real("kappa", &FitParams::kappa, Range::above(0), "cm/s",
                  "initial grain-boundary permeance D_gb/delta")
            .real("surface_exchange", &FitParams::surface_exchange, Range::atLeast(0), "cm/s",
                  "surface exchange coefficient k (initial value when fitted); 0 = fixed "
                  "surface fraction")
            .real("reservoir", &FitParams::reservoir, Range::atLeast(0), "um", kReservoirHelp)
            .flag("staircase_correction", &FitParams::staircase_correction, kStaircaseHelp)
            .flag("source_wedges", &FitParams::source_wedges, kWedgeHelp)
            .flag("fit_surface_exchange", &FitParams::fit_surface_exchange,
                  "fit k as well (needs surface_exchange > 0 as the start)")
            .real("f_source", &FitParams::f_source, Range::between(0, 1), "",
                  "6Li fraction of the source (initial value when fitted)")
            .flag("fit_f_source", &FitParams::fit_f_source, "fit the source fraction")
            .real("f_background", &FitParams::f_background, Range::between(0, 1), "",
                  "initial 6Li fraction of the sample (natural abundance 0.0759)")
            .flag("fit_f_background", &FitParams::fit_f_background, "fit the background fraction")
            .real("delta", &FitParams::delta, Range::above(0), "nm",
                  "grain-boundary width used to report D_gb = kappa * delta")
            .real("decades", &FitParams::decades, Range::between(0, 4), "",
                  "multi-start: D_bulk and kappa also start at 10^(+-decades) times the initial")
            .integer("boundary_margin", &FitParams::boundary_margin, Range::between(0, 10), "px",
                     "leave pixels within this many pixels of a grain boundary out of the "
                     "residuals (they are still modelled): pixels that straddle a boundary, or "
                     "whose label is uncertain by a fraction of a pixel after registration, "
                     "otherwise blur the measured jumps and bias kappa upwards")
            .integer("max_iterations", &FitParams::max_iterations, Range::between(1, 10000), "",
                     "Levenberg-Marquardt iterations per start; a fit that needs more is "
                     "reported as not converged (exit code 3)")
            .integer("profile_points", &FitParams::profile_points, Range::between(0, 101), "",
                     "points of an extra cost profile on a fixed grid along D_bulk and kappa "
                     "(others re-optimised); 0 = none (the profile-likelihood interval search "
                     "gives the profile), else at least 3")
            .real("interval_level", &FitParams::interval_level, Range::between(0, 0.9999), "",
                  "confidence of the profile-likelihood intervals of every fitted parameter "
                  "(0 = none; a side the profile never closes makes the result a bound)")
            .real("boundary_sigma", &FitParams::boundary_sigma, Range::atLeast(-1), "um",
                  "uncertainty (1 sigma) of the boundaries' positions from segmentation and "
                  "registration, for labels finer than the map: its effect on each pixel's mean "
                  "joins sigma_f; -1 = auto (half a label cell), 0 = none")
            .integer("label_ensemble", &FitParams::label_ensemble, Range::between(0, 1), "",
                     "1: systematic error from where the labels sit: refit with the labels "
                     "moved by one cell along +-x and +-y, find the offset the data prefer and "
                     "its uncertainty, and add the parameters' response to it to the errors "
                     "and intervals (microstructure model); 0 = none")
            .integer("label_smoothing", &FitParams::label_smoothing, Range::between(-1, 5), "",
                     "passes of a 3 x 3 majority filter over the labels before modelling: "
                     "removes the pixel-scale roughness a segmentation draws along boundaries, "
                     "which the model would take for extra boundary length and in-grain "
                     "structure (biasing D_bulk low and kappa high); -1 = auto (1 for labels "
                     "finer than the map, else 0)")
            .flag("scale_by_chi2", &FitParams::scale_by_chi2,
                  "inflate standard errors and intervals by sqrt(chi^2/nu) when chi^2/nu > 1 "
                  "(treats a misfit as extra noise; off: a misfit is reported, not absorbed)")
            .real("profile_sigmas", &FitParams::profile_sigmas, Range::above(0), "",
                  "profile half-width in standard errors (at most one decade)")
            .text("profile_plot", &FitParams::profile_plot,
                  "file prefix of the profile plots (<prefix>-D_bulk.png ...); empty = none")
            .text("depth_plot", &FitParams::depth_plot,
                  "file name (without .png) of the plot of measured and model 6Li fraction "
                  "against distance from the source; empty = none");
    return s;
  }
  std::string name() const override { return "fit-diffusion"; }
  std::string summary() const override {
    return "fit bulk diffusivity and grain-boundary permeance (Ceres, multi-start) to a 6Li "
           "fraction map on the grain labels";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("fraction", ItemKind::kMap, "measured 6Li fraction f"),
            PortSpec::in("sigma", ItemKind::kMap, "sigma_f per pixel (weights)"),
            PortSpec::in("labels", ItemKind::kLabelMap, "grain labels on the map's grid")
                .needingPixelSize(),
            PortSpec::optionalIn(
                "source", ItemKind::kLabelMap,
                "source region (> 0) on the map's grid, for source_edge: region; its pixels are "
                "held at f_source and left out of the residuals"),
            PortSpec::optionalIn(
                "registration", ItemKind::kTable,
                "the `register` stage's report: its `uncertainty` (um) of the transform joins "
                "boundary_sigma (in quadrature), so that where the labels sit includes where the "
                "registration put them"),
            PortSpec::out("parameters", ItemKind::kTable,
                          "fitted parameters with standard errors and units, diagnostics"),
            PortSpec::optionalOut("model", ItemKind::kMap, "best-fit model f"),
            PortSpec::optionalOut("residual", ItemKind::kMap, "(measured - model) / sigma"),
            PortSpec::optionalOut("profile", ItemKind::kTable,
                                  "measured and model f averaged parallel to the source edge"),
            PortSpec::optionalOut(
                "cost_profile", ItemKind::kTable,
                "delta chi^2 along each rate parameter with the others re-optimised")};
  }
  void preflight(Preflight& pf) const override {
    if (params().fit_surface_exchange && !(params().surface_exchange > 0))
      pf.fail("fit_surface_exchange needs a starting surface_exchange > 0");
    if (params().profile_points == 1 || params().profile_points == 2)
      pf.fail("profile_points must be 0 (no profile) or at least 3");
    const auto& plot = params().profile_plot;
    if (!plot.empty() && plot.find_first_of("/\\") != std::string::npos)
      pf.fail("`profile_plot` must be a plain file name prefix");
    const auto& depth = params().depth_plot;
    if (!depth.empty() && depth.find_first_of("/\\") != std::string::npos)
      pf.fail("`depth_plot` must be a plain file name (without .png)");
    for (const char* in : {"fraction", "sigma", "labels"}) pf.reads(in);
    pf.readsIfBound("registration");
    preflightSource(pf, params().source_edge);
    if (params().model == ModelChoice::kSeries && params().reservoir > 0)
      pf.fail("the series model has no finite reservoir; use the microstructure model");
    if (params().model == ModelChoice::kSeries && params().source_edge == SourceEdge::kRegion)
      pf.fail("the series model needs a source edge (its depth profile is 1D), not a region");
    pf.writes("parameters");
  }
  void run(RunContext& ctx) const override {
    const FitParams& p = params();
    const Map& f = ctx.get<Map>("fraction");
    const Map& sigma = ctx.get<Map>("sigma");
    const Prepared in = prepare(ctx, f, sigma);
    FitResult r = p.model == ModelChoice::kSeries
                      ? fitSeries(f.values, sigma.values, in.mask, in.o, p.grain_size)
                      : fitDiffusion(f.values, sigma.values, in.mask, in.o);
    if (p.model == ModelChoice::kSeries && p.grain_size <= 0)
      ctx.note("series_grain_size_um", fmt::format("{:.3f}", r.mean_grain_um));
    for (const auto& w : r.warnings) ctx.warn(w);
    // Normalised residuals, and the verdict on the fit from them and the fit's own checks.
    Map res_map = residualMap(f, sigma, in.mask, r);
    const ResidualDiagnostics diag =
        p.model == ModelChoice::kSeries
            ? ResidualDiagnostics{}
            : diagnoseResiduals(res_map.values, res_map.mask, in.map_labels);
    allowForFlaggedGrains(ctx, f, sigma, in, diag, r);
    const Verdict verdict = judgeFit(r, diag);
    for (const auto& w : verdict.warnings) ctx.warn(w);
    for (const auto& why : verdict.reasons) ctx.failCheck("not fit for use: " + why);
    for (const auto& [key, text] : fitNotes(r, diag, verdict, in.o.domain.h)) ctx.note(key, text);
    FitReport report =
        fitReport(r, diag, verdict,
                  {nameOf(p.model), nameOf(p.source_edge), p.time, p.delta,
                   p.surface_exchange > 0 || p.fit_surface_exchange, p.reservoir > 0});
    for (const auto& [key, text] : report.notes) ctx.note(key, text);
    for (const auto& w : report.warnings) ctx.warn(w);
    putMaps(ctx, f, in, r, std::move(res_map));
    ctx.put("parameters", std::move(report.table));
  }

 private:
  // What the fit works on: its options (domain, model grid, memory budget, boundary errors),
  // the usable pixels, and the labels on the map's own grid (the grain covering most of each
  // pixel: for the margin, the residual diagnostics and the plots).
  struct Prepared {
    FitOptions o;
    Image<std::uint8_t> mask;
    Image<std::int32_t> map_labels;
    int sub = 1;
  };

  Prepared prepare(RunContext& ctx, const Map& f, const Map& sigma) const {
    const FitParams& p = params();
    LabelMap l = ctx.get<LabelMap>("labels");
    Prepared in;
    in.sub = modelSubdivision(f, sigma, l, p);
    if (in.sub > 1) ctx.note("model_cells_per_pixel", fmt::format("{} x {}", in.sub, in.sub));
    const std::size_t absorbed = absorbUnlabelled(l.labels);
    if (absorbed) ctx.note("unlabelled_pixels_absorbed", std::to_string(absorbed));
    const int smoothing = p.label_smoothing < 0 ? (in.sub > 1 ? 1 : 0) : p.label_smoothing;
    const Image<std::int32_t> drawn = l.labels;
    if (smoothing > 0) {
      std::size_t changed = 0;
      l.labels = smoothLabels(l.labels, smoothing, &changed);
      ctx.note("label_smoothing", fmt::format("{} pass(es), {} cells changed", smoothing, changed));
    }
    in.o = optionsFor(p, domainFor(ctx, l, p, smoothing > 0 ? &drawn : nullptr), in.sub);
    // What the model runs may hold at once: the memory budget less what the run holds when they
    // start.
    in.o.memory_left = [] { return std::max<std::uint64_t>(1, memoryLeft()); };
    if (in.sub > 1) setBoundarySigma(ctx, in.o);
    in.mask = f.mask;
    for (std::size_t i = 0; i < in.mask.size(); ++i) in.mask[i] = in.mask[i] && sigma.mask[i];
    in.map_labels = in.sub > 1 ? majorityLabels(in.o.domain.labels, in.sub) : in.o.domain.labels;
    if (p.boundary_margin > 0) {
      const std::size_t left_out = maskNearBoundaries(in.map_labels, p.boundary_margin, in.mask);
      ctx.note("boundary_pixels_left_out", std::to_string(left_out));
    }
    return in;
  }

  // The boundaries' position errors (observation model): half a cell unless given, with the
  // registration's own uncertainty in quadrature when its report is bound.
  void setBoundarySigma(RunContext& ctx, FitOptions& o) const {
    const FitParams& p = params();
    o.boundary_sigma_um = p.boundary_sigma < 0 ? 0.5 * o.domain.h : p.boundary_sigma;
    if (ctx.bound("registration")) {
      const double u = registrationUncertainty(ctx.get<Table>("registration"));
      if (u >= 0) {
        o.boundary_sigma_um = std::hypot(o.boundary_sigma_um, u);
        ctx.note("registration_uncertainty_um", fmt::format("{:.4g}", u));
      } else {
        ctx.warn(
            "the registration has no uncertainty estimate (too few tiles to cross-check it): "
            "the boundaries' position errors leave out the registration's own");
      }
    }
    ctx.note("boundary_sigma_um", fmt::format("{:.4g}", o.boundary_sigma_um));
  }

  // Grains the diagnostics flag (likely merged or misplaced by the segmentation): how much the
  // result leans on them joins its systematic error (a refit without their pixels).
  static void allowForFlaggedGrains(RunContext& ctx, const Map& f, const Map& sigma,
                                    const Prepared& in, const ResidualDiagnostics& diag,
                                    FitResult& r) {
    const std::vector<std::int32_t> suspect = flaggedGrains(diag);
    if (suspect.empty()) return;
    try {
      allowForSuspectGrains(r, f.values, sigma.values, in.mask, in.map_labels, suspect, in.o);
    } catch (const Error& e) {
      ctx.warn(
          fmt::format("the refit without the {} flagged grain(s) failed ({}): how much the "
                      "result leans on them is not in its errors",
                      suspect.size(), e.what()));
    }
  }

  // The model and residual maps, the depth profile and the plots that were asked for.
  void putMaps(RunContext& ctx, const Map& f, const Prepared& in, const FitResult& r,
               Map residual) const {
    const FitParams& p = params();
    if (ctx.outputBound("model")) {
      Map m("6Li fraction (best-fit model)", f.grid, "1");
      m.values = r.model;
      ctx.put("model", std::move(m));
    }
    if (ctx.outputBound("residual")) ctx.put("residual", std::move(residual));
    if (ctx.outputBound("profile") || !p.depth_plot.empty()) {
      Domain on_map = in.o.domain;  // the profile runs over the map's pixels
      on_map.labels = in.map_labels;
      on_map.h = in.o.domain.h * in.sub;
      Table prof = depthProfile(f, in.mask, r.model, on_map);
      if (!p.depth_plot.empty())
        writeDepthPlot(prof, on_map, ctx.fileDir() / (p.depth_plot + ".png"));
      if (ctx.outputBound("profile")) ctx.put("profile", std::move(prof));
    }
    if (!r.profiles.empty() && !p.profile_plot.empty())
      writeCostProfilePlots(r, ctx.fileDir() / p.profile_plot);
    if (!r.profiles.empty() && ctx.outputBound("cost_profile"))
      ctx.put("cost_profile", costProfileTable(r));
  }
};

struct BrickParams {
  double width = 48, height = 48;  // um
  double pixel_size = 0.5;         // um
  double grain_size = 6;           // um, side of the square grains
  bool stagger = false;            // shift every other row of grains by half a grain
};

// The ideal brick layer of PHYSICS.md: square grains of side d on a grid, boundaries straight
// and aligned with the pixels (optionally staggered like bricks), as a label map to feed
// `simulate-exchange` or `fit-diffusion` (e.g. the series model's exact case).
class BrickStage final : public StageOf<BrickParams, BrickStage> {
 public:
  static const ParamSchema<BrickParams>& schema() {
    static const auto s =
        ParamSchema<BrickParams>()
            .real("width", &BrickParams::width, Range::above(0), "um", "field width")
            .real("height", &BrickParams::height, Range::above(0), "um", "field height")
            .real("pixel_size", &BrickParams::pixel_size, Range::above(0), "um",
                  "square pixel size of the label grid")
            .real("grain_size", &BrickParams::grain_size, Range::above(0), "um",
                  "side d of the square grains (a whole number of pixels)")
            .flag("stagger", &BrickParams::stagger,
                  "shift every other row of grains by half a grain, like a brick wall");
    return s;
  }
  std::string name() const override { return "brick-labels"; }
  std::string summary() const override {
    return "label map of an ideal brick layer: square grains of side d, optionally staggered";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::out("labels", ItemKind::kLabelMap, "grain labels (1, 2, ...)")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    const double cells = p.grain_size / p.pixel_size;
    if (std::abs(cells - std::round(cells)) > 1e-6 || std::round(cells) < 2) {
      pf.fail(fmt::format("grain_size ({} um) must be a whole number (>= 2) of pixels of {} um",
                          p.grain_size, p.pixel_size));
    }
    if (p.width / p.pixel_size > 20000 || p.height / p.pixel_size > 20000)
      pf.fail("the grid would exceed 20000 pixels a side: use a larger pixel_size");
    pf.writes("labels");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    Grid g;
    g.width = std::max(1, static_cast<int>(std::lround(p.width / p.pixel_size)));
    g.height = std::max(1, static_cast<int>(std::lround(p.height / p.pixel_size)));
    g.pixel_x = g.pixel_y = p.pixel_size;
    const int d = static_cast<int>(std::lround(p.grain_size / p.pixel_size));
    const int columns = (g.width + d - 1) / d + 1;  // room for the staggered half grain
    LabelMap out("brick layer", g);
    for (int y = 0; y < g.height; ++y) {
      const int row = y / d;
      const int shift = p.stagger && row % 2 ? d / 2 : 0;
      for (int x = 0; x < g.width; ++x) out.labels(x, y) = 1 + row * columns + (x + shift) / d;
    }
    ctx.note("grains_per_row", std::to_string((g.width + d - 1) / d));
    ctx.put("labels", std::move(out));
  }
};

}  // namespace
}  // namespace ionmap::diffusion

namespace ionmap {
void ionmap_register_diffusion(Registry& registry) {
  registry.addStage([] { return std::make_unique<diffusion::SimulateStage>(); }, "diffusion");
  registry.addStage([] { return std::make_unique<diffusion::FitStage>(); }, "diffusion");
  registry.addStage([] { return std::make_unique<diffusion::BrickStage>(); }, "diffusion");
  registry.addSample(
      "gb-exchange",
      "ToF-SIMS of exchange through grains with boundary resistance, plus the laser image",
      sampleWriter<diffusion::GbExchangeSampleSpec>(
          [](const auto& dir, const auto& spec) { diffusion::writeGbExchangeSample(dir, spec); }),
      "diffusion");
}
}  // namespace ionmap
