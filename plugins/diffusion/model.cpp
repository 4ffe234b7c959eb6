#include "diffusion/model.hpp"

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <Eigen/SparseLU>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {
namespace {

using SpMat = Eigen::SparseMatrix<double>;
using Vec = Eigen::VectorXd;

void check(const Domain& s, const Physics& p) {
  if (s.labels.empty() || !(s.h > 0))
    throw UsageError("diffusion model: the grid is empty or the cell size is not > 0");
  if (!(s.time > 0)) throw UsageError("diffusion model: the exchange time must be > 0 s");
  if (s.steps < 1) throw UsageError("diffusion model: at least one time step is needed");
  if (!(p.D_b > 0)) throw UsageError("diffusion model: D_b must be > 0");
  if (p.k_surface < 0)
    throw UsageError("diffusion model: the surface exchange coefficient must be >= 0");
}

bool onSource(const Domain& s, int x, int y) {
  switch (s.source) {
    case Edge::kLeft:
      return x == 0;
    case Edge::kRight:
      return x == s.labels.width() - 1;
    case Edge::kTop:
      return y == 0;
    case Edge::kBottom:
      return y == s.labels.height() - 1;
  }
  return false;
}

// df/dt = A f + b for cell-average f: A from face conductances (per face length, µm/s)
// divided by h; the source enters b (and the diagonal).
struct System {
  SpMat A;
  Vec b;
  Vec source_conductance;  // per cell, (1/h)·c_s, for the mass balance
};

double faceConductance(const Physics& p, double h, bool boundary) {
  const double bulk = p.D_b / h;
  if (!boundary || !(p.kappa > 0) || std::isinf(p.kappa)) return bulk;
  return 1.0 / (h / p.D_b + 1.0 / p.kappa);
}

System assemble(const Domain& s, const Physics& p, bool opposite_sink = false) {
  const int w = s.labels.width(), hgt = s.labels.height();
  const auto n = static_cast<Eigen::Index>(w) * hgt;
  std::vector<Eigen::Triplet<double>> t;
  t.reserve(static_cast<std::size_t>(n) * 5);
  System sys;
  sys.b = Vec::Zero(n);
  sys.source_conductance = Vec::Zero(n);
  std::vector<double> diag(static_cast<std::size_t>(n), 0.0);
  auto idx = [&](int x, int y) { return static_cast<Eigen::Index>(y) * w + x; };
  for (int y = 0; y < hgt; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto i = idx(x, y);
      for (auto [dx, dy] : {std::pair{1, 0}, {0, 1}}) {
        const int xx = x + dx, yy = y + dy;
        if (xx >= w || yy >= hgt) continue;
        const double c = faceConductance(p, s.h, s.labels(x, y) != s.labels(xx, yy)) / s.h;
        const auto j = idx(xx, yy);
        t.emplace_back(i, j, c);
        t.emplace_back(j, i, c);
        diag[static_cast<std::size_t>(i)] -= c;
        diag[static_cast<std::size_t>(j)] -= c;
      }
      // Source face: half a cell of bulk, plus the surface resistance 1/k when Robin.
      if (onSource(s, x, y)) {
        const double half = s.h / 2 / p.D_b;
        const double c = (p.k_surface > 0 ? 1.0 / (1.0 / p.k_surface + half) : 1.0 / half) / s.h;
        diag[static_cast<std::size_t>(i)] -= c;
        sys.b(i) += c * p.f_s;
        sys.source_conductance(i) = c;
      }
      if (opposite_sink) {
        const bool on_opposite = s.source == Edge::kLeft    ? x == w - 1
                                 : s.source == Edge::kRight ? x == 0
                                 : s.source == Edge::kTop   ? y == hgt - 1
                                                            : y == 0;
        if (on_opposite) {
          const double c = 2 * p.D_b / s.h / s.h;
          diag[static_cast<std::size_t>(i)] -= c;
          sys.b(i) += c * p.f_bg;
        }
      }
    }
  }
  for (Eigen::Index i = 0; i < n; ++i) t.emplace_back(i, i, diag[static_cast<std::size_t>(i)]);
  sys.A.resize(n, n);
  sys.A.setFromTriplets(t.begin(), t.end());
  return sys;
}

// BDF2 with a backward-Euler first step; returns the last two states.
void integrate(const SpMat& A, const Vec& b, Vec& f, double time, int steps, Vec* previous) {
  const double dt = time / steps;
  const auto n = A.rows();
  SpMat I(n, n);
  I.setIdentity();
  Eigen::SimplicialLDLT<SpMat> be(I - dt * A);
  if (be.info() != Eigen::Success) throw ProcessingError("diffusion model: factorisation failed");
  Vec prev = f;
  const Vec rhs = f + dt * b;  // evaluated first: solve() must not read f while writing it
  f = be.solve(rhs);
  if (steps > 1) {
    Eigen::SimplicialLDLT<SpMat> bdf2(I - (2.0 / 3.0) * dt * A);  // factored once, used every step
    if (bdf2.info() != Eigen::Success)
      throw ProcessingError("diffusion model: factorisation failed");
    for (int k = 1; k < steps; ++k) {
      Vec next = bdf2.solve((4.0 * f - prev) / 3.0 + (2.0 / 3.0) * dt * b);
      prev = std::move(f);
      f = std::move(next);
    }
  }
  if (previous) *previous = prev;
}

}  // namespace

Image<double> simulateGrid(const Domain& s, const Physics& p) {
  check(s, p);
  const System sys = assemble(s, p);
  Vec f = Vec::Constant(sys.A.rows(), p.f_bg);
  integrate(sys.A, sys.b, f, s.time, s.steps, nullptr);
  Image<double> out(s.labels.width(), s.labels.height());
  for (Eigen::Index i = 0; i < f.size(); ++i) out[static_cast<std::size_t>(i)] = f(i);
  return out;
}

double lastStepMassBalanceError(const Domain& s, const Physics& p) {
  check(s, p);
  if (s.steps < 3) throw UsageError("mass balance check needs at least 3 steps");
  const System sys = assemble(s, p);
  Vec f = Vec::Constant(sys.A.rows(), p.f_bg), prev;
  // State at steps − 2, then the last two steps by hand so that all three are known.
  Domain head = s;
  head.steps = s.steps - 1;
  head.time = s.time * (s.steps - 1) / s.steps;
  integrate(sys.A, sys.b, f, head.time, head.steps, &prev);
  const double dt = s.time / s.steps;
  const auto n = sys.A.rows();
  SpMat I(n, n);
  I.setIdentity();
  Eigen::SimplicialLDLT<SpMat> bdf2(I - (2.0 / 3.0) * dt * sys.A);
  const Vec next = bdf2.solve((4.0 * f - prev) / 3.0 + (2.0 / 3.0) * dt * sys.b);
  // Interior fluxes cancel in the sum: d(total)/dt = Σ source inflow.
  const double change = (3 * next.sum() - 4 * f.sum() + prev.sum()) / (2 * dt);
  const double inflow = (sys.source_conductance.array() * (p.f_s - next.array())).sum();
  return std::abs(change - inflow) / std::max(std::abs(inflow), 1e-300);
}

double steadyStateEffectiveD(const Domain& s, const Physics& p) {
  check(s, p);
  const System sys = assemble(s, p, true);
  Eigen::SimplicialLDLT<SpMat> solver(-sys.A);
  const Vec f = solver.solve(sys.b);
  const double inflow =
      (sys.source_conductance.array() * (p.f_s - f.array())).sum() * s.h;  // per µm² of slab
  const bool along_x = s.source == Edge::kLeft || s.source == Edge::kRight;
  const double length = (along_x ? s.labels.width() : s.labels.height()) * s.h;
  const double cross = (along_x ? s.labels.height() : s.labels.width()) * s.h;
  return inflow * s.h / cross * length / (p.f_s - p.f_bg);
}

std::vector<double> simulateNetwork(const Domain& s, const Physics& p) {
  check(s, p);
  const int w = s.labels.width(), hgt = s.labels.height();
  int max_label = 0;
  for (auto v : s.labels.values()) max_label = std::max(max_label, v);
  const int n = max_label + 1;
  std::vector<double> area(static_cast<std::size_t>(n), 0.0),
      source_len(static_cast<std::size_t>(n), 0.0);
  std::map<std::pair<int, int>, double> shared;
  for (int y = 0; y < hgt; ++y) {
    for (int x = 0; x < w; ++x) {
      const int a = s.labels(x, y);
      area[static_cast<std::size_t>(a)] += s.h * s.h;
      if (onSource(s, x, y)) source_len[static_cast<std::size_t>(a)] += s.h;
      if (x + 1 < w && s.labels(x + 1, y) != a)
        shared[{std::min(a, s.labels(x + 1, y)), std::max(a, s.labels(x + 1, y))}] += s.h;
      if (y + 1 < hgt && s.labels(x, y + 1) != a)
        shared[{std::min(a, s.labels(x, y + 1)), std::max(a, s.labels(x, y + 1))}] += s.h;
    }
  }
  std::vector<Eigen::Triplet<double>> t;
  std::vector<double> diag(static_cast<std::size_t>(n), 0.0);
  Vec b = Vec::Zero(n);
  for (const auto& [pr, len] : shared) {
    const double c = p.kappa * len;
    const double ci = c / area[static_cast<std::size_t>(pr.first)],
                 cj = c / area[static_cast<std::size_t>(pr.second)];
    t.emplace_back(pr.first, pr.second, ci);
    t.emplace_back(pr.second, pr.first, cj);
    diag[static_cast<std::size_t>(pr.first)] -= ci;
    diag[static_cast<std::size_t>(pr.second)] -= cj;
  }
  for (int i = 0; i < n; ++i) {
    if (area[static_cast<std::size_t>(i)] <= 0) {
      diag[static_cast<std::size_t>(i)] = -1;  // unused label: a decoupled node
      continue;
    }
    if (source_len[static_cast<std::size_t>(i)] > 0) {
      // Through the surface (1/k) and half the grain's depth of bulk.
      const double depth =
          0.5 * area[static_cast<std::size_t>(i)] / source_len[static_cast<std::size_t>(i)];
      const double g = 1.0 / ((p.k_surface > 0 ? 1.0 / p.k_surface : 0.0) + depth / p.D_b);
      const double c =
          g * source_len[static_cast<std::size_t>(i)] / area[static_cast<std::size_t>(i)];
      diag[static_cast<std::size_t>(i)] -= c;
      b(i) += c * p.f_s;
    }
  }
  for (int i = 0; i < n; ++i) t.emplace_back(i, i, diag[static_cast<std::size_t>(i)]);
  SpMat A(n, n);
  A.setFromTriplets(t.begin(), t.end());
  // A is not symmetric (rows divided by areas), so use LU for the network.
  const double dt = s.time / s.steps;
  SpMat I(n, n);
  I.setIdentity();
  Vec f = Vec::Constant(n, p.f_bg), prev = f;
  Eigen::SparseLU<SpMat> be(I - dt * A);
  const Vec rhs = f + dt * b;  // evaluated first: solve() must not read f while writing it
  f = be.solve(rhs);
  if (s.steps > 1) {
    Eigen::SparseLU<SpMat> bdf2(I - (2.0 / 3.0) * dt * A);
    for (int k = 1; k < s.steps; ++k) {
      Vec next = bdf2.solve((4.0 * f - prev) / 3.0 + (2.0 / 3.0) * dt * b);
      prev = std::move(f);
      f = std::move(next);
    }
  }
  return std::vector<double>(f.data(), f.data() + f.size());
}

double erfcx(double x) {
  if (x < 0) return 2 * std::exp(x * x) - erfcx(-x);
  if (x < 25) return std::exp(x * x) * std::erfc(x);
  const double x2 = x * x;
  return 1 / (x * std::sqrt(M_PI)) *
         (1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2));
}

double analyticDirichlet(double x, double D, double t) {
  return std::erfc(x / (2 * std::sqrt(D * t)));
}

double analyticSurfaceExchange(double x, double D, double k, double t) {
  const double xi = x / (2 * std::sqrt(D * t)), h = k / D;
  return std::erfc(xi) - std::exp(-xi * xi) * erfcx(xi + h * std::sqrt(D * t));
}

}  // namespace ionmap::diffusion
