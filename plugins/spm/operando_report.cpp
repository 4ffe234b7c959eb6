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
                 {"lithium_change_standard_error", "1"}});
  for (const auto& p : r.particles) {
    t.addRow({static_cast<double>(p.label), static_cast<double>(p.pixels), p.mean.front(),
              p.mean.back(), p.change, p.change_se, p.z, p.slope, p.slope_se,
              p.responding ? 1.0 : 0.0, p.lithium_change, p.lithium_change_se});
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

void writeOperandoPlots(const OperandoResult& r, const std::filesystem::path& prefix) {
  std::vector<std::size_t> order(r.particles.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](auto a, auto b) { return r.particles[a].change < r.particles[b].change; });
  LinePlot plot;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& p = r.particles[order[i]];
    plot.x.push_back(static_cast<double>(i));
    plot.y.push_back(p.change);
    plot.y_error.push_back(p.change_se);
  }
  plot.markers = true;
  plot.title = fmt::format("potential change per particle, first to last state ({} of {} respond)",
                           r.responding, r.particles.size());
  plot.x_label = "particle (sorted by change)";
  plot.y_label = "potential change";
  writeLinePlot(plot, prefix.string() + "-changes.png");
}

}  // namespace ionmap::spm
