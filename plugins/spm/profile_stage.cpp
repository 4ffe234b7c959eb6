// kpfm-profile: a potential map across one or more interfaces, averaged over a band along a
// line, fitted with a blurred step and with space-charge layers on a common ohmic slope
// (interface_profile.hpp); tables and plots from profile_report.hpp.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "ionmap/io/quicklook.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "spm/interface_detect.hpp"
#include "spm/interface_profile.hpp"
#include "spm/profile_report.hpp"
#include "spm/stages.hpp"

namespace ionmap::spm {
namespace {

struct ProfileParams {
  std::vector<double> line;     // [x0, y0, x1, y1] um; empty = along x through the middle
  double half_width = 0;        // um; 0 = the whole map
  double step = 0;              // um; 0 = one pixel
  std::string detect = "none";  // none | potential | topography
  DetectOptions detection;
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
            .choice("detect", &P::detect, {"none", "potential", "topography"},
                    "find the interface instead of following `line`: on every scan line where "
                    "the potential (or the `topography` map) changes fastest, then a straight or "
                    "curved line through those positions; the profile then runs along its normal")
            .choice("across", field(&P::detection, &DetectOptions::across),
                    {{"auto", Across::kAuto}, {"x", Across::kX}, {"y", Across::kY}},
                    "with `detect`: the direction the potential changes in (auto = the one with "
                    "the stronger change)")
            .integer("order", field(&P::detection, &DetectOptions::order), Range::between(0, 3), "",
                     "with `detect`: polynomial order of the interface line (1 = straight, 2-3 "
                     "= gently curved)")
            .real("smooth", field(&P::detection, &DetectOptions::smooth_px),
                  Range::between(0.5, 20), "px",
                  "with `detect`: Gaussian smoothing before the gradient, in pixels")
            .real("half_width", &P::half_width, Range::atLeast(0), "um",
                  "pixels within this distance of the line (along the interface, with "
                  "`detect`) are averaged (0 = the whole map)")
            .real("step", &P::step, Range::atLeast(0), "um",
                  "bin width along the line (0 = one pixel; a quarter pixel with `detect`)")
            .integer("interfaces", field(&P::fit, &InterfaceFitOptions::interfaces),
                     Range::between(1, 8), "", "interfaces along the line, fitted together")
            .reals("positions", field(&P::fit, &InterfaceFitOptions::initial_positions_um), 0,
                   Range::atLeast(0), "um",
                   "starting positions along the line, one per interface; empty = where the "
                   "profile changes fastest")
            .text("plot", &P::plot,
                  "file prefix of the quicklooks (<prefix>-fits.png: the profile with both models "
                  "and their residuals; <prefix>-map.png: the map with the profile line or the "
                  "detected interface); empty = none");
    return s;
  }
  std::string name() const override { return "kpfm-profile"; }
  std::string summary() const override {
    return "potential profile across interfaces with blurred-step and space-charge fits (dV, "
           "width, decay lengths, ohmic slope)";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "levelled potential map").needingPixelSize(),
            PortSpec::optionalIn("topography", ItemKind::kMap,
                                 "height map of the same scan (same grid), for detect: topography"),
            PortSpec::out("fit", ItemKind::kTable,
                          "fitted values of both models with units and standard errors"),
            PortSpec::optionalOut("profile", ItemKind::kTable,
                                  "the band-averaged profile with both models"),
            PortSpec::optionalOut("interface", ItemKind::kTable,
                                  "with `detect`: per scan line, where the interface was found "
                                  "and where the fitted line puts it (no rows without)")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    if (std::string why; !p.fit.IsValid(&why)) pf.fail(why);
    if (!p.line.empty() && p.line.size() != 4) pf.fail("`line` must be [x0, y0, x1, y1] in um");
    if (std::string why; !p.detection.IsValid(&why)) pf.fail(why);
    if (p.detect != "none" && !p.line.empty()) pf.fail("give either `line` or `detect`, not both");
    if (p.detect == "topography" && pf.readsIfBound("topography").empty())
      pf.fail("detect: topography needs the `topography` port bound to a height map");
    if (p.detect != "topography") pf.readsIfBound("topography");
    if (!p.plot.empty() && p.plot.find_first_of("/\\") != std::string::npos)
      pf.fail("`plot` must be a plain file name prefix");
    pf.reads("map");
    pf.writes("fit");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    const Map& m = ctx.get<Map>("map");
    requirePotential(m);
    BandProfile prof;
    std::optional<InterfaceCurve> found;
    QuicklookOptions look;
    look.colormap = "coolwarm";
    if (p.detect == "none") {
      const ProfileLine line = lineOf(m);
      prof = bandProfile(m, line, halfWidthOf(m), p.step > 0 ? p.step : m.grid.pixel_x);
      look.polylines.push_back({{line.x0, line.y0}, {line.x1, line.y1}});
      look.title = fmt::format("{} with the profile line", m.name);
      if (ctx.outputBound("interface")) ctx.put("interface", interfaceLineTable(std::nullopt));
    } else {
      const Map& source = p.detect == "topography" ? ctx.get<Map>("topography") : m;
      if (!source.grid.sameAs(m.grid))
        throw ProcessingError(fmt::format(
            "the topography '{}' ({}) is not on the potential's grid ({}): resample it first",
            source.name, source.grid.describe(), m.grid.describe()));
      const InterfaceCurve curve = detectInterface(source, p.detection);
      for (const auto& w : detectionWarnings(curve)) ctx.warn(w);
      ctx.note("interface_detected_from", p.detect);
      ctx.note("interface_across", curve.across_x ? "x" : "y");
      ctx.note("interface_position_um", fmt::format("{:.4g}", curve.at(curve.t_mid)));
      ctx.note("interface_tilt_deg", fmt::format("{:.3g}", curve.angleDeg()));
      ctx.note("interface_lines_used",
               fmt::format("{} of {}", curve.lines_used, curve.lines_total));
      ctx.note("interface_rms_residual_um", fmt::format("{:.3g}", curve.rms_residual_um));
      ctx.note("interface_position_se_um", fmt::format("{:.3g}", curve.position_se_um));
      ctx.note("interface_shape_blur_um", fmt::format("{:.3g}", curve.shape_blur_um));
      // Quarter-pixel bins by default: along a tilted interface the pixels' distances fall
      // anywhere in a bin, and a bin a pixel wide would blur the profile by another pixel.
      const double pixel = curve.across_x ? m.grid.pixel_x : m.grid.pixel_y;
      prof = bandProfileAlong(m, curve, halfWidthOf(m), p.step > 0 ? p.step : pixel / 4);
      found = curve;
      look.polylines.push_back(curve.points());
      look.title = fmt::format("{} with the interface found ({} of {} scan lines, tilt {:.2g} deg)",
                               m.name, curve.lines_used, curve.lines_total, curve.angleDeg());
      if (ctx.outputBound("interface")) ctx.put("interface", interfaceLineTable(curve));
    }
    ctx.note("profile_points", std::to_string(prof.s.size()));
    InterfaceFit fit_step = fitInterfaces(prof, InterfaceModel::kBlurredStep, p.fit);
    InterfaceFit charge = fitInterfaces(prof, InterfaceModel::kSpaceCharge, p.fit);
    if (found) {
      addCurvePositionError(fit_step, *found);
      addCurvePositionError(charge, *found);
    }
    for (const InterfaceFit* f : {&fit_step, &charge}) {
      for (const auto& w : fitWarnings(*f)) ctx.warn(w);
    }
    ctx.note("preferred_model", modelName(preferredModel(fit_step, charge).model));
    if (!p.plot.empty()) {
      writeProfilePlot(prof, fit_step, charge, ctx.fileDir() / (p.plot + "-fits.png"));
      writeQuicklook(m, ctx.fileDir() / (p.plot + "-map.png"), look);
    }
    if (ctx.outputBound("profile")) ctx.put("profile", profileTable(prof, fit_step, charge));
    ctx.put("fit", interfaceTable(fit_step, charge));
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
