// Entry point of the generic plugin, called from the generated builtin plugin list.
#include "generic/readers.hpp"
#include "generic/stages.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap {

void ionmap_register_generic(Registry& registry) {
  const std::string plugin = "generic";
  registry.addReader(generic::makeTiffReader(), plugin);
  registry.addReader(generic::makeImageReader(), plugin);
  registry.addReader(generic::makeMatrixTextReader(), plugin);
  registry.addReader(generic::makeTransformYamlReader(), plugin);
  registry.addStage(generic::makeReadStage, plugin);
  registry.addStage(generic::makeLevelStage, plugin);
  registry.addStage(generic::makeResampleStage, plugin);
  registry.addStage(generic::makeStatsStage, plugin);
  registry.addStage(generic::makeQuicklookStage, plugin);
}

}  // namespace ionmap
