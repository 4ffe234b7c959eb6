// PNG through libpng: decoding (every bit depth and colour type, 16-bit samples kept, palettes
// expanded, transparency ignored) and writing 8-bit images.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/image_codecs.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::io {
namespace {

// What libpng's callbacks share with the caller: the bytes to read and the first error.
struct PngState {
  const unsigned char* data = nullptr;
  std::size_t size = 0, pos = 0;
  char message[256] = {};
};

[[noreturn]] void onError(png_structp png, png_const_charp message) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(st->message, sizeof st->message, "%s", message ? message : "unknown error");
  png_longjmp(png, 1);
}
void onWarning(png_structp, png_const_charp) {}  // e.g. unknown ancillary chunks: harmless

void readBytes(png_structp png, png_bytep out, png_size_t n) {
  auto* st = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) png_error(png, "the image data end before the file says");
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

// The decode in two steps, each between setjmp and libpng's longjmp on error, with only plain
// locals (a longjmp must not skip a destructor): the header with the transforms, then the rows
// into the caller's buffer. Each returns false on a libpng error (message in the state).
bool readHeader(png_structp png, png_infop info, Raster* out, std::size_t* row_bytes) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int depth = png_get_bit_depth(png, info);
  const int type = png_get_color_type(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  const std::uint16_t probe = 1;
  const bool little_endian = *reinterpret_cast<const unsigned char*>(&probe) == 1;
  if (depth == 16 && little_endian) png_set_swap(png);  // PNG samples are big-endian
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->width = static_cast<int>(png_get_image_width(png, info));
  out->height = static_cast<int>(png_get_image_height(png, info));
  out->channels = png_get_channels(png, info);
  out->bits = png_get_bit_depth(png, info) == 16 ? 16 : 8;
  *row_bytes = png_get_rowbytes(png, info);
  return true;
}

bool readRows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

// Decodes into `out`; false on a libpng error.
bool decodeInto(png_structp png, png_infop info, const std::filesystem::path& file, Raster& out) {
  std::size_t row_bytes = 0;
  if (!readHeader(png, info, &out, &row_bytes)) return false;
  const std::uint64_t count = std::uint64_t(out.width) * std::uint64_t(out.height) *
                              static_cast<std::uint64_t>(out.channels);
  checkMemory(file, count * (2 + static_cast<std::uint64_t>(out.bits) / 8),
              fmt::format("a {} x {} PNG", out.width, out.height));
  std::vector<unsigned char> pixels(row_bytes * static_cast<std::size_t>(out.height));
  std::vector<png_bytep> rows(static_cast<std::size_t>(out.height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = pixels.data() + y * row_bytes;
  if (!readRows(png, rows.data())) return false;
  out.samples.resize(count);
  if (out.bits == 16) {
    std::memcpy(out.samples.data(), pixels.data(), count * 2);
  } else {
    for (std::size_t i = 0; i < count; ++i) out.samples[i] = pixels[i];
  }
  return true;
}

}  // namespace

Raster decodePng(const std::string& bytes, const std::filesystem::path& file) {
  PngState st;
  st.data = reinterpret_cast<const unsigned char*>(bytes.data());
  st.size = bytes.size();
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, onError, onWarning);
  if (!png) throw InputError(file.string(), "cannot start the PNG decoder (out of memory?)");
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw InputError(file.string(), "cannot start the PNG decoder (out of memory?)");
  }
  png_set_read_fn(png, &st, readBytes);
  // The whole image is checked against the budget before it is allocated; libpng's own limits
  // stay at their defaults (1,000,000 x 1,000,000 pixels, 8 MB chunks).
  Raster out;
  bool ok = false;
  try {
    ok = decodeInto(png, info, file, out);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) {
    throw InputError(
        file.string(), st.pos,
        fmt::format("cannot decode the PNG: {} (corrupt or truncated file?)", st.message));
  }
  return out;
}

namespace {

bool encodeInto(png_structp png, png_infop info, const cv::Mat& image) {
  if (setjmp(png_jmpbuf(png))) return false;
  const int type = image.channels() == 1   ? PNG_COLOR_TYPE_GRAY
                   : image.channels() == 3 ? PNG_COLOR_TYPE_RGB
                                           : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.cols),
               static_cast<png_uint_32>(image.rows), 8, type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 6);
  png_write_info(png, info);
  if (image.channels() > 1) png_set_bgr(png);  // OpenCV keeps blue first
  for (int y = 0; y < image.rows; ++y) png_write_row(png, image.ptr<unsigned char>(y));
  png_write_end(png, nullptr);
  return true;
}

}  // namespace

void writePng(const std::filesystem::path& path, const cv::Mat& image) {
  if (image.depth() != CV_8U || image.channels() == 2 || image.channels() > 4 || image.empty())
    throw UsageError(
        fmt::format("writePng: {}: only non-empty 8-bit grey, BGR or BGRA images", path.string()));
  std::FILE* f = std::fopen(path.string().c_str(), "wb");
  if (!f) throw InputError(path.string(), "cannot create the PNG file");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, onWarning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  bool ok = false;
  if (png && info) {
    png_init_io(png, f);
    ok = encodeInto(png, info, image);
  }
  png_destroy_write_struct(&png, &info);
  const bool flushed = std::fflush(f) == 0;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !flushed || !closed) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    throw InputError(path.string(), "cannot write the PNG (disk full or quota exceeded?)");
  }
}

}  // namespace ionmap::io
