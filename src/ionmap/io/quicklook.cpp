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

void drawTitle(cv::Mat& canvas, const std::string& title) {
  std::string t = title;
  double scale = 0.65;
  while (scale > 0.35 && textWidth(t, scale) > canvas.cols - 2 * Layout::kMargin) scale -= 0.05;
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
  drawTitle(canvas, title);
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

void writeLinePlot(const LinePlot& plot, const std::filesystem::path& png) {
  constexpr int kW = 860, kH = 500, kLeft = 90, kRight = 24, kTop = 64, kBottom = 56;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto ty = [&](double v) { return plot.log_y ? std::log10(v) : v; };
  for (std::size_t i = 0; i < plot.x.size() && i < plot.y.size(); ++i) {
    if (!std::isfinite(plot.x[i]) || !std::isfinite(plot.y[i]) || (plot.log_y && !(plot.y[i] > 0)))
      continue;
    const double e =
        i < plot.y_error.size() && std::isfinite(plot.y_error[i]) ? plot.y_error[i] : 0.0;
    x0 = std::min(x0, plot.x[i]), x1 = std::max(x1, plot.x[i]);
    y0 = std::min(y0, ty(plot.y[i] - (plot.log_y ? 0 : e))), y1 = std::max(y1, ty(plot.y[i] + e));
  }
  for (std::size_t i = 0; i < plot.x.size() && i < plot.y2.size(); ++i) {
    if (!std::isfinite(plot.x[i]) || !std::isfinite(plot.y2[i]) ||
        (plot.log_y && !(plot.y2[i] > 0)))
      continue;
    x0 = std::min(x0, plot.x[i]), x1 = std::max(x1, plot.x[i]);
    y0 = std::min(y0, ty(plot.y2[i])), y1 = std::max(y1, ty(plot.y2[i]));
  }
  if (!std::isfinite(x0))
    throw ProcessingError("plot '" + plot.title + "': nothing finite to plot");
  if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
  if (!plot.log_y) y0 = std::min(y0, 0.0);
  if (!(y1 > y0)) y1 = y0 + 1;
  y1 += 0.05 * (y1 - y0);
  cv::Mat canvas(kH, kW, CV_8UC3, kWhite);
  const cv::Rect area(kLeft, kTop, kW - kLeft - kRight, kH - kTop - kBottom);
  auto px = [&](double x) {
    return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width));
  };
  auto py = [&](double y) {
    return area.y + area.height -
           static_cast<int>(std::lround((ty(y) - y0) / (y1 - y0) * area.height));
  };
  for (const auto& b : plot.bands) {
    const int a = std::clamp(px(b.lo), area.x, area.x + area.width),
              c = std::clamp(px(b.hi), area.x, area.x + area.width);
    if (c <= a) continue;
    cv::rectangle(canvas, {a, area.y}, {c, area.y + area.height}, cv::Scalar(170, 215, 255),
                  cv::FILLED);
    drawText(canvas, b.label, {a + 2, area.y + 14}, 0.42, cv::Scalar(0, 90, 200));
  }
  cv::rectangle(canvas, area, kBlack, 1);
  for (double t : niceTicks(x0, x1, 8)) {
    const int x = px(t);
    cv::line(canvas, {x, area.y + area.height}, {x, area.y + area.height + 5}, kBlack, 1);
    const std::string label = fmt::format("{:.6g}", t);
    drawText(canvas, label, {x - textWidth(label, 0.42) / 2, area.y + area.height + 20}, 0.42,
             kBlack);
  }
  const auto yt = plot.log_y ? niceTicks(std::ceil(y0), std::floor(y1), 6) : niceTicks(y0, y1, 6);
  for (double t : yt) {
    const double v = plot.log_y ? std::pow(10.0, t) : t;
    if (plot.log_y && std::abs(t - std::round(t)) > 1e-9) continue;
    const int y = py(v);
    cv::line(canvas, {area.x - 5, y}, {area.x, y}, kBlack, 1);
    const std::string label = fmt::format("{:.4g}", v);
    drawText(canvas, label, {area.x - 8 - textWidth(label, 0.42), y + 5}, 0.42, kBlack);
  }
  std::vector<cv::Point> pts;
  for (std::size_t i = 0; i < plot.x.size() && i < plot.y.size(); ++i) {
    if (!std::isfinite(plot.x[i]) || !std::isfinite(plot.y[i]) || (plot.log_y && !(plot.y[i] > 0)))
      continue;
    pts.emplace_back(px(plot.x[i]), py(plot.y[i]));
    if (i < plot.y_error.size() && std::isfinite(plot.y_error[i]) && !plot.log_y) {
      cv::line(canvas, {pts.back().x, py(plot.y[i] - plot.y_error[i])},
               {pts.back().x, py(plot.y[i] + plot.y_error[i])}, cv::Scalar(90, 90, 90), 1,
               cv::LINE_AA);
    }
  }
  const cv::Scalar blue(160, 70, 20), red(40, 40, 210);
  cv::polylines(canvas, pts, false, blue, 1, cv::LINE_AA);
  if (plot.markers) {
    for (const auto& p : pts) cv::circle(canvas, p, 3, blue, cv::FILLED, cv::LINE_AA);
  }
  std::vector<cv::Point> pts2;
  for (std::size_t i = 0; i < plot.x.size() && i < plot.y2.size(); ++i) {
    if (std::isfinite(plot.x[i]) && std::isfinite(plot.y2[i]) && (!plot.log_y || plot.y2[i] > 0))
      pts2.emplace_back(px(plot.x[i]), py(plot.y2[i]));
  }
  cv::polylines(canvas, pts2, false, red, 2, cv::LINE_AA);
  if (!plot.legend.empty() || !plot.legend2.empty()) {
    const int lx = area.x + area.width - 10 -
                   std::max(textWidth(plot.legend, 0.45), textWidth(plot.legend2, 0.45)) - 30;
    int ly = area.y + 18;
    if (!plot.legend.empty()) {
      cv::circle(canvas, {lx + 10, ly - 5}, 3, blue, cv::FILLED, cv::LINE_AA);
      drawText(canvas, plot.legend, {lx + 26, ly}, 0.45, kBlack);
      ly += 20;
    }
    if (!plot.legend2.empty()) {
      cv::line(canvas, {lx, ly - 5}, {lx + 20, ly - 5}, red, 2, cv::LINE_AA);
      drawText(canvas, plot.legend2, {lx + 26, ly}, 0.45, kBlack);
    }
  }
  drawText(canvas, plot.x_label,
           {area.x + area.width / 2 - textWidth(plot.x_label, 0.5) / 2, kH - 12}, 0.5, kBlack);
  // y label above the axis (OpenCV has no rotated text)
  drawText(canvas, plot.y_label, {8, kTop - 10}, 0.45, kBlack);
  drawTitle(canvas, plot.title);
  writePng(canvas, png);
}

}  // namespace ionmap
