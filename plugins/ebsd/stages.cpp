// `segment-ebsd`: grains of an .ang/.ctf map by misorientation, with mean orientations and the
// boundary misorientations; `ebsd-classes`: orientation (inverse pole figure) classes;
// registration of the EBSD readers.
#include <fmt/format.h>

#include "ebsd/orientation_classes.hpp"
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

// --- ebsd-classes ---------------------------------------------------------------------------
enum class SampleAxis { kX, kY, kZ };

struct ClassParams {
  std::string directions = "[100], [001]";
  SampleAxis sample_direction = SampleAxis::kZ;
  double max_angle = 90;
  int phase = 0;
};

class EbsdClassesStage final : public StageOf<ClassParams, EbsdClassesStage> {
 public:
  static const ParamSchema<ClassParams>& schema() {
    static const auto s =
        ParamSchema<ClassParams>()
            .text("directions", &ClassParams::directions,
                  "crystal directions, one class each, as Miller indices in the Cartesian "
                  "crystal frame (x || a, z || c): \"[100], [001]\"; \"[001], [101], [111]\"")
            .choice("sample_direction", &ClassParams::sample_direction,
                    {{"z", SampleAxis::kZ}, {"x", SampleAxis::kX}, {"y", SampleAxis::kY}},
                    "the sample direction classified: z (surface normal, what a probe pressed "
                    "on the surface sees), x or y (in plane)")
            .real("max_angle", &ClassParams::max_angle, Range::between(0.1, 90), "deg",
                  "points farther than this from every direction belong to no class (0)")
            .integer("phase", &ClassParams::phase, Range::between(0, 1000), "",
                     "classify only this phase id; 0 = every indexed phase");
    return s;
  }
  std::string name() const override { return "ebsd-classes"; }
  std::string summary() const override {
    return "orientation classes of an EBSD map: the crystal direction nearest to the surface "
           "normal (inverse pole figure), with crystal symmetry";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("orientations", ItemKind::kOrientationMap,
                         "crystal orientations (e.g. an EBSD map read with as: orientations)"),
            PortSpec::out("classes", ItemKind::kLabelMap,
                          "class of every point: 1, 2, ... in the order of `directions`; 0 = none"),
            PortSpec::optionalOut("table", ItemKind::kTable,
                                  "per class: points, area, share, mean angle to its direction")};
  }
  void preflight(Preflight& pf) const override {
    try {
      parseDirections(params().directions);
    } catch (const UsageError& e) {
      pf.fail(e.what());
    }
    pf.reads("orientations");
    pf.writes("classes");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    const OrientationMap& d = ctx.get<OrientationMap>("orientations");
    const auto dirs = parseDirections(p.directions);
    const Vec3 axis = p.sample_direction == SampleAxis::kX   ? Vec3{1, 0, 0}
                      : p.sample_direction == SampleAxis::kY ? Vec3{0, 1, 0}
                                                             : Vec3{0, 0, 1};
    if (p.phase && !d.phaseInfo(p.phase))
      throw ProcessingError(
          fmt::format("phase {} is not in the map (its phases: {})", p.phase, d.phases.size()));
    const OrientationClasses c = classifyOrientations(
        d, dirs, axis, p.max_angle, p.phase ? std::vector<int>{p.phase} : std::vector<int>{});
    std::size_t classified = 0;
    for (std::size_t k = 0; k < dirs.size(); ++k) {
      classified += c.points[k];
      ctx.note(fmt::format("class.{}", k + 1),
               fmt::format("{}: {} points, mean {:.1f} deg off", dirs[k].name, c.points[k],
                           c.mean_angle_deg[k]));
    }
    if (classified == 0)
      throw ProcessingError(
          "no point of the map falls in any class (unindexed, another phase, "
          "or beyond max_angle)");
    for (std::size_t k = 0; k < dirs.size(); ++k) {
      if (c.points[k] == 0)
        ctx.warn(fmt::format("no point of the map is nearest to {}", dirs[k].name));
    }
    if (c.beyond) ctx.note("beyond_max_angle", fmt::format("{} points in no class", c.beyond));
    if (ctx.outputBound("table")) ctx.put("table", orientationClassTable(c, dirs, d));
    LabelMap l = c.classes;
    ctx.put("classes", std::move(l));
  }
};

}  // namespace
}  // namespace ionmap::ebsd

namespace ionmap {
void ionmap_register_ebsd(Registry& registry) {
  registry.addReader(ebsd::makeAngReader(), "ebsd");
  registry.addReader(ebsd::makeCtfReader(), "ebsd");
  registry.addStage([] { return std::make_unique<ebsd::SegmentEbsdStage>(); }, "ebsd");
  registry.addStage([] { return std::make_unique<ebsd::EbsdClassesStage>(); }, "ebsd");
}
}  // namespace ionmap
