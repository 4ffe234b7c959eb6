// The spm plugin's stages.
#pragma once

#include <memory>

#include "ionmap/pipeline/stage.hpp"

namespace ionmap::spm {

std::unique_ptr<Stage> makeProfileStage();
std::unique_ptr<Stage> makePotentialStage();
std::unique_ptr<Stage> makeOperandoStage();

}  // namespace ionmap::spm
