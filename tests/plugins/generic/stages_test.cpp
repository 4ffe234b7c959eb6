// Each generic stage: an exemplar (known input → known output) and invalid input (clear
// error, nothing written).
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "h5_util.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "pipeline_runner.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

class StagesTest : public ::testing::Test {
 protected:
  // Writes a CSV matrix f(x, y) over w × h pixels.
  template <class F>
  void csv(const std::string& name, int w, int h, F f) {
    std::ofstream out(dir / name);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x)
        out << (x ? "," : "") << fmt::format("{:.17g}", static_cast<double>(f(x, y)));
      out << '\n';
    }
  }
  RunSummary run(const std::string& inputs, const std::string& stages,
                 const std::filesystem::path& out_dir = {}) {
    return test::runYaml("version: 1\ninputs: {" + inputs + "}\nstages:\n" + stages, dir.path(),
                         out_dir.empty() ? out.path() : out_dir);
  }
  // Runs a pipeline that must fail; returns the message and checks nothing was left behind.
  std::string failure(const std::string& inputs, const std::string& stages, ErrorKind kind) {
    test::TempDir failed_out;
    try {
      run(inputs, stages, failed_out.path());
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_FALSE(std::filesystem::exists(failed_out / "results.h5")) << "results.h5 left behind";
      for (const auto& f : std::filesystem::directory_iterator(failed_out.path())) {
        EXPECT_TRUE(f.path().filename() == "run.log") << "left behind: " << f.path();
      }
      return e.what();
    }
    ADD_FAILURE() << "pipeline did not fail";
    return "";
  }
  std::vector<double> h5(const std::string& path) {
    return test::H5File((out / "results.h5").string()).numbers(path);
  }

  test::TempDir dir, out;
};

const char* kReadA =
    "  - {stage: read, in: {file: a}, params: {pixel_size: 0.5, unit: mV}, out: {map: a}}\n";

TEST_F(StagesTest, ReadLoadsLabelsAndRefusesNonIntegerLabelImages) {
  csv("l.csv", 3, 2, [](int x, int) { return x + 1; });
  run("l: l.csv",
      "  - {stage: read, in: {file: l}, params: {as: labels, pixel_size: 1}, out: {labels: g}}\n");
  EXPECT_EQ(h5("/entry/g/labels"), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  csv("f.csv", 3, 2, [](int x, int) { return x + 0.5; });
  const auto e =
      failure("l: f.csv", "  - {stage: read, in: {file: l}, params: {as: labels, pixel_size: 1}}\n",
              ErrorKind::kInput);
  EXPECT_NE(e.find("not a label image: pixel (0, 0) holds 0.5"), std::string::npos) << e;
}

// Past the runner an error keeps its type and fields: an input-file error is still an
// InputError naming its file (exit 1), with the stage before its message and in context().
TEST_F(StagesTest, AnInputErrorKeepsItsTypeAndFileThroughTheRunner) {
  csv("f.csv", 3, 2, [](int x, int) { return x + 0.5; });
  try {
    run("l: f.csv", "  - {stage: read, in: {file: l}, params: {as: labels, pixel_size: 1}}\n");
    FAIL() << "a non-integer label image was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::filesystem::path(e.file()).filename(), "f.csv") << e.what();
    EXPECT_EQ(e.exitCode(), 1);
    EXPECT_EQ(std::string(e.what()).rfind(e.context(), 0), 0u) << e.what();
    EXPECT_NE(e.context().find("stage 'read'"), std::string::npos) << e.context();
  }
}

TEST_F(StagesTest, ReadRefusesAnUncalibratedFileWithoutPixelSize) {
  csv("a.csv", 2, 2, [](int, int) { return 1.0; });
  const auto e = failure("a: a.csv", "  - {stage: read, in: {file: a}}\n", ErrorKind::kUsage);
  EXPECT_NE(e.find("carries no pixel size"), std::string::npos) << e;
  EXPECT_NE(e.find("set this stage's `pixel_size` (um), e.g. --set read.pixel_size="),
            std::string::npos)
      << e;
}

TEST_F(StagesTest, ReadPicksChannelsByNameOrIndexAndNamesTheAvailableOnes) {
  Image<double> p0(2, 2, 1.0), p1(2, 2, 2.0);
  tiff::write(dir / "s.tif", {{&p0, "6Li"}, {&p1, "7Li"}}, tiff::SampleType::kFloat32, 1, 1);
  run("s: s.tif",
      "  - {stage: read, id: r1, in: {file: s}, params: {channel: 7Li}, out: {map: a}}\n"
      "  - {stage: read, id: r2, in: {file: s}, params: {channel: '0'}, out: {map: b}}\n");
  EXPECT_EQ(h5("/entry/a/data")[0], 2.0);
  EXPECT_EQ(h5("/entry/b/data")[0], 1.0);
  const auto e = failure("s: s.tif", "  - {stage: read, in: {file: s}, params: {channel: 12C}}\n",
                         ErrorKind::kUsage);
  EXPECT_NE(e.find("has no channel '12C'; channels: 6Li, 7Li"), std::string::npos) << e;
}

TEST_F(StagesTest, ChannelNamesComeFromThePipelineOrASidecar) {
  Image<double> p0(2, 2, 1.0), p1(2, 2, 2.0);
  tiff::write(dir / "m.tif", {{&p0, ""}, {&p1, ""}}, tiff::SampleType::kFloat32, 1, 1);
  run("s: m.tif",
      "  - {stage: read, in: {file: s}, params: {channel: 7Li, channel_names: '6Li, 7Li'}, out: "
      "{map: "
      "a}}\n");
  EXPECT_EQ(h5("/entry/a/data")[0], 2.0);
  test::writeFile(dir / "m.tif.channels.txt", "# mass labels\n6Li\n7Li\n");
  run("s: m.tif", "  - {stage: read, in: {file: s}, params: {channel: 6Li}, out: {map: b}}\n");
  EXPECT_EQ(h5("/entry/b/data")[0], 1.0);
}

TEST_F(StagesTest, LevelRemovesAKnownPlaneAndKeepsTheSignal) {
  // Signal: +10 mV on the left half, −10 on the right (zero mean, no tilt); plus a plane.
  csv("a.csv", 40, 20, [](int x, int y) {
    const double u = (x + 0.5 - 20) * 0.5, v = (y + 0.5 - 10) * 0.5;
    const double signal = (x < 20 ? 10.0 : -10.0) * (y < 10 ? 1 : -1);
    return signal + 7 + 0.3 * u - 1.1 * v;
  });
  run("a: a.csv",
      std::string(kReadA) + "  - {stage: level, in: {map: a}, out: {map: flat, background: bg}}\n");
  const auto flat = h5("/entry/flat/data");
  const auto bg = h5("/entry/bg/data");
  ASSERT_EQ(flat.size(), 800u);
  EXPECT_NEAR(flat[0], 10.0, 1e-9);
  EXPECT_NEAR(flat[39], -10.0, 1e-9);
  EXPECT_NEAR(bg[0], 7 + 0.3 * (-9.75) - 1.1 * (-4.75), 1e-9);
}

TEST_F(StagesTest, LevelRowsRemovesScanLineOffsets) {
  csv("a.csv", 5, 3, [](int x, int y) { return x + 100.0 * y; });
  run("a: a.csv",
      std::string(kReadA) +
          "  - {stage: level, params: {method: rows}, in: {map: a}, out: {map: flat}}\n");
  EXPECT_EQ(h5("/entry/flat/data"),
            (std::vector<double>{-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2}));
}

// An electrode at +5 V over the right quarter would tilt a plane fitted to everything; left out
// through `exclude`, the plane is the sample's own. A scar is repaired first and marked.
TEST_F(StagesTest, LevelFitsAwayFromExcludedRegionsAndRepairsScars) {
  csv("a.csv", 40, 20, [](int x, int y) {
    const double u = (x + 0.5 - 20) * 0.5, v = (y + 0.5 - 10) * 0.5;
    const double scar = (y == 9 && x >= 5 && x < 20) ? 0.8 : 0.0;
    return (x >= 30 ? 5.0 : 0.0) + 0.3 * u - 0.2 * v + scar;
  });
  csv("e.csv", 40, 20, [](int x, int) { return x >= 30 ? 1 : 0; });
  run("a: a.csv, e: e.csv",
      std::string(kReadA) +
          "  - {stage: read, id: re, in: {file: e}, params: {as: labels, pixel_size: 0.5}, out: "
          "{labels: electrode}}\n"
          "  - {stage: level, params: {scars: true, scar_min_length: 5}, in: {map: a, exclude: "
          "electrode}, out: {map: flat, repaired: scars}}\n");
  const auto flat = h5("/entry/flat/data");
  const auto scars = h5("/entry/scars/data");
  ASSERT_EQ(flat.size(), 800u);
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 40; ++x) {
      const auto i = static_cast<std::size_t>(y * 40 + x);
      EXPECT_NEAR(flat[i], x >= 30 ? 5.0 : 0.0, 1e-9) << x << ", " << y;
      EXPECT_EQ(scars[i], (y == 9 && x >= 5 && x < 20) ? 1.0 : 0.0) << x << ", " << y;
    }
  }
  EXPECT_NE(failure("a: a.csv",
                    std::string(kReadA) +
                        "  - {stage: level, in: {map: a}, out: {map: f, repaired: r}}\n",
                    ErrorKind::kUsage)
                .find("needs scars: true"),
            std::string::npos);
}

TEST_F(StagesTest, LevelRejectsOutOfRangeOrderAndMapsWithoutValidPixels) {
  csv("a.csv", 4, 4, [](int, int) { return 1.0; });
  auto e =
      failure("a: a.csv",
              std::string(kReadA) +
                  "  - {stage: level, params: {method: polynomial, order: 12}, in: {map: a}}\n",
              ErrorKind::kUsage);
  EXPECT_NE(e.find("stage 'level' (#2, test.yaml:5), parameter 'order' (test.yaml:5): value 12 is "
                   "out of range [0, 8]"),
            std::string::npos)
      << e;
  csv("n.csv", 2, 2, [](int, int) { return std::nan(""); });
  e = failure("a: n.csv", std::string(kReadA) + "  - {stage: level, in: {map: a}}\n",
              ErrorKind::kProcessing);
  EXPECT_NE(e.find("stage 'level' (#2"), std::string::npos) << e;
  EXPECT_NE(e.find("0 valid pixels cannot fit a surface"), std::string::npos) << e;
}

TEST_F(StagesTest, ResampleAppliesTheTransformFromParameters) {
  csv("a.csv", 20, 20, [](int x, int y) { return 2.0 * x - y; });  // 0.5 µm pixels
  csv("r.csv", 10, 10, [](int, int) { return 0.0; });
  // Shift the source by +1 µm in x: reference pixel centre x_r maps back to source x_r − 1.
  run("a: a.csv, r: r.csv",
      std::string(kReadA) +
          "  - {stage: read, id: rr, in: {file: r}, params: {pixel_size: 0.5}, out: {map: ref}}\n"
          "  - {stage: resample, params: {transform: translation, translation: [1, 0]}, "
          "in: {map: a, reference: ref}, out: {map: moved}}\n");
  const auto v = h5("/entry/moved/data");
  // reference pixel (5, 3): centre (2.75, 1.75) µm → source (1.75, 1.75) µm → pixel (3, 3).
  EXPECT_NEAR(v[3 * 10 + 5], 2.0 * 3 - 3, 1e-12);
  EXPECT_TRUE(std::isnan(v[0]));  // reference x = 0.25 µm → source −0.75: outside, masked
}

TEST_F(StagesTest, ResampleOntoAPixelSizeCoarsensLabelsOverTheSameExtent) {
  // 8 x 4 px at 0.5 um: labels 1 | 2 split at x = 2 um; onto 1 um pixels → 4 x 2 px.
  csv("l.csv", 8, 4, [](int x, int) { return x < 4 ? 1 : 2; });
  run("l: l.csv",
      "  - {stage: read, in: {file: l}, params: {as: labels, pixel_size: 0.5}, out: {labels: l}}\n"
      "  - {stage: resample, params: {pixel_size: 1.0}, in: {labels: l}, out: {labels: c}}\n");
  EXPECT_EQ(h5("/entry/c/labels"), (std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2}));
  const auto e =
      failure("l: l.csv",
              "  - {stage: read, in: {file: l}, params: {as: labels, pixel_size: 0.5}, out: "
              "{labels: l}}\n"
              "  - {stage: resample, in: {labels: l}}\n",
              ErrorKind::kUsage);
  EXPECT_NE(e.find("`pixel_size` > 0"), std::string::npos) << e;
}

TEST_F(StagesTest, ResampleWithoutOverlapFailsSayingSo) {
  csv("a.csv", 4, 4, [](int, int) { return 1.0; });
  const auto e =
      failure("a: a.csv",
              std::string(kReadA) +
                  "  - {stage: resample, params: {transform: translation, translation: [100, 0]}, "
                  "in: {map: a, reference: a}}\n",
              ErrorKind::kProcessing);
  EXPECT_NE(e.find("only 0.0% of the reference"), std::string::npos) << e;
}

TEST_F(StagesTest, StatsPerLabelMatchesHandComputedValuesAndWarnsOnEmptyLabels) {
  csv("a.csv", 4, 1, [](int x, int) { return std::vector<double>{1, 3, 10, 12}[x]; });
  csv("l.csv", 4, 1, [](int x, int) { return x < 2 ? 1 : 2; });
  run("a: a.csv, l: l.csv", std::string(kReadA) +
                                "  - {stage: read, id: rl, in: {file: l}, params: {as: labels, "
                                "pixel_size: 0.5}, out: {labels: l}}\n"
                                "  - {stage: stats, in: {map: a, labels: l}, out: {table: t}}\n");
  EXPECT_EQ(h5("/entry/t/mean"), (std::vector<double>{2, 11}));
  EXPECT_EQ(h5("/entry/t/area"), (std::vector<double>{0.5, 0.5}));
  const std::string csv_text = test::readFile(out / "t.csv");
  EXPECT_NE(csv_text.find("mean [mV]"), std::string::npos) << csv_text;
}

TEST_F(StagesTest, StatsRefusesLabelsOnAnotherGrid) {
  csv("a.csv", 4, 4, [](int, int) { return 1.0; });
  csv("l.csv", 3, 3, [](int, int) { return 1.0; });
  const auto e =
      failure("a: a.csv, l: l.csv",
              std::string(kReadA) +
                  "  - {stage: read, id: rl, in: {file: l}, params: {as: labels, pixel_size: "
                  "1}, out: {labels: l}}\n"
                  "  - {stage: stats, in: {map: a, labels: l}}\n",
              ErrorKind::kProcessing);
  EXPECT_NE(e.find("resample the labels onto the map's grid first"), std::string::npos) << e;
}

TEST_F(StagesTest, QuicklookWritesTheNamedPng) {
  csv("a.csv", 30, 20, [](int x, int y) { return x * y; });
  run("a: a.csv", std::string(kReadA) +
                      "  - {stage: write-quicklook, params: {file: look.png, colormap: inferno}, "
                      "in: {map: a}}\n");
  const std::string png = test::readFile(out / "look.png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST_F(StagesTest, AStageWrittenFileIsNotOverwrittenByTheAutomaticQuicklook) {
  csv("a.csv", 30, 20, [](int x, int y) { return x * y; });
  run("a: a.csv",
      std::string(kReadA) +
          "  - {stage: write-quicklook, params: {file: a.png, vmin: 0, vmax: 1}, in: {map: a}}\n");
  EXPECT_TRUE(std::filesystem::exists(out / "a.png"));
  const std::string log = test::readFile(out / "run.log");
  EXPECT_NE(
      log.find("'a.png' was written by a stage; the automatic quicklook of item 'a' is skipped"),
      std::string::npos)
      << log;
}

TEST_F(StagesTest, QuicklookRejectsPathsAndUnknownColormaps) {
  csv("a.csv", 3, 3, [](int, int) { return 1.0; });
  auto e = failure("a: a.csv",
                   std::string(kReadA) +
                       "  - {stage: write-quicklook, params: {file: ../x.png}, in: {map: a}}\n",
                   ErrorKind::kUsage);
  EXPECT_NE(e.find("plain file name ending in .png"), std::string::npos) << e;
  e = failure("a: a.csv",
              std::string(kReadA) +
                  "  - {stage: write-quicklook, params: {colormap: rainbow}, in: {map: a}}\n",
              ErrorKind::kUsage);
  EXPECT_NE(e.find("'rainbow' is not one of"), std::string::npos) << e;
}

}  // namespace
}  // namespace ionmap
