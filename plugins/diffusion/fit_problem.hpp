// The diffusion fit's least-squares problem, apart from how it is scheduled (fit.cpp): which
// parameters are fitted (Layout), the data it compares (Data), one forward run with its exact
// derivatives (Model, Response), and the Ceres cost function over them (MapCost). Exposed for
// fit.cpp and for tests (its Jacobian is checked against finite differences with
// ceres::GradientChecker); not part of the plugin's interface.
#pragma once

#include <ceres/ceres.h>

#include <Eigen/Dense>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diffusion/bdf2.hpp"
#include "diffusion/fit.hpp"

namespace ionmap::diffusion::detail {

// The grid model's system matrix A (df/dt = A f + b) at κ = 1 in the map's order: the pattern
// that fillReducingOrdering orders (model.cpp; for tests).
bdf2::SpMat gridMatrix(const Domain& domain);
// The n × n column-major matrix of triplets, duplicates summed in the order given: Eigen's
// setFromTriplets value for value, without its row-major copy (model.cpp; for tests).
bdf2::SpMat compressed(Eigen::Index n, const std::vector<Eigen::Triplet<double>>& triplets);

// Mean equivalent diameter sqrt(4A/π) over the labels with an area (µm², per label).
double meanEquivalentDiameter(const std::vector<double>& area);

// Which parameters are fitted, and the map from the parameter vector to Physics: log10 D_b,
// log10 κ, log10 k, then f_s and f_bg, each present or not (index −1).
struct Layout {
  std::vector<std::string> names;
  int iD = -1, iK = -1, ik = -1, ifs = -1, ifb = -1;
  Physics fixed;
  Physics toPhysics(const double* x) const;
  int size() const { return static_cast<int>(names.size()); }
};

// The fitted parameters of the options (fit_surface_exchange, fit_f_s, fit_f_bg), starting
// values and the held ones from `initial`.
Layout layoutOf(const FitOptions& o);

// What the fit compares: one residual per pixel (grid model) or per grain (network model,
// whose f is constant over a grain: Σ_pixels w²(m − f)² = Σ_grains W(m − f̄)² + the scatter
// within grains, with W = Σ w² and f̄ the w²-weighted mean, so both have the same minimum).
struct Data {
  std::vector<std::size_t> cell;  // model cell (pixel index or label) of each residual
  std::vector<double> f, w;       // measured value, weight
  double constant_cost = 0;       // ½ Σ w²(f − f̄)² within grains (network)
  std::size_t pixels = 0;         // usable pixels
};

// The usable pixels (mask set, finite f, σ > 0, outside the source region) in one pass: as
// residuals for the grid model, or summed per grain for the network.
Data usableData(const Image<double>& f, const Image<double>& sigma, const Image<std::uint8_t>& mask,
                const Domain& domain, ModelKind kind);

// The normalised response u (f = f_bg + (f_s − f_bg)·u) and its derivatives with respect to the
// natural logs of D_b, κ and k, per model cell.
struct Response {
  std::vector<double> x;  // fit-space parameters it was computed for
  std::vector<double> u, dD, dK, dk;
  double u_source = 1;  // normalised source fraction at the end
};

class Model {
 public:
  // The grid's elimination order (METIS) and the network's graph depend only on the domain:
  // computed once for all the runs of a fit (the order is the domain's own when it has one,
  // Domain::ordering). `o` must outlive the model.
  explicit Model(const FitOptions& o);
  // The same model with other options on the same domain (e.g. fewer time steps).
  Model(const FitOptions& o, const Model& same_domain);
  // Bytes one run of the grid model holds (gridRunBytes).
  std::uint64_t runBytes(bool with_k) const {
    return gridRunBytes(o_.domain, with_k, ordering_.get());
  }
  // The grid's elimination order (empty for the network): for a fit on other labels or another
  // blur of the same grid (Domain::ordering), which the order does not depend on.
  const std::vector<int>& ordering() const {
    static const std::vector<int> none;
    return ordering_ ? *ordering_ : none;
  }
  // meanGrainSize() from the grain graph's areas (network model).
  double meanGrainUm() const { return meanEquivalentDiameter(graph_.area); }
  // u and all its derivatives from one run: the exact derivatives of the discrete scheme
  // (tangent-linear BDF2 on the run's factorisation). Grid: D_b needs no sensitivity of its
  // own: u depends on D_b only through D_b·T and the ratios κh/D_b, kh/D_b, so
  // ∂u/∂lnD = T·du/dt − ∂u/∂lnκ − ∂u/∂lnk.
  void compute(const Physics& p, Response& r, bdf2::Workspace* workspace) const;
  // f on the model's own grid (grid model: one run without derivatives on the workspace).
  Image<double> simulate(const Physics& p, bdf2::Workspace* workspace) const;

 private:
  const FitOptions& o_;  // its domain is the model's (not copied: a 512² domain is ~5 MB)
  std::shared_ptr<const std::vector<int>> ordering_;  // the grid's, shared by models of a domain
  GrainGraph graph_;
};

// Residuals (model − measured)·w per Data entry over the Layout's parameters, with the
// Jacobian of the discrete model. Keeps the last two runs, so that Ceres' requests at a point
// it has seen cost no model run.
class MapCost final : public ceres::CostFunction {
 public:
  // `pool`: the workspaces shared by the fit's problems.
  MapCost(const Model& m, const Layout& l, const Data& d, bdf2::WorkspacePool& pool);
  // Residuals and the Jacobian come from one Response. It is computed whole even when Ceres only
  // asks for residuals (a trial step): the derivative runs use otherwise idle cores, and when the
  // step is accepted Ceres asks for the Jacobian at the same point, which is then cached.
  bool Evaluate(double const* const* params, double* residuals, double** jacobians) const override;
  int evaluations() const { return evaluations_; }
  const Response& response() const { return cache_; }
  // Takes over the runs another problem on the same model made (e.g. the point it ended at,
  // where this one starts).
  void adopt(const MapCost& other);
  // Whether a run at x is held (an Evaluate there costs no model run).
  bool cached(const double* x) const;

 private:
  const Model& m_;
  const Layout& l_;
  const Data& d_;
  mutable Response cache_, previous_;  // Ceres evaluates one problem from one thread at a time
  bdf2::WorkspacePool& pool_;          // the runs' factorisations and their analysis
  mutable int evaluations_ = 0;
};

// The Gauss–Newton step from x on the cost (one run there unless it is cached): the step in
// every parameter (`held` ≥ 0 does not move), the cost ½Σr² at x and the decrease of it the
// step predicts. `ok` is false when the model failed there or JᵀJ is singular.
struct GaussNewtonStep {
  bool ok = false;
  Eigen::VectorXd step;
  double cost = 0, decrease = 0;
};
GaussNewtonStep gaussNewtonStep(const MapCost& cost, const std::vector<double>& x, int held);

// Statistical convergence (FitOptions::stop_decrease): Levenberg–Marquardt stops when the full
// Gauss–Newton step from the accepted point would lower the cost by less than `threshold`
// (½Δχ², in units of max(1, χ²/n)): the point is then within about √(2·threshold) standard
// errors of the optimum in every direction, and the runs that Ceres' relative tolerances would
// spend confirming it are saved.
class GaussNewtonStop final : public ceres::IterationCallback {
 public:
  // x: the parameter block Ceres updates every iteration; `held` ≥ 0: a parameter held fixed.
  GaussNewtonStop(const MapCost& cost, const std::vector<double>& x, int held, double threshold)
      : cost_(cost), x_(x), held_(held), threshold_(threshold) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override;

 private:
  const MapCost& cost_;
  const std::vector<double>& x_;
  int held_;
  double threshold_;
};

}  // namespace ionmap::diffusion::detail
