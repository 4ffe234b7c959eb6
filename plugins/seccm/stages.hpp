// The seccm plugin's stages.
#pragma once

#include <memory>

#include "ionmap/pipeline/stage.hpp"

namespace ionmap::seccm {

std::unique_ptr<Stage> makeLandingsStage();
std::unique_ptr<Stage> makeAnalyseStage();
std::unique_ptr<Stage> makeClassesStage();
std::unique_ptr<Stage> makeBandsStage();
std::unique_ptr<Stage> makeWideStage();
std::unique_ptr<Stage> makeCalibrateStage();

}  // namespace ionmap::seccm
