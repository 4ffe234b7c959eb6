// What every SPM reader does with a channel once decoded: its grid in µm from the scan size and
// its length unit, the pipeline's overrides (pixel size, unit), and the channel's map.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::spm {

// xres × yres pixels over xreal × yreal in `length_unit` ("m", "nm", "um", ...); offsets in the
// same unit. A unit that is not a length leaves the grid uncalibrated (pixels).
Grid scanGrid(int xres, int yres, double xreal, double yreal, const std::string& length_unit,
              double xoff = 0, double yoff = 0);

// A map named `name` with values (row-major, row 0 at the top) on `grid`, non-finite values
// masked, and the read stage's pixel size / unit applied where given.
Map channelMap(const std::string& name, const Grid& grid, const std::string& unit,
               std::vector<double> values, const ReadOptions& options);

// `s` without surrounding blanks (spaces, tabs, CR, LF).
std::string trim(const std::string& s);

// A header number: the whole of `text` (surrounding blanks allowed) must be one finite number,
// else InputError naming the file and `what`.
double headerNumber(const std::string& text, const std::string& file, const std::string& what);
// Blank-separated numbers of a header value, each checked as headerNumber.
std::vector<double> headerNumbers(const std::string& text, const std::string& file,
                                  const std::string& what);

// A name for the n-th channel that no earlier channel has ("Height", "Height 2", ...).
std::string uniqueName(const std::vector<Map>& maps, const std::string& name);

}  // namespace ionmap::spm
