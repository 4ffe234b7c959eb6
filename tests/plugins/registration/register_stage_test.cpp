// The register and drift-correct stages in pipelines: known truth, saved transforms read back,
// landmarks from a CSV, poor matches flagged, bad input refused.
#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "h5_util.hpp"
#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "pipeline_runner.hpp"
#include "registration/synthetic.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

Transform2D transformFromResults(const test::H5File& f, const std::string& item) {
  const auto lin = f.numbers("/entry/" + item + "/linear");
  const auto t = f.numbers("/entry/" + item + "/translation");
  return Transform2D::fromMatrix({lin.at(0), lin.at(1), t.at(0), lin.at(2), lin.at(3), t.at(1)});
}

double reportValue(const test::H5File& f, const std::string& item, const std::string& quantity) {
  // The report is a quantity table: one dataset per quantity, with its unit.
  return f.number("/entry/" + item + "/" + quantity);
}

// The basic sample: KPFM (0.4 um pixels) registered onto the laser image (0.1 um) recovers
// the true rigid transform of truth.yaml (2 deg, (1.5, -0.8) um) to within half a laser pixel.
TEST(RegisterStage, KpfmSampleIsRegisteredOntoTheLaserImage) {
  test::TempDir out;
  test::runPipelineFile(test::sourceDir() / "pipelines/kpfm-grain-stats-registered.yaml",
                        out.path());
  test::H5File f((out / "results.h5").string());
  const Transform2D found = transformFromResults(f, "kpfm_to_laser");
  Grid laser;
  laser.width = laser.height = 512;
  laser.pixel_x = laser.pixel_y = 0.1;
  double mean = 0, max = 0;
  registration::targetRegistrationError(found, Transform2D::rigid(2.0 * M_PI / 180, 1.5, -0.8),
                                        laser, mean, max);
  EXPECT_LT(mean, 0.5) << "laser pixels";
  EXPECT_LT(max, 0.6) << "laser pixels";
  EXPECT_EQ(reportValue(f, "registration_quality", "quality_good"), 1.0);
  EXPECT_GT(reportValue(f, "registration_quality", "overlap_fraction"), 0.9);
  for (const char* file :
       {"kpfm_to_laser-checkerboard.png", "kpfm_to_laser-edges.png", "kpfm_to_laser.yaml"}) {
    EXPECT_TRUE(std::filesystem::exists(out / file)) << file;
  }
}

class RegisterPipelines : public ::testing::Test {
 protected:
  void SetUp() override {
    registration::PairSpec s;
    s.fixed_pixels = 256;
    s.multimodal = false;
    pair_ = registration::makePair(s);
    tiff::write(dir / "fixed.tif", {{&pair_.fixed.values, "fixed"}}, tiff::SampleType::kFloat32,
                0.1, 0.1);
    tiff::write(dir / "moving.tif", {{&pair_.moving.values, "moving"}}, tiff::SampleType::kFloat32,
                0.2, 0.2);
  }
  RunSummary run(const std::string& stages, const std::filesystem::path& out) {
    return test::runYaml(
        "version: 1\ninputs: {f: fixed.tif, m: moving.tif, l: landmarks.csv, t: t.yaml}\nstages:\n"
        "  - {stage: read, id: rf, in: {file: f}, out: {map: fixed}}\n"
        "  - {stage: read, id: rm, in: {file: m}, out: {map: moving}}\n" +
            stages,
        dir.path(), out);
  }
  test::TempDir dir;
  registration::SyntheticPair pair_;
};

TEST_F(RegisterPipelines, SavedTransformYamlReadsBackExactly) {
  test::writeFile(dir / "landmarks.csv", "fixed_x,fixed_y,moving_x,moving_y\n0,0,0,0\n");
  test::writeFile(dir / "t.yaml", "ionmap_transform: {matrix: [1, 0, 0, 0, 1, 0]}\n");
  run("  - {stage: register, in: {fixed: fixed, moving: moving}, out: {transform: t1}}\n",
      dir / "a");
  std::filesystem::copy_file(dir / "a" / "t1.yaml", dir / "t.yaml",
                             std::filesystem::copy_options::overwrite_existing);
  run("  - {stage: read, id: rt, in: {file: t}, params: {as: transform}, out: {transform: t2}}\n"
      "  - {stage: resample, in: {map: moving, reference: fixed, transform: t2}, out: {map: "
      "moved}}\n",
      dir / "b");
  const Transform2D a =
      transformFromResults(test::H5File((dir / "a" / "results.h5").string()), "t1");
  const Transform2D b =
      transformFromResults(test::H5File((dir / "b" / "results.h5").string()), "t2");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.matrix()[i], b.matrix()[i]) << i;
}

TEST_F(RegisterPipelines, LandmarksFromACsvWithResidualsAndOutlierFlags) {
  // Six well-spread landmarks mapped through the truth, one of them clicked 2 um off.
  std::string csv = "fixed_x,fixed_y,moving_x,moving_y\n";
  const Transform2D t = pair_.moving_to_fixed;
  const double pts[6][2] = {{3, 4}, {20, 3}, {5, 21}, {22, 20}, {12, 12}, {8, 16}};
  for (int i = 0; i < 6; ++i) {
    const Point2 f = t.apply({pts[i][0], pts[i][1]});
    csv += fmt::format("{},{},{},{}\n", f.x + (i == 5 ? 2.0 : 0.0), f.y, pts[i][0], pts[i][1]);
  }
  test::writeFile(dir / "landmarks.csv", csv);
  test::writeFile(dir / "t.yaml", "ionmap_transform: {matrix: [1, 0, 0, 0, 1, 0]}\n");
  run("  - {stage: register, params: {coarse: landmarks, refine: none, transform: rigid}, "
      "in: {fixed: fixed, moving: moving, landmark_file: l}, "
      "out: {transform: t, landmarks: lm, report: rep}}\n",
      dir / "o");
  test::H5File f((dir / "o" / "results.h5").string());
  const auto outlier = f.numbers("/entry/lm/outlier");
  ASSERT_EQ(outlier.size(), 6u);
  EXPECT_EQ(outlier[5], 1.0);
  EXPECT_EQ(outlier[0] + outlier[1] + outlier[2] + outlier[3] + outlier[4], 0.0);
  EXPECT_EQ(reportValue(f, "rep", "landmark_outliers"), 1.0);
}

TEST_F(RegisterPipelines, CollinearLandmarksForAnAffineFitAreRefused) {
  test::writeFile(dir / "landmarks.csv",
                  "fixed_x,fixed_y,moving_x,moving_y\n0,0,0,0\n1,1,1,1\n2,2,2,2\n");
  test::writeFile(dir / "t.yaml", "ionmap_transform: {matrix: [1, 0, 0, 0, 1, 0]}\n");
  try {
    run("  - {stage: register, params: {coarse: landmarks, transform: affine}, "
        "in: {fixed: fixed, moving: moving, landmark_file: l}}\n",
        dir / "o");
    FAIL() << "accepted collinear landmarks";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
    EXPECT_NE(std::string(e.what()).find("collinear"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "o" / "results.h5"));
}

TEST_F(RegisterPipelines, APoorMatchIsFlaggedNotPresentedAsGood) {
  // Moving = noise unrelated to the fixed image.
  cv::Mat noise(128, 128, CV_64F);
  cv::randn(noise, 0, 1);
  Image<double> img(128, 128);
  std::copy(noise.ptr<double>(), noise.ptr<double>() + noise.total(), img.data());
  tiff::write(dir / "moving.tif", {{&img, "noise"}}, tiff::SampleType::kFloat32, 0.2, 0.2);
  test::writeFile(dir / "landmarks.csv", "fixed_x,fixed_y,moving_x,moving_y\n0,0,0,0\n");
  test::writeFile(dir / "t.yaml", "ionmap_transform: {matrix: [1, 0, 0, 0, 1, 0]}\n");
  const RunSummary s =
      run("  - {stage: register, params: {min_overlap: 0}, in: {fixed: fixed, moving: moving}, "
          "out: {report: rep}}\n",
          dir / "o");
  test::H5File f((dir / "o" / "results.h5").string());
  EXPECT_EQ(reportValue(f, "rep", "quality_good"), 0.0);
  EXPECT_NE(test::readFile(dir / "o" / "run.log").find("the match is poor"), std::string::npos);
  // A failed check: the run's verdict says not fit for use (ionmap run exits with 3).
  ASSERT_EQ(s.failed_checks.size(), 1u);
  EXPECT_EQ(f.text("/entry/verdict").rfind("NOT fit for use", 0), 0u) << f.text("/entry/verdict");
}

// Frames of one scene drifting by known sub-pixel amounts (rendered, not interpolated).
TEST(DriftCorrect, RecoversPerFrameShiftsAndAlignsTheSum) {
  test::TempDir dir;
  const double shifts[4][2] = {{0, 0}, {1.3, -0.4}, {2.6, -0.9}, {3.7, -1.5}};
  std::vector<Image<double>> frames;
  for (const auto& s : shifts) {
    Image<double> im(96, 96, 0.0);
    cv::RNG rng(9);
    for (int i = 0; i < 60; ++i) {
      const double cx = rng.uniform(0.0, 96.0) + s[0], cy = rng.uniform(0.0, 96.0) + s[1],
                   r = rng.uniform(2.0, 5.0);
      for (int y = 0; y < 96; ++y) {
        for (int x = 0; x < 96; ++x)
          im(x, y) += std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * r * r));
      }
    }
    frames.push_back(std::move(im));
  }
  std::vector<tiff::WritePage> pages;
  for (auto& f : frames) pages.push_back({&f, ""});
  tiff::write(dir / "series.tif", pages, tiff::SampleType::kFloat32, 0.5, 0.5);
  test::runYaml(
      "version: 1\ninputs: {s: series.tif}\nstages:\n"
      "  - {stage: drift-correct, in: {file: s}, out: {drift: d, map: aligned}}\n",
      dir.path(), dir / "o");
  test::H5File f((dir / "o" / "results.h5").string());
  const auto dx = f.numbers("/entry/d/dx"), dy = f.numbers("/entry/d/dy");
  ASSERT_EQ(dx.size(), 4u);
  for (int k = 0; k < 4; ++k) {
    // 0.1 px: on 96-pixel frames up to 4 % of the scene leaves the field between frames.
    EXPECT_NEAR(dx[k], shifts[k][0] * 0.5, 0.1 * 0.5) << "frame " << k << " (um)";
    EXPECT_NEAR(dy[k], shifts[k][1] * 0.5, 0.1 * 0.5) << "frame " << k << " (um)";
  }
}

}  // namespace
}  // namespace ionmap
