// seccm-analyse: per landing, the current (at a potential or the plateau), the conductance of a
// straight-line I-E fit and a verdict; and maps of current, conductance and apparent resistance
// on the landing grid (landing_fit.hpp); the runner draws every map's quicklook.
#include <fmt/format.h>

#include "seccm/landing_fit.hpp"
#include "seccm/stages.hpp"

namespace ionmap::seccm {
namespace {

struct AnalyseParams {
  LandingFitOptions fit;
  ContactModel contact;
  std::string current_at = "plateau";  // plateau | potential
  double potential = 0;                // V
};

Table landingTable(const std::vector<LandingResult>& r, const LandingGrid& g) {
  Table t("landings");
  t.description =
      "per landing: position, samples kept, current with its standard error, the straight-line "
      "I-E fit (conductance, intercept, R^2, residual) and why a landing is not used";
  t.addNumerics({{"landing", ""},
                 {"x", "um"},
                 {"y", "um"},
                 {"samples", ""},
                 {"current", "A"},
                 {"current_standard_error", "A"},
                 {"conductance", "S"},
                 {"conductance_standard_error", "S"},
                 {"intercept", "A"},
                 {"r2", ""},
                 {"residual_rms", "A"},
                 {"resistance", "Ohm"},
                 {"resistance_standard_error", "Ohm"},
                 {"conductivity", "S/cm"},
                 {"conductivity_standard_error", "S/cm"},
                 {"conductivity_systematic_error", "S/cm"},
                 {"good", ""}});
  t.addText("flag");
  for (std::size_t k = 0; k < r.size(); ++k) {
    std::string flag = r[k].flag;
    if (flag.empty() && g.cell[k] < 0) flag = "repeated landing on an earlier one's cell";
    t.addRow({static_cast<double>(k), r[k].x, r[k].y, static_cast<double>(r[k].samples),
              r[k].current, r[k].current_se, r[k].conductance, r[k].conductance_se, r[k].intercept,
              r[k].r2, r[k].residual_rms, r[k].resistance, r[k].resistance_se, r[k].conductivity,
              r[k].conductivity_se, r[k].conductivity_systematic_se, r[k].good() ? 1.0 : 0.0,
              flag});
  }
  return t;
}

class AnalyseStage final : public StageOf<AnalyseParams, AnalyseStage> {
 public:
  static const ParamSchema<AnalyseParams>& schema() {
    using P = AnalyseParams;
    auto f = [](auto m) { return field(&P::fit, m); };
    static const auto s =
        ParamSchema<P>()
            .real("skip", f(&LandingFitOptions::skip_s), Range::atLeast(0), "s",
                  "samples within this time of touchdown are left out (the capacitive spike)")
            .choice("current_at", &P::current_at, {"plateau", "potential"},
                    "plateau: the mean current of every kept sample (a held potential); "
                    "potential: the mean over the samples near `potential`")
            .real("potential", &P::potential, Range::any(), "V",
                  "with current_at: potential, the potential the current is taken at")
            .real("potential_tolerance", f(&LandingFitOptions::potential_tolerance_V),
                  Range::above(0), "V", "samples within this of `potential` count")
            .real("saturation", f(&LandingFitOptions::saturation_A), Range::atLeast(0), "A",
                  "a landing whose |current| reaches this is flagged saturated (0 = no check)")
            .integer("min_samples", f(&LandingFitOptions::min_samples), Range::between(2, 1000000),
                     "", "landings with fewer kept samples are flagged failed")
            .choice("contact", field(&P::contact, &ContactModel::kind),
                    {{"none", ContactModel::Kind::kNone},
                     {"spreading", ContactModel::Kind::kSpreading},
                     {"thin-film", ContactModel::Kind::kThinFilm}},
                    "local conductivity from each landing's resistance: spreading, "
                    "sigma = 1/(4 a (R - R_pipette - R_ct)) for a thick conductor; thin-film, "
                    "sigma = h/(pi a^2 (R - R_pipette - R_ct)) for a film h << a on a reversible "
                    "back contact; none = resistance only")
            .real("radius", field(&P::contact, &ContactModel::radius_um), Range::atLeast(0), "um",
                  "contact (droplet) radius a")
            .real("radius_error", field(&P::contact, &ContactModel::radius_error_um),
                  Range::atLeast(0), "um", "standard error of the radius (systematic)")
            .real("pipette_resistance", field(&P::contact, &ContactModel::pipette_ohm),
                  Range::atLeast(0), "Ohm", "resistance of the pipette R_pipette")
            .real("pipette_resistance_error", field(&P::contact, &ContactModel::pipette_error_ohm),
                  Range::atLeast(0), "Ohm", "its standard error (systematic)")
            .real("charge_transfer_resistance",
                  field(&P::contact, &ContactModel::charge_transfer_ohm), Range::atLeast(0), "Ohm",
                  "interfacial charge-transfer resistance R_ct")
            .real("film_thickness", field(&P::contact, &ContactModel::film_um), Range::atLeast(0),
                  "um", "film thickness h (contact: thin-film)")
            .real("film_thickness_error", field(&P::contact, &ContactModel::film_error_um),
                  Range::atLeast(0), "um", "its standard error (systematic)")
            .real("rest_potential", field(&P::contact, &ContactModel::rest_potential_V),
                  Range::any(), "V",
                  "held potentials: R = (E - rest_potential)/I (swept landings use 1/G)");
    return s;
  }
  std::string name() const override { return "seccm-analyse"; }
  std::string summary() const override {
    return "SECCM per landing: current, I-E conductance and verdict; maps on the landing grid";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("curves", ItemKind::kCurveSet, "landings (seccm-landings)"),
            PortSpec::optionalIn("calibration", ItemKind::kTable,
                                 "seccm-calibrate's radius and pipette resistance with their "
                                 "errors (instead of the parameters)"),
            PortSpec::out("landings", ItemKind::kTable, "per landing: current, fit, verdict"),
            PortSpec::out("current", ItemKind::kMap, "current per landing (A) on the landing grid"),
            PortSpec::optionalOut("conductance", ItemKind::kMap,
                                  "I-E conductance per landing (S) on the landing grid"),
            PortSpec::optionalOut("resistance", ItemKind::kMap,
                                  "landing resistance (Ohm): 1/G, or (E - rest)/I at a held "
                                  "potential, on the landing grid"),
            PortSpec::optionalOut("conductivity", ItemKind::kMap,
                                  "local conductivity (S/cm) from the contact model")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().fit.IsValid(&why)) pf.fail(why);
    const bool calibration = !pf.readsIfBound("calibration").empty();
    const ContactModel& c = params().contact;
    if (calibration) {
      if (c.kind == ContactModel::Kind::kNone)
        pf.fail("a `calibration` is for a contact model: set contact: spreading or thin-film");
      if (c.radius_um > 0 || c.pipette_ohm > 0)
        pf.fail(
            "give the radius and pipette resistance either as parameters or through the "
            "`calibration` port, not both");
    } else if (std::string why; !c.IsValid(&why)) {
      pf.fail(why);
    }
    if (pf.outputBound("conductivity") && params().contact.kind == ContactModel::Kind::kNone)
      pf.fail("the `conductivity` map needs a contact model (contact: spreading or thin-film)");
    pf.reads("curves");
    pf.writes("landings");
    pf.writes("current");
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    LandingFitOptions o = p.fit;
    o.potential_V = p.current_at == "potential" ? p.potential : NAN;
    const CurveSet& curves = ctx.get<CurveSet>("curves");
    std::vector<LandingResult> r = fitLandings(curves, o);
    ContactModel contact = p.contact;
    if (ctx.bound("calibration")) {
      const Table& cal = ctx.get<Table>("calibration");
      const auto& q = cal.column("quantity").texts;
      const auto& v = cal.column("value").numbers;
      const auto& e = cal.column("standard_error").numbers;
      bool radius = false, pipette = false;
      for (std::size_t i = 0; i < q.size(); ++i) {
        if (q[i] == "radius")
          contact.radius_um = v[i], contact.radius_error_um = e[i], radius = true;
        if (q[i] == "pipette_resistance")
          contact.pipette_ohm = v[i], contact.pipette_error_ohm = e[i], pipette = true;
      }
      if (!radius || !pipette)
        throw ProcessingError("the `calibration` table lacks a radius or pipette_resistance row");
      ctx.note(
          "calibration",
          fmt::format("radius {:.4g} +- {:.2g} um, pipette {:.4g} +- {:.2g} Ohm", contact.radius_um,
                      contact.radius_error_um, contact.pipette_ohm, contact.pipette_error_ohm));
    }
    if (const int below = resistanceAndConductivity(r, contact)) {
      ctx.warn(fmt::format(
          "{} landing(s) have a resistance no larger than R_pipette + R_ct = {:.4g} Ohm: no "
          "conductivity for them (is the pipette's resistance right?)",
          below, contact.pipette_ohm + contact.charge_transfer_ohm));
    }
    std::vector<double> x, y;
    for (const auto& l : r) x.push_back(l.x), y.push_back(l.y);
    const LandingGrid g = landingGrid(x, y);
    int good = 0;
    for (std::size_t k = 0; k < r.size(); ++k) good += r[k].good() && g.cell[k] >= 0;
    ctx.note("landings", fmt::format("{} of {} used", good, r.size()));
    ctx.note("grid", g.grid.describe());
    if (g.repeated)
      ctx.warn(
          fmt::format("{} landing(s) fell on a cell an earlier landing took: left out of "
                      "the maps",
                      g.repeated));
    if (good == 0)
      throw ProcessingError(
          fmt::format("none of the {} landings is usable (see the `landings` "
                      "table's flags)",
                      r.size()));
    if (good < 0.8 * static_cast<double>(r.size()))
      ctx.warn(fmt::format("only {} of {} landings are usable (see the `landings` table's flags)",
                           good, r.size()));
    Map current =
        landingMap(g, r, "current", "A", [](const LandingResult& l) { return l.current; });
    Map conductance =
        landingMap(g, r, "conductance", "S", [](const LandingResult& l) { return l.conductance; });
    if (ctx.outputBound("resistance")) {
      ctx.put("resistance", landingMap(g, r, "resistance", "Ohm",
                                       [](const LandingResult& l) { return l.resistance; }));
    }
    if (ctx.outputBound("conductivity")) {
      Map sigma = landingMap(g, r, "conductivity", "S/cm",
                             [](const LandingResult& l) { return l.conductivity; });
      ctx.put("conductivity", std::move(sigma));
    }
    if (ctx.outputBound("conductance")) ctx.put("conductance", std::move(conductance));
    ctx.put("current", std::move(current));
    ctx.put("landings", landingTable(r, g));
  }
};

}  // namespace

std::unique_ptr<Stage> makeAnalyseStage() {
  return std::make_unique<AnalyseStage>();
}

}  // namespace ionmap::seccm
