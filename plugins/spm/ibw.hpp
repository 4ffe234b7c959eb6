// Igor binary waves (.ibw), versions 2, 3 and 5, either byte order (told by the version field):
// a binary header with the section sizes and a checksum, the wave header (type, dimensions,
// scaling sfA/sfB, units), the data in column-major order, then the formula, the wave note,
// extended units and dimension labels. Asylum Research AFM files are version-5 3-D stacks whose
// layers are channels named by the dimension labels, with per-channel units from the channel
// name or the note's "<channel>Unit" entries. 2-D and 3-D waves load as maps; 1-D waves (version
// 2 and 3 files hold only these) as a table of x and value.
#pragma once

#include <memory>

#include "ionmap/io/reader.hpp"

namespace ionmap::spm {

std::unique_ptr<Reader> makeIbwReader();

}  // namespace ionmap::spm
