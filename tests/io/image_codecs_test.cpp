// The PNG, JPEG and BMP codecs against OpenCV's (an independent encoder and decoder: its own BMP
// code, its own use of libpng and libjpeg): every sample of what OpenCV writes decodes to what
// OpenCV decodes, bitmaps of the kinds OpenCV does not write are built here byte by byte, and
// what the codecs cannot decode exactly is refused with the file's name.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/io/image_codecs.hpp"
#include "test_util.hpp"

namespace ionmap::io {
namespace {

std::string encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<unsigned char> buf;
  EXPECT_TRUE(cv::imencode(ext, m, buf, params));
  return std::string(buf.begin(), buf.end());
}

// Every sample of `r` equals OpenCV's decoding of the same bytes (BGR → RGB).
void expectSameAsOpenCv(const Raster& r, const std::string& bytes) {
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  const cv::Mat cv = cv::imdecode(raw, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
  ASSERT_FALSE(cv.empty());
  ASSERT_EQ(r.width, cv.cols);
  ASSERT_EQ(r.height, cv.rows);
  ASSERT_EQ(r.channels, cv.channels());
  EXPECT_EQ(r.bits, cv.depth() == CV_16U ? 16 : 8);
  int differ = 0;
  for (int y = 0; y < cv.rows; ++y) {
    for (int x = 0; x < cv.cols; ++x) {
      for (int c = 0; c < r.channels; ++c) {
        // OpenCV orders colour channels B, G, R(, A).
        const int cc = r.channels >= 3 && c < 3 ? 2 - c : c;
        const int v = cv.depth() == CV_16U ? cv.ptr<std::uint16_t>(y)[x * r.channels + cc]
                                           : cv.ptr<std::uint8_t>(y)[x * r.channels + cc];
        differ += r.at(x, y, c) != v;
      }
    }
  }
  EXPECT_EQ(differ, 0);
}

cv::Mat noise(int w, int h, int type, unsigned seed) {
  cv::Mat m(h, w, type);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, CV_MAT_DEPTH(type) == CV_16U ? 65536 : 256);
  return m;
}

TEST(ImageCodecs, PngDecodesWhatOpenCvWritesSampleForSample) {
  const std::string file = "x.png";
  for (int type : {CV_8UC1, CV_16UC1, CV_8UC3, CV_8UC4, CV_16UC3}) {
    SCOPED_TRACE(type);
    const std::string bytes = encode(noise(37, 23, type, 5), ".png");
    expectSameAsOpenCv(decodePng(bytes, file), bytes);
  }
  // 16-bit values keep all their bits (not scaled to 8, not gamma-converted).
  cv::Mat ramp(1, 4, CV_16UC1);
  ramp.at<std::uint16_t>(0, 0) = 0, ramp.at<std::uint16_t>(0, 1) = 1;
  ramp.at<std::uint16_t>(0, 2) = 40000, ramp.at<std::uint16_t>(0, 3) = 65535;
  const Raster r = decodePng(encode(ramp, ".png"), file);
  EXPECT_EQ(r.samples, (std::vector<std::uint16_t>{0, 1, 40000, 65535}));
  // A 1-bit PNG (bilevel) expands to 0/255, as OpenCV reads it.
  cv::Mat bits = noise(19, 7, CV_8UC1, 9) > 128;
  const std::string bilevel = encode(bits, ".png", {cv::IMWRITE_PNG_BILEVEL, 1});
  expectSameAsOpenCv(decodePng(bilevel, file), bilevel);
}

TEST(ImageCodecs, JpegDecodesAsOpenCvDoes) {
  for (int type : {CV_8UC1, CV_8UC3}) {
    SCOPED_TRACE(type);
    cv::Mat m = noise(41, 29, type, 3);
    cv::GaussianBlur(m, m, {5, 5}, 1.5);
    const std::string bytes = encode(m, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
    const Raster r = decodeJpeg(bytes, "x.jpg");
    expectSameAsOpenCv(r, bytes);
    EXPECT_TRUE(r.notes.empty());
  }
  // Progressive too.
  const std::string progressive =
      encode(noise(33, 17, CV_8UC3, 4), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  expectSameAsOpenCv(decodeJpeg(progressive, "x.jpg"), progressive);
}

TEST(ImageCodecs, BmpDecodesWhatOpenCvWrites) {
  for (int type : {CV_8UC1, CV_8UC3}) {
    SCOPED_TRACE(type);
    const std::string bytes = encode(noise(31, 13, type, 7), ".bmp");  // odd width: row padding
    expectSameAsOpenCv(decodeBmp(bytes, "x.bmp"), bytes);
  }
}

// A bitmap built here: `bpp` bits, the given palette (0x00RRGGBB) and rows (already packed,
// bottom row first unless top_down), with an optional BI_BITFIELDS mask triple.
std::string bitmap(int w, int h, int bpp, const std::vector<std::uint32_t>& palette,
                   const std::vector<std::string>& rows, bool top_down = false,
                   const std::vector<std::uint32_t>& masks = {}, std::uint32_t compression = 0) {
  auto put32 = [](std::string& s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  auto put16 = [](std::string& s, std::uint32_t v) {
    s.push_back(static_cast<char>(v & 0xFF));
    s.push_back(static_cast<char>((v >> 8) & 0xFF));
  };
  std::string info;
  put32(info, 40);
  put32(info, static_cast<std::uint32_t>(w));
  put32(info, static_cast<std::uint32_t>(top_down ? -h : h));
  put16(info, 1);
  put16(info, static_cast<std::uint32_t>(bpp));
  put32(info, masks.empty() ? compression : 3);
  put32(info, 0), put32(info, 2835), put32(info, 2835);
  put32(info, static_cast<std::uint32_t>(palette.size())), put32(info, 0);
  for (std::uint32_t m : masks) put32(info, m);
  for (std::uint32_t c : palette) put32(info, c);
  std::string pixels;
  const std::size_t stride = (static_cast<std::size_t>(w) * bpp + 31) / 32 * 4;
  for (const std::string& r : rows) pixels += r + std::string(stride - r.size(), '\0');
  std::string file = "BM";
  put32(file, static_cast<std::uint32_t>(14 + info.size() + pixels.size()));
  put32(file, 0);
  put32(file, static_cast<std::uint32_t>(14 + info.size()));
  return file + info + pixels;
}

TEST(ImageCodecs, BmpOfEveryDepthOpenCvDoesNotWrite) {
  // 1 bit, black/white palette: grey. Rows bottom-up: the first row given is the image's last.
  Raster r = decodeBmp(bitmap(10, 2, 1, {0x000000, 0xFFFFFF}, {"\xA0\x40", "\x01\xC0"}), "b.bmp");
  ASSERT_EQ(r.channels, 1);
  EXPECT_EQ(r.at(7, 0, 0), 255);  // top row = second given: 0x01 → pixel 7 set
  EXPECT_EQ(r.at(8, 0, 0), 255);
  EXPECT_EQ(r.at(0, 1, 0), 255);  // bottom row: 0xA0 → pixels 0 and 2
  EXPECT_EQ(r.at(1, 1, 0), 0);
  EXPECT_EQ(r.at(9, 1, 0), 255);  // 0x40 in the second byte → pixel 9
  // 4 bits with a colour palette: RGB, top-down.
  r = decodeBmp(bitmap(3, 1, 4, {0x102030, 0x405060, 0x708090}, {"\x21\x00"}, true), "c.bmp");
  ASSERT_EQ(r.channels, 3);
  EXPECT_EQ(r.at(0, 0, 0), 0x70);
  EXPECT_EQ(r.at(0, 0, 2), 0x90);
  EXPECT_EQ(r.at(1, 0, 1), 0x50);
  EXPECT_EQ(r.at(2, 0, 0), 0x10);
  // 16 bits, 5-5-5 (BI_RGB): full red is 255; 5-6-5 through BI_BITFIELDS.
  r = decodeBmp(bitmap(2, 1, 16, {}, {std::string("\x00\x7C\x1F\x00", 4)}), "d.bmp");
  EXPECT_EQ(r.at(0, 0, 0), 255);
  EXPECT_EQ(r.at(0, 0, 2), 0);
  EXPECT_EQ(r.at(1, 0, 2), 255);
  r = decodeBmp(bitmap(1, 1, 16, {}, {std::string("\xE0\x07", 2)}, false, {0xF800, 0x07E0, 0x001F}),
                "e.bmp");
  EXPECT_EQ(r.at(0, 0, 0), 0);
  EXPECT_EQ(r.at(0, 0, 1), 255);
  // OS/2 1.x: a 12-byte header with 16-bit sizes and a 3-byte palette (2 x 1, 8 bits, grey).
  const std::string os2 = std::string("BM\x26\0\0\0\0\0\0\0\x20\0\0\0", 14) +
                          std::string("\x0C\0\0\0\x02\0\x01\0\x01\0\x08\0", 12) +
                          std::string("\0\0\0\x7F\x7F\x7F", 6) + std::string("\x01\0\0\0", 4);
  r = decodeBmp(os2, "g.bmp");
  ASSERT_EQ(r.channels, 1);
  EXPECT_EQ(r.at(0, 0, 0), 0x7F);
  EXPECT_EQ(r.at(1, 0, 0), 0);
  // 32 bits through masks (XRGB).
  r = decodeBmp(bitmap(1, 1, 32, {}, {std::string("\x33\x22\x11\x00", 4)}, false,
                       {0x00FF0000, 0x0000FF00, 0x000000FF}),
                "f.bmp");
  EXPECT_EQ(r.at(0, 0, 0), 0x11);
  EXPECT_EQ(r.at(0, 0, 2), 0x33);
}

TEST(ImageCodecs, BitmapsThatCannotBeDecodedExactlyAreRefusedByName) {
  auto error = [](const std::string& bytes) {
    try {
      (void)decodeBmp(bytes, "bad.bmp");
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.bmp"), std::string::npos) << e.what();
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_NE(
      error(bitmap(4, 1, 8, {0, 0xFFFFFF}, {std::string("\x00\x01\x00\x01", 4)}, false, {}, 1))
          .find("RLE8"),
      std::string::npos);
  EXPECT_NE(error(bitmap(2, 1, 8, {0, 0xFFFFFF}, {std::string("\x00\x05", 2)}))
                .find("colour 5 of a 2-colour"),
            std::string::npos);
  EXPECT_NE(error(bitmap(2, 1, 12, {}, {std::string(3, '\0')})).find("12 bits per pixel"),
            std::string::npos);
  EXPECT_NE(error(bitmap(1, 1, 32, {}, {std::string(4, '\0')}, false, {0x0F0F, 0xF000, 0xFF0000}))
                .find("mask"),
            std::string::npos);
  std::string inside = bitmap(2, 1, 24, {}, {std::string(6, 'x')});
  inside[10] = 20;  // the pixel data "start" inside the info header
  EXPECT_NE(error(inside).find("inside the 54-byte headers"), std::string::npos);
  const std::string good = bitmap(8, 8, 24, {}, std::vector<std::string>(8, std::string(24, 'x')));
  EXPECT_EQ(decodeBmp(good, "good.bmp").width, 8);
  for (std::size_t cut : {std::size_t{10}, std::size_t{30}, std::size_t{60}, good.size() - 1})
    EXPECT_NE(error(good.substr(0, cut)), "loaded") << cut;
}

TEST(ImageCodecs, CutOrCorruptPngAndJpegAreRefusedByName) {
  const std::string png = encode(noise(40, 30, CV_8UC1, 1), ".png");
  const std::string jpg = encode(noise(40, 30, CV_8UC3, 1), ".jpg");
  for (double part : {0.1, 0.5, 0.9}) {
    const auto cut = [&](const std::string& s) {
      return s.substr(0, static_cast<std::size_t>(part * static_cast<double>(s.size())));
    };
    EXPECT_THROW((void)decodePng(cut(png), "p.png"), InputError) << part;
    EXPECT_THROW((void)decodeJpeg(cut(jpg), "j.jpg"), InputError) << part;
  }
  std::string flipped = png;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  try {
    (void)decodePng(flipped, "p.png");
    ADD_FAILURE() << "a PNG with a corrupt data chunk decoded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("p.png"), std::string::npos);
  }
}

TEST(ImageCodecs, WrittenPngsReadBackInOpenCvWithTheirColours) {
  test::TempDir dir;
  cv::Mat bgr = noise(21, 11, CV_8UC3, 2), grey = noise(21, 11, CV_8UC1, 3);
  writePng(dir / "c.png", bgr);
  writePng(dir / "g.png", grey);
  EXPECT_EQ(cv::norm(cv::imread((dir / "c.png").string(), cv::IMREAD_UNCHANGED), bgr, cv::NORM_INF),
            0);
  EXPECT_EQ(
      cv::norm(cv::imread((dir / "g.png").string(), cv::IMREAD_UNCHANGED), grey, cv::NORM_INF), 0);
  EXPECT_THROW(writePng(dir / "no" / "such" / "x.png", grey), InputError);
}

}  // namespace
}  // namespace ionmap::io
