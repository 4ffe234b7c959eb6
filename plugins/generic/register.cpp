// Entry point of the generic plugin, called from the generated builtin plugin list.
#include "generic/readers.hpp"
#include "generic/simulate_basic.hpp"
#include "generic/stages.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap {

void ionmap_register_generic(Registry& registry) {
  const std::string plugin = "generic";
  registry.addReader(generic::makeTiffReader(), plugin);
  registry.addReader(generic::makeImageReader(), plugin);
  registry.addReader(generic::makeMatrixTextReader(), plugin);
  registry.addReader(generic::makeCsvTableReader(), plugin);
  registry.addReader(generic::makeTransformYamlReader(), plugin);
  registry.addStage(generic::makeReadStage, plugin);
  registry.addStage(generic::makeLevelStage, plugin);
  registry.addStage(generic::makeResampleStage, plugin);
  registry.addStage(generic::makeStatsStage, plugin);
  registry.addStage(generic::makeQuicklookStage, plugin);
  registry.addSample("basic", "laser image + grains + KPFM map, registered with a known transform",
                     sampleWriter<generic::BasicSampleSpec>([](const auto& dir, const auto& spec) {
                       generic::writeBasicSample(dir, spec);
                     }),
                     plugin);
}

}  // namespace ionmap
