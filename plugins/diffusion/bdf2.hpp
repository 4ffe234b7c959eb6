// Time integration of df/dt = A f + b for the diffusion models (A symmetric, I − γA positive
// definite): BDF2, second order and L-stable, with one backward-Euler start step and constant
// steps. Both matrices I − Δt·A and I − ⅔Δt·A are factored once per run (LDLᵀ, side by side
// on two cores for large systems); every step is then triangular solves.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include <Eigen/SparseCore>

namespace ionmap::diffusion::bdf2 {

using SpMat = Eigen::SparseMatrix<double>;
using Vec = Eigen::VectorXd;

// What runWithTangents keeps between runs on one sparsity pattern (a fit's runs): the
// factorisations' symbolic analysis and split, so that each run only factorises numerically.
// One workspace serves one sequence of runs (not two threads at once).
class Workspace {
 public:
  Workspace();
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  struct Factors;
  Factors& factors() { return *factors_; }

 private:
  std::unique_ptr<Factors> factors_;
};

// From f to the state after `steps` steps over `time` (and `previous`, when given, the state
// one step before), in A's own order.
void integrate(const SpMat& A, const Vec& b, Vec& f, double time, int steps, Vec* previous);

// From f0 with the tangent-linear sensitivities s' = A s + A'f + b' for each (A', b') in
// `parts` (at most three), all on the run's two factorisations: `last` the final state, `sens`
// the final sensitivities. A must already be in a nested-dissection order (the two halves of
// its first dissection then share no entry of the factor, and each step's one solve for the
// state and all sensitivities together runs its halves on two cores).
void runWithTangents(const SpMat& A, const Vec& b, const std::vector<std::pair<SpMat, Vec>>& parts,
                     const Vec& f0, double time, int steps, Vec& last, std::vector<Vec>& sens,
                     Workspace* workspace = nullptr);

}  // namespace ionmap::diffusion::bdf2
