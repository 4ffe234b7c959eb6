#include "ionmap/core/units.hpp"

#include <algorithm>
#include <cctype>

namespace ionmap::units {

std::string normalise(const std::string& unit) {
  std::string u = unit;
  if (u == "\xC2\xB5m" || u == "\xCE\xBCm" || u == "micron" || u == "microns" ||
      u == "micrometer" || u == "micrometre" || u == "micrometers" || u == "micrometres") {
    return kMicrometre;
  }
  return u;
}

std::optional<double> lengthToMicrometres(const std::string& unit) {
  std::string u = normalise(unit);
  std::string lower = u;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (u == "m" || lower == "meter" || lower == "metre") return 1e6;
  if (u == "cm" || lower == "centimeter" || lower == "centimetre") return 1e4;
  if (u == "mm" || lower == "millimeter" || lower == "millimetre") return 1e3;
  if (u == kMicrometre) return 1.0;
  if (u == "nm" || lower == "nanometer" || lower == "nanometre") return 1e-3;
  if (u == "pm") return 1e-6;
  if (u == "A" || u == "\xC3\x85" || lower == "angstrom") return 1e-4;
  if (lower == "inch" || lower == "in") return 25400.0;
  return std::nullopt;
}

std::string pretty(const std::string& unit) {
  std::string out;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    const bool um_here =
        unit.compare(i, 2, "um") == 0 &&
        (i == 0 || !std::isalpha(static_cast<unsigned char>(unit[i - 1]))) &&
        (i + 2 == unit.size() || !std::isalpha(static_cast<unsigned char>(unit[i + 2])));
    if (um_here) {
      out += "\xC2\xB5m";
      ++i;
    } else {
      out += unit[i];
    }
  }
  return out;
}

}  // namespace ionmap::units
