// Nanonis .sxm scans: a text header of ":KEY:" lines, each followed by its value lines
// (SCAN_PIXELS, SCAN_RANGE and SCAN_OFFSET in m, SCAN_DIR up/down, SCANIT_TYPE, and the
// DATA_INFO table of channel, name, unit, direction, calibration, offset), ending
// ":SCANIT_END:", then 0x1A 0x04 and the images as float32 — per channel the forward scan, then
// the backward one (stored mirrored) when the direction is "both".
#pragma once

#include <memory>

#include "ionmap/io/reader.hpp"

namespace ionmap::spm {

std::unique_ptr<Reader> makeSxmReader();

}  // namespace ionmap::spm
