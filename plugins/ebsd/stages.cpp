// `segment-ebsd`: grains of an .ang/.ctf map by misorientation, with mean orientations and the
// boundary misorientations; registration of the EBSD readers.
#include <fmt/format.h>

#include "ebsd/segment_ebsd.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap::ebsd {
namespace {

struct Params {
  double threshold = 5.0;
  double min_quality = 0.0;
  int min_pixels = 1;
};

class SegmentEbsdStage final : public StageOf<Params, SegmentEbsdStage> {
 public:
  static const ParamSchema<Params>& schema() {
    static const auto s =
        ParamSchema<Params>()
            .moved("input",
                   "read the map with `read` (as: orientations) and bind it: `in: "
                   "{orientations: ITEM}`")
            .real("threshold", &Params::threshold, Range::between(0.1, 62.8), "deg",
                  "neighbours closer than this misorientation (with crystal symmetry) join a grain")
            .real("min_quality", &Params::min_quality, Range::atLeast(0), "",
                  "points with a lower confidence index (.ang) or band contrast (.ctf) belong to "
                  "no grain; 0 = keep all "
                  "indexed points")
            .integer("min_pixels", &Params::min_pixels, Range::between(1, 1000000), "",
                     "grains with fewer points belong to no grain");
    return s;
  }
  std::string name() const override { return "segment-ebsd"; }
  std::string summary() const override {
    return "grains of an EBSD map by misorientation flood fill (cubic, hexagonal, tetragonal, ... "
           "symmetry)";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("orientations", ItemKind::kOrientationMap,
                     "crystal orientations (e.g. an EBSD map read with as: orientations)")
            .needingPixelSize(),
        PortSpec::out("labels", ItemKind::kLabelMap, "grain labels (0 = unindexed or excluded)"),
        PortSpec::out("grains", ItemKind::kTable, "phase, size and mean orientation of each grain"),
        PortSpec::optionalOut("boundaries", ItemKind::kTable,
                              "touching grains: shared length and misorientation")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("orientations");
    pf.writes("labels");
    pf.writes("grains");
  }
  void run(RunContext& ctx) const override {
    const OrientationMap& d = ctx.get<OrientationMap>("orientations");
    ctx.note("grid", d.grid.describe());
    for (const auto& p : d.phases)
      ctx.note(fmt::format("phase.{}", p.id), fmt::format("{} ({})", p.name, laueName(p.laue)));
    const EbsdSegmentation s =
        segmentEbsd(d, params().threshold, params().min_quality, params().min_pixels);
    ctx.note("grains", std::to_string(s.grains.size()));
    ctx.note("unindexed_points", std::to_string(d.unindexed));
    if (d.unindexed > 0.5 * d.grid.width * d.grid.height) {
      ctx.warn(
          fmt::format("{} of {} points are unindexed", d.unindexed, d.grid.width * d.grid.height));
    }
    if (ctx.outputBound("boundaries")) ctx.put("boundaries", ebsdBoundaryTable(s, d));
    ctx.put("grains", ebsdGrainTable(s, d));
    LabelMap l = s.labels;
    ctx.put("labels", std::move(l));
  }
};

}  // namespace
}  // namespace ionmap::ebsd

namespace ionmap {
void ionmap_register_ebsd(Registry& registry) {
  registry.addReader(ebsd::makeAngReader(), "ebsd");
  registry.addReader(ebsd::makeCtfReader(), "ebsd");
  registry.addStage([] { return std::make_unique<ebsd::SegmentEbsdStage>(); }, "ebsd");
}
}  // namespace ionmap
