// kpfm-operando: KPFM frames at several states of charge drift-corrected onto the first
// (registration plugin), the particles' potential change and its significance, and with
// in-situ ToF-SIMS lithium maps of the same states, the lithium change and its correlation with
// the potential change (operando.hpp; tables in operando_report.cpp).
#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"
#include "ionmap/numerics/resample.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "registration/drift.hpp"
#include "spm/interface_profile.hpp"
#include "spm/operando.hpp"
#include "spm/operando_report.hpp"
#include "spm/stages.hpp"

namespace ionmap::spm {
namespace {

struct OperandoParams {
  OperandoOptions operando;
  std::string unit;         // of the frames when the file has none
  double pixel_size = 0;    // um, when the files have none
  std::string phase_names;  // comma-separated, for phases 1, 2, …
  std::string plot = "operando";
};

class OperandoStage final : public StageOf<OperandoParams, OperandoStage> {
 public:
  static const ParamSchema<OperandoParams>& schema() {
    using P = OperandoParams;
    auto op = [](auto m) { return field(&P::operando, m); };
    static const auto s =
        ParamSchema<P>()
            .reals("soc", op(&OperandoOptions::soc), 0, Range::between(0, 100), "%",
                   "state of charge of every frame, in the file's order")
            .real("threshold", op(&OperandoOptions::threshold), Range::atLeast(0), "V",
                  "a particle responds when its potential changes by more than this from the "
                  "first to the last state...")
            .real("min_z", op(&OperandoOptions::min_z), Range::above(0), "",
                  "...and by more than this many of its own standard errors")
            .integer("min_pixels", op(&OperandoOptions::min_pixels), Range::between(2, 1000000),
                     "px", "particles with fewer pixels valid in every state are left out")
            .integer("edge_px", op(&OperandoOptions::edge_px), Range::between(0, 50), "px",
                     "pixels this close to another particle are left out of the means (after "
                     "drift correction they mix in the neighbour by the alignment's error)")
            .text("unit", &P::unit, "unit of the frames when the file has none (e.g. V)")
            .real("pixel_size", &P::pixel_size, Range::atLeast(0), "um",
                  "pixel size of the frames and lithium maps; 0 = from the files or a sidecar "
                  "<file>.pixelsize.txt")
            .text("phase_names", &P::phase_names,
                  "names of the phases 1, 2, ... of the `phases` map, comma-separated (e.g. "
                  "\"electrolyte, active material\")")
            .text("plot", &P::plot, "file prefix of the plots; empty = none");
    return s;
  }
  std::string name() const override { return "kpfm-operando"; }
  std::string summary() const override {
    return "operando KPFM: drift-corrected frames across states of charge, per-particle "
           "potential change, responding particles, correlation with the lithium change";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::inputFile("frames", "KPFM frames, one page or channel per state"),
        PortSpec::in("particles", ItemKind::kLabelMap, "particle labels on the first frame's grid"),
        PortSpec::optionalInputFile(
            "lithium",
            "ToF-SIMS lithium maps of the same states (one page each), on the first "
            "frame's grid or brought onto it by `lithium_transform`"),
        PortSpec::optionalIn("phases", ItemKind::kLabelMap,
                             "phase of every pixel (1, 2, ...) on the first frame's grid: each "
                             "particle takes the phase of most of its pixels, and the `phases` "
                             "table summarises each phase"),
        PortSpec::optionalIn("lithium_transform", ItemKind::kTransform,
                             "lithium-map-to-first-frame transform (e.g. from `register` of the "
                             "SIMS total-ion image onto the first KPFM frame)"),
        PortSpec::out("responses", ItemKind::kTable,
                      "per particle: potential change, slope, significance, class, lithium"),
        PortSpec::out("drift", ItemKind::kTable, "per frame: shift against frame 0 (um)"),
        PortSpec::optionalOut("phases", ItemKind::kTable,
                              "per phase: particles, responding fraction, mean change, lithium "
                              "(needs the `phases` input)")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().operando.IsValid(&why)) pf.fail(why);
    pf.readsFile("frames");
    const bool lithium = !pf.readsFile("lithium").empty();
    const bool transform = !pf.readsIfBound("lithium_transform").empty();
    if (transform && !lithium) pf.fail("`lithium_transform` is only used with the `lithium` input");
    pf.reads("particles");
    const bool phases = !pf.readsIfBound("phases").empty();
    if (pf.outputBound("phases") && !phases)
      pf.fail("the `phases` table needs the `phases` input (a map of each pixel's phase)");
    if (!params().phase_names.empty() && !phases)
      pf.fail("`phase_names` name the phases of the `phases` input, which is not bound");
    for (const auto& n : splitNames(params().phase_names)) {
      if (n.empty()) pf.fail("`phase_names` has an empty name (two commas, or one at an end)");
    }
    pf.writes("responses");
    pf.writes("drift");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    const auto frames_file = ctx.file("frames");
    std::vector<Map> frames = loadMaps(ctx, frames_file);
    requirePotential(frames.front());
    const registration::DriftCorrection d = registration::correctDrift(
        frames, registration::Combine::kMean, frames_file.string(), true);
    const std::vector<Map> li = lithiumOn(ctx, frames.front().grid);
    std::vector<double> kept;  // of the noise's variance after each frame's interpolation
    for (const auto& s : d.shifts) {
      kept.push_back(interpolatedNoiseVariance(s.dx / frames.front().grid.pixel_x,
                                               s.dy / frames.front().grid.pixel_y));
    }
    OperandoOptions o = p.operando;
    o.phase_names = splitNames(p.phase_names);
    const LabelMap* phases = ctx.bound("phases") ? &ctx.get<LabelMap>("phases") : nullptr;
    const OperandoResult r =
        particleResponses(d.aligned, ctx.get<LabelMap>("particles"), li, o, kept, phases);
    for (const auto& [key, text] : operandoNotes(r, o)) ctx.note(key, text);
    for (const auto& w : operandoWarnings(d.shifts)) ctx.warn(w);
    const std::string unit = frames.front().unit;
    if (!p.plot.empty()) writeOperandoPlots(r, o.soc, unit, ctx.fileDir() / p.plot);
    if (phases) {
      const auto summaries = phaseSummaries(r, o.phase_names);
      for (const auto& s : summaries) {
        ctx.note(
            "phase_" + std::to_string(s.phase),
            fmt::format("{}: {} of {} particles respond, mean change {:.4g} +- {:.2g} {}", s.name,
                        s.responding, s.particles, s.mean_change, s.mean_change_se, unit));
      }
      if (ctx.outputBound("phases")) ctx.put("phases", phaseTable(summaries, unit));
    }
    ctx.put("drift", driftTable(d.shifts));
    ctx.put("responses", responseTable(r, unit));
  }

 private:
  // The lithium maps, resampled onto the first frame's grid through the bound transform.
  std::vector<Map> lithiumOn(RunContext& ctx, const Grid& grid) const {
    if (!ctx.bound("lithium")) return {};
    std::vector<Map> maps = loadMaps(ctx, ctx.file("lithium"));
    if (!ctx.bound("lithium_transform")) return maps;
    const Transform2D& t = ctx.get<Transform2D>("lithium_transform");
    for (Map& m : maps) {
      if (!m.grid.calibrated)
        throw ProcessingError("the lithium maps carry no pixel size: a transform needs one");
      m = resampleMap(m, grid, t, Interpolation::kLinear);
    }
    ctx.note("lithium_transform", t.describe());
    return maps;
  }

  std::vector<Map> loadMaps(RunContext& ctx, const std::filesystem::path& file) const {
    ReadOptions ro;
    ro.unit = params().unit;
    ro.pixel_x = params().pixel_size > 0 ? params().pixel_size : sidecarPixelSize(file);
    Dataset ds = loadFile(ctx.registry().pickReader(file), file, ro);
    if (ds.maps.empty()) throw InputError(file.string(), "holds no image");
    return std::move(ds.maps);
  }
};

}  // namespace

std::unique_ptr<Stage> makeOperandoStage() {
  return std::make_unique<OperandoStage>();
}

}  // namespace ionmap::spm
