#include "seccm/wide.hpp"

#include <cmath>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "seccm/landings.hpp"

namespace ionmap::seccm {

bool WideOptions::IsValid(std::string* error) const {
  std::string why;
  if (nx < 1 || ny < 1) why = "give the raster's size: grid [landings per row, rows]";
  if (!(pitch_um > 0)) why = "give the raster's pitch (um) > 0";
  if (!(time_step_s >= 0)) why = "time_step must be >= 0";
  if (error) *error = why;
  return why.empty();
}

namespace {

double factorOf(const Table& t, const Column& c, const std::string& fallback,
                const std::string& base, const char* kind) {
  const std::string u = c.unit.empty() ? fallback : c.unit;
  if (u.empty())
    throw ProcessingError(fmt::format(
        "table '{}', column '{}': no unit for the {} (give it in the header, e.g. '{} ({})', or "
        "the stage's {}_unit)",
        t.name, c.name, kind, c.name, base, kind));
  const auto f = prefixedFactor(u, base);
  if (!f)
    throw ProcessingError(
        fmt::format("table '{}', column '{}': unit '{}' is not a {}", t.name, c.name, u, kind));
  return *f;
}

}  // namespace

CurveSet landingsFromWideTable(const Table& t, const WideOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("SECCM wide table: " + why);
  t.checkConsistent();
  const std::size_t expected = static_cast<std::size_t>(o.nx) * o.ny;
  if (t.columns.size() != expected + 1)
    throw ProcessingError(fmt::format(
        "table '{}' has {} current columns after its first, but the raster of {} x {} has {} "
        "landings",
        t.name, t.columns.size() - 1, o.nx, o.ny, expected));
  for (const auto& c : t.columns) {
    if (c.is_text)
      throw ProcessingError(fmt::format("table '{}', column '{}' is not numeric", t.name, c.name));
  }
  const Column& first = t.columns[0];
  const double ff = o.first_is_time ? factorOf(t, first, o.time_unit, "s", "time")
                                    : factorOf(t, first, o.potential_unit, "V", "potential");
  CurveSet out;
  out.name = t.name;
  out.channels = {{"t", "s"}, {"E", "V"}, {"I", "A"}};
  out.metadata.emplace_back("source_table", t.name);
  out.metadata.emplace_back("raster", fmt::format("{} x {} at {} um, {}", o.nx, o.ny, o.pitch_um,
                                                  o.serpentine ? "serpentine" : "row-major"));
  for (std::size_t k = 0; k < expected; ++k) {
    const Column& c = t.columns[k + 1];
    const double fi = factorOf(t, c, o.current_unit, "A", "current");
    const int row = static_cast<int>(k) / o.nx, along = static_cast<int>(k) % o.nx;
    const int col = o.serpentine && row % 2 ? o.nx - 1 - along : along;
    Curve cv;
    cv.x = (col + 0.5) * o.pitch_um, cv.y = (row + 0.5) * o.pitch_um;
    cv.samples.assign(3, {});
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (!std::isfinite(c.numbers[r]) || !std::isfinite(first.numbers[r])) continue;
      const double v = first.numbers[r] * ff;
      cv.samples[0].push_back(o.first_is_time ? v : static_cast<double>(r) * o.time_step_s);
      if (!o.first_is_time && o.time_step_s == 0) cv.samples[0].back() = static_cast<double>(r);
      cv.samples[1].push_back(o.first_is_time ? o.potential_V : v);
      cv.samples[2].push_back(c.numbers[r] * fi);
    }
    out.curves.push_back(std::move(cv));
  }
  return out;
}

}  // namespace ionmap::seccm
