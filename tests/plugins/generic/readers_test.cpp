// Generic readers on files written here byte for byte, and on truncated/corrupted copies.
#include <tiffio.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "generic/readers.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "ionmap/pipeline/registry.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

class ReadersTest : public ::testing::Test {
 protected:
  void SetUp() override { registerBuiltinPlugins(registry); }
  Dataset load(const std::filesystem::path& p, const ReadOptions& o = {}) {
    return registry.pickReader(p).load(p, o);
  }
  std::string loadError(const std::filesystem::path& p) {
    try {
      load(p);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
  Image<double> ramp(int w, int h, double scale) {
    Image<double> im(w, h);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) im(x, y) = scale * (x + w * y);
    }
    return im;
  }
  Registry registry;
  test::TempDir dir;
};

TEST_F(ReadersTest, TiffRoundTripsEverySampleTypeWithPixelSize) {
  for (auto [type, scale] : {std::pair{tiff::SampleType::kUInt8, 1.0},
                             {tiff::SampleType::kUInt16, 50.0},
                             {tiff::SampleType::kInt32, -1000.0},
                             {tiff::SampleType::kFloat32, 0.25},
                             {tiff::SampleType::kFloat64, 1.0 / 3.0}}) {
    const auto p = dir / "t.tif";
    const Image<double> im = ramp(13, 7, scale);
    tiff::write(p, {{&im, "ch"}}, type, 0.125, 0.25);
    const Dataset ds = load(p);
    ASSERT_EQ(ds.format, "tiff");
    ASSERT_EQ(ds.maps.size(), 1u);
    const Map& m = ds.maps[0];
    EXPECT_EQ(m.name, "ch");
    EXPECT_TRUE(m.grid.calibrated);
    EXPECT_NEAR(m.grid.pixel_x, 0.125, 1e-6);
    EXPECT_NEAR(m.grid.pixel_y, 0.25, 1e-6);
    const double tol = type == tiff::SampleType::kFloat32 ? 1e-6 * std::abs(scale) * 91 : 0.0;
    for (std::size_t i = 0; i < im.size(); ++i) ASSERT_NEAR(m.values[i], im[i], tol);
  }
}

TEST_F(ReadersTest, MultiPageTiffGivesOneMapPerPageNamedByPage) {
  const auto p = dir / "stack.tiff";
  const Image<double> a = ramp(8, 8, 1.0), b = ramp(8, 8, 2.0);
  tiff::write(p, {{&a, "6Li"}, {&b, "7Li"}}, tiff::SampleType::kFloat32, 1.0, 1.0);
  const Dataset ds = load(p);
  ASSERT_EQ(ds.maps.size(), 2u);
  EXPECT_EQ(ds.maps[1].name, "7Li");
  EXPECT_EQ(ds.maps[1].values(3, 2), 2.0 * (3 + 16));
  ReadOptions o;
  o.channel_names = {"first", "second"};
  EXPECT_EQ(load(p, o).maps[0].name, "first");
}

TEST_F(ReadersTest, TiffWithoutResolutionIsUncalibratedUntilThePipelineGivesAPixelSize) {
  const auto p = dir / "plain.tif";
  const Image<double> im = ramp(4, 4, 1.0);
  tiff::write(p, {{&im, ""}}, tiff::SampleType::kUInt8, 0, 0);
  EXPECT_FALSE(load(p).maps[0].grid.calibrated);
  ReadOptions o;
  o.pixel_x = 0.3;
  const Map m = load(p, o).maps[0];
  EXPECT_TRUE(m.grid.calibrated);
  EXPECT_DOUBLE_EQ(m.grid.pixel_y, 0.3);
}

// A 4 x 3 8-bit TIFF as microscope software writes it: resolution tags (unit 0 = none), an
// optional description and an optional private ASCII tag (FEI 34682/34680, Zeiss 34118).
void writeMicroscopeTiff(const std::filesystem::path& p, float res, std::uint16_t unit,
                         const std::string& description = "", ttag_t tag = 0,
                         const std::string& text = "") {
  TIFF* t = TIFFOpen(p.c_str(), "w");
  ASSERT_NE(t, nullptr);
  if (tag) {
    static char name[] = "vendor";
    const TIFFFieldInfo info[] = {{tag, -1, -1, TIFF_ASCII, FIELD_CUSTOM, 1, 0, name}};
    ASSERT_EQ(TIFFMergeFieldInfo(t, info, 1), 0);
    TIFFSetField(t, tag, text.c_str());
  }
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, 3);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 3);
  if (res > 0) {
    TIFFSetField(t, TIFFTAG_XRESOLUTION, res);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, res);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, unit);
  }
  if (!description.empty()) TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description.c_str());
  std::vector<std::uint8_t> row{10, 20, 30, 40};
  for (std::uint32_t y = 0; y < 3; ++y) ASSERT_EQ(TIFFWriteScanline(t, row.data(), y, 0), 1);
  TIFFClose(t);
}

std::string metadataOf(const Map& m, const std::string& key) {
  for (const auto& [k, v] : m.metadata) {
    if (k == key) return v;
  }
  return "";
}

// SEM/TEM TIFFs: the vendors' own calibration wins over the resolution tags, whose inch-based
// values are print or screen resolutions (an FEI Helios image at 64 dpi loaded as 396.875 um
// per pixel; its own metadata says 3.3724 um), and `inspect` says where the pixel size came
// from.
TEST_F(ReadersTest, MicroscopeTiffsAreCalibratedFromTheVendorsOwnMetadata) {
  struct Case {
    const char* name;
    float res;
    std::uint16_t unit;
    std::string description;
    ttag_t tag;
    std::string text, sidecar;
    double um;
    const char* source;
  };
  const std::vector<Case> cases = {
      {"helios.tif", 64, RESUNIT_INCH, "", 34682,
       "[User]\r\nDate=01/02/2020\r\n[Scan]\r\nPixelWidth=3.3724e-006\r\n"
       "PixelHeight=3.3724e-006\r\n[EScan]\r\nPixelWidth=9\r\n",
       "", 3.3724, "FEI"},
      {"sfeg.tif", 300, RESUNIT_INCH, "", 34680, "[Scan]\nPixelWidth=2.5e-09\n", "", 0.0025, "FEI"},
      {"zeiss.tif", 96, RESUNIT_INCH, "", 34118,
       "\r\nDP_DETECTOR\r\nSignal A = SE2\r\nAP_PIXEL_SIZE\r\nImage Pixel Size = 3.721 nm\r\n", "",
       0.003721, "Zeiss"},
      {"jeol.tif", 93, RESUNIT_INCH, "", 0, "",
       "$CM_FORMAT JEOL/SEM\n$$SM_MICRON_BAR 120\n$$SM_MICRON_MARKER 5um\n", 5.0 / 120, "JEOL"},
      {"hitachi.tif", 0, RESUNIT_NONE, "", 0, "", "[SemImageFile]\r\nPixelSize=49.6094\r\n",
       0.0496094, "Hitachi"},
      {"imagej.tif", 2, RESUNIT_NONE, "ImageJ=1.53t\nunit=micron\n", 0, "", "", 0.5, "ImageJ"},
      {"cm.tif", 20000, RESUNIT_CENTIMETER, "", 0, "", "", 0.5, "centimetre"},
      {"lext.tif", 72, RESUNIT_INCH,
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<TiffTagDescData version=\"1.0\">"
       "<ColorInfo><ColorDataPerPixelX>250000</ColorDataPerPixelX>"
       "<ColorDataPerPixelY>250000</ColorDataPerPixelY></ColorInfo>"
       "<IntensityInfo><IntensityDataPerPixelX>125000</IntensityDataPerPixelX>"
       "<IntensityDataPerPixelY>125000</IntensityDataPerPixelY>"
       "<IntensityDataPerPixelZ>1</IntensityDataPerPixelZ></IntensityInfo></TiffTagDescData>",
       0, "", "", 0.125, "Olympus LEXT"},
  };
  for (const Case& c : cases) {
    writeMicroscopeTiff(dir / c.name, c.res, c.unit, c.description, c.tag, c.text);
    if (!c.sidecar.empty()) test::writeFile((dir / c.name).replace_extension(".txt"), c.sidecar);
    const Map m = load(dir / c.name).maps.at(0);
    ASSERT_TRUE(m.grid.calibrated) << c.name;
    EXPECT_NEAR(m.grid.pixel_x / c.um, 1.0, 1e-6) << c.name;
    EXPECT_NEAR(m.grid.pixel_y / c.um, 1.0, 1e-6) << c.name;
    EXPECT_NE(metadataOf(m, "pixel_size_source").find(c.source), std::string::npos)
        << c.name << ": " << metadataOf(m, "pixel_size_source");
  }
  // Inches alone are never a pixel size: uncalibrated, with a note saying why.
  writeMicroscopeTiff(dir / "dpi.tif", 64, RESUNIT_INCH);
  const Map m = load(dir / "dpi.tif").maps.at(0);
  EXPECT_FALSE(m.grid.calibrated);
  EXPECT_NE(metadataOf(m, "resolution_note").find("64 x 64 dpi not used"), std::string::npos);
  // A vendor record that is there but unreadable or implausible is an error, not ignored.
  writeMicroscopeTiff(dir / "bad.tif", 64, RESUNIT_INCH, "", 34682, "[Scan]\nPixelWidth=abc\n");
  EXPECT_NE(loadError(dir / "bad.tif").find("PixelWidth='abc' is not a number"), std::string::npos);
  writeMicroscopeTiff(dir / "huge.tif", 64, RESUNIT_INCH, "", 34682, "[Scan]\nPixelWidth=1.8e13\n");
  EXPECT_NE(loadError(dir / "huge.tif").find("outside the plausible"), std::string::npos);
  writeMicroscopeTiff(dir / "lext-bad.tif", 72, RESUNIT_INCH,
                      "<TiffTagDescData version=\"1.0\"><HeightInfo><HeightDataPerPixelX>12x"
                      "</HeightDataPerPixelX><HeightDataPerPixelY>125000</HeightDataPerPixelY>"
                      "</HeightInfo></TiffTagDescData>");
  EXPECT_NE(loadError(dir / "lext-bad.tif").find("HeightDataPerPixelX='12x' is not a number"),
            std::string::npos);
}

TEST_F(ReadersTest, TruncatedTiffIsAnInputErrorWithTheByteOffset) {
  const auto good = dir / "good.tif";
  const Image<double> im = ramp(64, 64, 1.0);
  tiff::write(good, {{&im, ""}}, tiff::SampleType::kFloat64, 1, 1);
  const std::string bytes = test::readFile(good);
  // libtiff writes image data first and the directory last: cut into the data instead by
  // keeping the header and directory but removing the middle.
  for (std::size_t keep : {std::size_t{6}, bytes.size() / 2, bytes.size() - 20}) {
    const auto cut = dir / "cut.tif";
    test::writeFile(cut, bytes.substr(0, keep));
    const std::string e = loadError(cut);
    EXPECT_NE(e.find("cut.tif"), std::string::npos) << "keep " << keep << ": " << e;
  }
}

TEST_F(ReadersTest, TiffWhoseStripOffsetsPointPastTheEndIsRejected) {
  const auto good = dir / "good.tif";
  const Image<double> im = ramp(32, 32, 1.0);
  tiff::write(good, {{&im, ""}}, tiff::SampleType::kUInt16, 1, 1);
  const std::string bytes = test::readFile(good);
  // Replace the file's data region with nothing by appending the directory to a shortened
  // file is complex; instead corrupt the header's IFD offset to point past the end.
  std::string bad = bytes;
  const std::uint32_t past = static_cast<std::uint32_t>(bytes.size() + 1000);
  std::memcpy(&bad[4], &past, 4);
  test::writeFile(dir / "bad.tif", bad);
  EXPECT_FALSE(loadError(dir / "bad.tif").empty());
}

TEST_F(ReadersTest, GarbageWithTiffMagicIsRejectedCleanly) {
  std::string junk = "II*\0";
  junk.resize(4);
  for (int i = 0; i < 400; ++i) junk += static_cast<char>((i * 37) & 0xff);
  test::writeFile(dir / "junk.tif", junk);
  EXPECT_FALSE(loadError(dir / "junk.tif").empty());
}

// Complex samples (SampleFormat 5/6) were read as unsigned integers: refused, with the format.
TEST_F(ReadersTest, TiffWithComplexSamplesIsRefused) {
  const auto p = dir / "complex.tif";
  TIFF* t = TIFFOpen(p.c_str(), "w");
  ASSERT_NE(t, nullptr);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 4);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, 2);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 64);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_COMPLEXIEEEFP);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2);
  std::vector<float> row(8, 1.5f);
  for (std::uint32_t y = 0; y < 2; ++y) ASSERT_EQ(TIFFWriteScanline(t, row.data(), y, 0), 1);
  TIFFClose(t);
  const std::string error = loadError(p);
  EXPECT_NE(error.find("SampleFormat 6 (complex float)"), std::string::npos) << error;
}

// PNG with a pHYs chunk (pixels per metre) inserted after IHDR, with a correct CRC.
std::string withPhys(const std::string& png, std::uint32_t ppm) {
  auto be = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  std::string body = "pHYs" + be(ppm) + be(ppm) + std::string(1, '\1');
  const auto crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  const std::string chunk = be(9) + body + be(crc);
  return png.substr(0, 33) + chunk + png.substr(33);  // 8 signature + 25 IHDR
}

TEST_F(ReadersTest, PngSixteenBitWithPhysIsCalibrated) {
  cv::Mat m(5, 6, CV_16U);
  for (int i = 0; i < 30; ++i) m.at<std::uint16_t>(i) = static_cast<std::uint16_t>(1000 * i);
  const auto raw = dir / "raw.png";
  ASSERT_TRUE(cv::imwrite(raw.string(), m));
  const auto p = dir / "cal.png";
  test::writeFile(p, withPhys(test::readFile(raw), 2000000));  // 2e6 px/m = 0.5 µm/px
  const Dataset ds = load(p);
  EXPECT_EQ(ds.format, "image");
  EXPECT_NEAR(ds.maps[0].grid.pixel_x, 0.5, 1e-12);
  EXPECT_EQ(ds.maps[0].values(5, 4), 29000);
}

TEST_F(ReadersTest, TruncatedPngIsAnInputError) {
  cv::Mat m(64, 64, CV_8U, cv::Scalar(7));
  const auto raw = dir / "raw.png";
  ASSERT_TRUE(cv::imwrite(raw.string(), m));
  const std::string bytes = test::readFile(raw);
  test::writeFile(dir / "cut.png", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(loadError(dir / "cut.png").find("cut.png"), std::string::npos);
}

// Every cut of a PNG, inside the signature, a chunk header, a chunk type or the data, and a
// PNG without its IEND chunk, is refused with the file's name (the chunk type of a cut header
// is not read past its four bytes: ASan found that over-read).
TEST_F(ReadersTest, PngCutAnywhereIsRefused) {
  cv::Mat m(16, 16, CV_8U);
  cv::randu(m, 0, 255);
  const auto raw = dir / "raw.png";
  ASSERT_TRUE(cv::imwrite(raw.string(), m));
  const std::string bytes = test::readFile(raw);
  ASSERT_FALSE(load(raw).maps.empty());
  for (std::size_t cut = 9; cut < bytes.size(); ++cut) {
    test::writeFile(dir / "cut.png", bytes.substr(0, cut));
    const std::string error = loadError(dir / "cut.png");
    EXPECT_NE(error.find("cut.png"), std::string::npos) << "cut at " << cut << " loaded";
  }
  // IEND is the last 12 bytes: without it the image data are complete, the file is not.
  test::writeFile(dir / "noend.png", bytes.substr(0, bytes.size() - 12));
  EXPECT_NE(loadError(dir / "noend.png").find("IEND"), std::string::npos);
}

// A JPEG cut short decodes with the missing rows grey and only a libjpeg warning: every cut
// must be refused instead, with the file's name; bytes after the end-of-image marker (camera
// trailers) are allowed.
TEST_F(ReadersTest, JpegCutAnywhereIsRefusedAndTrailersAreAllowed) {
  cv::Mat m(48, 64, CV_8U);
  cv::randu(m, 0, 255);
  const auto raw = dir / "raw.jpg";
  ASSERT_TRUE(cv::imwrite(raw.string(), m));
  const std::string bytes = test::readFile(raw);
  ASSERT_GT(bytes.size(), 1000u);
  const Dataset ds = load(raw);
  ASSERT_EQ(ds.maps[0].grid.width, 64);
  for (std::size_t cut = 3; cut < bytes.size(); cut += 1 + cut / 40) {
    test::writeFile(dir / "cut.jpg", bytes.substr(0, cut));
    const std::string error = loadError(dir / "cut.jpg");
    EXPECT_NE(error.find("cut.jpg"), std::string::npos) << "cut at " << cut << " loaded";
  }
  test::writeFile(dir / "cut.jpg", bytes.substr(0, bytes.size() - 2));  // only EOI missing
  EXPECT_NE(loadError(dir / "cut.jpg").find("truncated"), std::string::npos);
  test::writeFile(dir / "trailer.jpg", bytes + std::string("TRAILER\0\0\0", 10));
  EXPECT_EQ(load(dir / "trailer.jpg").maps[0].grid.height, 48);
}

// The image reader hands only PNG, JPEG and BMP bytes to the decoder (found by fuzzing:
// anything else went to whichever OpenCV codec claimed it, JPEG 2000 included).
TEST_F(ReadersTest, ImageReaderDecodesOnlyPngJpegAndBmp) {
  const std::string jp2 = std::string("\0\0\0\x0cjP  \r\n\x87\n", 12) + std::string(40, '\0');
  test::writeFile(dir / "disguised.png", jp2);
  std::string error;
  try {
    registry.readerByName("image").load(dir / "disguised.png", {});
  } catch (const InputError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("not a PNG, JPEG or BMP file"), std::string::npos) << error;
}

TEST_F(ReadersTest, BmpCutShortIsRefused) {
  cv::Mat m(20, 30, CV_8UC3, cv::Scalar(10, 20, 30));
  const auto raw = dir / "raw.bmp";
  ASSERT_TRUE(cv::imwrite(raw.string(), m));
  const std::string bytes = test::readFile(raw);
  ASSERT_EQ(load(raw).maps[0].grid.width, 30);
  for (std::size_t cut : {std::size_t{10}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    test::writeFile(dir / "cut.bmp", bytes.substr(0, cut));
    EXPECT_NE(loadError(dir / "cut.bmp").find("cut.bmp"), std::string::npos) << cut;
  }
}

TEST_F(ReadersTest, CsvSemicolonAndWhitespaceMatricesRead) {
  test::writeFile(dir / "a.csv", "1,2,3\n4,5,6\n");
  test::writeFile(dir / "b.csv", "# exported\n1,5;2,5\n3;4\n");
  test::writeFile(dir / "c.txt", "1 2\n3   4\n\n");
  EXPECT_EQ(load(dir / "a.csv").maps[0].values(2, 1), 6);
  EXPECT_EQ(load(dir / "b.csv").maps[0].values(0, 0), 1.5);
  const Map c = load(dir / "c.txt").maps[0];
  EXPECT_EQ(c.width(), 2);
  EXPECT_EQ(c.values(1, 1), 4);
}

TEST_F(ReadersTest, GwyddionAsciiExportHeaderGivesPixelSizeAndUnit) {
  test::writeFile(dir / "g.txt",
                  "# Channel: Potential\n# Width: 2.000 \xC2\xB5m\n# Height: 1.000 \xC2\xB5m\n"
                  "# Value units: V\n0.1\t0.2\t0.3\t0.4\n0.5\t0.6\t0.7\t0.8\n");
  const Map m = load(dir / "g.txt").maps[0];
  EXPECT_EQ(m.name, "Potential");
  EXPECT_EQ(m.unit, "V");
  EXPECT_NEAR(m.grid.pixel_x, 0.5, 1e-12);
  EXPECT_NEAR(m.grid.pixel_y, 0.5, 1e-12);
}

// A Width/Height header that is there but not a length is refused (it used to leave the map
// silently uncalibrated).
TEST_F(ReadersTest, GwyddionAsciiHeaderThatIsNotALengthIsRefused) {
  for (const char* width : {"2.0 furlongs", "abc", "-2 um", "0 nm"}) {
    test::writeFile(dir / "g.txt", fmt::format("# Width: {}\n0.1\t0.2\n0.3\t0.4\n", width));
    EXPECT_NE(loadError(dir / "g.txt").find("is not a positive length"), std::string::npos)
        << width;
  }
}

TEST_F(ReadersTest, TextMatrixErrorsNameLineAndColumn) {
  test::writeFile(dir / "ragged.csv", "1,2,3\n4,5\n");
  EXPECT_NE(loadError(dir / "ragged.csv").find("line 2: 2 values, but earlier rows have 3"),
            std::string::npos);
  test::writeFile(dir / "word.csv", "1,2\n3,abc\n");
  EXPECT_NE(loadError(dir / "word.csv").find("line 2, column 2: expected a number, got 'abc'"),
            std::string::npos);
  // A header row of names that is not a '#' comment: read as a table (csv-table), not a matrix.
  test::writeFile(dir / "header.csv", "x,y\n1,2\n");
  EXPECT_EQ(load(dir / "header.csv").format, "csv-table");
  test::writeFile(dir / "header.dat", "1 2\nx y\n");  // names below numbers: still a matrix
  EXPECT_NE(loadError(dir / "header.dat").find("expected a number"), std::string::npos);
  test::writeFile(dir / "empty.csv", "# nothing\n");
  EXPECT_NE(loadError(dir / "empty.csv").find("no numeric rows"), std::string::npos);
}

// Tables with a header row: units from "name (unit)" or "name [unit]", numeric and text
// columns, empty cells as NaN (numeric) or "" (text), decimal commas with semicolons, and a
// ragged row refused naming its line.
TEST_F(ReadersTest, CsvTablesGiveNamedColumnsWithUnits) {
  test::writeFile(dir / "long.csv",
                  "# SECCM long table\npoint,x (um),E [mV],I (nA),note\n0,1.5,100,2.5,ok\n"
                  "0,1.5,200,,\n1,2.0,100,0.5,spike\n");
  const Dataset ds = load(dir / "long.csv");
  ASSERT_EQ(ds.tables.size(), 1u);
  const Table& t = ds.tables[0];
  EXPECT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.column("x").unit, "um");
  EXPECT_EQ(t.column("E").unit, "mV");
  EXPECT_EQ(t.column("I").unit, "nA");
  EXPECT_TRUE(std::isnan(t.column("I").numbers[1]));
  EXPECT_TRUE(t.column("note").is_text);
  EXPECT_EQ(t.column("note").texts, (std::vector<std::string>{"ok", "", "spike"}));
  test::writeFile(dir / "semi.csv", "E (V);I (A)\n0,5;1,25\n");
  EXPECT_EQ(load(dir / "semi.csv").tables[0].column("I").numbers[0], 1.25);
  test::writeFile(dir / "ragged2.csv", "a,b,c\n1,2,3\n4,5\n");
  EXPECT_NE(loadError(dir / "ragged2.csv").find("line 3: 2 cells, the header has 3 columns"),
            std::string::npos);
}

TEST_F(ReadersTest, NaNCellsAreMaskedAndCounted) {
  test::writeFile(dir / "n.csv", "1,NaN\n3,4\n");
  const Map m = load(dir / "n.csv").maps[0];
  EXPECT_EQ(m.countValid(), 3u);
}

// Formats users bring that ionmap does not read yet are named, not "unrecognised".
TEST_F(ReadersTest, KnownButUnsupportedFormatsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.spm", "\\*Force file list\r\n\\Version: 0x09400202\r\n"},
      {"a.nid", "[DataSet]\r\nVersion=2\r\n"}};
  const std::vector<std::string> names = {"force-curve", "Nanosurf"};
  for (std::size_t i = 0; i < files.size(); ++i) {
    test::writeFile(dir / files[i].first, files[i].second);
    std::string error;
    try {
      registry.pickReader(dir / files[i].first);
    } catch (const InputError& e) {
      error = e.what();
    }
    EXPECT_NE(error.find(names[i]), std::string::npos) << error;
    EXPECT_NE(error.find("does not read yet"), std::string::npos) << error;
  }
}

TEST_F(ReadersTest, FilesNoReaderKnowsAreRefusedByName) {
  test::writeFile(dir / "x.bin", std::string("\x01\x02\x03\x00", 4));
  try {
    registry.pickReader(dir / "x.bin");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no reader recognises"), std::string::npos);
  }
  EXPECT_THROW(registry.pickReader(dir / "missing.tif"), InputError);
}

// Real instrument files: the generic readers must not claim formats they cannot read.
TEST_F(ReadersTest, GenericReadersDoNotClaimRealBinaryInstrumentFiles) {
  const auto shared = test::instrumentFilesDir();
  if (shared.empty())
    GTEST_SKIP() << "../shared/data/instrument-files not found (a user's clone); skipped";
  int checked = 0;
  for (const char* rel :
       {"imzml/Example_Continuous.ibd", "imzml/Example_Continuous.imzML",
        "dm/DMReader_Image_SI-Survey.dm3", "dm/DMReader_EELS_STO.dm4", "gwy/gwyfile_test.gwy",
        "ibw/IgorIBWReader_P0089OP0027.ibw", "ang/EbsdLib_Test_1.ang", "ctf/EbsdLib_Test_US_1.ctf",
        "nanoscope/di-3.di"}) {
    const auto p = shared / rel;
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    const auto head = readHead(p);
    for (const char* generic : {"tiff", "image", "matrix-text"}) {
      EXPECT_EQ(registry.readerByName(generic).score(p, head), 0) << generic << " claims " << rel;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 9);
}

}  // namespace
}  // namespace ionmap
