// The uncertainty of a fit from its Jacobian at the optimum: the covariance (JᵀJ)⁻¹ scaled by
// the reduced χ², the condition number, correlations, and the cluster-robust (sandwich) scale
// with the grains as clusters; and the widening of the intervals by that scale.
#include <algorithm>
#include <cmath>
#include <map>

#include <Eigen/Dense>

#include "diffusion/fit_detail.hpp"
#include "diffusion/observation.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::diffusion::detail {

void covarianceAtOptimum(FitResult& res, const Run& b, const Data& data, const FitOptions& o,
                         int map_width, int map_height) {
  const int n = static_cast<int>(b.x.size());
  const int sub = std::max(1, o.subsample);
  std::vector<double> x = b.x;
  MapCost& cost = *b.cost;  // usually holds the final point already
  std::vector<double> r(data.cell.size()), jac(data.cell.size() * static_cast<std::size_t>(n));
  const double* params[] = {x.data()};
  double* jacs[] = {jac.data()};
  if (!cost.Evaluate(params, r.data(), jacs))
    throw ProcessingError("the diffusion model failed at the best-fit parameters");
  res.evaluations += cost.evaluations() - b.evaluations;  // 1 if it was not cached
  // The best-fit map from the same run: f = f_bg + (f_s − f_bg)·u on every cell.
  const std::vector<double>& u = cost.response().u;
  res.source_final = res.best.f_bg + (res.best.f_s - res.best.f_bg) * cost.response().u_source;
  res.model = Image<double>(map_width, map_height);
  for (std::size_t i = 0; i < res.model.size(); ++i) {
    const std::size_t cell =
        o.model == ModelKind::kGrid ? i : static_cast<std::size_t>(o.domain.labels[i]);
    const bool source = !o.domain.source_region.empty() && o.domain.source_region[i];
    res.model[i] = res.best.f_bg +
                   (res.best.f_s - res.best.f_bg) * (source ? cost.response().u_source : u[cell]);
  }
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> J(
      jac.data(), static_cast<Eigen::Index>(data.cell.size()), n);
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(J);
  const auto sv = svd.singularValues();
  res.condition_number = sv(n - 1) > 0 ? sv(0) / sv(n - 1) : INFINITY;
  const Eigen::MatrixXd jtj = J.transpose() * J;
  const Eigen::MatrixXd cov =
      jtj.completeOrthogonalDecomposition().pseudoInverse() * res.chi2_scale;
  res.standard_errors.resize(static_cast<std::size_t>(n));
  res.correlation.assign(static_cast<std::size_t>(n),
                         std::vector<double>(static_cast<std::size_t>(n), 0.0));
  for (int i = 0; i < n; ++i)
    res.standard_errors[static_cast<std::size_t>(i)] = std::sqrt(std::max(0.0, cov(i, i)));
  // Cluster-robust (sandwich) covariance with the grains as clusters: A⁻¹ (Σ_g s_g s_gᵀ) A⁻¹,
  // s_g = Σ_{i∈g} J_iᵀ r_i, A = JᵀJ, with the small-sample factor G/(G − 1). Where the
  // residuals of a grain share an error (its label or boundaries a little off, so that its
  // level is missed as a whole) the pixels are not independent data, and this covariance
  // grows where (JᵀJ)⁻¹ does not; where the model holds the two agree.
  {
    const Image<std::int32_t> grains =
        sub > 1 ? majorityLabels(o.domain.labels, sub) : o.domain.labels;
    std::map<std::int64_t, Eigen::VectorXd> score;
    for (std::size_t i = 0; i < data.cell.size(); ++i) {
      const std::int64_t g = o.model == ModelKind::kGrid
                                 ? static_cast<std::int64_t>(grains[data.cell[i]])
                                 : static_cast<std::int64_t>(i);
      auto [it, fresh] = score.try_emplace(g, Eigen::VectorXd::Zero(n));
      it->second += J.row(static_cast<Eigen::Index>(i)).transpose() * r[i];
    }
    const double clusters = static_cast<double>(score.size());
    if (clusters > 2 * n) {
      Eigen::MatrixXd meat = Eigen::MatrixXd::Zero(n, n);
      for (const auto& [g, sg] : score) meat += sg * sg.transpose();
      const Eigen::MatrixXd ainv = jtj.completeOrthogonalDecomposition().pseudoInverse();
      const Eigen::MatrixXd robust = ainv * meat * ainv * (clusters / (clusters - 1));
      res.robust_scale.assign(static_cast<std::size_t>(n), 1.0);
      for (int i = 0; i < n; ++i) {
        if (cov(i, i) > 0 && robust(i, i) > cov(i, i))
          res.robust_scale[static_cast<std::size_t>(i)] = std::sqrt(robust(i, i) / cov(i, i));
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const double d = res.standard_errors[static_cast<std::size_t>(i)] *
                       res.standard_errors[static_cast<std::size_t>(j)];
      res.correlation[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] =
          d > 0 ? cov(i, j) / d : 0;
    }
  }
}

void widenForClusters(FitResult& res, const Layout& l, const FitOptions& o) {
  const std::vector<double>& x = res.values;
  // The cluster-robust scale widens the standard errors and the closed sides of the intervals
  // (a profile computed as if every pixel were independent, stretched about the optimum).
  res.statistical_errors = res.standard_errors;
  for (std::size_t i = 0; i < res.robust_scale.size(); ++i) {
    const double k = res.robust_scale[i];
    res.standard_errors[i] *= k;
    if (i >= res.intervals.size() || k <= 1) continue;
    ProfileInterval& pi = res.intervals[i];
    widenInterval(pi, x[i] - k * (x[i] - pi.low), x[i] + k * (pi.high - x[i]),
                  boundsOf(l, o, static_cast<int>(i)));
  }
}

}  // namespace ionmap::diffusion::detail
