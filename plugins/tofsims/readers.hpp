// ToF-SIMS readers: imzML (see imzml.hpp) and IONTOF SurfaceLab text exports.
#pragma once

#include <memory>

#include "ionmap/io/reader.hpp"

namespace ionmap::tofsims {

std::unique_ptr<Reader> makeIontofTextReader();

}  // namespace ionmap::tofsims
