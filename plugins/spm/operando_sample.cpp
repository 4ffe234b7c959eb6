#include "spm/operando_sample.hpp"

#include <cmath>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "grains/synthetic.hpp"
#include "ionmap/io/tiff.hpp"
#include "ionmap/numerics/random.hpp"
#include "ionmap/numerics/resample.hpp"

namespace ionmap::spm {

KpfmOperandoTruth writeKpfmOperando(const std::filesystem::path& dir, const KpfmOperandoSpec& s) {
  std::filesystem::create_directories(dir);
  grains::MicrostructureSpec ms;
  ms.seed = s.seed;
  ms.pixels = s.pixels;
  ms.pixel_um = s.pixel_um;
  ms.grain_size_um = s.particle_um;
  const LabelMap labels = grains::makeMicrostructure(ms).truth;
  SplitMix64 rng(s.seed * 7919 + 1);
  // Per particle: a phase (60 % active material, the rest electrolyte), a base potential, and
  // for active particles a response, except one in five that lost contact (isolated).
  std::map<int, double> base, change;
  std::map<int, int> phase;
  KpfmOperandoTruth t;
  for (std::size_t i = 0; i < labels.labels.size(); ++i) base.emplace(labels.labels[i], 0.0);
  for (auto& [l, b] : base) {
    b = -0.2 + 0.4 * rng.uniform();
    phase[l] = rng.uniform() < 0.6 ? 2 : 1;
    const bool responds = phase[l] == 2 && rng.uniform() < 0.8;
    // Charging delithiates the active particles and raises their potential.
    const double dv = responds ? 0.05 + 0.1 * rng.uniform() : 0;
    change[l] = dv;
    t.labels.push_back(l);
    t.responding.push_back(responds);
    t.phase.push_back(phase[l]);
    t.change_V.push_back(dv);
  }
  const double last = s.soc.back(), first = s.soc.front();
  std::vector<Image<double>> frames, lithium;
  std::vector<tiff::WritePage> fpages, lpages;
  frames.reserve(s.soc.size());
  lithium.reserve(s.soc.size());
  for (std::size_t k = 0; k < s.soc.size(); ++k) {
    const double frac = (s.soc[k] - first) / (last - first);
    Map p("Potential", labels.grid, "V");
    Image<double> li(labels.width(), labels.height(), 0.0);
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      const int l = labels.labels[i];
      p.values[i] = base[l] + change[l] * frac;
      const double mean = s.lithium_counts * (change[l] != 0 ? 1 - 0.4 * frac : 1.0);
      li[i] = std::max(0.0, mean + std::sqrt(mean) * rng.gauss());
    }
    // The frame shows the sample moved by the drift (frame 0 is the reference).
    const double dx = k ? (2 * rng.uniform() - 1) * s.max_drift_px * s.pixel_um : 0;
    const double dy = k ? (2 * rng.uniform() - 1) * s.max_drift_px * s.pixel_um : 0;
    t.drift_x_um.push_back(dx);
    t.drift_y_um.push_back(dy);
    Map moved =
        resampleMap(p, labels.grid, Transform2D::translation(dx, dy), Interpolation::kLinear);
    for (std::size_t i = 0; i < moved.values.size(); ++i) {
      // The scan always covers its field: outside the shifted sample, the edge continues.
      if (!moved.mask[i]) moved.values[i] = p.values[i];
      moved.values[i] += s.noise_V * rng.gauss();
    }
    frames.push_back(moved.values);
    lithium.push_back(li);
  }
  for (std::size_t k = 0; k < s.soc.size(); ++k) {
    fpages.push_back({&frames[k], fmt::format("SOC {} %", s.soc[k])});
    lpages.push_back({&lithium[k], fmt::format("7Li SOC {} %", s.soc[k])});
  }
  tiff::write(dir / "kpfm_frames.tif", fpages, tiff::SampleType::kFloat32, s.pixel_um, s.pixel_um);
  tiff::write(dir / "lithium.tif", lpages, tiff::SampleType::kFloat32, s.pixel_um, s.pixel_um);
  Image<double> lab(labels.width(), labels.height(), 0.0);
  for (std::size_t i = 0; i < lab.size(); ++i) lab[i] = labels.labels[i];
  tiff::write(dir / "particles.tif", {{&lab, "particles"}}, tiff::SampleType::kUInt16, s.pixel_um,
              s.pixel_um);
  Image<double> ph(labels.width(), labels.height(), 0.0);
  for (std::size_t i = 0; i < ph.size(); ++i) ph[i] = phase[labels.labels[i]];
  tiff::write(dir / "phases.tif", {{&ph, "phases: 1 electrolyte, 2 active material"}},
              tiff::SampleType::kUInt16, s.pixel_um, s.pixel_um);
  std::ofstream y(dir / "truth.yaml");
  y << fmt::format(
      "# kpfm-operando sample (ionmap simulate kpfm-operando)\nseed: {}\nsoc_percent: [", s.seed);
  for (std::size_t k = 0; k < s.soc.size(); ++k) y << (k ? ", " : "") << s.soc[k];
  y << fmt::format(
      "]\nnoise_V: {}\npixel_um: {}\n# drift of frame k against frame 0 (um)\ndrift:\n", s.noise_V,
      s.pixel_um);
  for (std::size_t k = 0; k < s.soc.size(); ++k)
    y << fmt::format("  - [{:.6f}, {:.6f}]\n", t.drift_x_um[k], t.drift_y_um[k]);
  y << "# per particle: label, responds (potential and lithium change with SOC), dV first -> last "
       "(V), phase (1 electrolyte, 2 active material)\n"
       "particles:\n";
  for (std::size_t i = 0; i < t.labels.size(); ++i)
    y << fmt::format("  - [{}, {}, {:.6f}, {}]\n", t.labels[i], t.responding[i] ? "true" : "false",
                     t.change_V[i], t.phase[i]);
  return t;
}

}  // namespace ionmap::spm
