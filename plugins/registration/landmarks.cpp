#include "registration/landmarks.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <Eigen/Dense>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/campaign_fits.hpp"

namespace ionmap::registration {

LandmarkFit fitLandmarks(const std::vector<Point2>& fixed, const std::vector<Point2>& moving,
                         Transform2D::Kind kind) {
  const std::size_t n = fixed.size();
  if (moving.size() != n) {
    throw UsageError(
        fmt::format("{} fixed and {} moving landmarks: the lists must pair up", n, moving.size()));
  }
  const std::size_t need =
      kind == Transform2D::Kind::kAffine                                                ? 3
      : kind == Transform2D::Kind::kTranslation || kind == Transform2D::Kind::kIdentity ? 1
                                                                                        : 2;
  if (n < need) {
    throw UsageError(fmt::format("a {} transform needs at least {} landmark pairs, got {}",
                                 Transform2D::kindName(kind), need, n));
  }
  Point2 cf{0, 0}, cm{0, 0};
  for (std::size_t i = 0; i < n; ++i)
    cf.x += fixed[i].x / n, cf.y += fixed[i].y / n, cm.x += moving[i].x / n,
        cm.y += moving[i].y / n;
  double spread = 0;
  for (const auto& p : moving) spread += (p.x - cm.x) * (p.x - cm.x) + (p.y - cm.y) * (p.y - cm.y);
  LandmarkFit fit;
  if (kind == Transform2D::Kind::kTranslation || kind == Transform2D::Kind::kIdentity) {
    fit.moving_to_fixed = Transform2D::translation(cf.x - cm.x, cf.y - cm.y);
  } else if (kind == Transform2D::Kind::kAffine) {
    // Collinear points leave the affine map undetermined.
    Eigen::Matrix2d cov = Eigen::Matrix2d::Zero();
    for (const auto& p : moving) {
      const Eigen::Vector2d d(p.x - cm.x, p.y - cm.y);
      cov += d * d.transpose();
    }
    const double lmin = cov.selfadjointView<Eigen::Lower>().eigenvalues().minCoeff();
    if (!(lmin > 1e-10 * std::max(1.0, cov.trace()))) {
      throw UsageError(
          "the moving landmarks are collinear: an affine transform is not determined (use rigid or "
          "similarity, or add a point off the line)");
    }
    Eigen::MatrixXd a(2 * n, 6);
    Eigen::VectorXd b(2 * n);
    a.setZero();
    for (std::size_t i = 0; i < n; ++i) {
      a.row(2 * i) << moving[i].x, moving[i].y, 1, 0, 0, 0;
      a.row(2 * i + 1) << 0, 0, 0, moving[i].x, moving[i].y, 1;
      b(2 * i) = fixed[i].x;
      b(2 * i + 1) = fixed[i].y;
    }
    const Eigen::VectorXd m = a.colPivHouseholderQr().solve(b);
    fit.moving_to_fixed = Transform2D::fromMatrix({m(0), m(1), m(2), m(3), m(4), m(5)}, kind);
  } else {
    if (!(spread > 1e-18))
      throw UsageError("all moving landmarks coincide: rotation and scale are not determined");
    // Umeyama: rotation from the cross-covariance, scale from the spreads.
    double sxx = 0, sxy = 0;  // Σ (m·f) and Σ (m × f)
    for (std::size_t i = 0; i < n; ++i) {
      const double mx = moving[i].x - cm.x, my = moving[i].y - cm.y, fx = fixed[i].x - cf.x,
                   fy = fixed[i].y - cf.y;
      sxx += mx * fx + my * fy;
      sxy += mx * fy - my * fx;
    }
    const double angle = std::atan2(sxy, sxx);
    const double scale =
        kind == Transform2D::Kind::kSimilarity ? std::hypot(sxx, sxy) / spread : 1.0;
    const double c = scale * std::cos(angle), s = scale * std::sin(angle);
    fit.moving_to_fixed = Transform2D::fromMatrix(
        {c, -s, cf.x - (c * cm.x - s * cm.y), s, c, cf.y - (s * cm.x + c * cm.y)}, kind);
  }
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Point2 p = fit.moving_to_fixed.apply(moving[i]);
    fit.residual.push_back(std::hypot(p.x - fixed[i].x, p.y - fixed[i].y));
    ss += fit.residual.back() * fit.residual.back();
  }
  fit.rms = std::sqrt(ss / n);
  const int params = kind == Transform2D::Kind::kAffine       ? 6
                     : kind == Transform2D::Kind::kSimilarity ? 4
                     : kind == Transform2D::Kind::kRigid      ? 3
                                                              : 2;
  const int dof = 2 * static_cast<int>(n) - params;
  fit.uncertainty = dof > 0 ? std::sqrt(ss / dof * params / n) : std::nan("");
  fit.dof = dof;
  fit.uncertainty95 = dof > 0 ? stats::studentTQuantile(0.05, dof) * fit.uncertainty : std::nan("");
  std::vector<double> sorted = fit.residual;
  std::sort(sorted.begin(), sorted.end());
  const double med = sorted[n / 2];
  std::vector<double> dev;
  for (double r : fit.residual) dev.push_back(std::abs(r - med));
  std::sort(dev.begin(), dev.end());
  const double limit = med + std::max(3 * 1.4826 * dev[n / 2], 1e-9);
  for (double r : fit.residual) fit.outlier.push_back(n >= 4 && r > limit);
  return fit;
}

void readLandmarkCsv(const std::filesystem::path& file, std::vector<Point2>& fixed,
                     std::vector<Point2>& moving) {
  std::ifstream in(file);
  if (!in) throw InputError(file.string(), "cannot open the landmark file");
  std::string line;
  std::vector<std::string> header;
  int n = 0;
  int col[4] = {-1, -1, -1, -1};
  const char* names[4] = {"fixed_x", "fixed_y", "moving_x", "moving_y"};
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) {
      const auto b = c.find_first_not_of(" \t"), e = c.find_last_not_of(" \t");
      cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
    }
    if (header.empty()) {
      header = cells;
      for (int k = 0; k < 4; ++k) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
          if (cells[i] == names[k] || cells[i].rfind(std::string(names[k]) + " ", 0) == 0)
            col[k] = static_cast<int>(i);
        }
        if (col[k] < 0) {
          throw InputError(
              file.string(),
              fmt::format("line {}: the header has no column '{}' (need fixed_x, fixed_y, "
                          "moving_x, moving_y in um)",
                          n, names[k]));
        }
      }
      continue;
    }
    double v[4];
    for (int k = 0; k < 4; ++k) {
      char* end = nullptr;
      const std::string& c = static_cast<std::size_t>(col[k]) < cells.size()
                                 ? cells[static_cast<std::size_t>(col[k])]
                                 : "";
      v[k] = std::strtod(c.c_str(), &end);
      if (c.empty() || *end || !std::isfinite(v[k])) {
        throw InputError(
            file.string(),
            fmt::format("line {}, column {}: expected a number, got '{}'", n, names[k], c));
      }
    }
    fixed.push_back({v[0], v[1]});
    moving.push_back({v[2], v[3]});
  }
}

}  // namespace ionmap::registration
