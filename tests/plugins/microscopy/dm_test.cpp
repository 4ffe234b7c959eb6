// Gatan .dm3/.dm4: the real files and corrupted copies; pixel size from a sidecar.
#include <gtest/gtest.h>

#include "generic/tiff_io.hpp"
#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
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
  EXPECT_NE(e.find("a spectrum, not an image"), std::string::npos) << e;
  EXPECT_NE(e.find("2048 values"), std::string::npos) << e;
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
      "version: 1\ninputs: {l: laser.tif}\nstages:\n  - {stage: read, params: {input: l}, out: "
      "{map: m}}\n",
      dir.path(), dir / "o");
  EXPECT_EQ(test::H5File((dir / "o" / "results.h5").string()).numbers("/entry/m/pixel_size"),
            (std::vector<double>{0.15, 0.15}));
}

}  // namespace
}  // namespace ionmap
