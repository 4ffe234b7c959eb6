// What sims-integrate reports about its windows, as plain functions the stage calls and tests
// can call: per window the counts it holds and the peak measured in the sum spectrum
// (centroid, FWHM, resolving power) with the warnings a user must see (peak off centre, window
// cutting the tails, interferences), the plotted part of the sum spectrum and its plot, and
// the sum spectrum of each region of interest.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/core/map.hpp"
#include "ionmap/core/spectrum_image.hpp"
#include "ionmap/core/table.hpp"
#include "tofsims/spectra.hpp"

namespace ionmap::tofsims {

struct WindowReport {
  Table table;                                             // "integration windows"
  std::vector<std::pair<std::string, std::string>> notes;  // resolving power per window
  std::vector<std::string> warnings;
  std::size_t empty_windows = 0;  // windows that hold no counts at all
};
WindowReport windowReport(const WindowMaps& wm, const std::vector<MassWindow>& windows,
                          const BinnedSpectrum& sum);

// The sum spectrum between low and high (m/z, u) as a table.
Table sumSpectrumTable(const BinnedSpectrum& sum, double low, double high);
// Its plot on a log axis with the windows shaded; `title` names the data.
void writeSumSpectrumPlot(const BinnedSpectrum& sum, double low, double high,
                          const std::vector<MassWindow>& windows, const std::string& title,
                          const std::filesystem::path& png);

// One sum spectrum per ROI label (> 0) over [low, high] in bins of `bin` u. Throws
// ProcessingError when the labels are not on the spectra's grid.
Table roiSpectraTable(const SpectrumImage& si, const LabelMap& roi, double low, double high,
                      double bin);

}  // namespace ionmap::tofsims
