// seccm-landings: a table of samples (a TDMS group read with `read` as: table, a long table) as
// one curve per landing of the droplet cell (landings.hpp).
#include <fmt/format.h>

#include "seccm/landings.hpp"
#include "seccm/stages.hpp"

namespace ionmap::seccm {
namespace {

class LandingsStage final : public StageOf<LandingOptions, LandingsStage> {
 public:
  static const ParamSchema<LandingOptions>& schema() {
    using P = LandingOptions;
    static const auto s =
        ParamSchema<P>()
            .text("x", &P::x, "column of the x position (matched without its \"(unit)\" and case)")
            .text("y", &P::y, "column of the y position")
            .text("potential", &P::potential, "column of the applied potential")
            .text("current", &P::current, "column of the current")
            .text("time", &P::time, "column of the time or the time step; empty = sample index")
            .flag("time_is_increment", &P::time_is_increment,
                  "the time column holds each sample's time step (e.g. dt(s)), not the time")
            .text("z", &P::z, "column of the pipette's Z position, used when the table has it")
            .text("point", &P::point,
                  "column of a landing id per sample (long tables); empty = landings are runs of "
                  "samples at one position")
            .text("state", &P::state,
                  "column of the feedback state code; empty = every sample belongs to a landing")
            .integer("contact_state", &P::contact_state, Range::any(), "",
                     "with `state`: the code of the samples in contact (approach and retract "
                     "samples are left out)")
            .real("position_tolerance", &P::position_tolerance_um, Range::above(0), "um",
                  "a new landing begins where x or y moves by more than this")
            .integer("min_samples", &P::min_samples, Range::between(1, 1000000), "",
                     "landings with fewer samples are left out (and counted)");
    return s;
  }
  std::string name() const override { return "seccm-landings"; }
  std::string summary() const override {
    return "SECCM samples (TDMS group, long table) to one curve per landing: position, t, E, I";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("table", ItemKind::kTable,
                         "one row per sample: x, y, potential, current (and time, Z, state)"),
            PortSpec::out("curves", ItemKind::kCurveSet,
                          "one curve per landing: x, y (um); t (s), E (V), I (A), Z (um)")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().IsValid(&why)) pf.fail(why);
    pf.reads("table");
    pf.writes("curves");
  }
  void run(RunContext& ctx) const override {
    LandingSummary s;
    CurveSet c = landingsFromTable(ctx.get<Table>("table"), params(), &s);
    ctx.note("landings", std::to_string(c.curves.size()));
    ctx.note("samples", fmt::format("{} of {} in landings", s.used, s.samples));
    if (s.out_of_contact) ctx.note("out_of_contact", std::to_string(s.out_of_contact));
    if (s.short_landings) {
      ctx.warn(fmt::format("{} landing(s) shorter than {} samples were left out", s.short_landings,
                           params().min_samples));
    }
    ctx.put("curves", std::move(c));
  }
};

}  // namespace

std::unique_ptr<Stage> makeLandingsStage() {
  return std::make_unique<LandingsStage>();
}

}  // namespace ionmap::seccm
