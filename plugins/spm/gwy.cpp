#include "spm/gwy.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "ionmap/io/byte_cursor.hpp"
#include "spm/spm_maps.hpp"

namespace ionmap::spm {
namespace {

constexpr int kMaxDepth = 64;

GwyObject parseObject(ByteCursor& c, int depth);

// Reads `n` elements of `bytes` each after checking they are in the object.
void needArray(ByteCursor& c, std::uint64_t n, std::uint64_t bytes, std::size_t end,
               const std::string& name) {
  if (c.pos() > end || n * bytes > end - c.pos()) {
    c.fail(fmt::format("array '{}' of {} elements runs past the end of its object", name, n));
  }
}

GwyComponent parseComponent(ByteCursor& c, int depth, std::size_t end) {
  GwyComponent k;
  k.offset = c.pos();
  k.name = c.cstring(4096, "component name");
  k.type = static_cast<char>(c.get<std::uint8_t>("component type"));
  if (c.pos() > end) {  // before any size below is measured against what is left of the object
    c.failAt(k.offset,
             fmt::format("component '{}' starts past the end of the object that holds it", k.name));
  }
  auto count = [&](std::uint64_t bytes) {
    const std::uint64_t n = c.get<std::uint32_t>("array length");
    needArray(c, n, bytes, end, k.name);
    return n;
  };
  switch (k.type) {
    case 'b':
      k.number = c.get<std::uint8_t>() != 0;
      break;
    case 'c':
      k.number = c.get<std::int8_t>();
      break;
    case 'i':
      k.number = c.get<std::int32_t>();
      break;
    case 'q':
      k.number = static_cast<double>(c.get<std::int64_t>());
      break;
    case 'd':
      k.number = c.get<double>();
      break;
    case 's':
      k.text = c.cstring(end - c.pos(), "string");
      break;
    case 'o':
      k.object = std::make_shared<GwyObject>(parseObject(c, depth + 1));
      break;
    case 'C': {
      const auto n = count(1);
      for (std::uint64_t i = 0; i < n; ++i) k.numbers.push_back(c.get<std::int8_t>());
      break;
    }
    case 'I': {
      const auto n = count(4);
      k.numbers.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) k.numbers.push_back(c.get<std::int32_t>());
      break;
    }
    case 'Q': {
      const auto n = count(8);
      k.numbers.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i)
        k.numbers.push_back(static_cast<double>(c.get<std::int64_t>()));
      break;
    }
    case 'D': {  // image data: decoded in one sweep
      const auto n = count(8);
      k.numbers.resize(n);
      const std::uint8_t* p = c.take(n * 8);
      for (std::uint64_t i = 0; i < n; ++i) k.numbers[i] = c.decode<double>(p + 8 * i);
      break;
    }
    case 'S': {
      const auto n = count(1);  // each string holds at least its NUL
      for (std::uint64_t i = 0; i < n; ++i) k.texts.push_back(c.cstring(end - c.pos(), "string"));
      break;
    }
    case 'O': {
      const auto n = count(5);  // each object holds at least a NUL and its size
      for (std::uint64_t i = 0; i < n; ++i) k.objects.push_back(parseObject(c, depth + 1));
      break;
    }
    default:
      c.failAt(k.offset, fmt::format("component '{}' has the unknown type code {} (expected one "
                                     "of b c i q d s o C I Q D S O)",
                                     k.name, static_cast<int>(static_cast<unsigned char>(k.type))));
  }
  if (c.pos() > end) {
    c.failAt(k.offset,
             fmt::format("component '{}' runs past the end of the object that holds it", k.name));
  }
  return k;
}

GwyObject parseObject(ByteCursor& c, int depth) {
  if (depth > kMaxDepth) c.fail(fmt::format("objects nested more than {} deep", kMaxDepth));
  GwyObject o;
  o.offset = c.pos();
  o.type = c.cstring(256, "object name");
  const std::size_t size = c.get<std::uint32_t>("object size");
  c.need(size, ("object '" + o.type + "'").c_str());
  const std::size_t end = c.pos() + size;
  while (c.pos() < end) o.components.push_back(parseComponent(c, depth, end));
  return o;
}

double numberOf(const GwyObject& o, const char* key, const std::string& file, bool required,
                double fallback = 0) {
  const GwyComponent* k = o.find(key);
  if (!k) {
    if (!required) return fallback;
    throw InputError(file, o.offset, fmt::format("{} has no '{}'", o.type, key));
  }
  if (std::string("bciqd").find(k->type) == std::string::npos) {
    throw InputError(file, k->offset, fmt::format("'{}' of {} is not a number", key, o.type));
  }
  return k->number;
}

std::string unitOf(const GwyObject& o, const char* key) {
  const GwyComponent* k = o.find(key);
  if (!k || !k->object) return "";
  const GwyComponent* u = k->object->find("unitstr");
  return u && u->type == 's' ? u->text : "";
}

// A GwyDataField's size, extent and data, checked.
struct Field {
  int xres = 0, yres = 0;
  double xreal = 0, yreal = 0, xoff = 0, yoff = 0;
  std::string xy_unit, z_unit;
  std::vector<double>* data = nullptr;
};

Field fieldOf(GwyObject& o, const std::string& file) {
  if (o.type != "GwyDataField") {
    throw InputError(file, o.offset, fmt::format("expected a GwyDataField, found a {}", o.type));
  }
  Field f;
  const double xres = numberOf(o, "xres", file, true), yres = numberOf(o, "yres", file, true);
  if (!(xres >= 1 && yres >= 1 && xres <= 1 << 20 && yres <= 1 << 20)) {
    throw InputError(
        file, o.offset,
        fmt::format("GwyDataField of {} x {} pixels (expected at least 1 x 1)", xres, yres));
  }
  f.xres = static_cast<int>(xres), f.yres = static_cast<int>(yres);
  f.xreal = numberOf(o, "xreal", file, true), f.yreal = numberOf(o, "yreal", file, true);
  f.xoff = numberOf(o, "xoff", file, false), f.yoff = numberOf(o, "yoff", file, false);
  f.xy_unit = unitOf(o, "si_unit_xy");
  f.z_unit = unitOf(o, "si_unit_z");
  GwyComponent* d = o.find("data");
  if (!d || d->type != 'D') {
    throw InputError(file, o.offset, "GwyDataField has no 'data' array of doubles");
  }
  if (d->numbers.size() != static_cast<std::size_t>(f.xres) * static_cast<std::size_t>(f.yres)) {
    throw InputError(file, d->offset,
                     fmt::format("GwyDataField data hold {} values for {} x {} pixels",
                                 d->numbers.size(), f.xres, f.yres));
  }
  f.data = &d->numbers;
  return f;
}

// N when `key` is "/N/data" (an image channel of a GwyContainer), else -1.
int channelNumber(const std::string& key) {
  const std::string tail = "/data";
  if (key.size() < 2 + tail.size() || key[0] != '/' ||
      key.compare(key.size() - tail.size(), tail.size(), tail) != 0)
    return -1;
  const std::string digits = key.substr(1, key.size() - 1 - tail.size());
  if (digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return -1;
  return std::stoi(digits);
}

class GwyReader final : public Reader {
 public:
  std::string name() const override { return "gwy"; }
  std::string description() const override {
    return "Gwyddion .gwy files (GWYP): every image channel with its title, units, physical "
           "size, offsets, mask and metadata";
  }
  int score(const std::filesystem::path&, const std::vector<std::uint8_t>& head) const override {
    const std::string h(head.begin(), head.begin() + std::min<std::size_t>(head.size(), 4));
    return h == "GWYP" || h == "GWYO" ? 100 : 0;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    return gwyDataset(parseGwy(path), path.string(), options);  // the data move into the maps
  }
};

}  // namespace

const GwyComponent* GwyObject::find(const std::string& name) const {
  for (const auto& c : components) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

GwyComponent* GwyObject::find(const std::string& name) {
  return const_cast<GwyComponent*>(static_cast<const GwyObject&>(*this).find(name));
}

GwyObject parseGwy(const std::filesystem::path& file) {
  const std::vector<std::uint8_t> bytes = readFileBytes(file);
  ByteCursor c(file.string(), bytes, true);
  const std::string magic = c.fixedString(4, "magic");
  if (magic == "GWYO") {
    c.failAt(0,
             "an old Gwyddion 1.x file (magic GWYO), which ionmap does not read: open it in "
             "Gwyddion 2 and save it again (File > Save As, .gwy)");
  }
  if (magic != "GWYP") c.failAt(0, "not a Gwyddion file (expected the magic GWYP)");
  GwyObject top = parseObject(c, 0);
  if (c.left() != 0) {
    c.fail(
        fmt::format("{} bytes after the top-level object (the file is not one serialized "
                    "object)",
                    c.left()));
  }
  return top;
}

Dataset gwyDataset(GwyObject top, const std::string& file, const ReadOptions& options) {
  if (top.type != "GwyContainer")
    throw InputError(file, top.offset,
                     "the top-level object is a " + top.type + ", not a GwyContainer");
  std::map<int, GwyComponent*> channels;  // by channel number
  for (auto& k : top.components) {
    if (const int n = channelNumber(k.name); n >= 0 && k.type == 'o') channels[n] = &k;
  }
  if (channels.empty())
    throw InputError(file, "holds no image channel (no GwyDataField under /N/data)");
  Dataset ds;
  ds.format = "gwy";
  for (const auto& [n, k] : channels) {
    const Field f = fieldOf(*k->object, file);
    const GwyComponent* title = top.find(fmt::format("/{}/data/title", n));
    const std::string name = title && title->type == 's' && !title->text.empty()
                                 ? title->text
                                 : fmt::format("Channel {}", n);
    const Grid g = scanGrid(f.xres, f.yres, f.xreal, f.yreal, f.xy_unit, f.xoff, f.yoff);
    Map m = channelMap(uniqueName(ds.maps, name), g, f.z_unit, std::move(*f.data), options);
    m.metadata.emplace_back("channel_id", std::to_string(n));
    if (const GwyComponent* mk = top.find(fmt::format("/{}/mask", n)); mk && mk->object) {
      const Field mf = fieldOf(*mk->object, file);
      if (mf.xres != f.xres || mf.yres != f.yres) {
        throw InputError(file, mk->offset,
                         fmt::format("the mask of channel {} is {} x {}, the channel {} x {}", n,
                                     mf.xres, mf.yres, f.xres, f.yres));
      }
      std::size_t masked = 0;
      for (std::size_t i = 0; i < mf.data->size(); ++i) {
        if ((*mf.data)[i] > 0.5 && m.mask[i]) m.mask[i] = 0, ++masked;
      }
      m.metadata.emplace_back("gwyddion_mask_pixels_invalid", std::to_string(masked));
    }
    if (const GwyComponent* meta = top.find(fmt::format("/{}/meta", n)); meta && meta->object) {
      for (const auto& e : meta->object->components) {
        if (e.type == 's') m.metadata.emplace_back("meta." + e.name, e.text);
      }
    }
    ds.maps.push_back(std::move(m));
  }
  return ds;
}

std::unique_ptr<Reader> makeGwyReader() {
  return std::make_unique<GwyReader>();
}

}  // namespace ionmap::spm
