// Time integration of df/dt = A f + b for the diffusion models (A symmetric, I − γA positive
// definite): BDF2, second order and L-stable, with constant steps Δt. The start step is the
// θ-method with θ = ⅔ (u1 = u0 + Δt·(⅓ f(u0) + ⅔ f(u1)), first order locally, so the scheme
// stays second order), which solves with the same matrix I − ⅔Δt·A as the BDF2 steps: one
// LDLᵀ factorisation per run; every step is then triangular solves.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <Eigen/SparseCore>

namespace ionmap::diffusion::bdf2 {

using SpMat = Eigen::SparseMatrix<double>;
using Vec = Eigen::VectorXd;

// What runWithTangents keeps between runs on one sparsity pattern (a fit's runs): the
// factorisation's symbolic analysis and split, so that each run only factorises numerically.
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

// The workspaces of runs that may happen at once (a fit's parallel starts, profiles and
// refits): a run borrows one for its duration and gives it back, so a fit holds as many
// factorisations as runs were ever in flight together (at most the number of threads, or
// `most` when given: a run then waits for a workspace rather than make one more), not one pair
// per start or per profile point. Each workspace keeps the analysis of the last pattern it
// factorised, which the runs of one fit share. Thread-safe.
class WorkspacePool {
 public:
  explicit WorkspacePool(std::size_t most = 0) : most_(most) {}
  class Lease {
   public:
    Lease(WorkspacePool& pool, std::unique_ptr<Workspace> w) : pool_(&pool), w_(std::move(w)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (w_) pool_->giveBack(std::move(w_));
    }
    Workspace* get() const { return w_.get(); }

   private:
    WorkspacePool* pool_;
    std::unique_ptr<Workspace> w_;
  };
  Lease borrow();
  // Workspaces made so far (the most runs that were in flight at once).
  std::size_t made() const;

 private:
  void giveBack(std::unique_ptr<Workspace> w);
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Workspace>> idle_;
  std::size_t made_ = 0, most_ = 0;
};

// Entries of the LDLᵀ factor (strictly below the diagonal) of a symmetric matrix with A's
// pattern, in A's own order, from its elimination tree (O(n) memory, no factorisation).
std::uint64_t factorEntries(const SpMat& A);

// One tangent-linear sensitivity s' = A s + A'f + b': its A' and b', borrowed from the caller
// for the run (A' = A and b' = b, the system's own, for the tangent in the step length).
struct Tangent {
  const SpMat* A;
  const Vec* b;
};

// Bytes that one runWithTangents on A with these tangents holds at most while it runs, beside A
// and the tangents themselves: its workspace's factorisation (a value and a row index per entry,
// plus per-row arrays), and the shifted matrix while it is factorised
// or the interleaved right-hand sides and results while it steps, or the caller's `setup` (what
// it holds for a while before the run, when its workspace still holds the last factorisation).
std::uint64_t bytesPerRun(const SpMat& A, std::size_t tangents, std::uint64_t setup = 0);

// From f to the state after `steps` steps over `time` (and `previous`, when given, the state
// one step before), in A's own order.
void integrate(const SpMat& A, const Vec& b, Vec& f, double time, int steps, Vec* previous);

// From f0 with the tangent-linear sensitivities s' = A s + A'f + b' for each (A', b') in
// `tangents` (at most three), all on the run's one factorisation: `last` the final state, `sens`
// the final sensitivities. A must already be in a nested-dissection order (the two halves of
// its first dissection then share no entry of the factor, and each step's one solve for the
// state and all sensitivities together runs its halves on two cores).
void runWithTangents(const SpMat& A, const Vec& b, const std::vector<Tangent>& tangents,
                     const Vec& f0, double time, int steps, Vec& last, std::vector<Vec>& sens,
                     Workspace* workspace = nullptr);

}  // namespace ionmap::diffusion::bdf2
