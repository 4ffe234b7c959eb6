#include "ebsd/orientation_classes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "ebsd/orientation.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/core/text.hpp"

namespace ionmap::ebsd {
namespace {

double norm(const Vec3& v) {
  return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

// v rotated by the unit quaternion q (q v q*).
Vec3 rotate(const Quat& q, const Vec3& v) {
  const Quat r = q * Quat{0, v[0], v[1], v[2]} * conj(q);
  return {r.x, r.y, r.z};
}

CrystalDirection parseOne(const std::string& entry) {
  const std::string e = trimmed(entry);
  auto bad = [&](const std::string& why) {
    return UsageError(fmt::format(
        "direction '{}': {} (write Miller indices in brackets, e.g. [100], [1-10], [1 0 12])", e,
        why));
  };
  if (e.size() < 3 || e.front() != '[' || e.back() != ']') throw bad("no brackets");
  const std::string inner = e.substr(1, e.size() - 2);
  std::vector<double> idx;
  if (inner.find(' ') != std::string::npos) {
    std::istringstream parts(inner);
    for (std::string part; parts >> part;) {
      char* end = nullptr;
      const long v = std::strtol(part.c_str(), &end, 10);
      if (*end != '\0') throw bad(fmt::format("'{}' is not an integer", part));
      idx.push_back(static_cast<double>(v));
    }
  } else {
    for (std::size_t i = 0; i < inner.size(); ++i) {
      int sign = 1;
      if (inner[i] == '-') sign = -1, ++i;
      if (i >= inner.size() || !std::isdigit(static_cast<unsigned char>(inner[i])))
        throw bad("an index is not a digit");
      idx.push_back(sign * (inner[i] - '0'));
    }
  }
  if (idx.size() != 3) throw bad(fmt::format("{} indices, need 3", idx.size()));
  const Vec3 v{idx[0], idx[1], idx[2]};
  if (norm(v) == 0) throw bad("all indices are zero");
  return {e, v};
}

}  // namespace

std::vector<CrystalDirection> parseDirections(const std::string& text) {
  std::vector<CrystalDirection> out;
  // Entries are bracketed, so split on the closing bracket rather than on commas (which may
  // also separate indices inside a bracket).
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t close = text.find(']', start);
    if (close == std::string::npos) {
      if (!trimmed(text.substr(start)).empty())
        throw UsageError(fmt::format("directions '{}': '{}' has no closing bracket", text,
                                     trimmed(text.substr(start))));
      break;
    }
    std::string entry = text.substr(start, close + 1 - start);
    const std::size_t open = entry.find('[');
    const std::string before = open == std::string::npos ? entry : entry.substr(0, open);
    if (before.find_first_not_of(" ,;\t") != std::string::npos)
      throw UsageError(fmt::format("directions '{}': unexpected '{}'", text, trimmed(before)));
    if (open != std::string::npos) {
      std::string inner = entry.substr(open);
      std::replace(inner.begin(), inner.end(), ',', ' ');
      out.push_back(parseOne(inner));
    }
    start = close + 1;
  }
  if (out.empty()) throw UsageError("no crystal directions given (e.g. \"[100], [001]\")");
  return out;
}

Vec3 sampleToCrystal(double phi1, double Phi, double phi2, const Vec3& s) {
  const double c1 = std::cos(phi1), s1 = std::sin(phi1), c = std::cos(Phi), sn = std::sin(Phi),
               c2 = std::cos(phi2), s2 = std::sin(phi2);
  // Bunge's passive matrix g (rows: the crystal axes in sample coordinates).
  const double g[3][3] = {{c1 * c2 - s1 * s2 * c, s1 * c2 + c1 * s2 * c, s2 * sn},
                          {-c1 * s2 - s1 * c2 * c, -s1 * s2 + c1 * c2 * c, c2 * sn},
                          {s1 * sn, -c1 * sn, c}};
  Vec3 v{};
  for (int i = 0; i < 3; ++i) v[i] = g[i][0] * s[0] + g[i][1] * s[1] + g[i][2] * s[2];
  return v;
}

double angleToDirectionDeg(const Vec3& v, const Vec3& d, LaueClass symmetry) {
  const double nv = norm(v), nd = norm(d);
  double best = 0;
  for (const Quat& op : symmetryOperators(symmetry)) {
    const Vec3 w = rotate(op, v);
    best = std::max(best, std::abs(w[0] * d[0] + w[1] * d[1] + w[2] * d[2]) / (nv * nd));
  }
  return std::acos(std::min(1.0, best)) * 180 / M_PI;
}

OrientationClasses classifyOrientations(const OrientationMap& map,
                                        const std::vector<CrystalDirection>& directions,
                                        const Vec3& sample_direction, double max_angle_deg,
                                        const std::vector<int>& phases) {
  map.checkConsistent();
  OrientationClasses out;
  out.classes = LabelMap("orientation classes", map.grid);
  out.points.assign(directions.size(), 0);
  out.mean_angle_deg.assign(directions.size(), 0.0);
  for (int y = 0; y < map.height(); ++y) {
    for (int x = 0; x < map.width(); ++x) {
      const int ph = map.phase(x, y);
      if (ph == 0) continue;
      if (!phases.empty() && std::find(phases.begin(), phases.end(), ph) == phases.end()) continue;
      const CrystalPhase* info = map.phaseInfo(ph);
      const Vec3 v =
          sampleToCrystal(map.phi1(x, y), map.Phi(x, y), map.phi2(x, y), sample_direction);
      std::size_t best = 0;
      double best_angle = 1e9;
      for (std::size_t k = 0; k < directions.size(); ++k) {
        const double a = angleToDirectionDeg(v, directions[k].uvw, info->laue);
        if (a < best_angle) best_angle = a, best = k;
      }
      if (best_angle > max_angle_deg) {
        ++out.beyond;
        continue;
      }
      out.classes.labels(x, y) = static_cast<std::int32_t>(best + 1);
      ++out.points[best];
      out.mean_angle_deg[best] += best_angle;
    }
  }
  for (std::size_t k = 0; k < directions.size(); ++k)
    out.mean_angle_deg[k] = out.points[k] ? out.mean_angle_deg[k] / out.points[k] : std::nan("");
  return out;
}

Table orientationClassTable(const OrientationClasses& c,
                            const std::vector<CrystalDirection>& directions,
                            const OrientationMap& map) {
  Table t("orientation classes");
  t.addNumeric("class", "");
  t.addText("direction");
  t.addNumerics({{"points", ""}, {"area", "um^2"}, {"share", ""}, {"mean_angle", "deg"}});
  std::size_t indexed = c.beyond;
  for (std::size_t n : c.points) indexed += n;
  const double cell = map.grid.pixel_x * map.grid.pixel_y;
  for (std::size_t k = 0; k < directions.size(); ++k) {
    t.addRow({static_cast<double>(k + 1), directions[k].name, static_cast<double>(c.points[k]),
              c.points[k] * cell, indexed ? static_cast<double>(c.points[k]) / indexed : 0.0,
              c.mean_angle_deg[k]});
  }
  return t;
}

}  // namespace ionmap::ebsd
