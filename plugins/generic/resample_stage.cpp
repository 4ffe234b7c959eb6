// resample: puts a map or label map onto a reference map's grid through a Transform2D.
#include <cmath>

#include <fmt/format.h>

#include "generic/stages.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/resample.hpp"

namespace ionmap::generic {
namespace {

struct ResampleParams {
  std::string interpolation = "auto";
  std::string transform = "identity";
  std::vector<double> translation{0.0, 0.0};
  double rotation_deg = 0.0;
  double scale = 1.0;
  std::vector<double> matrix;
  double min_overlap = 0.05;
  double pixel_size = 0;  // um; > 0 = a grid of that pixel size over the source
  bool invert = false;    // use the inverse of the given transform
  int subdivide = 1;      // target pixels divided into n × n cells
};

class ResampleStage final : public StageOf<ResampleParams, ResampleStage> {
 public:
  static const ParamSchema<ResampleParams>& schema() {
    static const auto s =
        ParamSchema<ResampleParams>()
            .choice("interpolation", &ResampleParams::interpolation,
                    {"auto", "nearest", "linear", "cubic", "majority"},
                    "auto = linear for maps, nearest for labels; majority (labels onto a coarser "
                    "grid): the most frequent label over each target pixel's footprint")
            .choice("transform", &ResampleParams::transform,
                    {"identity", "translation", "rigid", "similarity", "affine"},
                    "family of the source-to-reference transform given by the parameters below "
                    "(ignored when the `transform` port is bound)")
            .reals("translation", &ResampleParams::translation, 2, Range::any(), "um",
                   "[tx, ty] added after rotation and scaling")
            .real("rotation_deg", &ResampleParams::rotation_deg, Range::between(-360, 360), "deg",
                  "rotation of the source in the reference frame (+x towards +y)")
            .real("scale", &ResampleParams::scale, Range::above(0), "",
                  "isotropic scale (similarity)")
            .reals("matrix", &ResampleParams::matrix, 0, Range::any(), "",
                   "affine [a, b, tx, c, d, ty] (tx, ty in um), for transform: affine")
            .real("min_overlap", &ResampleParams::min_overlap, Range::between(0, 1), "",
                  "fail when less than this fraction of reference pixels receive data")
            .real("pixel_size", &ResampleParams::pixel_size, Range::atLeast(0), "um",
                  "without a reference: resample onto a grid of this (square) pixel size "
                  "covering the source (e.g. the model grid of a diffusion fit)")
            .flag("invert", &ResampleParams::invert,
                  "use the inverse of the transform: e.g. a registration of map A (moving) onto B "
                  "(fixed) puts B's labels onto A's grid")
            .integer("subdivide", &ResampleParams::subdivide, Range::between(1, 16), "",
                     "divide every target pixel into n x n cells (same field, n times the "
                     "pixels per side): e.g. a microscope's labels onto a grid finer than the "
                     "SIMS pixels, for the diffusion fit's observation model");
    return s;
  }
  std::string name() const override { return "resample"; }
  std::string summary() const override {
    return "map a map or label map onto a reference map's grid through a transform";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::optionalIn("map", ItemKind::kMap, "values to resample (bind this or labels)"),
            PortSpec::optionalIn("labels", ItemKind::kLabelMap, "labels to resample (nearest)"),
            PortSpec::optionalIn("reference", ItemKind::kMap,
                                 "map whose grid is the target (or give `pixel_size`)"),
            PortSpec::optionalIn("transform", ItemKind::kTransform,
                                 "source-to-reference transform (e.g. from registration)"),
            PortSpec::optionalOut("map", ItemKind::kMap, "resampled values"),
            PortSpec::optionalOut("labels", ItemKind::kLabelMap, "resampled labels"),
            PortSpec::optionalOut("transform", ItemKind::kTransform,
                                  "the transform used (when bound)")};
  }

  void preflight(Preflight& pf) const override {
    const auto& p = params();
    const std::string m = pf.readsIfBound("map");
    const std::string l = pf.readsIfBound("labels");
    if (m.empty() == l.empty()) pf.fail("bind exactly one of the input ports 'map' and 'labels'");
    const bool has_reference = !pf.readsIfBound("reference").empty();
    if (has_reference == (p.pixel_size > 0))
      pf.fail("give exactly one target: bind the `reference` port or set `pixel_size` > 0");
    const bool port_transform = !pf.readsIfBound("transform").empty();
    if (!l.empty() && p.interpolation != "auto" && p.interpolation != "nearest" &&
        p.interpolation != "majority") {
      pf.fail("labels can only be resampled with nearest-neighbour or majority interpolation");
    }
    if (l.empty() && p.interpolation == "majority") {
      pf.fail("majority interpolation is for label maps; bind `labels`, or use linear or cubic");
    }
    if (!port_transform) {
      if (p.transform == "affine" && p.matrix.size() != 6) {
        pf.fail("transform: affine needs `matrix: [a, b, tx, c, d, ty]` (6 numbers)");
      }
      if (p.transform != "affine" && !p.matrix.empty()) {
        pf.fail("`matrix` is only used with transform: affine");
      }
      try {
        fromParams().inverse();
      } catch (const Error& e) {
        pf.fail(e.what());
      }
    }
    pf.writes(l.empty() ? "map" : "labels");
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    Transform2D t = ctx.bound("transform") ? ctx.get<Transform2D>("transform") : fromParams();
    if (p.invert) t = t.inverse();
    ctx.note("transform", t.describe());
    const Grid& source =
        ctx.bound("map") ? ctx.get<Map>("map").grid : ctx.get<LabelMap>("labels").grid;
    const Grid target =
        (ctx.bound("reference") ? ctx.get<Map>("reference").grid : coverGrid(source, p.pixel_size))
            .subdivided(p.subdivide);
    const std::string ref_name = ctx.bound("reference") ? ctx.get<Map>("reference").name
                                                        : fmt::format("{} um grid", p.pixel_size);
    std::size_t valid = 0, total = static_cast<std::size_t>(target.width) * target.height;
    if (ctx.bound("map")) {
      const Map& src = ctx.get<Map>("map");
      const auto method =
          interpolationFromName(p.interpolation == "auto" ? "linear" : p.interpolation);
      Map out = resampleMap(src, target, t, method);
      valid = out.countValid();
      checkOverlap(ctx, valid, total, src.name, ref_name);
      ctx.put("map", std::move(out));
    } else {
      const LabelMap& src = ctx.get<LabelMap>("labels");
      LabelMap out = p.interpolation == "majority" ? resampleLabelsMajority(src, target, t)
                                                   : resampleLabels(src, target, t);
      for (auto v : out.labels.values()) valid += v > 0;
      checkOverlap(ctx, valid, total, src.name, ref_name);
      ctx.put("labels", std::move(out));
    }
    if (ctx.outputBound("transform")) ctx.put("transform", t);
  }

 private:
  // A grid of square pixels of `pixel_um` over the source's (unrotated) extent.
  static Grid coverGrid(const Grid& source, double pixel_um) {
    if (!source.calibrated)
      throw UsageError("`pixel_size` is in um: the source needs a pixel size");
    if (std::abs(source.rotation) > 1e-12)
      throw UsageError("`pixel_size` needs an unrotated source grid: give a reference instead");
    Grid g = source;
    g.width = std::max(1, static_cast<int>(std::lround(source.extentX() / pixel_um)));
    g.height = std::max(1, static_cast<int>(std::lround(source.extentY() / pixel_um)));
    g.pixel_x = g.pixel_y = pixel_um;
    return g;
  }

  Transform2D fromParams() const {
    const auto& p = params();
    const double a = p.rotation_deg * M_PI / 180.0;
    const auto kind = Transform2D::kindFromName(p.transform);
    switch (kind) {
      case Transform2D::Kind::kIdentity:
        return Transform2D();
      case Transform2D::Kind::kTranslation:
        return Transform2D::translation(p.translation[0], p.translation[1]);
      case Transform2D::Kind::kRigid:
        return Transform2D::rigid(a, p.translation[0], p.translation[1]);
      case Transform2D::Kind::kSimilarity:
        return Transform2D::similarity(p.scale, a, p.translation[0], p.translation[1]);
      case Transform2D::Kind::kAffine: {
        std::array<double, 6> m{};
        for (std::size_t i = 0; i < 6 && i < p.matrix.size(); ++i) m[i] = p.matrix[i];
        return Transform2D::fromMatrix(m, kind);
      }
    }
    return Transform2D();
  }

  void checkOverlap(RunContext& ctx, std::size_t valid, std::size_t total, const std::string& src,
                    const std::string& ref) const {
    const double overlap = total ? static_cast<double>(valid) / total : 0.0;
    ctx.note("overlap_fraction", fmt::format("{:.4f}", overlap));
    if (overlap < params().min_overlap) {
      throw ProcessingError(fmt::format(
          "only {:.1f}% of the reference '{}' receives data from '{}' (min_overlap {:.1f}%); "
          "check the transform and both grids' pixel sizes and origins",
          100 * overlap, ref, src, 100 * params().min_overlap));
    }
  }
};

}  // namespace

std::unique_ptr<Stage> makeResampleStage() {
  return std::make_unique<ResampleStage>();
}

}  // namespace ionmap::generic
