#include "spm/spm_maps.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/units.hpp"

namespace ionmap::spm {

Grid scanGrid(int xres, int yres, double xreal, double yreal, const std::string& length_unit,
              double xoff, double yoff) {
  Grid g;
  g.width = xres;
  g.height = yres;
  const auto um = units::lengthToMicrometres(length_unit);
  g.calibrated = um && xreal > 0 && yreal > 0 && std::isfinite(xreal) && std::isfinite(yreal);
  if (g.calibrated) {
    g.pixel_x = xreal * *um / xres;
    g.pixel_y = yreal * *um / yres;
    g.origin_x = std::isfinite(xoff) ? xoff * *um : 0;
    g.origin_y = std::isfinite(yoff) ? yoff * *um : 0;
  }
  return g;
}

Map channelMap(const std::string& name, const Grid& grid, const std::string& unit,
               std::vector<double> values, const ReadOptions& options) {
  Map m(name, grid, options.unit.empty() ? unit : options.unit);
  m.values.values() = std::move(values);  // grid.width × grid.height, checked by the caller
  if (options.pixel_x > 0) {
    m.grid.pixel_x = options.pixel_x;
    m.grid.pixel_y = options.pixel_y > 0 ? options.pixel_y : options.pixel_x;
    m.grid.calibrated = true;
  }
  const std::size_t bad = m.maskNonFinite();
  if (bad) m.metadata.emplace_back("non_finite_pixels_masked", std::to_string(bad));
  return m;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

double headerNumber(const std::string& text, const std::string& file, const std::string& what) {
  const std::string t = trim(text);
  char* end = nullptr;
  errno = 0;
  const double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v)) {
    throw InputError(file, fmt::format("{}: expected a number, found '{}'", what, t));
  }
  return v;
}

std::vector<double> headerNumbers(const std::string& text, const std::string& file,
                                  const std::string& what) {
  std::vector<double> out;
  std::size_t i = 0;
  while (true) {
    const auto b = text.find_first_not_of(" \t\r\n", i);
    if (b == std::string::npos) break;
    const auto e = text.find_first_of(" \t\r\n", b);
    out.push_back(headerNumber(text.substr(b, e == std::string::npos ? e : e - b), file, what));
    if (e == std::string::npos) break;
    i = e;
  }
  return out;
}

std::string uniqueName(const std::vector<Map>& maps, const std::string& name) {
  auto taken = [&](const std::string& n) {
    for (const auto& m : maps) {
      if (m.name == n) return true;
    }
    return false;
  };
  if (!taken(name)) return name;
  for (int k = 2;; ++k) {
    const std::string n = fmt::format("{} {}", name, k);
    if (!taken(n)) return n;
  }
}

}  // namespace ionmap::spm
