#include "diffusion/observation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

namespace ionmap::diffusion {

Image<std::int32_t> majorityLabels(const Image<std::int32_t>& fine, int n) {
  const int w = fine.width() / n, h = fine.height() / n;
  Image<std::int32_t> out(w, h, 0);
  std::vector<std::int32_t> block(static_cast<std::size_t>(n) * static_cast<std::size_t>(n));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      std::size_t k = 0;
      for (int j = 0; j < n; ++j) {
        for (int i = 0; i < n; ++i) block[k++] = fine(x * n + i, y * n + j);
      }
      std::sort(block.begin(), block.end());
      std::size_t most = 0;
      for (std::size_t a = 0; a < block.size();) {
        std::size_t b = a;
        while (b < block.size() && block[b] == block[a]) ++b;
        if (b - a > most) most = b - a, out(x, y) = block[a];
        a = b;
      }
    }
  }
  return out;
}

Image<std::int32_t> smoothLabels(const Image<std::int32_t>& labels, int passes,
                                 std::size_t* changed) {
  Image<std::int32_t> cur = labels;
  const int w = labels.width(), h = labels.height();
  std::size_t total = 0;
  std::array<std::int32_t, 9> v{};
  for (int pass = 0; pass < passes; ++pass) {
    Image<std::int32_t> next = cur;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        std::size_t k = 0;
        bool uniform = true;
        for (int dy = -1; dy <= 1; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            v[k] = cur(std::clamp(x + dx, 0, w - 1), std::clamp(y + dy, 0, h - 1));
            uniform = uniform && v[k] == v[0];
            ++k;
          }
        }
        if (uniform) continue;
        // The most frequent label; the cell keeps its own on a tie.
        std::int32_t best = cur(x, y);
        int most = 0;
        for (std::size_t a = 0; a < 9; ++a) {
          const int c = static_cast<int>(std::count(v.begin(), v.end(), v[a]));
          if (c > most || (c == most && v[a] == cur(x, y))) most = c, best = v[a];
        }
        if (best != cur(x, y)) next(x, y) = best, ++total;
      }
    }
    cur = std::move(next);
  }
  if (changed) *changed = total;
  return cur;
}

void blurCells(std::vector<double>& v, int w, int h, double sigma_cells) {
  if (!(sigma_cells > 0) || w < 1 || h < 1) return;
  std::vector<double> k;  // taps 0..r, symmetric
  if (sigma_cells <= 0.8) {
    const double a = 0.5 * sigma_cells * sigma_cells;
    k = {1 - 2 * a, a};
  } else {
    const int r = static_cast<int>(std::ceil(4 * sigma_cells));
    double sum = 0;
    for (int i = 0; i <= r; ++i) {
      k.push_back(std::exp(-0.5 * i * i / (sigma_cells * sigma_cells)));
      sum += (i == 0 ? 1 : 2) * k.back();
    }
    for (double& t : k) t /= sum;
  }
  const int r = static_cast<int>(k.size()) - 1;
  // Mirrored index: −1 → 0, n → n − 1 (the edge cell repeated, as the zero-flux edges are).
  auto mirror = [](int i, int n) {
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
  };
  std::vector<double> line;
  auto pass = [&](int n, int lines, std::size_t step, std::size_t stride) {
    line.resize(static_cast<std::size_t>(n));
    for (int l = 0; l < lines; ++l) {
      double* base = v.data() + static_cast<std::size_t>(l) * stride;
      for (int i = 0; i < n; ++i) line[static_cast<std::size_t>(i)] = base[i * step];
      for (int i = 0; i < n; ++i) {
        double acc = k[0] * line[static_cast<std::size_t>(i)];
        for (int j = 1; j <= r; ++j) {
          acc +=
              k[static_cast<std::size_t>(j)] * (line[static_cast<std::size_t>(mirror(i - j, n))] +
                                                line[static_cast<std::size_t>(mirror(i + j, n))]);
        }
        base[i * step] = acc;
      }
    }
  };
  pass(w, h, 1, static_cast<std::size_t>(w));  // along x, row by row
  pass(h, w, static_cast<std::size_t>(w), 1);  // along y, column by column
}

std::vector<double> blockMean(const std::vector<double>& fine, int w, int h, int s) {
  std::vector<double> out(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), 0.0);
  const std::size_t fw = static_cast<std::size_t>(w) * static_cast<std::size_t>(s);
  for (int y = 0; y < h * s; ++y) {
    double* row = out.data() + static_cast<std::size_t>(y / s) * static_cast<std::size_t>(w);
    const double* in = fine.data() + static_cast<std::size_t>(y) * fw;
    for (std::size_t x = 0; x < fw; ++x) row[x / static_cast<std::size_t>(s)] += in[x];
  }
  const double norm = 1.0 / (static_cast<double>(s) * s);
  for (double& v : out) v *= norm;
  return out;
}

std::vector<double> observe(std::vector<double> fine, int w, int h, int s, double blur_cells) {
  blurCells(fine, w * s, h * s, blur_cells);
  return blockMean(fine, w, h, s);
}

Image<double> boundaryPositionVariance(const Domain& d, int s, const Image<double>& fine,
                                       double sigma_um) {
  const int fw = d.labels.width(), fh = d.labels.height();
  Image<double> sum(fw / s, fh / s, 0.0);
  auto add = [&](int xa, int ya, int xb, int yb, double scale) {
    if (d.labels(xa, ya) == d.labels(xb, yb)) return;
    const double v = std::abs(fine(xa, ya) - fine(xb, yb)) * d.h * scale;
    const int pa = xa / s, qa = ya / s, pb = xb / s, qb = yb / s;
    if (pa == pb && qa == qb) {
      sum(pa, qa) += v;
    } else {
      sum(pa, qa) += 0.5 * v, sum(pb, qb) += 0.5 * v;
    }
  };
  for (int y = 0; y < fh; ++y) {
    for (int x = 0; x < fw; ++x) {
      if (x + 1 < fw) add(x, y, x + 1, y, d.kappa_scale_x.empty() ? 1.0 : d.kappa_scale_x(x, y));
      if (y + 1 < fh) add(x, y, x, y + 1, d.kappa_scale_y.empty() ? 1.0 : d.kappa_scale_y(x, y));
    }
  }
  const double area = (d.h * s) * (d.h * s);
  for (std::size_t i = 0; i < sum.size(); ++i) {
    const double sd = sum[i] * sigma_um / area;
    sum[i] = sd * sd;
  }
  return sum;
}

namespace {

template <class T>
Image<T> splitTwo(const Image<T>& in) {
  if (in.empty()) return in;
  Image<T> out(2 * in.width(), 2 * in.height());
  for (int y = 0; y < out.height(); ++y) {
    for (int x = 0; x < out.width(); ++x) out(x, y) = in(x / 2, y / 2);
  }
  return out;
}

// Face factors to the right (x) or below (y) of each cell on the split grid: a face on a former
// face line (odd index along its axis) keeps that face's factor, one inside a former cell 1.
Image<double> splitFaces(const Image<double>& in, bool x_faces) {
  if (in.empty()) return in;
  Image<double> out(2 * in.width(), 2 * in.height(), 1.0);
  for (int y = 0; y < out.height(); ++y) {
    for (int x = 0; x < out.width(); ++x) {
      if ((x_faces ? x : y) % 2 == 1) out(x, y) = in(x / 2, y / 2);
    }
  }
  return out;
}

}  // namespace

Domain splitCells(const Domain& d) {
  Domain out = d;
  out.labels = splitTwo(d.labels);
  out.source_region = splitTwo(d.source_region);
  out.h = d.h / 2;
  out.kappa_scale_x = splitFaces(d.kappa_scale_x, true);
  out.kappa_scale_y = splitFaces(d.kappa_scale_y, false);
  out.source_scale.clear();
  for (double v : d.source_scale) out.source_scale.insert(out.source_scale.end(), 2, v);
  out.ordering.clear();
  return out;
}

Image<std::int32_t> shiftLabels(const Image<std::int32_t>& labels, int dx, int dy) {
  const int w = labels.width(), h = labels.height();
  Image<std::int32_t> out(w, h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x)
      out(x, y) = labels(std::clamp(x - dx, 0, w - 1), std::clamp(y - dy, 0, h - 1));
  }
  return out;
}

CountedFraction drawCounts(const Image<double>& f, long long n, std::uint64_t seed) {
  CountedFraction out{Image<double>(f.width(), f.height(), 0.0),
                      Image<double>(f.width(), f.height(), 0.0)};
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (n > 0) {
      std::binomial_distribution<long long> draw(n, std::clamp(f[i], 0.0, 1.0));
      const double fi = static_cast<double>(draw(rng)) / static_cast<double>(n);
      out.fraction[i] = fi;
      out.sigma[i] =
          std::max(std::sqrt(fi * (1 - fi) / static_cast<double>(n)), 1.0 / static_cast<double>(n));
    } else {
      out.fraction[i] = f[i];
      out.sigma[i] = 0;
    }
  }
  return out;
}

}  // namespace ionmap::diffusion
