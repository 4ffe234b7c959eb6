// EBSD: orientation maths, the real .ang/.ctf files and corrupted copies, segmentation.
#include <algorithm>
#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "ebsd/orientation_classes.hpp"
#include "ebsd/segment_ebsd.hpp"
#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap::ebsd {
namespace {

constexpr double kDeg = M_PI / 180;

std::filesystem::path real(const char* rel) {
  return test::instrumentFilesDir() / rel;
}
// The message of the InputError that `fn` throws, "" if it throws none.
template <typename F>
std::string error(F fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

#define REQUIRE_SHARED()                                                                         \
  if (test::instrumentFilesDir().empty()) {                                                      \
    GTEST_SKIP()                                                                                 \
        << "../shared/data/instrument-files not found (a user's clone): real-file test skipped"; \
  }

TEST(Orientation, MisorientationRespectsCrystalSymmetry) {
  const Quat a = fromBunge(10 * kDeg, 20 * kDeg, 30 * kDeg);
  EXPECT_NEAR(misorientationDeg(a, a, Laue::kCubic), 0, 1e-6);
  // A 90° turn about a cube axis is a symmetry of the cube: no misorientation.
  const Quat r90{std::cos(M_PI / 4), 0, 0, std::sin(M_PI / 4)};
  EXPECT_NEAR(misorientationDeg(a, r90 * a, Laue::kCubic), 0, 1e-6);
  EXPECT_NEAR(misorientationDeg(a, r90 * a, Laue::kTriclinic), 90, 1e-6);
  const Quat r60{std::cos(M_PI / 6), 0, 0, std::sin(M_PI / 6)};
  EXPECT_NEAR(misorientationDeg(a, r60 * a, Laue::kCubic), 30, 1e-6);
  EXPECT_NEAR(misorientationDeg(a, r60 * a, Laue::kHexagonal), 0, 1e-6);
  EXPECT_EQ(symmetryOperators(Laue::kCubic).size(), 24u);
  EXPECT_EQ(symmetryOperators(Laue::kHexagonal).size(), 12u);
  EXPECT_EQ(symmetryOperators(Laue::kTetragonal).size(), 8u);
  // The largest cubic disorientation is 62.8°.
  double worst = 0;
  for (int i = 0; i < 200; ++i) {
    const Quat b = fromBunge(i * 1.7, std::fmod(i * 0.9, M_PI), i * 2.3);
    worst = std::max(worst, misorientationDeg(a, b, Laue::kCubic));
  }
  EXPECT_LE(worst, 62.81);
  double p1, P, p2;
  toBunge(fromBunge(0.3, 1.1, 2.5), p1, P, p2);
  EXPECT_NEAR(p1, 0.3, 1e-9);
  EXPECT_NEAR(P, 1.1, 1e-9);
  EXPECT_NEAR(p2, 2.5, 1e-9);
}

TEST(EbsdReaders, AngSquareGridTwoPhases) {
  REQUIRE_SHARED();
  const EbsdData d = readAng(real("ang/sdss_ferrite_austenite.ang"));
  EXPECT_EQ(d.grid.width, 117);
  EXPECT_EQ(d.grid.height, 100);
  EXPECT_DOUBLE_EQ(d.grid.pixel_x, 1.5);
  ASSERT_EQ(d.phases.size(), 2u);
  EXPECT_EQ(d.phases[1].name, "ferrite/ferrite");
  EXPECT_EQ(d.phases[0].laue, Laue::kCubic);
  EXPECT_NEAR(d.phi1(0, 0), 3.54788, 1e-9);
  EXPECT_EQ(d.phase(1, 0), 1);
}

TEST(EbsdReaders, AngUnindexedPointsAndHexGrid) {
  REQUIRE_SHARED();
  EXPECT_EQ(readAng(real("ang/EbsdLib_Test_1.ang")).unindexed, 160u);
  const EbsdData hex = readAng(real("ang/EbsdLib_HexHeader.ang"));
  EXPECT_EQ(hex.grid.width, 40);
  EXPECT_EQ(hex.grid.height, 4);
  EXPECT_NE(hex.grid_type.find("HexGrid"), std::string::npos);
}

TEST(EbsdReaders, CtfDecimalCommasReadLikeDecimalPoints) {
  REQUIRE_SHARED();
  const EbsdData us = readCtf(real("ctf/EbsdLib_Test_US_1.ctf"));
  const EbsdData eu = readCtf(real("ctf/EbsdLib_Test_European_1.ctf"));
  EXPECT_EQ(us.grid.width, 40);
  EXPECT_EQ(us.grid.height, 5);
  EXPECT_EQ(us.phases.at(0).laue, Laue::kHexagonal);
  EXPECT_EQ(us.unindexed, 10u);
  EXPECT_EQ(us.phi1.values(), eu.phi1.values());
  EXPECT_EQ(us.phase.values(), eu.phase.values());
  EXPECT_NEAR(us.phi1(1, 0), 103.85 * kDeg, 1e-9);
}

TEST(EbsdReaders, TruncatedInteractiveAndInconsistentFilesAreRefused) {
  REQUIRE_SHARED();
  test::TempDir dir;
  const std::string ctf = test::readFile(real("ctf/EbsdLib_Test_US_1.ctf"));
  test::writeFile(dir / "cut.ctf", ctf.substr(0, ctf.size() * 2 / 3));
  EXPECT_NE(error([&] { readCtf(dir / "cut.ctf"); }).find("cut.ctf"), std::string::npos);
  std::string inter = ctf;
  inter.replace(inter.find("JobMode\tGrid"), 12, "JobMode\tInteractive");
  test::writeFile(dir / "i.ctf", inter);
  EXPECT_NE(error([&] { readCtf(dir / "i.ctf"); }).find("only grid acquisitions"),
            std::string::npos);
  const std::string ang = test::readFile(real("ang/sdss_ferrite_austenite.ang"));
  test::writeFile(dir / "cut.ang", ang.substr(0, ang.size() - 2000));
  EXPECT_NE(error([&] { readAng(dir / "cut.ang"); }).find("the header's grid"), std::string::npos);
  std::string rows = ang;
  rows.replace(rows.find("NROWS:   100"), 12, "NROWS:   101");
  test::writeFile(dir / "rows.ang", rows);
  EXPECT_NE(error([&] { readAng(dir / "rows.ang"); }).find("11700 data points"), std::string::npos);
}

// Header numbers are parsed strictly (atoi read "40abc" as 40 and wrapped 4294967336 to a
// small count) and physical sizes are bounded (a step of 1.8e19 um was accepted); a GRID value
// that is there but wrong is named, not called missing. Small files written here.
TEST(EbsdReaders, HeaderNumbersAreParsedStrictlyAndStepsBounded) {
  test::TempDir dir;
  const std::string ctf =
      "Channel Text File\nPrj\tx\nJobMode\tGrid\nXCells\t2\nYCells\t1\nXStep\t0.5\n"
      "YStep\t0.5\nPhases\t1\n3.6;3.6;3.6\t90;90;90\tIron\t11\t225\n"
      "Phase\tX\tY\tBands\tError\tEuler1\tEuler2\tEuler3\tMAD\tBC\tBS\n"
      "1\t0\t0\t8\t0\t10\t20\t30\t0.5\t100\t100\n1\t0.5\t0\t8\t0\t10\t20\t30\t0.5\t100\t100\n";
  test::writeFile(dir / "ok.ctf", ctf);
  ASSERT_EQ(readCtf(dir / "ok.ctf").grid.width, 2);
  auto mutated = [&](const std::string& text, const std::string& from, const std::string& to,
                     const char* name) {
    std::string m = text;
    m.replace(m.find(from), from.size(), to);
    test::writeFile(dir / name, m);
    return dir / name;
  };
  EXPECT_NE(error([&] {
              readCtf(mutated(ctf, "XCells\t2", "XCells\t40abc", "a.ctf"));
            }).find("XCells: expected a whole number, got '40abc'"),
            std::string::npos);
  EXPECT_NE(error([&] {
              readCtf(mutated(ctf, "XCells\t2", "XCells\t4294967336", "b.ctf"));
            }).find("XCells = 4294967336 is outside"),
            std::string::npos);
  EXPECT_NE(error([&] {
              readCtf(mutated(ctf, "XStep\t0.5", "XStep\t1.8e19", "c.ctf"));
            }).find("outside the plausible"),
            std::string::npos);
  const std::string ang =
      "# XSTEP: 0.5\n# YSTEP: 0.5\n# NCOLS_ODD: 2\n# NCOLS_EVEN: 2\n# NROWS: 1\n"
      "# GRID: SqrGrid\n# Phase 1\n# MaterialName Iron\n# Symmetry 43\n"
      "0.1 0.2 0.3 0 0 100 0.9 1\n0.1 0.2 0.3 0.5 0 100 0.9 1\n";
  test::writeFile(dir / "ok.ang", ang);
  ASSERT_EQ(readAng(dir / "ok.ang").grid.width, 2);
  EXPECT_NE(error([&] {
              readAng(mutated(ang, "XSTEP: 0.5", "XSTEP: 1.8e19", "a.ang"));
            }).find("XSTEP = 1.8e+19 um is outside"),
            std::string::npos);
  EXPECT_NE(error([&] {
              readAng(mutated(ang, "NROWS: 1", "NROWS: 1x", "b.ang"));
            }).find("NROWS: expected a whole number"),
            std::string::npos);
  EXPECT_NE(error([&] {
              readAng(mutated(ang, "GRID: SqrGrid", "GRID: SqrGrid#", "c.ang"));
            }).find("GRID is 'SqrGrid#'"),
            std::string::npos);
}

// Hand-checked on the 40 x 5 Zr map: five grains at 5° (orientations about (103,40,29),
// (112,57,8), (92,61,34), (95,139,21), (106,131,27) in degrees), ten unindexed points.
TEST(SegmentEbsd, SmallCtfMapHasTheFiveGrainsCountedByHand) {
  REQUIRE_SHARED();
  const EbsdData d = readCtf(real("ctf/EbsdLib_Test_US_1.ctf"));
  const EbsdSegmentation s = segmentEbsd(d, 5.0, 0, 1);
  ASSERT_EQ(s.grains.size(), 5u);
  std::multiset<std::size_t> sizes;
  for (const auto& g : s.grains) sizes.insert(g.pixels);
  EXPECT_EQ(sizes, (std::multiset<std::size_t>{5, 11, 21, 42, 111}));
  EXPECT_EQ(s.excluded_points, 10u);
  // The two grains near (95,139,21) and (106,131,27) are ~11° apart: separate at 5°, one at 15°.
  EXPECT_EQ(segmentEbsd(d, 15.0, 0, 1).grains.size(), 4u);
}

TEST(SegmentEbsd, TwoPhaseMapAndAllUnindexedMap) {
  REQUIRE_SHARED();
  const EbsdData d = readAng(real("ang/sdss_ferrite_austenite.ang"));
  const EbsdSegmentation s = segmentEbsd(d, 5.0, 0, 1);
  std::set<int> phases;
  std::size_t pixels = 0;
  for (const auto& g : s.grains) phases.insert(g.phase), pixels += g.pixels;
  EXPECT_EQ(phases, (std::set<int>{1, 2}));
  EXPECT_EQ(pixels + s.excluded_points, 11700u);
  EXPECT_GT(s.grains.size(), 50u);
  // Grains of at least 5 points: fewer, none smaller.
  const EbsdSegmentation big = segmentEbsd(d, 5.0, 0, 5);
  EXPECT_LT(big.grains.size(), s.grains.size());
  for (const auto& g : big.grains) EXPECT_GE(g.pixels, 5u);
  EXPECT_THROW(segmentEbsd(readAng(real("ang/EbsdLib_Test_1.ang")), 5.0, 0, 1), ProcessingError);
}

// The segment-ebsd stage as a user runs it: the five grains of the small .ctf map (counted by
// hand above) in the grain table and the label map, with their units; a truncated copy is
// refused naming the file (exit 1), a threshold out of range naming the parameter (exit 2),
// and neither leaves a results.h5.
TEST(SegmentEbsd, StageWritesTheGrainTableAndLabelsAndRefusesBadInput) {
  REQUIRE_SHARED();
  test::TempDir dir;
  auto yaml = [](const std::filesystem::path& file, const std::string& threshold) {
    return "version: 1\ninputs: {e: " + file.string() +
           "}\nstages:\n  - {stage: read, in: {file: e}, params: {as: orientations}, out: "
           "{orientations: ebsd}}\n"
           "  - {stage: segment-ebsd, in: {orientations: ebsd}, params: {threshold: " +
           threshold + "}, out: {labels: grains, grains: grain_table}}\n";
  };
  const auto file = real("ctf/EbsdLib_Test_US_1.ctf");
  test::runYaml(yaml(file, "5"), dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  const auto pixels = f.numbers("/entry/grain_table/pixels");
  EXPECT_EQ(std::multiset<double>(pixels.begin(), pixels.end()),
            (std::multiset<double>{5, 11, 21, 42, 111}));
  EXPECT_EQ(f.attr("/entry/grain_table/area", "units"), "um^2");
  EXPECT_EQ(f.attr("/entry/grain_table/phi1", "units"), "deg");
  EXPECT_EQ(f.numbers("/entry/grains/labels").size(), 200u);  // XCells 40 x YCells 5
  EXPECT_EQ(f.numbers("/entry/grains/pixel_size").size(), 2u);
  // The orientation map is a results item like any other: Euler angles in rad, the phases by
  // name and Laue class.
  EXPECT_EQ(f.numbers("/entry/ebsd/phi1").size(), 200u);
  EXPECT_EQ(f.attr("/entry/ebsd/phi1", "units"), "rad");
  EXPECT_EQ(f.attr("/entry/ebsd", "ionmap_type"), "orientation_map");
  const auto ids = f.numbers("/entry/ebsd/phase_ids");
  EXPECT_FALSE(ids.empty());

  const std::string text = test::readFile(file);
  test::writeFile(dir / "cut.ctf", text.substr(0, text.size() / 2));
  try {
    test::runYaml(yaml(dir / "cut.ctf", "5"), dir.path(), dir / "cut");
    FAIL() << "a truncated .ctf was segmented";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.ctf"), std::string::npos) << e.what();
    EXPECT_EQ(e.exitCode(), 1);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "cut" / "results.h5"));
  try {
    test::runYaml(yaml(file, "100"), dir.path(), dir / "wide");
    FAIL() << "accepted a threshold of 100 deg";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("threshold"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "wide" / "results.h5"));
}

// A synthetic map: four quadrants with known orientations plus 1° scatter.
TEST(SegmentEbsd, SyntheticQuadrantsAreFourGrainsWithTheirMeanOrientations) {
  EbsdData d;
  d.grid.width = d.grid.height = 20;
  d.phases.push_back({1, "cubic", Laue::kCubic});
  d.phi1 = d.Phi = d.phi2 = d.quality = Image<double>(20, 20, 0.0);
  d.phase = Image<std::int32_t>(20, 20, 1);
  const double e[4][3] = {{10, 20, 30}, {50, 20, 30}, {10, 60, 30}, {80, 40, 5}};
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 20; ++x) {
      const int q = (x >= 10) + 2 * (y >= 10);
      const double jitter = std::sin(x * 7.1 + y * 3.3) * 0.5 * kDeg;
      d.phi1(x, y) = e[q][0] * kDeg + jitter, d.Phi(x, y) = e[q][1] * kDeg,
                d.phi2(x, y) = e[q][2] * kDeg - jitter;
    }
  }
  const EbsdSegmentation s = segmentEbsd(d, 5.0, 0, 1);
  ASSERT_EQ(s.grains.size(), 4u);
  for (const auto& g : s.grains) EXPECT_EQ(g.pixels, 100u);
  EXPECT_LT(
      misorientationDeg(s.grains[0].mean, fromBunge(10 * kDeg, 20 * kDeg, 30 * kDeg), Laue::kCubic),
      0.5);
}

// --- orientation classes ---------------------------------------------------------------------

// Bunge's g as the product of three passive elementary rotations, built here on its own.
Vec3 crystalOfSampleZ(double p1, double P, double p2) {
  auto rz = [](double a) {
    return std::array<std::array<double, 3>, 3>{
        {{std::cos(a), std::sin(a), 0}, {-std::sin(a), std::cos(a), 0}, {0, 0, 1}}};
  };
  auto rx = [](double a) {
    return std::array<std::array<double, 3>, 3>{
        {{1, 0, 0}, {0, std::cos(a), std::sin(a)}, {0, -std::sin(a), std::cos(a)}}};
  };
  auto mul = [](const auto& a, const auto& b) {
    std::array<std::array<double, 3>, 3> c{};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
    return c;
  };
  const auto g = mul(rz(p2), mul(rx(P), rz(p1)));
  return {g[0][2], g[1][2], g[2][2]};
}

TEST(OrientationClasses, SampleNormalInTheCrystalFrameAndAnglesWithSymmetry) {
  auto near = [](const Vec3& a, const Vec3& b) {
    return std::abs(a[0] - b[0]) < 1e-12 && std::abs(a[1] - b[1]) < 1e-12 &&
           std::abs(a[2] - b[2]) < 1e-12;
  };
  EXPECT_TRUE(near(sampleToCrystal(0, 0, 0, {0, 0, 1}), Vec3{0, 0, 1}));
  EXPECT_TRUE(near(sampleToCrystal(0, M_PI / 2, 0, {0, 0, 1}), Vec3{0, 1, 0}));
  for (int i = 0; i < 50; ++i) {
    const double p1 = i * 0.37, P = std::fmod(i * 0.71, M_PI), p2 = i * 1.13;
    EXPECT_TRUE(near(sampleToCrystal(p1, P, p2, {0, 0, 1}), crystalOfSampleZ(p1, P, p2))) << i;
  }
  const double s3 = 1 / std::sqrt(3.0);
  const Vec3 n111{s3, s3, s3};
  EXPECT_TRUE(near(sampleToCrystal(0, std::acos(s3), M_PI / 4, {0, 0, 1}), n111));
  EXPECT_NEAR(angleToDirectionDeg(n111, {1, 1, 1}, Laue::kCubic), 0, 1e-6);
  EXPECT_NEAR(angleToDirectionDeg(n111, {0, 0, 1}, Laue::kCubic), 54.7356, 1e-4);
  EXPECT_NEAR(angleToDirectionDeg(n111, {1, 0, 1}, Laue::kCubic), 35.2644, 1e-4);
  // [010] is [100] in a tetragonal crystal but not [001]; in a cubic one it is all three.
  EXPECT_NEAR(angleToDirectionDeg({0, 1, 0}, {1, 0, 0}, Laue::kTetragonal), 0, 1e-6);
  EXPECT_NEAR(angleToDirectionDeg({0, 1, 0}, {0, 0, 1}, Laue::kTetragonal), 90, 1e-6);
  EXPECT_NEAR(angleToDirectionDeg({0, 1, 0}, {0, 0, 1}, Laue::kCubic), 0, 1e-6);
  EXPECT_NEAR(angleToDirectionDeg({0, 1, 0}, {0, 0, 1}, Laue::kTriclinic), 90, 1e-6);
  EXPECT_NEAR(angleToDirectionDeg({0, 0, -1}, {0, 0, 1}, Laue::kTriclinic), 0, 1e-6);
}

TEST(OrientationClasses, DirectionsAreParsedStrictly) {
  const auto d = parseDirections("[100], [1-10]; [1 0 12]");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[1].name, "[1-10]");
  EXPECT_EQ(d[1].uvw, (Vec3{1, -1, 0}));
  EXPECT_EQ(d[2].uvw, (Vec3{1, 0, 12}));
  for (const char* bad : {"[10]", "100", "[000]", "[1x0]", "[100], 001", ""}) {
    EXPECT_THROW(parseDirections(bad), UsageError) << bad;
  }
}

TEST(OrientationClasses, TetragonalStripesAreTheirClassesAndFarPointsNone) {
  EbsdData d;
  d.grid.width = 12, d.grid.height = 4;
  d.phases.push_back({1, "LLTO", Laue::kTetragonal});
  d.phi1 = d.Phi = d.phi2 = d.quality = Image<double>(12, 4, 0.0);
  d.phase = Image<std::int32_t>(12, 4, 1);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 12; ++x) {
      d.phi1(x, y) = 0.3 * x;                                  // in-plane spin: no effect
      if (x >= 4 && x < 8) d.Phi(x, y) = 90 * kDeg;            // c in plane: [100] normal
      if (x >= 8) d.Phi(x, y) = 45 * kDeg;                     // halfway: 45° from both
      if (x == 0 && y == 0) d.phase(x, y) = 0, ++d.unindexed;  // not indexed
    }
  }
  const auto dirs = parseDirections("[100], [001]");
  const OrientationClasses c = classifyOrientations(d, dirs, {0, 0, 1}, 40);
  EXPECT_EQ(c.classes.labels(0, 0), 0);
  EXPECT_EQ(c.classes.labels(1, 0), 2);
  EXPECT_EQ(c.classes.labels(5, 2), 1);
  EXPECT_EQ(c.classes.labels(9, 1), 0);
  EXPECT_EQ(c.points, (std::vector<std::size_t>{16, 15}));
  EXPECT_EQ(c.beyond, 16u);
  EXPECT_NEAR(c.mean_angle_deg[0], 0, 1e-6);
}

// The real two-phase map (cubic ferrite and austenite) in [001] / [101] / [111] classes, against
// the classes read off the sorted components of the normal (the standard triangle), per point.
TEST(OrientationClasses, StageOnARealAngMapAgreesWithTheStandardTriangle) {
  REQUIRE_SHARED();
  test::TempDir dir;
  const auto file = real("ang/sdss_ferrite_austenite.ang");
  test::runYaml("version: 1\ninputs: {e: " + file.string() +
                    "}\nstages:\n  - {stage: read, in: {file: e}, params: {as: orientations}, "
                    "out: {orientations: ebsd}}\n"
                    "  - {stage: ebsd-classes, in: {orientations: ebsd}, params: {directions: "
                    "\"[001], [101], [111]\"}, out: {classes: ipf, table: ipf_table}}\n",
                dir.path(), dir / "out");
  test::H5File f((dir / "out" / "results.h5").string());
  const auto labels = f.numbers("/entry/ipf/labels");
  const EbsdData d = readAng(file);
  ASSERT_EQ(labels.size(), static_cast<std::size_t>(d.grid.width * d.grid.height));
  std::size_t mismatched = 0, counted[4] = {0, 0, 0, 0};
  for (int y = 0; y < d.grid.height; ++y) {
    for (int x = 0; x < d.grid.width; ++x) {
      int expected = 0;
      if (d.phase(x, y) != 0) {
        Vec3 v = crystalOfSampleZ(d.phi1(x, y), d.Phi(x, y), d.phi2(x, y));
        for (double& c : v) c = std::abs(c);
        std::sort(v.begin(), v.end());  // v[2] the largest
        const double c001 = v[2], c101 = (v[2] + v[1]) / std::sqrt(2.0),
                     c111 = (v[0] + v[1] + v[2]) / std::sqrt(3.0);
        expected = c001 >= c101 && c001 >= c111 ? 1 : c101 >= c111 ? 2 : 3;
      }
      const int got = static_cast<int>(labels[static_cast<std::size_t>(y * d.grid.width + x)]);
      mismatched += got != expected;
      ++counted[got];
    }
  }
  EXPECT_EQ(mismatched, 0u);
  for (int k = 1; k <= 3; ++k) EXPECT_GT(counted[k], 100u) << "class " << k;
  const auto share = f.numbers("/entry/ipf_table/share");
  ASSERT_EQ(share.size(), 3u);
  EXPECT_NEAR(share[0] + share[1] + share[2], 1.0, 1e-12);
  EXPECT_EQ(f.attr("/entry/ipf_table/mean_angle", "units"), "deg");
}

}  // namespace
}  // namespace ionmap::ebsd
