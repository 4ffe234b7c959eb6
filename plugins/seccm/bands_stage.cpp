// seccm-bands: the period and direction of bands in a map (SECCM conductance) with their errors,
// and of the domains on a reference label image seen in the map's frame, compared (bands.hpp).
#include <cmath>

#include <fmt/format.h>

#include "ionmap/io/quicklook.hpp"
#include "seccm/bands.hpp"
#include "seccm/stages.hpp"

namespace ionmap::seccm {
namespace {

struct BandsParams {
  std::string plot = "bands";
};

void addBands(Table& t, const std::string& what, const Bands& b, const std::string& unit) {
  t.addRow({what + "_period", b.period_um, b.period_se_um, std::string("um")});
  t.addRow({what + "_angle", b.angle_deg, b.angle_se_deg, std::string("deg")});
  if (!unit.empty()) t.addRow({what + "_amplitude", b.amplitude, b.amplitude_se, unit});
  t.addRow({what + "_spectrum_peak_ratio", b.spectrum_peak_ratio, std::nan(""), std::string("")});
}

class BandsStage final : public StageOf<BandsParams, BandsStage> {
 public:
  static const ParamSchema<BandsParams>& schema() {
    static const auto s = ParamSchema<BandsParams>().text(
        "plot", &BandsParams::plot, "file prefix of the power-spectrum quicklook; empty = none");
    return s;
  }
  std::string name() const override { return "seccm-bands"; }
  std::string summary() const override {
    return "period and direction of bands in a map (plane-wave fit from the power spectrum's "
           "peak) with errors, compared with the domains of a reference label image";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "map with bands (e.g. conductance per landing)")
                .needingPixelSize(),
            PortSpec::optionalIn("classes", ItemKind::kLabelMap,
                                 "reference label image whose domains the bands are compared with")
                .needingPixelSize(),
            PortSpec::optionalIn("transform", ItemKind::kTransform,
                                 "map frame to the reference's (with `classes`)"),
            PortSpec::out("bands", ItemKind::kTable,
                          "period, direction and amplitude with standard errors; the reference's; "
                          "their differences in standard errors")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    const bool classes = !pf.readsIfBound("classes").empty();
    if (!pf.readsIfBound("transform").empty() && !classes)
      pf.fail("`transform` is only used with `classes`");
    pf.writes("bands");
  }
  void run(RunContext& ctx) const override {
    const Map& m = ctx.get<Map>("map");
    const Bands b = findBands(m);
    Table t("bands");
    t.addText("quantity");
    t.addQuantity("value");
    t.addQuantity("standard_error");
    t.addText("unit");
    t.description =
        "bands of the map: period, direction (deg from +y towards +x) and amplitude of a fitted "
        "plane wave, with standard errors scaled by the residual scatter; with a reference, the "
        "period and direction of its domains in the map's frame and the differences in combined "
        "standard errors (|z| > 3: they disagree)";
    addBands(t, "map", b, m.unit);
    ctx.note("period", fmt::format("{:.4g} +- {:.2g} um at {:.3g} +- {:.2g} deg", b.period_um,
                                   b.period_se_um, b.angle_deg, b.angle_se_deg));
    if (b.spectrum_peak_ratio < 5)
      ctx.warn(
          fmt::format("the power spectrum's peak is only {:.1f} times its median: the map "
                      "shows no clear bands, and the period is not meaningful",
                      b.spectrum_peak_ratio));
    if (!b.converged) ctx.warn("the plane-wave fit did not converge");
    if (ctx.bound("classes")) {
      const LabelMap& l = ctx.get<LabelMap>("classes");
      Map cls("classes", l.grid, "");
      for (std::size_t i = 0; i < cls.values.size(); ++i) {
        cls.values[i] = l.labels[i];
        cls.mask[i] = l.labels[i] > 0;
      }
      const Transform2D to_ref =
          ctx.bound("transform") ? ctx.get<Transform2D>("transform") : Transform2D();
      const Bands r = inFrameOf(findBands(cls), to_ref);
      addBands(t, "reference", r, "");
      const double zp = (b.period_um - r.period_um) / std::hypot(b.period_se_um, r.period_se_um);
      double da = b.angle_deg - r.angle_deg;
      while (da >= 90) da -= 180;
      while (da < -90) da += 180;
      const double za = da / std::hypot(b.angle_se_deg, r.angle_se_deg);
      t.addRow({"period_difference_z", zp, std::nan(""), std::string("")});
      t.addRow({"angle_difference_z", za, std::nan(""), std::string("")});
      ctx.note("reference_period",
               fmt::format("{:.4g} +- {:.2g} um at {:.3g} deg (z {:.1f}, {:.1f})", r.period_um,
                           r.period_se_um, r.angle_deg, zp, za));
      if (std::abs(zp) > 3 || std::abs(za) > 3)
        ctx.warn(
            fmt::format("the bands' period or direction differs from the reference domains' "
                        "(z = {:.1f} for the period, {:.1f} for the direction)",
                        zp, za));
    }
    if (!params().plot.empty()) {
      QuicklookOptions o;
      o.title = fmt::format("power spectrum of {} (log10; peak: period {:.3g} um at {:.3g} deg)",
                            m.name, b.period_um, b.angle_deg);
      o.colormap = "magma";
      writeQuicklook(b.spectrum, ctx.fileDir() / (params().plot + "-spectrum.png"), o);
    }
    ctx.put("bands", std::move(t));
  }
};

}  // namespace

std::unique_ptr<Stage> makeBandsStage() {
  return std::make_unique<BandsStage>();
}

}  // namespace ionmap::seccm
