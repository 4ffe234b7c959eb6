#include "seccm/classes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/numerics/stats.hpp"

namespace ionmap::seccm {

bool ClassOptions::IsValid(std::string* error) const {
  std::string why;
  if (!(radius_um > 0)) why = "the contact radius must be > 0";
  if (!(min_share > 0 && min_share <= 1)) why = "min_share must be in (0, 1]";
  if (!(level > 0 && level < 1)) why = "the interval level must be in (0, 1)";
  if (resamples < 100) why = "at least 100 bootstrap resamples";
  if (error) *error = why;
  return why.empty();
}

std::vector<LandingClass> assignClasses(const Map& values, const LabelMap& classes,
                                        const Transform2D& to_reference, const ClassOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("SECCM classes: " + why);
  classes.checkConsistent();
  const int w = classes.width(), h = classes.height();
  // Domains: connected regions of one class (4-connected); distance of every pixel to the
  // nearest pixel of another class (or unlabelled), in pixels.
  cv::Mat domains(h, w, CV_32S, cv::Scalar(0));
  int next_domain = 0;
  std::map<int, bool> present;
  for (std::size_t i = 0; i < classes.labels.size(); ++i) {
    if (classes.labels[i] > 0) present[classes.labels[i]] = true;
  }
  cv::Mat dist(h, w, CV_32F, cv::Scalar(0));
  for (const auto& [c, unused] : present) {
    (void)unused;
    cv::Mat mask(h, w, CV_8U);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) mask.at<uchar>(y, x) = classes.labels(x, y) == c ? 255 : 0;
    }
    cv::Mat comp;
    const int n = cv::connectedComponents(mask, comp, 4, CV_32S);
    cv::Mat d;
    cv::distanceTransform(mask, d, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        if (!mask.at<uchar>(y, x)) continue;
        domains.at<int>(y, x) = next_domain + comp.at<int>(y, x);
        dist.at<float>(y, x) = d.at<float>(y, x);
      }
    }
    next_domain += n - 1;
  }
  const Transform2D to_px = classes.grid.physicalToPixel();
  const double px = classes.grid.pixel_x;
  std::vector<LandingClass> out;
  for (int y = 0; y < values.height(); ++y) {
    for (int x = 0; x < values.width(); ++x) {
      if (!values.valid(x, y) || !std::isfinite(values.values(x, y))) continue;
      LandingClass l;
      const Point2 c = values.grid.centre(x, y);
      l.x = c.x, l.y = c.y, l.value = values.values(x, y);
      const Point2 r = to_reference.apply(c);
      l.rx = r.x, l.ry = r.y;
      // The disk's shares: a 15 x 15 lattice of points over it, those inside counted by class.
      std::map<int, int> votes;
      int inside = 0;
      for (int i = -7; i <= 7; ++i) {
        for (int j = -7; j <= 7; ++j) {
          if (i * i + j * j > 49) continue;
          ++inside;
          const Point2 q = to_px.apply({r.x + o.radius_um * i / 7.0, r.y + o.radius_um * j / 7.0});
          const int qx = static_cast<int>(std::lround(q.x)),
                    qy = static_cast<int>(std::lround(q.y));
          if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
          ++votes[classes.labels(qx, qy)];
        }
      }
      int best = 0, best_votes = 0;
      for (const auto& [k, v] : votes) {
        if (k > 0 && v > best_votes) best = k, best_votes = v;
      }
      const Point2 centre = to_px.apply(r);
      const int cx = static_cast<int>(std::lround(centre.x)),
                cy = static_cast<int>(std::lround(centre.y));
      l.cls = best;
      l.share = inside ? static_cast<double>(best_votes) / inside : 0.0;
      if (best > 0 && cx >= 0 && cy >= 0 && cx < w && cy < h && classes.labels(cx, cy) == best) {
        l.domain = domains.at<int>(cy, cx);
        l.boundary_um = dist.at<float>(cy, cx) * px;
      }
      out.push_back(l);
    }
  }
  return out;
}

namespace {

std::string nameOf(int c, const std::vector<std::string>& names) {
  return c >= 1 && c <= static_cast<int>(names.size()) ? names[c - 1] : fmt::format("class {}", c);
}

}  // namespace

ClassTables classStatistics(const std::vector<LandingClass>& landings, const ClassOptions& o,
                            const std::string& unit) {
  // Landings mostly inside one class (share ≥ min_share) and inside a domain.
  std::map<int, std::vector<double>> values;
  std::map<int, std::vector<int>> blocks;
  for (const auto& l : landings) {
    if (l.cls <= 0 || l.share < o.min_share || l.domain <= 0) continue;
    values[l.cls].push_back(l.value);
    blocks[l.cls].push_back(l.domain);
  }
  std::vector<int> usable;
  for (const auto& [c, v] : values) {
    if (v.size() >= 2) usable.push_back(c);
  }
  if (usable.size() < 2)
    throw ProcessingError(fmt::format(
        "fewer than 2 classes hold 2 or more landings inside them (of {} landings, {} classes "
        "with any): nothing to compare — is the transform onto the reference right?",
        landings.size(), values.size()));
  ClassTables t;
  t.per_class = Table("class statistics");
  t.per_class.description = fmt::format(
      "per class: landings with at least {:.0f} % of their contact disk in it; mean with a "
      "percentile-bootstrap {:.0f} % interval, median and quartiles, and the number of domains",
      100 * o.min_share, 100 * o.level);
  t.per_class.addNumerics({{"class", ""}});
  t.per_class.addText("name");
  t.per_class.addNumerics({{"n", ""},
                           {"domains", ""},
                           {"mean", unit},
                           {"sd", unit},
                           {"ci_lo", unit},
                           {"ci_hi", unit},
                           {"median", unit},
                           {"q1", unit},
                           {"q3", unit}});
  for (int c : usable) {
    const stats::Summary s = stats::describe(values[c], o.level, o.resamples, 7 + c);
    std::vector<int> d = blocks[c];
    std::sort(d.begin(), d.end());
    const auto domains = static_cast<double>(std::unique(d.begin(), d.end()) - d.begin());
    t.per_class.addRow({double(c), nameOf(c, o.names), double(s.n), domains, s.mean, s.sd, s.ci_lo,
                        s.ci_hi, s.median, s.q1, s.q3});
  }
  // Pairs.
  struct Pair {
    int a, b;
    stats::TestResult w, u;
    stats::BlockBootstrap bb;
    bool blocked = false;
  };
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < usable.size(); ++i) {
    for (std::size_t j = i + 1; j < usable.size(); ++j) {
      Pair p{usable[i], usable[j], {}, {}, {}, false};
      p.w = stats::welch(values[p.a], values[p.b]);
      p.u = stats::mannWhitney(values[p.a], values[p.b]);
      try {
        p.bb = stats::blockBootstrapDifference(values[p.a], blocks[p.a], values[p.b], blocks[p.b],
                                               o.level, o.resamples, 100 + p.a * 31 + p.b);
        p.blocked = true;
      } catch (const ProcessingError&) {
        // fewer than 2 domains in a class: no block inference (NaN in the table)
      }
      pairs.push_back(p);
    }
  }
  std::vector<double> pw, pu, pb;
  for (const auto& p : pairs) {
    pw.push_back(p.w.p), pu.push_back(p.u.p), pb.push_back(p.blocked ? p.bb.p : 1.0);
  }
  const auto hw = stats::holm(pw), hu = stats::holm(pu), hb = stats::holm(pb);
  t.comparisons = Table("class comparisons");
  t.comparisons.description =
      "per pair of classes: difference of means; Welch's t-test (Cohen's d) and Mann-Whitney U "
      "(Cliff's delta) over landings, each Holm-corrected over the pairs; and a block bootstrap "
      "that resamples domains (landings in one domain are not independent), with its interval "
      "and Holm-corrected p. Prefer the block result where domains hold many landings";
  t.comparisons.addText("a");
  t.comparisons.addText("b");
  t.comparisons.addNumerics({{"difference", unit},
                             {"welch_t", ""},
                             {"welch_p", ""},
                             {"welch_p_holm", ""},
                             {"cohens_d", ""},
                             {"mann_whitney_u", ""},
                             {"mann_whitney_p", ""},
                             {"mann_whitney_p_holm", ""},
                             {"cliffs_delta", ""},
                             {"block_se", unit},
                             {"block_ci_lo", unit},
                             {"block_ci_hi", unit},
                             {"block_p", ""},
                             {"block_p_holm", ""},
                             {"domains_a", ""},
                             {"domains_b", ""}});
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const Pair& p = pairs[k];
    const double nan = std::nan("");
    t.comparisons.addRow({nameOf(p.a, o.names), nameOf(p.b, o.names),
                          stats::describe(values[p.a], o.level, 0).mean -
                              stats::describe(values[p.b], o.level, 0).mean,
                          p.w.statistic, p.w.p, hw[k], p.w.effect, p.u.u, p.u.p, hu[k], p.u.effect,
                          p.blocked ? p.bb.se : nan, p.blocked ? p.bb.ci_lo : nan,
                          p.blocked ? p.bb.ci_hi : nan, p.blocked ? p.bb.p : nan,
                          p.blocked ? hb[k] : nan, double(p.bb.blocks_a), double(p.bb.blocks_b)});
  }
  // Boundary vs interior: distance bins in contact radii.
  t.by_distance = Table("by boundary distance");
  t.by_distance.description =
      "landings by the distance of their centre from the nearest other class, in bins of the "
      "contact radius (all classes together)";
  t.by_distance.addNumerics(
      {{"from", "um"}, {"to", "um"}, {"n", ""}, {"mean", unit}, {"ci_lo", unit}, {"ci_hi", unit}});
  const double edges[] = {0, 1, 2, 4, INFINITY};
  for (int b = 0; b + 1 < 5; ++b) {
    std::vector<double> v;
    for (const auto& l : landings) {
      if (l.cls <= 0) continue;
      if (l.boundary_um >= edges[b] * o.radius_um && l.boundary_um < edges[b + 1] * o.radius_um)
        v.push_back(l.value);
    }
    const stats::Summary s = v.size() >= 2
                                 ? stats::describe(v, o.level, o.resamples, 900 + b)
                                 : stats::Summary{v.size(), NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    t.by_distance.addRow({edges[b] * o.radius_um, edges[b + 1] * o.radius_um, double(s.n), s.mean,
                          s.ci_lo, s.ci_hi});
  }
  return t;
}

Table classSummary(const std::vector<LandingClass>& landings, const ClassTables& tables,
                   const ClassOptions& o, const std::string& unit) {
  // Names safe as dataset names: letters, digits, '_' ("[100]" → "100").
  auto slug = [](const std::string& name) {
    std::string out;
    for (char c : name) {
      if (std::isalnum(static_cast<unsigned char>(c)))
        out += c;
      else if (!out.empty() && out.back() != '_')
        out += '_';
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out.empty() ? std::string("class") : out;
  };
  Table t = Table::ofQuantities("class summary");
  t.description = "per class mean with a domain-clustered error; per pair the block bootstrap";
  t.addQuantity("standard_error");
  const Column& cls = tables.per_class.column("class");
  const Column& name = tables.per_class.column("name");
  std::vector<std::string> slugs;
  for (std::size_t r = 0; r < tables.per_class.rows(); ++r) {
    const int c = static_cast<int>(cls.numbers[r]);
    slugs.push_back(slug(name.texts[r]));
    std::map<int, std::pair<double, double>> by_domain;  // domain → (sum, count)
    double sum = 0, n = 0;
    for (const auto& l : landings) {
      if (l.cls != c || l.share < o.min_share) continue;
      by_domain[l.domain].first += l.value;
      by_domain[l.domain].second += 1;
      sum += l.value, n += 1;
    }
    const double mean = n > 0 ? sum / n : std::nan("");
    double v = 0;
    for (const auto& [d, sc] : by_domain) {
      const double e = sc.first - sc.second * mean;
      v += e * e;
    }
    const double k = static_cast<double>(by_domain.size());
    const double se = k > 1 ? std::sqrt(v * k / (k - 1)) / n : std::nan("");
    t.addRow({"mean_" + slugs.back(), mean, unit, se});
    t.addRow({"domains_" + slugs.back(), k, std::string(""), std::nan("")});
  }
  const Column& a = tables.comparisons.column("a");
  const Column& b = tables.comparisons.column("b");
  for (std::size_t r = 0; r < tables.comparisons.rows(); ++r) {
    const std::string pair = slug(a.texts[r]) + "_" + slug(b.texts[r]);
    t.addRow({"difference_" + pair, tables.comparisons.column("difference").numbers[r], unit,
              tables.comparisons.column("block_se").numbers[r]});
    t.addRow({"block_p_" + pair, tables.comparisons.column("block_p").numbers[r], std::string(""),
              std::nan("")});
  }
  return t;
}

}  // namespace ionmap::seccm
