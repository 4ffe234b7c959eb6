// The generic readers: TIFF (multi-page, 8-64-bit integer and float), PNG/BMP/JPEG, and
// text matrices (CSV, TSV, whitespace; Gwyddion ASCII export headers understood).
#pragma once

#include <memory>

#include "ionmap/io/reader.hpp"

namespace ionmap::generic {

std::unique_ptr<Reader> makeTiffReader();
std::unique_ptr<Reader> makeImageReader();
std::unique_ptr<Reader> makeMatrixTextReader();
std::unique_ptr<Reader> makeCsvTableReader();
std::unique_ptr<Reader> makeTransformYamlReader();

// Applies the pipeline's pixel size and unit to a freshly read map, and names it.
void applyReadOptions(Map& map, const ReadOptions& options);

}  // namespace ionmap::generic
