// Writing Gwyddion .gwy files (GWYP serialization, as Gwyddion's own "Format of Gwyddion Files"
// documents it): a GwyContainer with one GwyDataField per map under "/N/data", its title,
// an optional mask ("/N/mask": 1 where the map is invalid) and metadata ("/N/meta"). Values
// are written in the map's unit, lengths in metres. The bundled KPFM samples and `gwy` exports
// use it; Gwyddion opens the files it writes.
#pragma once

#include <filesystem>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap::spm {

// Throws ProcessingError for a map whose grid has no pixel size or whose images disagree with
// it; writes nothing then.
void writeGwy(const std::filesystem::path& file, const std::vector<Map>& maps);

}  // namespace ionmap::spm
