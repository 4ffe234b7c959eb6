// sims-calibrate: mass calibration t = a·sqrt(m) + b from named reference peaks.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "tofsims/calibration.hpp"
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
    return {
        PortSpec::optionalIn("spectra", ItemKind::kSpectrumImage, "spectrum image to recalibrate"),
        PortSpec::optionalIn("spectrum", ItemKind::kTable,
                             "a spectrum table (channel, mz, intensity) to recalibrate"),
        PortSpec::optionalOut("spectra", ItemKind::kSpectrumImage, "recalibrated spectrum image"),
        PortSpec::optionalOut("spectrum", ItemKind::kTable, "recalibrated spectrum table"),
        PortSpec::out("calibration", ItemKind::kTable,
                      "reference peaks: found position, residual (ppm)")};
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
    const bool image = ctx.bound("spectra");
    const ReferencePeaks found =
        image ? findReferencePeaks(sumAroundReferences(ctx.get<SpectrumImage>("spectra")),
                                   p.references, p.search)
              : findReferencePeaks(ctx.get<Table>("spectrum"), p.references, p.search);
    if (!found.missing.empty()) reportMissing(ctx, found, image);
    const TofCalibration cal = fitTofCalibration(found.x, found.mass);
    ctx.note("a", fmt::format("{:.10g}", cal.a));
    ctx.note("b", fmt::format("{:.10g}", cal.b));
    ctx.note("rms_residual_ppm", fmt::format("{:.3g}", cal.rms_ppm));
    if (found.mass.size() == 2)
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
      ctx.put("spectrum", recalibrated(ctx.get<Table>("spectrum"), cal));
    }
    ctx.put("calibration", calibrationReport(found, cal, image));
  }

 private:
  // The sum spectrum over the references' range (with `search` and a margin on each side).
  BinnedSpectrum sumAroundReferences(const SpectrumImage& spectra) const {
    const auto& p = params();
    const auto [lo, hi] = std::minmax_element(p.references.begin(), p.references.end());
    return sumSpectrum(spectra, std::max(*lo - p.search - 0.01, 1e-6), *hi + p.search + 0.01,
                       p.bin);
  }

  // Missing references: an error when fewer than two remain, a warning otherwise, each saying
  // what the spectra cover (from the first spectrum: cheap), to tell "outside the recorded
  // range" from "absent".
  void reportMissing(RunContext& ctx, const ReferencePeaks& found, bool image) const {
    const auto& p = params();
    std::string range;
    if (image) {
      const SpectrumImage& si = ctx.get<SpectrumImage>("spectra");
      Spectrum first;
      if (si.source && si.source->count()) si.source->read(0, first);
      if (!first.mz.empty())
        range = fmt::format(" (the first spectrum covers {:.4g}-{:.4g} u)", first.mz.front(),
                            first.mz.back());
    } else {
      const std::vector<double>& mz = ctx.get<Table>("spectrum").column("mz").numbers;
      if (!mz.empty())
        range = fmt::format(" (the spectrum covers {:.4g}-{:.4g} u)", mz.front(), mz.back());
    }
    const std::string list = missingList(found);
    if (found.mass.size() < 2) {
      throw ProcessingError(fmt::format(
          "no peak within ±{} u of the reference mass(es) {}{}: {} reference peak(s) found, a "
          "calibration needs two (e.g. 6.014574 6Li+ and 7.015455 7Li+); is the mass scale off "
          "by more than `search`?",
          p.search, list, range, found.mass.size()));
    }
    ctx.warn(fmt::format(
        "no peak within ±{} u of the reference mass(es) {}{}: outside the recorded range or "
        "absent, left out of the calibration ({} references used)",
        p.search, list, range, found.mass.size()));
    ctx.note("references_missing", list);
  }
};

}  // namespace

std::unique_ptr<Stage> makeCalibrateStage() {
  return std::make_unique<CalibrateStage>();
}

}  // namespace ionmap::tofsims
