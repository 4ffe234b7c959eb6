// Mass calibration from reference peaks, as plain functions: find the references in a sum
// spectrum (spectrum images) or a spectrum table, say which are missing and what the spectra
// cover, report the fit, and recalibrate a spectrum table.
#pragma once

#include <string>
#include <vector>

#include "ionmap/core/table.hpp"
#include "tofsims/spectra.hpp"

namespace ionmap::tofsims {

// The reference peaks that were found: their exact mass, their abscissa for the calibration
// (sqrt of the measured m/z for a spectrum image, the channel for a table) and their shape.
struct ReferencePeaks {
  std::vector<double> mass, x;
  std::vector<PeakShape> peaks;
  std::vector<double> missing;  // references with no peak within `search`
};

// In the sum spectrum of a spectrum image.
ReferencePeaks findReferencePeaks(const BinnedSpectrum& sum, const std::vector<double>& references,
                                  double search);
// In a spectrum table's mz, intensity and channel columns (channel monotonic in m/z).
ReferencePeaks findReferencePeaks(const Table& spectrum, const std::vector<double>& references,
                                  double search);

// "6.0 u, 7.0 u": the missing references, for messages and notes.
std::string missingList(const ReferencePeaks& found);

// One row per reference found: mass, where it was, its offset (ppm), where the calibration puts
// it, the residual (ppm) and the resolving power.
Table calibrationReport(const ReferencePeaks& found, const TofCalibration& cal, bool image);

// The table with its mz column recalibrated from its channels, the old one kept as
// mz_before_calibration.
Table recalibrated(Table spectrum, const TofCalibration& cal);

}  // namespace ionmap::tofsims
