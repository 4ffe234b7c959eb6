// Synthetic fit problems for the diffusion fit's tests: a 6Li-fraction map simulated by the
// grid model on a Voronoi microstructure (0.5 µm pixels, 6 µm grains, D_b = 1 µm²/s, f_s 0.9,
// f_bg natural abundance, 60 s in 30 steps), optionally on cells `fine` times finer than the
// pixels and averaged over each pixel's cells, plus Gaussian noise of known σ; the fit's
// options start away from the truth.
#pragma once

#include <cstdint>
#include <random>

#include "diffusion/fit.hpp"
#include "diffusion/observation.hpp"
#include "grains/synthetic.hpp"

namespace ionmap::diffusion::test {

struct FitCase {
  FitOptions options;
  Physics truth;
  Image<double> f, sigma;
  Image<std::uint8_t> mask;
};

inline FitCase makeFitCase(double noise, std::uint64_t seed, int pixels, double kappa = 0.08,
                           int fine = 1, double initial_kappa = 0.01, double time = 60,
                           double f_s = 0.9) {
  grains::MicrostructureSpec ms;
  ms.pixels = pixels * fine;
  ms.pixel_um = 0.5 / fine;
  ms.grain_size_um = 6;
  ms.seed = seed;
  const auto m = grains::makeMicrostructure(ms);
  FitCase c;
  c.options.domain.labels = m.truth.labels;
  c.options.domain.h = 0.5 / fine;
  c.options.domain.time = time;  // 60 s: sqrt(D t) ≈ 7.7 µm, the profile spans the field
  c.options.domain.steps = 30;
  c.options.subsample = fine;
  c.truth.D_b = 1.0;
  c.truth.kappa = kappa;  // 0.08: Bi = κ d / D_b ≈ 0.5, both parameters shape the map
  c.truth.f_s = f_s;
  c.truth.f_bg = 0.0759;  // natural abundance, held fixed
  const Image<double> cells = simulateGrid(c.options.domain, c.truth);
  c.f = Image<double>(pixels, pixels);
  c.f.values() = blockMean(cells.values(), pixels, pixels, fine);
  c.sigma = Image<double>(pixels, pixels, noise);
  c.mask = Image<std::uint8_t>(pixels, pixels, 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0, noise);
  for (std::size_t i = 0; i < c.f.size(); ++i) c.f[i] += gauss(rng);
  c.options.initial.D_b = 0.3;
  c.options.initial.kappa = initial_kappa;
  c.options.initial.f_s = 0.8;
  c.options.initial.f_bg = 0.0759;
  return c;
}

}  // namespace ionmap::diffusion::test
