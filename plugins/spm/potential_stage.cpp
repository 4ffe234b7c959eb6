// kpfm-potential: a recorded CPD map as a surface potential, with its sign convention stated and
// its zero at a reference region (potential.hpp).
#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "spm/interface_profile.hpp"
#include "spm/potential.hpp"
#include "spm/stages.hpp"

namespace ionmap::spm {
namespace {

enum class Sign { kAsRecorded, kInverted };

struct PotentialParams {
  Sign sign = Sign::kAsRecorded;
};

class PotentialStage final : public StageOf<PotentialParams, PotentialStage> {
 public:
  static const ParamSchema<PotentialParams>& schema() {
    static const auto s = ParamSchema<PotentialParams>().choice(
        "sign", &PotentialParams::sign,
        {{"as-recorded", Sign::kAsRecorded}, {"inverted", Sign::kInverted}},
        "as-recorded: the map already reads higher where the sample's surface potential is "
        "higher (the compensating bias on the sample); inverted: the instrument records the "
        "compensating bias applied to the tip, which is the negative of it, so the map is "
        "multiplied by -1");
    return s;
  }
  std::string name() const override { return "kpfm-potential"; }
  std::string summary() const override {
    return "CPD map to surface potential: sign convention, zero at a reference region";
  }
  std::vector<PortSpec> ports() const override {
    return {PortSpec::in("map", ItemKind::kMap, "recorded contact potential difference"),
            PortSpec::optionalIn("reference", ItemKind::kLabelMap,
                                 "reference region (> 0) on the map's grid whose mean becomes 0 "
                                 "(e.g. the current collector)"),
            PortSpec::out("map", ItemKind::kMap, "surface potential")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("map");
    pf.readsIfBound("reference");
    pf.writes("map");
  }
  void run(RunContext& ctx) const override {
    const Map& in = ctx.get<Map>("map");
    requirePotential(in);
    Image<std::uint8_t> region;
    if (ctx.bound("reference")) {
      const LabelMap& ref = ctx.get<LabelMap>("reference");
      region = Image<std::uint8_t>(ref.width(), ref.height(), 0);
      for (std::size_t i = 0; i < region.size(); ++i) region[i] = ref.labels[i] > 0;
    }
    const bool invert = params().sign == Sign::kInverted;
    ReferencedPotential r = referencePotential(in, invert, region.empty() ? nullptr : &region);
    ctx.note("sign", invert ? "inverted (potential = -recorded)" : "as recorded");
    if (r.reference_pixels) {
      ctx.note("reference", fmt::format("{:.6g} +- {:.2g} {} over {} pixels, set to 0", r.reference,
                                        r.reference_error, in.unit, r.reference_pixels));
    }
    r.map.metadata.emplace_back("sign", invert ? "inverted" : "as recorded");
    ctx.put("map", std::move(r.map));
  }
};

}  // namespace

std::unique_ptr<Stage> makePotentialStage() {
  return std::make_unique<PotentialStage>();
}

}  // namespace ionmap::spm
