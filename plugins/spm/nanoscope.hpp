// Bruker/Veeco Nanoscope files (.spm, .000, .001 …, .di; header versions 5 to 10): a text header
// of "\Key: value" lines in sections ("\*Ciao image list" per image) up to "\*File list end",
// then the images as little-endian signed integers (2 or 4 bytes per pixel), rows bottom-up.
// Each image has its data offset, length, bytes per pixel, samples per line, lines and scan
// size; its values are raw × the hard scale of "\@2:Z scale" (unit per LSB) × the sensitivity
// of the "\@Sens. <name>" entry the Z scale names, in base SI units. A header whose images lie
// past the end of the file is refused as "data missing".
#pragma once

#include <memory>

#include "ionmap/io/reader.hpp"

namespace ionmap::spm {

std::unique_ptr<Reader> makeNanoscopeReader();

}  // namespace ionmap::spm
