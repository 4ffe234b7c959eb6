// The diffusion plugin's registration: its stages and the gb-exchange sample.
#include "diffusion/campaign_sample.hpp"
#include "diffusion/sample.hpp"
#include "diffusion/stages.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap {
void ionmap_register_diffusion(Registry& registry) {
  registry.addStage(diffusion::makeSimulateStage, "diffusion");
  registry.addStage(diffusion::makeFitStage, "diffusion");
  registry.addStage(diffusion::makeBrickStage, "diffusion");
  registry.addSample(
      "gb-exchange",
      "ToF-SIMS of exchange through grains with boundary resistance, plus the laser image",
      sampleWriter<diffusion::GbExchangeSampleSpec>(
          [](const auto& dir, const auto& spec) { diffusion::writeGbExchangeSample(dir, spec); }),
      "diffusion");
  registry.addSample(
      "campaign",
      "a ToF-SIMS exchange campaign: 12 datasets (3 temperatures x 4 regions) with "
      "Arrhenius-consistent D and kappa, its manifest and truth",
      sampleWriter<diffusion::CampaignSampleSpec>(
          [](const auto& dir, const auto& spec) { diffusion::writeCampaignSample(dir, spec); }),
      "diffusion");
}
}  // namespace ionmap
