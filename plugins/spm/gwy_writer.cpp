#include "spm/gwy_writer.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::spm {
namespace {

// Serialized components of one object, little-endian.
class Components {
 public:
  void name(const std::string& key, char type) {
    bytes_ += key;
    bytes_ += '\0';
    bytes_ += type;
  }
  void i32(const std::string& key, std::int32_t v) {
    name(key, 'i');
    raw(&v, 4);
  }
  void f64(const std::string& key, double v) {
    name(key, 'd');
    raw(&v, 8);
  }
  void boolean(const std::string& key, bool v) {
    name(key, 'b');
    bytes_ += static_cast<char>(v ? 1 : 0);
  }
  void text(const std::string& key, const std::string& v) {
    name(key, 's');
    bytes_ += v;
    bytes_ += '\0';
  }
  void object(const std::string& key, const std::string& serialized) {
    name(key, 'o');
    bytes_ += serialized;
  }
  void doubles(const std::string& key, const std::vector<double>& v) {
    name(key, 'D');
    const auto n = static_cast<std::uint32_t>(v.size());
    raw(&n, 4);
    for (double d : v) raw(&d, 8);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  void raw(const void* p, std::size_t n) {
    // Little-endian on every host ionmap builds for (x86-64, aarch64).
    bytes_.append(static_cast<const char*>(p), n);
  }
  std::string bytes_;
};

std::string object(const std::string& type, const Components& c) {
  std::string out = type;
  out += '\0';
  const auto size = static_cast<std::uint32_t>(c.bytes().size());
  out.append(reinterpret_cast<const char*>(&size), 4);
  return out + c.bytes();
}

std::string siUnit(const std::string& unit) {
  Components c;
  c.text("unitstr", unit == "1" ? "" : unit);
  return object("GwySIUnit", c);
}

std::string dataField(const Grid& g, const std::vector<double>& values, const std::string& unit) {
  Components c;
  c.i32("xres", g.width);
  c.i32("yres", g.height);
  c.f64("xreal", g.extentX() * 1e-6);  // µm → m
  c.f64("yreal", g.extentY() * 1e-6);
  c.f64("xoff", g.origin_x * 1e-6);
  c.f64("yoff", g.origin_y * 1e-6);
  c.object("si_unit_xy", siUnit("m"));
  c.object("si_unit_z", siUnit(unit));
  c.doubles("data", values);
  return object("GwyDataField", c);
}

}  // namespace

void writeGwy(const std::filesystem::path& file, const std::vector<Map>& maps) {
  Components top;
  for (std::size_t n = 0; n < maps.size(); ++n) {
    const Map& m = maps[n];
    m.checkConsistent();
    if (!m.grid.calibrated) {
      throw ProcessingError(
          fmt::format("'{}' has no pixel size: a .gwy file needs one ({})", m.name, file.string()));
    }
    std::vector<double> values = m.values.values();
    std::vector<double> mask(values.size(), 0.0);
    bool any_invalid = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (m.mask[i] && std::isfinite(values[i])) continue;
      mask[i] = 1.0, values[i] = 0.0, any_invalid = true;  // Gwyddion expects finite data
    }
    const std::string key = fmt::format("/{}/data", n);
    top.object(key, dataField(m.grid, values, m.unit));
    top.text(key + "/title", m.name);
    if (any_invalid) top.object(fmt::format("/{}/mask", n), dataField(m.grid, mask, ""));
    if (!m.metadata.empty()) {
      Components meta;
      for (const auto& [k, v] : m.metadata) meta.text(k, v);
      top.object(fmt::format("/{}/meta", n), object("GwyContainer", meta));
    }
  }
  const std::string bytes = "GWYP" + object("GwyContainer", top);
  const std::filesystem::path tmp = file.string() + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::filesystem::remove(tmp);
      throw ProcessingError(fmt::format("cannot write '{}'", file.string()));
    }
  }
  std::filesystem::rename(tmp, file);
}

}  // namespace ionmap::spm
