#include "spm/nanoscope.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "ionmap/io/byte_cursor.hpp"
#include "spm/spm_maps.hpp"

namespace ionmap::spm {
namespace {

constexpr std::size_t kMaxHeader = 4u << 20;

using Section = std::vector<std::pair<std::string, std::string>>;  // key → value, in order

struct Header {
  std::vector<std::pair<std::string, Section>> sections;  // "*Ciao image list" → entries
  std::map<std::string, std::string> sens;                // "Zsens" → "V 34.55 nm/V"
  std::string version;
};

const std::string* find(const Section& s, const std::string& key) {
  for (const auto& [k, v] : s) {
    if (k == key) return &v;
  }
  return nullptr;
}

Header parseHeader(const std::vector<std::uint8_t>& bytes, const std::string& file) {
  const std::size_t limit = std::min(bytes.size(), kMaxHeader);
  const std::string text(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(limit));
  const std::size_t end = text.find("\\*File list end");
  if (end == std::string::npos)
    throw InputError(file, "the header never ends (no \\*File list end; truncated?)");
  Header h;
  std::size_t pos = 0;
  while (pos < end) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos || eol > end) eol = end;
    const std::string line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.size() < 2 || line[0] != '\\') continue;
    if (line[1] == '*') {
      h.sections.emplace_back(line.substr(2), Section{});
      continue;
    }
    std::string body = line.substr(1);
    if (body.rfind("@Sens. ", 0) == 0) {  // "\@Sens. Zsens: V 34.55678 nm/V"
      const auto colon = body.find(':', 7);
      if (colon != std::string::npos)
        h.sens[body.substr(7, colon - 7)] = trim(body.substr(colon + 1));
      continue;
    }
    if (body.rfind("@2:", 0) == 0)
      body = body.substr(3);
    else if (body[0] == '@')
      body = body.substr(1);
    const auto colon = body.find(':');
    if (colon == std::string::npos || h.sections.empty()) continue;
    const std::string key = body.substr(0, colon), value = trim(body.substr(colon + 1));
    h.sections.back().second.emplace_back(key, value);
    if (key == "Version" && h.version.empty()) h.version = value;
  }
  return h;
}

// A unit with an SI prefix → base unit and factor ("nm" → m, 1e-9; "~m" → m, 1e-6;
// "º" → deg). Unknown units stay as written, factor 1.
std::pair<std::string, double> baseUnit(std::string u) {
  u = trim(u);
  if (u == "\xba" || u == "\xc2\xba" || u == "\xb0" || u == "deg") return {"deg", 1};
  static const char* kBase[] = {"m", "V", "A", "N", "Pa", "Hz", "F", "s", "W", "Ohm"};
  for (const char* b : kBase) {
    if (u == b) return {u, 1};
  }
  static const std::pair<char, double> kPrefix[] = {{'f', 1e-15}, {'p', 1e-12}, {'n', 1e-9},
                                                    {'~', 1e-6},  {'u', 1e-6},  {'m', 1e-3},
                                                    {'k', 1e3},   {'M', 1e6},   {'G', 1e9}};
  if (u.size() >= 2) {
    for (const auto& [p, f] : kPrefix) {
      if (u[0] != p) continue;
      const std::string rest = u.substr(1);
      for (const char* b : kBase) {
        if (rest == b) return {rest, f};
      }
    }
  }
  return {u, 1};
}

// The value of one LSB and its unit from "(0.0003750000 V/LSB) 24.57563 V": the full scale after
// the parentheses over the 2^(8·bpp) steps of the data, as Gwyddion computes it (the rounded
// hard value differs from it by up to 2e-5), else the hard value itself.
std::pair<double, std::string> lsbScale(const std::string& z, int bpp, const std::string& file,
                                        const std::string& image) {
  const auto open = z.find('('), slash = z.find("/LSB)");
  if (open == std::string::npos || slash == std::string::npos || slash < open) {
    throw InputError(file,
                     fmt::format("image '{}': Z scale '{}' has no (value unit/LSB)", image, z));
  }
  const std::string what = "image '" + image + "' Z scale";
  const std::string inner = trim(z.substr(open + 1, slash - open - 1));
  const auto sp = inner.find(' ');
  const std::string unit = sp == std::string::npos ? "" : trim(inner.substr(sp + 1));
  const std::string soft = trim(z.substr(slash + 5));
  if (!soft.empty()) {
    const auto ssp = soft.find(' ');
    const double full = headerNumber(soft.substr(0, ssp), file, what);
    return {full / std::ldexp(1.0, 8 * bpp), unit};
  }
  return {headerNumber(inner.substr(0, sp), file, what), unit};
}

struct Image {
  std::string name, unit;
  std::size_t offset = 0, length = 0;
  int bpp = 2, w = 0, h = 0;
  double factor = 1;  // value = raw × factor
  double xreal = 0, yreal = 0;
  std::string length_unit;
};

int headerInt(const Section& s, const char* key, const std::string& file,
              const std::string& image) {
  const std::string* v = find(s, key);
  if (!v) throw InputError(file, fmt::format("image '{}' has no \\{}", image, key));
  const double d = headerNumber(*v, file, fmt::format("image '{}' \\{}", image, key));
  if (d != std::floor(d) || d < 0 || d > 1e12)
    throw InputError(file, fmt::format("image '{}' \\{}: {} is not a count", image, key, *v));
  return static_cast<int>(std::min(d, 2e9));
}

Image imageOf(const Section& s, const Header& h, const std::string& file, int index) {
  Image im;
  const std::string* data = find(s, "Image Data");  // S [ZSensor] "Height Sensor"
  std::string bracket, quoted;
  if (data) {
    const auto b0 = data->find('['), b1 = data->find(']');
    if (b0 != std::string::npos && b1 != std::string::npos && b1 > b0)
      bracket = data->substr(b0 + 1, b1 - b0 - 1);
    const auto q0 = data->find('"'), q1 = data->rfind('"');
    if (q0 != std::string::npos && q1 > q0) quoted = data->substr(q0 + 1, q1 - q0 - 1);
  }
  im.name = !bracket.empty() ? bracket : !quoted.empty() ? quoted : fmt::format("Image {}", index);
  im.offset = static_cast<std::size_t>(headerInt(s, "Data offset", file, im.name));
  im.length = static_cast<std::size_t>(headerInt(s, "Data length", file, im.name));
  im.bpp = find(s, "Bytes/pixel") ? headerInt(s, "Bytes/pixel", file, im.name) : 2;
  if (im.bpp != 2 && im.bpp != 4)
    throw InputError(
        file, fmt::format("image '{}': {} bytes per pixel (expected 2 or 4)", im.name, im.bpp));
  im.w = headerInt(s, "Samps/line", file, im.name);
  im.h = headerInt(s, "Number of lines", file, im.name);
  if (im.w < 1 || im.h < 1 || static_cast<std::size_t>(im.w) * im.h * im.bpp > im.length) {
    throw InputError(file, fmt::format("image '{}': {} x {} pixels of {} bytes do not fit its data "
                                       "length of {} bytes",
                                       im.name, im.w, im.h, im.bpp, im.length));
  }
  // Scan size: "10 10 ~m" (x y unit) or "10 ~m".
  const std::string* size = find(s, "Scan Size");
  if (!size) throw InputError(file, fmt::format("image '{}' has no \\Scan Size", im.name));
  std::vector<std::string> parts;
  for (std::size_t p = 0; p < size->size();) {
    const auto b = size->find_first_not_of(' ', p);
    if (b == std::string::npos) break;
    const auto e = size->find(' ', b);
    parts.push_back(size->substr(b, e == std::string::npos ? e : e - b));
    p = e == std::string::npos ? size->size() : e;
  }
  if (parts.size() < 2)
    throw InputError(file, fmt::format("image '{}': Scan Size '{}'", im.name, *size));
  im.length_unit = parts.back() == "~m" ? "um" : parts.back();
  im.xreal = headerNumber(parts[0], file, "Scan Size");
  im.yreal = parts.size() >= 3 ? headerNumber(parts[1], file, "Scan Size") : im.xreal * im.h / im.w;
  // Z: raw × the value of one LSB (lsbScale) × the named sensitivity (unit per V), in base SI
  // units.
  const std::string* z = find(s, "Z scale");
  if (!z) throw InputError(file, fmt::format("image '{}' has no \\@2:Z scale", im.name));
  const auto [hard, hard_unit] = lsbScale(*z, im.bpp, file, im.name);
  auto [unit, factor] = baseUnit(hard_unit);
  im.factor = hard * factor;
  const auto s0 = z->find("[Sens. "), s1 = z->find(']');
  if (s0 != std::string::npos && s1 != std::string::npos && s1 > s0) {
    const std::string sens_name = z->substr(s0 + 7, s1 - s0 - 7);
    const auto it = h.sens.find(sens_name);
    if (it == h.sens.end())
      throw InputError(file,
                       fmt::format("image '{}': its Z scale names the sensitivity '{}', which "
                                   "the header does not define",
                                   im.name, sens_name));
    // "V 34.55678 nm/V": the value and its unit per V of the hard scale.
    std::string rest = trim(it->second);
    if (rest.rfind("V ", 0) == 0) rest = trim(rest.substr(2));
    const auto sp = rest.find(' ');
    const double sens = headerNumber(rest.substr(0, sp), file, "sensitivity " + sens_name);
    const std::string sens_unit = sp == std::string::npos ? "" : trim(rest.substr(sp + 1));
    const auto per = sens_unit.find('/');
    if (per != std::string::npos && unit == "V") {
      const auto [su, sf] = baseUnit(sens_unit.substr(0, per));
      unit = su;
      im.factor *= sens * sf;
    } else {
      im.factor *= sens;
    }
  }
  im.unit = unit == "Arb" || unit == "log(Arb)" ? "" : unit;
  return im;
}

class NanoscopeReader final : public Reader {
 public:
  std::string name() const override { return "nanoscope"; }
  std::string description() const override {
    return "Bruker/Veeco Nanoscope files (.spm, .000, .di; v5-v10): every image with its Z "
           "scale and sensitivity, scan size, rows bottom-up";
  }
  int score(const std::filesystem::path&, const std::vector<std::uint8_t>& head) const override {
    const std::string h(head.begin(), head.end());
    return h.rfind("\\*File list", 0) == 0 ? 95 : 0;
  }

  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    const std::string file = path.string();
    const std::vector<std::uint8_t> bytes = readFileBytes(path);
    const Header h = parseHeader(bytes, file);
    Dataset ds;
    ds.format = name();
    if (!h.version.empty()) ds.metadata.emplace_back("nanoscope_version", h.version);
    ByteCursor c(file, bytes, true);
    int index = 0;
    for (const auto& [title, section] : h.sections) {
      if (title != "Ciao image list") continue;
      const Image im = imageOf(section, h, file, index++);
      if (im.offset > bytes.size() || im.length > bytes.size() - im.offset) {
        throw InputError(file, im.offset,
                         fmt::format("data missing: image '{}' needs bytes {} to {}, the file "
                                     "ends at {} (a header-only file, or truncated)",
                                     im.name, im.offset, im.offset + im.length, bytes.size()));
      }
      c.seek(im.offset);
      std::vector<double> v(static_cast<std::size_t>(im.w) * im.h);
      for (int y = 0; y < im.h; ++y) {  // the first row stored is the bottom of the image
        double* row = v.data() + static_cast<std::size_t>(im.h - 1 - y) * im.w;
        for (int x = 0; x < im.w; ++x)
          row[x] = im.factor * (im.bpp == 2 ? c.get<std::int16_t>() : c.get<std::int32_t>());
      }
      const Grid g = scanGrid(im.w, im.h, im.xreal, im.yreal, im.length_unit);
      ds.maps.push_back(
          channelMap(uniqueName(ds.maps, im.name), g, im.unit, std::move(v), options));
    }
    if (ds.maps.empty()) throw InputError(file, "the header lists no image (\\*Ciao image list)");
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeNanoscopeReader() {
  return std::make_unique<NanoscopeReader>();
}

}  // namespace ionmap::spm
