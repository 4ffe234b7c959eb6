// Gatan .dm3/.dm4: the real files and corrupted copies; pixel size from a sidecar.
#include <cstring>

#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

std::filesystem::path real(const char* name) {
  return test::instrumentFilesDir() / "dm" / name;
}

std::string loadError(const std::filesystem::path& p) {
  try {
    test::builtinRegistry().pickReader(p).load(p, {});
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(DmReader, SurveyImageWithVoltageAndNoCalibration) {
  if (test::instrumentFilesDir().empty())
    GTEST_SKIP() << "../shared/data/instrument-files not found: skipped";
  const auto p = real("DMReader_Image_SI-Survey.dm3");
  EXPECT_EQ(test::builtinRegistry().pickReader(p).name(), "dm");
  const Dataset ds = test::builtinRegistry().pickReader(p).load(p, {});
  ASSERT_EQ(ds.maps.size(), 1u);
  const Map& m = ds.maps[0];
  EXPECT_EQ(m.width(), 512);
  EXPECT_EQ(m.height(), 512);
  EXPECT_FALSE(m.grid.calibrated);  // the file's calibration is scale 1 with no unit
  double lo = 1e300, hi = 0;
  for (double v : m.values.values()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GT(lo, 2.5e6);  // counts of the survey image (uint32)
  EXPECT_LT(hi, 3.5e6);
  bool voltage = false;
  for (const auto& [k, v] : ds.metadata) voltage = voltage || (k == "voltage_V" && v == "200000");
  EXPECT_TRUE(voltage);
}

TEST(DmReader, SpectrumIsRefusedAsNotAnImage) {
  if (test::instrumentFilesDir().empty())
    GTEST_SKIP() << "../shared/data/instrument-files not found: skipped";
  const std::string e = loadError(real("DMReader_EELS_STO.dm4"));
  EXPECT_NE(e.find("a spectrum or profile, not an image"), std::string::npos) << e;
  EXPECT_NE(e.find("(2048)"), std::string::npos) << e;
}

// A small DigitalMicrograph 3 file written byte for byte (big-endian tag structure,
// little-endian data): one ImageList entry with float32 data of the given dimensions and
// per-axis calibration units.
class Dm3Writer {
 public:
  std::string file(const std::vector<std::uint32_t>& dims, const std::vector<std::string>& units) {
    std::uint64_t n = 1;
    for (auto d : dims) n *= d;
    std::string dimension;
    for (const auto& u : units) dimension += group("", scalarF("Scale", 0.5) + text("Units", u));
    std::string data = tagHead(21, "Data") + "%%%%" + be(3) + be(20) + be(6) + be(n);
    for (std::uint64_t i = 0; i < n; ++i) data += le(static_cast<float>(i));
    std::string dimensions;
    for (auto d : dims) dimensions += tagHead(21, "") + "%%%%" + be(1) + be(5) + le(d);
    const std::string image =
        group("ImageData",
              group("Calibrations", group("Dimension", dimension, units.size()), 1) + data +
                  scalarI("DataType", 2) + group("Dimensions", dimensions, dims.size()),
              4);
    const std::string list = group("ImageList", group("", image, 1), 1);
    return be(3) + be(0) + be(1) + std::string("\0\1", 2) + be(1) + list;
  }

 private:
  static std::string be(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
  }
  template <typename T>
  static std::string le(T v) {
    std::string s(sizeof(T), '\0');
    std::memcpy(s.data(), &v, sizeof(T));
    return s;
  }
  static std::string tagHead(int kind, const std::string& name) {
    return std::string(1, static_cast<char>(kind)) + static_cast<char>(name.size() >> 8) +
           static_cast<char>(name.size()) + name;
  }
  // A named group of `count` tags (count from the caller: the bodies are already encoded).
  static std::string group(const std::string& name, const std::string& body, std::size_t count) {
    return tagHead(20, name) + std::string("\0\1", 2) + be(static_cast<std::uint32_t>(count)) +
           body;
  }
  static std::string group(const std::string& name, const std::string& body) {
    return group(name, body, 2);
  }
  static std::string scalarF(const std::string& name, float v) {
    return tagHead(21, name) + "%%%%" + be(1) + be(6) + le(v);
  }
  static std::string scalarI(const std::string& name, std::int32_t v) {
    return tagHead(21, name) + "%%%%" + be(1) + be(3) + le(v);
  }
  static std::string text(const std::string& name, const std::string& ascii) {
    std::string s = tagHead(21, name) + "%%%%" + be(3) + be(20) + be(4) +
                    be(static_cast<std::uint32_t>(ascii.size()));
    for (char c : ascii) s += le(static_cast<std::uint16_t>(c));
    return s;
  }
};

// A spectrum stored as 2048 x 1 loaded as a 2048 x 1 image; an axis in eV or 1/nm is not a
// real-space image axis. Both are refused, and a real image of the same writer loads.
TEST(DmReader, SingletonDimensionsAndNonLengthAxesAreNotImages) {
  test::TempDir dir;
  Dm3Writer w;
  test::writeFile(dir / "image.dm3", w.file({4, 3}, {"nm", "nm"}));
  const Dataset ok =
      test::builtinRegistry().pickReader(dir / "image.dm3").load(dir / "image.dm3", {});
  ASSERT_EQ(ok.maps.size(), 1u);
  EXPECT_EQ(ok.maps[0].grid.width, 4);
  EXPECT_NEAR(ok.maps[0].grid.pixel_x, 0.0005, 1e-12);
  EXPECT_EQ(ok.maps[0].values(1, 2), 9.0);
  test::writeFile(dir / "spectrum.dm3", w.file({2048, 1}, {"eV", ""}));
  EXPECT_NE(loadError(dir / "spectrum.dm3").find("a spectrum or profile, not an image"),
            std::string::npos)
      << loadError(dir / "spectrum.dm3");
  test::writeFile(dir / "diffraction.dm3", w.file({8, 8}, {"1/nm", "1/nm"}));
  EXPECT_NE(loadError(dir / "diffraction.dm3").find("calibrated in '1/nm', not a length"),
            std::string::npos)
      << loadError(dir / "diffraction.dm3");
}

TEST(DmReader, TruncatedAndCorruptedCopiesAreRefusedWithTheOffset) {
  if (test::instrumentFilesDir().empty())
    GTEST_SKIP() << "../shared/data/instrument-files not found: skipped";
  test::TempDir dir;
  const std::string bytes = test::readFile(real("DMReader_Image_SI-Survey.dm3"));
  for (std::size_t keep :
       {std::size_t{10}, std::size_t{5000}, bytes.size() / 2, bytes.size() - 100}) {
    test::writeFile(dir / "cut.dm3", bytes.substr(0, keep));
    const std::string e = loadError(dir / "cut.dm3");
    EXPECT_NE(e.find("cut.dm3"), std::string::npos) << keep << ": " << e;
  }
  std::string bad = bytes;
  bad[3] = 9;  // version 9
  test::writeFile(dir / "v.dm3", bad);
  EXPECT_NE(loadError(dir / "v.dm3").find("no reader recognises this file"), std::string::npos);
  bad = bytes;
  bad[20] = static_cast<char>(0x7f);  // a tag label length far past the end
  test::writeFile(dir / "l.dm3", bad);
  EXPECT_FALSE(loadError(dir / "l.dm3").empty());
}

TEST(ReadStage, PixelSizeFromASidecarFile) {
  test::TempDir dir;
  Image<double> im(4, 4, 1.0);
  im(1, 1) = 2;
  tiff::write(dir / "laser.tif", {{&im, ""}}, tiff::SampleType::kFloat32, 0, 0);
  test::writeFile(dir / "laser.tif.pixelsize.txt", "150 nm\n");
  test::runYaml(
      "version: 1\ninputs: {l: laser.tif}\nstages:\n  - {stage: read, in: {file: l}, out: "
      "{map: m}}\n",
      dir.path(), dir / "o");
  EXPECT_EQ(test::H5File((dir / "o" / "results.h5").string()).numbers("/entry/m/pixel_size"),
            (std::vector<double>{0.15, 0.15}));
}

}  // namespace
}  // namespace ionmap
