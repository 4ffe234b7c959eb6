// The diffusion plugin's stages, one file each: simulate-exchange, fit-diffusion, brick-labels.
#pragma once

#include <memory>

#include "ionmap/pipeline/stage.hpp"

namespace ionmap::diffusion {

std::unique_ptr<Stage> makeSimulateStage();
std::unique_ptr<Stage> makeFitStage();
std::unique_ptr<Stage> makeBrickStage();

}  // namespace ionmap::diffusion
