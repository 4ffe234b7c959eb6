#include "tofsims/simulate_exchange.hpp"

#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/io/tiff.hpp"
#include "ionmap/numerics/random.hpp"
#include "tofsims/imzml.hpp"
#include "tofsims/spectra.hpp"

namespace ionmap::tofsims {

void writeExchangeSample(const std::filesystem::path& dir, const ExchangeSampleSpec& s) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir.string(), "cannot create folder: " + ec.message());
  SplitMix64 rng(s.seed);
  const int n = s.pixels;
  if (s.fraction && (s.fraction->width() != n || s.fraction->height() != n))
    throw ProcessingError("exchange sample: the truth fraction must be pixels x pixels");
  const int shots = s.shots_per_pixel * s.scans;
  constexpr double kChannel = 2e-5;  // width of a time channel in sqrt(u)
  auto observed = [&](double m) {    // the instrument's (slightly wrong) mass scale
    const double q = (1 + s.scale_error) * std::sqrt(m) + s.offset_error;
    return q * q;
  };
  struct Peak {
    double mass;
    double mean_counts;  // per pixel, recorded directly (no dead-time model needed)
  };
  const Peak others[] = {{1.007276, 220}, {22.989221, 320}, {5.99945, 6}};  // H+, Na+, 12C2+

  Image<double> truth_f(n, n), lam6(n, n), lam7(n, n), rec6(n, n), rec7(n, n), total(n, n);
  std::vector<std::map<long, int>> channels(static_cast<std::size_t>(n) * n);
  auto addCount = [&](std::map<long, int>& ch, double m) {
    ++ch[static_cast<long>(std::floor(std::sqrt(observed(m)) / kChannel))];
  };
  auto peakMass = [&](double m) { return m + m / s.resolving_power / 2.3548 * rng.gauss(); };
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      const std::size_t p = static_cast<std::size_t>(y) * n + x;
      const double xu = (x + 0.5) * s.pixel_um, yu = (y + 0.5) * s.pixel_um;
      const double f =
          s.fraction ? (*s.fraction)(x, y) : s.f_bg + (s.f_s - s.f_bg) * std::erfc(xu / s.decay_um);
      const double yield = s.yield ? (*s.yield)(x, y) : 1.0;
      const double lam = s.mean_li_ions * yield *
                         (1 + 0.15 * std::sin(2 * M_PI * xu / 15) * std::cos(2 * M_PI * yu / 20));
      truth_f(x, y) = f;
      lam6(x, y) = lam * f;
      lam7(x, y) = lam * (1 - f);
      int n6 = 0, n7 = 0;
      const double mu6 = lam6(x, y) / shots, mu7 = lam7(x, y) / shots;
      for (int k = 0; k < shots; ++k) {
        n6 += rng.poisson(mu6) > 0;  // a TDC records one count per peak per shot at most
        n7 += rng.poisson(mu7) > 0;
      }
      rec6(x, y) = n6;
      rec7(x, y) = n7;
      auto& ch = channels[p];
      for (int k = 0; k < n6; ++k) addCount(ch, peakMass(kLi6));
      for (int k = 0; k < n7; ++k) addCount(ch, peakMass(kLi7));
      int others_total = 0;
      for (const auto& pk : others) {
        const int c =
            static_cast<int>(std::lround(pk.mean_counts * yield * (0.8 + 0.4 * rng.uniform())));
        for (int k = 0; k < c; ++k) addCount(ch, peakMass(pk.mass));
        others_total += c;
      }
      const int background = 30;
      for (int k = 0; k < background; ++k) addCount(ch, 0.9 + 22.6 * rng.uniform());
      total(x, y) = n6 + n7 + others_total + background;
    }
  }

  ImzmlWriteOptions o;
  o.continuous = false;
  o.mz_type = BinaryType::kFloat32;
  o.intensity_type = BinaryType::kInt32;
  o.zlib = true;
  o.width = o.height = n;
  o.pixel_x_um = o.pixel_y_um = s.pixel_um;
  o.uuid_seed = s.seed;
  writeImzml(dir / "exchange.imzML", o, [&](int x, int y, Spectrum& sp) {
    for (const auto& [k, c] : channels[static_cast<std::size_t>(y) * n + x]) {
      const double q = (k + 0.5) * kChannel;
      sp.mz.push_back(q * q);
      sp.intensity.push_back(c);
    }
  });
  tiff::write(dir / "counts.tif", {{&rec6, "6Li"}, {&rec7, "7Li"}, {&total, "total"}},
              tiff::SampleType::kFloat32, s.pixel_um, s.pixel_um);
  tiff::write(dir / "truth_f.tif", {{&truth_f, "6Li fraction"}}, tiff::SampleType::kFloat64,
              s.pixel_um, s.pixel_um);
  tiff::write(dir / "expected_counts.tif", {{&lam6, "6Li arrivals"}, {&lam7, "7Li arrivals"}},
              tiff::SampleType::kFloat64, s.pixel_um, s.pixel_um);

  std::ofstream t(dir / "truth.yaml");
  t << fmt::format("# Ground truth of the {} sample, written by `ionmap simulate {}`.\n", s.command,
                   s.command)
    << fmt::format("seed: {}\n", s.seed)
    << fmt::format("grid: {{pixels: {}, pixel_size_um: {}}}\n", n, s.pixel_um);
  if (s.fraction) {
    t << "# f: " << s.fraction_origin << "\n"
      << fmt::format("fraction: {{f_s: {}, f_bg: {}, map: truth_f.tif}}\n", s.f_s, s.f_bg);
  } else {
    t << "# f(x) = f_bg + (f_s - f_bg) erfc(x / L), exchange edge at x = 0 (left side)\n"
      << fmt::format("fraction: {{f_s: {}, f_bg: {}, L_um: {}, map: truth_f.tif}}\n", s.f_s, s.f_bg,
                     s.decay_um);
  }
  t << "# mean Li ions arriving per pixel: mean_li_ions (1 + 0.15 sin(2 pi x/15um) cos(2 pi "
       "y/20um))"
    << (s.yield ? " times the relative yield of " + s.yield_origin : std::string()) << "\n"
    << fmt::format("ions: {{mean_li_ions: {}, expected_counts: expected_counts.tif}}\n",
                   s.mean_li_ions)
    << "# TDC: at most one recorded count per isotope peak per primary shot\n"
    << fmt::format("detector: {{shots_per_pixel: {}, scans: {}, shots_total: {}}}\n",
                   s.shots_per_pixel, s.scans, shots)
    << "# instrument mass scale: sqrt(m_recorded) = (1 + scale_error) sqrt(m) + offset_error\n"
    << fmt::format("mass_scale: {{scale_error: {}, offset_error: {}, resolving_power: {}}}\n",
                   s.scale_error, s.offset_error, s.resolving_power)
    << "reference_peaks_u: [1.007276, 6.014574, 7.015455, 22.989221]  # H+, 6Li+, 7Li+, Na+\n"
    << "files: {imzml: exchange.imzML, tiff_stack: counts.tif (pages 6Li, 7Li, total: recorded "
       "counts)}\n";
  if (!t) throw InputError((dir / "truth.yaml").string(), "cannot write");
}

}  // namespace ionmap::tofsims
