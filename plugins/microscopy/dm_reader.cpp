// Gatan DigitalMicrograph .dm3/.dm4 images: a big-endian tag tree (DM4: 64-bit sizes) with
// data in the byte order the header names. Every count, length and offset is checked against
// the file before it is used; array data is not read while parsing, only located. The image is
// the largest entry of ImageList (entry 0 is usually a thumbnail); its calibration (scale,
// units, origin per dimension) gives the pixel size. One-dimensional data (spectra) are
// refused as "not an image".
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/core/units.hpp"
#include "ionmap/pipeline/registry.hpp"

namespace ionmap::microscopy {
namespace {

struct Tag {
  std::string name;
  bool group = false;
  std::vector<Tag> children;
  // Data tags:
  int type = 0;              // DM simple type, 18 string, 20 array, 15 struct
  double value = NAN;        // simple scalars
  std::string text;          // strings and short ushort arrays (UTF-16 text such as Units)
  int elem_type = 0;         // arrays: element type
  std::uint64_t count = 0;   // arrays: elements
  std::uint64_t offset = 0;  // arrays: byte offset of the data

  const Tag* child(const std::string& n) const {
    for (const auto& c : children) {
      if (c.name == n) return &c;
    }
    return nullptr;
  }
};

// UTF-16 code unit (BMP only, as DM writes units and names) → UTF-8.
void appendUtf8(std::string& out, unsigned u) {
  if (u < 0x80) {
    out += static_cast<char>(u);
  } else if (u < 0x800) {
    out += static_cast<char>(0xC0 | (u >> 6)), out += static_cast<char>(0x80 | (u & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (u >> 12)), out += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (u & 0x3F));
  }
}

std::size_t simpleSize(int t) {
  switch (t) {
    case 2:
    case 4:
      return 2;
    case 3:
    case 5:
    case 6:
      return 4;
    case 7:
    case 11:
    case 12:
      return 8;
    case 8:
    case 9:
    case 10:
      return 1;
    default:
      return 0;
  }
}

// A value of DM simple type `type` from little-endian bytes.
double decodeLittle(int type, const unsigned char* b) {
  switch (type) {
    case 2: {
      std::int16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
    case 3: {
      std::int32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case 4: {
      std::uint16_t v;
      std::memcpy(&v, b, 2);
      return v;
    }
    case 5: {
      std::uint32_t v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case 6: {
      float v;
      std::memcpy(&v, b, 4);
      return v;
    }
    case 7: {
      double v;
      std::memcpy(&v, b, 8);
      return v;
    }
    case 9:
      return static_cast<std::int8_t>(b[0]);
    case 11: {
      std::int64_t v;
      std::memcpy(&v, b, 8);
      return static_cast<double>(v);
    }
    case 12: {
      std::uint64_t v;
      std::memcpy(&v, b, 8);
      return static_cast<double>(v);
    }
    default:
      return b[0];
  }
}

class Parser {
 public:
  explicit Parser(const std::filesystem::path& p) : file_(p.string()), in_(p, std::ios::binary) {
    if (!in_) throw InputError(file_, "cannot open");
    std::error_code ec;
    size_ = std::filesystem::file_size(p, ec);
  }

  Tag parse() {
    version_ = static_cast<int>(be(4));
    if (version_ != 3 && version_ != 4) {
      throw InputError(file_, 0,
                       fmt::format("version {}: not a DigitalMicrograph 3/4 file", version_));
    }
    be(version_ == 4 ? 8 : 4);  // root length (not trusted: sizes are checked as they come)
    little_ = be(4) == 1;
    Tag root;
    root.group = true;
    readGroup(root, 0);
    return root;
  }

  double readScalar(int type, std::uint64_t at) {
    seek(at, simpleSize(type));
    return scalar(type);
  }
  std::uint64_t size() const { return size_; }
  const std::string& file() const { return file_; }
  bool little() const { return little_; }

 private:
  void need(std::uint64_t bytes) {
    const std::uint64_t pos = static_cast<std::uint64_t>(in_.tellg());
    if (!in_ || bytes > size_ || pos > size_ - bytes) {
      throw InputError(
          file_, pos,
          fmt::format("{} more bytes needed, the file ends at byte {} (truncated?)", bytes, size_));
    }
  }
  void seek(std::uint64_t at, std::uint64_t bytes) {
    if (at > size_ || bytes > size_ - at) {
      throw InputError(
          file_, at,
          fmt::format("{} bytes at this offset lie past the end of the file ({} bytes)", bytes,
                      size_));
    }
    in_.seekg(static_cast<std::streamoff>(at));
  }
  std::uint64_t be(int bytes) {
    need(static_cast<std::uint64_t>(bytes));
    unsigned char b[8];
    in_.read(reinterpret_cast<char*>(b), bytes);
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | b[i];
    return v;
  }
  double scalar(int type) {
    const std::size_t n = simpleSize(type);
    if (!n)
      throw InputError(file_, static_cast<std::uint64_t>(in_.tellg()),
                       fmt::format("unknown data type {}", type));
    need(n);
    unsigned char b[8];
    in_.read(reinterpret_cast<char*>(b), static_cast<std::streamsize>(n));
    if (!little_) std::reverse(b, b + n);  // to little-endian
    return decodeLittle(type, b);
  }
  void skip(std::uint64_t bytes) {
    const std::uint64_t pos = static_cast<std::uint64_t>(in_.tellg());
    seek(pos + 0, 0);
    if (bytes > size_ - pos)
      throw InputError(file_, pos,
                       fmt::format("a block of {} bytes runs past the end of the file", bytes));
    in_.seekg(static_cast<std::streamoff>(pos + bytes));
  }

  void readGroup(Tag& g, int depth) {
    if (depth > 64)
      throw InputError(file_, static_cast<std::uint64_t>(in_.tellg()),
                       "tag groups nested deeper than 64");
    be(1), be(1);  // sorted, open
    const std::uint64_t n = be(version_ == 4 ? 8 : 4);
    if (n > 1000000)
      throw InputError(file_, static_cast<std::uint64_t>(in_.tellg()),
                       fmt::format("implausible tag count {}", n));
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t at = static_cast<std::uint64_t>(in_.tellg());
      const int kind = static_cast<int>(be(1));
      const std::uint64_t len = be(2);
      need(len);
      std::string name(len, '\0');
      in_.read(name.data(), static_cast<std::streamsize>(len));
      if (version_ == 4) be(8);  // tag size (not trusted)
      Tag t;
      t.name = name;
      if (kind == 20) {
        t.group = true;
        readGroup(t, depth + 1);
      } else if (kind == 21) {
        readData(t);
      } else {
        throw InputError(file_, at,
                         fmt::format("tag type {} is neither a group (20) nor data (21)", kind));
      }
      g.children.push_back(std::move(t));
    }
  }

  void readData(Tag& t) {
    const std::uint64_t at = static_cast<std::uint64_t>(in_.tellg());
    need(4);
    char delim[4];
    in_.read(delim, 4);
    if (std::memcmp(delim, "%%%%", 4) != 0)
      throw InputError(file_, at, "data tag without its '%%%%' marker");
    const int w = version_ == 4 ? 8 : 4;
    const std::uint64_t ninfo = be(w);
    if (ninfo == 0 || ninfo > 1000)
      throw InputError(file_, at, fmt::format("implausible tag info length {}", ninfo));
    std::vector<std::uint64_t> info(ninfo);
    for (auto& v : info) v = be(w);
    t.type = static_cast<int>(info[0]);
    if (simpleSize(t.type)) {
      t.value = scalar(t.type);
    } else if (t.type == 18 && ninfo >= 2) {  // string: UTF-16 code units
      const std::uint64_t n = info[1];
      need(2 * n);
      for (std::uint64_t i = 0; i < n; ++i) appendUtf8(t.text, static_cast<unsigned>(scalar(4)));
    } else if (t.type == 20 && ninfo >= 3 && simpleSize(static_cast<int>(info[1]))) {
      t.elem_type = static_cast<int>(info[1]);
      t.count = info[2];
      t.offset = static_cast<std::uint64_t>(in_.tellg());
      const std::uint64_t bytes = t.count * simpleSize(t.elem_type);
      if (t.count > size_)
        throw InputError(file_, at,
                         fmt::format("array of {} elements in a {}-byte file", t.count, size_));
      if (t.elem_type == 4 && t.count <= 256) {  // short ushort arrays are text (units, names)
        for (std::uint64_t i = 0; i < t.count; ++i)
          appendUtf8(t.text, static_cast<unsigned>(scalar(4)));
      } else {
        skip(bytes);
      }
    } else if (t.type == 15 && ninfo >= 3) {  // struct: skip its fields
      // Compared by division: a field count near 2^63 from a corrupt file made 3 + 2·fields
      // wrap around and pass (a heap overflow found by fuzzing).
      const std::uint64_t fields = info[2];
      if (fields > (ninfo - 3) / 2)
        throw InputError(file_, at, "struct tag info is shorter than its field list");
      for (std::uint64_t f = 0; f < fields; ++f) scalar(static_cast<int>(info[4 + 2 * f]));
    } else if (t.type == 20 && ninfo >= 5 && info[1] == 15) {  // array of structs
      const std::uint64_t fields = info[3];
      if (fields > (ninfo - 5) / 2)
        throw InputError(file_, at, "array-of-struct tag info is too short");
      std::uint64_t bytes = 0;
      for (std::uint64_t f = 0; f < fields; ++f)
        bytes += simpleSize(static_cast<int>(info[5 + 2 * f]));
      const std::uint64_t count = info[ninfo - 1];
      if (bytes && count > size_ / bytes)
        throw InputError(file_, at, "array of structs larger than the file");
      skip(bytes * count);
    } else {
      throw InputError(file_, at, fmt::format("unsupported tag data type {}", t.type));
    }
  }

  std::string file_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
  int version_ = 0;
  bool little_ = true;
};

// A DataType tag's value as a code; -1 for anything no code is (NaN, 1e30: converting those to
// an int is undefined behaviour).
int typeCode(double v) {
  return std::abs(v) < 1e6 ? static_cast<int>(v) : -1;
}

int simpleTypeOfImage(int dm_data_type) {  // DataType tag → element type
  switch (dm_data_type) {
    case 1:
      return 2;  // int16
    case 2:
      return 6;  // float32
    case 6:
      return 10;  // uint8
    case 7:
      return 3;  // int32
    case 9:
      return 9;  // int8
    case 10:
      return 4;  // uint16
    case 11:
      return 5;  // uint32
    case 12:
      return 7;  // float64
    default:
      return 0;  // complex, RGB, bool: not supported
  }
}

class DmReader : public Reader {
 public:
  std::string name() const override { return "dm"; }
  std::string description() const override {
    return "Gatan DigitalMicrograph .dm3/.dm4 images with their calibration (spectra are refused)";
  }
  int score(const std::filesystem::path& p, const std::vector<std::uint8_t>& h) const override {
    const std::string ext = lowerExtension(p);
    const bool magic =
        h.size() >= 4 && h[0] == 0 && h[1] == 0 && h[2] == 0 && (h[3] == 3 || h[3] == 4);
    if (!magic) return 0;
    return ext == "dm3" || ext == "dm4" ? 100 : 60;
  }

  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    Parser p(path);
    const Tag root = p.parse();
    const Tag* list = root.child("ImageList");
    if (!list || list->children.empty()) throw InputError(p.file(), "no ImageList: holds no image");
    // The largest entry with data of a supported type (entry 0 is usually an RGB thumbnail).
    const Tag* best = nullptr;
    std::uint64_t best_count = 0;
    for (const auto& e : list->children) {
      const Tag* id = e.child("ImageData");
      const Tag* d = id ? id->child("Data") : nullptr;
      const Tag* t = id ? id->child("DataType") : nullptr;
      if (d && t && simpleTypeOfImage(typeCode(t->value)) && d->count > best_count)
        best = &e, best_count = d->count;
    }
    if (!best)
      throw InputError(p.file(), "ImageList holds no data of a supported type (integer or real)");
    const Tag& img = *best->child("ImageData");
    std::vector<std::uint64_t> dims;
    if (const Tag* dt = img.child("Dimensions")) {
      for (const auto& c : dt->children) {
        // A dimension is a count: NaN or 1e30 cannot become one (undefined behaviour, found by
        // fuzzing).
        if (!(c.value >= 0 && c.value <= 4294967295.0) || c.value != std::floor(c.value)) {
          throw InputError(p.file(),
                           fmt::format("image dimension {:g} is not a pixel count", c.value));
        }
        dims.push_back(static_cast<std::uint64_t>(c.value));
      }
    }
    // Dimensions of 1 (a spectrum stored as 2048 x 1) do not make an image.
    std::size_t extended = 0;
    for (auto d : dims) extended += d > 1;
    if (dims.size() < 2 || dims[0] <= 1 || dims[1] <= 1) {
      std::string shape;
      for (auto d : dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
      throw InputError(p.file(),
                       fmt::format("holds {}-dimensional data ({}): a spectrum or profile, not "
                                   "an image",
                                   extended, shape.empty() ? "no dimensions" : shape));
    }
    const Tag* type_tag = img.child("DataType");
    const int elem = type_tag ? simpleTypeOfImage(typeCode(type_tag->value)) : 0;
    if (!elem) {
      throw InputError(p.file(),
                       fmt::format("image data type {} (complex or colour) is not supported",
                                   type_tag ? type_tag->value : -1));
    }
    const Tag& data = *img.child("Data");
    std::uint64_t pixels = 1;
    for (auto d : dims) pixels *= d;
    if (dims[0] == 0 || dims[1] == 0 || dims[0] > 65536 || dims[1] > 65536 ||
        pixels != data.count) {
      throw InputError(p.file(), data.offset,
                       fmt::format("dimensions {} x {} disagree with {} stored values", dims[0],
                                   dims[1], data.count));
    }
    if (data.elem_type != elem && simpleSize(data.elem_type) != simpleSize(elem)) {
      throw InputError(p.file(), data.offset,
                       "the data array's element type disagrees with DataType");
    }
    // Calibration of x and y.
    double px = 0, py = 0;
    std::string value_unit;
    if (const Tag* cal = img.child("Calibrations")) {
      if (const Tag* dimcal = cal->child("Dimension"); dimcal && dimcal->children.size() >= 2) {
        // An axis calibrated in something other than a length (eV, 1/nm, s) is not a
        // real-space image axis: a spectrum image, a diffraction pattern or a time series.
        auto scaleOf = [&](const Tag& c) {
          const Tag* s = c.child("Scale");
          const Tag* u = c.child("Units");
          const auto f = u ? units::lengthToMicrometres(u->text) : std::nullopt;
          if (u && !u->text.empty() && !f) {
            throw InputError(p.file(),
                             fmt::format("an image axis is calibrated in '{}', not a length: a "
                                         "spectrum, diffraction pattern or time series, not a "
                                         "real-space image",
                                         u->text));
          }
          return s && f && s->value > 0 ? s->value * *f : 0.0;
        };
        px = scaleOf(dimcal->children[0]);
        py = scaleOf(dimcal->children[1]);
      }
      if (const Tag* b = cal->child("Brightness"); b && b->child("Units"))
        value_unit = b->child("Units")->text;
    }
    const int w = static_cast<int>(dims[0]), h = static_cast<int>(dims[1]);
    const std::uint64_t frames = pixels / (static_cast<std::uint64_t>(w) * h);
    Dataset ds;
    ds.format = name();
    const std::size_t esize = simpleSize(elem);
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> buf(static_cast<std::size_t>(w) * esize);
    for (std::uint64_t f = 0; f < frames && f < 4096; ++f) {
      Grid g;
      g.width = w, g.height = h;
      g.calibrated = px > 0 && py > 0;
      if (g.calibrated) g.pixel_x = px, g.pixel_y = py;
      Map m(frames == 1 ? path.stem().string() : fmt::format("frame{}", f), g, value_unit);
      for (int y = 0; y < h; ++y) {
        const std::uint64_t at =
            data.offset + ((f * h + static_cast<std::uint64_t>(y)) * w) * esize;
        in.seekg(static_cast<std::streamoff>(at));
        in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
        if (!in) throw InputError(p.file(), at, "image data cut short");
        for (int x = 0; x < w; ++x) {
          unsigned char b[8];
          std::memcpy(b, buf.data() + x * esize, esize);
          if (!p.little()) std::reverse(b, b + esize);
          const double v = decodeLittle(elem, b);
          m.values(x, y) = v;
        }
      }
      m.metadata.emplace_back(
          "dimensions",
          fmt::format("{} x {}{}", w, h, frames > 1 ? fmt::format(" x {}", frames) : ""));
      if (options.pixel_x > 0) {
        m.grid.pixel_x = options.pixel_x;
        m.grid.pixel_y = options.pixel_y > 0 ? options.pixel_y : options.pixel_x;
        m.grid.calibrated = true;
      }
      if (!options.unit.empty()) m.unit = options.unit;
      ds.maps.push_back(std::move(m));
    }
    if (const Tag* tags = best->child("ImageTags")) {
      if (const Tag* mic = tags->child("Microscope Info")) {
        if (const Tag* v = mic->child("Voltage"))
          ds.metadata.emplace_back("voltage_V", fmt::format("{:g}", v->value));
      }
    }
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeDmReader() {
  return std::make_unique<DmReader>();
}

}  // namespace ionmap::microscopy

namespace ionmap {
void ionmap_register_microscopy(Registry& registry) {
  registry.addReader(microscopy::makeDmReader(), "microscopy");
}
}  // namespace ionmap
