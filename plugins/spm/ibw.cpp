#include "spm/ibw.hpp"

#include <array>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/io/byte_cursor.hpp"
#include "spm/spm_maps.hpp"

namespace ionmap::spm {
namespace {

// Igor number types (TN003): the low bit marks complex data, 0x40 unsigned integers.
std::size_t elementBytes(int type) {
  switch (type & ~0x40) {
    case 2:
      return 4;  // NT_FP32
    case 4:
      return 8;  // NT_FP64
    case 8:
      return 1;  // NT_I8
    case 0x10:
      return 2;  // NT_I16
    case 0x20:
      return 4;  // NT_I32
    default:
      return 0;
  }
}

double element(ByteCursor& c, int type) {
  const bool u = type & 0x40;
  switch (type & ~0x40) {
    case 2:
      return c.get<float>();
    case 4:
      return c.get<double>();
    case 8:
      return u ? c.get<std::uint8_t>() : c.get<std::int8_t>();
    case 0x10:
      return u ? c.get<std::uint16_t>() : c.get<std::int16_t>();
    default:
      return u ? c.get<std::uint32_t>() : c.get<std::int32_t>();
  }
}

struct Wave {
  int version = 0;
  std::string name;
  int type = 0;
  std::array<std::int64_t, 4> dims{0, 0, 0, 0};
  std::array<double, 4> sfA{1, 1, 1, 1}, sfB{0, 0, 0, 0};
  std::string data_units;
  std::array<std::string, 4> dim_units;
  std::size_t data_offset = 0, points = 0;
  std::string note;
  std::array<std::vector<std::string>, 4> labels;  // [0] = the dimension's own label
};

// The 16-bit words of the headers sum to 0 (TN003); a header that fails it is corrupt.
void checkChecksum(const ByteCursor& c, std::size_t bytes) {
  std::uint16_t sum = 0;
  for (std::size_t i = 0; i + 1 < bytes; i += 2)
    sum = static_cast<std::uint16_t>(sum + c.at<std::uint16_t>(i));
  if (sum != 0) {
    c.failAt(0, fmt::format("header checksum mismatch (the {} header bytes do not sum to 0: "
                            "corrupted file)",
                            bytes));
  }
}

Wave parseWave(ByteCursor& c) {
  Wave w;
  const std::uint16_t raw = c.at<std::uint16_t>(0);
  const std::uint16_t swapped = static_cast<std::uint16_t>((raw >> 8) | (raw << 8));
  auto known = [](int v) { return v == 2 || v == 3 || v == 5; };
  if (!known(raw)) {
    if (!known(swapped)) {
      c.failAt(0, fmt::format("version {} (or {} byte-swapped): not an Igor binary wave of "
                              "version 2, 3 or 5",
                              raw, swapped));
    }
    c.setLittleEndian(!c.littleEndian());
  }
  w.version = c.get<std::int16_t>("version");
  std::uint32_t note_size = 0, formula_size = 0, data_eunits = 0;
  std::array<std::uint32_t, 4> dim_eunits{}, label_sizes{};
  if (w.version == 5) {
    c.need(384, "version-5 headers");
    checkChecksum(c, 384);
    c.skip(2);              // checksum
    c.get<std::int32_t>();  // wfmSize (the sections are checked one by one below)
    formula_size = c.get<std::uint32_t>();
    note_size = c.get<std::uint32_t>();
    data_eunits = c.get<std::uint32_t>();
    for (auto& s : dim_eunits) s = c.get<std::uint32_t>();
    for (auto& s : label_sizes) s = c.get<std::uint32_t>();
    c.seek(64 + 12);
    const std::int32_t npnts = c.get<std::int32_t>();
    w.type = c.get<std::int16_t>();
    c.seek(64 + 28);
    w.name = c.fixedString(32);
    c.seek(64 + 68);
    for (auto& d : w.dims) d = c.get<std::int32_t>();
    for (auto& a : w.sfA) a = c.get<double>();
    for (auto& b : w.sfB) b = c.get<double>();
    w.data_units = c.fixedString(4);
    for (auto& u : w.dim_units) u = c.fixedString(4);
    std::int64_t total = 1;
    int rank = 0;
    for (auto d : w.dims) {
      if (d < 0) c.failAt(64 + 68, "a negative dimension size");
      if (d > 0) total *= d, ++rank;
      if (total > (std::int64_t(1) << 40)) c.failAt(64 + 68, "dimensions too large");
    }
    if (rank == 0 || total != npnts) {
      c.failAt(64 + 12, fmt::format("{} points for dimensions {} x {} x {} x {}", npnts, w.dims[0],
                                    w.dims[1], w.dims[2], w.dims[3]));
    }
    w.points = static_cast<std::size_t>(npnts);
    w.data_offset = 384;
  } else {
    const std::size_t header = w.version == 2 ? 16 : 20;
    c.need(header + 110, "version-2/3 headers");
    checkChecksum(c, header + 110);
    c.get<std::int32_t>();  // wfmSize
    note_size = c.get<std::uint32_t>();
    if (w.version == 3) formula_size = c.get<std::uint32_t>();
    c.seek(header);
    w.type = c.get<std::int16_t>();
    c.seek(header + 6);
    w.name = c.fixedString(20);
    c.seek(header + 34);
    w.data_units = c.fixedString(4);
    w.dim_units[0] = c.fixedString(4);
    const std::int32_t npnts = c.get<std::int32_t>();
    c.skip(2);
    w.sfA[0] = c.get<double>();
    w.sfB[0] = c.get<double>();
    if (npnts <= 0) c.failAt(header + 42, fmt::format("{} points", npnts));
    w.dims = {npnts, 0, 0, 0};
    w.points = static_cast<std::size_t>(npnts);
    w.data_offset = header + 110;
  }
  const std::size_t esize = elementBytes(w.type);
  if (w.type & 1) c.failAt(0, "complex data: ionmap reads real waves only");
  if (esize == 0) {
    c.failAt(0, fmt::format("data type {}: {}", w.type,
                            w.type == 0 ? "a text wave, not numbers" : "unknown number type"));
  }
  c.seek(w.data_offset);
  c.need(w.points * esize, "wave data");
  c.skip(w.points * esize);
  // After the data: formula, note, then (version 5) extended units and dimension labels.
  if (w.version == 2) {
    w.note = c.fixedString(note_size, "wave note");
  } else if (w.version == 3) {
    w.note = c.fixedString(note_size, "wave note");
    c.skip(formula_size);
  } else {
    c.skip(formula_size);
    w.note = std::string(reinterpret_cast<const char*>(c.take(note_size, "wave note")), note_size);
    if (data_eunits) w.data_units = c.fixedString(data_eunits, "extended data units");
    for (int i = 0; i < 4; ++i) {
      if (dim_eunits[i]) w.dim_units[i] = c.fixedString(dim_eunits[i], "extended dimension units");
    }
    for (int i = 0; i < 4; ++i) {
      if (!label_sizes[i]) continue;
      if (label_sizes[i] % 32 != 0)
        c.fail(fmt::format("dimension labels of dimension {}: {} bytes, not a multiple of 32", i,
                           label_sizes[i]));
      for (std::uint32_t k = 0; k < label_sizes[i] / 32; ++k)
        w.labels[i].push_back(c.fixedString(32, "dimension label"));
    }
  }
  return w;
}

// "Key: value" lines of an Asylum note.
std::string noteValue(const std::string& note, const std::string& key) {
  std::size_t pos = 0;
  while (pos < note.size()) {
    std::size_t eol = note.find_first_of("\r\n", pos);
    if (eol == std::string::npos) eol = note.size();
    const std::string line = note.substr(pos, eol - pos);
    if (line.rfind(key + ":", 0) == 0) {
      const std::string v = line.substr(key.size() + 1);
      const auto b = v.find_first_not_of(' ');
      return b == std::string::npos ? "" : v.substr(b);
    }
    pos = eol + 1;
  }
  return "";
}

// An Asylum channel's unit from its name: the quantity the name starts with, or the note's
// "<input>Unit" entry for auxiliary inputs (UserIn0, BackPackIn2, Lateral, ...).
std::string channelUnit(const std::string& channel, const Wave& w) {
  std::string base = channel;
  for (const char* suffix : {"Retrace", "Trace"}) {
    const std::string s = suffix;
    if (base.size() > s.size() && base.compare(base.size() - s.size(), s.size(), s) == 0) {
      base.resize(base.size() - s.size());
      break;
    }
  }
  const std::string from_note = noteValue(w.note, base + "Unit");
  if (!from_note.empty()) return from_note == "\xb0" ? "deg" : from_note;
  static const std::pair<const char*, const char*> kUnits[] = {
      {"Height", "m"},      {"ZSensor", "m"},      {"Deflection", "m"}, {"Amplitude", "m"},
      {"Amp", "m"},         {"Phase", "deg"},      {"Current", "A"},    {"Frequency", "Hz"},
      {"Capacitance", "F"}, {"NapPotential", "V"}, {"Potential", "V"},  {"SurfacePotential", "V"},
      {"Voltage", "V"},     {"Bias", "V"},         {"Count", ""},       {"QFactor", ""}};
  for (const auto& [prefix, unit] : kUnits) {
    if (base.rfind(prefix, 0) == 0) return unit;
  }
  return w.data_units;
}

class IbwReader final : public Reader {
 public:
  std::string name() const override { return "ibw"; }
  std::string description() const override {
    return "Igor binary waves (.ibw v2, v3, v5, either byte order): Asylum Research channel "
           "stacks as maps named by their labels, 1-D waves as tables";
  }
  int score(const std::filesystem::path& path,
            const std::vector<std::uint8_t>& head) const override {
    if (lowerExtension(path) != "ibw" || head.size() < 2) return 0;
    const int v = head[0] | (head[1] << 8), vb = (head[0] << 8) | head[1];
    for (int k : {2, 3, 5}) {
      if (v == k || vb == k) return 95;
    }
    return 0;
  }

  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    const std::vector<std::uint8_t> bytes = readFileBytes(path);
    ByteCursor c(path.string(), bytes, true);
    const Wave w = parseWave(c);
    Dataset ds;
    ds.format = name();
    ds.metadata.emplace_back("wave", w.name);
    ds.metadata.emplace_back("igor_version", std::to_string(w.version));
    for (const char* key : {"ImagingMode", "ScanSize", "ScanRate", "Date", "Time"}) {
      if (const std::string v = noteValue(w.note, key); !v.empty())
        ds.metadata.emplace_back(key, v);
    }
    c.seek(w.data_offset);
    if (w.dims[1] == 0) {
      ds.tables.push_back(waveTable(c, w));
      return ds;
    }
    if (w.dims[3] > 0) c.failAt(64 + 68, "a 4-D wave: ionmap reads 1-D, 2-D and 3-D waves");
    if (w.dims[0] > (1 << 20) || w.dims[1] > (1 << 20))
      c.failAt(64 + 68, fmt::format("an image of {} x {} points (at most 2^20 a side)", w.dims[0],
                                    w.dims[1]));
    const int nx = static_cast<int>(w.dims[0]), ny = static_cast<int>(w.dims[1]);
    const std::int64_t layers = std::max<std::int64_t>(1, w.dims[2]);
    const Grid g =
        scanGrid(nx, ny, w.sfA[0] * nx, w.sfA[1] * ny, w.dim_units[0], w.sfB[0], w.sfB[1]);
    for (std::int64_t k = 0; k < layers; ++k) {
      // Column-major: x (dimension 0) runs fastest; Igor's y axis points up, so the first row
      // of the wave is the bottom of the image.
      std::vector<double> v(static_cast<std::size_t>(nx) * ny);
      for (int y = 0; y < ny; ++y) {
        for (int x = 0; x < nx; ++x)
          v[static_cast<std::size_t>(ny - 1 - y) * nx + x] = element(c, w.type);
      }
      const std::size_t label = static_cast<std::size_t>(k) + 1;
      std::string channel = label < w.labels[2].size() ? w.labels[2][label] : "";
      if (channel.empty()) channel = layers == 1 ? w.name : fmt::format("{} layer {}", w.name, k);
      const std::string unit = w.labels[2].empty() ? w.data_units : channelUnit(channel, w);
      ds.maps.push_back(channelMap(uniqueName(ds.maps, channel), g, unit, std::move(v), options));
    }
    return ds;
  }

 private:
  static Table waveTable(ByteCursor& c, const Wave& w) {
    Table t(w.name.empty() ? "wave" : w.name);
    t.addNumeric("x", w.dim_units[0]);
    t.addNumeric("value", w.data_units);
    for (std::size_t i = 0; i < w.points; ++i)
      t.addRow({w.sfB[0] + static_cast<double>(i) * w.sfA[0], element(c, w.type)});
    return t;
  }
};

}  // namespace

std::unique_ptr<Reader> makeIbwReader() {
  return std::make_unique<IbwReader>();
}

}  // namespace ionmap::spm
