// JPEG through libjpeg-turbo: grey or RGB out, 8 bits; CMYK/YCCK refused; a premature end of
// the data is an error, not grey rows.
#include <cstdio>
// jpeglib.h needs FILE and size_t declared before it.
#include <jpeglib.h>
// (after jpeglib.h) the message codes: JWRN_JPEG_EOF
#include <jerror.h>

#include <csetjmp>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/image_codecs.hpp"
#include "ionmap/io/reader.hpp"

namespace ionmap::io {
namespace {

struct JpegError {
  jpeg_error_mgr mgr;  // first: libjpeg passes a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool premature_end = false;
  int warnings = 0;
  char first_warning[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void onError(j_common_ptr info) {
  auto* e = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, e->message);
  std::longjmp(e->jump, 1);
}

// Level −1 is a warning (corrupt data the decoder worked around); higher levels are traces.
void onMessage(j_common_ptr info, int level) {
  if (level >= 0) return;
  auto* e = reinterpret_cast<JpegError*>(info->err);
  if (info->err->msg_code == JWRN_JPEG_EOF) e->premature_end = true;
  if (e->warnings++ == 0) (*info->err->format_message)(info, e->first_warning);
}

// Header, then scanlines into `pixels` (sized by the caller from the header), each step between
// setjmp and libjpeg's longjmp with only plain locals.
bool readHeader(jpeg_decompress_struct* d, JpegError* e) {
  if (setjmp(e->jump)) return false;
  jpeg_read_header(d, TRUE);
  if (d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK) {
    std::snprintf(e->message, sizeof e->message, "CMYK and YCCK JPEGs are not read");
    return false;
  }
  d->out_color_space = d->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(d);
  return true;
}

bool readLines(jpeg_decompress_struct* d, JpegError* e, unsigned char* pixels,
               std::size_t row_bytes) {
  if (setjmp(e->jump)) return false;
  while (d->output_scanline < d->output_height) {
    JSAMPROW row = pixels + row_bytes * d->output_scanline;
    jpeg_read_scanlines(d, &row, 1);
  }
  jpeg_finish_decompress(d);
  return true;
}

}  // namespace

Raster decodeJpeg(const std::string& bytes, const std::filesystem::path& file) {
  jpeg_decompress_struct d{};
  JpegError e{};
  d.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = onError;
  e.mgr.emit_message = onMessage;
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  auto fail = [&](const std::string& why) {
    jpeg_destroy_decompress(&d);
    return InputError(file.string(),
                      fmt::format("cannot decode the JPEG: {} (corrupt or truncated file?)", why));
  };
  if (!readHeader(&d, &e)) throw fail(e.message);
  Raster out;
  out.width = static_cast<int>(d.output_width);
  out.height = static_cast<int>(d.output_height);
  out.channels = d.output_components;
  out.bits = 8;
  const std::size_t row_bytes = std::size_t(out.width) * std::size_t(out.channels);
  const std::uint64_t count = std::uint64_t(row_bytes) * std::uint64_t(out.height);
  try {
    checkMemory(file, count * 3, fmt::format("a {} x {} JPEG", out.width, out.height));
  } catch (...) {
    jpeg_destroy_decompress(&d);
    throw;
  }
  std::vector<unsigned char> pixels(count);
  if (!readLines(&d, &e, pixels.data(), row_bytes)) throw fail(e.message);
  jpeg_destroy_decompress(&d);
  if (e.premature_end) {
    throw InputError(file.string(),
                     "the JPEG's image data end early (truncated file?): its "
                     "last rows would be made up by the decoder");
  }
  if (e.warnings > 0) {
    out.notes.push_back(
        fmt::format("the JPEG decoder warned {} time(s), first: {}", e.warnings, e.first_warning));
  }
  out.samples.assign(pixels.begin(), pixels.end());
  return out;
}

}  // namespace ionmap::io
