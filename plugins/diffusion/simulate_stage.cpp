// simulate-exchange: a synthetic 6Li-fraction map from the microstructure model, with counting
// noise. The model's Physics and Domain settings are bound in place; rates are written in cm²/s
// and cm/s and arrive in the model's µm²/s and µm/s.
#include <cmath>

#include "diffusion/fit.hpp"
#include "diffusion/observation.hpp"
#include "diffusion/report.hpp"
#include "diffusion/stage_domain.hpp"
#include "diffusion/stages.hpp"

namespace ionmap::diffusion {
namespace {

struct SimulateParams {
  ModelChoice model = ModelChoice::kMicrostructure;
  SourceEdge source_edge = SourceEdge::kLeft;
  Physics physics = {1e-8 * kUm2PerCm2, 1e-6 * kUmPerCm, 0, 0.95, 0.0759};
  Domain domain = [] {  // time, steps, reservoir, wedge contacts
    Domain d;
    d.time = 60;
    d.steps = 50;
    return d;
  }();
  bool staircase_correction = true;
  double counts_per_pixel = 0;  // total 6Li + 7Li counts per pixel; 0 = no noise
  int seed = 1;
};

class SimulateStage final : public StageOf<SimulateParams, SimulateStage> {
 public:
  static const ParamSchema<SimulateParams>& schema() {
    using S = SimulateParams;
    static const auto s =
        ParamSchema<S>()
            .choice("model", &S::model,
                    {{"microstructure", ModelChoice::kMicrostructure},
                     {"network", ModelChoice::kNetwork}},
                    "finite volumes on the label grid, or the grain network (valid for Bi << 1)")
            .choice("source_edge", &S::source_edge, kEdges, kEdgeHelp)
            .real("time", field(&S::domain, &Domain::time), Range::above(0), "s", "exchange time")
            .integer("steps", field(&S::domain, &Domain::steps), Range::between(2, 100000), "",
                     "BDF2 time steps")
            .real("D_bulk", field(&S::physics, &Physics::D_b), Range::above(0), "cm^2/s",
                  "bulk (grain interior) diffusivity")
            .convertedBy(kUm2PerCm2)
            .real("kappa", field(&S::physics, &Physics::kappa), Range::atLeast(0), "cm/s",
                  "grain-boundary permeance D_gb/delta; 0 = boundaries do not resist")
            .convertedBy(kUmPerCm)
            .real("surface_exchange", field(&S::physics, &Physics::k_surface), Range::atLeast(0),
                  "cm/s", "surface exchange coefficient k; 0 = fixed surface fraction")
            .convertedBy(kUmPerCm)
            .real("reservoir", field(&S::domain, &Domain::reservoir_um), Range::atLeast(0), "um",
                  kReservoirHelp)
            .flag("staircase_correction", &S::staircase_correction, kStaircaseHelp)
            .flag("source_wedges", field(&S::domain, &Domain::wedge_contacts), kWedgeHelp)
            .real("f_source", field(&S::physics, &Physics::f_s), Range::between(0, 1), "",
                  "6Li fraction of the source")
            .real("f_background", field(&S::physics, &Physics::f_bg), Range::between(0, 1), "",
                  "initial 6Li fraction (natural abundance 0.0759)")
            .real("counts_per_pixel", &S::counts_per_pixel, Range::atLeast(0), "",
                  "total Li counts per pixel for binomial counting noise; 0 = noise-free")
            .integer("seed", &S::seed, Range::atLeast(0), "", "random seed of the noise");
    return s;
  }
  std::string name() const override { return "simulate-exchange"; }
  std::string summary() const override {
    return "synthetic 6Li-fraction map after isotope exchange through a microstructure, with "
           "counting noise";
  }
  std::vector<PortSpec> ports() const override {
    return {
        PortSpec::in("labels", ItemKind::kLabelMap, "grain labels with a pixel size")
            .needingPixelSize(),
        PortSpec::optionalIn("source", ItemKind::kLabelMap,
                             "source region (> 0) on the labels' grid, for source_edge: region"),
        PortSpec::out("fraction", ItemKind::kMap, "6Li fraction f"),
        PortSpec::optionalOut("sigma", ItemKind::kMap, "sigma_f of the counting noise")};
  }
  void preflight(Preflight& pf) const override {
    pf.reads("labels");
    preflightSource(pf, params().source_edge);
    pf.writes("fraction");
  }
  void run(RunContext& ctx) const override {
    const SimulateParams& p = params();
    LabelMap l = ctx.get<LabelMap>("labels");
    const std::size_t absorbed = absorbUnlabelled(l.labels);
    if (absorbed) ctx.note("unlabelled_pixels_absorbed", std::to_string(absorbed));
    const Domain d = domainFor(ctx, l, p.domain, p.source_edge, p.staircase_correction);
    const ModelKind kind =
        p.model == ModelChoice::kNetwork ? ModelKind::kNetwork : ModelKind::kGrid;
    const auto n = static_cast<long long>(std::llround(p.counts_per_pixel));
    CountedFraction c =
        drawCounts(forward(d, p.physics, kind), n, static_cast<std::uint64_t>(p.seed));
    Map out("6Li fraction (simulated)", l.grid, "1");
    out.values = std::move(c.fraction);
    out.metadata.emplace_back("model", nameOf(p.model));
    if (ctx.outputBound("sigma")) {
      if (n == 0) ctx.warn("counts_per_pixel is 0: sigma is 0 everywhere (noise-free map)");
      Map sigma("sigma of 6Li fraction", l.grid, "1");
      sigma.values = std::move(c.sigma);
      ctx.put("sigma", std::move(sigma));
    }
    ctx.put("fraction", std::move(out));
  }
};

}  // namespace

std::unique_ptr<Stage> makeSimulateStage() {
  return std::make_unique<SimulateStage>();
}

}  // namespace ionmap::diffusion
