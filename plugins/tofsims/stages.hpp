// ToF-SIMS stages: sims-calibrate, sims-integrate, sims-deadtime, sims-fraction,
// sims-profile, bin-counts, smooth-counts.
#pragma once

#include <memory>

#include "ionmap/pipeline/stage.hpp"

namespace ionmap::tofsims {

std::unique_ptr<Stage> makeCalibrateStage();
std::unique_ptr<Stage> makeIntegrateStage();
std::unique_ptr<Stage> makeDeadTimeStage();
std::unique_ptr<Stage> makeFractionStage();
std::unique_ptr<Stage> makeProfileStage();
std::unique_ptr<Stage> makeBinCountsStage();
std::unique_ptr<Stage> makeSmoothCountsStage();

}  // namespace ionmap::tofsims
