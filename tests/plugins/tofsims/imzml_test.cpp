// imzML on the real example files (continuous and processed), on corrupted copies of them,
// and on files the writer makes in every supported layout.
#include "tofsims/imzml.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

using tofsims::readImzml;

std::filesystem::path real(const char* name) {
  return test::instrumentFilesDir() / "imzml" / name;
}

#define REQUIRE_SHARED()                                                                         \
  if (test::instrumentFilesDir().empty()) {                                                      \
    GTEST_SKIP()                                                                                 \
        << "../shared/data/instrument-files not found (a user's clone): real-file test skipped"; \
  }

std::string errorOf(const std::filesystem::path& p, bool verify = true) {
  try {
    readImzml(p, verify);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// Copies the example pair into `dir` as x.imzML / x.ibd, letting the caller edit the bytes.
std::filesystem::path copyPair(const test::TempDir& dir, const char* stem,
                               std::string (*edit_xml)(std::string),
                               std::string (*edit_ibd)(std::string)) {
  std::string xml = test::readFile(real((std::string(stem) + ".imzML").c_str()));
  std::string ibd = test::readFile(real((std::string(stem) + ".ibd").c_str()));
  if (edit_xml) xml = edit_xml(xml);
  if (edit_ibd) ibd = edit_ibd(ibd);
  test::writeFile(dir / "x.imzML", xml);
  test::writeFile(dir / "x.ibd", ibd);
  return dir / "x.imzML";
}

TEST(Imzml, RealContinuousAndProcessedFilesHoldTheSameNineSpectra) {
  REQUIRE_SHARED();
  const SpectrumImage c = readImzml(real("Example_Continuous.imzML"));
  const SpectrumImage p = readImzml(real("Example_Processed.imzML"));
  for (const SpectrumImage* s : {&c, &p}) {
    EXPECT_EQ(s->grid.width, 3);
    EXPECT_EQ(s->grid.height, 3);
    EXPECT_DOUBLE_EQ(s->grid.pixel_x, 100.0);
    EXPECT_TRUE(s->grid.calibrated);
    ASSERT_EQ(s->spectrumCount(), 9u);
    bool verified = false;
    for (const auto& [k, v] : s->metadata)
      verified = verified || (k == "checksum" && v == "SHA-1 verified");
    EXPECT_TRUE(verified);
  }
  Spectrum a, b;
  for (std::size_t px = 0; px < 9; ++px) {
    c.source->read(static_cast<std::size_t>(c.pixel_spectrum[px]), a);
    p.source->read(static_cast<std::size_t>(p.pixel_spectrum[px]), b);
    ASSERT_EQ(a.mz.size(), 8399u);
    EXPECT_EQ(a.mz, b.mz) << "pixel " << px;
    EXPECT_EQ(a.intensity, b.intensity) << "pixel " << px;
  }
  EXPECT_NEAR(a.mz.front(), 100.0, 1.0);  // the example's scan range is m/z 100-800
  EXPECT_LT(a.mz.back(), 801.0);
}

TEST(Imzml, TruncatedIbdIsRefusedByChecksumAndByOffsetsWhenNotVerifying) {
  REQUIRE_SHARED();
  test::TempDir dir;
  const auto p = copyPair(dir, "Example_Processed", nullptr,
                          [](std::string s) { return s.substr(0, s.size() / 2); });
  EXPECT_NE(errorOf(p).find("SHA-1 is"), std::string::npos) << errorOf(p);
  const std::string e = errorOf(p, false);
  EXPECT_NE(e.find("x.ibd', byte offset"), std::string::npos) << e;
  EXPECT_NE(e.find("extends past the end of the file"), std::string::npos) << e;
}

TEST(Imzml, ForeignUuidIsRefused) {
  REQUIRE_SHARED();
  test::TempDir dir;
  const auto p = copyPair(dir, "Example_Continuous", nullptr, [](std::string s) {
    s[3] = static_cast<char>(s[3] ^ 0x5a);
    return s;
  });
  const std::string e = errorOf(p);
  EXPECT_NE(e.find("does not match the imzML's 554a27fa79d247669a2c862e6d78b1f3"),
            std::string::npos)
      << e;
}

TEST(Imzml, CorruptedIbdDataFailsTheChecksum) {
  REQUIRE_SHARED();
  test::TempDir dir;
  const auto p = copyPair(dir, "Example_Continuous", nullptr, [](std::string s) {
    s[1000] = static_cast<char>(s[1000] ^ 1);
    return s;
  });
  EXPECT_NE(errorOf(p).find("the .ibd is corrupt or incomplete"), std::string::npos);
}

TEST(Imzml, TruncatedXmlIsRefusedWithTheByteOffset) {
  REQUIRE_SHARED();
  test::TempDir dir;
  const auto p = copyPair(
      dir, "Example_Continuous", [](std::string s) { return s.substr(0, s.size() - 300); },
      nullptr);
  const std::string e = errorOf(p);
  EXPECT_NE(e.find("x.imzML', byte offset"), std::string::npos) << e;
  EXPECT_NE(e.find("not well-formed"), std::string::npos) << e;
}

TEST(Imzml, OffsetsBeyondTheIbdAndLengthMismatchesAreRefused) {
  REQUIRE_SHARED();
  test::TempDir dir;
  auto p = copyPair(
      dir, "Example_Continuous",
      [](std::string s) {
        const std::string from = "name=\"external offset\" value=\"33612\"";
        s.replace(s.find(from), from.size(), "name=\"external offset\" value=\"999999999\"");
        return s;
      },
      nullptr);
  EXPECT_NE(errorOf(p, false).find("byte offset 999999999"), std::string::npos)
      << errorOf(p, false);
  p = copyPair(
      dir, "Example_Continuous",
      [](std::string s) {
        const std::string from = "name=\"external encoded length\" value=\"33596\"";
        s.replace(s.find(from), from.size(), "name=\"external encoded length\" value=\"33597\"");
        return s;
      },
      nullptr);
  EXPECT_NE(errorOf(p, false).find("disagrees with 8399 values"), std::string::npos)
      << errorOf(p, false);
}

TEST(Imzml, MissingIbdIsNamed) {
  REQUIRE_SHARED();
  test::TempDir dir;
  test::writeFile(dir / "x.imzML", test::readFile(real("Example_Continuous.imzML")));
  EXPECT_NE(errorOf(dir / "x.imzML").find("x.ibd is missing"), std::string::npos);
}

// The writer in every layout; read back exactly.
TEST(Imzml, WriterRoundTripsEveryLayout) {
  test::TempDir dir;
  for (bool continuous : {true, false}) {
    for (bool zlib : {false, true}) {
      for (auto type :
           {BinaryType::kFloat32, BinaryType::kFloat64, BinaryType::kInt32, BinaryType::kInt64}) {
        tofsims::ImzmlWriteOptions o;
        o.continuous = continuous;
        o.zlib = zlib;
        o.intensity_type = type;
        o.mz_type = BinaryType::kFloat64;
        o.width = 4;
        o.height = 3;
        o.pixel_x_um = 0.5;
        o.pixel_y_um = 0.25;
        auto fill = [&](int x, int y, Spectrum& s) {
          if (x == 3 && y == 2) return;  // one pixel without a spectrum
          for (int i = 0; i < 50; ++i) {
            s.mz.push_back(5.0 + 0.01 * i + (continuous ? 0 : 0.001 * x));
            s.intensity.push_back((x * 7 + y * 3 + i) % 11);
          }
        };
        const auto p = dir / "w.imzML";
        tofsims::writeImzml(p, o, fill);
        const SpectrumImage si = readImzml(p);
        ASSERT_EQ(si.spectrumCount(), 11u);
        EXPECT_EQ(si.pixel_spectrum[2 * 4 + 3], -1);
        EXPECT_DOUBLE_EQ(si.grid.pixel_y, 0.25);
        Spectrum got, want;
        for (int y = 0; y < 3; ++y) {
          for (int x = 0; x < 4; ++x) {
            want.mz.clear();
            want.intensity.clear();
            fill(x, y, want);
            const auto idx = si.pixel_spectrum[static_cast<std::size_t>(y) * 4 + x];
            if (want.mz.empty()) continue;
            si.source->read(static_cast<std::size_t>(idx), got);
            ASSERT_EQ(got.mz, want.mz);
            ASSERT_EQ(got.intensity, want.intensity);
          }
        }
      }
    }
  }
}

// A header that declares a grid far larger than its spectra fill (9 spectra in 16384 x 16384
// pixels took 2.1 GB and a minute; 65536² asked for 32 GiB) is refused before the pixel index
// is allocated, and so is a grid beyond the memory budget (IONMAP_MAX_MEMORY).
TEST(Imzml, DeclaredGridIsCheckedAgainstTheSpectraAndTheMemoryBudget) {
  test::TempDir dir;
  tofsims::ImzmlWriteOptions o;
  o.width = 3;
  o.height = 3;
  const auto p = dir / "w.imzML";
  tofsims::writeImzml(p, o, [](int, int, Spectrum& s) {
    s.mz = {6.0, 7.0};
    s.intensity = {1, 2};
  });
  ASSERT_EQ(readImzml(p).spectrumCount(), 9u);
  const std::string xml = test::readFile(p);
  for (int side : {16384, 65536}) {
    std::string big = xml;
    for (const char* axis : {"x", "y"}) {
      const std::string from = fmt::format("name=\"max count of pixels {}\" value=\"3\"", axis);
      ASSERT_NE(big.find(from), std::string::npos);
      big.replace(big.find(from), from.size(),
                  fmt::format("name=\"max count of pixels {}\" value=\"{}\"", axis, side));
    }
    test::writeFile(p, big);
    const std::string error = errorOf(p);
    EXPECT_NE(error.find("w.imzML"), std::string::npos) << error;
    EXPECT_NE(error.find("for 9 spectra"), std::string::npos) << error;
  }
  test::writeFile(p, xml);
  ASSERT_EQ(setenv("IONMAP_MAX_MEMORY", "64", 1), 0);  // bytes: the 9-pixel index needs 72
  const std::string error = errorOf(p);
  unsetenv("IONMAP_MAX_MEMORY");
  EXPECT_NE(error.find("memory budget"), std::string::npos) << error;
  ASSERT_EQ(setenv("IONMAP_MAX_MEMORY", "lots", 1), 0);
  EXPECT_THROW(readImzml(p), UsageError);
  unsetenv("IONMAP_MAX_MEMORY");
}

TEST(Imzml, CorruptZlibDataIsAnInputErrorNamingTheOffset) {
  test::TempDir dir;
  tofsims::ImzmlWriteOptions o;
  o.zlib = true;
  o.write_sha1 = false;
  o.width = o.height = 2;
  const auto p = dir / "z.imzML";
  tofsims::writeImzml(p, o, [](int, int, Spectrum& s) {
    for (int i = 0; i < 100; ++i) s.mz.push_back(i), s.intensity.push_back(i % 7);
  });
  std::string ibd = test::readFile(dir / "z.ibd");
  for (std::size_t i = 40; i < 60; ++i) ibd[i] = 'x';
  test::writeFile(dir / "z.ibd", ibd);
  // The shared m/z array of a continuous file is inflated at open, the intensities when read:
  // either way the damage is an InputError naming the .ibd and offset.
  try {
    const SpectrumImage si = readImzml(p);
    Spectrum s;
    for (std::size_t i = 0; i < si.spectrumCount(); ++i) si.source->read(i, s);
    ADD_FAILURE() << "corrupt zlib data was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("z.ibd', byte offset"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ionmap
