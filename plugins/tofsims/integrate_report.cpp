#include "tofsims/integrate_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"

namespace ionmap::tofsims {

WindowReport windowReport(const WindowMaps& wm, const std::vector<MassWindow>& windows,
                          const BinnedSpectrum& sum) {
  WindowReport out;
  Table& wt = out.table;
  wt = Table("integration windows");
  wt.addText("window");
  wt.addNumeric("centre", "u");
  wt.addNumeric("half_width", "u");
  wt.addNumeric("total_counts", "counts");
  wt.addNumeric("centroid", "u");
  wt.addNumeric("fwhm", "u");
  wt.addNumeric("resolving_power", "");
  double worst_r = 0;
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const MassWindow& w = windows[k];
    double total = 0;
    for (std::size_t i = 0; i < wm.counts[k].size(); ++i)
      total += wm.valid[i] ? wm.counts[k][i] : 0.0;
    const PeakShape pk = measurePeak(sum, w.centre, w.half_width);
    if (!(total > 0)) ++out.empty_windows;
    wt.columns[0].texts.push_back(w.name);
    wt.columns[1].numbers.push_back(w.centre);
    wt.columns[2].numbers.push_back(w.half_width);
    wt.columns[3].numbers.push_back(total);
    wt.columns[4].numbers.push_back(pk.found ? pk.centroid : NAN);
    wt.columns[5].numbers.push_back(pk.found ? pk.fwhm : NAN);
    wt.columns[6].numbers.push_back(pk.found ? pk.resolvingPower() : NAN);
    if (!(pk.found && pk.fwhm > 0)) continue;
    worst_r = worst_r == 0 ? pk.resolvingPower() : std::min(worst_r, pk.resolvingPower());
    out.notes.emplace_back("resolving_power." + w.name, fmt::format("{:.0f}", pk.resolvingPower()));
    if (std::abs(pk.centroid - w.centre) > 0.5 * w.half_width) {
      out.warnings.push_back(fmt::format(
          "the {} peak is centred at {:.5f} u, {:.1f} ppm from its window centre: recalibrate "
          "(sims-calibrate) or the window misses counts",
          w.name, pk.centroid, (pk.centroid - w.centre) / w.centre * 1e6));
    }
    if (3 * pk.fwhm > 2 * w.half_width) {
      out.warnings.push_back(
          fmt::format("the {} peak FWHM is {:.4f} u: a window of ± {} u cuts "
                      "its tails",
                      w.name, pk.fwhm, w.half_width));
    }
  }
  if (out.empty_windows > 0 && out.empty_windows < windows.size())
    out.warnings.push_back("one window holds no counts at all; its map is all zero");
  for (const auto& w : interferenceWarnings(windows, worst_r)) out.warnings.push_back(w);
  return out;
}

Table sumSpectrumTable(const BinnedSpectrum& sum, double low, double high) {
  Table spec("sum spectrum");
  spec.addNumeric("mz", "u");
  spec.addNumeric("counts", "counts");
  for (std::size_t i = 0; i < sum.counts.size(); ++i) {
    const double m = sum.mzAt(i);
    if (m < low || m > high) continue;
    spec.columns[0].numbers.push_back(m);
    spec.columns[1].numbers.push_back(sum.counts[i]);
  }
  return spec;
}

void writeSumSpectrumPlot(const BinnedSpectrum& sum, double low, double high,
                          const std::vector<MassWindow>& windows, const std::string& title,
                          const std::filesystem::path& png) {
  LinePlot plot;
  for (std::size_t i = 0; i < sum.counts.size(); ++i) {
    const double m = sum.mzAt(i);
    if (m < low || m > high) continue;
    plot.x.push_back(m);
    plot.y.push_back(sum.counts[i] + 1.0);  // log axis: +1 so empty bins show
  }
  plot.title = title;
  plot.x_label = "m/z (u)";
  plot.y_label = fmt::format("counts + 1 per {} u bin", sum.width);
  plot.log_y = true;
  for (const auto& w : windows)
    plot.bands.push_back({w.centre - w.half_width, w.centre + w.half_width, w.name});
  writeLinePlot(plot, png);
}

Table roiSpectraTable(const SpectrumImage& si, const LabelMap& roi, double low, double high,
                      double bin) {
  if (!roi.labels.sameSize(si.grid.width, si.grid.height))
    throw ProcessingError(
        "the ROI labels are not on the spectra's grid; resample them onto it first");
  Table rt("ROI spectra");
  rt.description = "sum spectrum of the pixels of each ROI label";
  rt.addNumeric("mz", "u");
  bool first = true;
  for (auto& [label, b] : sumSpectraByLabel(si, roi.labels.values(), low, high, bin)) {
    const std::size_t c = rt.addNumeric(fmt::format("roi_{}", label), "counts");
    for (std::size_t i = 0; i < b.counts.size(); ++i) {
      if (first) rt.columns[0].numbers.push_back(b.mzAt(i));
      rt.columns[c].numbers.push_back(b.counts[i]);
    }
    first = false;
  }
  return rt;
}

}  // namespace ionmap::tofsims
