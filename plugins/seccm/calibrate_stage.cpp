// seccm-calibrate: the contact radius and the pipette's resistance from landings on two
// references of known conductivity (landing_fit.hpp, calibrateContact); seccm-analyse takes the
// result through its `calibration` port.
#include <fmt/format.h>

#include "seccm/landing_fit.hpp"
#include "seccm/stages.hpp"

namespace ionmap::seccm {
namespace {

struct CalibrateParams {
  double sigma_a = 0, sigma_b = 0;  // S/cm
};

std::vector<double> goodResistances(const Table& t) {
  const auto& r = t.column("resistance").numbers;
  const auto& good = t.column("good").numbers;
  std::vector<double> out;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (good[i] == 1.0) out.push_back(r[i]);
  }
  return out;
}

class CalibrateStage final : public StageOf<CalibrateParams, CalibrateStage> {
 public:
  static const ParamSchema<CalibrateParams>& schema() {
    static const auto s = ParamSchema<CalibrateParams>()
                              .real("sigma_a", &CalibrateParams::sigma_a, Range::atLeast(0), "S/cm",
                                    "known conductivity of reference a")
                              .real("sigma_b", &CalibrateParams::sigma_b, Range::atLeast(0), "S/cm",
                                    "known conductivity of reference b (different from a)");
    return s;
  }
  std::string name() const override { return "seccm-calibrate"; }
  std::string summary() const override {
    return "SECCM contact radius and pipette resistance from landings on two references of "
           "known conductivity (spreading contact)";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("reference_a", ItemKind::kTable,
                         "seccm-analyse's landings table of the landings on reference a"),
            PortSpec::in("reference_b", ItemKind::kTable, "the same for reference b"),
            PortSpec::out("calibration", ItemKind::kTable,
                          "radius and pipette resistance with standard errors, for "
                          "seccm-analyse's `calibration` port")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    if (!(p.sigma_a > 0) || !(p.sigma_b > 0) || p.sigma_a == p.sigma_b)
      pf.fail("give two different reference conductivities sigma_a and sigma_b > 0 (S/cm)");
    pf.reads("reference_a");
    pf.reads("reference_b");
    pf.writes("calibration");
  }
  void run(RunContext& ctx) const override {
    const Calibration c =
        calibrateContact(goodResistances(ctx.get<Table>("reference_a")), params().sigma_a,
                         goodResistances(ctx.get<Table>("reference_b")), params().sigma_b);
    Table t("calibration");
    t.description = fmt::format(
        "contact radius and pipette resistance from {} and {} landings on references of {} and "
        "{} S/cm (R = R_pipette + 1/(4 sigma a))",
        c.landings_a, c.landings_b, params().sigma_a, params().sigma_b);
    t.addText("quantity");
    t.addQuantity("value");
    t.addQuantity("standard_error");
    t.addText("unit");
    t.addRow({std::string("radius"), c.radius_um, c.radius_error_um, std::string("um")});
    t.addRow({std::string("pipette_resistance"), c.pipette_ohm, c.pipette_error_ohm,
              std::string("Ohm")});
    ctx.note("radius", fmt::format("{:.4g} +- {:.2g} um", c.radius_um, c.radius_error_um));
    ctx.note("pipette_resistance",
             fmt::format("{:.4g} +- {:.2g} Ohm", c.pipette_ohm, c.pipette_error_ohm));
    if (c.pipette_ohm < 0)
      ctx.warn(
          fmt::format("the calibration gives a negative pipette resistance ({:.3g} Ohm): "
                      "are the references' conductivities right?",
                      c.pipette_ohm));
    ctx.put("calibration", std::move(t));
  }
};

}  // namespace

std::unique_ptr<Stage> makeCalibrateStage() {
  return std::make_unique<CalibrateStage>();
}

}  // namespace ionmap::seccm
