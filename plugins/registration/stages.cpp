// Registration stages: `register` (coarse + refine, or landmarks) and `drift-correct`.
#include <cmath>
#include <optional>

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
#include "registration/report.hpp"

namespace ionmap::registration {
namespace {

enum class CoarseStep { kFourierMellin, kPhase, kLandmarks, kNone };
enum class Refinement { kNcc, kMutualInformation, kNone };
enum class OnFailure { kStop, kContinue };

// The registration's own options bound in place (transform, levels, iterations, preprocessing,
// working grid); the coarse step and refinement choices also cover landmarks and "none".
struct RegisterParams {
  RegisterOptions options;
  CoarseStep coarse = CoarseStep::kFourierMellin;
  Refinement refine = Refinement::kNcc;
  std::vector<double> fixed_points;
  std::vector<double> moving_points;
  double min_overlap = 0.1;
  double min_ncc = 0.2;
  double min_tile_agreement = 0.6;
  OnFailure on_failure = OnFailure::kStop;
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
    using P = RegisterParams;
    auto refineOption = [](auto m) {
      return field(&P::options, &RegisterOptions::refine_options, m);
    };
    static const auto s =
        ParamSchema<RegisterParams>()
            .choice("coarse", &RegisterParams::coarse,
                    {{"fourier-mellin", CoarseStep::kFourierMellin},
                     {"phase", CoarseStep::kPhase},
                     {"landmarks", CoarseStep::kLandmarks},
                     {"none", CoarseStep::kNone}},
                    "first estimate: Fourier-Mellin (rotation, scale, shift), phase correlation "
                    "(shift), "
                    "landmarks, or none (start from the `initial` transform)")
            .choice("refine", &RegisterParams::refine,
                    {{"ncc", Refinement::kNcc},
                     {"mi", Refinement::kMutualInformation},
                     {"none", Refinement::kNone}},
                    "intensity refinement on a pyramid: ncc (same modality), mi (mutual "
                    "information, multimodal)")
            .choice("transform", refineOption(&RefineOptions::kind),
                    {{"translation", Transform2D::Kind::kTranslation},
                     {"rigid", Transform2D::Kind::kRigid},
                     {"similarity", Transform2D::Kind::kSimilarity},
                     {"affine", Transform2D::Kind::kAffine}},
                    "family of the transform refined or fitted to landmarks")
            .choice("preprocess", field(&P::options, &RegisterOptions::preprocess),
                    {{"none", Preprocess::kNone},
                     {"gradient", Preprocess::kGradient},
                     {"valleys", Preprocess::kValleys}},
                    "what is matched: intensities, gradient magnitude (edges), or valleys (dark "
                    "lines: laser grooves, SIMS count dips over boundaries; ignores shading, "
                    "grain contrast and specks)")
            .real("smooth", field(&P::options, &RegisterOptions::smooth_um), Range::atLeast(0),
                  "um",
                  "Gaussian sigma before the gradient or valley response; 0 = one working pixel")
            .integer("levels", refineOption(&RefineOptions::levels), Range::between(1, 6), "",
                     "pyramid levels of the refinement")
            .integer("max_iterations", refineOption(&RefineOptions::max_iterations),
                     Range::between(1, 1000), "", "optimiser iterations per pyramid level")
            .integer("max_working_pixels", field(&P::options, &RegisterOptions::max_working_pixels),
                     Range::between(64, 4096), "",
                     "longest side of the working grid (speed against accuracy)")
            .reals("fixed_points", &RegisterParams::fixed_points, 0, Range::any(), "um",
                   "landmarks in the fixed map: [x1, y1, x2, y2, ...]")
            .reals("moving_points", &RegisterParams::moving_points, 0, Range::any(), "um",
                   "the same landmarks in the moving map, in the same order")
            .moved("landmarks_input",
                   "bind the landmark CSV as a port instead: `in: {landmark_file: <name under "
                   "inputs:>}`")
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
            .choice("on_failure", &RegisterParams::on_failure,
                    {{"stop", OnFailure::kStop}, {"continue", OnFailure::kContinue}},
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
    return {
        PortSpec::in("fixed", ItemKind::kMap, "reference map (e.g. the microscope image)")
            .needingPixelSize(),
        PortSpec::in("moving", ItemKind::kMap, "map to put onto the reference").needingPixelSize(),
        PortSpec::optionalIn("initial", ItemKind::kTransform, "starting moving-to-fixed transform"),
        PortSpec::optionalInputFile(
            "landmark_file",
            "CSV of landmarks with columns fixed_x, fixed_y, moving_x, moving_y (um), for "
            "coarse: landmarks"),
        PortSpec::out("transform", ItemKind::kTransform, "moving-to-fixed transform (um)"),
        PortSpec::optionalOut("report", ItemKind::kTable,
                              "quality: metrics, overlap, quality flag"),
        PortSpec::optionalOut("landmarks", ItemKind::kTable,
                              "landmark residuals and outlier flags"),
        PortSpec::optionalOut("resampled", ItemKind::kMap, "the moving map on the fixed grid")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    if (std::string why; !p.options.IsValid(&why)) pf.fail(why);
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
    const bool landmark_file = !pf.readsFile("landmark_file").empty();
    const bool landmarks = p.coarse == CoarseStep::kLandmarks;
    if (landmarks && !has_points && !landmark_file) {
      pf.fail("coarse: landmarks needs fixed_points/moving_points or the `landmark_file` input");
    }
    if (!landmarks && (has_points || landmark_file)) {
      pf.fail("landmarks are given but coarse is not `landmarks`");
    }
    if (p.coarse == CoarseStep::kNone && p.refine == Refinement::kNone && !initial)
      pf.fail("nothing to do: no coarse step, no refinement");
    if (pf.outputBound("landmarks") && !landmarks)
      pf.fail("the `landmarks` output needs coarse: landmarks");
    pf.writes("transform");
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    const Map& fixed = ctx.get<Map>("fixed");
    const Map& moving = ctx.get<Map>("moving");
    Transform2D initial = ctx.bound("initial") ? ctx.get<Transform2D>("initial") : Transform2D();
    std::optional<LandmarkFit> landmarks;
    if (p.coarse == CoarseStep::kLandmarks) {
      landmarks = fitGivenLandmarks(ctx);
      initial = landmarks->moving_to_fixed;
    }
    RegisterResult r = registerMaps(fixed, moving, initial, optionsFor(p));
    if (p.refine == Refinement::kNone && landmarks) r.moving_to_fixed = initial;
    for (const auto& [key, value] : registrationNotes(r)) ctx.note(key, value);
    const RegistrationVerdict verdict = judgeRegistration(r, {p.min_ncc, p.min_tile_agreement});
    ctx.note("quality", verdict.good ? "good" : "poor");
    checkOverlapAndTiles(ctx, r, landmarks ? &*landmarks : nullptr);
    const std::string failed = verdict.message(p.options.preprocess == Preprocess::kValleys);
    // A failed check, not a warning: whatever is computed from this transform downstream is
    // not fit for use, and the run says so (and stops here unless on_failure: continue).
    if (!verdict.good && p.on_failure == OnFailure::kStop) ctx.stopRun(failed);
    if (!verdict.good && p.on_failure == OnFailure::kContinue) ctx.failCheck(failed);
    if (p.quicklooks) {
      for (const auto& f : writeRegistrationQuicklooks(r, ctx.fileDir(), ctx.outItem("transform")))
        ctx.note("quicklook", f);
    }
    if (ctx.outputBound("resampled"))
      ctx.put("resampled",
              resampleMap(moving, fixed.grid, r.moving_to_fixed, Interpolation::kLinear));
    if (ctx.outputBound("report"))
      ctx.put("report", registrationReport(r, landmarks ? &*landmarks : nullptr, verdict));
    ctx.put("transform", r.moving_to_fixed);
  }

 private:
  // The options as bound, with the coarse step and the refinement the choices name.
  static RegisterOptions optionsFor(const RegisterParams& p) {
    RegisterOptions o = p.options;
    o.coarse = p.coarse == CoarseStep::kFourierMellin ? Coarse::kFourierMellin
               : p.coarse == CoarseStep::kPhase       ? Coarse::kPhase
                                                      : Coarse::kNone;
    o.refine = p.refine != Refinement::kNone;
    o.refine_options.metric =
        p.refine == Refinement::kMutualInformation ? Metric::kMutualInformation : Metric::kNcc;
    return o;
  }

  // The landmarks of the parameters and the landmark file, fitted; the residual table when
  // asked for, and a warning for outliers.
  LandmarkFit fitGivenLandmarks(RunContext& ctx) const {
    const auto& p = params();
    std::vector<Point2> fp = pairsOf(p.fixed_points), mp = pairsOf(p.moving_points);
    if (ctx.bound("landmark_file")) readLandmarkCsv(ctx.file("landmark_file"), fp, mp);
    LandmarkFit fit = fitLandmarks(fp, mp, p.options.refine_options.kind);
    std::size_t outliers = 0;
    for (bool o : fit.outlier) outliers += o;
    if (outliers)
      ctx.warn(fmt::format("{} landmark(s) flagged as outliers (residual far above the others)",
                           outliers));
    if (ctx.outputBound("landmarks")) ctx.put("landmarks", landmarkTable(fp, mp, fit));
    return fit;
  }

  // Too little overlap is an error (no transform to trust); too little for tiles, a warning.
  void checkOverlapAndTiles(RunContext& ctx, const RegisterResult& r,
                            const LandmarkFit* landmarks) const {
    if (r.overlap < params().min_overlap) {
      throw ProcessingError(
          fmt::format("the registered maps overlap on only {:.1f}% of the fixed field (min_overlap "
                      "{:.1f}%): no trustworthy transform",
                      100 * r.overlap, 100 * params().min_overlap));
    }
    if (r.tiles.tiles_used < 4 && landmarks && std::isfinite(landmarks->uncertainty)) {
      // Marks over-determine the transform: their residuals give its error.
      ctx.note("uncertainty",
               fmt::format("{:.3g} um from {} landmarks ({} usable tiles)", landmarks->uncertainty,
                           landmarks->residual.size(), r.tiles.tiles_used));
    } else if (r.tiles.tiles_used < 4) {
      ctx.warn(fmt::format(
          "the overlap is too small to cut into tiles ({} usable): the transform could not be "
          "cross-checked and has no uncertainty estimate",
          r.tiles.tiles_used));
    }
  }
};

// --- drift-correct ------------------------------------------------------------------------
struct DriftParams {
  Combine combine = Combine::kMean;
  double pixel_size = 0;
};

class DriftStage final : public StageOf<DriftParams, DriftStage> {
 public:
  static const ParamSchema<DriftParams>& schema() {
    static const auto s =
        ParamSchema<DriftParams>()
            .moved("input", "bind the file as a port instead: `in: {file: <name under inputs:>}`")
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
    return {PortSpec::inputFile("file", "the frames (e.g. a multi-page TIFF, one page each)"),
            PortSpec::out("drift", ItemKind::kTable, "per-frame shift (um) and correlation peak"),
            PortSpec::out("map", ItemKind::kMap,
                          "aligned frames combined (valid where every frame is)")};
  }
  void preflight(Preflight& pf) const override {
    pf.readsFile("file");
    pf.writes("drift");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    const auto path = ctx.file("file");
    ReadOptions ro;
    ro.pixel_x = params().pixel_size > 0 ? params().pixel_size : sidecarPixelSize(path);
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
