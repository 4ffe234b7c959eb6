// Benchmark: ionmap registration against elastix on synthetic pairs with a known transform.
// Usage: ionmap_bench_registration [WORKDIR]
// Pairs (PairSpec in plugins/registration/synthetic.hpp): fixed = laser-like groove image,
// 512 x 512 at 0.1 um; moving at 0.2 um (2x coarser), rotated 3 deg and shifted;
//   same-modality: moving is a second laser-like image;
//   multimodal:    moving is a SIMS-like Poisson count map (per-grain yield, dark grooves).
// ionmap fits a similarity transform; elastix (Debian's build has no SimilarityTransform
// component) fits its EulerTransform, i.e. rigid, which is the true family here since both
// maps are calibrated in micrometres. Reported: target registration error (TRE) in fixed
// pixels over a 10 x 10 grid of points, and wall time, for each tool, in one run.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "registration/register.hpp"
#include "registration/synthetic.hpp"

using namespace ionmap;
using namespace ionmap::registration;

namespace {

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// MetaImage (.mhd + .raw, float32): elastix's physical frame = Offset + index * spacing, so
// Offset is our pixel-centre position of pixel (0, 0).
void writeMhd(const Map& m, const std::filesystem::path& mhd) {
  auto raw = mhd;
  raw.replace_extension(".raw");
  std::ofstream h(mhd);
  h << "ObjectType = Image\nNDims = 2\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
    << "DimSize = " << m.width() << " " << m.height() << "\n"
    << "ElementSpacing = " << m.grid.pixel_x << " " << m.grid.pixel_y << "\n"
    << "Offset = " << m.grid.origin_x + 0.5 * m.grid.pixel_x << " "
    << m.grid.origin_y + 0.5 * m.grid.pixel_y << "\n"
    << "ElementType = MET_FLOAT\nElementDataFile = " << raw.filename().string() << "\n";
  std::ofstream r(raw, std::ios::binary);
  for (double v : m.values.values()) {
    const float f = static_cast<float>(v);
    r.write(reinterpret_cast<const char*>(&f), 4);
  }
}

void writeParameters(const std::filesystem::path& p, bool multimodal) {
  std::ofstream o(p);
  o << "(FixedInternalImagePixelType \"float\")\n(MovingInternalImagePixelType \"float\")\n"
    << "(FixedImageDimension 2)\n(MovingImageDimension 2)\n(UseDirectionCosines \"true\")\n"
    << "(Registration \"MultiResolutionRegistration\")\n(Interpolator \"BSplineInterpolator\")\n"
    << "(ResampleInterpolator \"FinalBSplineInterpolator\")\n(Resampler \"DefaultResampler\")\n"
    << "(FixedImagePyramid \"FixedSmoothingImagePyramid\")\n(MovingImagePyramid "
       "\"MovingSmoothingImagePyramid\")\n"
    << "(Optimizer \"AdaptiveStochasticGradientDescent\")\n(Transform \"EulerTransform\")\n"
    << (multimodal ? "(Metric \"AdvancedMattesMutualInformation\")\n(NumberOfHistogramBins 32)\n"
                   : "(Metric \"AdvancedNormalizedCorrelation\")\n")
    << "(AutomaticScalesEstimation \"true\")\n(AutomaticTransformInitialization \"true\")\n"
    << "(AutomaticTransformInitializationMethod \"GeometricalCenter\")\n(HowToCombineTransforms "
       "\"Compose\")\n"
    << "(NumberOfResolutions 4)\n(MaximumNumberOfIterations 500)\n(NumberOfSpatialSamples 4096)\n"
    << "(NewSamplesEveryIteration \"true\")\n(ImageSampler "
       "\"RandomCoordinate\")\n(BSplineInterpolationOrder 1)\n"
    << "(FinalBSplineInterpolationOrder 3)\n(DefaultPixelValue 0)\n(WriteResultImage \"false\")\n";
}

std::vector<double> numbersAfter(const std::string& text, const std::string& key) {
  std::vector<double> v;
  const auto p = text.find("(" + key + " ");
  if (p == std::string::npos) return v;
  std::istringstream in(text.substr(p + key.size() + 2, text.find(')', p) - p - key.size() - 2));
  for (double x; in >> x;) v.push_back(x);
  return v;
}

// elastix maps fixed to moving: Euler2D x_m = R(a) (x_f - c) + c + t (parameters a, tx, ty);
// Similarity2D adds a scale in front (parameters s, a, tx, ty).
bool readElastix(const std::filesystem::path& file, Transform2D& moving_to_fixed) {
  std::ifstream in(file);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  const auto p = numbersAfter(ss.str(), "TransformParameters");
  const auto c = numbersAfter(ss.str(), "CenterOfRotationPoint");
  if ((p.size() != 3 && p.size() != 4) || c.size() != 2) return false;
  const std::size_t o = p.size() - 3;  // index of the angle
  const double s = o ? p[0] : 1.0, a = p[o], k = std::cos(a) * s, n = std::sin(a) * s;
  const Transform2D fixed_to_moving =
      Transform2D::fromMatrix({k, -n, c[0] + p[o + 1] - (k * c[0] - n * c[1]), n, k,
                               c[1] + p[o + 2] - (n * c[0] + k * c[1])},
                              Transform2D::Kind::kSimilarity);
  moving_to_fixed = fixed_to_moving.inverse();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir =
      argc > 1 ? argv[1] : std::filesystem::temp_directory_path() / "ionmap-bench-reg";
  std::filesystem::create_directories(dir);
  const bool have_elastix = std::system("command -v elastix >/dev/null 2>&1") == 0;
  std::printf("%-15s %-18s %12s %12s %10s\n", "pair", "tool", "TRE mean px", "TRE max px",
              "time s");
  for (bool multimodal : {false, true}) {
    PairSpec spec;
    spec.multimodal = multimodal;
    const SyntheticPair pair = makePair(spec);
    const char* name = multimodal ? "multimodal" : "same-modality";

    for (auto kind : {Transform2D::Kind::kSimilarity, Transform2D::Kind::kRigid}) {
      RegisterOptions o;
      o.preprocess = multimodal ? Preprocess::kGradient : Preprocess::kNone;
      o.refine_options.metric = multimodal ? Metric::kMutualInformation : Metric::kNcc;
      o.refine_options.kind = kind;
      double best = 1e30, mean = 0, max = 0;
      for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        const RegisterResult r = registerMaps(pair.fixed, pair.moving, Transform2D(), o);
        best = std::min(best, seconds(t0));
        targetRegistrationError(r.moving_to_fixed, pair.moving_to_fixed, pair.fixed.grid, mean,
                                max);
      }
      std::printf("%-15s %-18s %12.3f %12.3f %10.3f\n", name,
                  kind == Transform2D::Kind::kRigid ? "ionmap rigid" : "ionmap similarity", mean,
                  max, best);
    }
    double mean = 0, max = 0;
    if (!have_elastix) {
      std::printf("%-15s %-18s %12s %12s %10s\n", name, "elastix rigid", "n/a", "n/a",
                  "not installed");
      continue;
    }
    writeMhd(pair.fixed, dir / "fixed.mhd");
    writeMhd(pair.moving, dir / "moving.mhd");
    writeParameters(dir / "params.txt", multimodal);
    const auto out = dir / (std::string("elastix-") + name);
    std::filesystem::remove_all(out);
    std::filesystem::create_directories(out);
    const std::string cmd = "elastix -f '" + (dir / "fixed.mhd").string() + "' -m '" +
                            (dir / "moving.mhd").string() + "' -p '" +
                            (dir / "params.txt").string() + "' -out '" + out.string() + "' > '" +
                            (out / "stdout.txt").string() + "' 2>&1";
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = std::system(cmd.c_str());
    const double secs = seconds(t0);
    Transform2D e;
    if (rc != 0 || !readElastix(out / "TransformParameters.0.txt", e)) {
      std::printf("%-15s %-18s %12s %12s %10.3f  (failed: exit status %d, see %s)\n", name,
                  "elastix rigid", "-", "-", secs, rc, (out / "stdout.txt").c_str());
      continue;
    }
    targetRegistrationError(e, pair.moving_to_fixed, pair.fixed.grid, mean, max);
    std::printf("%-15s %-18s %12.3f %12.3f %10.3f\n", name, "elastix rigid", mean, max, secs);
  }
  return 0;
}
