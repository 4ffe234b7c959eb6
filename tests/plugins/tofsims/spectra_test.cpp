// Spectrum algorithms against analytic truth.
#include "tofsims/spectra.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

using namespace tofsims;

TEST(TofCalibration, RecoversAKnownScaleExactly) {
  const double a = 1234.5, b = -17.25;
  std::vector<double> m{1.007276, 6.014574, 7.015455, 22.989221}, t;
  for (double x : m) t.push_back(a * std::sqrt(x) + b);
  const TofCalibration c = fitTofCalibration(t, m);
  EXPECT_NEAR(c.a, a, 1e-9);
  EXPECT_NEAR(c.b, b, 1e-9);
  EXPECT_LT(c.rms_ppm, 1e-6);
  EXPECT_NEAR(c.massAt(a * std::sqrt(39.0) + b), 39.0, 1e-9);
}

TEST(TofCalibration, NeedsTwoDistinctMasses) {
  EXPECT_THROW(fitTofCalibration({1.0}, {1.0}), ProcessingError);
  EXPECT_THROW(fitTofCalibration({1.0, 1.0}, {6.0, 6.0}), ProcessingError);
}

TEST(PeakShape, GaussianCentroidAndFwhm) {
  std::vector<double> mz, y;
  const double centre = 7.0155, sigma = 0.001;
  for (int i = 0; i < 2000; ++i) {
    mz.push_back(6.9 + i * 1e-4);
    y.push_back(1000 * std::exp(-0.5 * std::pow((mz.back() - centre) / sigma, 2)));
  }
  const PeakShape p = measurePeak(mz, y, 7.0, 0.05);
  ASSERT_TRUE(p.found);
  EXPECT_NEAR(p.centroid, centre, 1e-6);
  EXPECT_NEAR(p.fwhm, 2.3548 * sigma, 0.01 * 2.3548 * sigma);
  EXPECT_NEAR(p.resolvingPower(), centre / (2.3548 * sigma), 0.01 * centre / (2.3548 * sigma));
  EXPECT_FALSE(measurePeak(mz, y, 9.0, 0.05).found);
}

TEST(Interferences, WarnWhenInsideAWindowOrUnresolved) {
  const std::vector<MassWindow> narrow{{"7Li", kLi7, 0.005}};
  EXPECT_TRUE(interferenceWarnings(narrow, 3000).empty());
  const auto low_r = interferenceWarnings(narrow, 600);  // 6LiH+ needs ~1010
  ASSERT_EQ(low_r.size(), 1u);
  EXPECT_NE(low_r[0].find("6LiH+"), std::string::npos);
  const auto wide = interferenceWarnings({{"7Li", kLi7, 0.02}}, 3000);
  ASSERT_EQ(wide.size(), 2u);  // 6LiH+ and 14N2+ inside ±0.02
  EXPECT_NE(wide[0].find("lies inside the 7Li window"), std::string::npos);
}

SpectrumImage oneRow(std::vector<Spectrum> spectra) {
  SpectrumImage si;
  si.name = "t";
  si.grid.width = static_cast<int>(spectra.size());
  si.grid.height = 1;
  for (std::size_t i = 0; i < spectra.size(); ++i)
    si.pixel_spectrum.push_back(static_cast<std::int64_t>(i));
  si.source = std::make_shared<InMemorySpectra>(std::move(spectra));
  return si;
}

TEST(IntegrateWindows, SumsWindowsSubtractsFlanksAndMasksBadSpectra) {
  Spectrum s;
  for (int i = 0; i < 100; ++i) {
    s.mz.push_back(5.95 + 0.001 * i);  // 5.950 ... 6.049
    s.intensity.push_back(std::abs(s.mz.back() - 6.0) < 0.0045 ? 12.0
                                                               : 2.0);  // peak on a flat background
  }
  Spectrum bad = s;
  bad.intensity[3] = -1;
  const SpectrumImage si = oneRow({s, bad});
  const std::vector<MassWindow> w{{"x", 6.0, 0.0045}};
  const WindowMaps none = integrateWindows(si, w, Background::kNone, 0.01);
  EXPECT_DOUBLE_EQ(none.counts[0][0], 9 * 12.0);  // 9 points inside ±0.0045
  EXPECT_EQ(none.valid[1], 0);
  EXPECT_EQ(none.bad_spectra, 1u);
  const WindowMaps local = integrateWindows(si, w, Background::kLocal, 0.01);
  EXPECT_NEAR(local.counts[0][0], 9 * 10.0, 1e-9);
  EXPECT_DOUBLE_EQ(none.total[0], 9 * 12.0 + 91 * 2.0);
}

TEST(SumSpectrum, BinsAllSpectraAndRejectsBadRanges) {
  Spectrum s{{6.0001, 6.0011, 7.0}, {1, 2, 3}};
  const SpectrumImage si = oneRow({s, s});
  const BinnedSpectrum b = sumSpectrum(si, 6.0, 6.002, 0.001);
  ASSERT_EQ(b.counts.size(), 2u);
  EXPECT_DOUBLE_EQ(b.counts[0], 2);
  EXPECT_DOUBLE_EQ(b.counts[1], 4);
  EXPECT_THROW(sumSpectrum(si, 7, 6, 0.001), UsageError);
}

TEST(RecalibratedSpectra, MapsEveryMassThroughTheFit) {
  Spectrum s{{4.0, 9.0}, {1, 1}};
  const SpectrumImage si = oneRow({s});
  TofCalibration c;
  c.a = 2.0;  // sqrt(m_old) = 2 sqrt(m) + 0  →  m = m_old / 4
  RecalibratedSpectra r(si.source, c);
  Spectrum out;
  r.read(0, out);
  EXPECT_DOUBLE_EQ(out.mz[0], 1.0);
  EXPECT_DOUBLE_EQ(out.mz[1], 2.25);
}

}  // namespace
}  // namespace ionmap
