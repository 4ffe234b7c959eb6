// kpfm-profile: a potential map across one or more interfaces, averaged over a band along a
// line, fitted with a blurred step and with space-charge layers on a common ohmic slope
// (interface_profile.hpp); tables and plots from profile_report.hpp.
#include <cmath>

#include <fmt/format.h>

#include "ionmap/pipeline/registry.hpp"
#include "spm/interface_profile.hpp"
#include "spm/profile_report.hpp"
#include "spm/stages.hpp"

namespace ionmap::spm {
namespace {

struct ProfileParams {
  std::vector<double> line;  // [x0, y0, x1, y1] um; empty = along x through the middle
  double half_width = 0;     // um; 0 = the whole map
  double step = 0;           // um; 0 = one pixel
  InterfaceFitOptions fit;
  std::string plot = "interface-profile";
};

class ProfileStage final : public StageOf<ProfileParams, ProfileStage> {
 public:
  static const ParamSchema<ProfileParams>& schema() {
    using P = ProfileParams;
    static const auto s =
        ParamSchema<P>()
            .reals("line", &P::line, 0, Range::any(), "um",
                   "[x0, y0, x1, y1] of the profile line across the interface(s); empty = along "
                   "x through the middle of the map")
            .real("half_width", &P::half_width, Range::atLeast(0), "um",
                  "pixels within this distance of the line are averaged (0 = the whole map)")
            .real("step", &P::step, Range::atLeast(0), "um",
                  "bin width along the line (0 = one pixel)")
            .integer("interfaces", field(&P::fit, &InterfaceFitOptions::interfaces),
                     Range::between(1, 8), "", "interfaces along the line, fitted together")
            .reals("positions", field(&P::fit, &InterfaceFitOptions::initial_positions_um), 0,
                   Range::atLeast(0), "um",
                   "starting positions along the line, one per interface; empty = where the "
                   "profile changes fastest")
            .text(
                "plot", &P::plot,
                "file prefix of the profile plots (<prefix>-step.png, <prefix>-space-charge.png); "
                "empty = none");
    return s;
  }
  std::string name() const override { return "kpfm-profile"; }
  std::string summary() const override {
    return "potential profile across interfaces with blurred-step and space-charge fits (dV, "
           "width, decay lengths, ohmic slope)";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "levelled potential map").needingPixelSize(),
            PortSpec::out("fit", ItemKind::kTable,
                          "fitted values of both models with units and standard errors"),
            PortSpec::optionalOut("profile", ItemKind::kTable,
                                  "the band-averaged profile with both models")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    if (std::string why; !p.fit.IsValid(&why)) pf.fail(why);
    if (!p.line.empty() && p.line.size() != 4) pf.fail("`line` must be [x0, y0, x1, y1] in um");
    if (!p.plot.empty() && p.plot.find_first_of("/\\") != std::string::npos)
      pf.fail("`plot` must be a plain file name prefix");
    pf.reads("map");
    pf.writes("fit");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    const Map& m = ctx.get<Map>("map");
    requirePotential(m);
    const BandProfile prof =
        bandProfile(m, lineOf(m), halfWidthOf(m), p.step > 0 ? p.step : m.grid.pixel_x);
    ctx.note("profile_points", std::to_string(prof.s.size()));
    const InterfaceFit step = fitInterfaces(prof, InterfaceModel::kBlurredStep, p.fit);
    const InterfaceFit charge = fitInterfaces(prof, InterfaceModel::kSpaceCharge, p.fit);
    for (const InterfaceFit* f : {&step, &charge}) {
      for (const auto& w : fitWarnings(*f)) ctx.warn(w);
    }
    ctx.note("preferred_model", modelName(preferredModel(step, charge).model));
    if (!p.plot.empty()) {
      writeProfilePlot(prof, step, ctx.fileDir() / (p.plot + "-step.png"));
      writeProfilePlot(prof, charge, ctx.fileDir() / (p.plot + "-space-charge.png"));
    }
    if (ctx.outputBound("profile")) ctx.put("profile", profileTable(prof, step, charge));
    ctx.put("fit", interfaceTable(step, charge));
  }

 private:
  ProfileLine lineOf(const Map& m) const {
    const auto& l = params().line;
    if (l.size() == 4) return {l[0], l[1], l[2], l[3]};
    const double y = m.grid.origin_y + 0.5 * m.grid.extentY();
    return {m.grid.origin_x, y, m.grid.origin_x + m.grid.extentX(), y};
  }
  double halfWidthOf(const Map& m) const {
    const double w = params().half_width;
    return w > 0 ? w : std::hypot(m.grid.extentX(), m.grid.extentY());
  }
};

}  // namespace

std::unique_ptr<Stage> makeProfileStage() {
  return std::make_unique<ProfileStage>();
}

}  // namespace ionmap::spm
