#include "ionmap/numerics/stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/random.hpp"

namespace ionmap::stats {
namespace {

std::vector<double> finite(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) {
    if (std::isfinite(x)) out.push_back(x);
  }
  return out;
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double variance(const std::vector<double>& v, double m) {
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return v.size() > 1 ? s / static_cast<double>(v.size() - 1) : 0.0;
}

// Quantile of sorted values by linear interpolation between order statistics (type 7).
double quantile(const std::vector<double>& sorted, double q) {
  const double h = (static_cast<double>(sorted.size()) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Continued fraction of the incomplete beta (modified Lentz).
double betaFraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-15;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::abs(d) < tiny ? tiny : d);
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    c = 1 + num / c;
    d = 1 / (std::abs(d) < tiny ? tiny : d);
    c = std::abs(c) < tiny ? tiny : c;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    c = 1 + num / c;
    d = 1 / (std::abs(d) < tiny ? tiny : d);
    c = std::abs(c) < tiny ? tiny : c;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < eps) break;
  }
  return h;
}

void needTwo(const std::vector<double>& a, const std::vector<double>& b, const char* test) {
  if (a.size() < 2 || b.size() < 2)
    throw ProcessingError(fmt::format(
        "{}: needs at least 2 finite values in each group ({} and {})", test, a.size(), b.size()));
}

}  // namespace

double incompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  // The continued fraction converges fast for x < (a + 1)/(a + b + 2); else use the symmetry.
  if (x < (a + 1) / (a + b + 2)) return front * betaFraction(a, b, x) / a;
  return 1 - front * betaFraction(b, a, 1 - x) / b;
}

double studentTTwoSided(double t, double dof) {
  if (!std::isfinite(t)) return 0;
  return incompleteBeta(dof / 2, 0.5, dof / (dof + t * t));
}

double normalTwoSided(double z) {
  return std::erfc(std::abs(z) / std::sqrt(2.0));
}

Summary describe(const std::vector<double>& values, double level, int resamples,
                 std::uint64_t seed) {
  std::vector<double> v = finite(values);
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.mean = mean(v);
  s.sd = std::sqrt(variance(v, s.mean));
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  s.median = quantile(sorted, 0.5), s.q1 = quantile(sorted, 0.25), s.q3 = quantile(sorted, 0.75);
  if (resamples <= 0) {
    s.ci_lo = s.ci_hi = NAN;
    return s;
  }
  SplitMix64 rng(seed);
  std::vector<double> means;
  means.reserve(static_cast<std::size_t>(resamples));
  for (int r = 0; r < resamples; ++r) {
    double sum = 0;
    for (std::size_t k = 0; k < v.size(); ++k)
      sum += v[static_cast<std::size_t>(rng.uniform() * static_cast<double>(v.size()))];
    means.push_back(sum / static_cast<double>(v.size()));
  }
  std::sort(means.begin(), means.end());
  s.ci_lo = quantile(means, (1 - level) / 2), s.ci_hi = quantile(means, (1 + level) / 2);
  return s;
}

TestResult welch(const std::vector<double>& a_in, const std::vector<double>& b_in) {
  const auto a = finite(a_in), b = finite(b_in);
  needTwo(a, b, "Welch's t-test");
  const double ma = mean(a), mb = mean(b), va = variance(a, ma), vb = variance(b, mb);
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double se2 = va / na + vb / nb;
  TestResult r;
  r.statistic = se2 > 0 ? (ma - mb) / std::sqrt(se2) : (ma == mb ? 0.0 : INFINITY);
  r.dof = se2 > 0 ? se2 * se2 / (va * va / (na * na * (na - 1)) + vb * vb / (nb * nb * (nb - 1)))
                  : na + nb - 2;
  r.p = studentTTwoSided(r.statistic, r.dof);
  const double pooled = std::sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2));
  r.effect = pooled > 0 ? (ma - mb) / pooled : 0.0;
  return r;
}

TestResult mannWhitney(const std::vector<double>& a_in, const std::vector<double>& b_in) {
  const auto a = finite(a_in), b = finite(b_in);
  needTwo(a, b, "Mann-Whitney U test");
  // Ranks of the pooled values, ties at their mean rank.
  std::vector<std::pair<double, int>> all;
  for (double x : a) all.emplace_back(x, 0);
  for (double x : b) all.emplace_back(x, 1);
  std::sort(all.begin(), all.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
  const double n = static_cast<double>(all.size());
  double rank_a = 0, ties = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double r = 0.5 * static_cast<double>(i + j + 1);  // mean of ranks i+1 .. j
    const double t = static_cast<double>(j - i);
    ties += t * t * t - t;
    for (std::size_t k = i; k < j; ++k) {
      if (all[k].second == 0) rank_a += r;
    }
    i = j;
  }
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  TestResult out;
  out.u = rank_a - na * (na + 1) / 2;
  const double mu = na * nb / 2;
  const double sigma = std::sqrt(na * nb / 12 * ((n + 1) - ties / (n * (n - 1))));
  const double d = out.u - mu;
  out.statistic = sigma > 0 ? (d - (d > 0 ? 0.5 : d < 0 ? -0.5 : 0.0)) / sigma : 0.0;
  out.p = normalTwoSided(out.statistic);
  out.effect = 2 * out.u / (na * nb) - 1;  // Cliff's delta: P(a > b) − P(a < b)
  return out;
}

std::vector<double> holm(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto i, auto j) { return p[i] < p[j]; });
  std::vector<double> adj(p.size());
  double running = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const double v = std::min(1.0, static_cast<double>(p.size() - k) * p[order[k]]);
    running = std::max(running, v);
    adj[order[k]] = running;
  }
  return adj;
}

BlockBootstrap blockBootstrapDifference(const std::vector<double>& a,
                                        const std::vector<int>& blocks_a,
                                        const std::vector<double>& b,
                                        const std::vector<int>& blocks_b, double level,
                                        int resamples, std::uint64_t seed) {
  if (a.size() != blocks_a.size() || b.size() != blocks_b.size())
    throw ProcessingError("block bootstrap: one block id per value");
  // Per block: sum and count of its finite values.
  auto byBlock = [](const std::vector<double>& v, const std::vector<int>& ids) {
    std::map<int, std::pair<double, double>> m;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) continue;
      auto& s = m[ids[i]];
      s.first += v[i], s.second += 1;
    }
    std::vector<std::pair<double, double>> out;
    for (const auto& [id, s] : m) out.push_back(s);
    return out;
  };
  const auto ga = byBlock(a, blocks_a), gb = byBlock(b, blocks_b);
  if (ga.size() < 2 || gb.size() < 2)
    throw ProcessingError(fmt::format(
        "block bootstrap: needs at least 2 blocks in each group ({} and {}): with fewer, the "
        "spread between blocks cannot be told",
        ga.size(), gb.size()));
  auto meanOf = [](const std::vector<std::pair<double, double>>& g) {
    double s = 0, n = 0;
    for (const auto& [sum, count] : g) s += sum, n += count;
    return s / n;
  };
  BlockBootstrap out;
  out.blocks_a = ga.size(), out.blocks_b = gb.size();
  out.difference = meanOf(ga) - meanOf(gb);
  SplitMix64 rng(seed);
  auto resample = [&](const std::vector<std::pair<double, double>>& g) {
    double s = 0, n = 0;
    for (std::size_t k = 0; k < g.size(); ++k) {
      const auto& pick = g[static_cast<std::size_t>(rng.uniform() * static_cast<double>(g.size()))];
      s += pick.first, n += pick.second;
    }
    return s / n;
  };
  // Each group's mean resampled by blocks; the variance of those means, times k/(k − 1) (the
  // bootstrap's own shortfall with k blocks), is that mean's squared standard error.
  auto bootVariance = [&](const std::vector<std::pair<double, double>>& g) {
    double s = 0, s2 = 0;
    for (int r = 0; r < resamples; ++r) {
      const double m = resample(g);
      s += m, s2 += m * m;
    }
    const double m = s / resamples;
    const double k = static_cast<double>(g.size());
    return std::max(0.0, s2 / resamples - m * m) * k / (k - 1);
  };
  const double va = bootVariance(ga), vb = bootVariance(gb);
  out.se = std::sqrt(va + vb);
  // Inference on t = difference / se with Welch–Satterthwaite degrees of freedom counted in
  // blocks: with few blocks, the normal tails of the bootstrap would reject too often.
  const double ka = static_cast<double>(ga.size()), kb = static_cast<double>(gb.size());
  const double denom = va * va / (ka - 1) + vb * vb / (kb - 1);
  const double dof = denom > 0 ? (va + vb) * (va + vb) / denom : ka + kb - 2;
  if (out.se > 0) {
    out.p = studentTTwoSided(out.difference / out.se, dof);
    // t quantile for the interval by bisection on the two-sided tail.
    double lo = 0, hi = 1000;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (studentTTwoSided(mid, dof) > 1 - level ? lo : hi) = mid;
    }
    out.ci_lo = out.difference - hi * out.se, out.ci_hi = out.difference + hi * out.se;
  } else {
    out.p = out.difference == 0 ? 1.0 : 0.0;
    out.ci_lo = out.ci_hi = out.difference;
  }
  out.dof = dof;
  return out;
}

}  // namespace ionmap::stats
