// sims-integrate: 6Li/7Li (or any pair) count maps from mass windows, the total-ion image,
// the sum spectrum with its windows drawn, resolving power and interference warnings.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"
#include "tofsims/integrate_report.hpp"
#include "tofsims/spectra.hpp"
#include "tofsims/stages.hpp"

namespace ionmap::tofsims {
namespace {

struct IntegrateParams {
  double light_mass = kLi6;
  double heavy_mass = kLi7;
  std::string light_name = "6Li";
  std::string heavy_name = "7Li";
  double half_width = 0.006;
  Background background = Background::kNone;
  double flank = 0.01;
  std::vector<double> plot_range{5.5, 7.5};
  double bin = 0.0005;
  std::string plot_file = "sum-spectrum.png";
};

class IntegrateStage final : public StageOf<IntegrateParams, IntegrateStage> {
 public:
  static const ParamSchema<IntegrateParams>& schema() {
    static const auto s =
        ParamSchema<IntegrateParams>()
            .real("light_mass", &IntegrateParams::light_mass, Range::above(0), "u",
                  "centre of the light-isotope window (6Li+)")
            .real("heavy_mass", &IntegrateParams::heavy_mass, Range::above(0), "u",
                  "centre of the heavy-isotope window (7Li+)")
            .text("light_name", &IntegrateParams::light_name, "name of the light isotope")
            .text("heavy_name", &IntegrateParams::heavy_name, "name of the heavy isotope")
            .real("half_width", &IntegrateParams::half_width, Range::between(1e-5, 0.5), "u",
                  "windows are centre ± half_width")
            .choice("background", &IntegrateParams::background,
                    {{"none", Background::kNone}, {"local", Background::kLocal}},
                    "local: subtract the mean of the flanks on both sides of each window")
            .real("flank", &IntegrateParams::flank, Range::between(1e-5, 0.5), "u",
                  "width of each background flank")
            .reals("plot_range", &IntegrateParams::plot_range, 2, Range::above(0), "u",
                   "m/z range of the sum spectrum")
            .real("bin", &IntegrateParams::bin, Range::between(1e-6, 0.1), "u",
                  "bin width of the sum spectrum")
            .text("plot_file", &IntegrateParams::plot_file,
                  "PNG of the sum spectrum with the windows; empty = none");
    return s;
  }
  std::string name() const override { return "sims-integrate"; }
  std::string summary() const override {
    return "integrate two isotope peaks per pixel into count maps, with the sum spectrum and "
           "resolving power";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("spectra", ItemKind::kSpectrumImage, "spectrum image"),
            PortSpec::out("light", ItemKind::kMap, "light-isotope counts (6Li)"),
            PortSpec::out("heavy", ItemKind::kMap, "heavy-isotope counts (7Li)"),
            PortSpec::optionalOut("total", ItemKind::kMap, "total ion counts per pixel"),
            PortSpec::optionalIn(
                "roi", ItemKind::kLabelMap,
                "regions (labels > 0) on the spectra's grid: one ROI spectrum per label"),
            PortSpec::optionalOut("spectrum", ItemKind::kTable, "sum spectrum over plot_range"),
            PortSpec::optionalOut("roi_spectra", ItemKind::kTable,
                                  "sum spectrum of each ROI over plot_range"),
            PortSpec::optionalOut("windows", ItemKind::kTable,
                                  "windows with measured centroid, FWHM, resolving power")};
  }
  void preflight(Preflight& pf) const override {
    const auto& p = params();
    if (std::abs(p.light_mass - p.heavy_mass) <= 2 * p.half_width)
      pf.fail("the two windows overlap; reduce half_width");
    if (!(p.plot_range[1] > p.plot_range[0]))
      pf.fail("plot_range must be [low, high] with low < high");
    if (!p.plot_file.empty() && !isPlainPngFileName(p.plot_file)) {
      pf.fail("`plot_file` must be a plain file name ending in .png");
    }
    pf.reads("spectra");
    const bool roi = !pf.readsIfBound("roi").empty();
    if (pf.outputBound("roi_spectra") && !roi)
      pf.fail("the `roi_spectra` output needs the `roi` input");
    pf.writes("light");
    pf.writes("heavy");
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    const SpectrumImage& si = ctx.get<SpectrumImage>("spectra");
    const std::vector<MassWindow> windows{{p.light_name, p.light_mass, p.half_width},
                                          {p.heavy_name, p.heavy_mass, p.half_width}};
    const WindowMaps wm = integrateWindows(si, windows, p.background, p.flank);
    warnMaskedPixels(ctx, si, wm);
    // Sum spectrum over the plot range and the windows (to check that they hold counts at all).
    const double lo =
        std::min(p.plot_range[0], std::min(p.light_mass, p.heavy_mass) - p.half_width - p.flank);
    const double hi =
        std::max(p.plot_range[1], std::max(p.light_mass, p.heavy_mass) + p.half_width + p.flank);
    const BinnedSpectrum sum = sumSpectrum(si, lo, hi, p.bin);
    WindowReport report = windowReport(wm, windows, sum);
    if (report.empty_windows == windows.size()) {
      throw ProcessingError(
          fmt::format("neither window ({} at {} u, {} at {} u) holds any counts: are the masses "
                      "outside the spectra's m/z range?",
                      p.light_name, p.light_mass, p.heavy_name, p.heavy_mass));
    }
    for (const auto& [key, text] : report.notes) ctx.note(key, text);
    for (const auto& w : report.warnings) ctx.warn(w);
    ctx.put("light", countMap(si, wm, wm.counts[0], p.light_name + " counts"));
    ctx.put("heavy", countMap(si, wm, wm.counts[1], p.heavy_name + " counts"));
    if (ctx.outputBound("total")) ctx.put("total", countMap(si, wm, wm.total, "total ion counts"));
    if (!p.plot_file.empty()) plotSumSpectrum(ctx, si, sum, windows);
    if (ctx.outputBound("spectrum"))
      ctx.put("spectrum", sumSpectrumTable(sum, p.plot_range[0], p.plot_range[1]));
    if (ctx.outputBound("roi_spectra")) putRoiSpectra(ctx, si);
    if (ctx.outputBound("windows")) ctx.put("windows", std::move(report.table));
  }

 private:
  static void warnMaskedPixels(RunContext& ctx, const SpectrumImage& si, const WindowMaps& wm) {
    const auto no_spectrum = std::count(si.pixel_spectrum.begin(), si.pixel_spectrum.end(), -1);
    if (no_spectrum)
      ctx.warn(fmt::format("{} pixels have no spectrum and are masked", no_spectrum));
    if (wm.bad_spectra) {
      ctx.warn(
          fmt::format("{} spectra hold negative or non-finite intensities; their pixels are "
                      "masked",
                      wm.bad_spectra));
    }
  }

  // The sum spectrum with the windows shaded (a plot that cannot be drawn is a warning).
  void plotSumSpectrum(RunContext& ctx, const SpectrumImage& si, const BinnedSpectrum& sum,
                       const std::vector<MassWindow>& windows) const {
    const auto& p = params();
    try {
      writeSumSpectrumPlot(sum, p.plot_range[0], p.plot_range[1], windows,
                           fmt::format("Sum spectrum of {} ({} spectra), windows shaded", si.name,
                                       si.spectrumCount()),
                           ctx.fileDir() / p.plot_file);
    } catch (const ProcessingError& e) {
      ctx.warn(std::string("no sum-spectrum plot: ") + e.what());
    }
  }

  void putRoiSpectra(RunContext& ctx, const SpectrumImage& si) const {
    const auto& p = params();
    Table rt =
        roiSpectraTable(si, ctx.get<LabelMap>("roi"), p.plot_range[0], p.plot_range[1], p.bin);
    ctx.note("roi_count", std::to_string(rt.columns.size() - 1));
    ctx.put("roi_spectra", std::move(rt));
  }

  // A window's counts as a map on the spectra's grid (NaN where no valid spectrum).
  static Map countMap(const SpectrumImage& si, const WindowMaps& wm, const Image<double>& counts,
                      const std::string& name) {
    Map m(name, si.grid, "counts");
    m.values = counts;
    m.mask = wm.valid;
    for (std::size_t i = 0; i < m.values.size(); ++i) {
      if (!m.mask[i]) m.values[i] = NAN;
    }
    m.metadata = si.metadata;
    return m;
  }
};

}  // namespace

std::unique_ptr<Stage> makeIntegrateStage() {
  return std::make_unique<IntegrateStage>();
}

}  // namespace ionmap::tofsims
