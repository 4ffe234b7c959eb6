// The microstructure model on the label grid: assembly of df/dt = A f + b (faces, boundaries
// with their staircase factors, edge or region sources, a finite reservoir), the nested-
// dissection ordering, forward runs and runs with exact derivatives, and checks of the scheme.
#include "diffusion/model.hpp"

#include <metis.h>

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "diffusion/bdf2.hpp"
#include "diffusion/domain.hpp"
#include "diffusion/fit_problem.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {
namespace {

using SpMat = Eigen::SparseMatrix<double>;
using Vec = Eigen::VectorXd;

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
  checkDomain(s, p);
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
  checkDomain(s, p);
  return assemble(s, p).A;
}

std::vector<int> fillReducingOrdering(const Domain& s) {
  Physics p;  // any valid physics: only the sparsity pattern matters
  p.kappa = 1;
  checkDomain(s, p);
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
  checkDomain(s, p);
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
  checkDomain(s, p);
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
  checkDomain(s, p);
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
  checkDomain(s, p);
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
  checkDomain(s, p);
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

}  // namespace ionmap::diffusion
