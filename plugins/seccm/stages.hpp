// The seccm plugin's stages.
#pragma once

#include <memory>

#include "ionmap/pipeline/stage.hpp"

namespace ionmap::seccm {

std::unique_ptr<Stage> makeLandingsStage();

}  // namespace ionmap::seccm
