// Quicklook PNGs a scientist can judge at a glance: the map in a perceptual colormap, masked
// pixels grey, a colorbar with tick values and the unit, a scale bar in µm and a title.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ionmap/core/map.hpp"

namespace ionmap {

struct QuicklookOptions {
  std::string title;                     // "" = map name and unit
  std::string colormap = "viridis";      // see quicklookColormaps()
  double vmin = 0.0, vmax = 0.0;         // used when vmin < vmax; else percentiles
  double clip_percent = 1.0;             // auto range: [p, 100 − p] percentiles of valid values
  const LabelMap* boundaries = nullptr;  // draw region boundaries (same grid size required)
  // Lines drawn over the map (e.g. a profile line, a detected interface): points in the map's
  // physical coordinates (µm), white with a dark outline.
  std::vector<std::vector<Point2>> polylines;
};

// True for a bare file name ending in ".png" (no folders): what stages may write into --out.
bool isPlainPngFileName(const std::string& name);

// "viridis, inferno, magma, plasma, cividis, turbo, gray, coolwarm, twilight".
const char* quicklookColormaps();
bool isQuicklookColormap(const std::string& name);

// Renders and writes a PNG. Throws ProcessingError when the map has no valid pixel and
// InputError when the PNG cannot be written.
void writeQuicklook(const Map& map, const std::filesystem::path& png,
                    const QuicklookOptions& options = {});
// Labels in distinct colours with boundaries, a scale bar and a title.
void writeLabelQuicklook(const LabelMap& labels, const std::filesystem::path& png,
                         const std::string& title = "");

// A line plot (spectra, profiles): axes with ticks and labels, optional shaded bands (e.g.
// integration windows) and optional error bars.
struct PlotBand {
  double lo = 0, hi = 0;
  std::string label;
};
struct LinePlot {
  std::vector<double> x, y;
  std::vector<double> y_error;  // optional, same length as y
  std::string title, x_label, y_label;
  std::vector<PlotBand> bands;
  bool log_y = false;
  bool markers = false;
  // Optional second series on the same x (e.g. a model over measured points), drawn as a red
  // line; with `legend`/`legend2` a key names both.
  std::vector<double> y2;
  std::string legend, legend2;
};
// Throws ProcessingError when there is nothing finite to plot.
void writeLinePlot(const LinePlot& plot, const std::filesystem::path& png);

// Figures with several series per panel and panels stacked under a shared x axis (e.g. a fit
// over measured points, with the residuals below).
struct PlotSeries {
  enum class Style { kLine, kMarkers, kLineAndMarkers };
  std::vector<double> x, y;
  std::vector<double> y_error, x_error;  // optional, same length as x/y
  std::string label;                     // in the key; "" = not in it
  Style style = Style::kLine;
  int colour = 0;  // 0 blue, 1 red, 2 green, 3 orange, 4 purple, 5 grey, 6 cyan, 7 brown
  int thickness = 1;
};
struct PlotPanel {
  std::vector<PlotSeries> series;
  std::string y_label;
  bool log_y = false;
  bool include_zero = true;  // the y axis reaches 0
  bool zero_line = false;    // a grey line at y = 0 (residuals)
  std::vector<PlotBand> bands;
};
struct Figure {
  std::string title, x_label;
  std::vector<PlotPanel> panels;  // the first is the tall one; the others below it
};
// Throws ProcessingError when no panel has anything finite to plot.
void writeFigure(const Figure& figure, const std::filesystem::path& png);

}  // namespace ionmap
