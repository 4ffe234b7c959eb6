// level: removes a background (offset, plane, polynomial surface, or per-row offsets), fitted
// away from excluded regions, after repairing scars when asked.
#include <cmath>

#include <fmt/format.h>

#include "generic/stages.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/numerics/scars.hpp"
#include "ionmap/numerics/surface_fit.hpp"
#include "ionmap/pipeline/params.hpp"

namespace ionmap::generic {
namespace {

enum class LevelMethod { kOffset, kPlane, kPolynomial, kRows, kRowDifferences };

const std::vector<std::pair<std::string, LevelMethod>> kMethods = {
    {"offset", LevelMethod::kOffset},
    {"plane", LevelMethod::kPlane},
    {"polynomial", LevelMethod::kPolynomial},
    {"rows", LevelMethod::kRows},
    {"row-differences", LevelMethod::kRowDifferences}};

struct LevelParams {
  LevelMethod method = LevelMethod::kPlane;
  int order = 2;
  bool scars = false;
  double scar_threshold = 4;
  int scar_min_length = 8;
  int scar_max_width = 1;
};

class LevelStage final : public StageOf<LevelParams, LevelStage> {
 public:
  static const ParamSchema<LevelParams>& schema() {
    static const auto s =
        ParamSchema<LevelParams>()
            .choice("method", &LevelParams::method, kMethods,
                    "offset: subtract the mean; plane: least-squares plane; polynomial: surface "
                    "of `order`; rows: subtract each scan line's median; row-differences: align "
                    "each scan line to the one before by the median of their differences (what "
                    "the lines contain cancels between neighbours, so a background that varies "
                    "along x or a feature over many lines does not shift them)")
            .integer("order", &LevelParams::order, Range::between(0, 8), "",
                     "polynomial order (method: polynomial)")
            .flag("scars", &LevelParams::scars,
                  "first repair scars: runs of pixels in a scan line that stand out from both "
                  "neighbouring lines (replaced by their mean; the `repaired` output marks them)")
            .real("scar_threshold", &LevelParams::scar_threshold, Range::above(0), "",
                  "a scar pixel differs from both neighbours by more than this many robust "
                  "sigmas of the vertical differences")
            .integer("scar_min_length", &LevelParams::scar_min_length, Range::between(1, 10000),
                     "px", "shortest run of such pixels taken for a scar")
            .integer("scar_max_width", &LevelParams::scar_max_width, Range::between(1, 8), "px",
                     "scars up to this many scan lines tall: every line of the band stands out "
                     "from both lines enclosing it (replaced by the straight line between "
                     "them); 1 = single lines only, so that thin features along x are kept");
    return s;
  }
  std::string name() const override { return "level"; }
  std::string summary() const override {
    return "remove a background: offset, plane, polynomial surface or scan-line offsets";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("map", ItemKind::kMap, "map to level"),
        PortSpec::optionalIn("exclude", ItemKind::kLabelMap,
                             "regions (> 0) left out of the background fit, e.g. electrodes or "
                             "particles, on the map's grid"),
        PortSpec::out("map", ItemKind::kMap, "levelled map"),
        PortSpec::optionalOut("background", ItemKind::kMap, "the removed background (when bound)"),
        PortSpec::optionalOut("repaired", ItemKind::kMap, "1 where a scar was repaired")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.readsIfBound("exclude");
    if (pf.outputBound("repaired") && !params().scars)
      pf.fail("the `repaired` output needs scars: true");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    Map out = ctx.get<Map>("map");  // becomes the levelled map
    if (p.scars) repair(ctx, out);
    Map masked;  // the map without the excluded regions, when there are any
    const Map& fitted = excludeRegions(ctx, out, masked) ? masked : out;
    Map background = p.method == LevelMethod::kRows             ? rowBackground(ctx, fitted)
                     : p.method == LevelMethod::kRowDifferences ? rowDifferences(ctx, fitted)
                                                                : surfaceBackground(ctx, fitted);
    background.mask = out.mask;
    for (std::size_t i = 0; i < out.values.size(); ++i) out.values[i] -= background.values[i];
    out.metadata.emplace_back("levelled", choiceName(kMethods, p.method));
    ctx.put("map", std::move(out));
    if (ctx.outputBound("background")) ctx.put("background", std::move(background));
  }

 private:
  // Scars repaired in place, noted, and their mask put out when asked for.
  void repair(RunContext& ctx, Map& m) const {
    const ScarRepair r =
        repairScars(m, params().scar_threshold, params().scar_min_length, params().scar_max_width);
    ctx.note("scars_repaired", fmt::format("{} ({} pixels; vertical-difference sigma {:.4g} {})",
                                           r.scars, r.pixels, r.difference_sigma, m.unit));
    if (!ctx.outputBound("repaired")) return;
    Map mask("repaired scars", m.grid, "1");
    for (std::size_t i = 0; i < mask.values.size(); ++i) mask.values[i] = r.repaired[i];
    ctx.put("repaired", std::move(mask));
  }

  // When regions are excluded: `masked` is the map with their pixels invalid (what the
  // background is fitted to), and the result is true.
  static bool excludeRegions(RunContext& ctx, const Map& in, Map& masked) {
    if (!ctx.bound("exclude")) return false;
    const LabelMap& ex = ctx.get<LabelMap>("exclude");
    if (!ex.labels.sameSize(in.values)) {
      throw ProcessingError(
          fmt::format("the `exclude` regions are {} x {} px, the map {} x {}: "
                      "resample them onto the map's grid",
                      ex.width(), ex.height(), in.width(), in.height()));
    }
    masked = in;
    std::size_t left_out = 0;
    for (std::size_t i = 0; i < masked.mask.size(); ++i) {
      if (ex.labels[i] > 0 && masked.mask[i]) masked.mask[i] = 0, ++left_out;
    }
    ctx.note("pixels_excluded_from_fit", std::to_string(left_out));
    return true;
  }

  // A background constant along each scan line (run() gives it the map's mask).
  static Map perRow(const Map& in, const std::vector<double>& row_values) {
    Map background(in.name + " background", in.grid, in.unit);
    for (int y = 0; y < in.height(); ++y) {
      for (int x = 0; x < in.width(); ++x) background.values(x, y) = row_values[y];
    }
    return background;
  }

  // Each scan line aligned to the one before (median of differences).
  static Map rowDifferences(RunContext& ctx, const Map& in) {
    int unmatched = 0;
    const auto off = rowDifferenceOffsets(in, &unmatched);
    if (unmatched)
      ctx.warn(
          fmt::format("{} rows share no valid pixel with the row above: not aligned", unmatched));
    ctx.note("method", "row-differences (median of differences between neighbouring rows)");
    return perRow(in, off);
  }

  // Each scan line's median (a line without a valid pixel stays as it is, with a warning).
  static Map rowBackground(RunContext& ctx, const Map& in) {
    auto med = rowMedians(in);
    int empty_rows = 0;
    for (double& m : med) {
      if (!std::isfinite(m)) m = 0.0, ++empty_rows;
    }
    if (empty_rows)
      ctx.warn(fmt::format("{} rows have no valid pixel and were left as they are", empty_rows));
    ctx.note("method", "rows (median of each row)");
    return perRow(in, med);
  }

  // A least-squares polynomial surface (order 0 offset, 1 plane, or `order`).
  Map surfaceBackground(RunContext& ctx, const Map& in) const {
    const auto& p = params();
    Map background(in.name + " background", in.grid, in.unit);
    const int order = p.method == LevelMethod::kOffset  ? 0
                      : p.method == LevelMethod::kPlane ? 1
                                                        : p.order;
    const SurfaceFit fit = fitPolynomialSurface(in, order);
    background.values = evaluateSurface(fit, in.grid);
    std::string coeffs;
    for (double c : fit.coefficients)
      coeffs += (coeffs.empty() ? "" : ", ") + fmt::format("{:.8g}", c);
    ctx.note("surface_order", std::to_string(order));
    ctx.note("coefficients", "[" + coeffs +
                                 "] (terms 1, x, y, x^2, xy, y^2, ...; x, y in um "
                                 "from the map centre)");
    ctx.note("rms_residual", fmt::format("{:.6g} {}", fit.rms_residual, in.unit));
    ctx.note("pixels_used", std::to_string(fit.pixels_used));
    return background;
  }
};

}  // namespace

std::unique_ptr<Stage> makeLevelStage() {
  return std::make_unique<LevelStage>();
}

}  // namespace ionmap::generic
