#include "spm/profile_report.hpp"

#include <cmath>

#include <fmt/format.h>

#include "ionmap/io/quicklook.hpp"

namespace ionmap::spm {
namespace {

std::string prefixOf(const InterfaceFit& f) {
  return f.model == InterfaceModel::kBlurredStep ? "step_" : "space_charge_";
}

}  // namespace

Table profileTable(const BandProfile& p, const InterfaceFit& step, const InterfaceFit& charge) {
  Table t("interface profile");
  t.description = "the map averaged over the band along the profile line, with both models";
  t.addNumerics({{"s", "um"},
                 {"value", p.unit},
                 {"standard_error", p.unit},
                 {"pixels", ""},
                 {"blurred_step", p.unit},
                 {"space_charge", p.unit}});
  for (std::size_t i = 0; i < p.s.size(); ++i) {
    t.addRow({p.s[i], p.value[i], p.se[i], p.pixels[i], step.prediction[i], charge.prediction[i]});
  }
  return t;
}

const InterfaceFit& preferredModel(const InterfaceFit& step, const InterfaceFit& charge) {
  return charge.bic < step.bic - 2 ? charge : step;
}

Table interfaceTable(const InterfaceFit& step, const InterfaceFit& charge) {
  Table t("interface fit");
  t.description =
      "fitted interface parameters of both models, their fit statistics and the "
      "model the data prefer (lower BIC)";
  t.addText("quantity");
  t.addText("model");
  t.addQuantity("value");
  t.addQuantity("standard_error");
  t.addText("unit");
  const InterfaceFit& best = preferredModel(step, charge);
  for (const InterfaceFit* f : {&step, &charge}) {
    const std::string m = modelName(f->model);
    for (const auto& v : f->values)
      t.addRow({prefixOf(*f) + v.name, m, v.value, v.standard_error, v.unit});
    t.addRow({prefixOf(*f) + "reduced_chi2", m, f->reduced_chi2, NAN, ""});
    t.addRow({prefixOf(*f) + "aic", m, f->aic, NAN, ""});
    t.addRow({prefixOf(*f) + "bic", m, f->bic, NAN, ""});
    t.addRow({prefixOf(*f) + "preferred", m, f == &best ? 1.0 : 0.0, NAN, ""});
  }
  return t;
}

std::vector<std::string> fitWarnings(const InterfaceFit& f) {
  std::vector<std::string> out;
  const std::string m = modelName(f.model);
  if (!f.converged) out.push_back(fmt::format("the {} fit did not converge", m));
  const int nu = std::max(1, f.points - f.parameters);
  const double z = (f.chi2 - nu) / std::sqrt(2.0 * nu);
  if (std::abs(z) > 3) {
    out.push_back(fmt::format(
        "the {} model {} the profile: chi^2/nu = {:.2f} for {} degrees of freedom ({:+.1f} "
        "sigma from 1){}",
        m, z > 0 ? "does not describe" : "over-fits", f.reduced_chi2, nu, z,
        z > 0 ? "; its standard errors are too small by about sqrt(chi^2/nu)" : ""));
  }
  for (const auto& v : f.values) {
    const bool length = v.name.rfind("width", 0) == 0 || v.name.rfind("lambda", 0) == 0;
    if (length && !(v.standard_error < v.value)) {
      out.push_back(
          fmt::format("the {} {} is not resolved by the profile ({:.3g} +- {:.3g} um): "
                      "treat it as an upper bound",
                      m, v.name, v.value, v.standard_error));
    }
  }
  return out;
}

Table interfaceLineTable(const std::optional<InterfaceCurve>& c) {
  Table t("interface line");
  t.addNumerics({{"t", "um"}, {"found", "um"}, {"used", ""}, {"fitted", "um"}});
  if (!c) {
    t.description = "no interface was detected: the profile followed the given line";
    return t;
  }
  t.description = fmt::format(
      "per scan line: where the interface was found across {} (NaN: nothing stood out), "
      "whether the fitted line used it, and where the line puts it",
      c->across_x ? "x" : "y");
  for (std::size_t i = 0; i < c->line_t.size(); ++i) {
    t.addRow({c->line_t[i], c->line_u[i], c->line_used[i] ? 1.0 : 0.0, c->at(c->line_t[i])});
  }
  return t;
}

void writeProfilePlot(const BandProfile& p, const InterfaceFit& step, const InterfaceFit& charge,
                      const std::filesystem::path& png) {
  Figure fig;
  fig.title = fmt::format("profile across the interface: {} model preferred (BIC)",
                          modelName(preferredModel(step, charge).model));
  fig.x_label = "distance across the interface (\xC2\xB5m)";
  const std::string unit = p.unit.empty() ? "?" : p.unit;
  PlotPanel top;
  top.include_zero = false;
  top.y_label = fmt::format("potential ({})", unit);
  PlotSeries measured;
  measured.x = p.s;
  measured.y = p.value;
  measured.y_error = p.se;
  measured.style = PlotSeries::Style::kMarkers;
  measured.colour = 5;
  measured.label = "measured (band mean +- se)";
  top.series.push_back(measured);
  PlotPanel bottom;
  bottom.y_label = "residual / se";
  bottom.zero_line = true;
  int colour = 0;
  for (const InterfaceFit* f : {&step, &charge}) {
    PlotSeries model;
    model.x = p.s;
    model.y = f->prediction;
    model.colour = colour;
    model.thickness = 2;
    model.label = fmt::format("{}, chi2/nu {:.2f}", modelName(f->model), f->reduced_chi2);
    top.series.push_back(model);
    PlotSeries r;
    r.x = p.s;
    for (std::size_t i = 0; i < p.s.size(); ++i)
      r.y.push_back((p.value[i] - f->prediction[i]) / p.se[i]);
    r.style = PlotSeries::Style::kLineAndMarkers;
    r.colour = colour++;
    bottom.series.push_back(r);
  }
  fig.panels = {top, bottom};
  writeFigure(fig, png);
}

}  // namespace ionmap::spm
