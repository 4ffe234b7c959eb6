#include "diffusion/model.hpp"

#include <metis.h>

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "diffusion/bdf2.hpp"
#include "diffusion/fit_problem.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {
namespace {

using SpMat = Eigen::SparseMatrix<double>;
using Vec = Eigen::VectorXd;

// Cells along the source edge, and the cell at position k along it, `depth` cells inside.
int edgeLength(const Domain& s) {
  return s.source == Edge::kLeft || s.source == Edge::kRight ? s.labels.height() : s.labels.width();
}
std::pair<int, int> edgeCell(const Domain& s, int k, int depth) {
  switch (s.source) {
    case Edge::kLeft:
      return {depth, k};
    case Edge::kRight:
      return {s.labels.width() - 1 - depth, k};
    case Edge::kTop:
      return {k, depth};
    case Edge::kBottom:
      return {k, s.labels.height() - 1 - depth};
  }
  return {depth, k};
}
// The factor on the source face of edge cell (x, y).
double sourceScale(const Domain& s, int x, int y) {
  if (s.source_scale.empty()) return 1.0;
  const bool columns = s.source == Edge::kLeft || s.source == Edge::kRight;
  return s.source_scale[static_cast<std::size_t>(columns ? y : x)];
}

void check(const Domain& s, const Physics& p) {
  if (s.labels.empty() || !(s.h > 0))
    throw UsageError("diffusion model: the grid is empty or the cell size is not > 0");
  if (!(s.time > 0)) throw UsageError("diffusion model: the exchange time must be > 0 s");
  if (s.steps < 1) throw UsageError("diffusion model: at least one time step is needed");
  if (!(p.D_b > 0)) throw UsageError("diffusion model: D_b must be > 0");
  if (p.k_surface < 0)
    throw UsageError("diffusion model: the surface exchange coefficient must be >= 0");
  if ((!s.kappa_scale_x.empty() && !s.kappa_scale_x.sameSize(s.labels)) ||
      (!s.kappa_scale_y.empty() && !s.kappa_scale_y.sameSize(s.labels)))
    throw UsageError("diffusion model: the staircase factors and the labels differ in size");
  if (!s.source_scale.empty() && (!s.source_region.empty() ||
                                  s.source_scale.size() != static_cast<std::size_t>(edgeLength(s))))
    throw UsageError("diffusion model: the source-contact factors do not match the source edge");
  if (!(s.reservoir_um >= 0) || std::isinf(s.reservoir_um))
    throw UsageError("diffusion model: the reservoir thickness must be >= 0 um (0 = unlimited)");
  if (!s.source_region.empty()) {
    if (!s.source_region.sameSize(s.labels))
      throw UsageError("diffusion model: the source region and the labels differ in size");
    std::size_t inside = 0;
    for (auto v : s.source_region.values()) inside += v != 0;
    if (inside == 0) throw UsageError("diffusion model: the source region is empty");
    if (inside == s.source_region.size())
      throw UsageError("diffusion model: the source region covers the whole map");
  }
}

bool inRegion(const Domain& s, int x, int y) {
  return !s.source_region.empty() && s.source_region(x, y) != 0;
}

// Whether the cell has a source face on the map's edge (edge sources only).
bool onSource(const Domain& s, int x, int y) {
  if (!s.source_region.empty()) return false;
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

// Total length of the source faces (µm): the edge, or the faces between the region and the sample.
double sourceLength(const Domain& s) {
  const int w = s.labels.width(), h = s.labels.height();
  if (s.source_region.empty()) return edgeLength(s) * s.h;
  std::size_t faces = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (x + 1 < w) faces += inRegion(s, x, y) != inRegion(s, x + 1, y);
      if (y + 1 < h) faces += inRegion(s, x, y) != inRegion(s, x, y + 1);
    }
  }
  return static_cast<double>(faces) * s.h;
}

// df/dt = A f + b for cell-average f: A from face conductances (per face length, µm/s)
// divided by h; the source enters b (and the diagonal).
struct System {
  SpMat A;
  Vec b;
  Vec source_conductance;  // per cell, (1/h)·c_s, for the mass balance
};

// What assemble() builds: the system itself, or its derivative with respect to ln κ or ln k
// (for the tangent-linear sensitivities).
enum class Part { kValue, kDlnKappa, kDlnK };

double faceConductance(const Physics& p, double h, bool boundary, Part part = Part::kValue) {
  const double bulk = p.D_b / h;
  const bool resistive = boundary && p.kappa > 0 && !std::isinf(p.kappa);
  if (part == Part::kDlnK) return 0;
  if (part == Part::kDlnKappa) {
    if (!resistive) return 0;
    const double r = h / p.D_b + 1.0 / p.kappa;  // c = 1/r, dc/dlnκ = 1/(κ r²)
    return 1.0 / (p.kappa * r * r);
  }
  if (!resistive) return bulk;
  return 1.0 / (h / p.D_b + 1.0 / p.kappa);
}

// Source face: half a cell of bulk, plus the surface resistance 1/k when Robin (per face length).
double sourceConductance(const Physics& p, double h, Part part = Part::kValue) {
  const double half = h / 2 / p.D_b;
  if (part == Part::kDlnKappa) return 0;
  if (part == Part::kDlnK) {
    if (!(p.k_surface > 0)) return 0;
    const double r = 1.0 / p.k_surface + half;
    return 1.0 / (p.k_surface * r * r);
  }
  return p.k_surface > 0 ? 1.0 / (1.0 / p.k_surface + half) : 1.0 / half;
}

// `position` (optional): the unknowns' places in an elimination order (position[old] = new), to
// assemble the permuted system directly.
// The column-major matrix of triplets, duplicates summed in the order given: what Eigen's
// setFromTriplets makes, value for value, without its row-major copy of the whole matrix (17 MB
// at 512²): the triplets are ordered through an index by column, then by row within a column.
}  // namespace

SpMat detail::compressed(Eigen::Index n, const std::vector<Eigen::Triplet<double>>& t) {
  std::vector<int> start(static_cast<std::size_t>(n) + 1, 0);
  for (const auto& e : t) ++start[static_cast<std::size_t>(e.col()) + 1];
  for (std::size_t j = 1; j < start.size(); ++j) start[j] += start[j - 1];
  std::vector<int> order(t.size());
  {
    std::vector<int> next(start.begin(), start.end() - 1);
    for (std::size_t k = 0; k < t.size(); ++k)
      order[static_cast<std::size_t>(next[static_cast<std::size_t>(t[k].col())]++)] =
          static_cast<int>(k);
  }
  SpMat A(n, n);
  Eigen::Index entries = 0;
  for (Eigen::Index j = 0; j < n; ++j) {  // sort each column by row (stable), count its rows
    int* first = order.data() + start[static_cast<std::size_t>(j)];
    int* last = order.data() + start[static_cast<std::size_t>(j) + 1];
    auto row = [&](int k) { return t[static_cast<std::size_t>(k)].row(); };
    for (int* q = first + 1; q < last; ++q) {  // insertion sort: a handful of entries, stable
      const int k = *q;
      int* r = q;
      for (; r > first && row(r[-1]) > row(k); --r) *r = r[-1];
      *r = k;
    }
    for (int* q = first; q != last; ++q) entries += q == first || row(q[-1]) != row(*q);
  }
  A.resizeNonZeros(entries);
  int* outer = A.outerIndexPtr();
  int* inner = A.innerIndexPtr();
  double* value = A.valuePtr();
  int at = -1;
  for (Eigen::Index j = 0; j < n; ++j) {
    outer[j] = at + 1;
    for (int q = start[static_cast<std::size_t>(j)]; q < start[static_cast<std::size_t>(j) + 1];
         ++q) {
      const auto& e = t[static_cast<std::size_t>(order[static_cast<std::size_t>(q)])];
      if (at >= outer[j] && inner[at] == e.row()) {
        value[at] += e.value();
      } else {
        ++at;
        inner[at] = static_cast<int>(e.row()), value[at] = e.value();
      }
    }
  }
  outer[n] = at + 1;
  return A;
}

namespace {

System assemble(const Domain& s, const Physics& p, bool opposite_sink = false,
                Part part = Part::kValue, const std::vector<int>* position = nullptr) {
  const int w = s.labels.width(), hgt = s.labels.height();
  const auto cells = static_cast<Eigen::Index>(w) * hgt;
  // A finite reservoir is one more unknown, the last: a well-mixed node of capacity
  // C = reservoir_um × (source face length). Its variable is scaled by √C/h so that the
  // system stays symmetric: couplings c·h/√C both ways, diagonal −Σ c·h²/C.
  const bool reservoir = s.reservoir_um > 0;
  const double capacity = reservoir ? s.reservoir_um * sourceLength(s) : 0;
  const auto n = cells + (reservoir ? 1 : 0);
  // The system (kValue) keeps every coupling, zero or not: its pattern is the factorisation's. A
  // derivative holds only the faces that depend on its parameter (boundary or source faces):
  // its zeros are never stored, so that it is small from the start.
  std::vector<Eigen::Triplet<double>> t;
  const bool every_entry = part == Part::kValue;
  t.reserve(static_cast<std::size_t>(n) * (every_entry ? 5 : 1));
  auto add = [&](Eigen::Index i, Eigen::Index j, double v) {
    if (every_entry || v != 0) t.emplace_back(i, j, v);
  };
  System sys;
  sys.b = Vec::Zero(n);
  sys.source_conductance = Vec::Zero(n);
  std::vector<double> diag(static_cast<std::size_t>(n), 0.0);
  auto at = [&](Eigen::Index k) -> Eigen::Index {
    return position ? (*position)[static_cast<std::size_t>(k)] : k;
  };
  auto idx = [&](int x, int y) { return at(static_cast<Eigen::Index>(y) * w + x); };
  const Eigen::Index node = reservoir ? at(cells) : cells;  // the reservoir's unknown
  // Source face of cell k with conductance c (1/s): toward f_s, or toward the reservoir node.
  auto sourceFace = [&](Eigen::Index k, double c) {
    diag[static_cast<std::size_t>(k)] -= c;
    sys.source_conductance(k) += c;
    if (!reservoir) {
      sys.b(k) += c * p.f_s;
      return;
    }
    const double couple = c * s.h / std::sqrt(capacity);
    add(k, node, couple);
    add(node, k, couple);
    diag[static_cast<std::size_t>(node)] -= c * s.h * s.h / capacity;
  };
  for (int y = 0; y < hgt; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto i = idx(x, y);
      for (auto [dx, dy] : {std::pair{1, 0}, {0, 1}}) {
        const int xx = x + dx, yy = y + dy;
        if (xx >= w || yy >= hgt) continue;
        const auto j = idx(xx, yy);
        const bool ri = inRegion(s, x, y), rj = inRegion(s, xx, yy);
        if (ri || rj) {
          // Source cells are held at f_s: a face between one and the sample is a source face
          // of the sample cell; between two source cells nothing flows.
          if (ri && rj) continue;
          sourceFace(ri ? j : i, sourceConductance(p, s.h, part) / s.h);
          continue;
        }
        const bool boundary = s.labels(x, y) != s.labels(xx, yy);
        const Image<double>& scale = dx ? s.kappa_scale_x : s.kappa_scale_y;
        double c = 0;
        if (boundary && !scale.empty()) {
          Physics q = p;  // the face's own κ: d/dlnκ is the same for κ and κ·scale
          q.kappa *= scale(x, y);
          c = faceConductance(q, s.h, true, part) / s.h;
        } else {
          c = faceConductance(p, s.h, boundary, part) / s.h;
        }
        add(i, j, c);
        add(j, i, c);
        diag[static_cast<std::size_t>(i)] -= c;
        diag[static_cast<std::size_t>(j)] -= c;
      }
      if (onSource(s, x, y))
        sourceFace(i, sourceScale(s, x, y) * sourceConductance(p, s.h, part) / s.h);
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
  for (Eigen::Index i = 0; i < n; ++i) add(i, i, diag[static_cast<std::size_t>(i)]);
  sys.A = detail::compressed(n, t);
  return sys;
}

// f_bg everywhere, f_s in the source region (whose rows are empty, so it stays there).
Vec initialState(const Domain& s, double f_bg, double f_s) {
  const auto cells = static_cast<Eigen::Index>(s.labels.size());
  Vec f = Vec::Constant(cells + (s.reservoir_um > 0 ? 1 : 0), f_bg);
  if (s.reservoir_um > 0) f(cells) = f_s * std::sqrt(s.reservoir_um * sourceLength(s)) / s.h;
  if (!s.source_region.empty()) {
    for (std::size_t i = 0; i < s.source_region.size(); ++i) {
      if (s.source_region[i]) f(static_cast<Eigen::Index>(i)) = f_s;
    }
  }
  return f;
}

// The reservoir's fraction from the state (f_s when unlimited), and the region cells set to it.
double sourceFraction(const Domain& s, const Vec& f, double f_s) {
  if (!(s.reservoir_um > 0)) return f_s;
  return f(f.size() - 1) * s.h / std::sqrt(s.reservoir_um * sourceLength(s));
}

}  // namespace

Image<double> simulateGrid(const Domain& s, const Physics& p, double* source_final) {
  check(s, p);
  const System sys = assemble(s, p);
  Vec f = initialState(s, p.f_bg, p.f_s);
  bdf2::integrate(sys.A, sys.b, f, s.time, s.steps, nullptr);
  const double source = sourceFraction(s, f, p.f_s);
  if (source_final) *source_final = source;
  Image<double> out(s.labels.width(), s.labels.height());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool region = !s.source_region.empty() && s.source_region[i];
    out[i] = region ? source : f(static_cast<Eigen::Index>(i));
  }
  return out;
}

SpMat detail::gridMatrix(const Domain& s) {
  Physics p;
  p.kappa = 1;
  check(s, p);
  return assemble(s, p).A;
}

std::vector<int> fillReducingOrdering(const Domain& s) {
  Physics p;  // any valid physics: only the sparsity pattern matters
  p.kappa = 1;
  check(s, p);
  // The system's graph, straight from the grid (what assemble() couples, without assembling
  // it): neighbouring cells unless one is in the source region, and with a reservoir, each cell
  // with a source face and the reservoir's node. Each list ascending, as the matrix's columns.
  const int w = s.labels.width(), hgt = s.labels.height();
  const auto cells = static_cast<idx_t>(s.labels.size());
  const bool reservoir = s.reservoir_um > 0;
  const idx_t n = cells + (reservoir ? 1 : 0);
  std::vector<idx_t> xadj(static_cast<std::size_t>(n) + 1, 0), adjncy;
  adjncy.reserve(static_cast<std::size_t>(cells) * 4);
  std::vector<idx_t> sourced;  // cells coupled to the reservoir
  for (int y = 0; y < hgt; ++y) {
    for (int x = 0; x < w; ++x) {
      const idx_t i = static_cast<idx_t>(y) * w + x;
      const bool ri = inRegion(s, x, y);
      bool source_face = !ri && onSource(s, x, y);
      for (auto [dx, dy] : {std::pair{0, -1}, {-1, 0}, {1, 0}, {0, 1}}) {
        const int xx = x + dx, yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= hgt) continue;
        const bool rj = inRegion(s, xx, yy);
        if (!ri && !rj) adjncy.push_back(static_cast<idx_t>(yy) * w + xx);
        if (!ri && rj) source_face = true;
      }
      if (reservoir && source_face) {
        adjncy.push_back(cells);
        sourced.push_back(i);
      }
      xadj[static_cast<std::size_t>(i) + 1] = static_cast<idx_t>(adjncy.size());
    }
  }
  if (reservoir) {
    adjncy.insert(adjncy.end(), sourced.begin(), sourced.end());
    xadj.back() = static_cast<idx_t>(adjncy.size());
  }
  std::vector<idx_t> perm(static_cast<std::size_t>(n)), iperm(perm.size());
  idx_t nodes = n;
  int status = METIS_OK;
  {
    // METIS seeds one process-wide random generator per call: calls from two threads at once
    // (a coarse level's and the full grid's) would draw from each other's sequence and give
    // orders that change from run to run. One at a time, each order is reproducible.
    static std::mutex one_at_a_time;
    const std::lock_guard<std::mutex> lock(one_at_a_time);
    status = METIS_NodeND(&nodes, xadj.data(), adjncy.data(), nullptr, nullptr, perm.data(),
                          iperm.data());
  }
  if (status != METIS_OK)
    throw ProcessingError(
        fmt::format("diffusion model: METIS could not order the {} x {} grid "
                    "(status {})",
                    w, hgt, status));
  return std::vector<int>(perm.begin(), perm.end());
}

namespace {

// Where each unknown goes in the run's nested-dissection order (the domain's, or one made
// here): position[old] = new.
std::vector<int> positionsOf(const Domain& s, const std::vector<int>* ordering) {
  const std::vector<int> made =
      ordering || !s.ordering.empty() ? std::vector<int>{} : fillReducingOrdering(s);
  const std::vector<int>& order = ordering ? *ordering : s.ordering.empty() ? made : s.ordering;
  if (order.size() != s.labels.size() + (s.reservoir_um > 0 ? 1 : 0))
    throw UsageError("diffusion model: the precomputed ordering does not fit the grid");
  std::vector<int> position(order.size(), -1);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto old = static_cast<std::size_t>(order[k]);
    if (old >= position.size() || position[old] >= 0)
      throw UsageError("diffusion model: the precomputed ordering is not a permutation");
    position[old] = static_cast<int>(k);
  }
  return position;
}

}  // namespace

Image<double> simulateGrid(const Domain& s, const Physics& p, const std::vector<int>& ordering,
                           bdf2::Workspace* workspace) {
  check(s, p);
  const std::vector<int> position = positionsOf(s, &ordering);
  const System sys = assemble(s, p, false, Part::kValue, &position);
  const Vec start = initialState(s, p.f_bg, p.f_s);
  Vec f0(start.size()), last;
  for (std::size_t i = 0; i < position.size(); ++i)
    f0(position[i]) = start(static_cast<Eigen::Index>(i));
  std::vector<Vec> none;
  bdf2::runWithTangents(sys.A, sys.b, {}, f0, s.time, s.steps, last, none, workspace);
  double source = p.f_s;
  if (s.reservoir_um > 0) {
    const Vec node = Vec::Constant(1, last(position.back()));  // sourceFraction reads the last
    source = sourceFraction(s, node, p.f_s);
  }
  Image<double> out(s.labels.width(), s.labels.height());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool region = !s.source_region.empty() && s.source_region[i];
    out[i] = region ? source : last(position[i]);
  }
  return out;
}

std::uint64_t gridRunBytes(const Domain& s, bool with_k, const std::vector<int>* ordering) {
  Physics p;  // any valid physics: only the sparsity patterns matter
  p.kappa = 1, p.k_surface = 1;
  check(s, p);
  const std::vector<int> position = positionsOf(s, ordering);
  const System sys = assemble(s, p, false, Part::kValue, &position);
  // Tangents: the step length's borrows the system; ln κ's (and ln k's) hold their faces only.
  std::uint64_t tangent_bytes = 0;
  const std::size_t tangents = with_k ? 3 : 2;
  for (Part part : {Part::kDlnKappa, Part::kDlnK}) {
    if (part == Part::kDlnK && !with_k) continue;
    System d = assemble(s, p, false, part, &position);
    d.A.prune(0.0);
    tangent_bytes += static_cast<std::uint64_t>(d.A.nonZeros()) * (sizeof(double) + sizeof(int)) +
                     static_cast<std::uint64_t>(d.A.rows() + 1) * sizeof(int) +
                     static_cast<std::uint64_t>(d.b.size()) * sizeof(double);
  }
  const auto n = static_cast<std::uint64_t>(sys.A.rows());
  const std::uint64_t system = static_cast<std::uint64_t>(sys.A.nonZeros()) * 12 + (n + 1) * 4 +
                               n * sizeof(double) * 2;  // A, b and the start
  // Assembling a system (before the run, while the workspace holds the last factorisation): its
  // triplets and their order by column (compressed()).
  const auto nnz = static_cast<std::uint64_t>(sys.A.nonZeros());
  const std::uint64_t assembling = std::max<std::uint64_t>(5 * n, nnz) * (16 + 4) + n * 8;
  // The run, its tangents, the system, and what gridSensitivities keeps beside them: the
  // ordering, and the results in the map's order (made once the run's blocks are freed).
  return bdf2::bytesPerRun(sys.A, tangents, assembling) + tangent_bytes + system + n * sizeof(int) +
         static_cast<std::uint64_t>(1 + tangents) * s.labels.size() * sizeof(double);
}

GridSensitivities gridSensitivities(const Domain& s, const Physics& p, bool with_k,
                                    bdf2::Workspace* workspace, const std::vector<int>* ordering) {
  check(s, p);
  // The whole run in a nested-dissection order: the system is assembled permuted, factors
  // with little fill, and its solves split over two cores.
  const std::vector<int> position = positionsOf(s, ordering);
  Physics unit = p;
  unit.f_s = 1, unit.f_bg = 0;
  const System sys = assemble(s, unit, false, Part::kValue, &position);
  // Tangents: first in the step length (A' = A, b' = b: scaling Δt scales A·Δt, so this is
  // T·∂u/∂T of the discrete scheme itself), then in ln κ and ln k.
  std::vector<System> parts;
  for (Part part : {Part::kDlnKappa, Part::kDlnK}) {
    if (part == Part::kDlnK && !with_k) continue;
    parts.push_back(assemble(s, unit, false, part, &position));
    parts.back().A.prune(0.0);  // only boundary (or source) faces depend on κ (or k)
  }
  std::vector<bdf2::Tangent> tangents{{&sys.A, &sys.b}};
  for (const System& d : parts) tangents.push_back({&d.A, &d.b});
  const Vec start = initialState(s, 0.0, 1.0);
  Vec u0(start.size());
  for (std::size_t i = 0; i < position.size(); ++i)
    u0(position[i]) = start(static_cast<Eigen::Index>(i));
  Vec last;
  std::vector<Vec> sens;
  bdf2::runWithTangents(sys.A, sys.b, tangents, u0, s.time, s.steps, last, sens, workspace);
  // Back to the map's order, each result freed once copied (the reservoir node is dropped; the
  // source fraction is read from it first).
  GridSensitivities out;
  const std::size_t cells = s.labels.size();
  if (s.reservoir_um > 0) {
    const Vec node = Vec::Constant(1, last(position[cells]));  // sourceFraction reads the last
    out.u_source = sourceFraction(s, node, 1.0);
  } else {
    out.u_source = sourceFraction(s, last, 1.0);
  }
  auto unpermute = [&](Vec& v, std::vector<double>& to) {
    to.resize(cells);
    for (std::size_t i = 0; i < cells; ++i) to[i] = v(position[i]);
    v = Vec();
  };
  unpermute(last, out.u);
  unpermute(sens[0], out.rate);
  unpermute(sens[1], out.du_dlnkappa);
  if (with_k) unpermute(sens[2], out.du_dlnk);
  if (!s.source_region.empty()) {  // region cells read the source fraction, whatever its sizes
    for (std::size_t i = 0; i < out.u.size(); ++i) {
      if (s.source_region[i]) out.u[i] = out.u_source, out.rate[i] = 0, out.du_dlnkappa[i] = 0;
    }
  }
  return out;
}

double lastStepMassBalanceError(const Domain& s, const Physics& p) {
  check(s, p);
  if (s.steps < 3) throw UsageError("mass balance check needs at least 3 steps");
  const System sys = assemble(s, p);
  Vec f = initialState(s, p.f_bg, p.f_s), prev;
  // State at steps − 2, then the last two steps by hand so that all three are known.
  Domain head = s;
  head.steps = s.steps - 1;
  head.time = s.time * (s.steps - 1) / s.steps;
  bdf2::integrate(sys.A, sys.b, f, head.time, head.steps, &prev);
  const double dt = s.time / s.steps;
  const auto n = sys.A.rows();
  SpMat I(n, n);
  I.setIdentity();
  Eigen::SimplicialLDLT<SpMat> bdf2(I - (2.0 / 3.0) * dt * sys.A);
  const Vec next = bdf2.solve((4.0 * f - prev) / 3.0 + (2.0 / 3.0) * dt * sys.b);
  const Vec rate = (3 * next - 4 * f + prev) / (2 * dt);
  const auto cells = static_cast<Eigen::Index>(s.labels.size());
  if (s.reservoir_um > 0) {
    // Closed system: the reservoir (weight √C/h on its scaled variable) loses what the cells
    // gain.
    const double gain = rate.head(cells).sum();
    const double loss = -rate(cells) * std::sqrt(s.reservoir_um * sourceLength(s)) / s.h;
    return std::abs(gain - loss) / std::max(std::abs(gain), 1e-300);
  }
  // Interior fluxes cancel in the sum: d(total)/dt = Σ source inflow.
  const double change = rate.sum();
  const double inflow = (sys.source_conductance.array() * (p.f_s - next.array())).sum();
  return std::abs(change - inflow) / std::max(std::abs(inflow), 1e-300);
}

double steadyStateEffectiveD(const Domain& s, const Physics& p) {
  check(s, p);
  if (!s.source_region.empty())
    throw UsageError("the slab effective diffusivity needs an edge source, not a region");
  if (s.reservoir_um > 0)
    throw UsageError("the slab effective diffusivity needs an unlimited source, not a reservoir");
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

namespace {
GrainGraph::Pattern networkPattern(const GrainGraph& g, bool reservoir,
                                   const std::vector<int>& order);
std::vector<int> networkOrder(const GrainGraph& g);
}  // namespace

GrainGraph grainGraph(const Domain& s) {
  if (s.labels.empty() || !(s.h > 0))
    throw UsageError("diffusion model: the grid is empty or the cell size is not > 0");
  const int w = s.labels.width(), hgt = s.labels.height();
  std::int32_t min_label = 0, max_label = 0;
  for (auto v : s.labels.values())
    min_label = std::min(min_label, v), max_label = std::max(max_label, v);
  if (min_label < 0) throw UsageError("diffusion model: grain labels must be >= 0");
  GrainGraph g;
  g.area.assign(static_cast<std::size_t>(max_label) + 1, 0.0);
  g.source_len.assign(g.area.size(), 0.0);
  // A face to a source-region cell is source length of the sample cell's grain; region
  // cells belong to no grain.
  const bool region = !s.source_region.empty();
  if (!region) {  // the areas are counted during the face scan below
    for (int k = 0; k < edgeLength(s); ++k) {
      const auto [x, y] = edgeCell(s, k, 0);
      g.source_len[static_cast<std::size_t>(s.labels(x, y))] += s.h * sourceScale(s, x, y);
    }
  }
  for (int y = 0; y < hgt && region; ++y) {
    for (int x = 0; x < w; ++x) {
      const int a = s.labels(x, y);
      const bool ri = inRegion(s, x, y);
      if (!ri) g.area[static_cast<std::size_t>(a)] += s.h * s.h;
      for (auto [xx, yy] : {std::pair{x + 1, y}, {x, y + 1}}) {
        if (xx >= w || yy >= hgt || ri == inRegion(s, xx, yy)) continue;
        g.source_len[static_cast<std::size_t>(ri ? s.labels(xx, yy) : a)] += s.h;
      }
    }
  }
  // Faces between two grains, visited in scan order as (smaller label, larger label, length).
  // Without a source region, the pixels of each label are counted on the way, as the runs of
  // one label that the faces between horizontal neighbours end.
  std::vector<std::int64_t> count(region ? 0 : g.area.size(), 0);
  auto boundaryFaces = [&](auto&& visit) {
    for (int y = 0; y < hgt; ++y) {
      const std::int32_t* row = s.labels.row(y);
      const std::int32_t* below = y + 1 < hgt ? s.labels.row(y + 1) : nullptr;
      int run = 0;  // where the current run of one label began
      auto pixel = [&](int x) {
        const int a = row[x];
        if (x + 1 < w && row[x + 1] != a) {
          if (!region) {
            count[static_cast<std::size_t>(a)] += x + 1 - run;
            run = x + 1;
          }
          if (!(region && (inRegion(s, x, y) || inRegion(s, x + 1, y)))) {
            visit(std::min(a, row[x + 1]), std::max(a, row[x + 1]),
                  s.h * (s.kappa_scale_x.empty() ? 1.0 : s.kappa_scale_x(x, y)));
          }
        }
        if (below && below[x] != a && !(region && (inRegion(s, x, y) || inRegion(s, x, y + 1)))) {
          visit(std::min(a, below[x]), std::max(a, below[x]),
                s.h * (s.kappa_scale_y.empty() ? 1.0 : s.kappa_scale_y(x, y)));
        }
      };
      // Most pixels lie inside a grain: runs of 8 with no face to their right or below are
      // skipped after one branch-free comparison.
      constexpr int kRun = 8;
      const std::int32_t* next = below ? below : row;  // the last row has no faces below
      int x = 0;
      for (; x + kRun < w; x += kRun) {
        std::int32_t differ = 0;
        for (int k = x; k < x + kRun; ++k) differ |= (row[k] ^ row[k + 1]) | (row[k] ^ next[k]);
        if (differ == 0) continue;
        for (int k = x; k < x + kRun; ++k) pixel(k);
      }
      for (; x < w; ++x) pixel(x);
      if (!region) count[static_cast<std::size_t>(row[w - 1])] += w - run;
    }
  };
  // Consecutive faces between the same two grains are summed as they come; then grouped by the
  // smaller label (a counting sort keeps the scan order), then by the larger one within each
  // group: one pair per neighbouring labels, the lengths summed in scan order.
  struct Face {
    int a, b;
    double len;
  };
  std::vector<Face> scanned;
  std::vector<std::size_t> start(g.area.size() + 1, 0);
  scanned.reserve(static_cast<std::size_t>(w + hgt) * 16);
  boundaryFaces([&](int a, int b, double len) {
    if (!scanned.empty() && scanned.back().a == a && scanned.back().b == b) {
      scanned.back().len += len;  // the next face along the same boundary
      return;
    }
    scanned.push_back({a, b, len});
    ++start[static_cast<std::size_t>(a) + 1];
  });
  for (std::size_t k = 0; k < count.size(); ++k)
    g.area[k] = static_cast<double>(count[k]) * s.h * s.h;
  for (std::size_t k = 1; k < start.size(); ++k) start[k] += start[k - 1];
  std::vector<std::pair<int, double>> faces(scanned.size());
  std::vector<std::size_t> next(start.begin(), start.end() - 1);
  for (const Face& f : scanned) faces[next[static_cast<std::size_t>(f.a)]++] = {f.b, f.len};
  for (std::size_t a = 0; a + 1 < start.size(); ++a) {
    const auto first = faces.begin() + static_cast<std::ptrdiff_t>(start[a]);
    const auto last = faces.begin() + static_cast<std::ptrdiff_t>(start[a + 1]);
    std::stable_sort(first, last, [](const auto& l, const auto& r) { return l.first < r.first; });
    for (auto it = first; it != last; ++it) {
      const std::pair<int, int> pr{static_cast<int>(a), it->first};
      if (it == first || (it - 1)->first != it->first) {
        g.pairs.push_back(pr);
        g.shared.push_back(0);
      }
      g.shared.back() += it->second;
    }
  }
  // An AMD elimination order of the labels for the network's factorisations, and the network
  // matrix's pattern in it.
  g.order = networkOrder(g);
  g.pattern = networkPattern(g, s.reservoir_um > 0, g.order);
  return g;
}

std::vector<double> simulateNetwork(const Domain& s, const Physics& p) {
  return simulateNetwork(grainGraph(s), s, p);
}

namespace {

// The network matrix's pattern with label k at position order⁻¹[k] (an empty order: the
// labels' own numbering) and, with `reservoir`, the reservoir last: every pair of neighbours and
// every grain at the source with the reservoir.
GrainGraph::Pattern networkPattern(const GrainGraph& g, bool reservoir,
                                   const std::vector<int>& order) {
  const int grains = static_cast<int>(g.area.size());
  const int n = grains + (reservoir ? 1 : 0);
  std::vector<int> position(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    const auto u = static_cast<std::size_t>(k);
    if (k < grains && order.size() == g.area.size())
      position[static_cast<std::size_t>(order[u])] = k;
    else
      position[u] = k;
  }
  GrainGraph::Pattern pt;
  pt.nodes = n;
  pt.diagonal.assign(static_cast<std::size_t>(n), -1);
  pt.pair.assign(2 * g.pairs.size(), -1);
  pt.reservoir.assign(reservoir ? 2 * g.area.size() : 0, -1);
  // Entries as (column, row, where to note the entry's index), grouped by column.
  struct Entry {
    int col, row;
    int* slot;
  };
  std::vector<Entry> entries;
  entries.reserve(pt.pair.size() + pt.reservoir.size() + static_cast<std::size_t>(n));
  auto add = [&](int a, int b, int* slot) {
    entries.push_back(
        {position[static_cast<std::size_t>(b)], position[static_cast<std::size_t>(a)], slot});
  };
  for (std::size_t e = 0; e < g.pairs.size(); ++e) {
    add(g.pairs[e].first, g.pairs[e].second, &pt.pair[2 * e]);
    add(g.pairs[e].second, g.pairs[e].first, &pt.pair[2 * e + 1]);
  }
  for (int k = 0; k < n; ++k) add(k, k, &pt.diagonal[static_cast<std::size_t>(k)]);
  for (int k = 0; k < grains && reservoir; ++k) {
    const auto u = static_cast<std::size_t>(k);
    if (!(g.area[u] > 0 && g.source_len[u] > 0)) continue;
    add(k, grains, &pt.reservoir[2 * u]);
    add(grains, k, &pt.reservoir[2 * u + 1]);
  }
  // Columns by a counting sort, rows within a column (a few neighbours) by insertion.
  pt.outer.assign(static_cast<std::size_t>(n) + 1, 0);
  for (const Entry& e : entries) ++pt.outer[static_cast<std::size_t>(e.col) + 1];
  for (std::size_t k = 1; k < pt.outer.size(); ++k) pt.outer[k] += pt.outer[k - 1];
  std::vector<Entry> sorted(entries.size());
  std::vector<int> next(pt.outer.begin(), pt.outer.end() - 1);
  for (const Entry& e : entries)
    sorted[static_cast<std::size_t>(next[static_cast<std::size_t>(e.col)]++)] = e;
  pt.inner.resize(entries.size());
  for (int c = 0; c < n; ++c) {
    const auto first = sorted.begin() + pt.outer[static_cast<std::size_t>(c)];
    const auto last = sorted.begin() + pt.outer[static_cast<std::size_t>(c) + 1];
    for (auto it = first + 1; it < last; ++it) {
      for (auto j = it; j > first && (j - 1)->row > j->row; --j) std::iter_swap(j - 1, j);
    }
  }
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    pt.inner[i] = sorted[i].row;
    *sorted[i].slot = static_cast<int>(i);
  }
  return pt;
}

// An AMD elimination order of the labels (without a reservoir) for the network's factorisations.
std::vector<int> networkOrder(const GrainGraph& g) {
  const GrainGraph::Pattern pt = networkPattern(g, false, {});
  const std::vector<double> ones(pt.inner.size(), 1.0);
  const auto n = static_cast<Eigen::Index>(pt.nodes);
  const SpMat pattern = Eigen::Map<const SpMat>(n, n, static_cast<Eigen::Index>(pt.inner.size()),
                                                pt.outer.data(), pt.inner.data(), ones.data());
  Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> pinv;
  Eigen::AMDOrdering<int> amd;
  amd(pattern, pinv);
  return {pinv.indices().data(), pinv.indices().data() + n};
}

// The network system area·df/dt = K f + b (K symmetric), or its derivative with respect to
// ln D_b, ln κ or ln k (`part`: 0 value, 1 D_b, 2 κ, 3 k), in v = √area·f: S K S and S b with
// S = diag(`scale`) = diag(1/√area), on the pattern (b in its order). With a finite reservoir
// (`reservoir` = its capacity C > 0, µm², the pattern's last node) each grain at the source is
// coupled to it through G_i. The derivatives keep only their non-zero entries.
std::pair<SpMat, Vec> networkSystem(const GrainGraph& graph, const GrainGraph::Pattern& pt,
                                    const std::vector<int>& position, const Vec& scale,
                                    const Physics& p, int part, double reservoir) {
  const int grains = static_cast<int>(graph.area.size());
  const int n = pt.nodes;
  SpMat m(n, n);
  m.resizeNonZeros(static_cast<Eigen::Index>(pt.inner.size()));
  std::copy(pt.outer.begin(), pt.outer.end(), m.outerIndexPtr());
  std::copy(pt.inner.begin(), pt.inner.end(), m.innerIndexPtr());
  double* v = m.valuePtr();
  std::fill(v, v + pt.inner.size(), 0.0);
  std::vector<double> diag(static_cast<std::size_t>(n), 0.0);
  Vec b = Vec::Zero(n);
  if (part == 0 || part == 2) {  // dc/dlnκ = c for c = κ L
    for (std::size_t e = 0; e < graph.pairs.size(); ++e) {
      const auto [i, j] = graph.pairs[e];
      const double c = p.kappa * graph.shared[e];
      v[pt.pair[2 * e]] = v[pt.pair[2 * e + 1]] = c * scale(i) * scale(j);
      diag[static_cast<std::size_t>(i)] -= c;
      diag[static_cast<std::size_t>(j)] -= c;
    }
  }
  for (int i = 0; i < grains; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (graph.area[k] <= 0) {  // a label with no pixels: a decoupled node, never read
      if (part == 0) diag[k] = -1;
      continue;
    }
    if (graph.source_len[k] > 0 && part != 2) {
      // Through the surface (1/k) and half the grain's depth of bulk: G = 1/(1/k + depth/D).
      const double depth = 0.5 * graph.area[k] / graph.source_len[k];
      const double r = (p.k_surface > 0 ? 1.0 / p.k_surface : 0.0) + depth / p.D_b;
      const double g = part == 0   ? 1.0 / r
                       : part == 1 ? depth / p.D_b / (r * r)
                                   : (p.k_surface > 0 ? 1.0 / p.k_surface / (r * r) : 0.0);
      const double G = g * graph.source_len[k];
      diag[k] -= G;
      if (reservoir > 0) {
        v[pt.reservoir[2 * k]] = v[pt.reservoir[2 * k + 1]] = G * scale(i) * scale(grains);
        diag[static_cast<std::size_t>(grains)] -= G;
      } else {
        b(position[k]) += G * p.f_s * scale(i);
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    v[pt.diagonal[k]] = diag[k] * scale(i) * scale(i);
  }
  if (part == 1 || part == 3) m.prune([](Eigen::Index, Eigen::Index, double x) { return x != 0; });
  return {std::move(m), std::move(b)};
}

}  // namespace

std::vector<double> simulateNetwork(const GrainGraph& graph, const Domain& s, const Physics& p) {
  return networkSensitivities(graph, s, p, false).u;
}

NetworkSensitivities networkSensitivities(const GrainGraph& graph, const Domain& s,
                                          const Physics& p, bool derivatives,
                                          bdf2::Workspace* workspace) {
  check(s, p);
  // area_i df_i/dt = Σ_j κ L_ij (f_j − f_i) + G_i (f_s − f_i): with the areas on the left the
  // system is symmetric positive definite, so each step is an LDLᵀ solve of a small matrix.
  // The derivatives follow the same BDF2 scheme (tangent-linear) with the same factorisations.
  const int grains = static_cast<int>(graph.area.size());
  double source_len = 0;
  for (double l : graph.source_len) source_len += l;
  const double capacity = s.reservoir_um * source_len;  // 0: unlimited source
  // In v = √area·f the system is dv/dt = S K S v + S b with S = diag(1/√area), symmetric like
  // the grid's, and runs the same way (BDF2 with the tangent-linear sensitivities in one solve
  // per step), in the graph's elimination order (the reservoir last).
  const auto n = static_cast<Eigen::Index>(grains + (capacity > 0 ? 1 : 0));
  Vec scale(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double a = i < grains ? graph.area[static_cast<std::size_t>(i)] : capacity;
    scale(i) = 1 / std::sqrt(a > 0 ? a : 1);
  }
  // The graph's order and pattern, unless it was built by hand (AMD here) or for another
  // reservoir setting.
  const std::vector<int> order =
      graph.order.size() == graph.area.size() ? graph.order : networkOrder(graph);
  const bool made = graph.order.size() == graph.area.size() && graph.pattern.nodes == n;
  const GrainGraph::Pattern pattern =
      made ? GrainGraph::Pattern{} : networkPattern(graph, capacity > 0, order);
  const GrainGraph::Pattern& pt = made ? graph.pattern : pattern;
  std::vector<int> position(static_cast<std::size_t>(n));
  for (int k = 0; k < grains; ++k)
    position[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = k;
  if (capacity > 0) position.back() = grains;
  auto symmetric = [&](int part) {
    return networkSystem(graph, pt, position, scale, p, part, capacity);
  };
  const auto [A, b] = symmetric(0);
  std::vector<std::pair<SpMat, Vec>> parts;
  if (derivatives) {
    // ∂/∂ln k is identically zero for a fixed surface (k = 0): not integrated.
    for (int k = 1; k <= (p.k_surface > 0 ? 3 : 2); ++k) parts.push_back(symmetric(k));
  }
  auto permute = [&](const Vec& x) {
    Vec out(x.size());
    for (Eigen::Index i = 0; i < n; ++i) out(position[static_cast<std::size_t>(i)]) = x(i);
    return out;
  };
  auto back = [&](const Vec& x) {  // to graph order, f = S v
    Vec out(x.size());
    for (Eigen::Index i = 0; i < n; ++i)
      out(i) = x(position[static_cast<std::size_t>(i)]) * scale(i);
    return out;
  };
  Vec f = Vec::Constant(n, p.f_bg);
  if (capacity > 0) f(grains) = p.f_s;
  Vec v;
  std::vector<Vec> sens;
  std::vector<bdf2::Tangent> tangents;
  for (const auto& [Ad, bd] : parts) tangents.push_back({&Ad, &bd});
  bdf2::runWithTangents(A, b, tangents, permute(f.cwiseQuotient(scale)), s.time, s.steps, v, sens,
                        workspace);
  f = back(v);
  for (Vec& x : sens) x = back(x);
  NetworkSensitivities out;
  out.u.assign(f.data(), f.data() + n);
  out.source = capacity > 0 ? f(grains) : p.f_s;
  if (derivatives) {
    out.du_dlnD.assign(sens[0].data(), sens[0].data() + n);
    out.du_dlnkappa.assign(sens[1].data(), sens[1].data() + n);
    if (parts.size() > 2)
      out.du_dlnk.assign(sens[2].data(), sens[2].data() + n);
    else
      out.du_dlnk.assign(static_cast<std::size_t>(n), 0.0);
  }
  return out;
}

double correctStaircase(Domain& s, int radius) {
  if (s.labels.empty()) throw UsageError("staircase correction: the grid is empty");
  if (radius < 1) throw UsageError("staircase correction: the radius must be >= 1 cell");
  const int w = s.labels.width(), h = s.labels.height();
  s.kappa_scale_x = Image<double>(w, h, 1.0);
  s.kappa_scale_y = Image<double>(w, h, 1.0);
  double sum = 0;
  std::size_t faces = 0;
  // Face between (x, y) and (x + dx, y + dy); its midpoint is at (x + dx/2, y + dy/2). The
  // boundary's local direction is the principal axis of the midpoints of the faces between the
  // same two grains within `radius` cells (a straight staircase's midpoints scatter about the
  // true line); the normal is perpendicular to it.
  auto factor = [&](int x, int y, int dx, int dy) {
    const int a = s.labels(x, y), b = s.labels(x + dx, y + dy);
    const double mx = x + 0.5 * dx, my = y + 0.5 * dy;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    int count = 0;
    auto add = [&](double px, double py) {
      if (std::hypot(px - mx, py - my) > radius) return;
      sx += px, sy += py, sxx += px * px, syy += py * py, sxy += px * py, ++count;
    };
    auto pair = [&](int i, int j, int ii, int jj) {
      const int l = s.labels(i, j), m = s.labels(ii, jj);
      return (l == a && m == b) || (l == b && m == a);
    };
    for (int j = std::max(0, y - radius); j <= std::min(h - 1, y + radius); ++j) {
      for (int i = std::max(0, x - radius); i <= std::min(w - 1, x + radius); ++i) {
        if (i + 1 < w && pair(i, j, i + 1, j)) add(i + 0.5, j);
        if (j + 1 < h && pair(i, j, i, j + 1)) add(i, j + 0.5);
      }
    }
    if (count < 3) return 1.0;
    const double cxx = sxx / count - (sx / count) * (sx / count),
                 cyy = syy / count - (sy / count) * (sy / count),
                 cxy = sxy / count - (sx / count) * (sy / count);
    // Tangent angle of the principal axis; the normal is at +90°. The face passes the normal
    // flux's component along its own normal: κ|n·e_face|. Along a monotone staircase that sums
    // to κ × the true length (as a uniform 1/(|n_x| + |n_y|) would), and faces of a bump that a
    // noisy segmentation adds across the boundary's direction pass almost nothing.
    const double t = 0.5 * std::atan2(2 * cxy, cxx - cyy);
    const double nx = -std::sin(t), ny = std::cos(t);
    return dx != 0 ? std::abs(nx) : std::abs(ny);
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (x + 1 < w && s.labels(x, y) != s.labels(x + 1, y)) {
        s.kappa_scale_x(x, y) = factor(x, y, 1, 0);
        sum += s.kappa_scale_x(x, y), ++faces;
      }
      if (y + 1 < h && s.labels(x, y) != s.labels(x, y + 1)) {
        s.kappa_scale_y(x, y) = factor(x, y, 0, 1);
        sum += s.kappa_scale_y(x, y), ++faces;
      }
    }
  }
  if (s.wedge_contacts) {
    s.source_scale = sourceContactFactors(s);
  } else {
    s.source_scale.clear();
  }
  return faces ? sum / static_cast<double>(faces) : 1.0;
}

std::vector<double> sourceContactFactors(const Domain& s, const Image<std::int32_t>* drawn) {
  if (s.labels.empty()) throw UsageError("source-contact correction: the grid is empty");
  if (drawn && !drawn->sameSize(s.labels))
    throw UsageError("source-contact correction: the drawn labels and the grid differ in size");
  if (!s.source_region.empty()) return {};
  const Image<std::int32_t>& raw = drawn ? *drawn : s.labels;
  const int n = edgeLength(s);
  const int deep =
      s.source == Edge::kLeft || s.source == Edge::kRight ? s.labels.width() : s.labels.height();
  constexpr int kDepths = 4;  // widths measured at depths 0..3 (at least 3 needed)
  auto labelIn = [&](const Image<std::int32_t>& l, int k, int depth) {
    const auto [x, y] = edgeCell(s, k, depth);
    return l(x, y);
  };
  // The wedges of the drawn labels: grain, first and last edge cell, width at the edge face.
  struct Wedge {
    std::int32_t g;
    int k0, k1;
    double at_edge;
  };
  std::vector<Wedge> wedges;
  for (int k0 = 0; k0 < n;) {
    const auto g = labelIn(raw, k0, 0);
    int k1 = k0;
    while (k1 + 1 < n && labelIn(raw, k1 + 1, 0) == g) ++k1;
    const int run = k1 - k0 + 1;
    // Short contacts between two other grains only (a run at a corner has one side unknown).
    if (run <= 2 && k0 > 0 && k1 < n - 1) {
      std::vector<double> width{static_cast<double>(run)};
      int a = k0, b = k1;
      for (int depth = 1; depth < std::min(kDepths, deep); ++depth) {
        int hit = -1;  // a cell of the grain next to the run one cell shallower
        for (int k = std::max(0, a - 1); k <= std::min(n - 1, b + 1) && hit < 0; ++k)
          if (labelIn(raw, k, depth) == g) hit = k;
        if (hit < 0) break;
        int lo = hit, hi = hit;
        while (lo > 0 && labelIn(raw, lo - 1, depth) == g) --lo;
        while (hi + 1 < n && labelIn(raw, hi + 1, depth) == g) ++hi;
        if (lo == 0 || hi == n - 1) break;  // reaches a corner: not a wedge between two grains
        a = lo, b = hi;
        width.push_back(hi - lo + 1);
      }
      if (width.size() >= 3) {
        // Least-squares slope of width against depth.
        const double m_count = static_cast<double>(width.size());
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (std::size_t d = 0; d < width.size(); ++d) {
          const double x = static_cast<double>(d);
          sx += x, sy += width[d], sxx += x * x, sxy += x * width[d];
        }
        const double slope = (m_count * sxy - sx * sy) / (m_count * sxx - sx * sx);
        // Widening inward over the four depths: a wedge, not a strip with parallel sides. Its
        // width at the edge face (half a cell before the first cells' centres) from the first
        // step, the wedge's local opening at its tip (a thin neighbour bending further in
        // would skew a line through all four).
        if (slope > 0.5) wedges.push_back({g, k0, k1, width[0] - 0.5 * (width[1] - width[0])});
      }
    }
    k0 = k1 + 1;
  }
  // Each run of the model's labels along the edge that a wedge of the same grain overlaps
  // (within two cells: smoothing may have moved or widened its tip) gets the wedge's contact.
  std::vector<double> scale(static_cast<std::size_t>(n), 1.0);
  for (int k0 = 0; k0 < n;) {
    const auto g = labelIn(s.labels, k0, 0);
    int k1 = k0;
    while (k1 + 1 < n && labelIn(s.labels, k1 + 1, 0) == g) ++k1;
    for (const Wedge& w : wedges) {
      if (w.g != g || w.k1 < k0 - 2 || w.k0 > k1 + 2) continue;
      const double factor = std::clamp(w.at_edge / (k1 - k0 + 1), 0.0, 1.0);
      for (int k = k0; k <= k1; ++k) scale[static_cast<std::size_t>(k)] = factor;
    }
    k0 = k1 + 1;
  }
  return scale;
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
