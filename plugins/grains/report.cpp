#include "grains/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ionmap/io/quicklook.hpp"

namespace ionmap::grains {

Image<std::uint8_t> guideField(const Map& guide) {
  Image<std::uint8_t> region(guide.width(), guide.height(), 0);
  for (int y = 0; y < guide.height(); ++y) {
    for (int x = 0; x < guide.width(); ++x)
      region(x, y) = guide.mask(x, y) && std::isfinite(guide.values(x, y));
  }
  return region;
}

std::vector<std::pair<std::string, std::string>> segmentationNotes(const Segmentation& s,
                                                                   const SegmentationQuality& q) {
  return {{"grains", std::to_string(s.labels.maxLabel())},
          {"merged_small_grains", std::to_string(s.merged_small)},
          {"off_sample_fraction", fmt::format("{:.4f}", s.off_sample_fraction)},
          {"expected_grains", fmt::format("{:.0f}", q.expected_grains)},
          {"median_grain_area_um2", fmt::format("{:.4g}", q.median_area_um2)},
          {"grain_area_cv", fmt::format("{:.3f}", q.area_cv)},
          {"large_grain_area_fraction", fmt::format("{:.3f}", q.large_area_fraction)}};
}

std::vector<std::string> segmentationWarnings(const SegmentationQuality& q, double grain_size_um,
                                              bool guided) {
  std::vector<std::string> out;
  const std::string where = guided ? " inside the guide's field" : "";
  const double ratio = q.grains / std::max(q.expected_grains, 1e-300);
  if (ratio < 0.67 || ratio > 1.5) {
    out.push_back(fmt::format(
        "found {} grains{} where grain_size {} um suggests about {:.0f} (x{:.2f}): either "
        "the grain size is off, or boundaries were {}; check the labels' quicklook",
        q.grains, where, grain_size_um, q.expected_grains, ratio,
        ratio < 1 ? "missed (grains merged)" : "invented (grains split)"));
  }
  if (q.interior_grains >= 10 && q.large_area_fraction > 0.1) {
    out.push_back(fmt::format(
        "{} of {} grains{} are more than twice the median grain area and hold {:.0f}% of the "
        "area (area CV {:.2f}): they are probably several grains merged across boundaries "
        "too faint in this image{}",
        q.large_grains, q.interior_grains, where, 100 * q.large_area_fraction, q.area_cv,
        guided ? ""
               : "; a second image of the boundaries helps (input `guide`, e.g. the "
                 "registered ToF-SIMS total-ion image)"));
  }
  return out;
}

Table astmTable(const GrainStatistics& s) {
  Table a("ASTM E112 grain size");
  a.addText("method");
  a.addNumeric("G", "");
  a.addNumeric("measure", "");
  a.addText("measure_unit");
  a.columns[0].texts = {"planimetric (Jeffries)", "mean lineal intercept"};
  a.columns[1].numbers = {s.astm.planimetric_G, s.astm.intercept_G};
  a.columns[2].numbers = {s.astm.grains_per_mm2, s.astm.mean_intercept_um};
  a.columns[3].texts = {"grains per mm^2", "um"};
  return a;
}

void writeGrainSizeHistogram(const GrainStatistics& s, int bins, const std::filesystem::path& png) {
  double lo = 1e300, hi = 0;
  for (const auto& g : s.grains)
    lo = std::min(lo, g.equivalent_diameter_um), hi = std::max(hi, g.equivalent_diameter_um);
  const int nb = bins;
  const double width = std::max(1e-12, (hi - lo) / nb);
  LinePlot plot;
  std::vector<double> counts(nb, 0.0);
  for (const auto& g : s.grains)
    ++counts[std::min(nb - 1, static_cast<int>((g.equivalent_diameter_um - lo) / width))];
  for (int i = 0; i < nb; ++i) {
    // Steps: each bin drawn as a flat top.
    plot.x.push_back(lo + i * width), plot.y.push_back(counts[i]);
    plot.x.push_back(lo + (i + 1) * width), plot.y.push_back(counts[i]);
  }
  plot.title = fmt::format(
      "Grain size distribution ({} grains; ASTM G = {:.1f} planimetric, {:.1f} intercept)",
      s.grains.size(), s.astm.planimetric_G, s.astm.intercept_G);
  plot.x_label = "equivalent diameter (\xC2\xB5m)";
  plot.y_label = "grains per bin";
  writeLinePlot(plot, png);
}

}  // namespace ionmap::grains
