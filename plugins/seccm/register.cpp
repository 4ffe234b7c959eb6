// The SECCM plugin: NI TDMS files (the container LabVIEW-based SECCM rigs write) and landings.
#include "ionmap/pipeline/registry.hpp"
#include "seccm/seccm_sample.hpp"
#include "seccm/stages.hpp"
#include "seccm/tdms_reader.hpp"

namespace ionmap {
void ionmap_register_seccm(Registry& registry) {
  registry.addReader(seccm::makeTdmsReader(), "seccm");
  registry.addStage(seccm::makeLandingsStage, "seccm");
  registry.addStage(seccm::makeAnalyseStage, "seccm");
  registry.addStage(seccm::makeClassesStage, "seccm");
  registry.addStage(seccm::makeBandsStage, "seccm");
  registry.addStage(seccm::makeWideStage, "seccm");
  registry.addStage(seccm::makeCalibrateStage, "seccm");
  registry.addSample("seccm",
                     "hopping-mode SECCM map (TDMS) of a film with [100]/[001] stripe domains, a "
                     "grain boundary, radius scatter, pipette resistance, spikes, noise and "
                     "failed landings; the domains on a TEM-like reference, the transform, truth",
                     sampleWriter<seccm::SeccmSampleSpec>([](const auto& dir, const auto& spec) {
                       seccm::writeSeccmSample(dir, spec);
                     }),
                     "seccm");
  registry.addSample(
      "seccm-campaign",
      "an SECCM campaign: 6 maps of one film at 3 temperatures with Arrhenius-consistent "
      "conductivities of both orientation classes, its manifest and truth",
      sampleWriter<seccm::SeccmCampaignSpec>(
          [](const auto& dir, const auto& spec) { seccm::writeSeccmCampaign(dir, spec); }),
      "seccm");
}
}  // namespace ionmap
