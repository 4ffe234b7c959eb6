// Entry point of the ToF-SIMS plugin, called from the generated builtin plugin list.
#include "ionmap/pipeline/registry.hpp"
#include "tofsims/imzml.hpp"
#include "tofsims/readers.hpp"
#include "tofsims/simulate_exchange.hpp"
#include "tofsims/stages.hpp"

namespace ionmap {

void ionmap_register_tofsims(Registry& registry) {
  const std::string plugin = "tofsims";
  registry.addSample(
      "isotope-exchange", "ToF-SIMS (imzML + TIFF) of a 6Li exchange with its true fraction",
      sampleWriter<tofsims::ExchangeSampleSpec>(
          [](const auto& dir, const auto& spec) { tofsims::writeExchangeSample(dir, spec); }),
      plugin);
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
