// fit-diffusion: D_b, κ = D_gb/δ (and k, f_s, f_bg) from a measured 6Li-fraction map on the
// grain labels, with profile-likelihood intervals, systematic errors from the labels and a
// verdict on whether the result is fit for use. Glue: the fit is fitDiffusion (fit.hpp), the
// tables and plots report.hpp.
#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "diffusion/diagnostics.hpp"
#include "diffusion/fit.hpp"
#include "diffusion/fit_inputs.hpp"
#include "diffusion/observation.hpp"
#include "diffusion/report.hpp"
#include "diffusion/stage_domain.hpp"
#include "diffusion/stages.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::diffusion {
namespace {

// The stage's parameters: the fit's own options, bound in place (rates written in cm²/s and
// cm/s arrive in µm²/s and µm/s), and what only the stage uses.
struct FitParams {
  FitOptions fit = [] {
    FitOptions o;
    o.domain.time = 60;
    o.domain.steps = 50;
    o.initial = {1e-8 * kUm2PerCm2, 1e-6 * kUmPerCm, 0, 0.9, 0.0759};  // starts
    o.label_ensemble = 1;
    o.variance_from_model = true;
    o.edge_contacts = true;
    return o;
  }();
  ModelChoice model = ModelChoice::kMicrostructure;
  SourceEdge source_edge = SourceEdge::kLeft;
  bool staircase_correction = true;  // measured maps: boundaries pass kappa per true length
  double grain_size = 0;             // um, series model
  double delta = 1.0;                // nm
  double boundary_sigma = -1;        // um; < 0 = auto
  double boundary_blur = -1;         // um; < 0 = measured by the data
  int label_smoothing = -1;          // passes; < 0 = auto
  int boundary_margin = 0;           // pixels next to a boundary left out of the residuals
  int boundary_refit = 1;            // pixels next to a boundary left out of a check refit
  bool grid_check = false;           // refit on a model grid twice as fine
  std::string profile_plot = "cost-profile";
  std::string depth_plot = "depth-profile";
};

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

// The options as bound, on the run's domain and model grid; the series model has no
// profile intervals, and only the microstructure model a label ensemble.
FitOptions optionsFor(const FitParams& p, Domain domain, int sub) {
  FitOptions o = p.fit;
  o.domain = std::move(domain);
  o.model = p.model == ModelChoice::kNetwork ? ModelKind::kNetwork : ModelKind::kGrid;
  o.subsample = sub;
  if (p.model == ModelChoice::kSeries) o.interval_level = 0;
  if (p.model != ModelChoice::kMicrostructure) o.label_ensemble = 0;
  return o;
}

class FitStage final : public StageOf<FitParams, FitStage> {
 public:
  static const ParamSchema<FitParams>& schema() {
    using P = FitParams;
    auto fit = [](auto... path) { return field(&P::fit, path...); };
    auto start = [](auto m) { return field(&P::fit, &FitOptions::initial, m); };
    auto domain = [](auto m) { return field(&P::fit, &FitOptions::domain, m); };
    static const auto s =
        ParamSchema<P>()
            .choice("model", &P::model, kModels,
                    "forward model: finite volumes on the label grid, the grain network (valid "
                    "for Bi << 1), or the 1D series model fitted to the depth profile (bulk and "
                    "boundaries alternating every grain_size; the published approach)")
            .real("grain_size", &P::grain_size, Range::atLeast(0), "um",
                  "series model: boundary spacing; 0 = mean equivalent diameter of the labels")
            .choice("source_edge", &P::source_edge, kEdges, kEdgeHelp)
            .real("time", domain(&Domain::time), Range::above(0), "s", "exchange time")
            .integer("steps", domain(&Domain::steps), Range::between(2, 100000), "",
                     "BDF2 time steps of each forward run")
            .real("D_bulk", start(&Physics::D_b), Range::above(0), "cm^2/s",
                  "initial bulk diffusivity (the multi-start spreads it over `decades`)")
            .convertedBy(kUm2PerCm2)
            .real("kappa", start(&Physics::kappa), Range::above(0), "cm/s",
                  "initial grain-boundary permeance D_gb/delta")
            .convertedBy(kUmPerCm)
            .real("surface_exchange", start(&Physics::k_surface), Range::atLeast(0), "cm/s",
                  "surface exchange coefficient k (initial value when fitted); 0 = fixed "
                  "surface fraction")
            .convertedBy(kUmPerCm)
            .real("reservoir", domain(&Domain::reservoir_um), Range::atLeast(0), "um",
                  kReservoirHelp)
            .flag("staircase_correction", &P::staircase_correction, kStaircaseHelp)
            .flag("source_wedges", domain(&Domain::wedge_contacts), kWedgeHelp)
            .flag("fit_surface_exchange", fit(&FitOptions::fit_surface_exchange),
                  "fit k as well (needs surface_exchange > 0 as the start)")
            .real("f_source", start(&Physics::f_s), Range::between(0, 1), "",
                  "6Li fraction of the source (initial value when fitted)")
            .flag("fit_f_source", fit(&FitOptions::fit_f_s), "fit the source fraction")
            .real("f_background", start(&Physics::f_bg), Range::between(0, 1), "",
                  "initial 6Li fraction of the sample (natural abundance 0.0759)")
            .flag("fit_f_background", fit(&FitOptions::fit_f_bg), "fit the background fraction")
            .real("delta", &P::delta, Range::above(0), "nm",
                  "grain-boundary width used to report D_gb = kappa * delta")
            .real("decades", fit(&FitOptions::decades), Range::between(0, 4), "",
                  "multi-start: D_bulk and kappa also start at 10^(+-decades) times the initial")
            .integer("boundary_margin", &P::boundary_margin, Range::between(0, 10), "px",
                     "leave pixels within this many pixels of a grain boundary out of the "
                     "residuals (they are still modelled): pixels that straddle a boundary, or "
                     "whose label is uncertain by a fraction of a pixel after registration, "
                     "otherwise blur the measured jumps and bias kappa upwards")
            .integer("max_iterations", fit(&FitOptions::max_iterations), Range::between(1, 10000),
                     "",
                     "Levenberg-Marquardt iterations per start; a fit that needs more is "
                     "reported as not converged (exit code 3)")
            .integer("profile_points", fit(&FitOptions::profile_points), Range::between(0, 101), "",
                     "points of an extra cost profile on a fixed grid along D_bulk and kappa "
                     "(others re-optimised); 0 = none (the profile-likelihood interval search "
                     "gives the profile), else at least 3")
            .real("interval_level", fit(&FitOptions::interval_level), Range::between(0, 0.9999), "",
                  "confidence of the profile-likelihood intervals of every fitted parameter "
                  "(0 = none; a side the profile never closes makes the result a bound)")
            .real("boundary_sigma", &P::boundary_sigma, Range::atLeast(-1), "um",
                  "uncertainty (1 sigma) of the boundaries' positions from segmentation and "
                  "registration, for labels finer than the map: its effect on each pixel's mean "
                  "joins sigma_f; -1 = auto (half a label cell), 0 = none")
            .real("boundary_blur", &P::boundary_blur, Range::atLeast(-1), "um",
                  "for labels finer than the map: blur the model by a Gaussian of this width "
                  "before each pixel's mean, so that a pixel a drawn boundary crosses is "
                  "predicted as it is on average when the boundary lies where drawn +- this "
                  "error (without it, the scatter of drawn boundaries shrinks the modelled "
                  "jumps and biases kappa high); -1 = measured by the data (refits at blurs of "
                  "0, 1/2 and 1 label cell: the minimum of chi^2), else as given (0 = none)")
            .integer("label_ensemble", fit(&FitOptions::label_ensemble), Range::between(0, 1), "",
                     "1: systematic error from where the labels sit: refit with the labels "
                     "moved by one cell along +-x and +-y, find the offset the data prefer and "
                     "its uncertainty, and add the parameters' response to it to the errors "
                     "and intervals (microstructure model); 0 = none")
            .integer("boundary_refit", &P::boundary_refit, Range::between(0, 10), "px",
                     "refit without the pixels within this distance of a boundary, where errors "
                     "in the labels act, and widen every interval to hold that refit's too (the "
                     "shift joins the systematic error; a warning when a rate parameter moves "
                     "by more than 2 standard errors); 0 = none")
            .flag("grid_check", &P::grid_check,
                  "refit on a model grid twice as fine (the same boundaries, every cell split "
                  "2 x 2) and widen every interval to hold that refit's too: the model's "
                  "discretisation error joins the systematic error (microstructure model with "
                  "an edge source; a warning when a rate parameter moves by more than 2 "
                  "standard errors, or when the finer grid does not fit the memory budget); "
                  "off by default: it costs about 40 % more time at 256 x 256 pixels and did "
                  "not change the coverage of 10 independent cases")
            .integer("label_smoothing", &P::label_smoothing, Range::between(-1, 5), "",
                     "passes of a 3 x 3 majority filter over the labels before modelling: "
                     "removes the pixel-scale roughness a segmentation draws along boundaries, "
                     "which the model would take for extra boundary length and in-grain "
                     "structure (biasing D_bulk low and kappa high); -1 = auto (1 for labels "
                     "finer than the map, else 0)")
            .flag("edge_contacts", fit(&FitOptions::edge_contacts),
                  "labels finer than the map, edge source: let the data decide which grains "
                  "touch the source, where the labels' first row of cells along the edge is "
                  "in doubt (a one-cell sliver of another grain in front of a grain, or a "
                  "contact that is really a sliver in front of it): at the fit's optimum the "
                  "edits the residuals ask for are tried, those that lower chi^2 by more than "
                  "10 are kept, and the fit runs again on the edited labels (note "
                  "edge_contacts)")
            .flag("variance_from_model", fit(&FitOptions::variance_from_model),
                  "weight each pixel by sigma_f scaled to the model's fraction at the fit's "
                  "start (the cheaper problem's optimum), not to the pixel's own: sigma_f from "
                  "the measured f is smallest where noise pushed f towards 0 or 1, and such "
                  "weights pull the fit that way (f_s by about +5e-4)")
            .flag("scale_by_chi2", fit(&FitOptions::scale_by_chi2),
                  "inflate standard errors and intervals by sqrt(chi^2/nu) when chi^2/nu > 1 "
                  "(treats a misfit as extra noise; off: a misfit is reported, not absorbed)")
            .real("profile_sigmas", fit(&FitOptions::profile_sigmas), Range::above(0), "",
                  "profile half-width in standard errors (at most one decade)")
            .text("profile_plot", &P::profile_plot,
                  "file prefix of the profile plots (<prefix>-D_bulk.png ...); empty = none")
            .text("depth_plot", &P::depth_plot,
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
    if (std::string why; !params().fit.IsValid(&why)) pf.fail(why);
    const auto& plot = params().profile_plot;
    if (!plot.empty() && plot.find_first_of("/\\") != std::string::npos)
      pf.fail("`profile_plot` must be a plain file name prefix");
    const auto& depth = params().depth_plot;
    if (!depth.empty() && depth.find_first_of("/\\") != std::string::npos)
      pf.fail("`depth_plot` must be a plain file name (without .png)");
    for (const char* in : {"fraction", "sigma", "labels"}) pf.reads(in);
    pf.readsIfBound("registration");
    preflightSource(pf, params().source_edge);
    if (params().model == ModelChoice::kSeries && params().fit.domain.reservoir_um > 0)
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
    timed(r, "refit without flagged grains",
          [&] { allowForFlaggedGrains(ctx, f, sigma, in, diag, r); });
    if (p.model != ModelChoice::kSeries)
      timed(r, "refit without boundary pixels",
            [&] { allowForBoundaryLabels(ctx, f, sigma, in, r); });
    if (p.model == ModelChoice::kMicrostructure)
      timed(r, "refit on a finer model grid", [&] { allowForModelGrid(ctx, f, sigma, in, r); });
    const Verdict verdict = judgeFit(r, diag);
    for (const auto& w : verdict.warnings) ctx.warn(w);
    for (const auto& why : verdict.reasons) ctx.failCheck("not fit for use: " + why);
    for (const auto& [key, text] : fitNotes(r, diag, verdict, in.o.domain.h)) ctx.note(key, text);
    if (!r.boundary_blur.empty() && r.boundary_blur_um > in.o.domain.h) {
      ctx.warn(fmt::format(
          "the drawn boundaries scatter by {:.3f} um (1 sigma) about where the data put them, "
          "more than a label cell ({} um): the segmentation or the registration is poor there; "
          "the model is blurred by as much (boundary_blur)",
          r.boundary_blur_um, in.o.domain.h));
    }
    FitReport report = fitReport(
        r, diag, verdict,
        {nameOf(p.model), nameOf(p.source_edge), p.fit.domain.time, p.delta,
         p.fit.initial.k_surface > 0 || p.fit.fit_surface_exchange, p.fit.domain.reservoir_um > 0});
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
    in.o = optionsFor(p,
                      domainFor(ctx, l, p.fit.domain, p.source_edge, p.staircase_correction,
                                smoothing > 0 ? &drawn : nullptr),
                      in.sub);
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
    // The blur: measured by the data (from boundary_sigma's), or as given.
    o.fit_boundary_blur = p.boundary_blur < 0;
    o.boundary_blur_um = p.boundary_blur < 0 ? o.boundary_sigma_um : p.boundary_blur;
  }

  // Runs `work` and adds its wall-clock time to the result's split when it took any.
  template <class Work>
  static void timed(FitResult& r, const char* what, Work&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s >= 0.01) r.seconds.emplace_back(what, s);
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

  // Where the labels sit: how much the result leans on the pixels next to boundaries joins its
  // systematic error (a refit without them).
  void allowForBoundaryLabels(RunContext& ctx, const Map& f, const Map& sigma, const Prepared& in,
                              FitResult& r) const {
    const int margin = params().boundary_refit;
    if (margin <= 0) return;
    try {
      const double moved =
          allowForBoundaryPixels(r, f.values, sigma.values, in.mask, in.map_labels, margin, in.o);
      if (moved > 2) {
        ctx.warn(fmt::format(
            "the result leans on the pixels next to grain boundaries: without those within {} "
            "pixel(s) of one, a rate parameter moves by {:.1f} of its standard errors. Where "
            "the labels place the boundaries limits this result; its intervals hold both fits",
            margin, moved));
      }
    } catch (const Error& e) {
      ctx.warn(fmt::format(
          "the refit without the pixels next to boundaries failed ({}): how much the result "
          "leans on where the labels sit is only partly in its errors",
          e.what()));
    }
  }

  // The model's discretisation error: a refit with every cell split 2 × 2 (the same
  // boundaries) joins the systematic error. Needs an edge source (the observation model).
  void allowForModelGrid(RunContext& ctx, const Map& f, const Map& sigma, const Prepared& in,
                         FitResult& r) const {
    if (!params().grid_check || !in.o.domain.source_region.empty()) return;
    FitOptions finer = in.o;
    finer.domain = splitCells(in.o.domain);
    finer.subsample = 2 * in.sub;
    try {
      const double moved = allowForFinerGrid(r, f.values, sigma.values, in.mask, finer);
      if (moved > 2) {
        ctx.warn(fmt::format(
            "the result depends on the model's grid: on cells of {:.3g} um instead of {:.3g} "
            "um a rate parameter moves by {:.1f} of its standard errors. Its intervals hold "
            "both fits; labels finer than the map (resample's `subdivide`) would reduce it",
            finer.domain.h, in.o.domain.h, moved));
      }
    } catch (const Error& e) {
      ctx.warn(
          fmt::format("the check on a model grid twice as fine was not made ({}): the model's "
                      "discretisation error is not in the result's errors",
                      e.what()));
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

}  // namespace

std::unique_ptr<Stage> makeFitStage() {
  return std::make_unique<FitStage>();
}

}  // namespace ionmap::diffusion
