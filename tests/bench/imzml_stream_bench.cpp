// Benchmark: imzML streaming throughput against a plain sequential read of the same .ibd, in
// the same run, and peak memory. Usage: ionmap_bench_imzml [DIR] [GIB]
// Writes DIR/bench.imzML (+ .ibd of about GIB GiB, default 1.1), then times
//   1. sequential read: read() of the .ibd in 8 MiB blocks, nothing else;
//   2. ionmap: readImzml + integrateWindows (6Li/7Li windows) over every spectrum;
// each three times, page cache dropped before each run when this process may (root),
// otherwise warm. Prints both throughputs, their ratio and the peak resident memory.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "memory_probe.hpp"
#include "tofsims/imzml.hpp"
#include "tofsims/spectra.hpp"

namespace {

bool dropCaches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  if (!f) return false;
  f << "3\n";
  return static_cast<bool>(f);
}

double seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ionmap;
  const std::filesystem::path dir = argc > 1 ? argv[1] : std::filesystem::temp_directory_path();
  const double gib = argc > 2 ? std::atof(argv[2]) : 1.1;
  constexpr int kChannels = 16384;
  const int side = static_cast<int>(std::ceil(std::sqrt(gib * (1ull << 30) / (kChannels * 4.0))));
  const auto path = dir / "bench.imzML", ibd = dir / "bench.ibd";
  std::printf("writing %d x %d spectra of %d channels (%.2f GiB) to %s\n", side, side, kChannels,
              side * side * kChannels * 4.0 / (1ull << 30), path.c_str());
  tofsims::ImzmlWriteOptions o;
  o.width = o.height = side;
  o.write_sha1 = false;
  std::vector<double> mz(kChannels);
  for (int i = 0; i < kChannels; ++i) mz[i] = 5.5 + i * 1.25e-4;  // 5.5 ... 7.55 u
  std::uint64_t s = 1;
  tofsims::writeImzml(path, o, [&](int, int, Spectrum& sp) {
    sp.mz = mz;
    sp.intensity.resize(kChannels);
    for (auto& v : sp.intensity)
      v = static_cast<double>((s = s * 6364136223846793005ull + 1) >> 60);
  });
  const double bytes = static_cast<double>(std::filesystem::file_size(ibd));
  const double rss_writing = test::peakRssMiB();
  test::resetPeakRss();  // measure the reading phase alone
  const bool cold = dropCaches();
  std::printf("page cache: %s\n",
              cold ? "dropped before every run (cold reads)" : "kept (warm reads; not root)");

  double best_seq = 1e30, best_ion = 1e30;
  std::vector<char> buf(8 << 20);
  for (int rep = 0; rep < 3; ++rep) {
    if (cold) dropCaches();
    auto t0 = std::chrono::steady_clock::now();
    const int fd = ::open(ibd.c_str(), O_RDONLY);
    volatile char sink = 0;
    for (ssize_t r; (r = ::read(fd, buf.data(), buf.size())) > 0;)
      sink = sink + buf[static_cast<std::size_t>(r) - 1];
    ::close(fd);
    best_seq = std::min(best_seq, seconds(t0));

    if (cold) dropCaches();
    t0 = std::chrono::steady_clock::now();
    const SpectrumImage si = tofsims::readImzml(path, false);
    const auto w = tofsims::integrateWindows(
        si, {{"6Li", tofsims::kLi6, 0.006}, {"7Li", tofsims::kLi7, 0.006}},
        tofsims::Background::kLocal, 0.01);
    best_ion = std::min(best_ion, seconds(t0));
    if (w.counts[0].empty()) return 1;
  }
  const double seq = bytes / best_seq / (1 << 20), ion = bytes / best_ion / (1 << 20);
  std::printf("sequential read:   %8.1f MiB/s  (%.3f s)\n", seq, best_seq);
  std::printf(
      "ionmap streaming:  %8.1f MiB/s  (%.3f s, parse + integrate 2 windows with local "
      "background)\n",
      ion, best_ion);
  std::printf("ratio streaming / sequential: %.2f (goal >= 0.5)\n", ion / seq);
  std::printf(
      "peak resident memory while streaming: %.1f MiB for a %.2f GiB file (%.1f MiB while writing "
      "it)\n",
      test::peakRssMiB(), bytes / (1ull << 30), rss_writing);
  std::filesystem::remove(path);
  std::filesystem::remove(ibd);
  return 0;
}
