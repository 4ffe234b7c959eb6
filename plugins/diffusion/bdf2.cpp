#include "diffusion/bdf2.hpp"

#include <Eigen/SparseCholesky>
#include <algorithm>
#include <cmath>
#include <memory>

#include <tbb/parallel_invoke.h>

#include "ionmap/core/error.hpp"

namespace ionmap::diffusion::bdf2 {
namespace {

// LDLᵀ factorisation of a symmetric matrix that is already in a nested-dissection order, with a
// triangular solve for R right-hand sides at once (stored interleaved, R × n column-major: one
// pass over L serves all of them). The unknowns split into two halves that share no entry of L
// (two subtrees of the elimination tree) and the separator after them; the halves' parts of the
// solve run on two cores. The arithmetic is the same on one core.
class SplitLdlt {
 public:
  static constexpr int kSplitMinEntries = 100000;
  // Factors m (compressed). The symbolic analysis and the split are kept while the pattern
  // stays the same (a fit's runs): then only the numeric factorisation runs, for an unsplit
  // factor on its known pattern (replay()).
  bool compute(const SpMat& m) {
    const Fingerprint seen = fingerprintOf(m);
    const bool same = analysed_ && seen == pattern_;
    if (!same) {
      analysed_ = false;
      ldlt_.analyzePattern(m);
      pattern_ = seen;
      ldlt_.factorize(m);  // (also when unsplit: Eigen's pattern of L is the one replayed)
      if (ldlt_.info() != Eigen::Success) return false;
      split();
      rowPattern();
      analysed_ = true;
      if (left_ == 0) {
        const auto entries =
            static_cast<std::size_t>(ldlt_.matrixL().nestedExpression().nonZeros());
        col_x_.assign(entries, 0.0), row_x_.assign(entries, 0.0);
        d_.assign(static_cast<std::size_t>(m.rows()), 0.0);
        inv_d_.resize(m.rows());
      }
    }
    // Unsplit factors are always computed by replay(), also right after the analysis, so that a
    // run's arithmetic does not depend on what the workspace factorised before (a pool hands
    // workspaces to runs in whatever order they come).
    if (left_ == 0) return replay(m);
    if (same) ldlt_.factorize(m);
    if (ldlt_.info() != Eigen::Success) return false;
    inv_d_ = ldlt_.vectorD().cwiseInverse();
    return true;
  }

  // x ← M⁻¹ x for the R interleaved columns of x.
  template <int R>
  void solve(double* x) const {
    const SpMat& L = ldlt_.matrixL().nestedExpression();
    const int* lp = L.outerIndexPtr();
    const int* li = L.innerIndexPtr();
    const double* lx = left_ > 0 ? L.valuePtr() : col_x_.data();
    const int n = static_cast<int>(L.cols());
    // Forward, column by column: x_i −= L_ij x_j. With `spill` (a half's columns), the updates
    // of separator rows (≥ right_) go there instead, to be added once both halves are done.
    auto forward = [&](int j0, int j1, double* spill) {
      for (int j = j0; j < j1; ++j) {
        const double* xj = x + static_cast<std::ptrdiff_t>(R) * j;
        const int cut = spill ? cut_[static_cast<std::size_t>(j)] : lp[j + 1];
        int p = lp[j];
        for (; p < cut; ++p) {
          double* xi = x + static_cast<std::ptrdiff_t>(R) * li[p];
          for (int r = 0; r < R; ++r) xi[r] -= lx[p] * xj[r];
        }
        for (; p < lp[j + 1]; ++p) {
          double* xi = spill + static_cast<std::ptrdiff_t>(R) * (li[p] - right_);
          for (int r = 0; r < R; ++r) xi[r] -= lx[p] * xj[r];
        }
      }
    };
    // Backward, column by column of L (rows of Lᵀ): x_j −= Σ_i L_ij x_i.
    auto backward = [&](int j0, int j1) {
      for (int j = j1 - 1; j >= j0; --j) {
        double acc[R];
        double* xj = x + static_cast<std::ptrdiff_t>(R) * j;
        for (int r = 0; r < R; ++r) acc[r] = xj[r];
        for (int p = lp[j]; p < lp[j + 1]; ++p) {
          const double* xi = x + static_cast<std::ptrdiff_t>(R) * li[p];
          for (int r = 0; r < R; ++r) acc[r] -= lx[p] * xi[r];
        }
        for (int r = 0; r < R; ++r) xj[r] = acc[r];
      }
    };
    // Unsplit: forward by rows of L, x_i −= Σ_j L_ij x_j, each row summed in registers (the
    // same operations in the same order as by columns, without stores to scattered rows).
    auto forwardByRows = [&] {
      for (int i = 0; i < n; ++i) {
        double acc[R];
        double* xi = x + static_cast<std::ptrdiff_t>(R) * i;
        for (int r = 0; r < R; ++r) acc[r] = xi[r];
        for (int p = row_p_[static_cast<std::size_t>(i)];
             p < row_p_[static_cast<std::size_t>(i) + 1]; ++p) {
          const double* xj =
              x + static_cast<std::ptrdiff_t>(R) * row_j_[static_cast<std::size_t>(p)];
          const double l = row_x_[static_cast<std::size_t>(p)];
          for (int r = 0; r < R; ++r) acc[r] -= l * xj[r];
        }
        for (int r = 0; r < R; ++r) xi[r] = acc[r];
      }
    };
    if (left_ > 0) {
      const auto tail = static_cast<std::size_t>(R) * static_cast<std::size_t>(n - right_);
      std::vector<double> spill_a(tail, 0.0), spill_b(tail, 0.0);
      tbb::parallel_invoke([&] { forward(0, left_, spill_a.data()); },
                           [&] { forward(left_, right_, spill_b.data()); });
      double* xs = x + static_cast<std::ptrdiff_t>(R) * right_;
      for (std::size_t k = 0; k < tail; ++k) xs[k] += spill_a[k] + spill_b[k];
      forward(right_, n, nullptr);
    } else {
      forwardByRows();
    }
    for (int j = 0; j < n; ++j) {
      for (int r = 0; r < R; ++r) x[static_cast<std::ptrdiff_t>(R) * j + r] *= inv_d_[j];
    }
    if (left_ > 0) {
      backward(right_, n);
      tbb::parallel_invoke([&] { backward(0, left_); }, [&] { backward(left_, right_); });
    } else {
      backward(0, n);
    }
  }

 private:
  // Finds the halves. The separator is the chain of single-child nodes at the top of the
  // elimination tree (parent of j: the first row of column j of L), [right_, n). A cut `left`
  // splits [0, right_) into independent halves when no node before it has its parent in
  // [left, right_); of those cuts, the one that best balances the entries of L is taken, and
  // none when the smaller half would hold less than a quarter of them.
  void split() {
    left_ = right_ = 0;
    const SpMat& L = ldlt_.matrixL().nestedExpression();
    const int* lp = L.outerIndexPtr();
    const int* li = L.innerIndexPtr();
    const int n = static_cast<int>(L.cols());
    if (lp[n] < kSplitMinEntries) return;  // too small to gain from a second core
    std::vector<int> parent(static_cast<std::size_t>(n), -1), children(parent.size(), 0),
        child(parent.size(), -1);
    for (int j = 0; j < n; ++j) {
      if (lp[j] == lp[j + 1]) continue;
      const int q = li[lp[j]];
      parent[static_cast<std::size_t>(j)] = q;
      ++children[static_cast<std::size_t>(q)];
      child[static_cast<std::size_t>(q)] = j;
    }
    int right = n - 1;
    while (right > 0 && children[static_cast<std::size_t>(right)] == 1 &&
           child[static_cast<std::size_t>(right)] == right - 1)
      --right;
    // Crossings: a node j before the cut whose parent q lies in [cut, right) rules out the cuts
    // j+1 … q.
    std::vector<int> crossing(static_cast<std::size_t>(right) + 1, 0);
    for (int j = 0; j < right; ++j) {
      const int q = parent[static_cast<std::size_t>(j)];
      if (q >= 0 && q < right) {
        ++crossing[static_cast<std::size_t>(j) + 1];
        --crossing[static_cast<std::size_t>(q) + 1];
      }
    }
    const double total = lp[right] + right;  // entries plus diagonals before the separator
    int best = 0, open = 0;
    double best_gap = total;
    for (int cut = 1; cut < right; ++cut) {
      open += crossing[static_cast<std::size_t>(cut)];
      if (open != 0) continue;
      const double gap = std::abs(2.0 * (lp[cut] + cut) - total);
      if (gap < best_gap) best_gap = gap, best = cut;
    }
    if (best == 0 || best_gap > 0.5 * total) return;  // the smaller half < 1/4 of the work
    left_ = best;
    right_ = right;
    cut_.resize(static_cast<std::size_t>(right));
    for (int j = 0; j < right; ++j)
      cut_[static_cast<std::size_t>(j)] =
          static_cast<int>(std::lower_bound(li + lp[j], li + lp[j + 1], right) - li);
  }

  // The numeric LDLᵀ factorisation of m on the known pattern of L, row by row (up-looking): row
  // k of L solves L₀ D₀ l = m(0:k, k) over the rows before it, which the pattern by rows lists
  // in ascending (topological) order. Eigen's factorize does the same but finds each row's
  // pattern again from the elimination tree.
  bool replay(const SpMat& m) {
    const SpMat& L = ldlt_.matrixL().nestedExpression();
    const int* lp = L.outerIndexPtr();
    const int* li = L.innerIndexPtr();
    const int* mp = m.outerIndexPtr();
    const int* mi = m.innerIndexPtr();
    const double* mx = m.valuePtr();
    const int n = static_cast<int>(L.cols());
    y_.resize(static_cast<std::size_t>(n), 0.0);  // kept all zero between rows
    for (int k = 0; k < n; ++k) {
      for (int p = mp[k]; p < mp[k + 1]; ++p) {
        if (mi[p] <= k) y_[static_cast<std::size_t>(mi[p])] += mx[p];
      }
      double d = y_[static_cast<std::size_t>(k)];
      y_[static_cast<std::size_t>(k)] = 0;
      for (int q = row_p_[static_cast<std::size_t>(k)]; q < row_p_[static_cast<std::size_t>(k) + 1];
           ++q) {
        const auto j = static_cast<std::size_t>(row_j_[static_cast<std::size_t>(q)]);
        const int at = from_row_[static_cast<std::size_t>(q)];  // L(k, j) by columns
        const double yj = y_[j];
        y_[j] = 0;
        for (int p = lp[j]; p < at; ++p)
          y_[static_cast<std::size_t>(li[p])] -= col_x_[static_cast<std::size_t>(p)] * yj;
        const double l = yj / d_[j];
        d -= l * yj;
        col_x_[static_cast<std::size_t>(at)] = row_x_[static_cast<std::size_t>(q)] = l;
      }
      if (d == 0) {  // as Eigen: a zero pivot
        std::fill(y_.begin(), y_.end(), 0.0);
        return false;
      }
      d_[static_cast<std::size_t>(k)] = d;
      inv_d_[k] = 1 / d;
    }
    return true;
  }

  // The pattern of L by rows (compressed rows, columns ascending) and where each of its entries
  // is in L by columns; unsplit factors only.
  void rowPattern() {
    row_p_.clear(), row_j_.clear(), row_x_.clear(), from_row_.clear();
    if (left_ > 0) return;
    const SpMat& L = ldlt_.matrixL().nestedExpression();
    const int* lp = L.outerIndexPtr();
    const int* li = L.innerIndexPtr();
    const int n = static_cast<int>(L.cols());
    const auto nnz = static_cast<std::size_t>(lp[n]);
    row_p_.assign(static_cast<std::size_t>(n) + 1, 0);
    for (std::size_t p = 0; p < nnz; ++p) ++row_p_[static_cast<std::size_t>(li[p]) + 1];
    for (std::size_t i = 1; i < row_p_.size(); ++i) row_p_[i] += row_p_[i - 1];
    std::vector<int> next = row_p_;  // where the next entry of each row goes
    row_j_.resize(nnz), from_row_.resize(nnz);
    for (int j = 0; j < n; ++j) {  // columns ascending: each row's entries come in column order
      for (int p = lp[j]; p < lp[j + 1]; ++p) {
        const int q = next[static_cast<std::size_t>(li[p])]++;
        row_j_[static_cast<std::size_t>(q)] = j;
        from_row_[static_cast<std::size_t>(q)] = p;
      }
    }
  }

  // The analysed pattern, told apart from another by its size and two independent 64-bit hashes
  // of its index arrays (instead of a copy of them: 6 MB at 512²).
  struct Fingerprint {
    std::int64_t rows = -1, entries = -1;
    std::uint64_t a = 0, b = 0;
    bool operator==(const Fingerprint& o) const {
      return rows == o.rows && entries == o.entries && a == o.a && b == o.b;
    }
  };
  static Fingerprint fingerprintOf(const SpMat& m) {
    Fingerprint f;
    f.rows = m.rows();
    f.entries = m.outerIndexPtr()[m.rows()];
    std::uint64_t a = 0xcbf29ce484222325ULL, b = 0x9e3779b97f4a7c15ULL;
    auto mix = [&](std::uint64_t v) {
      a = (a ^ v) * 0x100000001b3ULL;                               // FNV-1a
      b = (b + v + 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;  // splitmix-style
      b ^= b >> 31;
    };
    for (Eigen::Index j = 0; j <= m.rows(); ++j)
      mix(static_cast<std::uint64_t>(m.outerIndexPtr()[j]));
    for (std::int64_t p = 0; p < f.entries; ++p)
      mix(static_cast<std::uint64_t>(m.innerIndexPtr()[p]) + (1ULL << 32));
    f.a = a, f.b = b;
    return f;
  }

  // Upper: a full symmetric input is read in place, without the copy that Lower makes.
  Eigen::SimplicialLDLT<SpMat, Eigen::Upper, Eigen::NaturalOrdering<int>> ldlt_;
  bool analysed_ = false;
  Fingerprint pattern_;
  Vec inv_d_;
  int left_ = 0, right_ = 0;  // halves [0, left_) and [left_, right_); 0 = no split
  std::vector<int> cut_;      // per column before right_: its first entry in the separator
  // Unsplit factors: L by columns (values; the pattern is Eigen's) and by rows, D, and the
  // replay's dense row.
  std::vector<double> col_x_, d_, y_;
  std::vector<int> row_p_, row_j_;
  std::vector<double> row_x_;
  std::vector<int> from_row_;  // entry by rows → by columns
};

// I − γA on A's own pattern (every diagonal entry stored, as the models assemble it; otherwise
// the general sparse sum): one copy of A with its values changed in place.
SpMat shifted(const SpMat& A, double gamma) {
  SpMat m = A;
  m.makeCompressed();
  double* v = m.valuePtr();
  const int* outer = m.outerIndexPtr();
  const int* inner = m.innerIndexPtr();
  for (Eigen::Index j = 0; j < m.cols(); ++j) {
    const int* first = inner + outer[j];
    const int* last = inner + outer[j + 1];
    const int* d = std::lower_bound(first, last, static_cast<int>(j));
    if (d == last || *d != j) {
      SpMat I(A.rows(), A.cols());
      I.setIdentity();
      return I - gamma * A;
    }
    for (const int* p = first; p != last; ++p) v[p - inner] *= -gamma;
    v[d - inner] += 1;
  }
  return m;
}

}  // namespace

struct Workspace::Factors {
  SplitLdlt m;  // of I − ⅔Δt·A
};
Workspace::Workspace() : factors_(std::make_unique<Factors>()) {}
Workspace::~Workspace() = default;

WorkspacePool::Lease WorkspacePool::borrow() {
  std::unique_ptr<Workspace> w;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (most_ > 0) returned_.wait(lock, [&] { return !idle_.empty() || made_ < most_; });
    if (!idle_.empty()) {
      w = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++made_;
    }
  }
  if (!w) w = std::make_unique<Workspace>();
  return Lease(*this, std::move(w));
}

void WorkspacePool::giveBack(std::unique_ptr<Workspace> w) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(w));
  }
  returned_.notify_one();
}

std::uint64_t factorEntries(const SpMat& A) {
  // Row k of L has an entry in column j < k for every j on the paths up the elimination tree
  // from the entries A(i, k), i < k, until a node already visited for row k.
  const auto n = static_cast<std::size_t>(A.rows());
  std::vector<int> parent(n, -1), mark(n, -1);
  std::uint64_t entries = 0;
  for (int k = 0; k < static_cast<int>(n); ++k) {
    mark[static_cast<std::size_t>(k)] = k;
    for (SpMat::InnerIterator it(A, k); it; ++it) {
      for (int i = static_cast<int>(it.index()); i < k && mark[static_cast<std::size_t>(i)] != k;
           i = parent[static_cast<std::size_t>(i)]) {
        if (parent[static_cast<std::size_t>(i)] < 0) parent[static_cast<std::size_t>(i)] = k;
        mark[static_cast<std::size_t>(i)] = k;
        ++entries;
      }
    }
  }
  return entries;
}

std::uint64_t bytesPerRun(const SpMat& A, std::size_t tangents, std::uint64_t setup) {
  const auto n = static_cast<std::uint64_t>(A.rows());
  const auto nnz = static_cast<std::uint64_t>(A.nonZeros());
  const std::uint64_t R = 1 + tangents;
  // A large factor's values and rows are Eigen's; a small one (not split over two cores) also
  // keeps its values twice and its pattern by rows (replay()).
  const std::uint64_t entries = factorEntries(A);
  const std::uint64_t per_entry = entries < SplitLdlt::kSplitMinEntries ? 36 : 12;
  const std::uint64_t factor = entries * per_entry + n * 48;
  // While factorising: the shifted matrix and the factorisation's work arrays. Then, while
  // stepping: two interleaved blocks of R columns (the last two solutions, the right-hand side
  // built in place of the older), a work vector and the R results (the split solve's spill is a
  // separator's rows).
  const std::uint64_t factorising =
      nnz * (sizeof(double) + sizeof(int)) + (n + 1) * sizeof(int) + n * 16;
  const std::uint64_t stepping = (2 * R + 1 + R) * n * sizeof(double);
  return factor + std::max({factorising, stepping, setup});
}

std::size_t WorkspacePool::made() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return made_;
}

namespace {

// BDF2 of df/dt = A f + b from f0 (as integrate()) with the tangent-linear sensitivities
// s' = A s + A'f + b' for each (A', b') in `tangents`, in a system already in a
// nested-dissection order, on the one factorisation of I − ⅔Δt·A. The sensitivities follow one
// step behind the state, so each step is one solve for all R = 1 + tangents right-hand sides:
// row 0 the state u_{k+1}, the others s_k (forced by u_k).
template <int R>
void tangentRun(const SpMat& A, const Vec& b, const std::vector<Tangent>& tangents, const Vec& f0,
                double time, int steps, Vec& last, std::vector<Vec>& sens, Workspace* workspace) {
  static_assert(R >= 1);
  const auto n = A.rows();
  const double dt = time / steps, g = (2.0 / 3.0) * dt;
  Workspace local;
  SplitLdlt& m = (workspace ? *workspace : local).factors().m;
  if (!m.compute(shifted(A, g))) throw ProcessingError("diffusion model: factorisation failed");

  // The last two solutions, interleaved (R × n column-major); each step's right-hand side is
  // built in place of the older one and solved there.
  using Block = Eigen::Matrix<double, R, Eigen::Dynamic>;
  Block x1 = Block::Zero(R, n), x2 = Block::Zero(R, n);
  x1.row(0) = f0.transpose();  // u_0 (s_0 = 0)
  Vec forcing(n);
  const Eigen::Index size = R * n;
  for (int k = 0; k <= (R > 1 ? steps : steps - 1); ++k) {
    // Row 0: u_{k+1} from u_k, u_{k−1} (the start step at k = 0); rows j: s_k from s_{k−1},
    // s_{k−2} and the forcing A'_j u_k + b'_j (the start step at k = 1). Rows not wanted at
    // k = 0 and k = steps are solved anyway (zeros, or unused).
    const double* p1 = x1.data();
    double* pr = x2.data();  // holds the solution before last until it is overwritten here
    if (k == 0) {
      for (Eigen::Index j = 0; j < size; ++j) pr[j] = p1[j];
    } else if (k == 1) {  // row 0 is already a BDF2 step; the tangents' start from s_0
      for (Eigen::Index j = 0; j < size; ++j) pr[j] = j % R == 0 ? (4 * p1[j] - pr[j]) / 3 : p1[j];
    } else {
      for (Eigen::Index j = 0; j < size; ++j) pr[j] = (4 * p1[j] - pr[j]) / 3;
    }
    if (k == 0) {
      // The start step's explicit third, Δt/3 · f(u0), for the state.
      forcing.noalias() = A * f0;
      for (Eigen::Index i = 0; i < n; ++i) pr[R * i] += g * b(i) + (dt / 3) * (forcing(i) + b(i));
    } else {
      for (Eigen::Index i = 0; i < n; ++i) pr[R * i] += g * b(i);
    }
    // Each tangent's start step (k = 1) has its explicit third from u0 (s0 = 0).
    for (int r = 1; r < R && k == 1; ++r) {
      const Tangent& t = tangents[static_cast<std::size_t>(r - 1)];
      forcing.noalias() = t.A->transpose() * f0;
      for (Eigen::Index i = 0; i < n; ++i) pr[R * i + r] += (dt / 3) * (forcing(i) + (*t.b)(i));
    }
    for (int r = 1; r < R && k > 0; ++r) {
      const Tangent& t = tangents[static_cast<std::size_t>(r - 1)];
      // = A'u_k (symmetric): a gather per row, no scatter; u_k is row 0 of x1.
      forcing.noalias() = t.A->transpose() * Eigen::Map<const Vec, 0, Eigen::InnerStride<R>>(p1, n);
      for (Eigen::Index i = 0; i < n; ++i) pr[R * i + r] += g * (forcing(i) + (*t.b)(i));
    }
    m.template solve<R>(pr);
    std::swap(x1, x2);
  }
  // With tangents, x1's row 0 holds a step beyond the end (unused), its others s_steps, and x2's
  // row 0 u_steps; without, x1 is u_steps.
  // Each block is freed as soon as what it holds is copied out.
  last = (R > 1 ? x2 : x1).row(0).transpose();
  x2 = Block();
  sens.resize(tangents.size());
  for (int r = 1; r < R; ++r) sens[static_cast<std::size_t>(r - 1)] = x1.row(r).transpose();
}

}  // namespace

void integrate(const SpMat& A, const Vec& b, Vec& f, double time, int steps, Vec* previous) {
  const auto n = A.rows();
  const double dt = time / steps, g = (2.0 / 3.0) * dt;
  SpMat I(n, n);
  I.setIdentity();
  Eigen::SimplicialLDLT<SpMat> m;
  m.compute(I - g * A);
  if (m.info() != Eigen::Success) throw ProcessingError("diffusion model: factorisation failed");
  Vec prev = f;
  // The start step (θ = 2/3) on the BDF2 matrix: u1 = u0 + Δt·(⅓ f(u0) + ⅔ f(u1)).
  f = Vec(m.solve(prev + (dt / 3) * (A * prev + b) + g * b));
  for (int k = 1; k < steps; ++k) {
    Vec next = m.solve((4.0 * f - prev) / 3.0 + g * b);
    prev = std::move(f);
    f = std::move(next);
  }
  if (previous) *previous = std::move(prev);
}

void runWithTangents(const SpMat& A, const Vec& b, const std::vector<Tangent>& tangents,
                     const Vec& f0, double time, int steps, Vec& last, std::vector<Vec>& sens,
                     Workspace* workspace) {
  const auto& parts = tangents;
  switch (parts.size()) {
    case 0:
      return tangentRun<1>(A, b, parts, f0, time, steps, last, sens, workspace);
    case 1:
      return tangentRun<2>(A, b, parts, f0, time, steps, last, sens, workspace);
    case 2:
      return tangentRun<3>(A, b, parts, f0, time, steps, last, sens, workspace);
    case 3:
      return tangentRun<4>(A, b, parts, f0, time, steps, last, sens, workspace);
    default:
      throw ProcessingError("diffusion model: at most three sensitivities per run");
  }
}

}  // namespace ionmap::diffusion::bdf2
