// Line plots with a second series: the model line is drawn in red over the measured points
// (blue), both inside the axes, and the key names them.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "ionmap/core/error.hpp"
#include "ionmap/io/quicklook.hpp"
#include "test_util.hpp"

namespace ionmap {
namespace {

// Pixels of a colour (BGR, within 60 per channel) in the rows [top, bottom).
int countColour(const cv::Mat& img, cv::Vec3b colour, int top, int bottom) {
  int n = 0;
  for (int y = top; y < bottom; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      const auto p = img.at<cv::Vec3b>(y, x);
      n += std::abs(p[0] - colour[0]) < 60 && std::abs(p[1] - colour[1]) < 60 &&
           std::abs(p[2] - colour[2]) < 60;
    }
  }
  return n;
}

// The same within columns [left, right) only.
int countColour(const cv::Mat& img, cv::Vec3b colour, int top, int bottom, int left, int right) {
  return countColour(img(cv::Range(0, img.rows), cv::Range(left, right)), colour, top, bottom);
}

TEST(LinePlot, SecondSeriesIsDrawnInRedWhereItsValuesAre) {
  test::TempDir dir;
  LinePlot plot;
  for (int i = 0; i <= 20; ++i) {
    plot.x.push_back(i);
    plot.y.push_back(0.2);   // measured: low
    plot.y2.push_back(0.6);  // model: high
  }
  plot.markers = true;
  plot.title = "two series";
  plot.legend = "measured";
  plot.legend2 = "model";
  writeLinePlot(plot, dir / "p.png");
  const cv::Mat img = cv::imread((dir / "p.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  // The axes span y from 0 to 0.63 (5 % headroom) over rows 64 … 444: the model line lies
  // near row 444 − 0.6/0.63·380 ≈ 82 and the measured points near 444 − 0.2/0.63·380 ≈ 323;
  // the key sits at the top right, rows 64 … 110.
  const cv::Vec3b red(40, 40, 210), blue(160, 70, 20);
  EXPECT_GT(countColour(img, red, 75, 90), 300);  // the model line, across the plot
  EXPECT_EQ(countColour(img, red, 200, 444), 0);  // not down where the measured points are
  EXPECT_GT(countColour(img, blue, 300, 350), 300);
  EXPECT_EQ(countColour(img, blue, 150, 280), 0);

  LinePlot empty;
  empty.title = "nothing";
  empty.y2 = {std::nan("")};
  EXPECT_THROW(writeLinePlot(empty, dir / "q.png"), ProcessingError);
}

// A figure of two panels: the model in red over the top panel's points, the residuals (green
// markers) in the lower panel only; a polyline over a map quicklook is drawn in white.
TEST(LinePlot, PanelsShareTheXAxisAndMapsCarryPolylines) {
  test::TempDir dir;
  Figure fig;
  fig.title = "fit and residuals";
  PlotPanel top, bottom;
  PlotSeries data, model, residual;
  for (int i = 0; i <= 20; ++i) {
    data.x.push_back(i), model.x.push_back(i), residual.x.push_back(i);
    data.y.push_back(1.0), model.y.push_back(1.0), residual.y.push_back(i % 2 ? 0.5 : -0.5);
  }
  data.style = PlotSeries::Style::kMarkers;
  model.colour = 1;
  model.thickness = 2;
  residual.colour = 2;
  residual.style = PlotSeries::Style::kMarkers;
  top.series = {data, model};
  bottom.series = {residual};
  bottom.zero_line = true;
  fig.panels = {top, bottom};
  writeFigure(fig, dir / "f.png");
  const cv::Mat img = cv::imread((dir / "f.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty());
  // Top panel: rows 64 … 444; lower panel: rows 474 … 624 (height 680).
  EXPECT_EQ(img.rows, 680);
  const cv::Vec3b red(40, 40, 210), green(60, 150, 40);
  EXPECT_GT(countColour(img, red, 64, 444), 300);
  EXPECT_EQ(countColour(img, red, 474, 680), 0);
  // Inside the axes (columns 90 … 836); grey tick labels would pass for green at this tolerance.
  EXPECT_GT(countColour(img, green, 474, 630, 90, 836), 50);
  EXPECT_EQ(countColour(img, green, 64, 445, 90, 836), 0);
  EXPECT_THROW(writeFigure(Figure{}, dir / "g.png"), ProcessingError);

  Grid g;
  g.width = g.height = 64;
  g.pixel_x = g.pixel_y = 0.1;
  Map m("potential", g, "V");  // all zero: one colour everywhere
  QuicklookOptions o;
  o.colormap = "gray";
  o.polylines.push_back({{0.0, 3.2}, {6.4, 3.2}});  // across the middle
  writeQuicklook(m, dir / "m.png", o);
  const cv::Mat q = cv::imread((dir / "m.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(q.empty());
  // 64 px shown 8× (512 px) from (12, 40): the middle row is at y = 40 + 256.
  const cv::Vec3b white(255, 255, 255);
  EXPECT_GT(countColour(q, white, 294, 299, 12, 524), 400);
  o.polylines.clear();
  writeQuicklook(m, dir / "n.png", o);
  const cv::Mat n = cv::imread((dir / "n.png").string(), cv::IMREAD_COLOR);
  EXPECT_EQ(countColour(n, white, 294, 299, 12, 524), 0);
}

}  // namespace
}  // namespace ionmap
