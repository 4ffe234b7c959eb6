// Factories for the generic stages: read, level, resample, stats, write-quicklook.
#pragma once

#include <memory>

#include "ionmap/pipeline/stage.hpp"

namespace ionmap::generic {

std::unique_ptr<Stage> makeReadStage();
std::unique_ptr<Stage> makeLevelStage();
std::unique_ptr<Stage> makeResampleStage();
std::unique_ptr<Stage> makeStatsStage();
std::unique_ptr<Stage> makeQuicklookStage();

}  // namespace ionmap::generic
