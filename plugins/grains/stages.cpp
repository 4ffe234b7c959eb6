// Grain stages: `segment-grains` (label map from a groove image or a map's contrast) and
// `grain-stats` (grain table, boundary graph, ASTM E112 grain size, size histogram).
#include <cmath>

#include <fmt/format.h>

#include "grains/report.hpp"
#include "grains/segment.hpp"
#include "grains/statistics.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap::grains {
namespace {

// The segmentation's own options, bound in place.
struct SegmentParams {
  SegmentOptions segment;
};

class SegmentStage final : public StageOf<SegmentParams, SegmentStage> {
 public:
  static const ParamSchema<SegmentParams>& schema() {
    static const auto s =
        ParamSchema<SegmentParams>()
            .choice("contrast", field(&SegmentParams::segment, &SegmentOptions::contrast),
                    {{"dark-grooves", BoundaryContrast::kDarkGrooves},
                     {"bright-lines", BoundaryContrast::kBrightLines},
                     {"steps", BoundaryContrast::kSteps}},
                    "how boundaries look: dark grooves (laser, etched SEM), bright lines, or steps "
                    "between "
                    "regions of different value (isotope fraction, current)")
            .real("grain_size", field(&SegmentParams::segment, &SegmentOptions::grain_size_um),
                  Range::above(0), "um", "expected equivalent grain diameter")
            .real("groove_width", field(&SegmentParams::segment, &SegmentOptions::groove_width_um),
                  Range::above(0), "um", "apparent width of a boundary in the image")
            .real("min_grain_fraction",
                  field(&SegmentParams::segment, &SegmentOptions::min_grain_fraction),
                  Range::between(0, 1), "",
                  "grains smaller than this fraction of the expected area are merged into a "
                  "neighbour")
            .real("guide_resolution",
                  field(&SegmentParams::segment, &SegmentOptions::guide_resolution_um),
                  Range::atLeast(0), "um",
                  "native pixel size of the `guide` map before it was resampled onto the image's "
                  "grid (e.g. 0.2 for ToF-SIMS); 0 = as recorded by `resample` "
                  "(measured_pixel_um), else the guide's grid");
    return s;
  }
  std::string name() const override { return "segment-grains"; }
  std::string summary() const override {
    return "segment grains from an image of grooves/lines or a map's contrast (Hessian ridges, "
           "watershed)";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "image or map to segment").needingPixelSize(),
            PortSpec::optionalIn(
                "guide", ItemKind::kMap,
                "a second image of the boundaries as dark lines, on the same grid and valid where "
                "measured (e.g. the registered ToF-SIMS total-ion image): finds boundaries the "
                "image hides"),
            PortSpec::out("labels", ItemKind::kLabelMap, "grain labels 1..n"),
            PortSpec::optionalOut("boundaries", ItemKind::kMap,
                                  "one-pixel boundary map (1 = boundary)")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().segment.IsValid(&why)) pf.fail(why);
    pf.reads("map");
    const bool guide = !pf.readsIfBound("guide").empty();
    if (params().segment.guide_resolution_um > 0 && !guide)
      pf.fail("guide_resolution is set but no `guide` map is bound");
    pf.writes("labels");
  }
  void run(RunContext& ctx) const override {
    const Map& m = ctx.get<Map>("map");
    SegmentOptions o = params().segment;
    if (ctx.bound("guide")) {
      o.guide = &ctx.get<Map>("guide");
      ctx.note("guide", o.guide->name);
    }
    Segmentation s = segmentGrains(m, o);
    // With a guide, what matters is its field (where analyses combine both): judged there.
    const Image<std::uint8_t> field = o.guide ? guideField(*o.guide) : Image<std::uint8_t>();
    const SegmentationQuality q =
        assessSegmentation(s.labels, o.grain_size_um, o.guide ? &field : nullptr);
    for (const auto& [key, text] : segmentationNotes(s, q)) ctx.note(key, text);
    for (const auto& w : segmentationWarnings(q, o.grain_size_um, o.guide != nullptr)) ctx.warn(w);
    if (ctx.outputBound("boundaries")) {
      Map b("grain boundaries", m.grid, "1");
      for (std::size_t i = 0; i < b.values.size(); ++i) b.values[i] = s.boundary[i];
      ctx.put("boundaries", std::move(b));
    }
    ctx.put("labels", std::move(s.labels));
  }
};

struct StatsParams {
  std::string histogram_file = "grain-size-histogram.png";
  int bins = 20;
};

class GrainStatsStage final : public StageOf<StatsParams, GrainStatsStage> {
 public:
  static const ParamSchema<StatsParams>& schema() {
    static const auto s =
        ParamSchema<StatsParams>()
            .text("histogram_file", &StatsParams::histogram_file,
                  "PNG of the grain size distribution; empty = none")
            .integer("bins", &StatsParams::bins, Range::between(3, 200), "", "histogram bins");
    return s;
  }
  std::string name() const override { return "grain-stats"; }
  std::string summary() const override {
    return "grain table, boundary graph (shared lengths), ASTM E112 grain size, size histogram";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("labels", ItemKind::kLabelMap, "grain labels (0 = none)").needingPixelSize(),
        PortSpec::out("grains", ItemKind::kTable, "one row per grain"),
        PortSpec::optionalOut("boundaries", ItemKind::kTable,
                              "adjacency graph with shared boundary length"),
        PortSpec::optionalOut("astm", ItemKind::kTable, "ASTM E112 grain size numbers")};
  }
  void preflight(Preflight& pf) const override {
    const auto& f = params().histogram_file;
    if (!f.empty() && !isPlainPngFileName(f))
      pf.fail("`histogram_file` must be a plain file name ending in .png");
    pf.reads("labels");
    pf.writes("grains");
  }
  void run(RunContext& ctx) const override {
    const LabelMap& l = ctx.get<LabelMap>("labels");
    const GrainStatistics s = grainStatistics(l);
    ctx.note("grains", std::to_string(s.grains.size()));
    ctx.note("astm_planimetric_G", fmt::format("{:.2f}", s.astm.planimetric_G));
    ctx.note("astm_intercept_G", fmt::format("{:.2f}", s.astm.intercept_G));
    if (ctx.outputBound("astm")) ctx.put("astm", astmTable(s));
    if (!params().histogram_file.empty())
      writeGrainSizeHistogram(s, params().bins, ctx.fileDir() / params().histogram_file);
    if (ctx.outputBound("boundaries")) ctx.put("boundaries", boundaryTable(s));
    ctx.put("grains", grainTable(s));
  }
};

}  // namespace
}  // namespace ionmap::grains

namespace ionmap {
void ionmap_register_grains(Registry& registry) {
  registry.addStage([] { return std::make_unique<grains::SegmentStage>(); }, "grains");
  registry.addStage([] { return std::make_unique<grains::GrainStatsStage>(); }, "grains");
}
}  // namespace ionmap
