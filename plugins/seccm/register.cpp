// The SECCM plugin: NI TDMS files (the container LabVIEW-based SECCM rigs write) and landings.
#include "ionmap/pipeline/registry.hpp"
#include "seccm/stages.hpp"
#include "seccm/tdms_reader.hpp"

namespace ionmap {
void ionmap_register_seccm(Registry& registry) {
  registry.addReader(seccm::makeTdmsReader(), "seccm");
  registry.addStage(seccm::makeLandingsStage, "seccm");
  registry.addStage(seccm::makeAnalyseStage, "seccm");
  registry.addStage(seccm::makeClassesStage, "seccm");
}
}  // namespace ionmap
