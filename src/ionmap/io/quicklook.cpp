#include "ionmap/io/quicklook.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "ionmap/core/cv_bridge.hpp"
#include "ionmap/core/error.hpp"
#include "ionmap/core/units.hpp"
#include "ionmap/io/image_codecs.hpp"

namespace ionmap {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kWhite(255, 255, 255), kBlack(0, 0, 0), kGrey(128, 128, 128);

// Hershey fonts are ASCII only; "µ" (UTF-8 C2 B5) is drawn as a 'u' with a descender.
void drawText(cv::Mat& img, const std::string& text, cv::Point org, double scale,
              const cv::Scalar& color, int thickness = 1) {
  int x = org.x;
  std::string run;
  auto flush = [&] {
    if (run.empty()) return;
    cv::putText(img, run, {x, org.y}, kFont, scale, color, thickness, cv::LINE_AA);
    int base = 0;
    x += cv::getTextSize(run, kFont, scale, thickness, &base).width;
    run.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xC2 && i + 1 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) == 0xB5) {
      flush();
      cv::putText(img, "u", {x, org.y}, kFont, scale, color, thickness, cv::LINE_AA);
      int base = 0;
      const cv::Size s = cv::getTextSize("u", kFont, scale, thickness, &base);
      const int stem_x = x + std::max(1, static_cast<int>(std::lround(2 * scale)));
      cv::line(img, {stem_x, org.y - s.height / 2}, {stem_x, org.y + s.height / 2}, color,
               thickness, cv::LINE_AA);
      x += s.width;
      ++i;
    } else {
      run += text[i];
    }
  }
  flush();
}

int textWidth(const std::string& text, double scale, int thickness = 1) {
  int base = 0;
  // Each two-byte "µ" is drawn as one 'u'.
  std::string ascii;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xC2 && i + 1 < text.size()) {
      ascii += 'u';
      ++i;
    } else {
      ascii += text[i];
    }
  }
  return cv::getTextSize(ascii, kFont, scale, thickness, &base).width;
}

cv::Mat coolwarmLut() {
  cv::Mat lut(256, 1, CV_8UC3);
  // Blue (59, 76, 192) → light grey (221, 221, 221) → red (180, 4, 38), as RGB.
  const double lo[3] = {59, 76, 192}, mid[3] = {221, 221, 221}, hi[3] = {180, 4, 38};
  for (int i = 0; i < 256; ++i) {
    const double t = i / 255.0;
    double rgb[3];
    for (int c = 0; c < 3; ++c) {
      rgb[c] = t < 0.5 ? lo[c] + (mid[c] - lo[c]) * (t / 0.5)
                       : mid[c] + (hi[c] - mid[c]) * ((t - 0.5) / 0.5);
    }
    lut.at<cv::Vec3b>(i) = cv::Vec3b(static_cast<uchar>(rgb[2]), static_cast<uchar>(rgb[1]),
                                     static_cast<uchar>(rgb[0]));
  }
  return lut;
}

void applyColormap(const cv::Mat& gray8, cv::Mat& bgr, const std::string& name) {
  if (name == "gray") {
    cv::cvtColor(gray8, bgr, cv::COLOR_GRAY2BGR);
  } else if (name == "coolwarm") {
    cv::applyColorMap(gray8, bgr, coolwarmLut());
  } else {
    static const std::pair<const char*, int> maps[] = {
        {"viridis", cv::COLORMAP_VIRIDIS},  {"inferno", cv::COLORMAP_INFERNO},
        {"magma", cv::COLORMAP_MAGMA},      {"plasma", cv::COLORMAP_PLASMA},
        {"cividis", cv::COLORMAP_CIVIDIS},  {"turbo", cv::COLORMAP_TURBO},
        {"twilight", cv::COLORMAP_TWILIGHT}};
    for (const auto& [n, id] : maps) {
      if (name == n) {
        cv::applyColorMap(gray8, bgr, id);
        return;
      }
    }
    throw ProcessingError("unknown colormap '" + name + "'; choose one of " + quicklookColormaps());
  }
}

// Display scale: small maps are enlarged by an integer factor, large ones shrunk.
double displayScale(int w, int h) {
  const int longest = std::max(w, h);
  if (longest < 384) return std::floor(512.0 / longest);
  if (longest > 1024) return 1024.0 / longest;
  return 1.0;
}

cv::Mat resizeForDisplay(const cv::Mat& img, double s, int interpolation_large) {
  if (s == 1.0) return img;
  cv::Mat out;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(img.cols * s))),
                      std::max(1, static_cast<int>(std::lround(img.rows * s))));
  cv::resize(img, out, size, 0, 0, s > 1.0 ? cv::INTER_NEAREST : interpolation_large);
  return out;
}

double niceLength(double target) {
  const double p = std::pow(10.0, std::floor(std::log10(target)));
  for (double m : {5.0, 2.0, 1.0}) {
    if (m * p <= target) return m * p;
  }
  return p;
}

std::string lengthLabel(double um) {
  if (um >= 1000.0) return fmt::format("{:g} mm", um / 1000.0);
  if (um < 1.0) return fmt::format("{:g} nm", um * 1000.0);
  return fmt::format("{:g} \xC2\xB5m", um);
}

void drawScaleBar(cv::Mat& canvas, cv::Rect area, const Grid& grid, double s) {
  if (!grid.calibrated) {
    drawText(canvas, "uncalibrated (no pixel size)", {area.x + 8, area.y + area.height - 10}, 0.45,
             kWhite);
    return;
  }
  const double field = grid.extentX();
  const double len_um = niceLength(field * 0.2);
  const int len_px = std::max(2, static_cast<int>(std::lround(len_um / grid.pixel_x * s)));
  const std::string label = lengthLabel(len_um);
  const int tw = textWidth(label, 0.5);
  const int box_w = std::max(len_px, tw) + 16;
  const cv::Rect box(area.x + 10, area.y + area.height - 44, box_w, 34);
  cv::Mat roi = canvas(box & cv::Rect(0, 0, canvas.cols, canvas.rows));
  roi *= 0.35;  // darken behind the bar so it reads on any colour
  const int bx = box.x + (box_w - len_px) / 2;
  cv::rectangle(canvas, {bx, box.y + 24}, {bx + len_px - 1, box.y + 29}, kWhite, cv::FILLED);
  drawText(canvas, label, {box.x + (box_w - tw) / 2, box.y + 18}, 0.5, kWhite);
}

cv::Mat boundaryMask(const LabelMap& labels) {
  cv::Mat b(labels.height(), labels.width(), CV_8U, cv::Scalar(0));
  for (int y = 0; y < labels.height(); ++y) {
    for (int x = 0; x < labels.width(); ++x) {
      const auto l = labels.labels(x, y);
      const bool edge = (x + 1 < labels.width() && labels.labels(x + 1, y) != l) ||
                        (y + 1 < labels.height() && labels.labels(x, y + 1) != l);
      if (edge) b.at<uchar>(y, x) = 255;
    }
  }
  return b;
}

// Title band on top, image, optional colorbar on the right.
struct Layout {
  static constexpr int kMargin = 12, kTitle = 40, kBarGap = 18, kBarW = 20, kLabels = 96;
  cv::Rect image;
  cv::Rect bar;
  cv::Size canvas;
  Layout(cv::Size img, bool colorbar) {
    image = cv::Rect(kMargin, kTitle, img.width, img.height);
    const int right = colorbar ? kBarGap + kBarW + kLabels : kMargin;
    bar = cv::Rect(image.x + image.width + kBarGap, image.y, kBarW, image.height);
    canvas = cv::Size(image.x + image.width + right, image.y + image.height + kMargin);
  }
};

// Scales a coloured image for display and places it, with a scale bar, on a white canvas.
Layout placeImage(const cv::Mat& color, const Grid& grid, bool colorbar, int shrink_interpolation,
                  cv::Mat& canvas) {
  const double s = displayScale(color.cols, color.rows);
  const cv::Mat shown = resizeForDisplay(color, s, shrink_interpolation);
  Layout layout(shown.size(), colorbar);
  canvas = cv::Mat(layout.canvas, CV_8UC3, kWhite);
  shown.copyTo(canvas(layout.image));
  drawScaleBar(canvas, layout.image, grid, s);
  return layout;
}

void writePng(const cv::Mat& canvas, const std::filesystem::path& png) {
  io::writePng(png, canvas);
}

// The title in the band on top, shrunk to fit in `max_width` (default: the canvas's width).
void drawTitle(cv::Mat& canvas, const std::string& title, int max_width = 0) {
  std::string t = title;
  double scale = 0.65;
  if (max_width <= 0) max_width = canvas.cols - 2 * Layout::kMargin;
  while (scale > 0.35 && textWidth(t, scale) > max_width) scale -= 0.05;
  drawText(canvas, t, {Layout::kMargin, 27}, scale, kBlack, 1);
}

}  // namespace

bool isPlainPngFileName(const std::string& f) {
  return f.size() > 4 && f.find('/') == std::string::npos &&
         f.compare(f.size() - 4, 4, ".png") == 0 && f != ".png";
}

const char* quicklookColormaps() {
  return "viridis, inferno, magma, plasma, cividis, turbo, gray, coolwarm, twilight";
}

bool isQuicklookColormap(const std::string& name) {
  const std::string all = std::string(", ") + quicklookColormaps() + ",";
  return !name.empty() && all.find(", " + name + ",") != std::string::npos;
}

void writeQuicklook(const Map& map, const std::filesystem::path& png, const QuicklookOptions& opt) {
  map.checkConsistent();
  std::vector<double> valid;
  valid.reserve(map.values.size());
  for (std::size_t i = 0; i < map.values.size(); ++i) {
    if (map.mask[i] && std::isfinite(map.values[i])) valid.push_back(map.values[i]);
  }
  if (valid.empty()) {
    throw ProcessingError("quicklook of map '" + map.name + "': no valid pixel to show");
  }
  double lo = opt.vmin, hi = opt.vmax;
  if (!(lo < hi)) {
    auto pct = [&](double p) {
      const auto k = static_cast<std::size_t>(std::lround(p / 100.0 * (valid.size() - 1)));
      std::nth_element(valid.begin(), valid.begin() + k, valid.end());
      return valid[k];
    };
    lo = pct(opt.clip_percent);
    hi = pct(100.0 - opt.clip_percent);
    if (!(lo < hi)) {
      const double pad = std::max(1e-12, std::abs(lo) * 1e-6);
      lo -= pad, hi += pad;
    }
  }
  // Value → 0..255; masked pixels become grey after colouring.
  cv::Mat gray(map.height(), map.width(), CV_8U);
  for (int y = 0; y < map.height(); ++y) {
    for (int x = 0; x < map.width(); ++x) {
      const double t = (map.values(x, y) - lo) / (hi - lo);
      gray.at<uchar>(y, x) = static_cast<uchar>(std::clamp(t, 0.0, 1.0) * 255.0 + 0.5);
    }
  }
  cv::Mat color;
  applyColormap(gray, color, opt.colormap);
  cv::Mat invalid = cvb::view(map.mask) == 0;
  color.setTo(kGrey, invalid);
  if (opt.boundaries) {
    if (!opt.boundaries->labels.sameSize(map.values)) {
      throw ProcessingError(fmt::format(
          "quicklook of '{}': boundary labels are {} x {}, the map is {} x {} (resample first)",
          map.name, opt.boundaries->width(), opt.boundaries->height(), map.width(), map.height()));
    }
    color.setTo(kWhite, boundaryMask(*opt.boundaries));
  }
  cv::Mat canvas;
  const Layout layout = placeImage(color, map.grid, true, cv::INTER_AREA, canvas);
  if (!opt.polylines.empty()) {
    const double scale = displayScale(map.width(), map.height());
    const Transform2D to_pixel = map.grid.physicalToPixel();
    cv::Mat image = canvas(layout.image);
    for (const auto& line : opt.polylines) {
      std::vector<cv::Point> pts;
      for (const Point2& p : line) {
        const Point2 q = to_pixel.apply(p);
        pts.emplace_back(static_cast<int>(std::lround((q.x + 0.5) * scale)),
                         static_cast<int>(std::lround((q.y + 0.5) * scale)));
      }
      cv::polylines(image, pts, false, kBlack, 4, cv::LINE_AA);
      cv::polylines(image, pts, false, kWhite, 2, cv::LINE_AA);
    }
  }

  // Colorbar: top = hi, bottom = lo.
  cv::Mat ramp(layout.bar.height, 1, CV_8U);
  for (int r = 0; r < ramp.rows; ++r) {
    ramp.at<uchar>(r) =
        static_cast<uchar>(255.0 * (ramp.rows - 1 - r) / std::max(1, ramp.rows - 1) + 0.5);
  }
  cv::Mat ramp_color;
  applyColormap(ramp, ramp_color, opt.colormap);
  cv::resize(ramp_color, ramp_color, layout.bar.size(), 0, 0, cv::INTER_NEAREST);
  ramp_color.copyTo(canvas(layout.bar));
  cv::rectangle(canvas, layout.bar, kBlack, 1);
  const int ticks = 5;
  for (int k = 0; k < ticks; ++k) {
    const double frac = static_cast<double>(k) / (ticks - 1);
    const int y =
        layout.bar.y + static_cast<int>(std::lround((1.0 - frac) * (layout.bar.height - 1)));
    const double v = lo + frac * (hi - lo);
    cv::line(canvas, {layout.bar.x + layout.bar.width, y}, {layout.bar.x + layout.bar.width + 4, y},
             kBlack, 1);
    drawText(canvas, fmt::format("{:.4g}", v), {layout.bar.x + layout.bar.width + 7, y + 5}, 0.42,
             kBlack);
  }
  // "1" marks a dimensionless quantity: no unit label.
  if (map.unit != "1") {
    const std::string unit = map.unit.empty() ? "(no unit)" : units::pretty(map.unit);
    drawText(canvas, unit, {layout.bar.x - 2, layout.bar.y - 13}, 0.45, kBlack);
  }

  std::string title = opt.title;
  if (title.empty())
    title = map.name + (map.unit.empty() ? "" : " [" + units::pretty(map.unit) + "]");
  drawTitle(canvas, title, layout.bar.x - 2 * Layout::kMargin);  // clear of the unit's label
  writePng(canvas, png);
}

void writeLabelQuicklook(const LabelMap& labels, const std::filesystem::path& png,
                         const std::string& title) {
  labels.checkConsistent();
  // One colour per label; golden-ratio hues keep neighbouring labels apart.
  const auto max_label = static_cast<std::uint32_t>(std::max(0, labels.maxLabel()));
  cv::Mat hsv(1, static_cast<int>(max_label) + 1, CV_8UC3);
  for (std::uint32_t l = 0; l <= max_label; ++l) {
    hsv.at<cv::Vec3b>(0, static_cast<int>(l)) = cv::Vec3b(
        static_cast<uchar>(std::fmod(l * 0.618033988749895, 1.0) * 180.0),
        static_cast<uchar>(150 + (l * 37) % 100), static_cast<uchar>(170 + (l * 53) % 80));
  }
  cv::Mat palette;
  cv::cvtColor(hsv, palette, cv::COLOR_HSV2BGR);
  cv::Mat color(labels.height(), labels.width(), CV_8UC3, kBlack);
  for (int y = 0; y < labels.height(); ++y) {
    for (int x = 0; x < labels.width(); ++x) {
      const auto l = labels.labels(x, y);
      if (l > 0) color.at<cv::Vec3b>(y, x) = palette.at<cv::Vec3b>(0, l);
    }
  }
  color.setTo(kBlack, boundaryMask(labels));
  cv::Mat canvas;
  placeImage(color, labels.grid, false, cv::INTER_NEAREST, canvas);
  drawTitle(canvas,
            title.empty() ? fmt::format("{} ({} labels)", labels.name, labels.maxLabel()) : title);
  writePng(canvas, png);
}

namespace {

std::vector<double> niceTicks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo)) return ticks;
  const double raw = (hi - lo) / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = p;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  }
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step)
    ticks.push_back(std::abs(t) < 1e-12 * step ? 0.0 : t);
  return ticks;
}

}  // namespace

namespace {

// Series colours (BGR): blue, red, green, orange, purple, grey, cyan, brown.
cv::Scalar seriesColour(int k) {
  static const cv::Scalar kPalette[] = {{160, 70, 20},  {40, 40, 210},  {60, 150, 40},
                                        {20, 130, 240}, {150, 60, 140}, {110, 110, 110},
                                        {190, 170, 30}, {40, 80, 140}};
  return kPalette[((k % 8) + 8) % 8];
}

bool usable(double x, double y, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0);
}

double at(const std::vector<double>& v, std::size_t i) {
  return i < v.size() && std::isfinite(v[i]) ? v[i] : 0.0;
}

struct Axes {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  bool log_y = false;
  cv::Rect area;
  double ty(double v) const { return log_y ? std::log10(v) : v; }
  int px(double x) const {
    return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width));
  }
  int py(double y) const {
    return area.y + area.height -
           static_cast<int>(std::lround((ty(y) - y0) / (y1 - y0) * area.height));
  }
};

void extendX(Axes& a, const PlotPanel& panel) {
  for (const auto& s : panel.series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i], panel.log_y)) continue;
      a.x0 = std::min(a.x0, s.x[i] - at(s.x_error, i));
      a.x1 = std::max(a.x1, s.x[i] + at(s.x_error, i));
    }
  }
}

// The panel's y range; false when it has nothing finite.
bool yRange(Axes& a, const PlotPanel& panel) {
  a.log_y = panel.log_y;
  for (const auto& s : panel.series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i], panel.log_y)) continue;
      const double e = at(s.y_error, i);
      a.y0 = std::min(a.y0, a.ty(s.y[i] - (panel.log_y ? 0 : e)));
      a.y1 = std::max(a.y1, a.ty(s.y[i] + e));
    }
  }
  if (!std::isfinite(a.y0)) return false;
  if (!panel.log_y && panel.include_zero) a.y0 = std::min(a.y0, 0.0), a.y1 = std::max(a.y1, 0.0);
  if (!(a.y1 > a.y0)) a.y0 -= 0.5, a.y1 += 0.5;
  const double pad = 0.05 * (a.y1 - a.y0);
  a.y1 += pad;
  if (!panel.include_zero && !panel.log_y) a.y0 -= pad;
  return true;
}

void drawPanel(cv::Mat& canvas, const Axes& a, const PlotPanel& panel, bool x_tick_labels) {
  const cv::Rect& area = a.area;
  for (const auto& b : panel.bands) {
    const int l = std::clamp(a.px(b.lo), area.x, area.x + area.width),
              r = std::clamp(a.px(b.hi), area.x, area.x + area.width);
    if (r <= l) continue;
    cv::rectangle(canvas, {l, area.y}, {r, area.y + area.height}, cv::Scalar(170, 215, 255),
                  cv::FILLED);
    drawText(canvas, b.label, {l + 2, area.y + 14}, 0.42, cv::Scalar(0, 90, 200));
  }
  cv::rectangle(canvas, area, kBlack, 1);
  for (double t : niceTicks(a.x0, a.x1, 8)) {
    const int x = a.px(t);
    cv::line(canvas, {x, area.y + area.height}, {x, area.y + area.height + 5}, kBlack, 1);
    if (!x_tick_labels) continue;
    const std::string label = fmt::format("{:.6g}", t);
    drawText(canvas, label, {x - textWidth(label, 0.42) / 2, area.y + area.height + 20}, 0.42,
             kBlack);
  }
  const auto yt = a.log_y ? niceTicks(std::ceil(a.y0), std::floor(a.y1), 6)
                          : niceTicks(a.y0, a.y1, area.height > 200 ? 6 : 3);
  for (double t : yt) {
    const double v = a.log_y ? std::pow(10.0, t) : t;
    if (a.log_y && std::abs(t - std::round(t)) > 1e-9) continue;
    const int y = a.py(v);
    cv::line(canvas, {area.x - 5, y}, {area.x, y}, kBlack, 1);
    const std::string label = fmt::format("{:.4g}", v);
    drawText(canvas, label, {area.x - 8 - textWidth(label, 0.42), y + 5}, 0.42, kBlack);
  }
  if (panel.zero_line && !a.log_y && a.y0 < 0 && a.y1 > 0) {
    cv::line(canvas, {area.x, a.py(0)}, {area.x + area.width, a.py(0)}, kGrey, 1, cv::LINE_AA);
  }
  for (std::size_t k = 0; k < panel.series.size(); ++k) {
    const auto& s = panel.series[k];
    const cv::Scalar c = seriesColour(s.colour);
    std::vector<cv::Point> pts;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i], a.log_y)) continue;
      pts.emplace_back(a.px(s.x[i]), a.py(s.y[i]));
      const cv::Scalar bar = s.style == PlotSeries::Style::kMarkers ? c : cv::Scalar(90, 90, 90);
      if (const double e = at(s.y_error, i); e > 0 && !a.log_y)
        cv::line(canvas, {pts.back().x, a.py(s.y[i] - e)}, {pts.back().x, a.py(s.y[i] + e)}, bar, 1,
                 cv::LINE_AA);
      if (const double e = at(s.x_error, i); e > 0)
        cv::line(canvas, {a.px(s.x[i] - e), pts.back().y}, {a.px(s.x[i] + e), pts.back().y}, bar, 1,
                 cv::LINE_AA);
    }
    if (s.style != PlotSeries::Style::kMarkers)
      cv::polylines(canvas, pts, false, c, s.thickness, cv::LINE_AA);
    if (s.style != PlotSeries::Style::kLine) {
      for (const auto& p : pts) cv::circle(canvas, p, 3, c, cv::FILLED, cv::LINE_AA);
    }
  }
  int legend_w = 0;
  for (const auto& s : panel.series) legend_w = std::max(legend_w, textWidth(s.label, 0.45));
  const int lx = area.x + area.width - 10 - legend_w - 30;
  int ly = area.y + 18;
  for (const auto& s : panel.series) {
    if (s.label.empty()) continue;
    const cv::Scalar c = seriesColour(s.colour);
    if (s.style == PlotSeries::Style::kLine)
      cv::line(canvas, {lx, ly - 5}, {lx + 20, ly - 5}, c, s.thickness, cv::LINE_AA);
    else
      cv::circle(canvas, {lx + 10, ly - 5}, 3, c, cv::FILLED, cv::LINE_AA);
    drawText(canvas, s.label, {lx + 26, ly}, 0.45, kBlack);
    ly += 20;
  }
  // y label above the axis (OpenCV has no rotated text)
  drawText(canvas, panel.y_label, {8, area.y - 8}, 0.45, kBlack);
}

}  // namespace

void writeFigure(const Figure& fig, const std::filesystem::path& png) {
  constexpr int kW = 860, kLeft = 90, kRight = 24, kTop = 64, kBottom = 56, kMain = 380,
                kLower = 150, kGap = 30;
  if (fig.panels.empty()) throw ProcessingError("plot '" + fig.title + "': no panel");
  Axes shared;
  for (const auto& p : fig.panels) extendX(shared, p);
  if (!std::isfinite(shared.x0))
    throw ProcessingError("plot '" + fig.title + "': nothing finite to plot");
  if (!(shared.x1 > shared.x0)) shared.x0 -= 0.5, shared.x1 += 0.5;
  const int n = static_cast<int>(fig.panels.size());
  const int h = kTop + kMain + (n - 1) * (kGap + kLower) + kBottom;
  cv::Mat canvas(h, kW, CV_8UC3, kWhite);
  int top = kTop;
  for (int k = 0; k < n; ++k) {
    Axes a = shared;
    const int ph = k == 0 ? kMain : kLower;
    a.area = cv::Rect(kLeft, top, kW - kLeft - kRight, ph);
    if (yRange(a, fig.panels[k])) drawPanel(canvas, a, fig.panels[k], k == n - 1);
    top += ph + kGap;
  }
  drawText(canvas, fig.x_label,
           {kLeft + (kW - kLeft - kRight) / 2 - textWidth(fig.x_label, 0.5) / 2, h - 12}, 0.5,
           kBlack);
  drawTitle(canvas, fig.title);
  writePng(canvas, png);
}

void writeLinePlot(const LinePlot& plot, const std::filesystem::path& png) {
  Figure fig;
  fig.title = plot.title;
  fig.x_label = plot.x_label;
  PlotPanel panel;
  panel.y_label = plot.y_label;
  panel.log_y = plot.log_y;
  panel.bands = plot.bands;
  PlotSeries measured;
  measured.x = plot.x;
  measured.y = plot.y;
  measured.y_error = plot.y_error;
  measured.label = plot.legend;
  measured.style = plot.markers ? PlotSeries::Style::kLineAndMarkers : PlotSeries::Style::kLine;
  panel.series.push_back(std::move(measured));
  if (!plot.y2.empty()) {
    PlotSeries model;
    model.x = plot.x;
    model.y = plot.y2;
    model.colour = 1;
    model.thickness = 2;
    model.label = plot.legend2;
    panel.series.push_back(std::move(model));
  }
  fig.panels.push_back(std::move(panel));
  writeFigure(fig, png);
}

}  // namespace ionmap
