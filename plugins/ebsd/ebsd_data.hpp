// EBSD readers: EDAX/TSL .ang and Oxford .ctf files as orientation maps on a square grid.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ebsd/orientation.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/core/orientation_map.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::ebsd {

// The readers' result is the core OrientationMap item (src/ionmap/core/orientation_map.hpp).
using PhaseInfo = CrystalPhase;
using EbsdData = OrientationMap;

// Throw InputError naming the file and line for malformed files, grids that disagree with
// the header's counts, and (.ctf) interactive, non-grid acquisitions.
EbsdData readAng(const std::filesystem::path& file);
EbsdData readCtf(const std::filesystem::path& file);
// By extension (.ang / .ctf).
EbsdData readEbsd(const std::filesystem::path& file);

std::unique_ptr<Reader> makeAngReader();
std::unique_ptr<Reader> makeCtfReader();

}  // namespace ionmap::ebsd
