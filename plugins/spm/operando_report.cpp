#include "spm/operando_report.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "ionmap/io/quicklook.hpp"

namespace ionmap::spm {

Table responseTable(const OperandoResult& r, const std::string& unit) {
  Table t("particle responses");
  t.description =
      "per particle: potential change from the first to the last state of charge, "
      "its significance and class, and the lithium change of the same particle";
  t.addNumerics({{"label", ""},
                 {"pixels", ""},
                 {"first", unit},
                 {"last", unit},
                 {"change", unit},
                 {"change_standard_error", unit},
                 {"z", ""},
                 {"slope", unit + "/%"},
                 {"slope_standard_error", unit + "/%"},
                 {"responding", ""},
                 {"lithium_change", "1"},
                 {"lithium_change_standard_error", "1"},
                 {"phase", ""},
                 {"phase_fraction", "1"}});
  for (const auto& p : r.particles) {
    t.addRow({static_cast<double>(p.label), static_cast<double>(p.pixels), p.mean.front(),
              p.mean.back(), p.change, p.change_se, p.z, p.slope, p.slope_se,
              p.responding ? 1.0 : 0.0, p.lithium_change, p.lithium_change_se,
              static_cast<double>(p.phase), p.phase_fraction});
  }
  return t;
}

Table phaseTable(const std::vector<PhaseSummary>& phases, const std::string& unit) {
  Table t("phases");
  t.description =
      "per phase: particles, how many respond (with the Wilson 95 % interval of the "
      "fraction), the mean potential change over its particles with its standard error, the "
      "median, and the mean lithium change";
  t.addNumerics({{"phase", ""}});
  t.addText("name");
  t.addNumerics({{"particles", ""},
                 {"responding", ""},
                 {"responding_fraction", "1"},
                 {"responding_fraction_lo", "1"},
                 {"responding_fraction_hi", "1"},
                 {"mean_change", unit},
                 {"mean_change_standard_error", unit},
                 {"median_change", unit},
                 {"mean_lithium_change", "1"},
                 {"mean_lithium_change_standard_error", "1"}});
  for (const auto& s : phases) {
    t.addRow({static_cast<double>(s.phase), s.name, static_cast<double>(s.particles),
              static_cast<double>(s.responding), static_cast<double>(s.responding) / s.particles,
              s.responding_lo, s.responding_hi, s.mean_change, s.mean_change_se, s.median_change,
              s.mean_lithium_change, s.mean_lithium_change_se});
  }
  return t;
}

Table driftTable(const std::vector<registration::FrameShift>& shifts) {
  Table t("drift");
  t.addNumerics({{"frame", ""}, {"dx", "um"}, {"dy", "um"}, {"peak", ""}});
  for (std::size_t k = 0; k < shifts.size(); ++k)
    t.addRow({static_cast<double>(k), shifts[k].dx, shifts[k].dy, shifts[k].peak});
  return t;
}

std::vector<std::pair<std::string, std::string>> operandoNotes(const OperandoResult& r,
                                                               const OperandoOptions& o) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("particles", std::to_string(r.particles.size()));
  out.emplace_back("responding", fmt::format("{} (|dV| > {} and |dV| > {} standard errors)",
                                             r.responding, o.threshold, o.min_z));
  if (std::isfinite(r.correlation)) {
    out.emplace_back("correlation_dV_dLi",
                     fmt::format("{:.3f} +- {:.3f} over {} particles", r.correlation,
                                 r.correlation_se, r.particles.size()));
  }
  return out;
}

std::vector<std::string> operandoWarnings(const std::vector<registration::FrameShift>& shifts) {
  std::vector<std::string> out;
  for (std::size_t k = 1; k < shifts.size(); ++k) {
    if (shifts[k].peak < 0.05) {
      out.push_back(
          fmt::format("frame {} matches frame 0 weakly (peak {:.3f}): its drift, and "
                      "the changes measured on it, are doubtful",
                      k, shifts[k].peak));
    }
  }
  return out;
}

namespace {

// Every particle's potential change with its error against x (with its error) from `at`, in
// two series by class: responding (red) and not (grey). Particles whose x is not finite are
// left out.
template <class X>
PlotPanel changePanel(const OperandoResult& r, const std::string& unit, X at) {
  PlotPanel panel;
  panel.y_label = fmt::format("potential change ({})", unit);
  panel.zero_line = true;
  PlotSeries yes, no;
  yes.style = no.style = PlotSeries::Style::kMarkers;
  yes.colour = 1, no.colour = 5;
  yes.label = "responding", no.label = "not responding";
  for (const auto& p : r.particles) {
    const auto [x, x_error] = at(p);
    if (!std::isfinite(x)) continue;
    PlotSeries& s = p.responding ? yes : no;
    s.x.push_back(x);
    s.x_error.push_back(x_error);
    s.y.push_back(p.change);
    s.y_error.push_back(p.change_se);
  }
  panel.series = {no, yes};
  return panel;
}

}  // namespace

void writeOperandoPlots(const OperandoResult& r, const std::vector<double>& soc,
                        const std::string& unit, const std::filesystem::path& prefix) {
  const std::string u = unit.empty() ? "?" : unit;
  std::vector<std::size_t> order(r.particles.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](auto a, auto b) { return r.particles[a].change < r.particles[b].change; });
  // Every particle's change with its error, sorted; responding particles in red.
  {
    Figure fig;
    fig.title = fmt::format("potential change per particle, first to last state ({} of {} respond)",
                            r.responding, r.particles.size());
    fig.x_label = "particle (sorted by change)";
    std::vector<double> rank(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<double>(i);
    fig.panels = {changePanel(r, u, [&](const ParticleResponse& p) {
      return std::make_pair(rank[static_cast<std::size_t>(&p - r.particles.data())], 0.0);
    })};
    writeFigure(fig, prefix.string() + "-changes.png");
  }
  // Traces: every particle's potential against SOC, relative to its first state.
  {
    Figure fig;
    fig.title = "potential of every particle against state of charge (relative to the first)";
    fig.x_label = "state of charge (%)";
    PlotPanel panel;
    panel.y_label = fmt::format("potential - first state ({})", u);
    panel.zero_line = true;
    bool labelled[2] = {false, false};
    for (bool responding : {false, true}) {  // responding drawn last, on top
      for (const auto& p : r.particles) {
        if (p.responding != responding) continue;
        PlotSeries s;
        s.x = soc;
        for (double m : p.mean) s.y.push_back(m - p.mean.front());
        s.style = PlotSeries::Style::kLineAndMarkers;
        s.colour = responding ? 1 : 5;
        if (!labelled[responding]) {
          s.label = responding ? "responding" : "not responding";
          labelled[responding] = true;
        }
        panel.series.push_back(std::move(s));
      }
    }
    fig.panels = {panel};
    writeFigure(fig, prefix.string() + "-traces.png");
  }
  // The potential change against the lithium change, by class.
  if (std::isfinite(r.correlation) ||
      std::any_of(r.particles.begin(), r.particles.end(),
                  [](const auto& p) { return std::isfinite(p.lithium_change); })) {
    Figure fig;
    fig.title = std::isfinite(r.correlation)
                    ? fmt::format("potential change against lithium change (r = {:.2f} +- {:.2f})",
                                  r.correlation, r.correlation_se)
                    : "potential change against lithium change";
    fig.x_label = "lithium change, last / first - 1";
    fig.panels = {changePanel(r, u, [](const ParticleResponse& p) {
      return std::make_pair(p.lithium_change, p.lithium_change_se);
    })};
    writeFigure(fig, prefix.string() + "-dv-dli.png");
  }
}

}  // namespace ionmap::spm
