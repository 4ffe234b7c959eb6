// A small deterministic random generator (splitmix64) for synthetic data: identical output
// on every platform and standard library, so sample files regenerate byte for byte.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ionmap {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Standard normal (Box–Muller).
  double gauss() {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  // Poisson by inversion; meant for small means (< 30).
  int poisson(double mean) {
    const double l = std::exp(-mean);
    double p = uniform(), f = l;
    int k = 0;
    while (p > f && k < 1000) {
      p -= f;
      ++k;
      f *= mean / k;
    }
    return k;
  }

 private:
  std::uint64_t s_;
};

}  // namespace ionmap
