// EBSD orientation maps as read from EDAX/TSL .ang and Oxford .ctf files, on a square grid.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ebsd/orientation.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::ebsd {

struct PhaseInfo {
  int id = 0;
  std::string name;
  Laue laue = Laue::kTriclinic;
};

struct EbsdData {
  Grid grid;
  Image<double> phi1, Phi, phi2;  // Bunge Euler angles, radians
  Image<std::int32_t> phase;      // phase id (≥ 1), 0 = not indexed
  Image<double> quality;          // CI (.ang) or band contrast (.ctf)
  std::string quality_name;
  std::vector<PhaseInfo> phases;
  std::string grid_type;  // "SqrGrid", "HexGrid (resampled to square)", "Grid"
  std::size_t unindexed = 0;
  Metadata metadata;
  const PhaseInfo* phaseInfo(int id) const;
};

// Throw InputError naming the file and line for malformed files, grids that disagree with
// the header's counts, and (.ctf) interactive, non-grid acquisitions.
EbsdData readAng(const std::filesystem::path& file);
EbsdData readCtf(const std::filesystem::path& file);
// By extension (.ang / .ctf).
EbsdData readEbsd(const std::filesystem::path& file);

std::unique_ptr<Reader> makeAngReader();
std::unique_ptr<Reader> makeCtfReader();

}  // namespace ionmap::ebsd
