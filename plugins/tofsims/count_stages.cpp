// Stages over count maps: sims-deadtime, sims-fraction, sims-profile, bin-counts,
// smooth-counts.
#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"
#include "tofsims/counts.hpp"
#include "tofsims/spectra.hpp"
#include "tofsims/stages.hpp"

namespace ionmap::tofsims {
namespace {

// --- sims-deadtime --------------------------------------------------------------------------
enum class DeadTimeCorrection { kPoisson, kNone };

struct DeadTimeParams {
  DeadTimeCorrection correction = DeadTimeCorrection::kPoisson;
  int shots_per_pixel = 0;
  int scans = 1;
};

class DeadTimeStage final : public StageOf<DeadTimeParams, DeadTimeStage> {
 public:
  static const ParamSchema<DeadTimeParams>& schema() {
    static const auto s =
        ParamSchema<DeadTimeParams>()
            .choice(
                "correction", &DeadTimeParams::correction,
                {{"poisson", DeadTimeCorrection::kPoisson}, {"none", DeadTimeCorrection::kNone}},
                "poisson: correct TDC counts (needed when a peak gets more than ~0.01 ions "
                "per shot); none: the counts pass unchanged with Poisson variance (counts "
                "already corrected by the instrument software, or far below one per shot)")
            .integer("shots_per_pixel", &DeadTimeParams::shots_per_pixel, Range::atLeast(0), "",
                     "primary-ion shots per pixel per scan; 0 = from the file (refused when the "
                     "file lacks it)")
            .integer("scans", &DeadTimeParams::scans, Range::atLeast(1), "",
                     "number of scans (frames) summed");
    return s;
  }
  std::string name() const override { return "sims-deadtime"; }
  std::string summary() const override {
    return "Poisson dead-time correction of integrated TDC counts: N_corr = -n_s ln(1 - N/n_s)";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "recorded counts"),
            PortSpec::out("map", ItemKind::kMap, "corrected counts"),
            PortSpec::optionalOut("variance", ItemKind::kMap,
                                  "variance of the corrected counts (for sims-fraction)")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.writes("map");
    if (params().correction == DeadTimeCorrection::kNone && params().shots_per_pixel > 0)
      pf.fail("shots_per_pixel is given but correction is none: say which one you mean");
  }
  void run(RunContext& ctx) const override {
    const Map& in = ctx.get<Map>("map");
    if (params().correction == DeadTimeCorrection::kNone) {
      ctx.note("correction", "none (switched off): counts unchanged, variance = counts");
      if (ctx.outputBound("variance")) ctx.put("variance", poissonVariance(in));
      ctx.put("map", in);
      return;
    }
    const double shots = shotsOf(in);
    DeadTimeResult r = correctDeadTime(in, shots);
    ctx.note("shots", fmt::format("{:g}", shots));
    ctx.note("total_correction", fmt::format("{:+.3f} %", totalCorrectionPercent(in, r.corrected)));
    if (r.saturated) {
      ctx.warn(fmt::format(
          "{} pixels recorded as many counts as shots (or negative counts): saturated, masked",
          r.saturated));
    }
    r.corrected.name = in.name;
    ctx.put("map", std::move(r.corrected));
    if (ctx.outputBound("variance")) ctx.put("variance", std::move(r.variance));
  }

 private:
  // n_s: shots per pixel × scans, from the parameters or the map's metadata; never guessed.
  double shotsOf(const Map& in) const {
    double shots = static_cast<double>(params().shots_per_pixel) * params().scans;
    if (shots == 0) {
      for (const auto& [k, v] : in.metadata) {
        if (k == "shots_per_pixel") shots = std::atof(v.c_str()) * params().scans;
      }
    }
    if (!(shots > 0)) {
      throw UsageError(fmt::format(
          "map '{}' does not say how many primary shots each pixel received, and the stage "
          "does not give `shots_per_pixel`; refusing to guess (n_s = shots per pixel x "
          "scans decides the size of the correction)",
          in.name));
    }
    return shots;
  }
};

// --- sims-fraction --------------------------------------------------------------------------
// The fraction's own options bound in place (K comes from the reference region, not a key).
struct FractionParams {
  FractionOptions fraction;
  double natural_ratio = kNaturalRatio;
  double f_bg = kNaturalFraction;
  double f_s = -1;  // −1 = not given
};

class FractionStage final : public StageOf<FractionParams, FractionStage> {
 public:
  static const ParamSchema<FractionParams>& schema() {
    static const auto s =
        ParamSchema<FractionParams>()
            .real("min_counts", field(&FractionParams::fraction, &FractionOptions::min_counts),
                  Range::atLeast(0), "counts",
                  "pixels with fewer light + heavy counts are masked (and counted in a warning)")
            .real("natural_ratio", &FractionParams::natural_ratio, Range::above(0), "",
                  "6Li/7Li of the natural-abundance reference (for the fractionation factor K)")
            .real("f_bg", &FractionParams::f_bg, Range::between(0, 1), "",
                  "background fraction for f' (natural: 0.0759)")
            .real("f_s", &FractionParams::f_s, Range::between(-1, 1), "",
                  "6Li fraction of the exchange source, for f' = (f - f_bg)/(f_s - f_bg); -1 = not "
                  "given (the normalised outputs require it)");
    return s;
  }
  std::string name() const override { return "sims-fraction"; }
  std::string summary() const override {
    return "6Li fraction f = I6/(I6+I7) with sigma_f, optional mass-fractionation correction and "
           "f'";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("light", ItemKind::kMap, "light-isotope counts"),
            PortSpec::in("heavy", ItemKind::kMap, "heavy-isotope counts"),
            PortSpec::optionalIn("light_variance", ItemKind::kMap,
                                 "variance of the light counts (default: Poisson)"),
            PortSpec::optionalIn("heavy_variance", ItemKind::kMap,
                                 "variance of the heavy counts (default: Poisson)"),
            PortSpec::optionalIn(
                "reference", ItemKind::kLabelMap,
                "natural-abundance reference region (labels > 0): corrects instrumental mass "
                "fractionation"),
            PortSpec::out("fraction", ItemKind::kMap, "f"),
            PortSpec::out("sigma", ItemKind::kMap, "sigma_f from counting statistics"),
            PortSpec::optionalOut("normalised", ItemKind::kMap, "f' = (f - f_bg)/(f_s - f_bg)"),
            PortSpec::optionalOut("normalised_sigma", ItemKind::kMap, "sigma of f'")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("light");
    pf.reads("heavy");
    pf.readsIfBound("light_variance");
    pf.readsIfBound("heavy_variance");
    pf.readsIfBound("reference");
    pf.writes("fraction");
    pf.writes("sigma");
    const bool norm = pf.outputBound("normalised") || pf.outputBound("normalised_sigma");
    if (norm && params().f_s < 0) {
      pf.fail("the normalised output needs `f_s`, the 6Li fraction of the exchange source");
    }
    std::string why;
    if (!params().fraction.IsValid(&why)) pf.fail(why);
    if (norm && !canNormalise(params().f_bg, params().f_s, &why)) pf.fail(why);
  }
  void run(RunContext& ctx) const override {
    const auto& p = params();
    const Map& light = ctx.get<Map>("light");
    const Map& heavy = ctx.get<Map>("heavy");
    FractionOptions o = p.fraction;
    if (ctx.bound("reference")) o.fractionation = fractionationOver(ctx, light, heavy);
    FractionResult r = isotopeFraction(
        light, heavy, ctx.bound("light_variance") ? &ctx.get<Map>("light_variance") : nullptr,
        ctx.bound("heavy_variance") ? &ctx.get<Map>("heavy_variance") : nullptr, o);
    if (r.low_count_pixels) {
      ctx.warn(
          fmt::format("{} pixels have fewer than {} counts (or negative net counts) and are "
                      "masked; bin or smooth "
                      "the counts to keep them",
                      r.low_count_pixels, o.min_counts));
    }
    std::size_t valid = r.fraction.countValid();
    if (valid == 0) throw ProcessingError("no pixel has enough counts for a fraction");
    ctx.note("valid_pixels", std::to_string(valid));
    if (ctx.outputBound("normalised") || ctx.outputBound("normalised_sigma")) putNormalised(ctx, r);
    ctx.put("fraction", std::move(r.fraction));
    ctx.put("sigma", std::move(r.sigma));
  }

 private:
  // The mass-fractionation factor K over the reference labels (> 0) of natural abundance.
  double fractionationOver(RunContext& ctx, const Map& light, const Map& heavy) const {
    const LabelMap& ref = ctx.get<LabelMap>("reference");
    if (!ref.labels.sameSize(light.values)) {
      throw ProcessingError(
          "the reference labels are on another grid size; resample them onto the counts' grid");
    }
    Image<std::uint8_t> region(ref.width(), ref.height(), 0);
    for (std::size_t i = 0; i < region.size(); ++i) region[i] = ref.labels[i] > 0;
    const double k = massFractionation(light, heavy, region, params().natural_ratio);
    ctx.note("mass_fractionation_K", fmt::format("{:.6f}", k));
    return k;
  }

  // The fraction normalised between f_bg and f_s, with its sigma, where asked for.
  void putNormalised(RunContext& ctx, const FractionResult& r) const {
    Map fn = r.fraction, sn = r.sigma;
    normaliseFraction(fn, sn, params().f_bg, params().f_s);
    sn.name = "normalised 6Li fraction sigma";
    if (ctx.outputBound("normalised")) ctx.put("normalised", std::move(fn));
    if (ctx.outputBound("normalised_sigma")) ctx.put("normalised_sigma", std::move(sn));
  }
};

// --- sims-profile ---------------------------------------------------------------------------
// The profile's own options bound in place.
struct ProfileParams {
  ProfileOptions profile;
  std::string plot_file;
};

class ProfileStage final : public StageOf<ProfileParams, ProfileStage> {
 public:
  static const ParamSchema<ProfileParams>& schema() {
    static const auto s =
        ParamSchema<ProfileParams>()
            .real("angle_deg", field(&ProfileParams::profile, &ProfileOptions::angle_deg),
                  Range::between(-360, 360), "deg",
                  "direction of increasing distance (0 = +x, 90 = +y, image frame)")
            .real("bin_width", field(&ProfileParams::profile, &ProfileOptions::bin_um),
                  Range::above(0), "um", "width of the distance bins")
            .reals("roi", field(&ProfileParams::profile, &ProfileOptions::roi), 0, Range::any(),
                   "um", "[x0, y0, x1, y1]; empty = the whole map")
            .text("plot_file", &ProfileParams::plot_file,
                  "PNG of the profile with error bars; empty = <id>.png");
    return s;
  }
  std::string name() const override { return "sims-profile"; }
  std::string summary() const override {
    return "6Li fraction profile along a direction: counts summed per distance bin, with sigma_f";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("light", ItemKind::kMap, "light-isotope counts"),
            PortSpec::in("heavy", ItemKind::kMap, "heavy-isotope counts"),
            PortSpec::out("profile", ItemKind::kTable, "distance, f, sigma_f, counts, pixels")};
  }
  void preflight(Preflight& pf) const override {
    if (std::string why; !params().profile.IsValid(&why)) pf.fail(why);
    if (!params().plot_file.empty() && !isPlainPngFileName(params().plot_file)) {
      pf.fail("`plot_file` must be a plain file name ending in .png");
    }
    pf.reads("light");
    pf.reads("heavy");
    pf.writes("profile");
  }
  void run(RunContext& ctx) const override {
    const ProfileOptions& o = params().profile;
    Table t = fractionProfile(ctx.get<Map>("light"), ctx.get<Map>("heavy"), o);
    ctx.note("bins", std::to_string(t.rows()));
    LinePlot plot;
    plot.x = t.column("distance").numbers;
    plot.y = t.column("f").numbers;
    plot.y_error = t.column("sigma_f").numbers;
    plot.markers = true;
    plot.title = fmt::format("6Li fraction along {} deg ({} \xC2\xB5m bins, counts summed)",
                             o.angle_deg, o.bin_um);
    plot.x_label = "distance (\xC2\xB5m)";
    plot.y_label = "6Li fraction f";
    const std::string file =
        params().plot_file.empty() ? ctx.outItem("profile") + "-plot.png" : params().plot_file;
    writeLinePlot(plot, ctx.fileDir() / file);
    ctx.put("profile", std::move(t));
  }
};

// --- bin-counts / smooth-counts -------------------------------------------------------------
struct BinParams {
  int factor = 2;
};

class BinCountsStage final : public StageOf<BinParams, BinCountsStage> {
 public:
  static const ParamSchema<BinParams>& schema() {
    static const auto s =
        ParamSchema<BinParams>().integer("factor", &BinParams::factor, Range::between(1, 64), "",
                                         "sum factor x factor blocks of pixels");
    return s;
  }
  std::string name() const override { return "bin-counts"; }
  std::string summary() const override {
    return "b x b binning of a count map (sums counts; pixel size x b)";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "counts"),
            PortSpec::out("map", ItemKind::kMap, "binned counts")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    ctx.put("map", binCounts(ctx.get<Map>("map"), params().factor));
  }
};

struct SmoothParams {
  double sigma = 1.0;
};

class SmoothCountsStage final : public StageOf<SmoothParams, SmoothCountsStage> {
 public:
  static const ParamSchema<SmoothParams>& schema() {
    static const auto s = ParamSchema<SmoothParams>().real("sigma", &SmoothParams::sigma,
                                                           Range::above(0), "um", "Gaussian sigma");
    return s;
  }
  std::string name() const override { return "smooth-counts"; }
  std::string summary() const override {
    return "Gaussian smoothing of a count map into effective counts that keep Poisson statistics";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "counts"),
            PortSpec::out("map", ItemKind::kMap, "effective counts")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    ctx.put("map", smoothCounts(ctx.get<Map>("map"), params().sigma));
  }
};

}  // namespace

std::unique_ptr<Stage> makeDeadTimeStage() {
  return std::make_unique<DeadTimeStage>();
}
std::unique_ptr<Stage> makeFractionStage() {
  return std::make_unique<FractionStage>();
}
std::unique_ptr<Stage> makeProfileStage() {
  return std::make_unique<ProfileStage>();
}
std::unique_ptr<Stage> makeBinCountsStage() {
  return std::make_unique<BinCountsStage>();
}
std::unique_ptr<Stage> makeSmoothCountsStage() {
  return std::make_unique<SmoothCountsStage>();
}

}  // namespace ionmap::tofsims
