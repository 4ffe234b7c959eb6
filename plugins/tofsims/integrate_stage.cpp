// sims-integrate: 6Li/7Li (or any pair) count maps from mass windows, the total-ion image,
// the sum spectrum with its windows drawn, resolving power and interference warnings.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"
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
  std::string background = "none";
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
            .choice("background", &IntegrateParams::background, {"none", "local"},
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
    return {
        {"spectra", ItemKind::kSpectrumImage, false, false, "spectrum image"},
        {"light", ItemKind::kMap, true, false, "light-isotope counts (6Li)"},
        {"heavy", ItemKind::kMap, true, false, "heavy-isotope counts (7Li)"},
        {"total", ItemKind::kMap, true, true, "total ion counts per pixel"},
        {"roi", ItemKind::kLabelMap, false, true,
         "regions (labels > 0) on the spectra's grid: one ROI spectrum per label"},
        {"spectrum", ItemKind::kTable, true, true, "sum spectrum over plot_range"},
        {"roi_spectra", ItemKind::kTable, true, true, "sum spectrum of each ROI over plot_range"},
        {"windows", ItemKind::kTable, true, true,
         "windows with measured centroid, FWHM, resolving power"}};
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
    for (const char* o : {"total", "spectrum", "windows", "roi_spectra"}) {
      if (pf.outputBound(o)) pf.writes(o);
    }
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    const SpectrumImage& si = ctx.get<SpectrumImage>("spectra");
    const std::vector<MassWindow> windows{{p.light_name, p.light_mass, p.half_width},
                                          {p.heavy_name, p.heavy_mass, p.half_width}};
    const WindowMaps wm = integrateWindows(
        si, windows, p.background == "local" ? Background::kLocal : Background::kNone, p.flank);
    const std::size_t no_spectrum = static_cast<std::size_t>(
        std::count(si.pixel_spectrum.begin(), si.pixel_spectrum.end(), std::int64_t{-1}));
    if (no_spectrum)
      ctx.warn(fmt::format("{} pixels have no spectrum and are masked", no_spectrum));
    if (wm.bad_spectra) {
      ctx.warn(
          fmt::format("{} spectra hold negative or non-finite intensities; their pixels are masked",
                      wm.bad_spectra));
    }
    // Sum spectrum (also over the windows, to check that they hold counts at all).
    const double lo =
        std::min(p.plot_range[0], std::min(p.light_mass, p.heavy_mass) - p.half_width - p.flank);
    const double hi =
        std::max(p.plot_range[1], std::max(p.light_mass, p.heavy_mass) + p.half_width + p.flank);
    const BinnedSpectrum sum = sumSpectrum(si, lo, hi, p.bin);
    Table wt("integration windows");
    wt.addText("window");
    wt.addNumeric("centre", "u");
    wt.addNumeric("half_width", "u");
    wt.addNumeric("total_counts", "counts");
    wt.addNumeric("centroid", "u");
    wt.addNumeric("fwhm", "u");
    wt.addNumeric("resolving_power", "");
    double worst_r = 0;
    std::size_t empty = 0;
    for (std::size_t k = 0; k < windows.size(); ++k) {
      double total = 0;
      for (std::size_t i = 0; i < wm.counts[k].size(); ++i)
        total += wm.valid[i] ? wm.counts[k][i] : 0.0;
      const PeakShape pk = measurePeak(sum, windows[k].centre, windows[k].half_width);
      if (!(total > 0)) ++empty;
      wt.columns[0].texts.push_back(windows[k].name);
      wt.columns[1].numbers.push_back(windows[k].centre);
      wt.columns[2].numbers.push_back(windows[k].half_width);
      wt.columns[3].numbers.push_back(total);
      wt.columns[4].numbers.push_back(pk.found ? pk.centroid : NAN);
      wt.columns[5].numbers.push_back(pk.found ? pk.fwhm : NAN);
      wt.columns[6].numbers.push_back(pk.found ? pk.resolvingPower() : NAN);
      if (pk.found && pk.fwhm > 0) {
        worst_r = worst_r == 0 ? pk.resolvingPower() : std::min(worst_r, pk.resolvingPower());
        ctx.note("resolving_power." + windows[k].name, fmt::format("{:.0f}", pk.resolvingPower()));
        if (std::abs(pk.centroid - windows[k].centre) > 0.5 * windows[k].half_width) {
          ctx.warn(fmt::format(
              "the {} peak is centred at {:.5f} u, {:.1f} ppm from its window centre: recalibrate "
              "(sims-calibrate) or the window misses counts",
              windows[k].name, pk.centroid,
              (pk.centroid - windows[k].centre) / windows[k].centre * 1e6));
        }
        if (3 * pk.fwhm > 2 * windows[k].half_width) {
          ctx.warn(fmt::format("the {} peak FWHM is {:.4f} u: a window of ± {} u cuts its tails",
                               windows[k].name, pk.fwhm, windows[k].half_width));
        }
      }
    }
    if (empty == windows.size()) {
      throw ProcessingError(
          fmt::format("neither window ({} at {} u, {} at {} u) holds any counts: are the masses "
                      "outside the spectra's m/z range?",
                      p.light_name, p.light_mass, p.heavy_name, p.heavy_mass));
    }
    if (empty) ctx.warn("one window holds no counts at all; its map is all zero");
    for (const auto& w : interferenceWarnings(windows, worst_r)) ctx.warn(w);

    auto toMap = [&](const Image<double>& img, const std::string& name) {
      Map m(name, si.grid, "counts");
      m.values = img;
      m.mask = wm.valid;
      for (std::size_t i = 0; i < m.values.size(); ++i) {
        if (!m.mask[i]) m.values[i] = NAN;
      }
      m.metadata = si.metadata;
      return m;
    };
    ctx.put("light", toMap(wm.counts[0], p.light_name + " counts"));
    ctx.put("heavy", toMap(wm.counts[1], p.heavy_name + " counts"));
    if (ctx.outputBound("total")) ctx.put("total", toMap(wm.total, "total ion counts"));

    // The plotted part of the sum spectrum.
    Table spec("sum spectrum");
    spec.addNumeric("mz", "u");
    spec.addNumeric("counts", "counts");
    LinePlot plot;
    for (std::size_t i = 0; i < sum.counts.size(); ++i) {
      const double m = sum.mzAt(i);
      if (m < p.plot_range[0] || m > p.plot_range[1]) continue;
      spec.columns[0].numbers.push_back(m);
      spec.columns[1].numbers.push_back(sum.counts[i]);
      plot.x.push_back(m);
      plot.y.push_back(sum.counts[i] + 1.0);  // log axis: +1 so empty bins show
    }
    if (!p.plot_file.empty()) {
      plot.title = fmt::format("Sum spectrum of {} ({} spectra), windows shaded", si.name,
                               si.spectrumCount());
      plot.x_label = "m/z (u)";
      plot.y_label = fmt::format("counts + 1 per {} u bin", p.bin);
      plot.log_y = true;
      for (const auto& w : windows)
        plot.bands.push_back({w.centre - w.half_width, w.centre + w.half_width, w.name});
      try {
        writeLinePlot(plot, ctx.fileDir() / p.plot_file);
      } catch (const ProcessingError& e) {
        ctx.warn(std::string("no sum-spectrum plot: ") + e.what());
      }
    }
    if (ctx.outputBound("spectrum")) ctx.put("spectrum", std::move(spec));
    if (ctx.outputBound("roi_spectra")) {
      const LabelMap& roi = ctx.get<LabelMap>("roi");
      if (!roi.labels.sameSize(si.grid.width, si.grid.height)) {
        throw ProcessingError(
            "the ROI labels are not on the spectra's grid; resample them onto it first");
      }
      Table rt("ROI spectra");
      rt.description = "sum spectrum of the pixels of each ROI label";
      rt.addNumeric("mz", "u");
      bool first = true;
      for (auto& [label, b] :
           sumSpectraByLabel(si, roi.labels.values(), p.plot_range[0], p.plot_range[1], p.bin)) {
        const std::size_t c = rt.addNumeric(fmt::format("roi_{}", label), "counts");
        for (std::size_t i = 0; i < b.counts.size(); ++i) {
          if (first) rt.columns[0].numbers.push_back(b.mzAt(i));
          rt.columns[c].numbers.push_back(b.counts[i]);
        }
        first = false;
      }
      ctx.note("roi_count", std::to_string(rt.columns.size() - 1));
      ctx.put("roi_spectra", std::move(rt));
    }
    if (ctx.outputBound("windows")) ctx.put("windows", std::move(wt));
  }
};

}  // namespace

std::unique_ptr<Stage> makeIntegrateStage() {
  return std::make_unique<IntegrateStage>();
}

}  // namespace ionmap::tofsims
