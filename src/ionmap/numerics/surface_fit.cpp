#include "ionmap/numerics/surface_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <Eigen/Dense>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

int termCount(int order) {
  return (order + 1) * (order + 2) / 2;
}

// Local coordinates of a pixel centre relative to the map centre, in µm (unrotated frame:
// a background is a property of the scan, so it lives in the map's own axes).
void localCoords(const Grid& g, int x, int y, double& u, double& v) {
  u = (x + 0.5 - 0.5 * g.width) * g.pixel_x;
  v = (y + 0.5 - 0.5 * g.height) * g.pixel_y;
}

// Monomials x^i y^j in the documented order, for scaled coordinates.
void monomials(int order, double u, double v, double* out) {
  double pu[9] = {1}, pv[9] = {1};  // order ≤ 8
  for (int i = 1; i <= order; ++i) pu[i] = pu[i - 1] * u, pv[i] = pv[i - 1] * v;
  int k = 0;
  for (int d = 0; d <= order; ++d) {
    for (int i = d; i >= 0; --i) out[k++] = pu[i] * pv[d - i];
  }
}

}  // namespace

SurfaceFit fitPolynomialSurface(const Map& map, int order) {
  if (order < 0 || order > 8) {
    throw ProcessingError(fmt::format("surface order {} outside 0..8", order));
  }
  map.checkConsistent();
  const int n_terms = termCount(order);
  const std::size_t n = map.countValid();
  if (n < static_cast<std::size_t>(n_terms)) {
    throw ProcessingError(
        fmt::format("map '{}': {} valid pixels cannot fit a surface of order {} "
                    "({} terms)",
                    map.name, n, order, n_terms));
  }
  // Scale coordinates to about [-1, 1] so that the normal matrix stays well conditioned.
  const double su = std::max(1e-300, 0.5 * map.grid.extentX());
  const double sv = std::max(1e-300, 0.5 * map.grid.extentY());
  // Passes over the pixels, no N × terms matrix: the normal equations, then one step of
  // iterative refinement on their residuals (as accurate as a QR of the full matrix for the
  // orders allowed here, at a fraction of the memory and time), then the residual.
  std::vector<double> row(n_terms), lower(n_terms * (n_terms + 1) / 2, 0.0), rhs(n_terms, 0.0);
  auto forEachPixel = [&](auto&& f) {
    for (int y = 0; y < map.height(); ++y) {
      for (int x = 0; x < map.width(); ++x) {
        if (!map.valid(x, y) || !std::isfinite(map.values(x, y))) continue;
        double u, v;
        localCoords(map.grid, x, y, u, v);
        monomials(order, u / su, v / sv, row.data());
        f(map.values(x, y));
      }
    }
  };
  // Accumulates Aᵀ(value) and, when `normal`, the lower triangle of AᵀA.
  auto accumulate = [&](const Eigen::VectorXd* c, bool normal) {
    std::size_t count = 0;
    std::fill(rhs.begin(), rhs.end(), 0.0);
    forEachPixel([&](double value) {
      double e = value;
      if (c) {
        for (int k = 0; k < n_terms; ++k) e -= row[k] * (*c)(k);
      }
      for (int i = 0; i < n_terms; ++i) rhs[i] += e * row[i];
      if (normal) {
        std::size_t at = 0;
        for (int i = 0; i < n_terms; ++i) {
          for (int j = 0; j <= i; ++j) lower[at++] += row[i] * row[j];
        }
      }
      ++count;
    });
    return count;
  };
  const std::size_t r = accumulate(nullptr, true);
  Eigen::MatrixXd ata(n_terms, n_terms);
  std::size_t at = 0;
  for (int i = 0; i < n_terms; ++i) {
    for (int j = 0; j <= i; ++j) ata(i, j) = ata(j, i) = lower[at++];
  }
  const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(ata);
  if (qr.rank() < n_terms) {
    throw ProcessingError(
        fmt::format("map '{}': the valid pixels do not determine a surface of "
                    "order {} (rank {} of {}; are they all on one line?)",
                    map.name, order, qr.rank(), n_terms));
  }
  Eigen::VectorXd c = qr.solve(Eigen::Map<const Eigen::VectorXd>(rhs.data(), n_terms));
  accumulate(&c, false);  // refinement on the residuals
  c += qr.solve(Eigen::Map<const Eigen::VectorXd>(rhs.data(), n_terms));
  double ss = 0;
  forEachPixel([&](double value) {
    double e = value;
    for (int k = 0; k < n_terms; ++k) e -= row[k] * c(k);
    ss += e * e;
  });
  SurfaceFit fit;
  fit.order = order;
  fit.pixels_used = r;
  fit.rms_residual = std::sqrt(ss / static_cast<double>(r));
  int k = 0;
  for (int d = 0; d <= order; ++d) {
    for (int i = d; i >= 0; --i, ++k) {
      fit.coefficients.push_back(c(k) / (std::pow(su, i) * std::pow(sv, d - i)));
    }
  }
  return fit;
}

Image<double> evaluateSurface(const SurfaceFit& fit, const Grid& grid) {
  Image<double> out(grid.width, grid.height);
  std::vector<double> row(fit.coefficients.size());
  for (int y = 0; y < grid.height; ++y) {
    for (int x = 0; x < grid.width; ++x) {
      double u, v;
      localCoords(grid, x, y, u, v);
      monomials(fit.order, u, v, row.data());
      double s = 0;
      for (std::size_t k = 0; k < row.size(); ++k) s += fit.coefficients[k] * row[k];
      out(x, y) = s;
    }
  }
  return out;
}

std::vector<double> rowMedians(const Map& map) {
  std::vector<double> med(map.height(), std::numeric_limits<double>::quiet_NaN());
  std::vector<double> vals;
  for (int y = 0; y < map.height(); ++y) {
    vals.clear();
    for (int x = 0; x < map.width(); ++x) {
      if (map.valid(x, y) && std::isfinite(map.values(x, y))) vals.push_back(map.values(x, y));
    }
    if (vals.empty()) continue;
    const std::size_t mid = vals.size() / 2;
    std::nth_element(vals.begin(), vals.begin() + mid, vals.end());
    double m = vals[mid];
    if (vals.size() % 2 == 0) m = 0.5 * (m + *std::max_element(vals.begin(), vals.begin() + mid));
    med[y] = m;
  }
  return med;
}

std::vector<double> rowDifferenceOffsets(const Map& map, int* unmatched) {
  std::vector<double> off(map.height(), 0.0), d;
  int missing = 0;
  for (int y = 1; y < map.height(); ++y) {
    d.clear();
    for (int x = 0; x < map.width(); ++x) {
      const double a = map.values(x, y), b = map.values(x, y - 1);
      if (map.valid(x, y) && map.valid(x, y - 1) && std::isfinite(a) && std::isfinite(b))
        d.push_back(a - b);
    }
    double step = 0;
    if (d.empty()) {
      ++missing;
    } else {
      const std::size_t mid = d.size() / 2;
      std::nth_element(d.begin(), d.begin() + mid, d.end());
      step = d[mid];
      if (d.size() % 2 == 0) step = 0.5 * (step + *std::max_element(d.begin(), d.begin() + mid));
    }
    off[y] = off[y - 1] + step;
  }
  double mean = 0;
  for (double o : off) mean += o;
  mean /= std::max(1, map.height());
  for (double& o : off) o -= mean;
  if (unmatched) *unmatched = missing;
  return off;
}

}  // namespace ionmap
