#include "ionmap/io/tiff_calibration.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/units.hpp"

namespace ionmap::tiff {
namespace {

constexpr ttag_t kFeiSfeg = 34680, kFeiHelios = 34682, kZeissCzSem = 34118;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A number that is the whole token.
bool wholeNumber(const std::string& text, double& v) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  v = std::strtod(t.c_str(), &end);
  return *end == '\0' && std::isfinite(v);
}

// 1 pm .. 10 mm per pixel: anything else is not a microscope's calibration.
double plausible(double um, const std::string& file, const std::string& what) {
  if (!(um >= 1e-6 && um <= 1e4)) {
    throw InputError(file, fmt::format("{} gives {:g} um per pixel, outside the plausible 1e-6 .. "
                                       "1e4 um",
                                       what, um));
  }
  return um;
}

// "3.721 nm", "0.5 µm" (UTF-8 or Latin-1 µ), "12 pm" → µm.
bool lengthWithUnit(const std::string& text, double& um) {
  std::istringstream in(trim(text));
  double v = 0;
  std::string unit;
  if (!(in >> v) || !(in >> unit)) return false;
  std::string rest;
  if (in >> rest) return false;
  if (unit == "\xB5m") unit = "um";  // Latin-1 micro sign
  const auto f = units::lengthToMicrometres(unit);
  if (!f) return false;
  um = v * *f;
  return std::isfinite(um);
}

// The text of a private tag libtiff does not know (read back as an anonymous field), "" if the
// tag is absent. 8-bit types only; a missing terminator is not read past the count.
std::string privateText(TIFF* t, ttag_t tag) {
  const TIFFField* f = TIFFFindField(t, tag, TIFF_ANY);
  if (!f) return "";
  // As an int: a corrupt file can give an anonymous field a type number outside the enum
  // (found by fuzzing: 5635), and holding that in a TIFFDataType is undefined behaviour.
  const int type = static_cast<int>(TIFFFieldDataType(f));
  if (type != TIFF_ASCII && type != TIFF_BYTE && type != TIFF_UNDEFINED && type != TIFF_SBYTE)
    return "";
  const char* data = nullptr;
  std::size_t n = 0;
  if (TIFFFieldPassCount(f)) {
    if (TIFFFieldReadCount(f) == TIFF_VARIABLE2) {
      std::uint32_t count = 0;
      if (TIFFGetField(t, tag, &count, &data) != 1) return "";
      n = count;
    } else {
      std::uint16_t count = 0;
      if (TIFFGetField(t, tag, &count, &data) != 1) return "";
      n = count;
    }
  } else {
    if (TIFFGetField(t, tag, &data) != 1 || !data) return "";
    n = std::strlen(data);
  }
  if (!data) return "";
  return std::string(data, strnlen(data, n));
}

std::string readText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  if (s.size() > (1u << 20)) s.resize(1u << 20);  // a sidecar is a few kB
  return s;
}

// "unit=micron" in an ImageJ description: µm per unit, 0 if none.
double imagejUnit(const std::string& description) {
  if (description.rfind("ImageJ=", 0) != 0) return 0;
  std::istringstream in(description);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("unit=", 0) == 0) {
      std::string u = trim(line.substr(5));
      if (u == "\\u00B5m" || u == "micron" || u == "microns") u = "um";
      if (auto f = units::lengthToMicrometres(u)) return *f;
    }
  }
  return 0;
}

}  // namespace

std::pair<double, double> feiPixelSize(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  std::string line, section;
  double w = 0, h = 0;
  bool have_w = false, have_h = false;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty() && line.front() == '[') {
      section = line;
      continue;
    }
    if (section != "[Scan]") continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = trim(line.substr(0, eq)), value = line.substr(eq + 1);
    if (key != "PixelWidth" && key != "PixelHeight") continue;
    double v = 0;
    if (!wholeNumber(value, v)) {
      throw InputError(
          file, fmt::format("FEI metadata [Scan] {}='{}' is not a number", key, trim(value)));
    }
    (key == "PixelWidth" ? w : h) = v * 1e6;  // metres
    (key == "PixelWidth" ? have_w : have_h) = true;
  }
  if (!have_w) return {0, 0};
  if (!have_h) h = w;
  return {plausible(w, file, "FEI [Scan] PixelWidth"),
          plausible(h, file, "FEI [Scan] PixelHeight")};
}

double zeissPixelSize(const std::string& text, const std::string& file) {
  // Pairs of lines: a parameter name, then "Label = value unit".
  std::istringstream in(text);
  std::string line;
  bool next = false;
  while (std::getline(in, line)) {
    line = trim(line);
    if (next) {
      const auto eq = line.find('=');
      double um = 0;
      if (eq == std::string::npos || !lengthWithUnit(line.substr(eq + 1), um)) {
        throw InputError(file,
                         fmt::format("Zeiss metadata AP_PIXEL_SIZE '{}' is not a length", line));
      }
      return plausible(um, file, "Zeiss AP_PIXEL_SIZE");
    }
    next = line == "AP_PIXEL_SIZE";
  }
  return 0;
}

double jeolPixelSize(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  std::string line;
  double bar_px = 0, marker_um = 0;
  bool have_bar = false, have_marker = false;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key, value;
    ls >> key >> value;
    if (key == "$$SM_MICRON_BAR") {
      have_bar = wholeNumber(value, bar_px) && bar_px > 0;
      if (!have_bar)
        throw InputError(file,
                         fmt::format("JEOL $$SM_MICRON_BAR '{}' is not a pixel count", value));
    } else if (key == "$$SM_MICRON_MARKER") {
      // "1um", "500nm": the number runs into the unit.
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      const auto f = used ? units::lengthToMicrometres(value.substr(used)) : std::nullopt;
      if (!f) {
        throw InputError(file, fmt::format("JEOL $$SM_MICRON_MARKER '{}' is not a length", value));
      }
      marker_um = v * *f;
      have_marker = true;
    }
  }
  if (!have_bar || !have_marker) return 0;
  return plausible(marker_um / bar_px, file, "JEOL $$SM_MICRON_MARKER / $$SM_MICRON_BAR");
}

double hitachiPixelSize(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos || trim(line.substr(0, eq)) != "PixelSize") continue;
    double nm = 0;
    if (!wholeNumber(line.substr(eq + 1), nm)) {
      throw InputError(
          file, fmt::format("Hitachi PixelSize='{}' is not a number", trim(line.substr(eq + 1))));
    }
    return plausible(nm * 1e-3, file, "Hitachi PixelSize (nm)");
  }
  return 0;
}

// Olympus LEXT (OLS4000 and later laser confocal microscopes): the first page's description is
// an XML record <TiffTagDescData ...> with, per channel C (Intensity, Height, Color), the
// elements <CDataPerPixelX> and <CDataPerPixelY> in picometres. {0, 0} when absent.
std::pair<double, double> lextPixelSize(const std::string& description, const std::string& file) {
  const auto root = description.find("<TiffTagDescData");
  if (root == std::string::npos) return {0, 0};
  const char after = root + 16 < description.size() ? description[root + 16] : '\0';
  if (after != ' ' && after != '>') return {0, 0};
  auto element = [&](const std::string& name, std::string& text) {
    const std::string open = "<" + name + ">", close = "</" + name + ">";
    const auto b = description.find(open, root);
    if (b == std::string::npos) return false;
    const auto e = description.find(close, b + open.size());
    if (e == std::string::npos) {
      throw InputError(file, fmt::format("Olympus LEXT description: <{}> is not closed", name));
    }
    text = description.substr(b + open.size(), e - b - open.size());
    return true;
  };
  for (const char* channel : {"Intensity", "Height", "Color"}) {
    double xy[2] = {0, 0};
    int found = 0;
    for (int axis = 0; axis < 2; ++axis) {
      const std::string name = fmt::format("{}DataPerPixel{}", channel, axis == 0 ? 'X' : 'Y');
      std::string text;
      if (!element(name, text)) continue;
      double pm = 0;
      if (!wholeNumber(text, pm)) {
        throw InputError(file, fmt::format("Olympus LEXT {}='{}' is not a number (picometres)",
                                           name, trim(text)));
      }
      xy[axis] = plausible(pm * 1e-6, file, "Olympus LEXT " + name + " (pm)");
      ++found;
    }
    if (found == 2) return {xy[0], xy[1]};
    if (found == 1) {
      throw InputError(file, fmt::format("Olympus LEXT description: {}DataPerPixelX and Y are not "
                                         "both there",
                                         channel));
    }
  }
  return {0, 0};
}

Calibration calibration(TIFF* t, const std::filesystem::path& path) {
  const std::string file = path.string();
  Calibration c;
  for (auto [tag, name] : {std::pair{kFeiHelios, "FEI_HELIOS"}, {kFeiSfeg, "FEI_SFEG"}}) {
    const auto [x, y] = feiPixelSize(privateText(t, tag), file);
    if (x > 0) {
      c.x_um = x, c.y_um = y;
      c.source =
          fmt::format("FEI/Thermo Fisher metadata (TIFF tag {} {}, [Scan] PixelWidth)", tag, name);
      return c;
    }
  }
  if (const double z = zeissPixelSize(privateText(t, kZeissCzSem), file); z > 0) {
    c.x_um = c.y_um = z;
    c.source = "Zeiss metadata (TIFF tag 34118 CZ_SEM, AP_PIXEL_SIZE)";
    return c;
  }
  float xres = 0, yres = 0;
  std::uint16_t unit = RESUNIT_INCH;
  const bool has_x =
      TIFFGetField(t, TIFFTAG_XRESOLUTION, &xres) == 1 && xres > 0 && std::isfinite(xres);
  if (TIFFGetField(t, TIFFTAG_YRESOLUTION, &yres) != 1 || !(yres > 0) || !std::isfinite(yres))
    yres = xres;
  TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &unit);
  char* desc = nullptr;
  const std::string description =
      TIFFGetField(t, TIFFTAG_IMAGEDESCRIPTION, &desc) == 1 && desc ? desc : "";
  if (const auto [x, y] = lextPixelSize(description, file); x > 0) {
    c.x_um = x, c.y_um = y;
    c.source = "Olympus LEXT description (TiffTagDescData, DataPerPixelX/Y in pm)";
    return c;
  }
  if (const double per_unit = imagejUnit(description); per_unit > 0 && has_x) {
    c.x_um = plausible(per_unit / xres, file, "ImageJ unit= with the resolution tags");
    c.y_um = plausible(per_unit / yres, file, "ImageJ unit= with the resolution tags");
    c.source = "ImageJ description (unit=) with the resolution tags";
    return c;
  }
  for (const char* ext : {".txt", ".TXT"}) {
    std::filesystem::path side = path;
    side.replace_extension(ext);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(side, ec)) continue;
    const std::string text = readText(side);
    if (const double j = jeolPixelSize(text, side.string()); j > 0) {
      c.x_um = c.y_um = j;
      c.source =
          "JEOL sidecar " + side.filename().string() + " ($$SM_MICRON_MARKER / $$SM_MICRON_BAR)";
      return c;
    }
    if (const double h = hitachiPixelSize(text, side.string()); h > 0) {
      c.x_um = c.y_um = h;
      c.source = "Hitachi sidecar " + side.filename().string() + " (PixelSize, nm)";
      return c;
    }
    break;
  }
  if (!has_x) return c;
  if (unit == RESUNIT_CENTIMETER) {
    c.x_um = plausible(1e4 / xres, file, "the resolution tags (pixels per cm)");
    c.y_um = plausible(1e4 / yres, file, "the resolution tags (pixels per cm)");
    c.source = "TIFF resolution tags (pixels per centimetre)";
  } else if (unit == RESUNIT_INCH) {
    c.note = fmt::format(
        "{:g} x {:g} dpi not used: a print or screen resolution, not a pixel "
        "size (give pixel_size, or keep the instrument's own metadata)",
        xres, yres);
  } else {
    c.note = "resolution tags without a unit not used (no ImageJ unit= in the description)";
  }
  return c;
}

}  // namespace ionmap::tiff
