// Registration algorithms against synthetic pairs with known transforms.
#include <cmath>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/error.hpp"
#include "registration/landmarks.hpp"
#include "registration/phase_correlation.hpp"
#include "registration/register.hpp"
#include "registration/synthetic.hpp"

namespace ionmap::registration {
namespace {

cv::Mat blobs(int n, int seed) {
  cv::RNG rng(seed);
  cv::Mat a(n, n, CV_64F, cv::Scalar(0));
  for (int i = 0; i < n * 300 / 256; ++i) {
    cv::circle(a, cv::Point(rng.uniform(0, n), rng.uniform(0, n)), rng.uniform(2, 12),
               cv::Scalar(rng.uniform(0.2, 1.0)), -1);
  }
  cv::GaussianBlur(a, a, cv::Size(), 1.0);
  return a;
}

// Gaussian blobs rendered at continuous positions: b is a shifted by exactly (dx, dy), with no
// interpolation in between (an interpolated shift would bias any estimator).
cv::Mat gaussianBlobs(int n, double dx, double dy) {
  cv::RNG rng(5);
  cv::Mat a(n, n, CV_64F, cv::Scalar(0));
  for (int i = 0; i < 120; ++i) {
    const double cx = rng.uniform(0.0, 1.0 * n) + dx, cy = rng.uniform(0.0, 1.0 * n) + dy;
    const double s = rng.uniform(2.0, 6.0), amp = rng.uniform(0.2, 1.0);
    for (int y = 0; y < n; ++y) {
      for (int x = 0; x < n; ++x) {
        a.at<double>(y, x) +=
            amp * std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * s * s));
      }
    }
  }
  return a;
}

TEST(PhaseCorrelation, RecoversSubPixelShiftsWithin005Pixel) {
  const cv::Mat a = gaussianBlobs(128, 0, 0);
  for (double d = 0; d < 1.0; d += 0.1) {
    const PhaseCorrelation pc = phaseCorrelate(a, gaussianBlobs(128, 3 + d, -5 - d));
    EXPECT_NEAR(pc.dx, 3 + d, 0.05) << d;
    EXPECT_NEAR(pc.dy, -5 - d, 0.05) << d;
    EXPECT_GT(pc.peak, 4.0 / 128) << "peak should stand well above the noise floor 1/sqrt(N)";
  }
}

// Rotation (either sign, up to 40°) and scale from the log-polar spectra.
TEST(FourierMellin, RecoversRotationAndScale) {
  const cv::Mat a = blobs(256, 3);
  for (double deg : {3.0, 17.0, -40.0}) {
    for (double scale : {1.0, 1.25}) {
      // OpenCV turns positive angles counter-clockwise on screen (y down): −deg in our frame.
      const cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(128, 128), deg, scale);
      cv::Mat b;
      cv::warpAffine(a, b, m, a.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
      const SimilarityEstimate e = fourierMellin(a, b);
      EXPECT_NEAR(e.rotation_rad * 180 / M_PI, -deg, 0.2) << deg << " deg, scale " << scale;
      EXPECT_NEAR(e.scale / scale, 1.0, 0.02) << deg << " deg, scale " << scale;
      // The returned matrix maps b's pixels onto a's: the centre stays, a corner moves back.
      cv::Mat inv;
      cv::invertAffineTransform(m, inv);
      const cv::Point2d q(40, 60);
      const cv::Point2d want(
          inv.at<double>(0, 0) * q.x + inv.at<double>(0, 1) * q.y + inv.at<double>(0, 2),
          inv.at<double>(1, 0) * q.x + inv.at<double>(1, 1) * q.y + inv.at<double>(1, 2));
      const cv::Mat& g = e.b_to_a;
      const cv::Point2d got(
          g.at<double>(0, 0) * q.x + g.at<double>(0, 1) * q.y + g.at<double>(0, 2),
          g.at<double>(1, 0) * q.x + g.at<double>(1, 1) * q.y + g.at<double>(1, 2));
      EXPECT_LT(cv::norm(got - want), 2.0) << deg << " deg, scale " << scale;
    }
  }
}

double tre(const RegisterResult& r, const SyntheticPair& p, double* max = nullptr) {
  double mean = 0, mx = 0;
  targetRegistrationError(r.moving_to_fixed, p.moving_to_fixed, p.fixed.grid, mean, mx);
  if (max) *max = mx;
  return mean;
}

TEST(RegisterMaps, SameModalityAt2xPixelSizeAnd3Degrees) {
  PairSpec s;
  s.multimodal = false;
  const SyntheticPair p = makePair(s);
  RegisterOptions o;
  const RegisterResult r = registerMaps(p.fixed, p.moving, Transform2D(), o);
  double max = 0;
  EXPECT_LT(tre(r, p, &max), 0.1) << "fixed pixels";
  EXPECT_LT(max, 0.2);
  EXPECT_GT(r.ncc, 0.9);
  EXPECT_GT(r.overlap, 0.8);
}

// A SIMS-like count map (per-grain yield unrelated to the laser brightness, Poisson noise)
// against the laser groove image: gradient preprocessing + mutual information.
TEST(RegisterMaps, MultimodalSimsCountsOntoLaserGrooves) {
  const SyntheticPair p = makePair({});
  RegisterOptions o;
  o.preprocess = Preprocess::kGradient;
  o.refine_options.metric = Metric::kMutualInformation;
  const RegisterResult r = registerMaps(p.fixed, p.moving, Transform2D(), o);
  double max = 0;
  EXPECT_LT(tre(r, p, &max), 0.35) << "fixed pixels";
  EXPECT_LT(max, 0.5);
}

// A rigid fit must not inherit the coarse step's (small, spurious) scale.
TEST(RegisterMaps, RigidFamilyIsFittedAsRigid) {
  const SyntheticPair p = makePair({});
  RegisterOptions o;
  o.preprocess = Preprocess::kGradient;
  o.refine_options.metric = Metric::kMutualInformation;
  o.refine_options.kind = Transform2D::Kind::kRigid;
  const RegisterResult r = registerMaps(p.fixed, p.moving, Transform2D(), o);
  EXPECT_NEAR(r.moving_to_fixed.determinant(), 1.0, 1e-9);
  EXPECT_LT(tre(r, p), 0.35);
}

TEST(RegisterMaps, LargeRotationAndCalibrationErrorAreRecovered) {
  PairSpec s;
  s.multimodal = false;
  s.rotation_deg = -25;
  s.moving_pixel_um = 0.21;  // the moving map's stated pixel size is 5 % off...
  SyntheticPair p = makePair(s);
  p.moving.grid.pixel_x = p.moving.grid.pixel_y = 0.2;  // ...as the file claims 0.2 µm
  // Truth in the frame of the (mis)calibrated grid: scale the moving coordinates by 1.05.
  p.moving_to_fixed = p.moving_to_fixed.after(Transform2D::similarity(1.05, 0, 0, 0));
  const RegisterResult r = registerMaps(p.fixed, p.moving, Transform2D(), RegisterOptions{});
  EXPECT_LT(tre(r, p), 0.15);
  EXPECT_NEAR(std::sqrt(r.moving_to_fixed.determinant()), 1.05, 0.002);
}

TEST(RegisterMaps, InvalidRegionsAreIgnored) {
  PairSpec s;
  s.multimodal = false;
  SyntheticPair p = makePair(s);
  for (int y = 100; y < 160; ++y) {
    for (int x = 50; x < 200; ++x) p.moving.mask(x, y) = 0, p.moving.values(x, y) = NAN;
  }
  const RegisterResult r = registerMaps(p.fixed, p.moving, Transform2D(), RegisterOptions{});
  EXPECT_LT(tre(r, p), 0.15);
}

TEST(RegisterMaps, BlankImagesAndMissingOverlapAreErrors) {
  PairSpec s;
  s.fixed_pixels = 128;
  SyntheticPair p = makePair(s);
  Map blank = p.moving;
  for (auto& v : blank.values.values()) v = 5;
  try {
    registerMaps(p.fixed, blank, Transform2D(), RegisterOptions{});
    FAIL();
  } catch (const ProcessingError& e) {
    EXPECT_NE(std::string(e.what()).find("uniform (blank)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(
      registerMaps(p.fixed, p.moving, Transform2D::translation(1000, 0), RegisterOptions{}),
      ProcessingError);
  // Settings no pair could use are the options' own problem (a usage error, one sentence for
  // preflight and library calls); a map without a pixel size is the data's.
  RegisterOptions bad;
  bad.refine_options.levels = 0;
  std::string why;
  EXPECT_FALSE(bad.IsValid(&why));
  EXPECT_NE(why.find("pyramid levels"), std::string::npos) << why;
  EXPECT_THROW(registerMaps(p.fixed, p.moving, Transform2D(), bad), UsageError);
  Map uncalibrated = p.moving;
  uncalibrated.grid.calibrated = false;
  EXPECT_THROW(registerMaps(p.fixed, uncalibrated, Transform2D(), RegisterOptions{}),
               ProcessingError);
}

// The valley response sees dark lines and ignores round specks and smooth shading.
TEST(ValleyResponse, DarkLinesRespondRoundSpecksAndShadingDoNot) {
  cv::Mat img(96, 96, CV_64F);
  for (int y = 0; y < 96; ++y) {
    for (int x = 0; x < 96; ++x) {
      img.at<double>(y, x) = 1.0 + 0.004 * x * x / 96.0                            // shading
                             - 0.5 * std::exp(-0.5 * std::pow((x - 30) / 1.2, 2))  // line
                             - 0.5 * std::exp(-0.5 * (std::pow(x - 70, 2) + std::pow(y - 48, 2)) /
                                              1.44);  // round speck
    }
  }
  cv::Mat s;
  cv::GaussianBlur(img, s, cv::Size(), 1.0);
  const cv::Mat v = valleyResponse(s);
  const double line = v.at<double>(48, 30), speck = v.at<double>(48, 70),
               flat = v.at<double>(20, 50);
  EXPECT_GT(line, 0.05);
  EXPECT_LT(speck, 0.1 * line) << "a round speck is not a line";
  EXPECT_LT(std::abs(flat), 0.01 * line) << "smooth shading is not a line";
}

// Unrelated images give a correlation peak that does not stand out of its sidelobes; the
// same image shifted gives one far above them.
TEST(PhaseCorrelation, PeakToSidelobeRatioSeparatesRelatedFromUnrelatedImages) {
  const cv::Mat a = blobs(128, 3), b = blobs(128, 4);
  cv::Mat shifted;
  const cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, 3, 0, 1, -2);
  cv::warpAffine(a, shifted, m, a.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  EXPECT_GT(phaseCorrelate(a, shifted, true).sidelobe_ratio, 20);
  for (int seed = 10; seed < 16; ++seed) {
    EXPECT_LT(phaseCorrelate(a, blobs(128, seed), true).sidelobe_ratio, 6.0) << seed;
  }
  EXPECT_LT(phaseCorrelate(a, b, true).sidelobe_ratio, 6.0);
}

// The tile check: every tile of a right registration agrees; a transform off by a few grains
// leaves no tile agreeing, so it cannot be reported as good.
TEST(RegisterMaps, TileCheckAcceptsTheRightTransformAndRejectsAWrongOne) {
  PairSpec s;
  s.multimodal = false;
  const SyntheticPair p = makePair(s);
  const RegisterResult r = registerMaps(p.fixed, p.moving, Transform2D(), RegisterOptions{});
  ASSERT_LT(tre(r, p), 0.1);
  EXPECT_GE(r.tiles.tiles_used, 4);
  EXPECT_EQ(r.tiles.tiles_agreeing, r.tiles.tiles_used);
  EXPECT_LT(r.tiles.uncertainty_px, 0.2) << "working pixels";

  RegisterOptions none;
  none.coarse = Coarse::kNone;
  none.refine = false;
  const RegisterResult wrong = registerMaps(
      p.fixed, p.moving, p.moving_to_fixed.after(Transform2D::translation(6.0, -5.0)), none);
  EXPECT_GE(wrong.tiles.tiles_used, 4);
  EXPECT_LT(wrong.tiles.agreement, 0.3);
}

TEST(Landmarks, SimilarityIsRecoveredAndAnOutlierFlagged) {
  const Transform2D truth = Transform2D::similarity(1.7, 0.3, 12, -4);
  std::vector<Point2> mov{{0, 0}, {10, 0}, {0, 10}, {10, 10}, {5, 3}, {2, 8}};
  std::vector<Point2> fix;
  for (const auto& m : mov) fix.push_back(truth.apply(m));
  fix[4].x += 0.01;  // small noise
  fix[5].y += 8.0;   // a mistaken click
  const LandmarkFit f = fitLandmarks(fix, mov, Transform2D::Kind::kSimilarity);
  EXPECT_TRUE(f.outlier[5]);
  EXPECT_EQ(std::count(f.outlier.begin(), f.outlier.end(), true), 1);
  const LandmarkFit clean =
      fitLandmarks({fix.begin(), fix.begin() + 5}, {mov.begin(), mov.begin() + 5},
                   Transform2D::Kind::kSimilarity);
  EXPECT_NEAR(std::sqrt(clean.moving_to_fixed.determinant()), 1.7, 1e-3);
  EXPECT_LT(clean.rms, 0.01);
  const LandmarkFit affine = fitLandmarks(
      {fix.begin(), fix.begin() + 4}, {mov.begin(), mov.begin() + 4}, Transform2D::Kind::kAffine);
  EXPECT_LT(affine.rms, 1e-9);
}

TEST(Landmarks, TooFewOrCollinearPointsAreRefused) {
  EXPECT_THROW(fitLandmarks({{0, 0}}, {{1, 1}}, Transform2D::Kind::kRigid), UsageError);
  EXPECT_THROW(
      fitLandmarks({{0, 0}, {1, 1}, {2, 2}}, {{0, 0}, {1, 1}, {2, 2}}, Transform2D::Kind::kAffine),
      UsageError);
  EXPECT_THROW(fitLandmarks({{0, 0}, {1, 1}}, {{3, 3}, {3, 3}}, Transform2D::Kind::kSimilarity),
               UsageError);
  EXPECT_THROW(fitLandmarks({{0, 0}, {1, 1}}, {{0, 0}}, Transform2D::Kind::kTranslation),
               UsageError);
}

}  // namespace
}  // namespace ionmap::registration
