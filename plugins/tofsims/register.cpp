// Entry point of the ToF-SIMS plugin, called from the generated builtin plugin list.
#include "ionmap/pipeline/registry.hpp"
#include "tofsims/imzml.hpp"
#include "tofsims/readers.hpp"
#include "tofsims/stages.hpp"

namespace ionmap {

void ionmap_register_tofsims(Registry& registry) {
  const std::string plugin = "tofsims";
  registry.addReader(tofsims::makeImzmlReader(), plugin);
  registry.addReader(tofsims::makeIontofTextReader(), plugin);
  registry.addStage(tofsims::makeCalibrateStage, plugin);
  registry.addStage(tofsims::makeIntegrateStage, plugin);
  registry.addStage(tofsims::makeDeadTimeStage, plugin);
  registry.addStage(tofsims::makeFractionStage, plugin);
  registry.addStage(tofsims::makeProfileStage, plugin);
  registry.addStage(tofsims::makeBinCountsStage, plugin);
  registry.addStage(tofsims::makeSmoothCountsStage, plugin);
}

}  // namespace ionmap
