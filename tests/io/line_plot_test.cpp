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

}  // namespace
}  // namespace ionmap
