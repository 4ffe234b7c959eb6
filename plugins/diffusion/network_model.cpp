// The grain network: grains as well-mixed nodes coupled through their shared boundaries (valid
// where grains mix internally, Bi ≪ 1), its graph, ordering, forward runs and derivatives.
#include "diffusion/model.hpp"

#include <Eigen/OrderingMethods>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <map>

#include "diffusion/bdf2.hpp"
#include "diffusion/domain.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion {
namespace {
using SpMat = Eigen::SparseMatrix<double>;
using Vec = Eigen::VectorXd;
}  // namespace

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
  checkDomain(s, p);
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

}  // namespace ionmap::diffusion
