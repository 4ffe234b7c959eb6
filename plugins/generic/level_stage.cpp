// level: removes a background (offset, plane, polynomial surface, or per-row offsets).
#include <cmath>

#include <fmt/format.h>

#include "generic/stages.hpp"
#include "ionmap/numerics/surface_fit.hpp"
#include "ionmap/pipeline/params.hpp"

namespace ionmap::generic {
namespace {

enum class LevelMethod { kOffset, kPlane, kPolynomial, kRows };

const std::vector<std::pair<std::string, LevelMethod>> kMethods = {
    {"offset", LevelMethod::kOffset},
    {"plane", LevelMethod::kPlane},
    {"polynomial", LevelMethod::kPolynomial},
    {"rows", LevelMethod::kRows}};

struct LevelParams {
  LevelMethod method = LevelMethod::kPlane;
  int order = 2;
};

class LevelStage final : public StageOf<LevelParams, LevelStage> {
 public:
  static const ParamSchema<LevelParams>& schema() {
    static const auto s =
        ParamSchema<LevelParams>()
            .choice("method", &LevelParams::method, kMethods,
                    "offset: subtract the mean; plane: least-squares plane; polynomial: surface "
                    "of `order`; rows: subtract each scan line's median")
            .integer("order", &LevelParams::order, Range::between(0, 8), "",
                     "polynomial order (method: polynomial)");
    return s;
  }
  std::string name() const override { return "level"; }
  std::string summary() const override {
    return "remove a background: offset, plane, polynomial surface or scan-line offsets";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("map", ItemKind::kMap, "map to level"),
        PortSpec::out("map", ItemKind::kMap, "levelled map"),
        PortSpec::optionalOut("background", ItemKind::kMap, "the removed background (when bound)")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    const Map& in = ctx.get<Map>("map");
    const auto& p = params();
    Map background =
        p.method == LevelMethod::kRows ? rowBackground(ctx, in) : surfaceBackground(ctx, in);
    Map out = in;
    for (std::size_t i = 0; i < out.values.size(); ++i) out.values[i] -= background.values[i];
    out.metadata.emplace_back("levelled", choiceName(kMethods, p.method));
    ctx.put("map", std::move(out));
    if (ctx.outputBound("background")) ctx.put("background", std::move(background));
  }

 private:
  static Map emptyBackground(const Map& in) {
    Map background(in.name + " background", in.grid, in.unit);
    background.mask = in.mask;
    return background;
  }

  // Each scan line's median (a line without a valid pixel stays as it is, with a warning).
  static Map rowBackground(RunContext& ctx, const Map& in) {
    Map background = emptyBackground(in);
    const auto med = rowMedians(in);
    int empty_rows = 0;
    for (int y = 0; y < in.height(); ++y) {
      if (!std::isfinite(med[y])) ++empty_rows;
      for (int x = 0; x < in.width(); ++x)
        background.values(x, y) = std::isfinite(med[y]) ? med[y] : 0.0;
    }
    if (empty_rows)
      ctx.warn(fmt::format("{} rows have no valid pixel and were left as they are", empty_rows));
    ctx.note("method", "rows (median of each row)");
    return background;
  }

  // A least-squares polynomial surface (order 0 offset, 1 plane, or `order`).
  Map surfaceBackground(RunContext& ctx, const Map& in) const {
    const auto& p = params();
    Map background = emptyBackground(in);
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
