// Benchmark: ionmap grain segmentation against a scikit-image pipeline on synthetic laser-like
// Voronoi microstructures (grooves, per-grain brightness, shading, noise) of 1024² and 4096²,
// with known grains. Reports, side by side and scored by the same code: boundary F1 at 2 px,
// grain-count error, mean-area error, wall time and peak memory.
// Usage: ionmap_bench_grains SCRIPT_DIR [WORKDIR] [SIZES...]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "grains/segment.hpp"
#include "grains/statistics.hpp"
#include "grains/synthetic.hpp"
#include "memory_probe.hpp"

using namespace ionmap;
using namespace ionmap::grains;

namespace {

std::size_t countOf(const LabelMap& l) {
  std::set<int> s(l.labels.values().begin(), l.labels.values().end());
  s.erase(0);
  return s.size();
}

void report(const char* tool, int n, const LabelMap& found, const LabelMap& truth, double secs,
            double mib) {
  const BoundaryScore f = boundaryF1(boundaryPixels(found), boundaryPixels(truth), 2.0);
  const double nf = static_cast<double>(countOf(found)), nt = static_cast<double>(countOf(truth));
  // Mean area = field / count, so its relative error is nt/nf - 1.
  std::printf("%-6d %-13s %7.3f %12.1f%% %12.1f%% %9.2f %10.0f\n", n, tool, f.f1,
              100 * (nf - nt) / nt, 100 * (nt / nf - 1), secs, mib);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SCRIPT_DIR [WORKDIR] [SIZES...]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path scripts = argv[1];
  const std::filesystem::path work =
      argc > 2 ? argv[2] : std::filesystem::temp_directory_path() / "ionmap-bench-grains";
  std::vector<int> sizes;
  for (int i = 3; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {1024, 4096};
  std::filesystem::create_directories(work);
  std::printf("%-6s %-13s %7s %13s %13s %9s %10s\n", "pixels", "tool", "F1@2px", "count error",
              "area error", "time s", "peak MiB");
  for (int n : sizes) {
    MicrostructureSpec spec;
    spec.pixels = n;
    spec.noise = 0.05;
    const Microstructure m = makeMicrostructure(spec);

    SegmentOptions o;
    o.grain_size_um = spec.grain_size_um;
    o.groove_width_um = spec.groove_width_um;
    test::resetPeakRss();
    const double rss0 = test::peakRssMiB();
    const auto t0 = std::chrono::steady_clock::now();
    const Segmentation s = segmentGrains(m.image, o);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report("ionmap", n, s.labels, m.truth, secs, test::peakRssMiB() - rss0);

    // The same image for scikit-image.
    {
      std::ofstream img(work / "image.f32", std::ios::binary);
      for (double v : m.image.values.values()) {
        const float f = static_cast<float>(v);
        img.write(reinterpret_cast<const char*>(&f), 4);
      }
      std::ofstream meta(work / "meta.json");
      meta << "{\"width\": " << n << ", \"height\": " << n << ", \"pixel_um\": " << spec.pixel_um
           << ", \"grain_size_um\": " << spec.grain_size_um
           << ", \"groove_width_um\": " << spec.groove_width_um << "}";
    }
    const std::string cmd = "/usr/bin/python3 '" + (scripts / "grains_skimage.py").string() +
                            "' '" + work.string() + "' > '" + (work / "skimage.json").string() +
                            "'";
    if (std::system(cmd.c_str()) != 0) {
      std::printf("%-6d %-13s (failed: is python3-skimage installed?)\n", n, "scikit-image");
      continue;
    }
    std::ifstream js(work / "skimage.json");
    std::stringstream ss;
    ss << js.rdbuf();
    const std::string j = ss.str();
    auto field = [&](const char* key) {
      const auto p = j.find(std::string("\"") + key + "\": ");
      return p == std::string::npos ? NAN : std::atof(j.c_str() + p + std::strlen(key) + 4);
    };
    LabelMap sk("skimage", m.truth.grid);
    std::ifstream lab(work / "labels.i32", std::ios::binary);
    lab.read(reinterpret_cast<char*>(sk.labels.data()),
             static_cast<std::streamsize>(sk.labels.size() * 4));
    report("scikit-image", n, sk, m.truth, field("seconds"), field("peak_traced_mib"));
  }
  std::printf(
      "peak MiB: ionmap = growth of resident memory during segmentation; scikit-image = peak of "
      "traced "
      "(numpy) allocations during segmentation.\n");
  return 0;
}
