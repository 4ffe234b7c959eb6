// Registration stages: `register` (coarse + refine, or landmarks) and `drift-correct`.
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/resample.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "registration/drift.hpp"
#include "registration/landmarks.hpp"
#include "registration/phase_correlation.hpp"
#include "registration/quicklooks.hpp"
#include "registration/register.hpp"

namespace ionmap::registration {
namespace {

struct RegisterParams {
  std::string coarse = "fourier-mellin";
  std::string refine = "ncc";
  std::string transform = "similarity";
  std::string preprocess = "none";
  double smooth = 0;
  int levels = 3;
  int max_iterations = 60;
  int max_working_pixels = 512;
  std::vector<double> fixed_points;
  std::vector<double> moving_points;
  std::string landmarks_input;
  double min_overlap = 0.1;
  double min_ncc = 0.2;
  double min_tile_agreement = 0.6;
  std::string on_failure = "stop";
  bool quicklooks = true;
};

std::vector<Point2> pairsOf(const std::vector<double>& v) {
  std::vector<Point2> out;
  for (std::size_t i = 0; i + 1 < v.size(); i += 2) out.push_back({v[i], v[i + 1]});
  return out;
}

class RegisterStage final : public StageOf<RegisterParams, RegisterStage> {
 public:
  static const ParamSchema<RegisterParams>& schema() {
    static const auto s =
        ParamSchema<RegisterParams>()
            .choice("coarse", &RegisterParams::coarse,
                    {"fourier-mellin", "phase", "landmarks", "none"},
                    "first estimate: Fourier-Mellin (rotation, scale, shift), phase correlation "
                    "(shift), "
                    "landmarks, or none (start from the `initial` transform)")
            .choice("refine", &RegisterParams::refine, {"ncc", "mi", "none"},
                    "intensity refinement on a pyramid: ncc (same modality), mi (mutual "
                    "information, multimodal)")
            .choice("transform", &RegisterParams::transform,
                    {"translation", "rigid", "similarity", "affine"},
                    "family of the transform refined or fitted to landmarks")
            .choice("preprocess", &RegisterParams::preprocess, {"none", "gradient", "valleys"},
                    "what is matched: intensities, gradient magnitude (edges), or valleys (dark "
                    "lines: laser grooves, SIMS count dips over boundaries; ignores shading, "
                    "grain contrast and specks)")
            .real("smooth", &RegisterParams::smooth, Range::atLeast(0), "um",
                  "Gaussian sigma before the gradient or valley response; 0 = one working pixel")
            .integer("levels", &RegisterParams::levels, Range::between(1, 6), "",
                     "pyramid levels of the refinement")
            .integer("max_iterations", &RegisterParams::max_iterations, Range::between(1, 1000), "",
                     "optimiser iterations per pyramid level")
            .integer("max_working_pixels", &RegisterParams::max_working_pixels,
                     Range::between(64, 4096), "",
                     "longest side of the working grid (speed against accuracy)")
            .reals("fixed_points", &RegisterParams::fixed_points, 0, Range::any(), "um",
                   "landmarks in the fixed map: [x1, y1, x2, y2, ...]")
            .reals("moving_points", &RegisterParams::moving_points, 0, Range::any(), "um",
                   "the same landmarks in the moving map, in the same order")
            .text("landmarks_input", &RegisterParams::landmarks_input,
                  "pipeline input: CSV with columns fixed_x, fixed_y, moving_x, moving_y (um)")
            .real(
                "min_overlap", &RegisterParams::min_overlap, Range::between(0, 1), "",
                "fail when the registered maps overlap less than this fraction of the fixed field")
            .real("min_ncc", &RegisterParams::min_ncc, Range::between(-1, 1), "",
                  "below this final NCC the match is poor (a failed check)")
            .real("min_tile_agreement", &RegisterParams::min_tile_agreement, Range::between(0, 1),
                  "",
                  "the overlap is cut into 3 x 3 tiles (2 x 2 on small fields) and each is "
                  "matched again: below this fraction of tiles that agree with the transform "
                  "(residual shift within max(1.5 working px, 10% of the tile), peak-to-sidelobe "
                  "ratio > 6) the match is wrong (a failed check)")
            .choice("on_failure", &RegisterParams::on_failure, {"stop", "continue"},
                    "when the match fails its checks: stop the run after this stage (what was "
                    "computed is written, exit code 3), or continue with the failed check "
                    "recorded (the verdict is still NOT fit for use)")
            .flag("quicklooks", &RegisterParams::quicklooks,
                  "write checkerboard and edge overlays before/after");
    return s;
  }
  std::string name() const override { return "register"; }
  std::string summary() const override {
    return "find the transform that puts a moving map onto a fixed map (phase correlation, "
           "Fourier-Mellin, "
           "NCC/MI refinement, landmarks)";
  }
  std::vector<PortSpec> ports() const override {
    return {{"fixed", ItemKind::kMap, false, false, "reference map (e.g. the microscope image)"},
            {"moving", ItemKind::kMap, false, false, "map to put onto the reference"},
            {"initial", ItemKind::kTransform, false, true, "starting moving-to-fixed transform"},
            {"transform", ItemKind::kTransform, true, false, "moving-to-fixed transform (um)"},
            {"report", ItemKind::kTable, true, true, "quality: metrics, overlap, quality flag"},
            {"landmarks", ItemKind::kTable, true, true, "landmark residuals and outlier flags"},
            {"resampled", ItemKind::kMap, true, true, "the moving map on the fixed grid"}};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    pf.reads("fixed");
    pf.reads("moving");
    const bool initial = !pf.readsIfBound("initial").empty();
    const bool has_points = !p.fixed_points.empty() || !p.moving_points.empty();
    if (p.fixed_points.size() % 2 || p.moving_points.size() % 2)
      pf.fail("landmark lists need x, y pairs");
    if (p.fixed_points.size() != p.moving_points.size()) {
      pf.fail(fmt::format("{} fixed and {} moving landmark coordinates: the lists must pair up",
                          p.fixed_points.size(), p.moving_points.size()));
    }
    if (!p.landmarks_input.empty()) pf.inputFile(p.landmarks_input);
    if (p.coarse == "landmarks" && !has_points && p.landmarks_input.empty()) {
      pf.fail("coarse: landmarks needs fixed_points/moving_points or landmarks_input");
    }
    if (p.coarse != "landmarks" && (has_points || !p.landmarks_input.empty())) {
      pf.fail("landmarks are given but coarse is not `landmarks`");
    }
    if (p.coarse == "none" && p.refine == "none" && !initial)
      pf.fail("nothing to do: no coarse step, no refinement");
    if (pf.outputBound("landmarks") && p.coarse != "landmarks")
      pf.fail("the `landmarks` output needs coarse: landmarks");
    pf.writes("transform");
    for (const char* o : {"report", "landmarks", "resampled"}) {
      if (pf.outputBound(o)) pf.writes(o);
    }
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    const Map& fixed = ctx.get<Map>("fixed");
    const Map& moving = ctx.get<Map>("moving");
    const auto kind = Transform2D::kindFromName(p.transform);
    Transform2D initial = ctx.bound("initial") ? ctx.get<Transform2D>("initial") : Transform2D();
    Table report("registration quality");
    report.addText("quantity");
    report.addQuantity("value");
    report.addText("unit");
    auto row = [&](const std::string& q, double v, const std::string& u) {
      report.columns[0].texts.push_back(q);
      report.columns[1].numbers.push_back(v);
      report.columns[2].texts.push_back(u);
    };
    if (p.coarse == "landmarks") {
      std::vector<Point2> fp = pairsOf(p.fixed_points), mp = pairsOf(p.moving_points);
      if (!p.landmarks_input.empty()) readLandmarkCsv(ctx.inputFile(p.landmarks_input), fp, mp);
      const LandmarkFit fit = fitLandmarks(fp, mp, kind);
      initial = fit.moving_to_fixed;
      row("landmark_rms_residual", fit.rms, "um");
      std::size_t outliers = 0;
      for (bool o : fit.outlier) outliers += o;
      row("landmark_outliers", static_cast<double>(outliers), "");
      if (outliers)
        ctx.warn(fmt::format("{} landmark(s) flagged as outliers (residual far above the others)",
                             outliers));
      if (ctx.outputBound("landmarks")) {
        Table t("landmark residuals");
        for (const char* c : {"fixed_x", "fixed_y", "moving_x", "moving_y", "residual"})
          t.addNumeric(c, "um");
        t.addNumeric("outlier", "");
        for (std::size_t i = 0; i < fp.size(); ++i) {
          const double v[6] = {fp[i].x, fp[i].y,         mp[i].x,
                               mp[i].y, fit.residual[i], fit.outlier[i] ? 1.0 : 0.0};
          for (int c = 0; c < 6; ++c) t.columns[c].numbers.push_back(v[c]);
        }
        ctx.put("landmarks", std::move(t));
      }
    }
    RegisterOptions o;
    o.coarse = p.coarse == "fourier-mellin" ? Coarse::kFourierMellin
               : p.coarse == "phase"        ? Coarse::kPhase
                                            : Coarse::kNone;
    o.refine = p.refine != "none";
    o.refine_options.metric = p.refine == "mi" ? Metric::kMutualInformation : Metric::kNcc;
    o.refine_options.kind = kind;
    o.refine_options.levels = p.levels;
    o.refine_options.max_iterations = p.max_iterations;
    o.preprocess = p.preprocess == "gradient"  ? Preprocess::kGradient
                   : p.preprocess == "valleys" ? Preprocess::kValleys
                                               : Preprocess::kNone;
    o.smooth_um = p.smooth;
    o.max_working_pixels = p.max_working_pixels;
    RegisterResult r = registerMaps(fixed, moving, initial, o);
    if (!o.refine && p.coarse == "landmarks") r.moving_to_fixed = initial;
    ctx.note("transform", r.moving_to_fixed.describe());
    ctx.note("working_grid", r.working.describe());
    row("ncc", r.ncc, "");
    row("mutual_information", r.mutual_information, "nat");
    row("overlap_fraction", r.overlap, "");
    row("coarse_peak", r.coarse_peak, "");
    row("metric_evaluations", r.evaluations, "");
    const TileCheck& tc = r.tiles;
    const double wpx = r.working.pixel_x;
    row("tiles_used", tc.tiles_used, "");
    row("tile_agreement", tc.agreement, "");
    row("tile_rms_shift", tc.rms_shift_px * wpx, "um");
    // Not estimated (NaN) unless at least two tiles agree.
    const double uncertainty = tc.tiles_agreeing >= 2 ? tc.uncertainty_px * wpx : std::nan("");
    row("uncertainty", uncertainty, "um");
    ctx.note("tiles",
             fmt::format("{} of {} tiles agree within {:.3f} um (RMS residual shift {:.3f} um)",
                         tc.tiles_agreeing, tc.tiles_used, tc.agree_radius_px * wpx,
                         tc.rms_shift_px * wpx));
    ctx.note("uncertainty_um", fmt::format("{:.4f}", uncertainty));
    {
      std::string per_tile;
      for (std::size_t i = 0; i < tc.shifts.size(); ++i) {
        per_tile +=
            fmt::format("{}({:+.3f}, {:+.3f}) um, peak/sidelobe {:.1f}", i ? "; " : "",
                        tc.shifts[i][0] * wpx, tc.shifts[i][1] * wpx, tc.sidelobe_ratios[i]);
      }
      ctx.note("tile_shifts", per_tile);
    }
    std::vector<std::string> problems;
    if (r.ncc < p.min_ncc)
      problems.push_back(
          fmt::format("the match is poor (NCC {:.3f} < min_ncc {:.3f})", r.ncc, p.min_ncc));
    if (tc.tiles_used >= 4 && tc.agreement < p.min_tile_agreement) {
      problems.push_back(fmt::format(
          "only {} of {} tiles of the overlap agree with the transform (min_tile_agreement "
          "{:.2f}): the transform is most likely wrong",
          tc.tiles_agreeing, tc.tiles_used, p.min_tile_agreement));
    }
    const bool good = problems.empty();
    row("quality_good", good ? 1.0 : 0.0, "");
    ctx.note("quality", good ? "good" : "poor");
    if (r.overlap < p.min_overlap) {
      throw ProcessingError(
          fmt::format("the registered maps overlap on only {:.1f}% of the fixed field (min_overlap "
                      "{:.1f}%): no trustworthy transform",
                      100 * r.overlap, 100 * p.min_overlap));
    }
    if (tc.tiles_used < 4) {
      ctx.warn(fmt::format(
          "the overlap is too small to cut into tiles ({} usable): the transform could not be "
          "cross-checked and has no uncertainty estimate",
          tc.tiles_used));
    }
    if (!good) {
      // A failed check, not a warning: whatever is computed from this transform downstream
      // (labels on another grid, a diffusion fit) is not fit for use, and the run says so.
      std::string msg = "not fit for use: ";
      for (std::size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
      msg += p.preprocess != "valleys"
                 ? "; check the quicklooks; for grooves or boundary contrast try preprocess: "
                   "valleys"
                 : "; check the quicklooks (checkerboard, edges)";
      if (p.on_failure == "stop") {
        ctx.stopRun(msg);
      } else {
        ctx.failCheck(msg);
      }
    }
    if (p.quicklooks) {
      for (const auto& f : writeRegistrationQuicklooks(r, ctx.fileDir(), ctx.outItem("transform")))
        ctx.note("quicklook", f);
    }
    if (ctx.outputBound("resampled")) {
      Map out = resampleMap(moving, fixed.grid, r.moving_to_fixed, Interpolation::kLinear);
      ctx.put("resampled", std::move(out));
    }
    if (ctx.outputBound("report")) ctx.put("report", std::move(report));
    ctx.put("transform", r.moving_to_fixed);
  }
};

// --- drift-correct ------------------------------------------------------------------------
struct DriftParams {
  std::string input;
  Combine combine = Combine::kMean;
  double pixel_size = 0;
};

class DriftStage final : public StageOf<DriftParams, DriftStage> {
 public:
  static const ParamSchema<DriftParams>& schema() {
    static const auto s =
        ParamSchema<DriftParams>()
            .text("input", &DriftParams::input,
                  "pipeline input holding the frames (a multi-page TIFF, one page each)")
            .choice("combine", &DriftParams::combine,
                    {{"mean", Combine::kMean}, {"sum", Combine::kSum}},
                    "how aligned frames are combined (sum for counts)")
            .real("pixel_size", &DriftParams::pixel_size, Range::atLeast(0), "um",
                  "pixel size when the file has none");
    return s;
  }
  std::string name() const override { return "drift-correct"; }
  std::string summary() const override {
    return "align every frame of a series onto the first (sub-pixel phase correlation) and combine "
           "them";
  }
  std::vector<PortSpec> ports() const override {
    return {{"drift", ItemKind::kTable, true, false, "per-frame shift (um) and correlation peak"},
            {"map", ItemKind::kMap, true, false,
             "aligned frames combined (valid where every frame is)"}};
  }
  void preflight(Preflight& pf) const override {
    if (params().input.empty()) pf.fail("parameter 'input' is required");
    pf.inputFile(params().input);
    pf.writes("drift");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    const auto path = ctx.inputFile(params().input);
    ReadOptions ro;
    ro.pixel_x = params().pixel_size;
    const Dataset ds = loadFile(ctx.registry().pickReader(path), path, ro);
    DriftCorrection d = correctDrift(ds.maps, params().combine, path.string());
    Table t("drift");
    t.addNumeric("frame", "");
    t.addNumeric("dx", "um");
    t.addNumeric("dy", "um");
    t.addNumeric("peak", "");
    for (std::size_t k = 0; k < d.shifts.size(); ++k) {
      const FrameShift& s = d.shifts[k];
      const double row[4] = {static_cast<double>(k), s.dx, s.dy, s.peak};
      for (int c = 0; c < 4; ++c) t.columns[static_cast<std::size_t>(c)].numbers.push_back(row[c]);
      if (s.peak < 0.05)
        ctx.warn(fmt::format("frame {} correlates weakly with frame 0 (peak {:.3f})", k, s.peak));
    }
    ctx.note("frames", std::to_string(ds.maps.size()));
    ctx.put("drift", std::move(t));
    ctx.put("map", std::move(d.combined));
  }
};

}  // namespace

std::unique_ptr<Stage> makeRegisterStage() {
  return std::make_unique<RegisterStage>();
}
std::unique_ptr<Stage> makeDriftStage() {
  return std::make_unique<DriftStage>();
}

}  // namespace ionmap::registration

namespace ionmap {
void ionmap_register_registration(Registry& registry) {
  registry.addStage(registration::makeRegisterStage, "registration");
  registry.addStage(registration::makeDriftStage, "registration");
}
}  // namespace ionmap
