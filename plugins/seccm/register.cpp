// The SECCM plugin: NI TDMS files (the container LabVIEW-based SECCM rigs write).
#include "ionmap/pipeline/registry.hpp"
#include "seccm/tdms_reader.hpp"

namespace ionmap {
void ionmap_register_seccm(Registry& registry) {
  registry.addReader(seccm::makeTdmsReader(), "seccm");
}
}  // namespace ionmap
