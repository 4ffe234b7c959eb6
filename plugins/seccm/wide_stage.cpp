// seccm-wide: a wide table (potential or time, then one current column per landing in raster
// order) as one curve per landing (wide.hpp).
#include <fmt/format.h>

#include "seccm/stages.hpp"
#include "seccm/wide.hpp"

namespace ionmap::seccm {
namespace {

class WideStage final : public StageOf<WideOptions, WideStage> {
 public:
  static const ParamSchema<WideOptions>& schema() {
    using P = WideOptions;
    static const auto s =
        ParamSchema<P>()
            .integer("landings_per_row", &P::nx, Range::between(0, 100000), "",
                     "landings in each row of the raster")
            .integer("rows", &P::ny, Range::between(0, 100000), "", "rows of the raster")
            .real("pitch", &P::pitch_um, Range::atLeast(0), "um", "distance between landings")
            .flag("serpentine", &P::serpentine,
                  "every other row was visited right to left (off: row by row, left to right)")
            .flag("first_is_time", &P::first_is_time,
                  "the first column is the time, at the held `potential` (off: the potential)")
            .real("potential", &P::potential_V, Range::any(), "V",
                  "with first_is_time: the potential held")
            .real("time_step", &P::time_step_s, Range::atLeast(0), "s",
                  "with a potential column: the time between samples (0: t counts samples)")
            .text("potential_unit", &P::potential_unit,
                  "unit of the potential column when its header has none (V, mV)")
            .text("current_unit", &P::current_unit,
                  "unit of the current columns when their headers have none (A, nA, pA)")
            .text("time_unit", &P::time_unit,
                  "unit of the time column when its header has none (s, ms)");
    return s;
  }
  std::string name() const override { return "seccm-wide"; }
  std::string summary() const override {
    return "SECCM wide table (E or t, then a current column per landing in raster order) to one "
           "curve per landing";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("table", ItemKind::kTable,
                         "first column E (or t), then one current column per landing"),
            PortSpec::out("curves", ItemKind::kCurveSet,
                          "one curve per landing at its raster position: t (s), E (V), I (A)")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().IsValid(&why)) pf.fail(why);
    pf.reads("table");
    pf.writes("curves");
  }
  void run(RunContext& ctx) const override {
    CurveSet c = landingsFromWideTable(ctx.get<Table>("table"), params());
    ctx.note("landings", fmt::format("{} ({} x {}, {})", c.curves.size(), params().nx, params().ny,
                                     params().serpentine ? "serpentine" : "row-major"));
    if (!params().first_is_time && params().time_step_s == 0)
      ctx.note("time", "no time_step given: t counts samples");
    ctx.put("curves", std::move(c));
  }
};

}  // namespace

std::unique_ptr<Stage> makeWideStage() {
  return std::make_unique<WideStage>();
}

}  // namespace ionmap::seccm
