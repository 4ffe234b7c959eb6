// Windows bitmaps (BMP), decoded here: the OS/2 and Windows headers (12 to 124 bytes), 1/4/8-bit
// palettes, 16/24/32-bit pixels (BI_RGB, or BI_BITFIELDS masks), bottom-up or top-down rows.
// Compressed bitmaps (RLE, embedded JPEG/PNG) are refused by name. Every size and offset is
// checked against the file before it is used.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/image_codecs.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::io {
namespace {

std::uint32_t le16(const unsigned char* p) {
  return p[0] | (std::uint32_t{p[1]} << 8);
}
std::uint32_t le32(const unsigned char* p) {
  return p[0] | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

// A BI_BITFIELDS channel: where its bits are and how many, scaled to 8 bits when read.
struct Field {
  int shift = 0, width = 0;
  explicit Field(std::uint32_t mask = 0) {
    if (mask == 0) return;
    while (!(mask & 1u)) mask >>= 1, ++shift;
    while (mask & 1u) mask >>= 1, ++width;
    if (mask != 0) width = -1;  // not contiguous
  }
  std::uint16_t of(std::uint32_t v) const {
    if (width <= 0) return 0;
    const std::uint32_t x = (v >> shift) & ((1u << width) - 1u);
    return static_cast<std::uint16_t>((x * 255u + ((1u << width) - 1u) / 2) / ((1u << width) - 1u));
  }
};

}  // namespace

Raster decodeBmp(const std::string& bytes, const std::filesystem::path& file) {
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::uint64_t size = bytes.size();
  auto fail = [&](std::uint64_t at, const std::string& why) {
    return InputError(file.string(), at, "BMP: " + why);
  };
  if (size < 26 || d[0] != 'B' || d[1] != 'M')
    throw fail(0, fmt::format("a bitmap starts with 'BM' and at least 26 bytes of headers; the "
                              "file has {} bytes",
                              size));
  const std::uint64_t offset = le32(d + 10);
  const std::uint32_t header = le32(d + 14);
  if (header != 12 && header != 40 && header != 52 && header != 56 && header != 64 &&
      header != 108 && header != 124)
    throw fail(14, fmt::format("unknown header size {} (expected 12, 40, 52, 56, 64, 108 or 124)",
                               header));
  if (14 + std::uint64_t{header} > size)
    throw fail(14, fmt::format("the {}-byte header ends past the end of the file ({} bytes)",
                               header, size));
  const bool core = header == 12;
  // (Signed: a negative height means rows stored top-down.)
  const std::int64_t w =
      core ? std::int64_t{le16(d + 18)} : std::int64_t{static_cast<std::int32_t>(le32(d + 18))};
  const std::int64_t h_raw =
      core ? std::int64_t{le16(d + 20)} : std::int64_t{static_cast<std::int32_t>(le32(d + 22))};
  const std::uint32_t bpp = core ? le16(d + 24) : le16(d + 28);
  const std::uint32_t compression = core ? 0 : le32(d + 30);
  const bool top_down = h_raw < 0;
  const std::int64_t h = std::abs(h_raw);
  if (w <= 0 || h <= 0 || w > 1000000 || h > 1000000)
    throw fail(18, fmt::format("a {} x {} bitmap (each side must be 1 .. 1000000)", w, h_raw));
  if (header == 64 && compression != 0)  // OS/2 2.x numbers its compressions differently
    throw fail(30, fmt::format("OS/2 compression {} is not read; save the image uncompressed",
                               compression));
  if (compression != 0 && compression != 3) {
    static const char* names[] = {"BI_RGB",       "RLE8",          "RLE4",
                                  "BI_BITFIELDS", "embedded JPEG", "embedded PNG"};
    throw fail(30, fmt::format("compression {} ({}) is not read; save the image uncompressed",
                               compression, compression < 6 ? names[compression] : "unknown"));
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
    throw fail(28, fmt::format("{} bits per pixel (expected 1, 4, 8, 16, 24 or 32)", bpp));
  if (compression == 3 && bpp != 16 && bpp != 32)
    throw fail(30, fmt::format("BI_BITFIELDS with {} bits per pixel (only 16 or 32)", bpp));

  // Palette (1-8 bits): after the header, 3 bytes per entry (OS/2) or 4.
  std::vector<std::uint32_t> palette;  // 0x00RRGGBB
  if (bpp <= 8) {
    const std::uint64_t entry = core ? 3 : 4;
    std::uint64_t colours = core ? 0 : le32(d + 46);
    if (colours == 0 || colours > (1u << bpp)) colours = 1u << bpp;
    const std::uint64_t at = 14 + std::uint64_t{header};
    // A palette cut short by where the pixels start (OS/2 headers give no count): the entries
    // that fit; a pixel past them is an error below.
    if (offset > at) colours = std::min(colours, (offset - at) / entry);
    if (at + colours * entry > size || at + colours * entry > offset)
      throw fail(at, fmt::format("the {}-colour palette does not fit before the pixels", colours));
    for (std::uint64_t i = 0; i < colours; ++i) {
      const unsigned char* c = d + at + i * entry;
      palette.push_back(c[0] | (std::uint32_t{c[1]} << 8) | (std::uint32_t{c[2]} << 16));
    }
  }
  // Channel masks: BI_BITFIELDS masks follow a 40-byte header (or are inside a longer one).
  Field red, green, blue, alpha;
  if (compression == 3) {
    const std::uint64_t at = 14 + 40;
    if (at + 12 > size) throw fail(at, "the BI_BITFIELDS masks are missing");
    red = Field(le32(d + at)), green = Field(le32(d + at + 4)), blue = Field(le32(d + at + 8));
    if (header >= 56 && at + 16 <= size) alpha = Field(le32(d + at + 12));
  } else if (bpp == 16) {
    red = Field(0x7C00), green = Field(0x03E0), blue = Field(0x001F);
  }
  if (red.width < 0 || green.width < 0 || blue.width < 0 || alpha.width < 0 || red.width > 16 ||
      green.width > 16 || blue.width > 16 || alpha.width > 16)
    throw fail(54, "a BI_BITFIELDS mask is not one run of at most 16 bits");

  if (offset < 14 + std::uint64_t{header})
    throw fail(10, fmt::format("the pixel data start at byte {}, inside the {}-byte headers",
                               offset, 14 + header));
  const std::uint64_t row = (std::uint64_t(w) * bpp + 31) / 32 * 4;
  if (offset > size || row * std::uint64_t(h) > size - offset)
    throw fail(size, fmt::format("the {} x {} pixels of {} bits end at byte {}, past the end of "
                                 "the file ({} bytes; truncated?)",
                                 w, h, bpp, offset + row * std::uint64_t(h), size));
  bool grey = true;
  for (std::uint32_t c : palette)
    grey = grey && (c & 0xFF) == ((c >> 8) & 0xFF) && (c & 0xFF) == ((c >> 16) & 0xFF);
  Raster out;
  out.width = static_cast<int>(w);
  out.height = static_cast<int>(h);
  out.channels = bpp <= 8 && grey ? 1 : 3;
  out.bits = 8;
  const std::uint64_t count = std::uint64_t(w) * std::uint64_t(h) * std::uint64_t(out.channels);
  checkMemory(file, count * 2, fmt::format("a {} x {} bitmap", w, h));
  out.samples.resize(count);
  for (std::int64_t y = 0; y < h; ++y) {
    const unsigned char* src = d + offset + row * std::uint64_t(top_down ? y : h - 1 - y);
    std::uint16_t* dst =
        out.samples.data() + std::uint64_t(y) * std::uint64_t(w) * std::uint64_t(out.channels);
    for (std::int64_t x = 0; x < w; ++x) {
      std::uint16_t r = 0, g = 0, b = 0;
      if (bpp <= 8) {
        const std::uint64_t bit = std::uint64_t(x) * bpp;
        const unsigned v = (src[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1u);
        if (v >= palette.size())
          throw fail(offset, fmt::format("pixel ({}, {}) uses colour {} of a {}-colour palette", x,
                                         y, v, palette.size()));
        const std::uint32_t c = palette[v];
        r = (c >> 16) & 0xFF, g = (c >> 8) & 0xFF, b = c & 0xFF;
      } else if (bpp == 24) {
        b = src[3 * x], g = src[3 * x + 1], r = src[3 * x + 2];
      } else if (bpp == 32 && compression == 0) {
        b = src[4 * x], g = src[4 * x + 1], r = src[4 * x + 2];
      } else {
        const std::uint32_t v = bpp == 16 ? le16(src + 2 * x) : le32(src + 4 * x);
        r = red.of(v), g = green.of(v), b = blue.of(v);
      }
      if (out.channels == 1) {
        dst[x] = r;
      } else {
        dst[3 * x] = r, dst[3 * x + 1] = g, dst[3 * x + 2] = b;
      }
    }
  }
  return out;
}

}  // namespace ionmap::io
