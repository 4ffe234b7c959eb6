// sims-calibrate: mass calibration t = a·sqrt(m) + b from named reference peaks.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "tofsims/spectra.hpp"
#include "tofsims/stages.hpp"

namespace ionmap::tofsims {
namespace {

struct CalibrateParams {
  std::vector<double> references{kLi6, kLi7};
  double search = 0.05;
  double bin = 0.0005;
};

class CalibrateStage final : public StageOf<CalibrateParams, CalibrateStage> {
 public:
  static const ParamSchema<CalibrateParams>& schema() {
    static const auto s =
        ParamSchema<CalibrateParams>()
            .reals("references", &CalibrateParams::references, 0, Range::above(0), "u",
                   "exact ion masses of at least two reference peaks (e.g. 1.007276 H+, 6.014574 "
                   "6Li+, "
                   "22.989221 Na+)")
            .real("search", &CalibrateParams::search, Range::above(0), "u",
                  "each reference peak is looked for within this distance of its mass")
            .real("bin", &CalibrateParams::bin, Range::between(1e-6, 0.1), "u",
                  "bin width of the sum spectrum used to locate peaks (spectrum images)");
    return s;
  }
  std::string name() const override { return "sims-calibrate"; }
  std::string summary() const override {
    return "recalibrate the mass scale (t = a·sqrt(m) + b) from reference peaks; residuals in ppm";
  }
  std::vector<PortSpec> ports() const override {
    return {{"spectra", ItemKind::kSpectrumImage, false, true, "spectrum image to recalibrate"},
            {"spectrum", ItemKind::kTable, false, true,
             "a spectrum table (channel, mz, intensity) to recalibrate"},
            {"spectra", ItemKind::kSpectrumImage, true, true, "recalibrated spectrum image"},
            {"spectrum", ItemKind::kTable, true, true, "recalibrated spectrum table"},
            {"calibration", ItemKind::kTable, true, false,
             "reference peaks: found position, residual (ppm)"}};
  }
  void preflight(Preflight& pf) const override {
    const std::string a = pf.readsIfBound("spectra"), b = pf.readsIfBound("spectrum");
    if (a.empty() == b.empty())
      pf.fail("bind exactly one of the input ports 'spectra' and 'spectrum'");
    const auto& refs = params().references;
    if (refs.size() < 2) pf.fail("`references` needs at least two masses");
    for (std::size_t i = 0; i < refs.size(); ++i) {
      for (std::size_t j = i + 1; j < refs.size(); ++j) {
        if (std::abs(refs[i] - refs[j]) < 2 * params().search) {
          pf.fail(
              fmt::format("references {} and {} are closer than twice `search`", refs[i], refs[j]));
        }
      }
    }
    pf.writes(a.empty() ? "spectrum" : "spectra");
    pf.writes("calibration");
  }

  void run(RunContext& ctx) const override {
    const auto& p = params();
    std::vector<double> found_x, found_m, observed;
    std::vector<PeakShape> peaks;
    std::vector<double> mz, intensity, channel;
    BinnedSpectrum sum;
    const bool image = ctx.bound("spectra");
    if (image) {
      const double lo =
          *std::min_element(p.references.begin(), p.references.end()) - p.search - 0.01;
      const double hi =
          *std::max_element(p.references.begin(), p.references.end()) + p.search + 0.01;
      sum = sumSpectrum(ctx.get<SpectrumImage>("spectra"), std::max(lo, 1e-6), hi, p.bin);
    } else {
      const Table& t = ctx.get<Table>("spectrum");
      mz = t.column("mz").numbers;
      intensity = t.column("intensity").numbers;
      channel = t.column("channel").numbers;
    }
    std::vector<double> missing;
    for (double m : p.references) {
      const PeakShape pk =
          image ? measurePeak(sum, m, p.search) : measurePeak(mz, intensity, m, p.search);
      if (!pk.found) {
        missing.push_back(m);
        continue;
      }
      peaks.push_back(pk);
      found_m.push_back(m);
      if (image) {
        found_x.push_back(std::sqrt(pk.centroid));
      } else {
        // The channel at the peak centroid (channel is monotonic in m/z).
        const auto it = std::lower_bound(mz.begin(), mz.end(), pk.centroid);
        const std::size_t i =
            std::clamp<std::size_t>(static_cast<std::size_t>(it - mz.begin()), 1, mz.size() - 1);
        const double f = (pk.centroid - mz[i - 1]) / (mz[i] - mz[i - 1]);
        found_x.push_back(channel[i - 1] + f * (channel[i] - channel[i - 1]));
      }
    }
    if (!missing.empty()) {
      // What the spectra cover, from the first one (cheap): tells "outside the recorded
      // range" from "absent".
      std::string range;
      if (image) {
        const SpectrumImage& si = ctx.get<SpectrumImage>("spectra");
        Spectrum first;
        if (si.source && si.source->count()) si.source->read(0, first);
        if (!first.mz.empty())
          range = fmt::format(" (the first spectrum covers {:.4g}-{:.4g} u)", first.mz.front(),
                              first.mz.back());
      } else if (!mz.empty()) {
        range = fmt::format(" (the spectrum covers {:.4g}-{:.4g} u)", mz.front(), mz.back());
      }
      std::string list;
      for (double m : missing) list += fmt::format("{}{} u", list.empty() ? "" : ", ", m);
      if (found_m.size() < 2) {
        throw ProcessingError(fmt::format(
            "no peak within ±{} u of the reference mass(es) {}{}: {} reference peak(s) found, a "
            "calibration needs two (e.g. 6.014574 6Li+ and 7.015455 7Li+); is the mass scale off "
            "by more than `search`?",
            p.search, list, range, found_m.size()));
      }
      ctx.warn(fmt::format(
          "no peak within ±{} u of the reference mass(es) {}{}: outside the recorded range or "
          "absent, left out of the calibration ({} references used)",
          p.search, list, range, found_m.size()));
      ctx.note("references_missing", list);
    }
    const TofCalibration cal = fitTofCalibration(found_x, found_m);
    Table report("mass calibration");
    report.description = image ? "sqrt(m_measured) = a sqrt(m) + b" : "channel = a sqrt(m) + b";
    report.addNumeric("reference_mass", "u");
    report.addNumeric("found_before", "u");
    report.addNumeric("offset_before", "ppm");
    report.addNumeric("after", "u");
    report.addNumeric("residual", "ppm");
    report.addNumeric("resolving_power", "");
    for (std::size_t i = 0; i < found_m.size(); ++i) {
      report.columns[0].numbers.push_back(found_m[i]);
      report.columns[1].numbers.push_back(peaks[i].centroid);
      report.columns[2].numbers.push_back((peaks[i].centroid - found_m[i]) / found_m[i] * 1e6);
      report.columns[3].numbers.push_back(cal.massAt(found_x[i]));
      report.columns[4].numbers.push_back(cal.residual_ppm[i]);
      report.columns[5].numbers.push_back(peaks[i].resolvingPower());
    }
    ctx.note("a", fmt::format("{:.10g}", cal.a));
    ctx.note("b", fmt::format("{:.10g}", cal.b));
    ctx.note("rms_residual_ppm", fmt::format("{:.3g}", cal.rms_ppm));
    if (found_m.size() == 2)
      ctx.warn(
          "two reference peaks determine the calibration exactly: residuals are 0 by construction");
    if (cal.rms_ppm > 100)
      ctx.warn(fmt::format("calibration residuals are large (rms {:.0f} ppm)", cal.rms_ppm));
    if (image) {
      SpectrumImage si = ctx.get<SpectrumImage>("spectra");
      si.source = std::make_shared<RecalibratedSpectra>(si.source, cal);
      si.metadata.emplace_back(
          "mass_calibration", fmt::format("sqrt(m_old) = {:.10g} sqrt(m) + {:.10g}", cal.a, cal.b));
      ctx.put("spectra", std::move(si));
    } else {
      Table t = ctx.get<Table>("spectrum");
      Column old = t.column("mz");
      for (auto& c : t.columns) {
        if (c.name != "mz") continue;
        for (std::size_t i = 0; i < c.numbers.size(); ++i) c.numbers[i] = cal.massAt(channel[i]);
      }
      old.name = "mz_before_calibration";
      t.columns.push_back(std::move(old));
      ctx.put("spectrum", std::move(t));
    }
    ctx.put("calibration", std::move(report));
  }
};

}  // namespace

std::unique_ptr<Stage> makeCalibrateStage() {
  return std::make_unique<CalibrateStage>();
}

}  // namespace ionmap::tofsims
