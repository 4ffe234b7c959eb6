// Where a TIFF's pixel size comes from. Microscope software keeps its calibration in its own
// places, and the TIFF resolution tags of SEM/TEM images usually hold a print or screen
// resolution (an FEI Helios image at "64 dpi" is 3.37 µm per pixel, not 397): the vendors'
// own records come first, and an inch-based resolution is never taken for a pixel size.
#pragma once

#include <tiffio.h>

#include <filesystem>
#include <string>

namespace ionmap::tiff {

struct Calibration {
  double x_um = 0, y_um = 0;  // 0: not calibrated
  std::string source;         // where it came from (for `ionmap inspect` and the results)
  std::string note;           // what was found and not used, "" if nothing
};

// In order: FEI/Thermo Fisher tags (34682 FEI_HELIOS, 34680 FEI_SFEG: [Scan] PixelWidth and
// PixelHeight in metres), Zeiss tag 34118 (CZ_SEM: AP_PIXEL_SIZE), ImageJ's description
// (unit= with the resolution tags per unit), a sidecar text file beside `path` with the same
// stem (JEOL: $$SM_MICRON_MARKER / $$SM_MICRON_BAR; Hitachi: PixelSize= in nm), then the
// resolution tags in centimetres. Resolution tags in inches are noted and not used. A vendor
// record that is present but unreadable or implausible (outside 1 pm .. 10 mm per pixel) is an
// InputError naming the file.
Calibration calibration(TIFF* tiff, const std::filesystem::path& path);

// Parsers for the vendors' text records, in µm per pixel (x, y); 0 when the record has no
// pixel size. Throw InputError (naming `file`) when one is there but unreadable.
std::pair<double, double> feiPixelSize(const std::string& text, const std::string& file);
double zeissPixelSize(const std::string& text, const std::string& file);
double jeolPixelSize(const std::string& text, const std::string& file);
double hitachiPixelSize(const std::string& text, const std::string& file);

}  // namespace ionmap::tiff
