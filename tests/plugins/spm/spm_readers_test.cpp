// The SPM readers on the real files (channels, sizes, units as the README of
// ../shared/data/instrument-files describes them), on files written here byte for byte as the
// instruments write them (Igor waves of versions 2, 3 and 5 in both byte orders, Nanonis scans
// upward and downward), on cut and corrupted copies (refused as input errors naming the file,
// never a crash), and the .gwy writer round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "../../pipeline_runner.hpp"
#include "../../test_util.hpp"
#include "ionmap/core/error.hpp"
#include "spm/gwy.hpp"
#include "spm/gwy_writer.hpp"

namespace ionmap {
namespace {

Dataset load(const std::filesystem::path& p) {
  return loadFile(test::builtinRegistry().pickReader(p), p, {});
}

std::string refusal(const std::filesystem::path& p) {
  try {
    load(p);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path real(const std::string& rel) {
  return test::instrumentFilesDir() / rel;
}

std::vector<std::string> namesOf(const Dataset& ds) {
  std::vector<std::string> out;
  for (const auto& m : ds.maps) out.push_back(m.name);
  return out;
}

TEST(SpmReaders, RealFilesGiveTheirChannelsSizesAndUnits) {
  IONMAP_REQUIRE_SHARED();
  const Dataset pto = load(real("gwy/PTO_110_Virgin0001.gwy"));
  EXPECT_EQ(pto.format, "gwy");
  ASSERT_EQ(pto.maps.size(), 4u);
  EXPECT_EQ(pto.maps[0].name, "HeightRetrace");
  EXPECT_EQ(pto.maps[0].unit, "m");
  EXPECT_EQ(pto.maps[0].width(), 256);
  EXPECT_NEAR(pto.maps[0].grid.extentX(), 10.04, 0.01);  // um
  EXPECT_EQ(pto.maps[3].unit, "deg");

  const Dataset ibw = load(real("ibw/IgorIBWReader_P0089OP0027.ibw"));
  EXPECT_EQ(ibw.format, "ibw");
  EXPECT_EQ(namesOf(ibw),
            (std::vector<std::string>{"HeightRetrace", "AmplitudeRetrace", "DeflectionRetrace",
                                      "PhaseRetrace", "UserIn0Retrace"}));
  EXPECT_EQ(ibw.maps[3].unit, "deg");
  EXPECT_EQ(ibw.maps[4].unit, "V");
  EXPECT_NEAR(ibw.maps[0].grid.pixel_x, 2.0 / 255, 1e-9);  // sfA = 2 um / 255

  const Dataset di = load(real("nanoscope/di-3.di"));
  EXPECT_EQ(namesOf(di),
            (std::vector<std::string>{"ZSensor", "AmplitudeError", "Phase", "Height"}));
  EXPECT_NEAR(di.maps[0].grid.extentX(), 10.0, 1e-9);
  EXPECT_EQ(di.maps[1].unit, "V");
  EXPECT_EQ(load(real("nanoscope/di-5.di")).maps[0].width(), 512);

  const Dataset afm = load(real("sxm/pynxtools_afm_A151216.123306-02602.sxm"));
  ASSERT_EQ(afm.maps.size(), 18u);  // 9 channels, forward and backward
  EXPECT_EQ(afm.maps[0].name, "Z (Forward)");
  EXPECT_EQ(afm.maps[1].name, "Z (Backward)");
  EXPECT_EQ(afm.maps[6].name, "Phase (Forward)");
  EXPECT_EQ(afm.maps[6].unit, "deg");
  EXPECT_NEAR(afm.maps[0].grid.extentX(), 0.002, 1e-12);  // 2 nm

  // What cannot be read says why.
  EXPECT_NE(refusal(real("gwy/GwiddionReader_chip_GWYO_oldformat.gwy")).find("old Gwyddion 1.x"),
            std::string::npos);
  EXPECT_NE(refusal(real("nanoscope/pySPM_headeronly_bruker_data_header.000")).find("data missing"),
            std::string::npos);
  EXPECT_NE(refusal(real("nanoscope/pySPM_headeronly_bruker_data_header.002")).find("data missing"),
            std::string::npos);
}

// Every real SPM file cut short anywhere is an input error naming it; one with bytes of its
// header overwritten either still reads or is an input error — never a crash, never another
// exception (the sanitizer build runs this too).
TEST(SpmReaders, CutAndCorruptedCopiesAreRefusedCleanly) {
  IONMAP_REQUIRE_SHARED();
  test::TempDir tmp;
  std::mt19937 rng(5);
  int files = 0;
  for (const char* folder : {"gwy", "ibw", "nanoscope", "sxm"}) {
    for (const auto& e : std::filesystem::directory_iterator(real(folder))) {
      const std::string bytes = test::readFile(e.path());
      if (!refusal(e.path()).empty()) continue;  // refused whole: nothing to cut
      ++files;
      const auto copy = tmp / e.path().filename().string();
      for (double at : {0.0, 0.001, 0.01, 0.3, 0.5, 0.9}) {
        const std::size_t n = static_cast<std::size_t>(at * bytes.size());
        test::writeFile(copy, bytes.substr(0, n));
        const std::string why = refusal(copy);
        EXPECT_NE(why.find(copy.filename().string()), std::string::npos)
            << e.path().filename() << " cut to " << n << " bytes: " << (why.empty() ? "read" : why);
      }
      for (int trial = 0; trial < 40; ++trial) {
        std::string bad = bytes;
        std::uniform_int_distribution<std::size_t> where(
            0, std::min<std::size_t>(bad.size(), 4096) - 1);
        for (int k = 0; k < 8; ++k) bad[where(rng)] = static_cast<char>(rng());
        test::writeFile(copy, bad);
        try {
          load(copy);
        } catch (const Error&) {
        } catch (const std::exception& x) {
          ADD_FAILURE() << e.path().filename() << " corrupted (trial " << trial
                        << "): not an ionmap error: " << x.what();
        }
      }
    }
  }
  EXPECT_GE(files, 7);
}

// --- Igor binary waves written byte for byte (WaveMetrics TN003) ---------------------------

struct Bytes {
  std::string s;
  bool big = false;
  template <class T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big) std::reverse(b, b + sizeof(T));
    s.append(b, sizeof(T));
  }
  void text(const std::string& t, std::size_t n) {
    std::string f = t;
    f.resize(n, '\0');
    s += f;
  }
};

// Makes the 16-bit words of the first `n` bytes sum to 0 through the checksum at `at`.
void setChecksum(Bytes& b, std::size_t at, std::size_t n) {
  auto word = [&](std::size_t i) {
    const auto hi = static_cast<unsigned char>(b.s[b.big ? i : i + 1]);
    const auto lo = static_cast<unsigned char>(b.s[b.big ? i + 1 : i]);
    return static_cast<std::uint16_t>(hi << 8 | lo);
  };
  std::uint16_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) {
    if (i != at) sum = static_cast<std::uint16_t>(sum + word(i));
  }
  const auto c = static_cast<std::uint16_t>(-sum);
  b.s[at + (b.big ? 0 : 1)] = static_cast<char>(c >> 8);
  b.s[at + (b.big ? 1 : 0)] = static_cast<char>(c & 0xFF);
}

// A version-5 wave of nx × ny × layers float32 values v(x, y, k) = 100k + 10y + x, with layer
// labels and a note.
std::string ibwV5(bool big, int nx, int ny, int layers, const std::vector<std::string>& labels,
                  const std::string& note) {
  Bytes b;
  b.big = big;
  const int npnts = nx * ny * std::max(1, layers);
  const std::uint32_t label_bytes = labels.empty() ? 0 : 32u * (layers + 1);
  b.put<std::int16_t>(5);
  b.put<std::int16_t>(0);  // checksum
  b.put<std::int32_t>(320 + npnts * 4);
  b.put<std::int32_t>(0);                                       // formula
  b.put<std::int32_t>(static_cast<std::int32_t>(note.size()));  // note
  b.put<std::int32_t>(0);                                       // data units ext
  for (int i = 0; i < 4; ++i) b.put<std::int32_t>(0);           // dim units ext
  for (int i = 0; i < 4; ++i)
    b.put<std::int32_t>(i == 2 ? static_cast<std::int32_t>(label_bytes) : 0);
  b.put<std::int32_t>(0);
  b.put<std::int32_t>(0);
  b.put<std::int32_t>(0);
  // WaveHeader5
  b.put<std::int32_t>(0);
  b.put<std::uint32_t>(0);
  b.put<std::uint32_t>(0);
  b.put<std::int32_t>(npnts);
  b.put<std::int16_t>(2);  // NT_FP32
  b.put<std::int16_t>(0);
  b.text("", 6);
  b.put<std::int16_t>(1);
  b.text("scan0001", 32);
  b.put<std::int32_t>(0);
  b.put<std::int32_t>(0);
  for (int d : {nx, ny, layers, 0}) b.put<std::int32_t>(d);
  for (double a : {0.5e-6, 0.25e-6, 1.0, 1.0}) b.put<double>(a);
  for (double o : {1e-6, 2e-6, 0.0, 0.0}) b.put<double>(o);
  b.text("V", 4);
  b.text("m", 4);
  b.text("m", 4);
  b.text("", 8);
  b.put<std::int16_t>(0);
  b.put<std::int16_t>(0);
  b.put<double>(0);
  b.put<double>(0);
  b.text("", 320 - 188);  // dataEUnits … sIndices, zero
  EXPECT_EQ(b.s.size(), 384u);
  for (int k = 0; k < std::max(1, layers); ++k) {
    for (int y = 0; y < ny; ++y) {
      for (int x = 0; x < nx; ++x) b.put<float>(static_cast<float>(100 * k + 10 * y + x));
    }
  }
  b.s += note;
  if (!labels.empty()) {
    b.text("", 32);
    for (const auto& l : labels) b.text(l, 32);
  }
  setChecksum(b, 2, 384);
  return b.s;
}

TEST(IbwReader, Version5InBothByteOrdersWithLayersLabelsAndUnits) {
  test::TempDir tmp;
  for (bool big : {false, true}) {
    SCOPED_TRACE(big ? "big-endian" : "little-endian");
    test::writeFile(tmp / "w.ibw", ibwV5(big, 3, 2, 2, {"NapPotentialRetrace", "UserIn1Trace"},
                                         "ScanSize: 1.5e-06\rUserIn1Unit: A\r"));
    const Dataset ds = load(tmp / "w.ibw");
    ASSERT_EQ(ds.maps.size(), 2u);
    EXPECT_EQ(ds.maps[0].name, "NapPotentialRetrace");
    EXPECT_EQ(ds.maps[0].unit, "V");  // a potential channel
    EXPECT_EQ(ds.maps[1].unit, "A");  // from the note's UserIn1Unit
    EXPECT_DOUBLE_EQ(ds.maps[0].grid.pixel_x, 0.5);
    EXPECT_DOUBLE_EQ(ds.maps[0].grid.pixel_y, 0.25);
    EXPECT_DOUBLE_EQ(ds.maps[0].grid.origin_x, 1.0);
    // Igor's first row is the bottom of the image.
    EXPECT_EQ(ds.maps[0].values(0, 1), 0.0);
    EXPECT_EQ(ds.maps[0].values(2, 0), 12.0);
    EXPECT_EQ(ds.maps[1].values(1, 1), 101.0);
  }
  // A flipped header bit fails the checksum; a cut label block is an input error.
  std::string bad = ibwV5(false, 3, 2, 1, {"Height"}, "");
  bad[100] ^= 0x10;
  test::writeFile(tmp / "bad.ibw", bad);
  EXPECT_NE(refusal(tmp / "bad.ibw").find("checksum"), std::string::npos);
  const std::string whole = ibwV5(false, 3, 2, 1, {"Height"}, "");
  test::writeFile(tmp / "cut.ibw", whole.substr(0, whole.size() - 10));
  EXPECT_NE(refusal(tmp / "cut.ibw").find("dimension label"), std::string::npos);
}

// Versions 2 and 3 hold 1-D waves (profiles): a table of x and value.
TEST(IbwReader, Versions2And3AreOneDimensionalWavesAsTables) {
  test::TempDir tmp;
  for (int version : {2, 3}) {
    for (bool big : {false, true}) {
      SCOPED_TRACE(fmt::format("v{} {}", version, big ? "big" : "little"));
      Bytes b;
      b.big = big;
      const std::string note = "profile";
      const int n = 4;
      b.put<std::int16_t>(static_cast<std::int16_t>(version));
      b.put<std::int32_t>(110 + n * 4);
      b.put<std::int32_t>(static_cast<std::int32_t>(note.size()));
      if (version == 3) b.put<std::int32_t>(0);  // formula
      b.put<std::int32_t>(0);                    // pict
      const std::size_t checksum_at = b.s.size();
      b.put<std::int16_t>(0);
      const std::size_t header = b.s.size();
      b.put<std::int16_t>(4);  // NT_FP64? no: 4 = double
      b.put<std::int32_t>(0);
      b.text("line", 20);
      b.put<std::int16_t>(0);
      b.put<std::int16_t>(0);
      b.put<std::int32_t>(0);
      b.text("V", 4);
      b.text("m", 4);
      b.put<std::int32_t>(n);
      b.put<std::int16_t>(0);
      b.put<double>(0.5);  // hsA
      b.put<double>(-1);   // hsB
      b.text("", 110 - (b.s.size() - header));
      for (int i = 0; i < n; ++i) b.put<double>(i * 1.5);
      b.s += note;
      setChecksum(b, checksum_at, header + 110);
      test::writeFile(tmp / "p.ibw", b.s);
      const Dataset ds = load(tmp / "p.ibw");
      ASSERT_EQ(ds.tables.size(), 1u);
      const Table& t = ds.tables[0];
      EXPECT_EQ(t.column("x").unit, "m");
      EXPECT_EQ(t.column("value").unit, "V");
      EXPECT_EQ(t.column("x").numbers, (std::vector<double>{-1, -0.5, 0, 0.5}));
      EXPECT_EQ(t.column("value").numbers, (std::vector<double>{0, 1.5, 3, 4.5}));
    }
  }
}

// --- Nanonis .sxm written byte for byte ----------------------------------------------------

std::string sxm(const std::string& dir, bool msb, int w, int h) {
  std::string head = ":NANONIS_VERSION:\n2\n:SCANIT_TYPE:\n              FLOAT            " +
                     std::string(msb ? "MSBFIRST" : "LSBFIRST") + "\n:SCAN_PIXELS:\n       " +
                     std::to_string(w) + "       " + std::to_string(h) +
                     "\n:SCAN_RANGE:\n           3.000000E-6           2.000000E-6\n"
                     ":SCAN_OFFSET:\n             1.000000E-6         0.000000E+0\n"
                     ":SCAN_DIR:\n" +
                     dir +
                     "\n:DATA_INFO:\n\tChannel\tName\tUnit\tDirection\tCalibration\tOffset\n"
                     "\t1\tKelvin\tV\tboth\t1.000E+0\t0.000E+0\n\n:SCANIT_END:\n\n\n\x1a\x04";
  Bytes b;
  b.big = msb;
  b.s = head;
  for (int pass = 0; pass < 2; ++pass) {
    for (int r = 0; r < h; ++r) {
      for (int c = 0; c < w; ++c) {
        const float v =
            (pass == 1 && r == 0 && c == 0) ? NAN : static_cast<float>(10 * r + c + 100 * pass);
        b.put<float>(v);
      }
    }
  }
  return b.s;
}

TEST(SxmReader, ScanDirectionBackwardMirrorAndByteOrder) {
  test::TempDir tmp;
  for (bool msb : {true, false}) {
    for (const std::string dir : {"down", "up"}) {
      SCOPED_TRACE(dir + (msb ? " MSB" : " LSB"));
      test::writeFile(tmp / "s.sxm", sxm(dir, msb, 3, 2));
      const Dataset ds = load(tmp / "s.sxm");
      ASSERT_EQ(ds.maps.size(), 2u);
      const Map& fwd = ds.maps[0];
      EXPECT_EQ(fwd.name, "Kelvin (Forward)");
      EXPECT_EQ(fwd.unit, "V");
      EXPECT_DOUBLE_EQ(fwd.grid.pixel_x, 1.0);         // 3 um over 3 px
      EXPECT_DOUBLE_EQ(fwd.grid.origin_x, 1.0 - 1.5);  // offset is the centre
      const int top = dir == "down" ? 0 : 1;           // an upward scan stores the bottom first
      EXPECT_EQ(fwd.values(2, top), 2.0);
      EXPECT_EQ(fwd.values(0, 1 - top), 10.0);
      const Map& bwd = ds.maps[1];
      EXPECT_EQ(bwd.name, "Kelvin (Backward)");
      EXPECT_EQ(bwd.values(0, top), 102.0);  // stored mirrored
      EXPECT_FALSE(bwd.valid(2, top));       // the NaN of the unscanned point
    }
  }
  const std::string whole = sxm("down", true, 3, 2);
  test::writeFile(tmp / "cut.sxm", whole.substr(0, whole.size() - 4));
  EXPECT_NE(refusal(tmp / "cut.sxm").find("truncated"), std::string::npos);
}

// --- .gwy writer ---------------------------------------------------------------------------

TEST(GwyWriter, RoundTripsMapsMasksUnitsAndMetadata) {
  test::TempDir tmp;
  Grid g;
  g.width = 4, g.height = 3, g.pixel_x = 0.25, g.pixel_y = 0.5, g.origin_x = 2, g.origin_y = -1;
  Map a("Potential", g, "V"), b("Height", g, "m");
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) a.values(x, y) = 0.1 * x - y, b.values(x, y) = 1e-9 * (x + y);
  }
  a.mask(1, 2) = 0;
  a.metadata.emplace_back("Bias", "1 V");
  spm::writeGwy(tmp / "out.gwy", {a, b});
  const Dataset ds = load(tmp / "out.gwy");
  ASSERT_EQ(ds.maps.size(), 2u);
  EXPECT_EQ(ds.maps[0].name, "Potential");
  EXPECT_EQ(ds.maps[0].unit, "V");
  EXPECT_TRUE(ds.maps[0].grid.sameAs(g, 1e-12));
  EXPECT_FALSE(ds.maps[0].valid(1, 2));
  EXPECT_EQ(ds.maps[0].values(3, 1), a.values(3, 1));
  EXPECT_EQ(ds.maps[1].values(2, 2), b.values(2, 2));
  bool meta = false;
  for (const auto& [k, v] : ds.maps[0].metadata) meta = meta || (k == "meta.Bias" && v == "1 V");
  EXPECT_TRUE(meta);
  Map uncalibrated = a;
  uncalibrated.grid.calibrated = false;
  EXPECT_THROW(spm::writeGwy(tmp / "no.gwy", {uncalibrated}), ProcessingError);
  EXPECT_FALSE(std::filesystem::exists(tmp / "no.gwy"));

  // Gwyddion itself opens what ionmap writes.
  const auto gwyddion = test::findOnPath("gwyddion");
  if (gwyddion.empty()) GTEST_SKIP() << "gwyddion not installed: not checked against Gwyddion";
  const std::string cmd =
      fmt::format("timeout 120 '{}' --convert-to-gwy='{}' '{}' >/dev/null 2>&1", gwyddion.string(),
                  (tmp / "again.gwy").string(), (tmp / "out.gwy").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const Dataset again = load(tmp / "again.gwy");
  ASSERT_EQ(again.maps.size(), 2u);
  EXPECT_EQ(again.maps[1].name, "Height");
  EXPECT_EQ(again.maps[1].values(2, 2), b.values(2, 2));
  EXPECT_TRUE(again.maps[1].grid.sameAs(g, 1e-9));
}

}  // namespace
}  // namespace ionmap
