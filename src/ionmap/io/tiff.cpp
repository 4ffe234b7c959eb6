#include "ionmap/io/tiff.hpp"

#include "ionmap/io/tiff_calibration.hpp"

#include <tiffio.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::tiff {
namespace {

// libtiff reports through global handlers; keep the last message per thread.
thread_local std::string t_last_error;

void errorHandler(const char* module, const char* fmt_str, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt_str, ap);
  t_last_error = module ? std::string(module) + ": " + buf : buf;
}

void warningHandler(const char*, const char*, va_list) {}  // unknown tags etc.: not our concern

void installHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    TIFFSetErrorHandler(errorHandler);
    TIFFSetWarningHandler(warningHandler);
  });
}

struct TiffCloser {
  void operator()(TIFF* t) const {
    if (t) TIFFClose(t);
  }
};
using TiffPtr = std::unique_ptr<TIFF, TiffCloser>;

std::string lastError() {
  return t_last_error.empty() ? "unknown libtiff error" : t_last_error;
}

template <typename T>
double sampleAt(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return static_cast<double>(v);
}

using Decoder = double (*)(const unsigned char*);

Decoder decoderFor(std::uint16_t bits, std::uint16_t format) {
  if (format == SAMPLEFORMAT_IEEEFP) {
    if (bits == 32) return sampleAt<float>;
    if (bits == 64) return sampleAt<double>;
  } else if (format == SAMPLEFORMAT_INT) {
    if (bits == 8) return sampleAt<std::int8_t>;
    if (bits == 16) return sampleAt<std::int16_t>;
    if (bits == 32) return sampleAt<std::int32_t>;
    if (bits == 64) return sampleAt<std::int64_t>;
  } else if (format == SAMPLEFORMAT_UINT || format == SAMPLEFORMAT_VOID) {
    // VOID (untyped) is read as unsigned, as other readers do; complex samples are refused
    if (bits == 8) return sampleAt<std::uint8_t>;
    if (bits == 16) return sampleAt<std::uint16_t>;
    if (bits == 32) return sampleAt<std::uint32_t>;
    if (bits == 64) return sampleAt<std::uint64_t>;
  }
  return nullptr;
}

void checkBlocks(TIFF* t, const std::string& file, std::uint64_t file_size, int page_index) {
  const bool tiled = TIFFIsTiled(t);
  const tmsize_t n = tiled ? TIFFNumberOfTiles(t) : TIFFNumberOfStrips(t);
  std::uint64_t* offsets = nullptr;
  std::uint64_t* counts = nullptr;
  const ttag_t off_tag = tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS;
  const ttag_t cnt_tag = tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS;
  if (TIFFGetField(t, off_tag, &offsets) != 1 || TIFFGetField(t, cnt_tag, &counts) != 1 ||
      !offsets || !counts) {
    throw InputError(file, fmt::format("page {}: no {} offsets/byte counts ({})", page_index,
                                       tiled ? "tile" : "strip", lastError()));
  }
  for (tmsize_t i = 0; i < n; ++i) {
    if (offsets[i] > file_size || counts[i] > file_size - offsets[i]) {
      throw InputError(file, offsets[i],
                       fmt::format("page {}: {} {} claims {} bytes, but the file ends at byte {} "
                                   "(truncated file?)",
                                   page_index, tiled ? "tile" : "strip", i, counts[i], file_size));
    }
  }
}

Page readPage(TIFF* t, const std::string& file, std::uint64_t file_size, int page_index) {
  std::uint32_t w = 0, h = 0;
  std::uint16_t bits = 0, spp = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
  std::uint16_t compression = COMPRESSION_NONE, photometric = PHOTOMETRIC_MINISBLACK;
  if (TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) != 1 ||
      TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h) != 1) {
    throw InputError(file, fmt::format("page {}: missing image width/length tags", page_index));
  }
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
  TIFFGetFieldDefaulted(t, TIFFTAG_PHOTOMETRIC, &photometric);
  constexpr std::uint32_t kMaxSide = 1u << 17;
  if (w == 0 || h == 0 || w > kMaxSide || h > kMaxSide ||
      static_cast<std::uint64_t>(w) * h > (1ull << 31)) {
    throw InputError(file,
                     fmt::format("page {}: implausible image size {} x {}", page_index, w, h));
  }
  const Decoder decode = decoderFor(bits, format);
  if (!decode || spp < 1 || spp > 4) {
    static const char* const kFormats[] = {"?",    "unsigned integer", "signed integer", "float",
                                           "void", "complex integer",  "complex float"};
    throw InputError(
        file, fmt::format("page {}: unsupported sample layout ({} bits, SampleFormat "
                          "{} ({}), {} samples per pixel); expected 8/16/32/64-bit "
                          "integer or 32/64-bit float with 1-4 samples",
                          page_index, bits, format, format < 7 ? kFormats[format] : "?", spp));
  }
  if (spp > 1 && planar != PLANARCONFIG_CONTIG) {
    throw InputError(file,
                     fmt::format("page {}: separate colour planes are not supported", page_index));
  }
  checkBlocks(t, file, file_size, page_index);
  // A compressed page can declare far more pixels than its file holds (found by fuzzing: 6 GB
  // from a few kB): the map is checked against the memory budget before it is allocated.
  checkMemory(file, static_cast<std::uint64_t>(w) * h * sizeof(double),
              fmt::format("page {} ({} x {} pixels)", page_index, w, h));

  Page page;
  page.values = Image<double>(static_cast<int>(w), static_cast<int>(h));
  const std::size_t bytes_per_sample = bits / 8;
  const std::size_t bytes_per_pixel = bytes_per_sample * spp;
  // Colour images become luminance (Rec. 601 weights); alpha is dropped.
  const bool colour = spp >= 3 && photometric == PHOTOMETRIC_RGB;
  auto pixel = [&](const unsigned char* p) {
    if (colour) {
      return 0.299 * decode(p) + 0.587 * decode(p + bytes_per_sample) +
             0.114 * decode(p + 2 * bytes_per_sample);
    }
    return decode(p);
  };
  t_last_error.clear();
  if (TIFFIsTiled(t)) {
    std::uint32_t tw = 0, th = 0;
    TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
    if (tw == 0 || th == 0 || tw > kMaxSide || th > kMaxSide) {
      throw InputError(file, fmt::format("page {}: bad tile size {} x {}", page_index, tw, th));
    }
    std::vector<unsigned char> buf(static_cast<std::size_t>(TIFFTileSize(t)));
    for (std::uint32_t ty = 0; ty < h; ty += th) {
      for (std::uint32_t tx = 0; tx < w; tx += tw) {
        if (TIFFReadTile(t, buf.data(), tx, ty, 0, 0) < 0) {
          throw InputError(file, fmt::format("page {}: cannot decode the tile at ({}, {}): {}",
                                             page_index, tx, ty, lastError()));
        }
        for (std::uint32_t y = ty; y < std::min(h, ty + th); ++y) {
          for (std::uint32_t x = tx; x < std::min(w, tx + tw); ++x) {
            page.values(static_cast<int>(x), static_cast<int>(y)) =
                pixel(buf.data() + ((y - ty) * tw + (x - tx)) * bytes_per_pixel);
          }
        }
      }
    }
  } else {
    const tmsize_t line = TIFFScanlineSize(t);
    if (line < static_cast<tmsize_t>(w * bytes_per_pixel)) {
      throw InputError(file, fmt::format("page {}: scanline size {} is smaller than {} pixels",
                                         page_index, line, w));
    }
    std::vector<unsigned char> buf(static_cast<std::size_t>(line));
    for (std::uint32_t y = 0; y < h; ++y) {
      if (TIFFReadScanline(t, buf.data(), y, 0) < 0) {
        throw InputError(
            file, fmt::format("page {}: cannot decode row {}: {}", page_index, y, lastError()));
      }
      double* row = page.values.row(static_cast<int>(y));
      for (std::uint32_t x = 0; x < w; ++x) row[x] = pixel(buf.data() + x * bytes_per_pixel);
    }
  }
  const Calibration cal = calibration(t, file);
  page.pixel_x_um = cal.x_um;
  page.pixel_y_um = cal.y_um;
  if (!cal.source.empty()) page.metadata.emplace_back("pixel_size_source", cal.source);
  if (!cal.note.empty()) page.metadata.emplace_back("resolution_note", cal.note);
  char* s = nullptr;
  if (TIFFGetField(t, TIFFTAG_PAGENAME, &s) == 1 && s) page.name = s;
  page.metadata.emplace_back("bits_per_sample", std::to_string(bits));
  page.metadata.emplace_back("sample_format", format == SAMPLEFORMAT_IEEEFP ? "float"
                                              : format == SAMPLEFORMAT_INT  ? "signed integer"
                                                                            : "unsigned integer");
  page.metadata.emplace_back("samples_per_pixel", std::to_string(spp));
  if (colour) page.metadata.emplace_back("colour", "RGB converted to luminance (Rec. 601)");
  page.metadata.emplace_back("compression", std::to_string(compression));
  for (auto [tag, key] : {std::pair{TIFFTAG_SOFTWARE, "software"},
                          {TIFFTAG_DATETIME, "datetime"},
                          {TIFFTAG_IMAGEDESCRIPTION, "description"},
                          {TIFFTAG_MAKE, "make"},
                          {TIFFTAG_MODEL, "model"}}) {
    if (TIFFGetField(t, tag, &s) == 1 && s) {
      std::string v = s;
      if (v.size() > 500) v = v.substr(0, 500) + "...";
      page.metadata.emplace_back(key, v);
    }
  }
  return page;
}

}  // namespace

std::vector<Page> readAll(const std::filesystem::path& path) {
  installHandlers();
  const std::string file = path.string();
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(file, "cannot read file size: " + ec.message());
  if (size < 8)
    throw InputError(file, 0, fmt::format("only {} bytes; a TIFF header needs 8", size));
  t_last_error.clear();
  // "m" disables memory mapping so that a file truncated under us reads as an error.
  TiffPtr t(TIFFOpen(file.c_str(), "rm"));
  if (!t) throw InputError(file, 0, "not a readable TIFF: " + lastError());
  std::vector<Page> pages;
  int index = 0;
  do {
    pages.push_back(readPage(t.get(), file, size, index));
    ++index;
    t_last_error.clear();
  } while (TIFFReadDirectory(t.get()) == 1);
  if (!t_last_error.empty()) {
    throw InputError(file, fmt::format("after page {}: the next page directory is corrupt: {}",
                                       index - 1, t_last_error));
  }
  return pages;
}

void write(const std::filesystem::path& path, const std::vector<WritePage>& pages, SampleType type,
           double pixel_x_um, double pixel_y_um) {
  installHandlers();
  const std::string file = path.string();
  t_last_error.clear();
  TiffPtr t(TIFFOpen(file.c_str(), "w"));
  if (!t) throw InputError(file, "cannot create TIFF: " + lastError());
  std::uint16_t bits = 8, format = SAMPLEFORMAT_UINT;
  double lo = 0, hi = 255;
  switch (type) {
    case SampleType::kUInt8:
      break;
    case SampleType::kUInt16:
      bits = 16, hi = 65535;
      break;
    case SampleType::kInt32:
      bits = 32, format = SAMPLEFORMAT_INT, lo = std::numeric_limits<std::int32_t>::min(),
      hi = std::numeric_limits<std::int32_t>::max();
      break;
    case SampleType::kFloat32:
      bits = 32, format = SAMPLEFORMAT_IEEEFP, lo = -1e38, hi = 1e38;
      break;
    case SampleType::kFloat64:
      bits = 64, format = SAMPLEFORMAT_IEEEFP, lo = -1e308, hi = 1e308;
      break;
  }
  const std::size_t bps = bits / 8;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    const Image<double>& im = *pages[p].values;
    TIFF* tp = t.get();
    TIFFSetField(tp, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(im.width()));
    TIFFSetField(tp, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(im.height()));
    TIFFSetField(tp, TIFFTAG_BITSPERSAMPLE, bits);
    TIFFSetField(tp, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(1));
    TIFFSetField(tp, TIFFTAG_SAMPLEFORMAT, format);
    TIFFSetField(tp, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tp, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tp, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    TIFFSetField(tp, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(16));
    TIFFSetField(tp, TIFFTAG_SOFTWARE, "ionmap");
    if (pixel_x_um > 0 && pixel_y_um > 0) {
      TIFFSetField(tp, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
      TIFFSetField(tp, TIFFTAG_XRESOLUTION, static_cast<float>(1e4 / pixel_x_um));
      TIFFSetField(tp, TIFFTAG_YRESOLUTION, static_cast<float>(1e4 / pixel_y_um));
    }
    if (!pages[p].name.empty()) TIFFSetField(tp, TIFFTAG_PAGENAME, pages[p].name.c_str());
    if (pages.size() > 1) {
      TIFFSetField(tp, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
      TIFFSetField(tp, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(p),
                   static_cast<std::uint16_t>(pages.size()));
    }
    std::vector<unsigned char> row(im.width() * bps);
    for (int y = 0; y < im.height(); ++y) {
      for (int x = 0; x < im.width(); ++x) {
        double v = im(x, y);
        if (type != SampleType::kFloat32 && type != SampleType::kFloat64) v = std::round(v);
        if (!(v >= lo && v <= hi)) {
          throw ProcessingError(
              fmt::format("TIFF '{}': value {} at ({}, {}) does not fit the "
                          "sample type",
                          file, v, x, y));
        }
        unsigned char* dst = row.data() + x * bps;
        switch (type) {
          case SampleType::kUInt8:
            *dst = static_cast<std::uint8_t>(v);
            break;
          case SampleType::kUInt16: {
            auto u = static_cast<std::uint16_t>(v);
            std::memcpy(dst, &u, 2);
            break;
          }
          case SampleType::kInt32: {
            auto u = static_cast<std::int32_t>(v);
            std::memcpy(dst, &u, 4);
            break;
          }
          case SampleType::kFloat32: {
            auto u = static_cast<float>(v);
            std::memcpy(dst, &u, 4);
            break;
          }
          case SampleType::kFloat64:
            std::memcpy(dst, &v, 8);
            break;
        }
      }
      if (TIFFWriteScanline(tp, row.data(), static_cast<std::uint32_t>(y), 0) < 0) {
        throw InputError(file, "cannot write TIFF row: " + lastError());
      }
    }
    if (TIFFWriteDirectory(tp) != 1)
      throw InputError(file, "cannot write TIFF page: " + lastError());
  }
}

}  // namespace ionmap::tiff
