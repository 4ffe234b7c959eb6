#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "generic/readers.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/image_codecs.hpp"

namespace ionmap::generic {
namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string readAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot open the file");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A PNG chunk type as text: four letters, anything else shown as '?' (the bytes of a cut or
// corrupted file are not a C string).
std::string chunkName(const unsigned char* p) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    if (std::isalpha(p[i])) s[static_cast<std::size_t>(i)] = static_cast<char>(p[i]);
  }
  return s;
}

// Walks every PNG chunk up to IEND, checking each length against the file (a file that ends
// before IEND is cut short: the decoder may still return an image with the rest missing), and
// returns the pHYs pixel size in µm when its unit is the metre (0 otherwise).
void checkPng(const std::filesystem::path& path, const std::string& bytes, double& px_um,
              double& py_um) {
  px_um = py_um = 0;
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::uint64_t size = bytes.size();
  std::uint64_t pos = 8;
  while (pos + 12 <= size) {
    const std::uint64_t len = be32(d + pos);
    const std::string type = chunkName(d + pos + 4);
    if (len > size - pos - 12) {
      throw InputError(path.string(), pos,
                       fmt::format("PNG chunk '{}' claims {} bytes, past the end of the file "
                                   "({} bytes; truncated?)",
                                   type, len, size));
    }
    if (type == "IEND") return;
    if (type == "pHYs" && len == 9) {
      const std::uint32_t ppx = be32(d + pos + 8), ppy = be32(d + pos + 12);
      if (d[pos + 16] == 1 && ppx > 0 && ppy > 0) {
        px_um = 1e6 / ppx;
        py_um = 1e6 / ppy;
      }
    }
    pos += len + 12;
  }
  throw InputError(
      path.string(), pos,
      fmt::format("the PNG ends after {} bytes without its IEND chunk (truncated?)", size));
}

// Walks a JPEG's markers from SOI to EOI: every segment's length within the file, and the
// entropy-coded data after each SOS up to the next marker. A JPEG cut short has no EOI; libjpeg
// then fills the missing rows with grey and only warns ("premature end of data"), so the
// structure is checked here instead.
void checkJpeg(const std::filesystem::path& path, const std::string& bytes) {
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  auto truncated = [&](std::size_t at, const std::string& where) {
    return InputError(path.string(), at,
                      fmt::format("the JPEG ends after {} bytes {} (truncated: no end-of-image "
                                  "marker)",
                                  size, where));
  };
  std::size_t pos = 2;  // after SOI (checked by the reader's score)
  while (true) {
    if (pos >= size) throw truncated(pos, "between segments");
    if (d[pos] != 0xFF) {
      throw InputError(path.string(), pos,
                       fmt::format("expected a JPEG marker (0xFF), found 0x{:02X}", d[pos]));
    }
    while (pos < size && d[pos] == 0xFF) ++pos;  // fill bytes before a marker
    if (pos >= size) throw truncated(pos, "inside a marker");
    const unsigned marker = d[pos++];
    if (marker == 0xD9) return;                                          // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (pos + 2 > size) throw truncated(pos, "inside a segment header");
    const std::size_t len = (std::size_t{d[pos]} << 8) | d[pos + 1];
    if (len < 2) {
      throw InputError(
          path.string(), pos,
          fmt::format("JPEG segment 0xFF{:02X} has length {} (at least 2)", marker, len));
    }
    if (len > size - pos) throw truncated(pos, fmt::format("inside segment 0xFF{:02X}", marker));
    pos += len;
    if (marker != 0xDA) continue;
    // Entropy-coded data: 0xFF 0x00 is a stuffed byte, 0xFF 0xD0..D7 a restart marker.
    while (true) {
      if (pos + 1 >= size) throw truncated(pos, "inside the image data");
      if (d[pos] == 0xFF && d[pos + 1] != 0x00 && !(d[pos + 1] >= 0xD0 && d[pos + 1] <= 0xD7) &&
          d[pos + 1] != 0xFF)
        break;
      pos += d[pos] == 0xFF ? 2 : 1;
    }
  }
}

class ImageReader : public Reader {
 public:
  std::string name() const override { return "image"; }
  std::string description() const override {
    return "PNG, BMP and JPEG images (8/16-bit; colour becomes luminance; PNG pHYs pixel size)";
  }
  int score(const std::filesystem::path& path, const std::vector<std::uint8_t>& h) const override {
    const std::string ext = lowerExtension(path);
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (h.size() >= 8 && std::memcmp(h.data(), png, 8) == 0) return ext == "png" ? 100 : 90;
    if (h.size() >= 2 && h[0] == 'B' && h[1] == 'M' && ext == "bmp") return 90;
    if (h.size() >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return 80;
    return 0;
  }
  Dataset load(const std::filesystem::path& path, const ReadOptions& options) const override {
    // The structure is checked before decoding (libjpeg returns images from cut files).
    const std::string bytes = readAll(path);
    const auto* head = reinterpret_cast<const unsigned char*>(bytes.data());
    double px = 0, py = 0;
    if (bytes.size() >= 8 && head[0] == 0x89 && bytes.compare(1, 3, "PNG") == 0) {
      checkPng(path, bytes, px, py);
    } else if (bytes.size() >= 3 && head[0] == 0xFF && head[1] == 0xD8) {
      checkJpeg(path, bytes);
    } else if (bytes.size() >= 2 && bytes.compare(0, 2, "BM") == 0) {
      // decodeBmp checks every size and offset against the file itself.
    } else {
      // Only these three have a decoder here.
      throw InputError(path.string(), 0, "not a PNG, JPEG or BMP file (its first bytes say so)");
    }
    io::Raster img;
    if (head[0] == 0x89) {
      img = io::decodePng(bytes, path);
    } else if (head[0] == 0xFF) {
      img = io::decodeJpeg(bytes, path);
    } else {
      img = io::decodeBmp(bytes, path);
    }
    Grid g;
    g.width = img.width;
    g.height = img.height;
    g.calibrated = px > 0;
    if (g.calibrated) g.pixel_x = px, g.pixel_y = py;
    Map m(options.channel_names.empty() ? path.stem().string() : options.channel_names.front(), g,
          "");
    // Colour becomes luminance (Rec. 601 weights); an alpha channel is ignored.
    const bool colour = img.channels >= 3;
    for (int y = 0; y < g.height; ++y) {
      for (int x = 0; x < g.width; ++x) {
        m.values[static_cast<std::size_t>(y) * static_cast<std::size_t>(g.width) +
                 static_cast<std::size_t>(x)] =
            colour ? 0.114 * img.at(x, y, 2) + 0.587 * img.at(x, y, 1) + 0.299 * img.at(x, y, 0)
                   : img.at(x, y, 0);
      }
    }
    m.metadata.emplace_back("channels_in_file", std::to_string(img.channels));
    m.metadata.emplace_back("depth_bits", std::to_string(img.bits));
    if (colour) m.metadata.emplace_back("colour", "converted to luminance (Rec. 601)");
    for (const std::string& note : img.notes) m.metadata.emplace_back("decoder_warning", note);
    applyReadOptions(m, options);
    Dataset ds;
    ds.format = name();
    ds.maps.push_back(std::move(m));
    return ds;
  }
};

}  // namespace

std::unique_ptr<Reader> makeImageReader() {
  return std::make_unique<ImageReader>();
}

}  // namespace ionmap::generic
