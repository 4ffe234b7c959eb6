// Benchmark: the diffusion fit on a synthetic N×N microstructure (a few hundred Voronoi grains,
// 0.5 µm pixels) with known D_b, κ, f_s and Gaussian counting noise of known σ.
//   case A (Bi ≈ 1): one forward run and the full fit with the microstructure model; the same
//     data and the single-start fit are written for scripts/bench/diffusion_scipy.py.
//   case B (Bi ≈ 1e-3): the microstructure fit and the grain-network fit on the same data.
//   case A also with the series model (the published 1D approach: the depth profile with
//     boundaries every mean grain size), which is exact only for an ideal brick layer.
// Prints one row per measurement: model, forward time, fit time, model runs (full grid or full
// time steps + the coarse levels' runs), errors vs truth. The grain-network and series fits take
// milliseconds, where the machine's noise swings single timings by a third: their fit time is
// the median of 9 fits.
// Usage: ionmap_bench_diffusion WORKDIR [N]   (BENCH_REPORT=1 adds the Ceres report per fit;
// BENCH_MULTISTART=1 runs the nine-start fit above N = 256 too)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "diffusion/fit.hpp"
#include "grains/synthetic.hpp"

using namespace ionmap;
using namespace ionmap::diffusion;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class T>
void writeRaw(const std::filesystem::path& p, const Image<T>& img) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(img.values().data()),
            static_cast<std::streamsize>(img.size() * sizeof(T)));
}

struct Case {
  FitOptions o;
  Physics truth;
  Image<double> f, sigma;
  Image<std::uint8_t> mask;
};

Case makeCase(int n, double D, double kappa, double time, std::uint64_t seed) {
  grains::MicrostructureSpec ms;
  ms.pixels = n;
  ms.pixel_um = 0.5;
  ms.grain_size_um = 12;
  ms.seed = seed;
  const auto m = grains::makeMicrostructure(ms);
  Case c;
  c.o.domain.labels = m.truth.labels;
  c.o.domain.h = 0.5;
  c.o.domain.time = time;
  c.o.domain.steps = 40;
  c.truth.D_b = D;
  c.truth.kappa = kappa;
  c.truth.f_s = 0.95;
  c.truth.f_bg = 0.0759;
  c.f = forward(c.o.domain, c.truth, ModelKind::kGrid);
  c.sigma = Image<double>(n, n, 0.0);
  c.mask = Image<std::uint8_t>(n, n, 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  const double counts = 2000;
  for (std::size_t i = 0; i < c.f.size(); ++i) {
    c.sigma[i] = std::max(std::sqrt(c.f[i] * (1 - c.f[i]) / counts), 1 / counts);
    c.f[i] += c.sigma[i] * g(rng);
  }
  c.o.initial = c.truth;
  c.o.initial.D_b = D / 3;  // starts a factor 3 and 5 away
  c.o.initial.kappa = kappa * 5;
  c.o.initial.f_s = 0.9;
  return c;
}

void row(const char* label, const Case& c, ModelKind kind, double decades) {
  Case k = c;
  k.o.model = kind;
  k.o.decades = decades;
  double t0 = now();
  (void)forward(k.o.domain, k.truth, kind);
  const double t_forward = now() - t0;
  std::vector<double> times;
  FitResult r;
  for (int i = 0; i < (kind == ModelKind::kNetwork ? 9 : 1); ++i) {
    t0 = now();
    r = fitDiffusion(k.f, k.sigma, k.mask, k.o);
    times.push_back(now() - t0);
  }
  std::sort(times.begin(), times.end());
  const double t_fit = times[times.size() / 2];
  const std::string runs = std::to_string(r.evaluations - r.coarse_evaluations) + "+" +
                           std::to_string(r.coarse_evaluations);
  std::printf("%-34s %10.4f %9.4f %8s %9.2f%% %9.2f%% %8.4f %7.3f %s\n", label, t_forward, t_fit,
              runs.c_str(), 100 * (r.best.D_b / c.truth.D_b - 1),
              100 * (r.best.kappa / c.truth.kappa - 1), r.best.f_s - c.truth.f_s, r.reduced_chi2,
              r.converged ? "yes" : "NO");
  if (std::getenv("BENCH_REPORT")) std::printf("   %s\n", r.report.c_str());
  std::fflush(stdout);
}

// The series model (the published 1D approach) on the same map: its depth profile fitted with
// boundaries every mean grain size. Its forward run is the 1D chain's.
void seriesRow(const char* label, const Case& c) {
  const double spacing = meanGrainSize(c.o.domain.labels, c.o.domain.h);
  double t0 = now();
  (void)forward(seriesDomain(c.o.domain, spacing), c.truth, ModelKind::kGrid);
  const double t_forward = now() - t0;
  std::vector<double> times;
  FitResult r;
  for (int i = 0; i < 9; ++i) {  // milliseconds: the median of 9 fits
    t0 = now();
    FitOptions o = c.o;
    o.decades = 0;  // one start, as the other rows
    r = fitSeries(c.f, c.sigma, c.mask, o, 0);
    times.push_back(now() - t0);
  }
  std::sort(times.begin(), times.end());
  const std::string runs = std::to_string(r.evaluations - r.coarse_evaluations) + "+" +
                           std::to_string(r.coarse_evaluations);
  std::printf("%-34s %10.4f %9.4f %8s %9.2f%% %9.2f%% %8.4f %7.3f %s\n", label, t_forward,
              times[times.size() / 2], runs.c_str(), 100 * (r.best.D_b / c.truth.D_b - 1),
              100 * (r.best.kappa / c.truth.kappa - 1), r.best.f_s - c.truth.f_s, r.reduced_chi2,
              r.converged ? "yes" : "NO");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WORKDIR [N]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path work = argv[1];
  const int n = argc > 2 ? std::atoi(argv[2]) : 512;
  std::filesystem::create_directories(work);
  const double field = n * 0.5;
  // Case A: D = 1 µm²/s, κ = 0.1 µm/s (Bi ≈ 1.2); diffusion length ~ field/4.
  const double tA = std::pow(field / 4, 2) / 1.0;
  Case a = makeCase(n, 1.0, 0.1, tA, 11);
  writeRaw(work / "labels.i32", a.o.domain.labels);
  writeRaw(work / "f.f64", a.f);
  writeRaw(work / "sigma.f64", a.sigma);
  {
    std::ofstream meta(work / "case.txt");
    meta << n << " " << a.o.domain.h << " " << a.o.domain.time << " " << a.o.domain.steps << " "
         << a.truth.D_b << " " << a.truth.kappa << " " << a.truth.f_s << " " << a.truth.f_bg << " "
         << a.o.initial.D_b << " " << a.o.initial.kappa << " " << a.o.initial.f_s << "\n";
  }
  std::printf("%d x %d cells, 0.5 um, grains of 12 um, 40 BDF2 steps, 2000 counts per pixel\n", n,
              n);
  std::printf("%-34s %10s %9s %8s %10s %10s %8s %7s %s\n", "case / model", "forward_s", "fit_s",
              "runs", "D_err", "kappa_err", "fs_err", "chi2/n", "converged");
  row("A Bi~1  microstructure 1 start", a, ModelKind::kGrid, 0);
  seriesRow("A Bi~1  series (depth profile)", a);
  // Nine starts cost nine fits; above 256² only on request (BENCH_MULTISTART=1).
  if (n <= 256 || std::getenv("BENCH_MULTISTART"))
    row("A Bi~1  microstructure 9 starts", a, ModelKind::kGrid, 1);
  // Case B: D = 10 µm²/s, κ = 1e-3 µm/s (Bi ≈ 1e-3); boundary-limited penetration ~ field/4.
  const double tB = std::pow(field / 4, 2) / (1e-3 * 12);
  Case b = makeCase(n, 10.0, 1e-3, tB, 12);
  row("B Bi~1e-3 microstructure 1 start", b, ModelKind::kGrid, 0);
  row("B Bi~1e-3 network 1 start", b, ModelKind::kNetwork, 0);
  return 0;
}
