// Forward models of tracer (6Li) diffusion through a polycrystal (PHYSICS.md §1): finite
// volumes on a grid whose cells carry grain labels, grain boundaries as interface permeances
// κ = D_gb/δ, a source edge held at f_s (Dirichlet) or exchanging with it (Robin, coefficient
// k), zero flux elsewhere; and the grain-network ODE for Bi = κd/D_b ≪ 1.
//
// Units inside: lengths in µm, time in s, D in µm²/s, κ and k in µm/s
// (1 cm²/s = 1e8 µm²/s, 1 cm/s = 1e4 µm/s).
//
// Time integration: BDF2 (second order, L-stable) with constant steps and a θ = ⅔ start step
// on the same matrix I − ⅔Δt·A (bdf2.hpp), which is symmetric positive definite and factored
// once per parameter set; every step is then two triangular solves.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap::diffusion {

namespace bdf2 {
class Workspace;  // bdf2.hpp: factorisation state kept between a fit's runs
}

enum class Edge { kLeft, kRight, kTop, kBottom };

struct Physics {
  double D_b = 1.0;  // µm²/s, bulk diffusivity
  double kappa =
      0.0;  // µm/s, grain-boundary permeance; 0 or ∞ handled (≤ 0 = no boundary resistance)
  double k_surface = 0;  // µm/s; 0 = Dirichlet source
  double f_s = 1.0, f_bg = 0.0;
};

struct Domain {
  Image<std::int32_t> labels;  // grain of each cell (cells of one label exchange through D_b)
  double h = 1.0;              // cell size, µm
  Edge source = Edge::kLeft;
  // When not empty (same size as labels): the cells with a non-zero value are the source
  // instead of an edge — held at f_s, every face between a source cell and the sample is a
  // source face (Dirichlet or Robin as for an edge). E.g. a contact area or a pore.
  Image<std::uint8_t> source_region;
  // Finite source reservoir: 0 = unlimited (f_s constant). Otherwise a well-mixed reservoir
  // holding as much Li as a layer of the sample `reservoir_um` thick along the source boundary
  // (capacity = reservoir_um × source face length, µm² per µm of depth); its fraction starts at
  // f_s and falls as 6Li enters the sample (total Li·fraction is conserved).
  double reservoir_um = 0;
  // Staircase correction (see correctStaircase): per-face factors on κ for the faces to the
  // right (x) and below (y) of each cell; empty = 1 everywhere.
  Image<double> kappa_scale_x, kappa_scale_y;
  // Source-contact correction (see correctStaircase): per cell along the source edge (from the
  // top or left end), a factor on that cell's source face; empty = 1 everywhere.
  std::vector<double> source_scale;
  // Whether correctStaircase also sets source_scale (sourceContactFactors): for exact labels.
  bool wedge_contacts = false;
  // Optional precomputed elimination order of the unknowns (fillReducingOrdering) for repeated
  // runs on one domain (the fit); empty = gridSensitivities makes one per call (simulateGrid
  // always orders by AMD).
  std::vector<int> ordering;
  double time = 1.0;  // exchange time, s
  int steps = 100;    // BDF2 steps
};

// A grain boundary inclined at θ to the grid is drawn as a staircase whose faces are longer
// than the boundary by |cos θ| + |sin θ| (up to √2 at 45°), so every face between two grains
// would pass too much tracer. This estimates the boundary's local normal n at each such face
// (the principal axis of the midpoints of the faces between the same two grains within
// `radius` cells) and scales the face's κ by |n·e| (e: the face's own normal, x or y): the
// component of the boundary's normal flux that crosses the face. A straight or smoothly curved
// boundary then passes κ·(its true length), and the extra faces of pixel-scale bumps (a noisy
// segmentation) pass little. Then each grain pair that runs straight between two ends gets
// its chord's length (chordLengths; their number in `chord_pairs`). Returns the mean factor
// over boundary faces before that (1 = no boundary). With `wedge_contacts` and an edge source
// it also sets `source_scale` (sourceContactFactors).
double correctStaircase(Domain& domain, int radius = 3, int* chord_pairs = nullptr);

// Part of correctStaircase: a boundary drawn as a staircase carries its true length only on
// average — each one's face count varies by about a cell with where its ends fall on the grid
// (twice as fine as the SIMS pixels, ±5 % per boundary of a 3 µm grain). Where a grain pair's
// boundary has two ends — triple junctions, located where the lines of the boundaries that
// meet there cross, or the grid's edge — and runs straight between them (every face within 1.5
// cells of the chord), its faces' κ factors are scaled so that together they carry the chord's
// length. Curved or branched boundaries keep their faces' sum. Returns how many pairs were
// scaled (needs kappa_scale_x/y set).
int chordLengths(Domain& domain);

// Where a grain reaches the source edge as a wedge between two others (a triple junction drawn
// on the grid), the one or two edge cells it holds say little about how much of the edge it
// really touches: a junction just inside the sample still puts the wedge's tip on the first
// cells, and in a grain that fills within the exchange time any contact at all makes it the
// source's own. For each such contact (one or two cells, other grains on both sides along the
// edge) this measures the wedge's width over the first four cells of depth; where it widens
// inward (least-squares slope > ½ cell per cell), it extrapolates the first step to the edge
// face and returns per edge cell the factor contact there / drawn contact (0 where the junction
// lies inside the sample, 1 elsewhere). Empty for a region source. `drawn` (optional, the
// grid's size): the labels as segmented, when the domain's were smoothed afterwards — a
// majority filter widens a wedge's acute tip at the edge; the wedges are then measured on
// `drawn` and each is given to the domain's run of the same grain within two cells.
std::vector<double> sourceContactFactors(const Domain& domain,
                                         const Image<std::int32_t>* drawn = nullptr);

// f at the end of the exchange, one value per cell. Throws UsageError for non-positive
// sizes, times, D or step counts.
Image<double> simulateGrid(const Domain& domain, const Physics& physics,
                           double* source_final = nullptr);  // reservoir fraction at the end
// The same in a nested-dissection `ordering` (a fit's) on a workspace kept between runs: no
// factorisation beyond the workspace's own (bdf2.hpp). Equal to simulateGrid to round-off.
Image<double> simulateGrid(const Domain& domain, const Physics& physics,
                           const std::vector<int>& ordering, bdf2::Workspace* workspace);

// Discrete mass balance of the last step, for verification: |BDF2 change of total tracer −
// source inflow| relative to the inflow.
double lastStepMassBalanceError(const Domain& domain, const Physics& physics);

// Steady state between the source edge (f_s) and the opposite edge (f_bg, Dirichlet): the
// effective diffusivity D_eff = J L / Δf of the slab.
double steadyStateEffectiveD(const Domain& domain, const Physics& physics);

// Grain network: one well-mixed node per grain; grains i, j exchange through κ·L_ij, the source
// edge couples through its length with 1/(1/k + d/(2D_b)) (d: the grain's mean depth from the
// edge... here its equivalent radius). Returns the mean f of each label (index = label).
std::vector<double> simulateNetwork(const Domain& domain, const Physics& physics);

// The grain adjacency graph of a label map, built once for repeated network runs (the fit).
struct GrainGraph {
  std::vector<double> area;                // per label, µm² (0 for labels not present)
  std::vector<double> source_len;          // per label, length along the source edge, µm
  std::vector<std::pair<int, int>> pairs;  // neighbouring labels (a < b)
  std::vector<double> shared;              // their shared boundary length, µm
  std::vector<int> order;  // an elimination order of the labels (AMD; empty = made per run)
  // The network matrix's sparsity pattern in that order, made once for the runs of a fit (for
  // the domain's reservoir setting; nodes = 0: made per run).
  struct Pattern {
    int nodes = 0;                  // the labels, + 1 (last) for a finite reservoir
    std::vector<int> outer, inner;  // compressed columns of the full symmetric matrix
    std::vector<int> diagonal;      // per node: its diagonal entry
    std::vector<int> pair;          // per pair: its entries (a, b) and (b, a)
    std::vector<int> reservoir;     // per label: its entries with the reservoir (−1: none)
  } pattern;
};
GrainGraph grainGraph(const Domain& domain);
std::vector<double> simulateNetwork(const GrainGraph& graph, const Domain& domain,
                                    const Physics& physics);
// The network's grain values with their exact derivatives (tangent-linear, as for the grid) with
// respect to ln D_b, ln κ and ln k (empty unless `derivatives`).
struct NetworkSensitivities {
  std::vector<double> u, du_dlnD, du_dlnkappa, du_dlnk;  // per label (+ the reservoir node)
  double source = 0;  // the source fraction at the end (f_s unless the reservoir is finite)
};
NetworkSensitivities networkSensitivities(const GrainGraph& graph, const Domain& domain,
                                          const Physics& physics, bool derivatives,
                                          bdf2::Workspace* workspace = nullptr);

// The fit's view of the grid model. f is linear in f_s and f_bg, so the model is run once for
// the normalised response u = (f − f_bg)/(f_s − f_bg) per cell, with exact derivatives of the
// discrete scheme (tangent-linear BDF2 reusing the run's factorisation): ∂u/∂ln κ (and
// ∂u/∂ln k with `with_k`), and rate = T·∂u/∂T of the discrete scheme at a fixed number of
// steps (its tangent in the step length). At fixed ratios κh/D_b and kh/D_b the discrete
// model depends on D_b only through D_b·T, so ∂u/∂ln D_b = rate − ∂u/∂ln κ − ∂u/∂ln k exactly.
// (rate is not the ODE's T·(A u + b) at the end, which differs from it by O(Δt²): 0.5 % at
// 30 steps, enough for ceres::GradientChecker to see.)
// A nested-dissection (METIS) elimination order of the grid model's unknowns: less fill and
// faster factorisation than AMD on 2D grids, computed once per domain (the pattern does not
// depend on the parameters).
std::vector<int> fillReducingOrdering(const Domain& domain);

struct GridSensitivities {
  std::vector<double> u, rate, du_dlnkappa, du_dlnk;
  double u_source = 1;  // normalised source fraction at the end (< 1 with a finite reservoir)
};
// `workspace` (optional): kept between runs on one domain (bdf2.hpp). `ordering` (optional):
// the elimination order to use instead of the domain's own (a fit's, made once).
GridSensitivities gridSensitivities(const Domain& domain, const Physics& physics, bool with_k,
                                    bdf2::Workspace* workspace = nullptr,
                                    const std::vector<int>* ordering = nullptr);

// Bytes that one gridSensitivities run on this domain holds while it runs (bdf2::bytesPerRun
// of its system in the domain's ordering, or `ordering`, plus the maps it returns).
std::uint64_t gridRunBytes(const Domain& domain, bool with_k,
                           const std::vector<int>* ordering = nullptr);

// Scaled complementary error function erfcx(x) = exp(x²)·erfc(x), accurate for all x
// (asymptotic series beyond x = 25, where erfc underflows).
double erfcx(double x);

// Semi-infinite reference solutions in f' = (f − f_bg)/(f_s − f_bg) (PHYSICS.md §1):
// fixed surface erfc(ξ), surface exchange erfc(ξ) − exp(−ξ²)·erfcx(ξ + h·sqrt(D t)), h = k/D,
// ξ = x / (2 sqrt(D t)).
double analyticDirichlet(double x, double D, double t);
double analyticSurfaceExchange(double x, double D, double k, double t);

}  // namespace ionmap::diffusion
