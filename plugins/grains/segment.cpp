#include "grains/segment.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <queue>

#include <fmt/format.h>
#include <tbb/parallel_for.h>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"

namespace ionmap::grains {

Image<std::uint8_t> boundaryPixels(const LabelMap& l) {
  Image<std::uint8_t> b(l.width(), l.height(), 0);
  for (int y = 0; y < l.height(); ++y) {
    for (int x = 0; x < l.width(); ++x) {
      // Between two grains only: the edge of an area without grains (off the sample) is no
      // grain boundary.
      const auto v = l.labels(x, y);
      if (v <= 0) continue;
      const auto r = x + 1 < l.width() ? l.labels(x + 1, y) : v;
      const auto d = y + 1 < l.height() ? l.labels(x, y + 1) : v;
      if ((r > 0 && r != v) || (d > 0 && d != v)) b(x, y) = 1;
    }
  }
  return b;
}

SegmentationQuality assessSegmentation(const LabelMap& l, double grain_size_um,
                                       const Image<std::uint8_t>* region) {
  SegmentationQuality q;
  const int max_label = l.maxLabel();
  std::vector<double> area(static_cast<std::size_t>(max_label) + 1, 0);
  std::vector<std::uint8_t> edge(area.size(), 0), seen(area.size(), 0);
  double region_pixels = 0;
  for (int y = 0; y < l.height(); ++y) {
    for (int x = 0; x < l.width(); ++x) {
      const int v = l.labels(x, y);
      const bool in = !region || (*region)(x, y);
      if (v <= 0) continue;  // no grain (off the sample): not part of the area judged
      region_pixels += in;
      const auto k = static_cast<std::size_t>(v);
      area[k] += 1;
      seen[k] |= in;
      const bool next_to_none = (x > 0 && l.labels(x - 1, y) <= 0) ||
                                (y > 0 && l.labels(x, y - 1) <= 0) ||
                                (x + 1 < l.width() && l.labels(x + 1, y) <= 0) ||
                                (y + 1 < l.height() && l.labels(x, y + 1) <= 0);
      if (!in || next_to_none || x == 0 || y == 0 || x + 1 == l.width() || y + 1 == l.height())
        edge[k] = 1;
    }
  }
  const double pixel_area = l.grid.pixel_x * l.grid.pixel_y;
  std::vector<double> inner;
  for (std::size_t v = 1; v < area.size(); ++v) {
    if (seen[v]) ++q.grains;
    if (seen[v] && !edge[v]) inner.push_back(area[v] * pixel_area);
  }
  q.expected_grains = region_pixels * pixel_area / (M_PI / 4 * grain_size_um * grain_size_um);
  q.interior_grains = static_cast<int>(inner.size());
  if (inner.size() < 3) return q;
  std::vector<double> sorted = inner;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  q.median_area_um2 = sorted[sorted.size() / 2];
  double sum = 0, sum2 = 0, large = 0;
  for (double a : inner) {
    sum += a, sum2 += a * a;
    if (a > 2 * q.median_area_um2) ++q.large_grains, large += a;
  }
  const double n = static_cast<double>(inner.size()), mean = sum / n;
  q.area_cv = std::sqrt(std::max(0.0, sum2 / n - mean * mean)) / mean;
  q.large_area_fraction = large / sum;
  return q;
}

namespace {

// Largest Hessian eigenvalue (valley response) at scale sigma, scale-normalised.
cv::Mat valleyResponse(const cv::Mat& img, double sigma) {
  cv::Mat s, xx, yy, xy;
  cv::GaussianBlur(img, s, cv::Size(), sigma);
  cv::Sobel(s, xx, CV_64F, 2, 0, 3);
  cv::Sobel(s, yy, CV_64F, 0, 2, 3);
  cv::Sobel(s, xy, CV_64F, 1, 1, 3);
  cv::Mat out(img.size(), CV_64F);
  tbb::parallel_for(0, img.rows, [&](int y) {
    const double *pa = xx.ptr<double>(y), *pc = yy.ptr<double>(y), *pb = xy.ptr<double>(y);
    double* o = out.ptr<double>(y);
    for (int x = 0; x < img.cols; ++x) {
      const double a = pa[x], c = pc[x], b = pb[x];
      const double l = 0.5 * (a + c) + std::sqrt(0.25 * (a - c) * (a - c) + b * b);
      o[x] = sigma * sigma * std::max(l, 0.0);
    }
  });
  return out;
}

// Dark-line response that a step does not shift: at each pixel, over four directions, how
// much darker the pixel is than the darker of its two neighbours at ±d along that direction
// (min(I(p − d e), I(p + d e)) − I(p), at least 0), the largest over the directions. A dip between
// two grains of different level peaks at the dip's centre; a plain step gives nothing. (A Hessian's
// ridge moves towards the darker grain.)
cv::Mat barResponse(const cv::Mat& smoothed, int d) {
  cv::Mat out = cv::Mat::zeros(smoothed.size(), CV_64F);
  const int dirs[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
  for (const auto& e : dirs) {
    const int ex = e[0] * d, ey = e[1] * d;
    for (int y = 0; y < smoothed.rows; ++y) {
      const int ya = std::clamp(y - ey, 0, smoothed.rows - 1),
                yb = std::clamp(y + ey, 0, smoothed.rows - 1);
      const double *ra = smoothed.ptr<double>(ya), *rb = smoothed.ptr<double>(yb),
                   *r = smoothed.ptr<double>(y);
      double* o = out.ptr<double>(y);
      for (int x = 0; x < smoothed.cols; ++x) {
        const int xa = std::clamp(x - ex, 0, smoothed.cols - 1),
                  xb = std::clamp(x + ex, 0, smoothed.cols - 1);
        o[x] = std::max(o[x], std::min(ra[xa], rb[xb]) - r[x]);
      }
    }
  }
  return out;
}

// The q-quantile of m's values (where `where` is non-zero, or everywhere), at least 1e-300.
double percentile(const cv::Mat& m, const cv::Mat& where, double q) {
  std::vector<double> v;
  for (int y = 0; y < m.rows; ++y) {
    for (int x = 0; x < m.cols; ++x) {
      if (where.empty() || where.at<uchar>(y, x)) v.push_back(m.at<double>(y, x));
    }
  }
  if (v.empty()) return 1.0;
  const auto k = static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return std::max(v[static_cast<std::size_t>(k)], 1e-300);
}

// The values carried `band` pixels out across the edge of the valid region, each new pixel
// the mean of its valid or already-filled neighbours; 0 beyond. Filters then see no step at
// the edge of a measured field.
cv::Mat extendAcrossEdge(const cv::Mat& values, const cv::Mat& valid, int band) {
  cv::Mat known, sum, count, mean_n;
  valid.convertTo(known, CV_64F, 1.0 / 255.0);
  cv::Mat out = values.mul(known);
  for (int it = 0; it < band; ++it) {
    cv::boxFilter(out, sum, -1, cv::Size(3, 3), cv::Point(-1, -1), false);
    cv::boxFilter(known, count, -1, cv::Size(3, 3), cv::Point(-1, -1), false);
    const cv::Mat grow = (known == 0) & (count > 0);
    cv::divide(sum, cv::max(count, 1e-12), mean_n);
    mean_n.copyTo(out, grow);
    known.setTo(1.0, grow);
  }
  return out;
}

// A guide's dark lines on the image's grid, each scaled by its own 99.5th percentile over
// the guide's field (0 outside): `response` (Hessian valleys at the guide's measured
// resolution) for the topology, `bar` (step-proof) for drawing lines. Both empty when the
// guide has no valid pixel.
struct GuideLines {
  cv::Mat response, bar;
};

GuideLines guideLines(const Map& gm, const Map& image, double resolution_um) {
  if (gm.width() != image.width() || gm.height() != image.height()) {
    throw ProcessingError(
        fmt::format("the guide '{}' is {} x {} px, the image {} x {}: resample the guide onto the "
                    "image's grid first",
                    gm.name, gm.width(), gm.height(), image.width(), image.height()));
  }
  GuideLines g;
  cv::Mat gv = cvb::view(gm.values).clone();
  cv::Mat gvalid = cvb::view(gm.mask) != 0;
  cv::bitwise_and(gvalid, gv == gv, gvalid);
  if (cv::countNonZero(gvalid) == 0) return g;
  cv::Scalar gmean, gsd;
  cv::meanStdDev(gv, gmean, gsd, gvalid);
  gv = (gv - gmean[0]) / std::max(gsd[0], 1e-300);
  double res = resolution_um > 0 ? resolution_um : gm.grid.pixel_x;
  if (resolution_um <= 0) {
    for (const auto& [k, v] : gm.metadata) {
      if (k == "measured_pixel_um") res = std::max(res, std::atof(v.c_str()));
    }
  }
  const double sigma = std::max(1.0, res / image.grid.pixel_x);
  // The edge of the measured field must not look like a boundary, and the grains along it
  // (at the source edge of a diffusion map: the ones that matter most) need the guide as much
  // as any: the values are carried across the edge before filtering, and only the outermost
  // measured pixel is left out afterwards.
  gv = extendAcrossEdge(gv, gvalid, static_cast<int>(std::ceil(4 * sigma)) + 2);
  g.response = valleyResponse(gv, sigma);
  cv::Mat gs;
  cv::GaussianBlur(gv, gs, cv::Size(), sigma);
  g.bar = barResponse(gs, std::max(1, static_cast<int>(std::lround(2 * sigma))));
  cv::erode(gvalid, gvalid, cv::Mat(), cv::Point(-1, -1), 1);
  if (cv::countNonZero(gvalid) == 0) return {};
  g.response.setTo(0.0, ~gvalid);
  g.bar.setTo(0.0, ~gvalid);
  g.response /= percentile(g.response, gvalid, 0.995);
  g.bar /= percentile(g.bar, gvalid, 0.995);
  return g;
}

// Off the sample: a large area far darker than the sample (below 35 % of the median
// brightness at the scale of half a grain), e.g. beyond a cross-section's edge; its edge then
// refined pixel by pixel. Vignetting darkens corners by tens of percent, not by ×3; dust
// specks are far smaller than two grains. `grain_px`: the grain size in pixels along x,
// `grain_area_px`: its square in pixel areas. CV_8U, 255 = off the sample.
cv::Mat offSampleMask(const cv::Mat& img, const cv::Mat& valid, double grain_px,
                      double grain_area_px) {
  cv::Mat off_sample = cv::Mat::zeros(img.size(), CV_8U);
  cv::Mat local;
  const double scale = std::max(1.0, 0.5 * grain_px);
  cv::GaussianBlur(img, local, cv::Size(), scale);
  std::vector<double> v;
  for (int y = 0; y < img.rows; y += 2) {
    for (int x = 0; x < img.cols; x += 2) {
      if (valid.at<uchar>(y, x)) v.push_back(local.at<double>(y, x));
    }
  }
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  const double median = v[v.size() / 2];
  if (!(median > 0)) return off_sample;
  cv::Mat cc, cs, cc_centroids;
  const int nc =
      cv::connectedComponentsWithStats(local < 0.35 * median, cc, cs, cc_centroids, 8, CV_32S);
  const double min_area = 2 * M_PI / 4 * grain_area_px;
  for (int i = 1; i < nc; ++i) {
    if (cs.at<int>(i, cv::CC_STAT_AREA) >= min_area) off_sample.setTo(255, cc == i);
  }
  if (cv::countNonZero(off_sample) == 0) return off_sample;
  // The edge at pixel resolution: near the area found at grain scale, the pixels that are
  // themselves that dark (lightly smoothed).
  const int reach = static_cast<int>(std::ceil(3 * scale));
  cv::Mat near, fine;
  cv::dilate(off_sample, near,
             cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * reach + 1, 2 * reach + 1)));
  cv::GaussianBlur(img, fine, cv::Size(), 1.0);
  return near & (fine < 0.35 * median);
}

// 8-bit image scaled between two percentiles (robust to a few extreme pixels).
cv::Mat toByte(const cv::Mat& m, double lo_q, double hi_q) {
  cv::Mat flat = m.reshape(1, 1).clone();
  const int n = flat.cols;
  const int kl = static_cast<int>(lo_q * (n - 1)), kh = static_cast<int>(hi_q * (n - 1));
  std::nth_element(flat.ptr<double>(), flat.ptr<double>() + kl, flat.ptr<double>() + n);
  const double lo = flat.at<double>(kl);
  std::nth_element(flat.ptr<double>(), flat.ptr<double>() + kh, flat.ptr<double>() + n);
  const double hi = std::max(flat.at<double>(kh), lo + 1e-300);
  cv::Mat out;
  m.convertTo(out, CV_8U, 255.0 / (hi - lo), -lo * 255.0 / (hi - lo));
  return out;
}

// Seeded region growing over a relief (Meyer's flooding with a 256-level bucket queue):
// every unlabelled pixel takes the label of the flood that reaches it first, floods advancing
// in order of altitude, so that they meet on the crests. (cv::watershed floods the *colour
// difference* between neighbours instead, which puts the lines on the flanks of a wide
// groove.) Markers: > 0 labels, 0 unlabelled, < 0 barriers (off the sample: never flooded).
void floodFromMarkers(const cv::Mat& relief, cv::Mat& markers) {
  std::vector<std::vector<int>> buckets(256);
  const int w = markers.cols, h = markers.rows;
  std::vector<std::uint8_t> queued(static_cast<std::size_t>(w) * h, 0);
  auto push = [&](int x, int y) {
    const std::size_t i = static_cast<std::size_t>(y) * w + x;
    if (queued[i] || markers.at<int>(y, x) != 0) return;
    queued[i] = 1;
    buckets[relief.at<uchar>(y, x)].push_back(static_cast<int>(i));
  };
  static const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (markers.at<int>(y, x) <= 0) continue;
      for (int k = 0; k < 4; ++k) {
        const int xx = x + dx[k], yy = y + dy[k];
        if (xx >= 0 && yy >= 0 && xx < w && yy < h) push(xx, yy);
      }
    }
  }
  for (int level = 0; level < 256; ++level) {
    auto& b = buckets[level];
    for (std::size_t q = 0; q < b.size(); ++q) {  // b grows while we walk it: same-level FIFO
      const int x = b[q] % w, y = b[q] / w;
      // The flood from the lowest labelled neighbour wins; on a tie (a crest between two
      // grains) the pixel's parity picks the side, so that boundaries drawn on a flat crest lie
      // on it on average instead of always a pixel to one side (a fixed neighbour order put
      // every crest pixel in the grain to its right).
      int label = 0, lowest = 256, ties = 0;
      const int first = (x + y) % 2 == 0 ? 0 : 3, step = first == 0 ? 1 : -1;
      for (int n = 0, k = first; n < 4; ++n, k += step) {
        const int xx = x + dx[k], yy = y + dy[k];
        if (xx < 0 || yy < 0 || xx >= w || yy >= h || markers.at<int>(yy, xx) <= 0) continue;
        const int r = relief.at<uchar>(yy, xx);
        if (r < lowest) {
          lowest = r, label = markers.at<int>(yy, xx), ties = 1;
        } else if (r == lowest && markers.at<int>(yy, xx) != label && ++ties == 2 &&
                   ((x / 2 + y / 2) % 2 == 1)) {
          label = markers.at<int>(yy, xx);
        }
      }
      markers.at<int>(y, x) = label;
      for (int k = 0; k < 4; ++k) {
        const int xx = x + dx[k], yy = y + dy[k];
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const std::size_t i = static_cast<std::size_t>(yy) * w + xx;
        if (queued[i] || markers.at<int>(yy, xx) != 0) continue;
        queued[i] = 1;
        // A lower neighbour joins the current level (floods never go back down).
        buckets[std::max<int>(level, relief.at<uchar>(yy, xx))].push_back(static_cast<int>(i));
      }
    }
    b.clear();
    b.shrink_to_fit();
  }
}

// A very wide Gaussian blur (the slow background), computed on a copy shrunk so that the
// kernel stays ~8 pixels wide, then enlarged again: the same result for a fraction of the
// cost of a kernel hundreds of pixels wide.
cv::Mat smoothBackground(const cv::Mat& img, double sigma) {
  const double k = std::max(1.0, std::floor(sigma / 8));
  if (k <= 1) {
    cv::Mat bg;
    cv::GaussianBlur(img, bg, cv::Size(), sigma);
    return bg;
  }
  cv::Mat small, bg;
  cv::resize(img, small,
             cv::Size(std::max(1, static_cast<int>(img.cols / k)),
                      std::max(1, static_cast<int>(img.rows / k))),
             0, 0, cv::INTER_AREA);
  cv::GaussianBlur(small, small, cv::Size(), sigma / k);
  cv::resize(small, bg, img.size(), 0, 0, cv::INTER_LINEAR);
  return bg;
}

// Merges labels smaller than `min_area` pixels into the neighbour they share most boundary
// with, repeatedly; returns how many were merged.
int mergeSmall(cv::Mat& labels, int min_area) {
  int merged = 0;
  double max_label = 0;
  cv::minMaxLoc(labels, nullptr, &max_label);
  const auto n = static_cast<std::size_t>(max_label) + 1;
  for (int pass = 0; pass < 10; ++pass) {
    std::vector<int> area(n, 0);
    for (int y = 0; y < labels.rows; ++y) {
      const int* row = labels.ptr<int>(y);
      for (int x = 0; x < labels.cols; ++x) ++area[static_cast<std::size_t>(std::max(0, row[x]))];
    }
    std::vector<std::uint8_t> small(n, 0);
    bool any = false;
    for (std::size_t l = 1; l < n; ++l) {
      if (area[l] > 0 && area[l] < min_area) small[l] = 1, any = true;
    }
    if (!any) break;
    // Shared boundary of each small label with each neighbour.
    std::map<std::pair<int, int>, int> contact;
    auto touch = [&](int a, int b) {
      if (a != b && a > 0 && b > 0) {
        if (small[static_cast<std::size_t>(a)]) ++contact[{a, b}];
        if (small[static_cast<std::size_t>(b)]) ++contact[{b, a}];
      }
    };
    for (int y = 0; y < labels.rows; ++y) {
      const int* row = labels.ptr<int>(y);
      const int* next = y + 1 < labels.rows ? labels.ptr<int>(y + 1) : nullptr;
      for (int x = 0; x < labels.cols; ++x) {
        if (x + 1 < labels.cols) touch(row[x], row[x + 1]);
        if (next) touch(row[x], next[x]);
      }
    }
    std::vector<int> into(n, 0), best(n, 0);
    for (const auto& [pair, c] : contact) {
      if (c > best[static_cast<std::size_t>(pair.first)])
        best[static_cast<std::size_t>(pair.first)] = c,
        into[static_cast<std::size_t>(pair.first)] = pair.second;
    }
    // Don't chain merges within a pass: a label that receives one is not merged itself.
    int count = 0;
    for (std::size_t l = 1; l < n; ++l) {
      if (into[l] && !into[static_cast<std::size_t>(into[l])])
        ++count;
      else
        into[l] = 0;
    }
    if (!count) break;
    for (int y = 0; y < labels.rows; ++y) {
      int* row = labels.ptr<int>(y);
      for (int x = 0; x < labels.cols; ++x) {
        if (row[x] > 0 && into[static_cast<std::size_t>(row[x])])
          row[x] = into[static_cast<std::size_t>(row[x])];
      }
    }
    merged += count;
  }
  return merged;
}

}  // namespace

bool SegmentOptions::IsValid(std::string* error) const {
  std::string why;
  if (!(grain_size_um > 0 && groove_width_um > 0))
    why = "the grain size and groove width must be > 0 um";
  else if (groove_width_um >= grain_size_um)
    why = "the groove width (groove_width) must be smaller than the grain size (grain_size)";
  else if (!(min_grain_fraction >= 0 && min_grain_fraction <= 1))
    why = "min_grain_fraction must be in [0, 1]";
  else if (!(guide_resolution_um >= 0))
    why = "the guide's resolution must be >= 0 um";
  if (error) *error = why;
  return why.empty();
}

Segmentation segmentGrains(const Map& image, const SegmentOptions& o) {
  if (std::string why; !o.IsValid(&why)) throw UsageError("segmentation options: " + why);
  image.checkConsistent();
  const double px = image.grid.pixel_x;
  if (o.grain_size_um > std::max(image.grid.extentX(), image.grid.extentY())) {
    throw ProcessingError(
        fmt::format("expected grain size {} um is larger than the field ({:.4g} x {:.4g} um)",
                    o.grain_size_um, image.grid.extentX(), image.grid.extentY()));
  }
  if (o.groove_width_um < 0.5 * px) {
    throw ProcessingError(fmt::format("groove width {} um is narrower than half a pixel ({} um)",
                                      o.groove_width_um, px));
  }
  cv::Mat img = cvb::view(image.values).clone();
  const cv::Mat valid = cvb::view(image.mask) != 0;
  cv::Scalar mean, sd;
  cv::meanStdDev(img, mean, sd, valid);
  if (!(sd[0] > 1e-12 * (std::abs(mean[0]) + 1e-300))) {
    throw ProcessingError("image '" + image.name + "' is uniform: there is nothing to segment");
  }
  const cv::Mat off_sample =
      offSampleMask(img, valid, o.grain_size_um / px,
                    o.grain_size_um * o.grain_size_um / (px * image.grid.pixel_y));
  cv::Mat on_sample = valid & ~off_sample;
  if (cv::countNonZero(on_sample) == 0)
    throw ProcessingError("image '" + image.name + "' shows no sample: it is dark everywhere");
  cv::meanStdDev(img, mean, sd, on_sample);
  img.setTo(mean[0], ~on_sample);
  img = (img - mean[0]) / std::max(sd[0], 1e-300);
  // Background flattening: remove variations slower than a few grains.
  img -= smoothBackground(img, 2.0 * o.grain_size_um / px);
  // Boundary response over scales around the groove width.
  const double w = o.groove_width_um / px;
  cv::Mat response = cv::Mat::zeros(img.size(), CV_64F);
  if (o.contrast == BoundaryContrast::kSteps) {
    for (double s : {0.5 * w, w, 2 * w}) {
      cv::Mat g, gx, gy, mag;
      cv::GaussianBlur(img, g, cv::Size(), std::max(0.5, s));
      cv::Sobel(g, gx, CV_64F, 1, 0);
      cv::Sobel(g, gy, CV_64F, 0, 1);
      cv::magnitude(gx, gy, mag);
      response = cv::max(response, mag * std::max(0.5, s));
    }
  } else {
    const cv::Mat src = o.contrast == BoundaryContrast::kDarkGrooves ? img : cv::Mat(-img);
    for (double s : {0.5 * w, w, 2 * w})
      response = cv::max(response, valleyResponse(src, std::max(0.5, s)));
  }
  // A second image of the same boundaries (valid where it was measured): its dark-line
  // response at its own resolution joins the image's, each scaled by its own high percentile.
  cv::Mat guide_response, image_response, guide_bar;
  if (o.guide) {
    GuideLines g = guideLines(*o.guide, image, o.guide_resolution_um);
    if (!g.response.empty()) {
      guide_response = std::move(g.response);
      guide_bar = std::move(g.bar);
      image_response = response / percentile(response, cv::Mat(), 0.995);
      response = cv::max(image_response, guide_response);
    }
  }
  // 8-bit response for Otsu, scaled by a high percentile rather than the maximum, so that a
  // few very strong edges don't squash every other boundary into a handful of grey levels.
  const cv::Mat r8 = toByte(response, 0.0, 0.995);
  cv::Mat boundary;
  const double otsu = cv::threshold(r8, boundary, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  // Steps between regions of similar value are weak edges: a global Otsu split between "edge"
  // and "interior" misses them, so step maps use half its level.
  if (o.contrast == BoundaryContrast::kSteps)
    cv::threshold(r8, boundary, 0.5 * otsu, 255, cv::THRESH_BINARY);
  // Close small gaps in the boundary network.
  const int close = std::max(1, static_cast<int>(std::lround(w)));
  cv::morphologyEx(
      boundary, boundary, cv::MORPH_CLOSE,
      cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * close + 1, 2 * close + 1)));
  // Markers: the grain interiors left between the boundaries (eroded a little, so that thin
  // leaks through gaps in a groove don't join two grains); specks are dropped.
  cv::Mat inside = boundary == 0;
  cv::erode(inside, inside,
            cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * close + 1, 2 * close + 1)));
  cv::Mat markers, stats, centroids;
  const int n = cv::connectedComponentsWithStats(inside, markers, stats, centroids, 4, CV_32S);
  const double expected_area =
      M_PI / 4 * o.grain_size_um * o.grain_size_um / (px * image.grid.pixel_y);
  // A grain interior is thicker than a groove: thin slivers left inside wide grooves are not.
  cv::Mat dist;
  cv::distanceTransform(inside, dist, cv::DIST_L2, 3);
  std::vector<float> thickness(static_cast<std::size_t>(n), 0.0f);
  for (int y = 0; y < markers.rows; ++y) {
    for (int x = 0; x < markers.cols; ++x) {
      float& t = thickness[static_cast<std::size_t>(markers.at<int>(y, x))];
      t = std::max(t, dist.at<float>(y, x));
    }
  }
  int kept = 0;
  std::vector<int> relabel(static_cast<std::size_t>(n), 0);
  for (int i = 1; i < n; ++i) {
    if (stats.at<int>(i, cv::CC_STAT_AREA) >= 0.02 * expected_area &&
        thickness[static_cast<std::size_t>(i)] >= std::max(1.5, w)) {
      relabel[static_cast<std::size_t>(i)] = ++kept;
    }
  }
  if (kept == 0)
    throw ProcessingError(
        "no grain interiors found: check grain_size and groove_width against the image");
  for (int y = 0; y < markers.rows; ++y) {
    for (int x = 0; x < markers.cols; ++x) {
      markers.at<int>(y, x) = off_sample.at<uchar>(y, x)
                                  ? -1
                                  : relabel[static_cast<std::size_t>(markers.at<int>(y, x))];
    }
  }
  // The response decides the topology (one marker per grain); the flooding runs over the
  // lightly smoothed image itself for lines: a groove's centre is its darkest line, while the
  // Hessian ridge shifts towards the darker grain wherever two grains differ in brightness.
  cv::Mat flood;
  if (o.contrast == BoundaryContrast::kSteps) {
    flood = r8;
  } else {
    cv::Mat smooth;
    cv::GaussianBlur(o.contrast == BoundaryContrast::kDarkGrooves ? cv::Mat(-img) : img, smooth,
                     cv::Size(), std::max(0.5, 0.5 * w));
    // Where the image shows the line clearly, the line is drawn on the image: the guide's
    // lines lie on its coarser grid and move towards the darker grain wherever its grains
    // differ in yield, and at full weight would bias every boundary (κ by 1–5 % on clear
    // images). Its (step-proof) bar response only steadies the line there (weight 0.5 against
    // the image's unit variance), and pulls the flood's meeting line onto the guide's line
    // where the guide shows it more clearly than the image (up to weight 3).
    if (!guide_response.empty()) {
      // The guide's share: how much more clearly it shows a line here than the image does
      // (both responses scaled by their own high percentile, averaged over a groove width).
      cv::Mat ir, gr;
      const double sw = std::max(1.0, w);
      cv::GaussianBlur(image_response, ir, cv::Size(), sw);
      cv::GaussianBlur(guide_response, gr, cv::Size(), sw);
      cv::Mat weight = 1.0 - ir / (gr + 1e-3);
      weight = cv::max(cv::min(weight, 1.0), 0.0);
      cv::Scalar sm, ss;
      cv::meanStdDev(smooth, sm, ss);
      smooth = (smooth - sm[0]) / std::max(ss[0], 1e-300) + guide_bar.mul(0.5 + 2.5 * weight);
    }
    flood = toByte(smooth, 0.01, 0.999);
  }
  floodFromMarkers(flood, markers);
  Segmentation out;
  out.off_sample_fraction = static_cast<double>(cv::countNonZero(off_sample)) / off_sample.total();
  out.merged_small =
      mergeSmall(markers, static_cast<int>(std::lround(o.min_grain_fraction * expected_area)));
  // Consecutive labels 1..n.
  std::map<int, int> renum;
  out.labels = LabelMap(image.name + " grains", image.grid);
  for (int y = 0; y < markers.rows; ++y) {
    for (int x = 0; x < markers.cols; ++x) {
      const int m = markers.at<int>(y, x);
      if (m <= 0) continue;
      auto it = renum.emplace(m, static_cast<int>(renum.size()) + 1).first;
      out.labels.labels(x, y) = it->second;
    }
  }
  out.boundary = boundaryPixels(out.labels);
  return out;
}

}  // namespace ionmap::grains
